"""CPU time the local cloud's processes spend, by part: where a request's work is done.

The cloud is one ``python -m localcloud up`` process (the GraphQL endpoint, the edge
router, moto, the pollers: one GIL) and its children: DynamoDB Local (Java) and one
process per Lambda worker. Dividing each part's CPU time over a measurement by the
requests served tells which part a request costs most, and whether the machine's cores,
not any one part, are what runs out::

    meter = CpuMeter(cloud.process.process.pid)
    before = meter.snapshot()
    ...                                            # the load
    meter.per_request_ms(before, meter.snapshot(), requests)
    # {"localcloud": 4.6, "dynamodb_local": 2.1, "lambda_workers": 3.6, "load_generator": 0.4}

Linux only (``/proc``); elsewhere ``snapshot`` is empty and the figures are left out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CpuMeter", "Snapshot"]

_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
LOAD_GENERATOR = "load_generator"


@dataclass(frozen=True)
class Snapshot:
    """CPU seconds so far of each process (pid -> (part, seconds)), and of this one."""

    processes: dict[int, tuple[str, float]]
    own_seconds: float


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, user + system CPU seconds) of a live process; None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS_PER_SECOND


def _part(pid: int) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "other"
    if any(arg.endswith(b"lambda_worker_main.py") for arg in argv):
        return "lambda_workers"
    if argv and argv[0].endswith(b"java"):
        return "dynamodb_local"
    return "other"


class CpuMeter:
    """Reads the CPU time of the cloud's process and of its children (see module doc)."""

    def __init__(self, cloud_pid: int) -> None:
        self.cloud_pid = cloud_pid

    def snapshot(self) -> Snapshot:
        processes: dict[int, tuple[str, float]] = {}
        root = _stat(self.cloud_pid)
        if root is not None:
            processes[self.cloud_pid] = ("localcloud", root[1])
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                found = _stat(int(entry.name))
                if found is not None and found[0] == self.cloud_pid:
                    processes[int(entry.name)] = (_part(int(entry.name)), found[1])
        own = os.times()
        return Snapshot(processes, own.user + own.system)

    @staticmethod
    def per_request_ms(before: Snapshot, after: Snapshot, requests: int) -> dict[str, float]:
        """Each part's CPU milliseconds per request between two snapshots.

        A process started in between counts from zero (a Lambda worker's cold start
        included); one that ended in between is missed.
        """
        if not after.processes or requests <= 0:
            return {}
        spent: dict[str, float] = {}
        for pid, (part, seconds) in after.processes.items():
            _, earlier = before.processes.get(pid, (part, 0.0))
            spent[part] = spent.get(part, 0.0) + seconds - earlier
        spent[LOAD_GENERATOR] = after.own_seconds - before.own_seconds
        return {part: round(seconds * 1000 / requests, 2) for part, seconds in spent.items()}

"""The local cloud's request accounting, read from its edge router, and what changed.

The edge router counts every AWS request it serves, the deliveries it makes as
EventBridge and (when asked) DynamoDB's consumed capacity (``localcloud.edge.accounting``,
served on ``/_localcloud/requests``). A suite reads it before and after the work it
measures; the difference is that work's requests, provided nothing else ran meanwhile
through the router but idle pollers, whose empty polls are left out::

    requests = EdgeRequests(cloud.stack.endpoint_url)
    requests.consumed_capacity(True)
    before = requests.snapshot()
    ...                                   # one booking, settled
    used = requests.wait_quiet(before)    # RequestDelta: by_operation, capacity, ...
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from bench.settle import BenchError

__all__ = ["EdgeRequests", "RequestDelta", "delta"]

PATH: Final = "/_localcloud/requests"
READ_OPERATIONS: Final = frozenset({"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"})

Counts = Mapping[str, Mapping[str, int]]


def _flat(counts: Counts) -> dict[str, int]:
    return {
        f"{service}.{operation}": count
        for service, operations in counts.items()
        for operation, count in operations.items()
    }


def _minus(after: Mapping[str, float], before: Mapping[str, float]) -> dict[str, float]:
    keys = set(after) | set(before)
    changed = {key: after.get(key, 0) - before.get(key, 0) for key in keys}
    return {key: value for key, value in sorted(changed.items()) if value}


def _capacity(snapshot: Mapping[str, Any]) -> dict[str, float]:
    """``"<operation>"`` -> capacity units, over every table."""
    units: dict[str, float] = {}
    for operations in snapshot.get("consumedCapacity", {}).values():
        for operation, tally in operations.items():
            units[operation] = units.get(operation, 0.0) + float(tally["capacityUnits"])
    return units


@dataclass(frozen=True)
class RequestDelta:
    """What was served between two snapshots.

    Attributes:
        by_operation: ``"service.Operation"`` -> requests, empty polls left out.
        empty_polls: ``"service.Operation"`` -> polls that found nothing (idle pollers).
        deliveries: ``"service.Operation"`` -> calls the router made as EventBridge.
        capacity_units: DynamoDB operation -> capacity units consumed.
    """

    by_operation: dict[str, int]
    empty_polls: dict[str, int]
    deliveries: dict[str, int]
    capacity_units: dict[str, float]

    @property
    def requests(self) -> int:
        """Every request, deliveries included, empty polls not."""
        return sum(self.by_operation.values()) + sum(self.deliveries.values())

    def service_requests(self, service: str) -> int:
        prefix = f"{service}."
        return sum(
            count
            for counts in (self.by_operation, self.deliveries)
            for name, count in counts.items()
            if name.startswith(prefix)
        )

    @property
    def read_units(self) -> float:
        return sum(u for op, u in self.capacity_units.items() if op in READ_OPERATIONS)

    @property
    def write_units(self) -> float:
        return sum(u for op, u in self.capacity_units.items() if op not in READ_OPERATIONS)


def delta(before: Mapping[str, Any], after: Mapping[str, Any]) -> RequestDelta:
    """The requests served between snapshots ``before`` and ``after``."""
    requests = _minus(_flat(after["requests"]), _flat(before["requests"]))
    empty = _minus(_flat(after["emptyPolls"]), _flat(before["emptyPolls"]))
    by_operation = _minus(requests, empty)
    return RequestDelta(
        by_operation={name: int(count) for name, count in by_operation.items()},
        empty_polls={name: int(count) for name, count in empty.items()},
        deliveries={
            name: int(count)
            for name, count in _minus(
                _flat(after["deliveries"]), _flat(before["deliveries"])
            ).items()
        },
        capacity_units=_minus(_capacity(after), _capacity(before)),
    )


class EdgeRequests:
    """The accounting endpoint of the edge router at ``edge_url``."""

    def __init__(self, edge_url: str) -> None:
        self.url = edge_url.rstrip("/") + PATH

    def snapshot(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url, timeout=10) as answer:  # noqa: S310 - local
            document: dict[str, Any] = json.loads(answer.read())
        return document

    def consumed_capacity(self, enabled: bool) -> None:
        """Switch DynamoDB capacity accounting (it costs the router a parse per call)."""
        request = urllib.request.Request(  # noqa: S310 - the local edge router
            self.url, data=json.dumps({"consumedCapacity": enabled}).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - as above
            pass

    def wait_quiet(
        self,
        before: Mapping[str, Any],
        *,
        quiet_seconds: float = 1.0,
        timeout: float = 30.0,
        interval: float = 0.1,
    ) -> RequestDelta:
        """The delta since ``before`` once nothing but empty polls has been served for
        ``quiet_seconds`` (the asynchronous tail of the work: deletes after a Lambda
        returns, a consumer finishing late); BenchError if that never happens within
        ``timeout`` (a count still growing is no booking's count)."""
        deadline = time.monotonic() + timeout
        last = delta(before, self.snapshot())
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(interval)
            now = delta(before, self.snapshot())
            if (now.by_operation, now.deliveries) != (last.by_operation, last.deliveries):
                last, quiet_since = now, time.monotonic()
            elif time.monotonic() - quiet_since >= quiet_seconds:
                return now
        raise BenchError(f"requests were still being served after {timeout:g} s: {last}")

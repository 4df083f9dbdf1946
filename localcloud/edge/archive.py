"""The events each EventBridge archive holds, kept by the router as JSON lines.

moto keeps archived events in memory and replays all of them whatever the window; the
router records them itself instead, one file per archive, so that they survive restarts
of moto and of the router (the local cloud's deployer re-creates the archive in moto
under the same name, and its events are there again):

    <state_dir>/archives/<region>/<account>/<archive name>.jsonl

Each line is one event as the bus received it (``id``, ``time`` and the rest) with the
epoch seconds of its ``time`` and of its ingestion and the bus it came from. Without a
state directory the store lives in memory.

Usage::

    store = ArchiveStore(Path(".localcloud/edge"))
    key = ArchiveKey("us-east-1", "123456789012", "bus-archive")
    store.append(key, [ArchivedEvent.of(event, ingestion_time=time.time(), bus_arn=arn)])
    store.events(key)  # in the order received
"""

from __future__ import annotations

import calendar
import json
import logging
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

__all__ = ["ArchiveKey", "ArchiveStore", "ArchivedEvent", "event_time_seconds"]

log = logging.getLogger(__name__)

_SAFE_NAME: Final = re.compile(r"^[A-Za-z0-9_\-][A-Za-z0-9_.\-]*$")
_SECONDS_PER_DAY: Final = 86400


@dataclass(frozen=True)
class ArchiveKey:
    """An archive: names are unique per account and region."""

    region: str
    account: str
    name: str


@dataclass(frozen=True)
class ArchivedEvent:
    """One archived event.

    Attributes:
        event: the event as rules see it (``version``, ``id``, ``detail-type``, ``source``,
            ``account``, ``time``, ``region``, ``resources``, ``detail``).
        event_time: epoch seconds of ``event["time"]``: what a replay's window selects by.
        ingestion_time: epoch seconds at which the bus received it: what retention counts from.
        event_bus_arn: the bus it was put on.
    """

    event: dict[str, Any]
    event_time: float
    ingestion_time: float
    event_bus_arn: str

    @classmethod
    def of(cls, event: dict[str, Any], *, ingestion_time: float, bus_arn: str) -> ArchivedEvent:
        """Archive ``event``, reading its time from its ``time`` field."""
        return cls(event, event_time_seconds(event), ingestion_time, bus_arn)

    @property
    def size(self) -> int:
        """Bytes of the event's JSON, what ``SizeBytes`` adds up."""
        return len(json.dumps(self.event, separators=(",", ":")).encode())

    def to_json(self) -> str:
        """One line of the archive file."""
        return json.dumps(
            {
                "eventTime": self.event_time,
                "ingestionTime": self.ingestion_time,
                "eventBusArn": self.event_bus_arn,
                "event": self.event,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, line: str) -> ArchivedEvent:
        """Read a line written by :meth:`to_json`."""
        record = json.loads(line)
        return cls(
            event=record["event"],
            event_time=float(record["eventTime"]),
            ingestion_time=float(record["ingestionTime"]),
            event_bus_arn=str(record["eventBusArn"]),
        )


def event_time_seconds(event: dict[str, Any]) -> float:
    """Epoch seconds of an event's ``time`` (``2024-05-01T12:00:00Z``); now if unreadable."""
    text = event.get("time")
    if isinstance(text, str):
        try:
            return float(calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")))
        except ValueError:
            pass
    return time.time()


class ArchiveStore:
    """Archived events per archive, on disk under ``directory`` (None: in memory only).

    Thread-safe: the router's request threads append while replays read.
    """

    def __init__(self, directory: Path | None) -> None:
        self._directory = directory / "archives" if directory is not None else None
        self._lock = threading.Lock()
        self._loaded: dict[ArchiveKey, list[ArchivedEvent]] = {}

    def append(self, key: ArchiveKey, events: Sequence[ArchivedEvent]) -> None:
        """Add ``events`` to the archive, after what it holds."""
        if not events:
            return
        with self._lock:
            held = self._load(key)
            path = self._path(key)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open("a", encoding="utf-8") as file:
                    file.write("".join(event.to_json() + "\n" for event in events))
            held.extend(events)

    def events(
        self, key: ArchiveKey, *, retention_days: int = 0, now: float | None = None
    ) -> list[ArchivedEvent]:
        """The archive's events in the order received, less those past retention.

        ``retention_days`` 0 keeps events forever, as ``RetentionDays`` 0 does in AWS.
        """
        with self._lock:
            held = list(self._load(key))
        if retention_days <= 0:
            return held
        oldest = (time.time() if now is None else now) - retention_days * _SECONDS_PER_DAY
        return [event for event in held if event.ingestion_time >= oldest]

    def stats(self, key: ArchiveKey, *, retention_days: int = 0) -> tuple[int, int]:
        """``(EventCount, SizeBytes)`` of the archive."""
        held = self.events(key, retention_days=retention_days)
        return len(held), sum(event.size for event in held)

    def delete(self, key: ArchiveKey) -> None:
        """Forget the archive and its file (on DeleteArchive)."""
        with self._lock:
            self._loaded.pop(key, None)
            path = self._path(key)
            if path is not None:
                path.unlink(missing_ok=True)

    def _load(self, key: ArchiveKey) -> list[ArchivedEvent]:
        held = self._loaded.get(key)
        if held is not None:
            return held
        held = self._loaded[key] = []
        path = self._path(key)
        if path is None or not path.exists():
            return held
        with path.open(encoding="utf-8") as file:
            for number, line in enumerate(file, start=1):
                if not line.strip():
                    continue
                try:
                    held.append(ArchivedEvent.from_json(line))
                except (ValueError, KeyError, TypeError):
                    # A line cut short by a crash mid-write: the rest is still good.
                    log.warning("skipping unreadable line %d of %s", number, path)
        return held

    def _path(self, key: ArchiveKey) -> Path | None:
        if self._directory is None:
            return None
        parts = [key.region, key.account, key.name]
        safe = [part if _SAFE_NAME.match(part) else quote(part, safe="") for part in parts]
        return self._directory.joinpath(*safe[:2], f"{safe[2]}.jsonl")

"""EventBridge replays run by the router: StartReplay, DescribeReplay, ListReplays, CancelReplay.

moto 5.2.5 replays every archived event, whatever ``EventStartTime``/``EventEndTime`` and
``Destination.FilterArns`` say, and synchronously. Here, as AWS documents for StartReplay:

- the archive's events whose ``time`` (the event's own time, which PutEvents' ``Time``
  sets) is in ``[EventStartTime, EventEndTime)`` are replayed, oldest first (AWS goes
  minute by minute, in no set order within a minute), less those past the archive's
  retention;
- each is sent to the rules of the destination bus, only those in ``FilterArns`` when
  given, whose pattern matches it, with a ``replay-name`` field added, as AWS does, so
  consumers can tell a replayed event; the archive's own rule ignores events with that
  field, so replays are not archived again;
- rules and targets are read from moto when the replay starts;
- the replay runs in the background: STARTING, RUNNING, then COMPLETED (or CANCELLING →
  CANCELLED, or FAILED with a ``StateReason``), with ``EventLastReplayedTime`` the time of
  the last event sent.

Replays are kept in ``<state_dir>/replays.json``; one that was running when the router
stopped is FAILED when it starts again.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from localcloud.edge.archive import ArchiveKey, ArchiveStore
from localcloud.edge.backend import AwsError, BackendError, CallContext
from localcloud.edge.event_bus import EventBusService, epoch_seconds
from localcloud.edge.targets import parse_arn

__all__ = ["Replay", "ReplayService", "ReplayState"]

log = logging.getLogger(__name__)

_NAME: Final = re.compile(r"^[.\-_A-Za-z0-9]{1,64}$")
_BUS_ARN: Final = re.compile(r"^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus/.+$")
_STATE_FILE: Final = "replays.json"


class ReplayState(StrEnum):
    """A replay's states, as AWS names them."""

    STARTING = "STARTING"
    RUNNING = "RUNNING"
    CANCELLING = "CANCELLING"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"


_ACTIVE: Final = frozenset({ReplayState.STARTING, ReplayState.RUNNING, ReplayState.CANCELLING})


@dataclass
class Replay:
    """One replay; times are epoch seconds."""

    name: str
    arn: str
    region: str
    access_key: str
    event_source_arn: str
    destination: dict[str, Any]
    event_start_time: float
    event_end_time: float
    replay_start_time: float
    description: str | None = None
    state: ReplayState = ReplayState.STARTING
    state_reason: str | None = "Replay accepted"
    replay_end_time: float | None = None
    event_last_replayed_time: float | None = None
    events_replayed: int = 0
    cancel: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)

    def describe(self) -> dict[str, Any]:
        """DescribeReplay's answer."""
        answer = {
            "ReplayName": self.name,
            "ReplayArn": self.arn,
            "Description": self.description,
            "State": self.state.value,
            "StateReason": self.state_reason,
            "EventSourceArn": self.event_source_arn,
            "Destination": self.destination,
            "EventStartTime": self.event_start_time,
            "EventEndTime": self.event_end_time,
            "EventLastReplayedTime": self.event_last_replayed_time,
            "ReplayStartTime": self.replay_start_time,
            "ReplayEndTime": self.replay_end_time,
        }
        return {key: value for key, value in answer.items() if value is not None}

    def summary(self) -> dict[str, Any]:
        """A ListReplays entry."""
        described = self.describe()
        for key in ("ReplayArn", "Description", "Destination"):
            described.pop(key, None)
        return described

    def to_json(self) -> dict[str, Any]:
        """What ``replays.json`` keeps."""
        # Not asdict(): it would deep-copy the threading.Event, which cannot be copied.
        record = {
            item.name: getattr(self, item.name) for item in fields(self) if item.name != "cancel"
        }
        record["state"] = self.state.value
        return record

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> Replay:
        """Read a :meth:`to_json` record."""
        values = dict(record)
        values["state"] = ReplayState(values["state"])
        return cls(**values)


class ReplayService:
    """Runs and answers for replays; see the module docstring.

    Args:
        events: reads buses and rules, and delivers.
        store: the archived events.
        state_dir: where ``replays.json`` is kept; None keeps replays in memory.
    """

    def __init__(
        self, events: EventBusService, store: ArchiveStore, state_dir: Path | None
    ) -> None:
        self.events = events
        self.store = store
        self._path = state_dir / _STATE_FILE if state_dir is not None else None
        self._lock = threading.Lock()
        self._replays: dict[tuple[str, str], Replay] = {}
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._load()

    # -- API ---------------------------------------------------------------------------------

    def start_replay(self, context: CallContext, payload: Mapping[str, Any]) -> dict[str, Any]:
        """StartReplay: validate, answer STARTING, replay in the background."""
        name = str(payload.get("ReplayName") or "")
        if not _NAME.match(name):
            raise AwsError(
                "ValidationException",
                "Parameter ReplayName is not valid. Reason: it must be 1 to 64 of [.-_A-Za-z0-9].",
            )
        destination = payload.get("Destination")
        if not isinstance(destination, Mapping) or not _BUS_ARN.match(
            str(destination.get("Arn", ""))
        ):
            raise AwsError(
                "ValidationException",
                "Parameter Destination.Arn is not valid. Reason: Must contain an event bus ARN.",
            )
        source_arn = str(payload.get("EventSourceArn") or "")
        archive_name = source_arn.rpartition("archive/")[2]
        try:
            archive = self.events.read_archive(context, archive_name)
        except BackendError as error:
            if error.code != "ResourceNotFoundException":
                raise
            raise AwsError(
                "ValidationException",
                f"Parameter EventSourceArn is not valid. Reason: Archive {archive_name} "
                "does not exist.",
            ) from error
        if destination["Arn"] != archive.source_arn:
            raise AwsError(
                "ValidationException",
                "Parameter Destination.Arn is not valid. "
                "Reason: Cross event bus replay is not permitted.",
            )
        start = epoch_seconds(payload.get("EventStartTime"))
        end = epoch_seconds(payload.get("EventEndTime"))
        if start is None or end is None:
            raise AwsError(
                "ValidationException", "EventStartTime and EventEndTime are required timestamps."
            )
        if start >= end:
            raise AwsError(
                "ValidationException",
                "Parameter EventEndTime is not valid. "
                "Reason: EventStartTime must be before EventEndTime.",
            )
        parsed = parse_arn(archive.arn)
        account = parsed.account if parsed else archive.key.account
        replay = Replay(
            name=name,
            arn=f"arn:aws:events:{context.region}:{account}:replay/{name}",
            region=context.region,
            access_key=context.access_key,
            event_source_arn=archive.arn or source_arn,
            destination=dict(destination),
            event_start_time=start,
            event_end_time=end,
            replay_start_time=time.time(),
            description=payload.get("Description"),
        )
        with self._lock:
            if self._stopping.is_set():
                raise AwsError("ServiceUnavailable", "the router is stopping", 503)
            if (context.region, name) in self._replays:
                raise AwsError("ResourceAlreadyExistsException", f"Replay {name} already exists.")
            self._replays[(context.region, name)] = replay
            self._save_locked()
            thread = threading.Thread(
                target=self._run,
                args=(replay, archive.retention_days, archive.key),
                name=f"edge-replay-{name}",
                daemon=True,
            )
            self._threads = [alive for alive in self._threads if alive.is_alive()]
            self._threads.append(thread)
        thread.start()
        return {
            "ReplayArn": replay.arn,
            "State": ReplayState.STARTING.value,
            "StateReason": replay.state_reason,
            "ReplayStartTime": replay.replay_start_time,
        }

    def describe_replay(self, context: CallContext, payload: Mapping[str, Any]) -> dict[str, Any]:
        """DescribeReplay."""
        with self._lock:
            return self._get(context, payload).describe()

    def list_replays(self, context: CallContext, payload: Mapping[str, Any]) -> dict[str, Any]:
        """ListReplays, with its NamePrefix, State and EventSourceArn filters and paging."""
        prefix = payload.get("NamePrefix")
        state = payload.get("State")
        source = payload.get("EventSourceArn")
        if state is not None and state not in ReplayState.__members__:
            raise AwsError(
                "ValidationException",
                f"1 validation error detected: Value '{state}' at 'state' failed to satisfy "
                f"constraint: Member must satisfy enum value set: {sorted(ReplayState)}",
            )
        with self._lock:
            replays = [
                replay.summary()
                for (region, _), replay in self._replays.items()
                if region == context.region
                and (prefix is None or replay.name.startswith(prefix))
                and (state is None or replay.state == state)
                and (source is None or replay.event_source_arn == source)
            ]
        replays.sort(key=lambda summary: summary["ReplayName"])
        start = int(payload.get("NextToken") or 0)
        limit = int(payload.get("Limit") or 50)
        answer: dict[str, Any] = {"Replays": replays[start : start + limit]}
        if start + limit < len(replays):
            answer["NextToken"] = str(start + limit)
        return answer

    def cancel_replay(self, context: CallContext, payload: Mapping[str, Any]) -> dict[str, Any]:
        """CancelReplay: only a STARTING or RUNNING replay can be."""
        with self._lock:
            replay = self._get(context, payload)
            if replay.state not in (ReplayState.STARTING, ReplayState.RUNNING):
                raise AwsError(
                    "IllegalStatusException",
                    f"Replay {replay.name} is not in a valid state for this operation.",
                )
            replay.state = ReplayState.CANCELLING
            replay.state_reason = "Replay cancellation requested"
            replay.cancel.set()
            self._save_locked()
            return {
                "ReplayArn": replay.arn,
                "State": replay.state.value,
                "StateReason": replay.state_reason,
            }

    def stop(self, timeout: float = 5.0) -> list[threading.Thread]:
        """Stop running replays (they end FAILED) and join them; return those still alive."""
        with self._lock:
            self._stopping.set()
            threads = list(self._threads)
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return [thread for thread in threads if thread.is_alive()]

    # -- the replay itself -----------------------------------------------------------------------

    def _run(self, replay: Replay, retention_days: int, key: ArchiveKey) -> None:
        context = CallContext(replay.region, replay.access_key)
        try:
            with self._lock:
                if replay.cancel.is_set():
                    self._finish_locked(replay, ReplayState.CANCELLED, "Replay cancelled")
                    return
                replay.state = ReplayState.RUNNING
                replay.state_reason = "Replay started"
                self._save_locked()
            bus_name = str(replay.destination["Arn"]).rpartition("event-bus/")[2]
            bus = self.events.read_bus(context, bus_name, with_archives=False)
            wanted = set(replay.destination.get("FilterArns") or [])
            rules = [
                rule
                for rule in bus.rules
                if rule.routes_events and (not wanted or rule.arn in wanted)
            ]
            archived = [
                event
                for event in self.store.events(key, retention_days=retention_days)
                if replay.event_start_time <= event.event_time < replay.event_end_time
            ]
            archived.sort(key=lambda event: event.event_time)  # stable: arrival order within
            for item in archived:
                if replay.cancel.is_set() or self._stopping.is_set():
                    break
                event = {**item.event, "replay-name": replay.name}
                for rule in rules:
                    if rule.matches(event):
                        for target in self.events.targets(context, bus, rule):
                            self.events.delivery.deliver(
                                context, rule, target, event, ingestion_time=time.time()
                            )
                replay.event_last_replayed_time = item.event_time
                replay.events_replayed += 1
            with self._lock:
                if replay.cancel.is_set():
                    self._finish_locked(replay, ReplayState.CANCELLED, "Replay cancelled")
                elif self._stopping.is_set():
                    self._finish_locked(
                        replay, ReplayState.FAILED, "The local cloud stopped during the replay"
                    )
                else:
                    self._finish_locked(
                        replay,
                        ReplayState.COMPLETED,
                        f"Replay completed: {replay.events_replayed} events",
                    )
        except Exception as error:  # any failure ends the replay, with the reason
            log.exception("replay %s failed", replay.name)
            with self._lock:
                self._finish_locked(replay, ReplayState.FAILED, str(error)[:512])

    def _finish_locked(self, replay: Replay, state: ReplayState, reason: str) -> None:
        replay.state = state
        replay.state_reason = reason
        replay.replay_end_time = time.time()
        self._save_locked()

    # -- bookkeeping ----------------------------------------------------------------------------

    def _get(self, context: CallContext, payload: Mapping[str, Any]) -> Replay:
        name = str(payload.get("ReplayName") or "")
        replay = self._replays.get((context.region, name))
        if replay is None:
            raise AwsError("ResourceNotFoundException", f"Replay {name} does not exist.")
        return replay

    def _load(self) -> None:
        if self._path is None or not self._path.exists():
            return
        try:
            records = json.loads(self._path.read_text(encoding="utf-8"))["replays"]
            replays = [Replay.from_json(record) for record in records]
        except (ValueError, KeyError, TypeError) as error:
            log.warning("ignoring unreadable %s: %s", self._path, error)
            return
        for replay in replays:
            if replay.state in _ACTIVE:
                # It was running when the router stopped; nothing resumes it.
                replay.state = ReplayState.FAILED
                replay.state_reason = "The local cloud stopped during the replay"
                replay.replay_end_time = replay.replay_end_time or time.time()
            self._replays[(replay.region, replay.name)] = replay

    def _save_locked(self) -> None:
        if self._path is None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._path.with_suffix(".tmp")
        document = {"replays": [replay.to_json() for replay in self._replays.values()]}
        temporary.write_text(json.dumps(document, indent=1), encoding="utf-8")
        os.replace(temporary, self._path)  # never a half-written file

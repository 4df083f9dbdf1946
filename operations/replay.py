"""Replay the bus's archive for a time window, to chosen consumers only.

A consumer that acknowledged events without doing its work (a bug, a removed target)
is repaired by fixing it and replaying the window to **its rule alone**: StartReplay
with ``Destination.FilterArns`` set to that rule's ARN, so the other consumers see
nothing. Replaying to every consumer is safe too (they are idempotent: conditional
declines, the notifier's idempotency records), just noisier.

The rules are found by their targets, never by name (``operations.rules``): the
consumer's queue ARN (from its ``<Name>QueueUrl`` output) against the targets of every
rule on the bus.

The window's logic takes and returns plain values; the boto3 calls are small functions
below it, one call each.

AWS facts the tool relies on (EventBridge user guide, "Archiving and replaying events"):

- a replay selects events by the time *in the event* (whole seconds), in
  ``[EventStartTime, EventEndTime)``, and sends them minute by minute;
- an event can reach the archive some minutes after the bus received it ("we recommend
  you delay replaying archived events for 10 minutes"): the tool warns when the window
  ends within the last 10 minutes on AWS (the local cloud archives at once);
- ``DescribeArchive``'s ``EventCount`` is reconciled over 24 hours, and no API tells how
  many events a replay sent; the local cloud's ``StateReason`` does ("Replay completed:
  N events").
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from botocore.exceptions import ClientError

from operations.rules import discover_routing, pick_filter_arns
from operations.stack import Clients, OperationsError, StackOutputs
from stacks.constants import Output

__all__ = [
    "ArchiveInfo",
    "ReplayReport",
    "ReplayRequest",
    "Window",
    "parse_time",
    "replay_window",
    "run_replay",
]

#: AWS's advice: events may reach the archive this long after the bus received them.
ARCHIVE_DELAY: Final = dt.timedelta(minutes=10)
TERMINAL_STATES: Final = frozenset({"COMPLETED", "CANCELLED", "FAILED"})
DEFAULT_TIMEOUT_SECONDS: Final = 600.0
POLL_SECONDS: Final = 1.0

# "30m" or "-30m": that long ago. The dash-less form exists because argparse reads a
# value starting with "-" as an option unless written --from=-30m.
_RELATIVE: Final = re.compile(r"^-?(?P<amount>\d+)(?P<unit>[smhd])$")
_UNITS: Final = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_NAME_LIMIT: Final = 64  # StartReplay's ReplayName: 1 to 64 of [.-_A-Za-z0-9]


# -- the window (no AWS types) -------------------------------------------------------------


def parse_time(text: str, now: dt.datetime) -> dt.datetime:
    """``now``, a time ago (``30m``, ``-2h``: ``s``/``m``/``h``/``d``) or ISO 8601 (naive: UTC)."""
    text = text.strip()
    if text == "now":
        return now
    relative = _RELATIVE.match(text)
    if relative is not None:
        unit = _UNITS[relative["unit"]]
        return now - dt.timedelta(**{unit: int(relative["amount"])})
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError as error:
        raise OperationsError(
            f"not a time: {text!r}; use ISO 8601 (2026-05-01T12:00:00Z), `now`, or a time ago: "
            "30m, 2h, 1d"
        ) from error
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class Window:
    """``[start, end)`` in whole seconds, UTC."""

    start: dt.datetime
    end: dt.datetime


def _whole_seconds(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(microsecond=0)


def replay_window(
    start: dt.datetime,
    end: dt.datetime | None,
    *,
    now: dt.datetime,
    retention_days: int | None = None,
    on_aws: bool = False,
) -> tuple[Window, list[str]]:
    """The window to replay, and warnings for the operator; errors for a window that is wrong.

    Both ends are cut to whole seconds: events carry their time in whole seconds and the
    API sends whole seconds, so this is the window AWS applies anyway, made visible.
    ``end`` None means now.
    """
    now = now.astimezone(dt.UTC)
    window = Window(_whole_seconds(start), _whole_seconds(end if end is not None else now))
    if window.start >= now:
        raise OperationsError(
            f"the window starts in the future ({window.start.isoformat()}, now is "
            f"{_whole_seconds(now).isoformat()}): nothing is archived there yet"
        )
    if window.end > now:
        raise OperationsError(
            f"--to {window.end.isoformat()} is in the future: leave --to out to replay up to now"
        )
    if window.start >= window.end:
        raise OperationsError(
            f"--from {window.start.isoformat()} must be before --to {window.end.isoformat()}"
        )
    warnings = []
    if retention_days:
        oldest = now - dt.timedelta(days=retention_days)
        if window.start < oldest:
            warnings.append(
                f"the archive keeps events {retention_days} days: nothing before "
                f"{_whole_seconds(oldest).isoformat()} is left to replay"
            )
    if on_aws and window.end > now - ARCHIVE_DELAY:
        warnings.append(
            "the window ends less than 10 minutes ago: AWS may not have archived its last "
            "events yet (it advises waiting 10 minutes); replay that part again later if needed"
        )
    return window, warnings


# -- AWS calls -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ArchiveInfo:
    """What DescribeArchive says of the stack's archive."""

    name: str
    arn: str
    source_arn: str
    state: str
    event_count: int | None
    retention_days: int | None


def describe_archive(events: Any, name: str) -> ArchiveInfo:
    """DescribeArchive; a missing archive is an operator error, said plainly."""
    try:
        answer = events.describe_archive(ArchiveName=name)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            raise OperationsError(
                f"the archive {name} does not exist: is the stack deployed, and the outputs "
                "file from this deployment?"
            ) from error
        raise
    return ArchiveInfo(
        name=name,
        arn=answer["ArchiveArn"],
        source_arn=answer["EventSourceArn"],
        state=answer.get("State", "UNKNOWN"),
        event_count=answer.get("EventCount"),
        retention_days=answer.get("RetentionDays"),
    )


# -- the replay ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayRequest:
    """What the operator asked: a window, the consumers (empty: all of them), and waiting."""

    start: dt.datetime
    end: dt.datetime | None = None
    consumers: Sequence[str] = ()
    wait: bool = True
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    name: str | None = None


@dataclass
class ReplayReport:
    """What was started and how it ended (or where it was when the wait ran out)."""

    name: str
    arn: str
    state: str
    window: Window
    archive: ArchiveInfo
    rules: dict[str, list[str]]
    state_reason: str | None = None
    event_last_replayed_time: dt.datetime | None = None
    replay_start_time: dt.datetime | None = None
    replay_end_time: dt.datetime | None = None
    warnings: list[str] = field(default_factory=list)
    waited: bool = False
    timed_out: bool = False

    @property
    def succeeded(self) -> bool:
        """COMPLETED, or started without waiting."""
        return self.state == "COMPLETED" or (not self.waited and self.state not in TERMINAL_STATES)

    def update(self, described: Mapping[str, Any]) -> None:
        """Take DescribeReplay's answer."""
        self.state = described.get("State", self.state)
        self.state_reason = described.get("StateReason", self.state_reason)
        self.event_last_replayed_time = described.get("EventLastReplayedTime")
        self.replay_start_time = described.get("ReplayStartTime", self.replay_start_time)
        self.replay_end_time = described.get("ReplayEndTime")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: times in ISO 8601."""
        return {
            "replayName": self.name,
            "replayArn": self.arn,
            "state": self.state,
            "stateReason": self.state_reason,
            "eventStartTime": _iso(self.window.start),
            "eventEndTime": _iso(self.window.end),
            "eventLastReplayedTime": _iso(self.event_last_replayed_time),
            "replayStartTime": _iso(self.replay_start_time),
            "replayEndTime": _iso(self.replay_end_time),
            "archive": {
                "name": self.archive.name,
                "arn": self.archive.arn,
                "state": self.archive.state,
                # The archive's total, not this replay's: AWS reports no per-replay count.
                "eventCount": self.archive.event_count,
            },
            "consumers": sorted(self.rules),
            "filterArns": sorted({arn for arns in self.rules.values() for arn in arns}),
            "warnings": self.warnings,
            "timedOut": self.timed_out,
        }


def _iso(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def replay_name(now: dt.datetime) -> str:
    """Unique and sortable: ``ops-replay-20260501T120000Z-1a2b3c``."""
    stamp = now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"ops-replay-{stamp}-{secrets.token_hex(3)}"[:_NAME_LIMIT]


def run_replay(
    clients: Clients,
    outputs: StackOutputs,
    request: ReplayRequest,
    *,
    now: dt.datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    poll_seconds: float = POLL_SECONDS,
) -> ReplayReport:
    """Check everything, start the replay, and (``request.wait``) wait for it, bounded."""
    now = now or dt.datetime.now(dt.UTC)
    # Validate names first: a typo should not cost any AWS call.
    wanted = list(request.consumers) or [consumer.name for consumer in outputs.consumers]
    for name in wanted:
        outputs.consumer(name)
    bus_arn = outputs.require(Output.EVENT_BUS_ARN)
    archive = describe_archive(clients.events, outputs.require(Output.ARCHIVE_NAME))
    if archive.source_arn != bus_arn:
        raise OperationsError(
            f"the archive {archive.name} records {archive.source_arn}, not the stack's bus "
            f"{bus_arn}: the outputs file does not match the deployment"
        )
    window, warnings = replay_window(
        request.start,
        request.end,
        now=now,
        retention_days=archive.retention_days,
        on_aws=clients.endpoint_url is None,
    )
    if archive.state != "ENABLED":
        warnings.append(
            f"the archive is {archive.state}: only what it recorded before then can be replayed"
        )
    routing = discover_routing(clients, outputs)
    rules = pick_filter_arns(wanted, routing.by_consumer(), routing.queue_arns)
    filter_arns = sorted({arn for arns in rules.values() for arn in arns})
    name = request.name or replay_name(now)
    started = clients.events.start_replay(
        ReplayName=name,
        Description=f"operations replay to {', '.join(sorted(rules))}"[:512],
        EventSourceArn=archive.arn,
        EventStartTime=window.start,
        EventEndTime=window.end,
        Destination={"Arn": bus_arn, "FilterArns": filter_arns},
    )
    report = ReplayReport(
        name=name,
        arn=started["ReplayArn"],
        state=started.get("State", "STARTING"),
        state_reason=started.get("StateReason"),
        replay_start_time=started.get("ReplayStartTime"),
        window=window,
        archive=archive,
        rules=rules,
        warnings=warnings,
    )
    if request.wait:
        wait_for_replay(
            clients.events,
            report,
            timeout_seconds=request.timeout_seconds,
            sleep=sleep,
            clock=clock,
            poll_seconds=poll_seconds,
        )
    return report


def wait_for_replay(
    events: Any,
    report: ReplayReport,
    *,
    timeout_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    poll_seconds: float = POLL_SECONDS,
) -> ReplayReport:
    """Poll DescribeReplay until the replay ends, or ``timeout_seconds`` pass (``timed_out``)."""
    report.waited = True
    deadline = clock() + timeout_seconds
    while True:
        report.update(events.describe_replay(ReplayName=report.name))
        if report.state in TERMINAL_STATES:
            return report
        if clock() >= deadline:
            report.timed_out = True
            return report
        sleep(poll_seconds)


def describe(clients: Clients, name: str) -> dict[str, Any]:
    """DescribeReplay, for ``replay-status``; an unknown name is an operator error."""
    try:
        answer: dict[str, Any] = clients.events.describe_replay(ReplayName=name)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ResourceNotFoundException":
            raise OperationsError(f"no replay {name!r}") from error
        raise
    return answer

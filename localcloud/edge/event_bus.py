"""PutEvents as EventBridge runs it: archive the event, match the rules, deliver to targets.

The router answers PutEvents itself rather than forwarding it to moto. Measured on
moto 5.2.5, forwarding loses events: a rule with an SNS or Lambda target makes the whole
PutEvents fail with HTTP 500 (``NotImplementedError``) after some targets were served,
and botocore's retries then deliver those again; ``Input`` and ``InputPath`` are ignored;
an ``InputTransformer`` that places a string outside quotes or meets a falsy value
fails the same way; events reach SQS without their ``account``. So the router builds the
event, and for each bus it reads the bus, its rules and its archives from moto (the
control plane stays moto's: PutRule, PutTargets, CreateArchive… pass through), matches
patterns with ``localcloud.event_pattern`` and delivers with ``localcloud.edge.targets``.
Rules and targets are read at every call, so changes made past the router count at once.

The archive's own managed rule (``Events-Archive-<name>``, which moto creates) is skipped:
events are archived by the router into ``localcloud.edge.archive``, and the ``DescribeArchive``
and ``ListArchives`` answers get their ``EventCount`` and ``SizeBytes`` from there.
"""

from __future__ import annotations

import datetime
import functools
import json
import logging
import time
import uuid
from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Final

from localcloud.edge.archive import ArchivedEvent, ArchiveKey, ArchiveStore
from localcloud.edge.backend import AwsError, CallContext, MotoClient
from localcloud.edge.targets import InvokeFunction, OnDelivery, Rule, TargetDelivery, parse_arn
from localcloud.event_pattern import EventPattern, InvalidEventPattern

__all__ = ["ArchiveConfig", "Bus", "EventBusService", "epoch_seconds", "event_time_text"]

log = logging.getLogger(__name__)

MAX_ENTRIES: Final = 10
_ENABLED: Final = "ENABLED"


def epoch_seconds(value: Any) -> float | None:
    """A timestamp as the JSON protocols send it (epoch seconds), or ISO 8601 text."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        try:
            moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.UTC)
        return moment.timestamp()
    return None


def event_time_text(seconds: float) -> str:
    """An event's ``time``: UTC, whole seconds, as EventBridge writes it."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(seconds)))


@functools.lru_cache(maxsize=1024)
def _compiled(pattern: str) -> EventPattern | None:
    try:
        return EventPattern(pattern)
    except InvalidEventPattern as error:
        log.warning("ignoring a pattern EventBridge would reject (%s): %s", error, pattern)
        return None


@dataclass(frozen=True)
class ArchiveConfig:
    """An archive as moto describes it, with the key of its events in the store."""

    key: ArchiveKey
    arn: str
    source_arn: str
    state: str
    retention_days: int
    pattern: EventPattern | None

    def accepts(self, event: Mapping[str, Any]) -> bool:
        """Whether the archive keeps ``event`` (every event when it has no pattern)."""
        return self.state == _ENABLED and (self.pattern is None or self.pattern.matches(event))


@dataclass
class Bus:
    """One event bus as read for one call: its rules, and their targets as needed."""

    name: str
    arn: str
    account: str
    region: str
    rules: list[Rule]
    archives: list[ArchiveConfig]
    targets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


class EventBusService:
    """PutEvents, TestEventPattern and the archive answers; see the module docstring."""

    def __init__(
        self,
        moto: MotoClient,
        store: ArchiveStore,
        executor: Executor,
        *,
        invoke_function: InvokeFunction | None = None,
        on_delivery: OnDelivery | None = None,
    ) -> None:
        self.moto = moto
        self.store = store
        self.delivery = TargetDelivery(
            moto,
            executor,
            invoke_function=invoke_function,
            put_on_bus=self.put_on_bus,
            on_delivery=on_delivery,
        )

    # -- PutEvents ---------------------------------------------------------------------------

    def put_events(self, context: CallContext, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Answer PutEvents: ``{"FailedEntryCount", "Entries": [{"EventId"} | error]}``.

        Raises:
            AwsError: no entries or more than 10 (ValidationException), or a bus that does
                not exist (ResourceNotFoundException), as moto and AWS answer.
        """
        entries = payload.get("Entries")
        if not isinstance(entries, list) or not entries:
            raise AwsError("ValidationException", "Entries must contain at least one entry")
        if len(entries) > MAX_ENTRIES:
            raise AwsError(
                "ValidationException",
                "1 validation error detected: Value '[PutEventsRequestEntry]' at 'entries' "
                f"failed to satisfy constraint: Member must have length less than or equal to "
                f"{MAX_ENTRIES}",
            )
        buses: dict[str, Bus] = {}
        answers: list[dict[str, Any]] = []
        accepted: list[tuple[Bus, dict[str, Any]]] = []
        # Buses are read before anything is delivered: a missing bus fails the whole call.
        for entry in entries:
            problem = _entry_problem(entry)
            if problem is not None:
                answers.append(problem)
                continue
            bus_name = _bus_name(entry.get("EventBusName"))
            bus = buses.get(bus_name)
            if bus is None:
                bus = buses[bus_name] = self.read_bus(context, bus_name)
            event = _event(entry, bus)
            answers.append({"EventId": event["id"]})
            accepted.append((bus, event))
        for bus, event in accepted:
            self.route(context, bus, event, ingestion_time=time.time())
        failed = sum(1 for answer in answers if "ErrorCode" in answer)
        return {"FailedEntryCount": failed, "Entries": answers}

    def put_on_bus(
        self, context: CallContext, bus_name: str, event: dict[str, Any], depth: int
    ) -> None:
        """Deliver an event-bus target's event: it arrives on ``bus_name`` as it is."""
        bus = self.read_bus(context, bus_name)
        self.route(context, bus, dict(event), ingestion_time=time.time(), depth=depth)

    def route(
        self,
        context: CallContext,
        bus: Bus,
        event: dict[str, Any],
        *,
        ingestion_time: float,
        depth: int = 0,
    ) -> None:
        """Archive ``event`` and deliver it to the targets of every rule it matches."""
        for archive in bus.archives:
            if archive.accepts(event):
                self.store.append(
                    archive.key,
                    [ArchivedEvent.of(event, ingestion_time=ingestion_time, bus_arn=bus.arn)],
                )
        for rule in bus.rules:
            if rule.matches(event):
                for target in self.targets(context, bus, rule):
                    self.delivery.deliver(
                        context, rule, target, event, ingestion_time=ingestion_time, depth=depth
                    )

    # -- reading the bus from moto -----------------------------------------------------------

    def read_bus(self, context: CallContext, name: str, *, with_archives: bool = True) -> Bus:
        """The bus ``name`` with its rules and (optionally) archives, read from moto.

        Raises:
            BackendError: the bus does not exist (ResourceNotFoundException).
        """
        described = self.moto.json(context, "events", "DescribeEventBus", {"Name": name})
        arn = str(described["Arn"])
        parsed = parse_arn(arn)
        account = parsed.account if parsed else ""
        region = parsed.region if parsed else context.region
        rules = self.read_rules(context, str(described.get("Name", name)))
        archives = self._read_archives(context, arn) if with_archives else []
        return Bus(str(described.get("Name", name)), arn, account, region, rules, archives)

    def read_rules(self, context: CallContext, bus_name: str) -> list[Rule]:
        """Every rule of the bus, in moto's order."""
        rules: list[Rule] = []
        request: dict[str, Any] = {"EventBusName": bus_name}
        while True:
            page = self.moto.json(context, "events", "ListRules", request)
            for raw in page.get("Rules") or []:
                pattern = raw.get("EventPattern")
                rules.append(
                    Rule(
                        name=str(raw["Name"]),
                        arn=str(raw.get("Arn", "")),
                        event_bus_name=str(raw.get("EventBusName", bus_name)),
                        state=str(raw.get("State", _ENABLED)),
                        pattern=_compiled(pattern) if pattern else None,
                        managed_by=raw.get("ManagedBy"),
                    )
                )
            token = page.get("NextToken")
            if not token:
                return rules
            request["NextToken"] = token

    def targets(self, context: CallContext, bus: Bus, rule: Rule) -> list[dict[str, Any]]:
        """The rule's targets (read once per bus reading)."""
        cached = bus.targets.get(rule.name)
        if cached is not None:
            return cached
        targets: list[dict[str, Any]] = []
        request: dict[str, Any] = {"Rule": rule.name, "EventBusName": bus.name}
        while True:
            page = self.moto.json(context, "events", "ListTargetsByRule", request)
            targets.extend(page.get("Targets") or [])
            token = page.get("NextToken")
            if not token:
                break
            request["NextToken"] = token
        bus.targets[rule.name] = targets
        return targets

    def _read_archives(self, context: CallContext, bus_arn: str) -> list[ArchiveConfig]:
        listed = self.moto.json(context, "events", "ListArchives", {"EventSourceArn": bus_arn})
        archives = []
        for summary in listed.get("Archives") or []:
            if summary.get("State", _ENABLED) != _ENABLED:
                continue
            # ListArchives leaves out the pattern; DescribeArchive has it.
            archives.append(self.read_archive(context, str(summary["ArchiveName"])))
        return archives

    def read_archive(self, context: CallContext, name: str) -> ArchiveConfig:
        """An archive's configuration, from moto.

        Raises:
            BackendError: no such archive (ResourceNotFoundException).
        """
        described = self.moto.json(context, "events", "DescribeArchive", {"ArchiveName": name})
        return _archive_config(described, context.region)

    # -- archives and patterns -----------------------------------------------------------------

    def describe_archive(self, context: CallContext, payload: Mapping[str, Any]) -> dict[str, Any]:
        """moto's DescribeArchive with the router's EventCount and SizeBytes."""
        described = self.moto.json(context, "events", "DescribeArchive", dict(payload))
        config = _archive_config(described, context.region)
        count, size = self.store.stats(config.key, retention_days=config.retention_days)
        return {**described, "EventCount": count, "SizeBytes": size}

    def list_archives(self, context: CallContext, payload: Mapping[str, Any]) -> dict[str, Any]:
        """moto's ListArchives with the router's EventCount and SizeBytes."""
        listed = self.moto.json(context, "events", "ListArchives", dict(payload))
        archives = []
        for summary in listed.get("Archives") or []:
            source = parse_arn(str(summary.get("EventSourceArn", "")))
            key = ArchiveKey(
                source.region if source else context.region,
                source.account if source else "",
                str(summary.get("ArchiveName", "")),
            )
            count, size = self.store.stats(
                key, retention_days=int(summary.get("RetentionDays") or 0)
            )
            archives.append({**summary, "EventCount": count, "SizeBytes": size})
        return {**listed, "Archives": archives}

    def delete_archive(self, context: CallContext, payload: Mapping[str, Any]) -> dict[str, Any]:
        """DeleteArchive on moto, then the archived events."""
        config = self.read_archive(context, str(payload.get("ArchiveName", "")))
        answer = self.moto.json(context, "events", "DeleteArchive", dict(payload))
        self.store.delete(config.key)
        return answer

    @staticmethod
    def test_event_pattern(payload: Mapping[str, Any]) -> dict[str, Any]:
        """TestEventPattern, which moto does not implement."""
        try:
            pattern = EventPattern(str(payload.get("EventPattern", "")))
        except InvalidEventPattern as error:
            raise AwsError("InvalidEventPatternException", str(error)) from error
        try:
            event = json.loads(str(payload.get("Event", "")))
        except ValueError as error:
            raise AwsError(
                "ValidationException", "Parameter Event is not valid. Reason: invalid JSON"
            ) from error
        missing = [name for name in _REQUIRED_TEST_FIELDS if name not in event]
        if missing:
            raise AwsError(
                "ValidationException",
                f"Parameter Event is not valid. Reason: Provided JSON must contain {missing[0]}",
            )
        return {"Result": pattern.matches(event)}


_REQUIRED_TEST_FIELDS: Final = (
    "id",
    "account",
    "source",
    "time",
    "region",
    "detail-type",
)


def _bus_name(value: Any) -> str:
    name = str(value or "default")
    # An ARN names the bus as "...:event-bus/<name>".
    return name.rpartition("event-bus/")[2] if name.startswith("arn:") else name


def _entry_problem(entry: Any) -> dict[str, str] | None:
    # The same checks and wording as moto (and, where tried, AWS).
    if not isinstance(entry, Mapping):
        return {"ErrorCode": "InvalidArgument", "ErrorMessage": "Entry is not an object."}
    for field_name in ("Source", "DetailType", "Detail"):
        if not entry.get(field_name):
            return {
                "ErrorCode": "InvalidArgument",
                "ErrorMessage": f"Parameter {field_name} is not valid. "
                f"Reason: {field_name} is a required argument.",
            }
    try:
        detail = json.loads(str(entry["Detail"]))
    except ValueError:
        detail = None
    if not isinstance(detail, dict):
        return {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    return None


def _event(entry: Mapping[str, Any], bus: Bus) -> dict[str, Any]:
    seconds = epoch_seconds(entry.get("Time"))
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": str(entry["DetailType"]),
        "source": str(entry["Source"]),
        "account": bus.account,
        "time": event_time_text(time.time() if seconds is None else seconds),
        "region": bus.region,
        "resources": list(entry.get("Resources") or []),
        "detail": json.loads(str(entry["Detail"])),
    }


def _archive_config(described: Mapping[str, Any], default_region: str) -> ArchiveConfig:
    arn = str(described.get("ArchiveArn", ""))
    parsed = parse_arn(arn)
    pattern_text = described.get("EventPattern")
    return ArchiveConfig(
        key=ArchiveKey(
            parsed.region if parsed else default_region,
            parsed.account if parsed else "",
            str(described.get("ArchiveName", "")),
        ),
        arn=arn,
        source_arn=str(described.get("EventSourceArn", "")),
        state=str(described.get("State", _ENABLED)),
        retention_days=int(described.get("RetentionDays") or 0),
        pattern=_compiled(pattern_text) if pattern_text else None,
    )

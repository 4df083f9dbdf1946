"""The audit trail: one item per event the bus delivered, written once.

Key design (DESIGN.md section 3 gains one item kind)::

    PK  AUDIT#<yyyy-mm-dd>                  the event's day (UTC)
    SK  <yyyy-mm-ddThh:mm:ssZ>#<event id>   the event's time, then its id

A day's partition lists that day's events in time order (one Query), and the key is a
function of the event alone (its ``time`` and ``id``), so a second delivery of the same
event finds the first one's item. The items carry ``entity = AUDIT`` and no GSI attribute:
no index and no stream filter (which wants ``entity = JOB``) ever sees them.

Writing is a conditional PutItem, nothing else (the audit function may do nothing more)::

    trail = AuditTrail(Table.from_environment())
    trail.record(record)  # -> RecordOutcome.RECORDED, the first time

- a live delivery writes only if the item does not exist: a duplicate (SQS redelivery, a
  retried batch) writes nothing;
- a replayed delivery (the event carries ``replay-name``) writes the same item plus
  ``replayName``, only if the item does not exist yet or is not marked replayed yet: the
  item says the event was replayed, once, and a second replay writes nothing.

The item holds nothing the event did not: a replay's overwrite can only add the replay's
name, never change what was recorded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from services.common.dal.table import MAX_PAGE_SIZE, ConditionFailed, PageRequest, Table

ENTITY: Final = "AUDIT"
PARTITION_PREFIX: Final = "AUDIT#"
"""Every audit item's partition key starts with it (the function's IAM policy says so)."""

_LIVE_CONDITION: Final = "attribute_not_exists(PK)"
_REPLAY_CONDITION: Final = "attribute_not_exists(PK) OR attribute_not_exists(replayName)"


class RecordOutcome(StrEnum):
    RECORDED = "RECORDED"
    """A live delivery wrote the event's item."""
    REPLAY_RECORDED = "REPLAY_RECORDED"
    """A replay wrote the item, or marked the existing one replayed."""
    DUPLICATE = "DUPLICATE"
    """Nothing written: the event was recorded (and, for a replay, marked) before."""


@dataclass(frozen=True)
class AuditRecord:
    """What the audit trail keeps of one event: its envelope and ids, no personal data."""

    event_id: str
    event_time: dt.datetime
    source: str
    detail_type: str
    expires_at: dt.datetime
    """When DynamoDB's TTL may delete the item (the table's ``expiration`` attribute)."""
    event_version: str | None = None
    correlation_id: str | None = None
    ids: Mapping[str, str] = field(default_factory=dict)
    """Ids from the event's ``data`` (``jobId``, ``acceptedApplicationId``, ...), by name."""
    replay_name: str | None = None


def day_partition(day: dt.date) -> str:
    return f"{PARTITION_PREFIX}{day.isoformat()}"


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def event_timestamp(moment: dt.datetime) -> str:
    """An event's time as EventBridge writes it (UTC, whole seconds)."""
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def audit_key(event_time: dt.datetime, event_id: str) -> dict[str, str]:
    return {
        "PK": day_partition(_utc(event_time).date()),
        "SK": f"{event_timestamp(event_time)}#{event_id}",
    }


def _audit_item(record: AuditRecord) -> dict[str, Any]:
    return {
        **record.ids,
        **audit_key(record.event_time, record.event_id),
        "entity": ENTITY,
        "eventId": record.event_id,
        "eventTime": event_timestamp(record.event_time),
        "source": record.source,
        "detailType": record.detail_type,
        "eventVersion": record.event_version,
        "correlationId": record.correlation_id,
        "replayName": record.replay_name,
        "expiration": int(record.expires_at.timestamp()),
    }


class AuditTrail:
    def __init__(self, table: Table) -> None:
        self.table = table

    def record(self, record: AuditRecord) -> RecordOutcome:
        """Write the event's item unless it is there already (see the module docstring)."""
        replayed = record.replay_name is not None
        try:
            self.table.put(
                _audit_item(record), condition=_REPLAY_CONDITION if replayed else _LIVE_CONDITION
            )
        except ConditionFailed:
            return RecordOutcome.DUPLICATE
        return RecordOutcome.REPLAY_RECORDED if replayed else RecordOutcome.RECORDED

    def items_of_day(self, day: dt.date) -> Iterator[dict[str, Any]]:
        """Every item recorded for events of ``day`` (UTC), oldest first: for operators and
        tests (the audit function itself may only write)."""
        page = PageRequest(limit=MAX_PAGE_SIZE)
        while True:
            items, next_token = self.table.query(partition=("PK", day_partition(day)), page=page)
            yield from items
            if next_token is None:
                return
            page = PageRequest(limit=MAX_PAGE_SIZE, next_token=next_token)

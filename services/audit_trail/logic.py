"""What the audit trail keeps of an event, and for how long.

Pure domain logic: the store is a collaborator behind a small protocol (``AuditTrail`` in
``services.common.dal.audit`` has it), so tests run it with an in-memory fake::

    outcome = audit_event(event, AuditTrail(table))
    outcome  # RecordOutcome.RECORDED the first time, DUPLICATE after

The record is a function of the event alone (no clock, no counter), which is what makes
writing it idempotent: every delivery of one event builds the same record, for the same
key, and the store's conditional write keeps the first.
"""

from __future__ import annotations

import datetime as dt
from typing import Final, Protocol

from services.audit_trail.models import AuditedEvent
from services.common.dal.audit import AuditRecord, RecordOutcome

# How long an audit item is kept (the table's TTL deletes it afterwards). A year covers
# the questions an audit trail answers here: what happened to a booking, and when (a
# dispute, a support case, a yearly review). It holds ids, no names or contact details, so
# it may outlive the 30-day event archive (which keeps usernames); forever would only grow.
RETENTION: Final = dt.timedelta(days=365)


class AuditStore(Protocol):
    def record(self, record: AuditRecord) -> RecordOutcome: ...


def audit_record(event: AuditedEvent) -> AuditRecord:
    """The audit item of ``event``: its envelope, version, correlation id and ids."""
    return AuditRecord(
        event_id=event.id,
        event_time=event.time,
        source=event.source,
        detail_type=event.detail_type,
        expires_at=event.time + RETENTION,
        event_version=event.detail.metadata.version,
        correlation_id=event.correlation_id,
        ids=dict(event.detail.data.ids),
        replay_name=event.replay_name,
    )


def audit_event(event: AuditedEvent, store: AuditStore) -> RecordOutcome:
    """Record ``event`` once, however often it is delivered or replayed."""
    return store.record(audit_record(event))

"""An in-memory audit trail with the DynamoDB store's write conditions."""

from __future__ import annotations

from services.common.dal.audit import AuditRecord, RecordOutcome, audit_key


class FakeAuditTrail:
    """Items by key; a live write needs a new key, a replay a key not yet marked replayed."""

    def __init__(self, failing_events: frozenset[str] = frozenset()) -> None:
        self.items: dict[tuple[str, str], AuditRecord] = {}
        self.writes = 0
        self.failing_events = failing_events

    def record(self, record: AuditRecord) -> RecordOutcome:
        if record.event_id in self.failing_events:
            raise ConnectionError("DynamoDB said no")
        key = audit_key(record.event_time, record.event_id)
        existing = self.items.get((key["PK"], key["SK"]))
        if record.replay_name is None:
            if existing is not None:
                return RecordOutcome.DUPLICATE
        elif existing is not None and existing.replay_name is not None:
            return RecordOutcome.DUPLICATE
        self.items[(key["PK"], key["SK"])] = record
        self.writes += 1
        return (
            RecordOutcome.RECORDED
            if record.replay_name is None
            else (RecordOutcome.REPLAY_RECORDED)
        )

"""What the audit trail keeps of an event, and that it keeps it once."""

from __future__ import annotations

import datetime as dt
from typing import Any

from services.audit_trail.logic import RETENTION, audit_event, audit_record
from services.audit_trail.models import AuditedEvent
from services.common.dal.audit import RecordOutcome, audit_key
from tests.support.events import eventbridge_event, job_closed_detail
from tests.unit.audit_trail.fakes import FakeAuditTrail


def event(raw: dict[str, Any] | None = None, **changes: Any) -> AuditedEvent:
    return AuditedEvent.model_validate(
        {**(raw or eventbridge_event(job_closed_detail())), **changes}
    )


def test_the_record_is_the_events_envelope_and_ids() -> None:
    raw = eventbridge_event(job_closed_detail())
    record = audit_record(event(raw))
    assert record.event_id == raw["id"]
    assert record.source == "babysitter.jobs"
    assert record.detail_type == "JobClosed"
    assert record.event_version == "1"
    assert record.correlation_id == raw["detail"]["metadata"]["correlationId"]
    assert record.ids["jobId"] == raw["detail"]["data"]["jobId"]
    assert record.replay_name is None
    assert record.expires_at == record.event_time + RETENTION


def test_the_record_depends_on_the_event_alone() -> None:
    raw = eventbridge_event(job_closed_detail())
    assert audit_record(event(raw)) == audit_record(event(raw))


def test_the_key_is_the_events_day_time_and_id() -> None:
    moment = dt.datetime(2030, 1, 7, 23, 59, 30, tzinfo=dt.UTC)
    assert audit_key(moment, "e-1") == {"PK": "AUDIT#2030-01-07", "SK": "2030-01-07T23:59:30Z#e-1"}
    # The same instant in another zone is the same key.
    elsewhere = moment.astimezone(dt.timezone(dt.timedelta(hours=1)))
    assert audit_key(elsewhere, "e-1") == audit_key(moment, "e-1")


def test_a_duplicate_writes_nothing() -> None:
    trail, raw = FakeAuditTrail(), eventbridge_event(job_closed_detail())
    assert audit_event(event(raw), trail) is RecordOutcome.RECORDED
    assert audit_event(event(raw), trail) is RecordOutcome.DUPLICATE
    assert (len(trail.items), trail.writes) == (1, 1)


def test_a_replay_marks_the_item_once() -> None:
    trail, raw = FakeAuditTrail(), eventbridge_event(job_closed_detail())
    audit_event(event(raw), trail)
    replayed = event(raw, **{"replay-name": "recovery-1"})
    assert audit_event(replayed, trail) is RecordOutcome.REPLAY_RECORDED
    assert audit_event(replayed, trail) is RecordOutcome.DUPLICATE
    assert audit_event(event(raw, **{"replay-name": "recovery-2"}), trail) is (
        RecordOutcome.DUPLICATE
    )
    assert audit_event(event(raw), trail) is RecordOutcome.DUPLICATE  # a late live copy
    (record,) = trail.items.values()
    assert record.replay_name == "recovery-1"
    assert trail.writes == 2


def test_an_event_first_seen_in_a_replay_is_recorded_as_replayed() -> None:
    trail, raw = FakeAuditTrail(), eventbridge_event(job_closed_detail())
    assert audit_event(event(raw, **{"replay-name": "r"}), trail) is RecordOutcome.REPLAY_RECORDED
    assert audit_event(event(raw), trail) is RecordOutcome.DUPLICATE
    assert len(trail.items) == 1

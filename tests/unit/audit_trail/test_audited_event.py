"""How the audit trail reads an event: the envelope and allow-listed ids, nothing else."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from pydantic import ValidationError

from services.audit_trail.models import AUDITED_IDS, AuditedEvent
from tests.support.events import eventbridge_event, job_closed_detail

USERNAMES = {"parentUsername": "secret-parent", "acceptedApplicant": "secret-nanny"}


def test_a_job_closed_event_gives_its_envelope_and_ids() -> None:
    raw = eventbridge_event(job_closed_detail(**USERNAMES), replay_name="recovery-1")
    event = AuditedEvent.model_validate_json(json.dumps(raw))
    data = raw["detail"]["data"]
    assert (event.id, event.source, event.detail_type) == (
        raw["id"],
        "babysitter.jobs",
        "JobClosed",
    )
    assert event.time == dt.datetime.fromisoformat(raw["time"])
    assert event.replay_name == "recovery-1"
    assert event.correlation_id == raw["detail"]["metadata"]["correlationId"]
    assert event.detail.metadata.version == "1"
    assert event.job_id == data["jobId"]
    assert event.detail.data.ids == {
        "jobId": data["jobId"],
        "acceptedApplicationId": data["acceptedApplicationId"],
    }


def test_usernames_are_not_even_read() -> None:
    raw = eventbridge_event(job_closed_detail(**USERNAMES))
    dumped = AuditedEvent.model_validate(raw).model_dump_json()
    assert not any(name in dumped for name in USERNAMES.values())


def test_only_opaque_ids_are_audited() -> None:
    assert "parentUsername" not in AUDITED_IDS
    assert "acceptedApplicant" not in AUDITED_IDS
    assert all(name.endswith("Id") for name in AUDITED_IDS)


@pytest.mark.parametrize(
    "detail",
    [
        {},
        {"anything": "else"},
        {"metadata": "not an object", "data": ["nor", "this"]},
        {"metadata": {"version": 2, "correlationId": None}, "data": {"jobId": 42}},
        {"metadata": {"correlationId": "x" * 10_000}, "data": {"jobId": "j" * 10_000}},
    ],
)
def test_any_detail_is_recorded_by_its_envelope(detail: object) -> None:
    raw = {**eventbridge_event({}), "source": "babysitter.other", "detail": detail}
    event = AuditedEvent.model_validate(raw)
    assert (event.id, event.source) == (raw["id"], "babysitter.other")
    assert event.correlation_id is None
    assert event.detail.metadata.version is None
    assert event.detail.data.ids == {}


def test_a_detail_that_is_not_an_object_is_recorded_too() -> None:
    event = AuditedEvent.model_validate({**eventbridge_event({}), "detail": "text"})
    assert event.detail.data.ids == {}


@pytest.mark.parametrize("missing", ["id", "source", "detail-type", "time"])
def test_what_identifies_the_event_is_required(missing: str) -> None:
    raw = eventbridge_event(job_closed_detail())
    del raw[missing]
    with pytest.raises(ValidationError):
        AuditedEvent.model_validate(raw)

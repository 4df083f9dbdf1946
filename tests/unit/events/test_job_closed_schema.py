"""The JobClosed models and the JSON Schema committed beside them."""

from __future__ import annotations

import json
from typing import get_args

import jsonschema  # type: ignore[import-untyped]  # no stubs installed
import pytest
from pydantic import ValidationError

from events_schema import DETAIL_TYPE, SOURCE, JobClosed
from events_schema.__main__ import main
from events_schema.job_closed import EVENT_PATTERN
from events_schema.json_schema import CATALOG, render, stale
from services.common.events import JobClosedEvent
from tests.support.events import job_closed_detail


def test_the_committed_schemas_are_generated_from_the_models() -> None:
    assert stale() == [], "stale JSON Schema: run `python -m events_schema` and commit it"
    assert main(["--check"]) == 0


def test_generation_is_stable() -> None:
    (event,) = CATALOG
    assert render(event) == render(event)


@pytest.fixture
def schema() -> dict[str, object]:
    (event,) = CATALOG
    loaded: dict[str, object] = json.loads(event.path.read_text(encoding="utf-8"))
    return loaded


def test_the_schema_is_valid_draft_04(schema) -> None:
    jsonschema.Draft4Validator.check_schema(schema)
    assert schema["x-amazon-events-source"] == SOURCE
    assert schema["x-amazon-events-detail-type"] == DETAIL_TYPE


def test_what_the_model_emits_matches_the_schema(schema) -> None:
    detail = JobClosed.model_validate(job_closed_detail())
    jsonschema.Draft4Validator(schema).validate(detail.model_dump(mode="json", by_alias=True))


def test_the_schema_requires_what_producers_must_send(schema) -> None:
    detail = job_closed_detail()
    del detail["data"]["closedAt"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(schema).validate(detail)


def test_consumers_ignore_fields_they_do_not_know() -> None:
    detail = job_closed_detail(hourlyRate=18.5)
    detail["metadata"]["traceparent"] = "00-abc-def-01"
    detail["somethingNew"] = {"x": 1}
    parsed = JobClosed.model_validate(detail)
    assert parsed.data.job_id == detail["data"]["jobId"]


def test_a_new_version_is_refused_rather_than_misread() -> None:
    detail = job_closed_detail()
    detail["metadata"]["version"] = "2"
    with pytest.raises(ValidationError):
        JobClosed.model_validate(detail)


def test_a_missing_correlation_id_does_not_poison_the_event() -> None:
    detail = job_closed_detail()
    del detail["metadata"]["correlationId"]
    assert JobClosed.model_validate(detail).metadata.correlation_id == ""


@pytest.mark.parametrize("field", ["jobId", "acceptedApplicationId", "acceptedApplicant"])
def test_empty_ids_are_refused(field: str) -> None:
    with pytest.raises(ValidationError):
        JobClosed.model_validate(job_closed_detail(**{field: ""}))


def test_the_consumers_envelope_names_the_same_event() -> None:
    assert get_args(JobClosedEvent.model_fields["source"].annotation) == (SOURCE,)
    assert get_args(JobClosedEvent.model_fields["detail_type"].annotation) == (DETAIL_TYPE,)
    assert EVENT_PATTERN == {
        "source": [SOURCE],
        "detail-type": [DETAIL_TYPE],
        "detail": {"metadata": {"version": ["1"]}},
    }

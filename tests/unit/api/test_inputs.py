from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from services.api.models.inputs import (
    CreateJobArguments,
    RateUserArguments,
    UpdateUserArguments,
)
from services.api.validation import parse_arguments
from services.common.errors import ValidationError

JOB: dict[str, Any] = {
    "jobType": "LIVE_IN",
    "title": "  Nanny  ",
    "numberOfKids": 1,
    "startDate": "2030-01-01",
    "endDate": "2030-01-01",
    "startTime": "08:00",
    "endTime": "17:00:00Z",
    "city": "Paris",
    "cost": 20,
}


def test_valid_job_input_is_normalised() -> None:
    job = parse_arguments(CreateJobArguments, {"job": JOB}).job
    assert job.title == "Nanny"
    assert job.start_time == dt.time(8, 0)
    assert job.end_time.tzinfo is not None


def test_errors_list_every_bad_field_with_its_path_and_no_value() -> None:
    bad = {**JOB, "numberOfKids": 99, "endDate": "2029-12-31", "cost": "lots"}
    with pytest.raises(ValidationError) as refused:
        parse_arguments(CreateJobArguments, {"job": bad})
    fields = {problem["field"] for problem in refused.value.info["fields"]}  # type: ignore[index]
    assert fields == {"job.numberOfKids", "job.cost"}
    assert "lots" not in refused.value.message
    assert refused.value.envelope()["errorType"] == "ValidationError"


def test_cross_field_rules_apply_once_fields_are_valid() -> None:
    with pytest.raises(ValidationError, match="endDate must not be before startDate"):
        parse_arguments(CreateJobArguments, {"job": {**JOB, "endDate": "2029-12-31"}})


def test_unknown_arguments_are_refused() -> None:
    with pytest.raises(ValidationError, match=r"job\.parentUsername"):
        parse_arguments(CreateJobArguments, {"job": {**JOB, "parentUsername": "eve"}})


@pytest.mark.parametrize("rating", [1, 5])
def test_ratings_within_range(rating: int) -> None:
    job_id = "01890a5d-ac96-774b-bcce-b302099a8057"
    assert parse_arguments(RateUserArguments, {"jobId": job_id, "rating": rating}).rating == rating


def test_update_changes_are_only_what_was_sent() -> None:
    update = parse_arguments(UpdateUserArguments, {"user": {"city": "Nice", "about": None}}).user
    assert update.changes() == {"city": "Nice", "about": None}


@pytest.mark.parametrize(
    ("sent", "problem"),
    [({}, "at least one field"), ({"firstName": None}, "firstName cannot be removed")],
)
def test_update_must_change_something_and_keep_the_name(sent: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        parse_arguments(UpdateUserArguments, {"user": sent})

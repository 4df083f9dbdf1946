"""Contract: the pipe's filter and input template, applied to the table's stream records,
make exactly the JobClosed events the consumers parse.

Producer side: ``events_schema.job_closed_pipe`` (what CDK configures on the pipe).
Consumer side: ``events_schema.JobClosed`` and the consumers' EventBridge model.
tests/integration/consumers/test_stream_contract.py runs the same check on records read
from DynamoDB Local's stream.
"""

from __future__ import annotations

import json
import re
import uuid

import jsonschema  # type: ignore[import-untyped]  # no stubs installed
import pytest

from events_schema import JobClosed
from events_schema.job_closed_pipe import FILTER_PATTERN, INPUT_TEMPLATE
from events_schema.json_schema import CATALOG
from localcloud.event_pattern import matches_any
from localcloud.input_template import render_text
from services.common.dal.keys import EntityName
from services.common.events import JobClosedEvent
from services.common.models import JobApplicationStatus, JobStatus
from tests.support.events import eventbridge_event
from tests.unit.events import stream_records as streams

INGESTION_TIME = "2025-05-20T10:15:31.456Z"


def pipe(record: dict[str, object]) -> JobClosed | None:
    """What the pipe puts on the bus for one record: a parsed detail, or None (filtered)."""
    if not matches_any([json.dumps(FILTER_PATTERN)], record):
        return None
    rendered = render_text(
        INPUT_TEMPLATE, record, context={"aws.pipes.event.ingestion-time": INGESTION_TIME}
    )
    (event_schema,) = CATALOG
    jsonschema.Draft4Validator(json.loads(event_schema.path.read_text())).validate(
        json.loads(rendered)
    )
    return JobClosed.model_validate_json(rendered)


@pytest.fixture
def lifecycle() -> dict[str, dict[str, object]]:
    """A job's stream records, from posting to an edit after its booking."""
    job = streams.job()
    accepted = streams.application(job, "nanny-bea")
    other = streams.application(job, "nanny-cat")
    open_job = streams.job_image(job)
    closed = streams.closed_job_image(job, accepted, correlation_id="corr-123")
    pending = streams.application_image(accepted, JobApplicationStatus.PENDING)
    return {
        "job posted": streams.record("INSERT", new=open_job),
        "open job edited": streams.record(
            "MODIFY", old=open_job, new=streams.job_image(job, title="Evening care")
        ),
        "job booked": streams.record("MODIFY", old=open_job, new=closed),
        "closed job edited": streams.record(
            "MODIFY", old=closed, new={**closed, "title": {"S": "Evening care"}}
        ),
        "application accepted": streams.record(
            "MODIFY",
            old=pending,
            new=streams.application_image(accepted, JobApplicationStatus.ACCEPTED),
        ),
        "other application declined": streams.record(
            "MODIFY",
            old=streams.application_image(other, JobApplicationStatus.PENDING),
            new=streams.application_image(other, JobApplicationStatus.DECLINED),
        ),
        "closed job deleted": streams.record("REMOVE", old=closed),
        # Same statuses, another kind of item: the entity decides, not the attributes.
        "look-alike item": streams.record(
            "MODIFY",
            old={**open_job, "entity": {"S": "JOB_COPY"}},
            new={**closed, "entity": {"S": "JOB_COPY"}},
        ),
    }


def test_only_the_open_to_closed_change_of_a_job_makes_an_event(lifecycle) -> None:
    made = {name: pipe(record) for name, record in lifecycle.items()}
    assert [name for name, event in made.items() if event] == ["job booked"]


def test_the_event_carries_the_booking_from_the_job_item(lifecycle) -> None:
    record = lifecycle["job booked"]
    image = record["dynamodb"]["NewImage"]
    detail = pipe(record)
    assert detail is not None
    assert detail.metadata.version == "1"
    assert detail.metadata.correlation_id == "corr-123"
    assert detail.metadata.created_at.isoformat() == "2025-05-20T10:15:31.456000+00:00"
    assert detail.data.job_id == image["id"]["S"]
    assert detail.data.parent_username == "parent-ann"
    assert detail.data.accepted_application_id == image["acceptedApplicationId"]["S"]
    assert detail.data.accepted_applicant == "nanny-bea"
    assert detail.data.closed_at.isoformat() == "2025-05-20T10:15:30.123456+00:00"


def test_the_consumers_parse_the_event_the_bus_delivers(lifecycle) -> None:
    detail = pipe(lifecycle["job booked"])
    assert detail is not None
    delivered = eventbridge_event(detail.model_dump(mode="json", by_alias=True))
    assert JobClosedEvent.model_validate(delivered).detail == detail


def test_the_template_reads_only_attributes_the_booked_job_item_has(lifecycle) -> None:
    image = lifecycle["job booked"]["dynamodb"]["NewImage"]
    paths = re.findall(r"<\$\.dynamodb\.NewImage\.(\w+)\.S>", INPUT_TEMPLATE)
    assert paths, "the template reads the new image"
    assert {name: "S" in image[name] for name in paths} == dict.fromkeys(paths, True)


def test_a_username_that_needs_escaping_stays_one_string() -> None:
    job = streams.job(parent_username='a"b\\c')
    accepted = streams.application(job)
    record = streams.record(
        "MODIFY",
        old=streams.job_image(job),
        new=streams.closed_job_image(job, accepted, correlation_id=str(uuid.uuid4())),
    )
    detail = pipe(record)
    assert detail is not None
    assert detail.data.parent_username == 'a"b\\c'


def test_the_filter_uses_the_values_the_data_layer_writes() -> None:
    new_image = FILTER_PATTERN["dynamodb"]["NewImage"]
    old_image = FILTER_PATTERN["dynamodb"]["OldImage"]
    assert new_image["entity"] == old_image["entity"] == {"S": [EntityName.JOB.value]}
    assert old_image["jobStatus"] == {"S": [JobStatus.OPEN.value]}
    assert new_image["jobStatus"] == {"S": [JobStatus.CLOSED.value]}

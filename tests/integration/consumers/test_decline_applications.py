"""decline_applications, in-process, against DynamoDB Local."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any, cast

import pytest

from services.decline_applications.handler import handler
from tests.integration.consumers.conftest import Booking
from tests.support.appsync_events import LambdaContext
from tests.support.events import (
    eventbridge_event,
    failures,
    job_closed_detail,
    message_ids,
    sqs_event,
)

pytestmark = pytest.mark.dynamodb

Status = Callable[[dict[str, Any]], str]


def decline(*bodies: str | dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Run one SQS batch; answer the batch and the message ids to redeliver."""
    batch = sqs_event(*bodies)
    return batch, failures(dict(handler(batch, cast(Any, LambdaContext()))))


@pytest.fixture(autouse=True)
def _environment(topic_arn: str) -> None:
    """The consumers' environment (table, endpoints)."""


def test_the_other_applications_are_declined_and_the_accepted_one_stays(
    book: Callable[..., Booking], application_status: Status
) -> None:
    booking = book(other_applicants=3)
    _, failed = decline(booking.job_closed())
    assert failed == []
    assert application_status(booking.accepted) == "ACCEPTED"
    assert {application_status(a) for a in booking.others} == {"DECLINED"}


def test_every_page_of_applications_is_declined(
    book: Callable[..., Booking], application_status: Status
) -> None:
    # More than one page of the index (100 items a page).
    booking = book(other_applicants=150)
    _, failed = decline(booking.job_closed())
    assert failed == []
    assert [application_status(a) for a in booking.others].count("DECLINED") == 150
    assert application_status(booking.accepted) == "ACCEPTED"


def test_redelivery_changes_nothing_twice(
    book: Callable[..., Booking], dynamodb: Any, table_name: str
) -> None:
    booking = book(other_applicants=2)
    event = booking.job_closed()
    decline(event)
    before = _applications(dynamodb, table_name, booking)
    # The same message twice in one batch, then again later, then replayed from the archive.
    _, failed = decline(event, event)
    decline({**event, "id": "replayed", "replay-name": "recovery"})
    assert failed == []
    assert _applications(dynamodb, table_name, booking) == before


def test_an_accepted_application_is_never_declined(
    book: Callable[..., Booking], application_status: Status
) -> None:
    # A stray event naming another application as the accepted one: the write's condition
    # still protects the application the booking really accepted.
    booking = book(other_applicants=1)
    _, failed = decline(booking.job_closed(acceptedApplicationId=booking.others[0]["id"]))
    assert failed == []
    assert application_status(booking.accepted) == "ACCEPTED"


def test_only_the_records_that_failed_are_redelivered(
    book: Callable[..., Booking],
    application_status: Status,
    dynamodb: Any,
    table_name: str,
) -> None:
    first, second = book(other_applicants=1), book(other_applicants=1)
    broken = _job_whose_decline_dynamodb_refuses(dynamodb, table_name)
    batch, failed = decline(first.job_closed(), "not json", broken, second.job_closed())
    assert failed == message_ids(batch, 1, 2)
    assert application_status(first.others[0]) == "DECLINED"
    assert application_status(second.others[0]) == "DECLINED"


def test_a_batch_of_poison_alone_reports_it_rather_than_failing_the_invocation() -> None:
    batch, failed = decline(json.dumps({"detail-type": "JobClosed"}))
    assert failed == message_ids(batch, 0)


def _job_whose_decline_dynamodb_refuses(dynamodb: Any, table_name: str) -> dict[str, Any]:
    """A JobClosed whose one listed application has an id that makes its table key longer
    than DynamoDB allows (2,048 bytes): the decline gets a real ValidationException."""
    job_id, application_id = "j" * 1500, "a" * 600
    dynamodb.put_item(
        TableName=table_name,
        Item={
            "PK": {"S": f"TEST#{uuid.uuid4()}"},
            "SK": {"S": "TEST"},
            "entity": {"S": "APPLICATION"},
            "GSI1PK": {"S": f"JOB#{job_id}"},
            "GSI1SK": {"S": f"APPLICATION#{application_id}"},
            "id": {"S": application_id},
            "jobId": {"S": job_id},
            "applicantUsername": {"S": "someone"},
            "parentUsername": {"S": "someone-else"},
            "jobApplicationStatus": {"S": "PENDING"},
            "createdOn": {"S": "2025-05-01T09:00:00+00:00"},
        },
    )
    return eventbridge_event(job_closed_detail(jobId=job_id))


def _applications(dynamodb: Any, table_name: str, booking: Booking) -> list[dict[str, Any]]:
    """The items of the booking's applications, as stored."""
    items = []
    for application in [booking.accepted, *booking.others]:
        key = f"JOB#{application['jobId']}#APPLICATION#{application['id']}"
        items.append(
            dynamodb.get_item(
                TableName=table_name, Key={"PK": {"S": key}, "SK": {"S": key}}, ConsistentRead=True
            )["Item"]
        )
    return items

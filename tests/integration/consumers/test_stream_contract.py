"""Contract, end to end: real stream records of a booking, read from DynamoDB Local's
stream, through the pipe's filter and input template (events_schema.job_closed_pipe) and
into both consumers.

The pipe's filtering and templating are the local cloud's EventBridge semantics
(localcloud.event_pattern, localcloud.input_template); everything else is real: the API's
writes, the booking's transaction, the stream, the consumers and their backends.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, cast

import pytest

from events_schema import JobClosed
from events_schema.job_closed_pipe import FILTER_PATTERN, INPUT_TEMPLATE
from localcloud.dynamodb_local import DynamoDBLocal
from localcloud.event_pattern import matches_any
from localcloud.input_template import render_text
from services.decline_applications.handler import handler as decline
from services.notify_accepted_applicant.handler import handler as notify
from tests.integration.consumers.conftest import Inbox
from tests.integration.consumers.streams import StreamTail
from tests.support.api import Api
from tests.support.appsync_events import LambdaContext
from tests.support.events import eventbridge_event, failures, sqs_event

pytestmark = pytest.mark.dynamodb

INGESTION_TIME = "2025-05-20T10:15:31.456Z"


@pytest.fixture
def stream(dynamodb_local: DynamoDBLocal, dynamodb: Any, table_name: str) -> StreamTail:
    arn = dynamodb.describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
    return StreamTail(dynamodb_local.client("dynamodbstreams"), arn)


def pipe(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The details the pipe puts on the bus for these records, in order."""
    return [
        json.loads(
            render_text(
                INPUT_TEMPLATE, record, context={"aws.pipes.event.ingestion-time": INGESTION_TIME}
            )
        )
        for record in records
        if matches_any([json.dumps(FILTER_PATTERN)], record)
    ]


def kinds(records: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(eventName, entity) of each record; idempotency records have no entity."""
    return {(r["eventName"], _image(r).get("entity", {}).get("S", "")) for r in records}


def test_a_booking_makes_one_job_closed_that_both_consumers_act_on(
    api: Api,
    stream: StreamTail,
    dynamodb: Any,
    table_name: str,
    topic_arn: str,
    inbox: Callable[[str], Inbox],
    application_status: Callable[[dict[str, Any]], str],
) -> None:
    parent, nanny, other_nanny = api.sign_up("PARENT"), api.sign_up("NANNY"), api.sign_up("NANNY")
    job = api.post_job(parent)
    accepted, other = api.apply(nanny, job["id"]), api.apply(other_nanny, job["id"])
    api.book(parent, accepted)
    job_key = {"PK": {"S": f"USER#{parent.username}"}, "SK": {"S": f"JOB#{job['id']}"}}
    dynamodb.update_item(  # an edit after the booking: CLOSED -> CLOSED
        TableName=table_name,
        Key=job_key,
        UpdateExpression="SET title = :title",
        ExpressionAttributeValues={":title": {"S": "Evening care"}},
    )

    records = stream.records()
    assert {
        ("INSERT", "USER"),
        ("INSERT", "JOB"),
        ("INSERT", "APPLICATION"),
        ("MODIFY", "JOB"),
        ("MODIFY", "APPLICATION"),
    } <= kinds(records)
    assert [r["eventName"] for r in records if r["dynamodb"]["Keys"] == job_key] == [
        "INSERT",
        "MODIFY",
        "MODIFY",
    ]
    (detail,) = pipe(records)

    closed_job = dynamodb.get_item(TableName=table_name, Key=job_key)["Item"]
    parsed = JobClosed.model_validate(detail)
    assert parsed.data.job_id == job["id"]
    assert parsed.data.parent_username == parent.username
    assert parsed.data.accepted_application_id == accepted["id"]
    assert parsed.data.accepted_applicant == nanny.username
    assert parsed.data.closed_at.isoformat() == closed_job["closedAt"]["S"]
    assert parsed.metadata.correlation_id == closed_job.get("correlationId", {}).get("S", "")

    # The bus delivers the event to each consumer's queue.
    nanny_inbox = inbox(nanny.username)
    event = sqs_event(eventbridge_event(detail))
    assert failures(dict(decline(event, cast(Any, LambdaContext())))) == []
    assert failures(dict(notify(event, cast(Any, LambdaContext())))) == []
    assert application_status(other) == "DECLINED"
    assert application_status(accepted) == "ACCEPTED"
    assert len(nanny_inbox.messages()) == 1

    # What the consumers wrote (declines, idempotency records) makes no further event.
    after = stream.records()
    assert ("MODIFY", "APPLICATION") in kinds(after)
    assert pipe(after) == []


def _image(record: dict[str, Any]) -> dict[str, Any]:
    image: dict[str, Any] = record["dynamodb"].get("NewImage") or record["dynamodb"]["OldImage"]
    return image

"""audit_trail, in-process, against DynamoDB Local: one item per event, whatever happens."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any, cast

import pytest

from services.audit_trail import handler as audit_handler
from services.common.dal.audit import AuditTrail, audit_key
from services.common.dal.table import Table
from tests.support.appsync_events import LambdaContext
from tests.support.events import (
    eventbridge_event,
    failures,
    job_closed_detail,
    message_ids,
    sqs_event,
)

pytestmark = pytest.mark.dynamodb

USERNAMES = {"parentUsername": "secret-parent", "acceptedApplicant": "secret-nanny"}


@pytest.fixture(autouse=True)
def _environment(aws_environment: None) -> Iterator[None]:
    """TABLE_NAME and the DynamoDB endpoint, as the function has them in AWS."""
    audit_handler.reset()
    yield
    audit_handler.reset()


def audit(*bodies: str | dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Run one SQS batch; answer the batch and the message ids to redeliver."""
    batch = sqs_event(*bodies)
    return batch, failures(dict(audit_handler.handler(batch, cast(Any, LambdaContext()))))


def items_of(dynamodb: Any, table_name: str, event: dict[str, Any]) -> list[dict[str, Any]]:
    """Every audit item of the event's day that names the event's id."""
    day = dt.datetime.fromisoformat(event["time"]).date()
    trail = AuditTrail(Table(table_name, dynamodb))
    return [item for item in trail.items_of_day(day) if item["eventId"] == event["id"]]


def test_an_event_is_recorded_by_its_envelope_and_ids_only(dynamodb, table_name) -> None:
    event = eventbridge_event(job_closed_detail(**USERNAMES))
    _, failed = audit(event)
    assert failed == []
    (item,) = items_of(dynamodb, table_name, event)
    data = event["detail"]["data"]
    time = dt.datetime.fromisoformat(event["time"])
    assert item == {
        **audit_key(time, event["id"]),
        "entity": "AUDIT",
        "eventId": event["id"],
        "eventTime": event["time"],
        "source": "babysitter.jobs",
        "detailType": "JobClosed",
        "eventVersion": "1",
        "correlationId": event["detail"]["metadata"]["correlationId"],
        "jobId": data["jobId"],
        "acceptedApplicationId": data["acceptedApplicationId"],
        "expiration": int((time + dt.timedelta(days=365)).timestamp()),
    }
    assert not any(name in json.dumps(item, default=str) for name in USERNAMES.values())


def test_a_duplicate_writes_nothing(dynamodb, table_name) -> None:
    event = eventbridge_event(job_closed_detail())
    audit(event)
    (before,) = items_of(dynamodb, table_name, event)
    # The same message twice in one batch, then again later (SQS redelivers).
    _, failed = audit(event, event)
    audit(event)
    assert failed == []
    assert items_of(dynamodb, table_name, event) == [before]


def test_a_replay_marks_the_one_item_and_a_second_replay_changes_nothing(
    dynamodb, table_name
) -> None:
    event = eventbridge_event(job_closed_detail())
    audit(event)
    _, failed = audit({**event, "replay-name": "recovery-1"})
    assert failed == []
    (item,) = items_of(dynamodb, table_name, event)
    assert item["replayName"] == "recovery-1"
    audit({**event, "replay-name": "recovery-2"}, event)
    assert items_of(dynamodb, table_name, event) == [item]


def test_an_event_first_seen_in_a_replay_is_one_item_too(dynamodb, table_name) -> None:
    event = eventbridge_event(job_closed_detail())
    audit({**event, "replay-name": "backfill"})
    audit(event)
    (item,) = items_of(dynamodb, table_name, event)
    assert item["replayName"] == "backfill"


def test_any_event_of_the_bus_is_recorded(dynamodb, table_name) -> None:
    event = {
        **eventbridge_event({"something": "else"}),
        "source": "babysitter.reviews",
        "detail-type": "ReviewPosted",
    }
    _, failed = audit(event)
    assert failed == []
    (item,) = items_of(dynamodb, table_name, event)
    assert (item["source"], item["detailType"]) == ("babysitter.reviews", "ReviewPosted")
    assert "jobId" not in item
    assert "correlationId" not in item


def test_only_the_records_that_failed_are_redelivered(dynamodb, table_name) -> None:
    first, second = eventbridge_event(job_closed_detail()), eventbridge_event(job_closed_detail())
    batch, failed = audit(first, "not json", json.dumps({"id": "no source"}), second)
    assert failed == message_ids(batch, 1, 2)
    assert len(items_of(dynamodb, table_name, first)) == 1
    assert len(items_of(dynamodb, table_name, second)) == 1

"""The audit trail receives live events, and a replay marks its item without duplicating it.

Book a nanny through the API, then wait (bounded) for the booking's JobClosed in the audit
trail: one item, ids only. Then replay the archive to the audit rule alone
(``Destination.FilterArns``): the item is marked with the replay's name, and there is still
one. Works on the local cloud and on AWS, where archived events may appear minutes late
(the replay is retried until the event was in the archive).
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from services.common.dal.audit import AuditTrail
from services.common.dal.table import Table
from tests.e2e.client import AppUser, Stack
from tests.e2e.test_booking_scenario import APPLY, BOOK, CREATE_JOB, sign_up, wait_for

# AWS: "We recommend you delay replaying archived events for 10 minutes".
ARCHIVE_DELAY_SECONDS = 15 * 60
REPLAY_SECONDS = 120.0
JOB = {
    "jobType": "OCCASIONAL",
    "title": "Saturday evening",
    "numberOfKids": 1,
    "startDate": "2030-02-02",
    "endDate": "2030-02-02",
    "startTime": "18:00",
    "endTime": "23:00",
    "city": "Porto",
    "cost": 20,
}


@pytest.fixture
def app_users(stack: Stack) -> Iterator[list[AppUser]]:
    created: list[AppUser] = []
    yield created
    for user in created:
        user.delete()


class AuditItems:
    """The audit items of one job's JobClosed, read from the table."""

    def __init__(self, stack: Stack, job_id: str, since: dt.datetime) -> None:
        self.trail = AuditTrail(Table(stack.outputs["TableName"], stack.client("dynamodb")))
        self.job_id = job_id
        self.since = since

    def __call__(self) -> list[dict[str, Any]]:
        today = dt.datetime.now(dt.UTC).date()
        days = sorted({self.since.date(), today})  # a booking just before midnight
        return [
            item
            for day in days
            for item in self.trail.items_of_day(day)
            if item.get("jobId") == self.job_id and item["detailType"] == "JobClosed"
        ]


def audit_rule_arn(stack: Stack) -> str:
    """The rule that delivers to the AuditTrail queue (found by its target, in any cloud)."""
    sqs, events = stack.client("sqs"), stack.client("events")
    queue_arn = sqs.get_queue_attributes(
        QueueUrl=stack.outputs["AuditTrailQueueUrl"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    bus = stack.outputs["EventBusName"]
    for rule in events.list_rules(EventBusName=bus)["Rules"]:
        targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus)["Targets"]
        if any(target["Arn"] == queue_arn for target in targets):
            return str(rule["Arn"])
    raise AssertionError("no rule targets the AuditTrail queue")


def replay_to(stack: Stack, rule_arn: str, start: dt.datetime) -> str:
    """Replay the archive from ``start`` to now, to one rule; answer when it completed."""
    events = stack.client("events")
    archive = events.describe_archive(ArchiveName=stack.outputs["ArchiveName"])
    name = f"e2e-audit-{uuid.uuid4().hex[:12]}"
    events.start_replay(
        ReplayName=name,
        EventSourceArn=archive["ArchiveArn"],
        EventStartTime=start,
        EventEndTime=dt.datetime.now(dt.UTC),
        Destination={"Arn": stack.outputs["EventBusArn"], "FilterArns": [rule_arn]},
    )
    wait_for(
        lambda: events.describe_replay(ReplayName=name)["State"] in ("COMPLETED", "FAILED"),
        f"replay {name}",
        seconds=REPLAY_SECONDS,
    )
    assert events.describe_replay(ReplayName=name)["State"] == "COMPLETED"
    return name


def test_a_booking_is_audited_once_and_a_replay_marks_it_without_a_duplicate(
    stack: Stack, app_users: list[AppUser]
) -> None:
    started = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    parent = sign_up(stack, "PARENT", app_users)
    nanny = sign_up(stack, "NANNY", app_users)
    job = parent.graphql(CREATE_JOB, {"job": JOB})["createJob"]
    application = nanny.graphql(APPLY, {"jobId": job["id"]})["applyToJob"]
    parent.graphql(BOOK, {"jobId": job["id"], "applicationId": application["id"]})

    # -- live: the JobClosed reaches the audit trail, once, as ids ------------------------
    audited = AuditItems(stack, job["id"], started)
    wait_for(lambda: len(audited()) >= 1, "the booking's JobClosed in the audit trail")
    time.sleep(2)  # room for a duplicate to show up, if one were coming
    (item,) = audited()
    assert (item["entity"], item["source"], item["eventVersion"]) == (
        "AUDIT",
        "babysitter.jobs",
        "1",
    )
    assert item["acceptedApplicationId"] == application["id"]
    assert item["correlationId"]
    assert "replayName" not in item
    stored = json.dumps(item, default=str)
    assert parent.username not in stored
    assert nanny.username not in stored

    # -- replay, to the audit rule only: the one item is marked, nothing is duplicated ----
    rule_arn = audit_rule_arn(stack)
    event_time = dt.datetime.fromisoformat(item["eventTime"])
    replay_from = event_time - dt.timedelta(minutes=1)
    deadline = time.monotonic() + (0 if stack.endpoint_url else ARCHIVE_DELAY_SECONDS)
    while True:
        name = replay_to(stack, rule_arn, replay_from)
        try:
            wait_for(lambda: "replayName" in audited()[0], "the replay in the audit trail", 20)
            break
        except AssertionError:
            if time.monotonic() > deadline:  # AWS: the event may not be archived yet
                raise
            time.sleep(60)
    time.sleep(2)
    (replayed,) = audited()
    assert replayed == {**item, "replayName": name}

"""The audit trail: one more EventConsumer (rule -> queue (+DLQ) -> function), subscribed to
every babysitter.* event, allowed one conditional PutItem in the AUDIT# partitions."""

from __future__ import annotations

from typing import Any

import pytest

from localcloud.event_pattern import matches
from services.common.dal.audit import PARTITION_PREFIX
from tests.infrastructure.helpers import (
    CONSUMER_HANDLERS,
    Resources,
    as_list,
    consumer_queues,
    function_with_handler,
    get_att,
    only,
)
from tests.infrastructure.test_consumers import common_grants, consumer_grants, rule_of
from tests.infrastructure.test_iam import statements_of_role
from tests.support.events import eventbridge_event, job_closed_detail

CONSUMER = "AuditTrail"


@pytest.fixture(scope="module")
def rule(resources: Resources) -> dict[str, Any]:
    queue_id, _ = consumer_queues(resources, CONSUMER)
    _, properties = rule_of(resources, queue_id)
    return properties


def test_the_consumer_is_a_rule_a_queue_with_its_dlq_and_a_function(
    resources: Resources, rule: dict[str, Any]
) -> None:
    function_id, function = function_with_handler(resources, CONSUMER_HANDLERS[CONSUMER])
    queue_id, dead_letter_id = consumer_queues(resources, CONSUMER)
    assert resources[queue_id]["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 5
    assert resources[dead_letter_id]["Type"] == "AWS::SQS::Queue"
    bus_id, _ = only(resources, "AWS::Events::EventBus")
    assert rule["EventBusName"] == {"Ref": bus_id}
    assert rule["State"] == "ENABLED"
    assert str(rule["Description"]).startswith(CONSUMER)
    variables = function["Environment"]["Variables"]
    assert variables["POWERTOOLS_SERVICE_NAME"] == "audit_trail"
    table_id, _ = only(resources, "AWS::DynamoDB::Table")
    assert variables["TABLE_NAME"] == {"Ref": table_id}
    assert function_id


def test_the_rule_takes_every_event_of_the_systems_producers(rule: dict[str, Any]) -> None:
    pattern = rule["EventPattern"]
    assert pattern == {"source": [{"prefix": "babysitter."}]}
    job_closed = eventbridge_event(job_closed_detail())
    assert matches(pattern, job_closed)
    # Any type and version of event from a babysitter.* source, replays too...
    for source, detail_type in [("babysitter.reviews", "ReviewPosted"), ("babysitter.jobs", "X")]:
        event = {**job_closed, "source": source, "detail-type": detail_type, "detail": {}}
        assert matches(pattern, event)
    assert matches(pattern, {**job_closed, "replay-name": "recovery"})
    # ...and nothing else that may reach the bus.
    for source in ("aws.events", "babysitter", "other.babysitter.jobs"):
        assert not matches(pattern, {**job_closed, "source": source})


def test_the_function_may_only_put_items_in_the_audit_partitions(resources: Resources) -> None:
    table_id, _ = only(resources, "AWS::DynamoDB::Table")
    assert consumer_grants(resources, CONSUMER) == common_grants(resources, CONSUMER) | {
        "dynamodb:PutItem": [get_att(table_id, "Arn")]
    }
    _, function = function_with_handler(resources, CONSUMER_HANDLERS[CONSUMER])
    (put,) = [
        statement
        for statement in statements_of_role(resources, function["Role"]["Fn::GetAtt"][0])
        if "dynamodb:PutItem" in as_list(statement["Action"])
    ]
    assert put["Action"] == "dynamodb:PutItem"
    assert put["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{PARTITION_PREFIX}*"]}
    }
    assert PARTITION_PREFIX == "AUDIT#"

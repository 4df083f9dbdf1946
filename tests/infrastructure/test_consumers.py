"""The consumers of JobClosed: rule -> queue (+DLQ) -> function, each on its own, and the
queues of the whole stack (every one has a dead-letter queue or is one, all encrypted)."""

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_events as events
from aws_cdk.assertions import Template

from events_schema.job_closed import EVENT_PATTERN
from services.notify_accepted_applicant.idempotency import PARTITION
from stacks.event_consumer import EventConsumer
from tests.infrastructure.helpers import (
    CONSUMER_HANDLERS,
    JOB_CLOSED_CONSUMERS,
    Resources,
    as_list,
    consumer_queues,
    function_with_handler,
    get_att,
    notification_topic,
    of_type,
    only,
)
from tests.infrastructure.test_iam import grants, statements_of_role
from tests.support.template import cdk_context

DAY = 24 * 3600
LOG_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}
XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
CONSUME_ACTIONS = {
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ReceiveMessage",
}

consumers = pytest.mark.parametrize("consumer", sorted(CONSUMER_HANDLERS))


def rule_of(resources: Resources, queue_id: str) -> tuple[str, dict[str, Any]]:
    """The one rule whose target is the queue."""
    found = [
        (rule_id, rule["Properties"])
        for rule_id, rule in of_type(resources, "AWS::Events::Rule").items()
        if any(t["Arn"] == get_att(queue_id, "Arn") for t in rule["Properties"]["Targets"])
    ]
    assert len(found) == 1, found
    return found[0]


def queue_policy_statements(resources: Resources, queue_id: str) -> list[dict[str, Any]]:
    (policy,) = [
        p["Properties"]
        for p in of_type(resources, "AWS::SQS::QueuePolicy").values()
        if {"Ref": queue_id} in p["Properties"]["Queues"]
    ]
    statements: list[dict[str, Any]] = policy["PolicyDocument"]["Statement"]
    return statements


def dead_letter_targets(resources: Resources) -> set[str]:
    """Every queue something uses as its dead-letter queue."""
    arns: list[Any] = []
    for resource in resources.values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in props:
            arns.append(props["RedrivePolicy"]["deadLetterTargetArn"])
        elif resource["Type"] == "AWS::Events::Rule":
            arns += [t["DeadLetterConfig"]["Arn"] for t in props["Targets"]]
        elif resource["Type"] == "AWS::Pipes::Pipe":
            arns.append(
                props["SourceParameters"]["DynamoDBStreamParameters"]["DeadLetterConfig"]["Arn"]
            )
    return {arn["Fn::GetAtt"][0] for arn in arns}


def test_every_queue_has_a_dead_letter_queue_or_is_one(resources: Resources) -> None:
    queues = of_type(resources, "AWS::SQS::Queue")
    dead_letter = dead_letter_targets(resources)
    assert dead_letter <= set(queues)
    for queue_id, queue in queues.items():
        has_redrive = "RedrivePolicy" in queue["Properties"]
        assert has_redrive != (queue_id in dead_letter), queue_id  # one or the other
        if has_redrive:
            assert queue["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 5
        else:
            assert queue["Properties"]["MessageRetentionPeriod"] == 14 * DAY, queue_id


def test_every_queue_is_encrypted_and_refuses_requests_without_tls(resources: Resources) -> None:
    for queue_id, queue in of_type(resources, "AWS::SQS::Queue").items():
        props = queue["Properties"]
        assert props.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props, queue_id
        deny = [s for s in queue_policy_statements(resources, queue_id) if s["Effect"] == "Deny"]
        assert {
            "Action": "sqs:*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Resource": get_att(queue_id, "Arn"),
        } in deny


def test_every_dead_letter_queue_alarms_on_its_first_message(resources: Resources) -> None:
    alarmed = {
        alarm["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for alarm in of_type(resources, "AWS::CloudWatch::Alarm").values()
        if alarm["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
        and alarm["Properties"]["Namespace"] == "AWS/SQS"
        and alarm["Properties"]["ComparisonOperator"] == "GreaterThanThreshold"
        and alarm["Properties"]["Threshold"] == 0
    }
    assert dead_letter_targets(resources) == alarmed


@pytest.mark.parametrize("consumer", JOB_CLOSED_CONSUMERS)
def test_rule_matches_job_closed_v1_on_the_bus(resources: Resources, consumer: str) -> None:
    bus_id, _ = only(resources, "AWS::Events::EventBus")
    queue_id, _ = consumer_queues(resources, consumer)
    _, rule = rule_of(resources, queue_id)
    assert rule["EventBusName"] == {"Ref": bus_id}
    assert rule["State"] == "ENABLED"
    # events_schema's subscription pattern, which includes the source and detail-type.
    assert rule["EventPattern"] == EVENT_PATTERN
    assert rule["EventPattern"]["source"] == ["babysitter.jobs"]
    assert rule["EventPattern"]["detail-type"] == ["JobClosed"]
    assert rule["Description"].startswith(consumer)


@consumers
def test_rule_delivery_retries_are_finite_with_a_dead_letter_queue(
    resources: Resources, consumer: str
) -> None:
    queue_id, consumer_dlq_id = consumer_queues(resources, consumer)
    _, rule = rule_of(resources, queue_id)
    (target,) = rule["Targets"]
    assert 0 <= target["RetryPolicy"]["MaximumRetryAttempts"] < 185  # 185: the default
    assert 60 <= target["RetryPolicy"]["MaximumEventAgeInSeconds"] < DAY  # DAY: the default
    target_dlq_id = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    assert target_dlq_id not in (queue_id, consumer_dlq_id)
    # The queue gets the whole event, which the consumers parse.
    assert "Input" not in target
    assert "InputTransformer" not in target


@consumers
def test_only_this_rule_may_send_to_the_consumers_queues(
    resources: Resources, consumer: str
) -> None:
    queue_id, _ = consumer_queues(resources, consumer)
    rule_id, rule = rule_of(resources, queue_id)
    target_dlq_id = rule["Targets"][0]["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    for receiver in (queue_id, target_dlq_id):
        allows = [s for s in queue_policy_statements(resources, receiver) if s["Effect"] == "Allow"]
        assert allows, receiver
        for statement in allows:
            assert statement["Principal"] == {"Service": "events.amazonaws.com"}
            assert "sqs:SendMessage" in as_list(statement["Action"])
            assert statement["Condition"] == {
                "ArnEquals": {"aws:SourceArn": get_att(rule_id, "Arn")}
            }


@consumers
def test_function_reads_its_queue_in_batches_reporting_failures(
    resources: Resources, consumer: str
) -> None:
    function_id, function = function_with_handler(resources, CONSUMER_HANDLERS[consumer])
    queue_id, dlq_id = consumer_queues(resources, consumer)
    (mapping,) = [
        m["Properties"]
        for m in of_type(resources, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert 1 <= mapping["BatchSize"] <= 10
    assert "MaximumBatchingWindowInSeconds" not in mapping
    assert 2 <= mapping["ScalingConfig"]["MaximumConcurrency"] <= 10
    queue = resources[queue_id]["Properties"]
    # AWS: at least six times the function's timeout (plus the batching window, none here).
    assert queue["VisibilityTimeout"] >= 6 * function["Timeout"]
    # A message moving to the DLQ keeps its enqueue time: the DLQ must keep it longer.
    dlq = resources[dlq_id]["Properties"]
    assert queue["MessageRetentionPeriod"] < dlq["MessageRetentionPeriod"]
    assert function["Runtime"] == "python3.13"
    assert function["TracingConfig"] == {"Mode": "Active"}


def consumer_grants(resources: Resources, consumer: str) -> dict[str, list[Any]]:
    _, function = function_with_handler(resources, CONSUMER_HANDLERS[consumer])
    return grants(statements_of_role(resources, function["Role"]["Fn::GetAtt"][0]))


def common_grants(resources: Resources, consumer: str) -> dict[str, list[Any]]:
    """Logs to its own log group, traces, and reads its own queue."""
    _, function = function_with_handler(resources, CONSUMER_HANDLERS[consumer])
    queue_id, _ = consumer_queues(resources, consumer)
    log_group = get_att(function["LoggingConfig"]["LogGroup"]["Ref"], "Arn")
    return (
        {action: [log_group] for action in LOG_ACTIONS}
        | {action: ["*"] for action in XRAY_ACTIONS}
        | {action: [get_att(queue_id, "Arn")] for action in CONSUME_ACTIONS}
    )


def test_decline_queries_the_job_applications_index_and_updates_items(
    resources: Resources,
) -> None:
    consumer = "DeclineOtherApplications"
    table_id, _ = only(resources, "AWS::DynamoDB::Table")
    table = get_att(table_id, "Arn")
    assert consumer_grants(resources, consumer) == common_grants(resources, consumer) | {
        "dynamodb:Query": [{"Fn::Join": ["", [table, "/index/jobApplications"]]}],
        "dynamodb:UpdateItem": [table],
    }
    # The updates reach application items only.
    _, function = function_with_handler(resources, CONSUMER_HANDLERS[consumer])
    (update,) = [
        s
        for s in statements_of_role(resources, function["Role"]["Fn::GetAtt"][0])
        if "dynamodb:UpdateItem" in as_list(s["Action"])
    ]
    assert update["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["JOB#*#APPLICATION#*"]}
    }
    assert function["Environment"]["Variables"]["TABLE_NAME"] == {"Ref": table_id}


def test_notifier_reads_profiles_writes_idempotency_records_and_publishes(
    resources: Resources,
) -> None:
    consumer = "NotifyAcceptedApplicant"
    table_id, _ = only(resources, "AWS::DynamoDB::Table")
    topic_id, topic = notification_topic(resources)
    table = get_att(table_id, "Arn")
    key = topic["KmsMasterKeyId"]
    write_actions = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
    assert consumer_grants(resources, consumer) == common_grants(resources, consumer) | {
        "dynamodb:GetItem": [table],
        **{action: [table] for action in write_actions},
        "sns:Publish": [{"Ref": topic_id}],
        "kms:GenerateDataKey": [key],
        "kms:Decrypt": [key],
    }
    # The writes reach the idempotency partition only.
    _, function = function_with_handler(resources, CONSUMER_HANDLERS[consumer])
    (writes,) = [
        s
        for s in statements_of_role(resources, function["Role"]["Fn::GetAtt"][0])
        if "dynamodb:PutItem" in as_list(s["Action"])
    ]
    assert sorted(as_list(writes["Action"])) == sorted(write_actions)
    assert writes["Condition"] == {
        "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [PARTITION]}
    }
    assert function["Environment"]["Variables"]["TABLE_NAME"] == {"Ref": table_id}
    assert function["Environment"]["Variables"]["TOPIC_ARN"] == {"Ref": topic_id}


def test_notification_topic_is_kms_encrypted_and_tls_only(resources: Resources) -> None:
    topic_id, topic = notification_topic(resources)
    key_id = topic["KmsMasterKeyId"]["Fn::GetAtt"][0]
    assert topic["KmsMasterKeyId"] == get_att(key_id, "Arn")
    assert resources[key_id]["Properties"]["EnableKeyRotation"] is True
    (policy,) = [
        p["Properties"]
        for p in of_type(resources, "AWS::SNS::TopicPolicy").values()
        if p["Properties"]["Topics"] == [{"Ref": topic_id}]
    ]
    (deny,) = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Action"] == "sns:Publish"


def test_a_new_consumer_is_one_call(tmp_path: Path) -> None:
    app = cdk.App(context=cdk_context(), outdir=str(tmp_path))
    stack = cdk.Stack(app, "ConsumerProbe")
    bus = events.EventBus(stack, "Bus")
    EventConsumer(
        stack,
        "WelcomeParent",
        bus=bus,
        pattern=events.EventPattern(source=["babysitter.users"], detail_type=["UserCreated"]),
        handler="services.welcome.handler.handler",
        service_name="welcome",
        description="Welcomes a new parent",
        timeout=cdk.Duration.seconds(20),
    )
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::Events::Rule", 1)
    template.resource_count_is("AWS::SQS::Queue", 3)  # queue, its DLQ, the rule's DLQ
    template.resource_count_is("AWS::Lambda::Function", 1)
    template.resource_count_is("AWS::Lambda::EventSourceMapping", 1)
    template.resource_count_is("AWS::CloudWatch::Alarm", 2)
    template.has_resource_properties("AWS::SQS::Queue", {"VisibilityTimeout": 120})

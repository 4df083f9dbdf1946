"""The bus, its archive and schema registry, and the JobClosed pipe from the table stream."""

import json
from typing import Any

import pytest

from events_schema.job_closed_pipe import DETAIL_TYPE, FILTER_PATTERN, INPUT_TEMPLATE, SOURCE
from events_schema.json_schema import CATALOG
from services.notify_accepted_applicant.idempotency import DEDUPLICATION_WINDOW
from tests.infrastructure.helpers import Resources, get_att, of_type, only
from tests.infrastructure.test_iam import grants, statements_of_role

DAY = 24 * 3600
STREAM_RETENTION = DAY  # DynamoDB Streams keep a record 24 hours


@pytest.fixture(scope="module")
def bus_id(resources: Resources) -> str:
    logical_id, _ = only(resources, "AWS::Events::EventBus")
    return logical_id


@pytest.fixture(scope="module")
def pipe(resources: Resources) -> tuple[str, dict[str, Any]]:
    return only(resources, "AWS::Pipes::Pipe")


@pytest.fixture(scope="module")
def stream_parameters(pipe: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = pipe[1]["SourceParameters"]["DynamoDBStreamParameters"]
    return result


def test_archive_keeps_every_event_of_the_bus_for_a_bounded_time(
    resources: Resources, bus_id: str
) -> None:
    _, archive = only(resources, "AWS::Events::Archive")
    assert archive["SourceArn"] == get_att(bus_id, "Arn")
    # No pattern: every event, whatever its source (not even a catch-all that could miss one).
    assert "EventPattern" not in archive
    assert archive["RetentionDays"] == 30
    # A replay must not notify a nanny twice: the notifier's idempotency records must
    # outlive every archived event.
    assert archive["RetentionDays"] * DAY <= DEDUPLICATION_WINDOW


def test_every_cataloged_event_is_registered_with_its_committed_schema(
    resources: Resources,
) -> None:
    registry_id, _ = only(resources, "AWS::EventSchemas::Registry")
    schemas = {
        s["Properties"]["SchemaName"]: s["Properties"]
        for s in of_type(resources, "AWS::EventSchemas::Schema").values()
    }
    assert set(schemas) == {f"{e.source}@{e.detail_type}" for e in CATALOG}
    for event in CATALOG:
        schema = schemas[f"{event.source}@{event.detail_type}"]
        assert schema["RegistryName"] == get_att(registry_id, "RegistryName")
        assert schema["Type"] == "JSONSchemaDraft4"
        # Exactly the committed file (a unit test keeps the file equal to the model).
        assert schema["Content"] == event.path.read_text(encoding="utf-8")
        content = json.loads(schema["Content"])
        assert content["$schema"] == "http://json-schema.org/draft-04/schema#"
        assert content["x-amazon-events-source"] == event.source
        assert content["x-amazon-events-detail-type"] == event.detail_type
    assert ("babysitter.jobs", "JobClosed") in {(e.source, e.detail_type) for e in CATALOG}


def test_pipe_reads_the_table_stream_and_puts_job_closed_on_the_bus(
    resources: Resources, bus_id: str, pipe: tuple[str, dict[str, Any]]
) -> None:
    _, props = pipe
    table_id, _ = only(resources, "AWS::DynamoDB::Table")
    assert props["Source"] == get_att(table_id, "StreamArn")
    assert props["Target"] == get_att(bus_id, "Arn")
    assert props["DesiredState"] == "RUNNING"
    target = props["TargetParameters"]
    assert target["EventBridgeEventBusParameters"] == {"Source": SOURCE, "DetailType": DETAIL_TYPE}
    assert (SOURCE, DETAIL_TYPE) == ("babysitter.jobs", "JobClosed")
    # Both taken from events_schema, which the contract tests run real records through.
    assert target["InputTemplate"] == INPUT_TEMPLATE
    (pattern,) = props["SourceParameters"]["FilterCriteria"]["Filters"]
    assert pattern["Pattern"] == json.dumps(FILTER_PATTERN)
    assert json.loads(pattern["Pattern"]) == FILTER_PATTERN


def test_pipe_retries_are_finite_and_failures_go_to_an_encrypted_dlq(
    resources: Resources, stream_parameters: dict[str, Any]
) -> None:
    # -1 (the default) means forever, and a shard would stop behind one bad record.
    assert 0 <= stream_parameters["MaximumRetryAttempts"] <= 10
    assert 60 <= stream_parameters["MaximumRecordAgeInSeconds"] < STREAM_RETENTION
    assert stream_parameters["StartingPosition"] == "TRIM_HORIZON"
    assert 1 <= stream_parameters["BatchSize"] <= 10  # PutEvents takes 10 entries at most
    assert stream_parameters["OnPartialBatchItemFailure"] == "AUTOMATIC_BISECT"
    dlq_id = stream_parameters["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    dlq = resources[dlq_id]
    assert dlq["Type"] == "AWS::SQS::Queue"
    assert dlq["Properties"]["SqsManagedSseEnabled"] is True
    assert dlq["Properties"]["MessageRetentionPeriod"] == 14 * DAY


def test_pipe_logs_errors_only_without_payloads(
    resources: Resources, pipe: tuple[str, dict[str, Any]]
) -> None:
    logging = pipe[1]["LogConfiguration"]
    assert logging["Level"] == "ERROR"
    assert "IncludeExecutionData" not in logging
    log_group_id = logging["CloudwatchLogsLogDestination"]["LogGroupArn"]["Fn::GetAtt"][0]
    assert resources[log_group_id]["Properties"]["RetentionInDays"] == 30


def test_pipe_depends_on_its_roles_policy(
    resources: Resources, pipe: tuple[str, dict[str, Any]]
) -> None:
    """Pipes validates the role when the pipe is created: the policy must exist first."""
    logical_id, props = pipe
    role_id = props["RoleArn"]["Fn::GetAtt"][0]
    policies = [
        policy_id
        for policy_id, policy in of_type(resources, "AWS::IAM::Policy").items()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
    ]
    assert policies, "the pipe role has a policy"
    assert set(policies) <= set(resources[logical_id].get("DependsOn", []))


def test_pipe_role_may_read_the_stream_put_on_the_bus_and_dead_letter_only(
    resources: Resources, bus_id: str, pipe: tuple[str, dict[str, Any]]
) -> None:
    _, props = pipe
    table_id, _ = only(resources, "AWS::DynamoDB::Table")
    role_id = props["RoleArn"]["Fn::GetAtt"][0]
    role = resources[role_id]["Properties"]
    assert "ManagedPolicyArns" not in role
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "pipes.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}

    stream = get_att(table_id, "StreamArn")
    dlq = props["SourceParameters"]["DynamoDBStreamParameters"]["DeadLetterConfig"]["Arn"]
    log_group = props["LogConfiguration"]["CloudwatchLogsLogDestination"]["LogGroupArn"]
    assert grants(statements_of_role(resources, role_id)) == {
        "dynamodb:DescribeStream": [stream],
        "dynamodb:GetRecords": [stream],
        "dynamodb:GetShardIterator": [stream],
        # No resource type exists for it (test_iam_wildcards.py).
        "dynamodb:ListStreams": ["*"],
        "events:PutEvents": [get_att(bus_id, "Arn")],
        "sqs:SendMessage": [dlq],
        "logs:CreateLogStream": [log_group],
        "logs:PutLogEvents": [log_group],
    }

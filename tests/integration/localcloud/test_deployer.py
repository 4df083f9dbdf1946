"""The synthesized NannyBooking template deployed onto moto (server mode) and DynamoDB Local.

Every resource of the template is either found in its backend, recorded as config for the
parts the orchestrator runs, or listed as not emulated; a second deployment changes
nothing and duplicates nothing.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from localcloud.deployer import HANDLERS, Deployment, deploy, write_outputs
from localcloud.dynamodb_local import DynamoDBLocal

pytestmark = pytest.mark.dynamodb

REPO_ROOT = Path(__file__).resolve().parents[3]
# The moto server is the session's, shared with other suites (and moto's in-process state
# with every server of the process): a stack name of its own keeps this module's queues,
# rules and table apart. Names the template fixes (bus, state machine) are shared.
STACK = f"NannyBooking{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def moto(moto_endpoint: str) -> Any:
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=moto_endpoint, config=Config(proxies={}))

    return client


@pytest.fixture(scope="module")
def deployed(
    template: dict[str, Any], moto_endpoint: str, dynamodb_local: DynamoDBLocal
) -> tuple[Deployment, float]:
    started = time.perf_counter()
    deployment = deploy(
        template,
        moto_endpoint=moto_endpoint,
        dynamodb_endpoint=dynamodb_local.endpoint_url,
        stack_name=STACK,
    )
    return deployment, time.perf_counter() - started


@pytest.fixture(scope="module")
def deployment(deployed: tuple[Deployment, float]) -> Deployment:
    return deployed[0]


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == kind}


def _targets_a_log_group(rule: dict[str, Any]) -> bool:
    return ":log-group:" in json.dumps(rule["Properties"]["Targets"][0]["Arn"])


def test_every_resource_is_deployed_recorded_or_listed(
    template: dict[str, Any], deployment: Deployment, deployed: tuple[Deployment, float]
) -> None:
    resources = template["Resources"]
    assert list(deployment.resource_types) != list(resources)  # dependency order, not file order
    assert set(deployment.resource_types) == set(resources)
    assert set(deployment.physical_ids) == set(resources)
    not_emulated = {item.logical_id: item for item in deployment.not_emulated}
    expected = {lid for lid, r in resources.items() if r["Type"] not in HANDLERS}
    assert set(not_emulated) == expected
    for logical_id, item in not_emulated.items():
        assert item.type == resources[logical_id]["Type"]
        assert item.reason
    # The resource kinds the brief names as not running locally are among them.
    listed_types = {item.type for item in deployment.not_emulated}
    assert {"AWS::IAM::Role", "AWS::IAM::Policy", "AWS::Logs::LogGroup"} <= listed_types
    assert deployment.skipped == []
    assert deployed[1] < 30


def test_outputs_are_resolved_with_cdk_keys(
    template: dict[str, Any], deployment: Deployment
) -> None:
    outputs = deployment.outputs[STACK]
    assert set(deployment.outputs) == {STACK}
    assert set(outputs) == set(template["Outputs"])
    for key, value in outputs.items():
        assert isinstance(value, str), key
        assert value, key
        assert "Fn::" not in value, key
        assert "Ref" not in value, key
    assert outputs["Region"] == "us-east-1"
    assert outputs["GraphQLUrl"] == "http://127.0.0.1:4000/graphql"
    assert outputs["GraphQLApiKey"].startswith("da2-")
    assert outputs["UserPoolId"] == deployment.user_pool.id
    assert outputs["UserPoolClientId"] in deployment.user_pool.client_ids


def test_the_table_is_in_dynamodb_local(
    template: dict[str, Any], deployment: Deployment, dynamodb_local: DynamoDBLocal
) -> None:
    ((logical_id, _),) = _of_type(template, "AWS::DynamoDB::Table").items()
    name = deployment.physical_ids[logical_id]
    assert name.startswith(f"{STACK}-DataTable")
    table = dynamodb_local.client().describe_table(TableName=name)["Table"]
    assert deployment.attributes[logical_id] == {
        "Arn": table["TableArn"],
        "StreamArn": table["LatestStreamArn"],
    }
    assert deployment.outputs[STACK]["TableStreamArn"] == table["LatestStreamArn"]
    assert {index["IndexName"] for index in table["GlobalSecondaryIndexes"]} >= {"jobApplications"}
    assert any("SSESpecification" in note for note in deployment.resource_notes[logical_id])


def test_queues_with_their_redrive_policies(
    template: dict[str, Any], deployment: Deployment, moto: Any
) -> None:
    queues = _of_type(template, "AWS::SQS::Queue")
    assert queues
    sqs = moto("sqs")
    for logical_id, resource in queues.items():
        url = deployment.physical_ids[logical_id]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert attributes["QueueArn"] == deployment.attributes[logical_id]["Arn"]
        props = resource["Properties"]
        assert attributes["MessageRetentionPeriod"] == str(props["MessageRetentionPeriod"])
        if "VisibilityTimeout" in props:
            assert attributes["VisibilityTimeout"] == str(props["VisibilityTimeout"])
        if "RedrivePolicy" in props:
            redrive = json.loads(attributes["RedrivePolicy"])
            dead_letter = props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
            assert redrive["deadLetterTargetArn"] == deployment.attributes[dead_letter]["Arn"]
            assert int(redrive["maxReceiveCount"]) == props["RedrivePolicy"]["maxReceiveCount"]
    records = {queue.logical_id: queue for queue in deployment.queues}
    assert set(records) == set(queues)


def test_topic_bus_rules_archive_in_moto(
    template: dict[str, Any], deployment: Deployment, moto: Any
) -> None:
    for logical_id in _of_type(template, "AWS::SNS::Topic"):
        arn = deployment.physical_ids[logical_id]
        assert moto("sns").get_topic_attributes(TopicArn=arn)["Attributes"]["TopicArn"] == arn
    events = moto("events")
    ((bus_id, bus),) = _of_type(template, "AWS::Events::EventBus").items()
    bus_name = bus["Properties"]["Name"]
    assert events.describe_event_bus(Name=bus_name)["Arn"] == deployment.attributes[bus_id]["Arn"]
    for logical_id, rule in _of_type(template, "AWS::Events::Rule").items():
        bus_part, name = deployment.physical_ids[logical_id].split("|")
        assert bus_part == bus_name
        described = events.describe_rule(Name=name, EventBusName=bus_name)
        assert json.loads(described["EventPattern"]) == rule["Properties"]["EventPattern"]
        (target,) = events.list_targets_by_rule(Rule=name, EventBusName=bus_name)["Targets"]
        if _targets_a_log_group(rule):  # the event log: delivered by the edge router
            assert target["Arn"].startswith("arn:aws:logs:us-east-1:")
            assert (
                target["InputTransformer"] == rule["Properties"]["Targets"][0]["InputTransformer"]
            )
            continue
        queue_id = rule["Properties"]["Targets"][0]["Arn"]["Fn::GetAtt"][0]
        assert target["Arn"] == deployment.attributes[queue_id]["Arn"]
        dead_letter_id = rule["Properties"]["Targets"][0]["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][
            0
        ]
        assert target["DeadLetterConfig"]["Arn"] == deployment.attributes[dead_letter_id]["Arn"]
        assert target["RetryPolicy"]["MaximumRetryAttempts"] == 10
    for logical_id in _of_type(template, "AWS::Events::Archive"):
        archive = events.describe_archive(ArchiveName=deployment.physical_ids[logical_id])
        assert archive["EventSourceArn"] == deployment.attributes[bus_id]["Arn"]
        assert archive["ArchiveArn"] == deployment.attributes[logical_id]["Arn"]
    record = deployment.event_bus(bus_name)
    assert len(record.rules) == len(_of_type(template, "AWS::Events::Rule"))
    for target in (t for rule in record.rules for t in rule.targets):
        # moto's own PutEvents delivers to queues, not to log groups (the router does).
        assert target.delivered_by == ("local" if target.kind == "logs" else "moto")
    assert len(record.archives) == len(_of_type(template, "AWS::Events::Archive"))


def test_an_event_on_the_bus_reaches_every_consumer_queue(
    template: dict[str, Any], deployment: Deployment, moto: Any
) -> None:
    """Rules, patterns and targets as deployed route a JobClosed event in moto."""
    (bus,) = [b for b in deployment.event_buses if b.logical_id is not None]
    # moto's PutEvents fails as a whole when a log group target's group is missing; log
    # groups are not deployed locally (the edge router makes one on its first event).
    for rule in bus.rules:
        for target in rule.targets:
            if target.kind == "logs":
                group = target.arn.split(":log-group:", 1)[1].removesuffix(":*")
                logs = moto("logs")
                with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
                    logs.create_log_group(logGroupName=group)
    detail = {"metadata": {"version": "1"}, "data": {"jobId": "j-1"}}
    entry = {
        "EventBusName": bus.name,
        "Source": "babysitter.jobs",
        "DetailType": "JobClosed",
        "Detail": json.dumps(detail),
    }
    assert moto("events").put_events(Entries=[entry])["FailedEntryCount"] == 0
    for rule in bus.rules:
        (target,) = rule.targets
        if target.kind == "logs":
            continue
        assert target.queue_url is not None
        received = moto("sqs").receive_message(QueueUrl=target.queue_url, WaitTimeSeconds=1)
        (message,) = received["Messages"]
        assert json.loads(message["Body"])["detail"] == detail


def test_state_machine_with_substitutions(
    template: dict[str, Any], deployment: Deployment, moto: Any
) -> None:
    ((logical_id, resource),) = _of_type(template, "AWS::StepFunctions::StateMachine").items()
    arn = deployment.physical_ids[logical_id]
    described = moto("stepfunctions").describe_state_machine(stateMachineArn=arn)
    assert described["name"] == resource["Properties"]["StateMachineName"]
    assert described["type"] == "EXPRESS"
    assert "${TableName}" not in described["definition"]
    assert deployment.outputs[STACK]["TableName"] in described["definition"]
    (record,) = deployment.state_machines
    assert record.definition == described["definition"]
    assert deployment.outputs[STACK]["BookingStateMachineArn"] == arn


def test_user_pool_groups_and_client(
    template: dict[str, Any], deployment: Deployment, moto: Any
) -> None:
    cognito = moto("cognito-idp")
    pool = deployment.user_pool
    described = cognito.describe_user_pool(UserPoolId=pool.id)["UserPool"]
    assert described["Policies"]["PasswordPolicy"]["MinimumLength"] == 12
    groups = cognito.list_groups(UserPoolId=pool.id)["Groups"]
    expected = {
        r["Properties"]["GroupName"]
        for r in _of_type(template, "AWS::Cognito::UserPoolGroup").values()
    }
    assert {group["GroupName"] for group in groups} == expected == set(pool.group_names)
    (client_id,) = pool.client_ids
    client = cognito.describe_user_pool_client(UserPoolId=pool.id, ClientId=client_id)[
        "UserPoolClient"
    ]
    assert "ALLOW_USER_PASSWORD_AUTH" in client["ExplicitAuthFlows"]
    assert "ClientSecret" not in client
    assert pool.issuer == f"https://cognito-idp.us-east-1.amazonaws.com/{pool.id}"


def test_functions_are_config_records_with_resolved_environment(
    template: dict[str, Any], deployment: Deployment
) -> None:
    functions = _of_type(template, "AWS::Lambda::Function")
    assert {f.logical_id for f in deployment.functions} == set(functions)
    outputs = deployment.outputs[STACK]
    for record in deployment.functions:
        resource = functions[record.logical_id]["Properties"]
        assert record.handler == resource["Handler"]
        assert record.timeout == resource["Timeout"]
        assert record.memory_size == resource["MemorySize"]
        module = record.handler.rsplit(".", 1)[0].replace(".", "/")
        assert (Path(record.code_path) / f"{module}.py").is_file()
        assert Path(record.code_path) == REPO_ROOT
        assert set(record.environment) == set(resource["Environment"]["Variables"])
        assert record.environment["TABLE_NAME"] == outputs["TableName"]
        assert all(isinstance(value, str) for value in record.environment.values())
    api = deployment.function(outputs["ApiFunctionName"])
    assert api.environment["USER_POOL_ID"] == outputs["UserPoolId"]
    assert api.environment["BOOKING_STATE_MACHINE_ARN"] == outputs["BookingStateMachineArn"]


def test_event_source_mappings_point_at_the_queues(
    template: dict[str, Any], deployment: Deployment
) -> None:
    mappings = _of_type(template, "AWS::Lambda::EventSourceMapping")
    assert {m.logical_id for m in deployment.event_source_mappings} == set(mappings)
    names = {f.name for f in deployment.functions}
    queues = {q.arn: q for q in deployment.queues}
    for record in deployment.event_source_mappings:
        props = mappings[record.logical_id]["Properties"]
        assert record.function_name in names
        assert record.source_kind == "sqs"
        assert record.queue_url == queues[record.event_source_arn].url
        assert record.batch_size == props["BatchSize"]
        assert record.function_response_types == props["FunctionResponseTypes"]
        assert record.scaling_config == props["ScalingConfig"]
        assert record.enabled is True


def test_pipe_in_moto_and_recorded(
    template: dict[str, Any], deployment: Deployment, moto: Any
) -> None:
    ((logical_id, resource),) = _of_type(template, "AWS::Pipes::Pipe").items()
    (pipe,) = deployment.pipes
    described = moto("pipes").describe_pipe(Name=pipe.name)
    assert described["Arn"] == pipe.arn == deployment.attributes[logical_id]["Arn"]
    assert pipe.source_arn == deployment.outputs[STACK]["TableStreamArn"]
    assert pipe.source_kind == "dynamodb"
    stream = resource["Properties"]["SourceParameters"]["DynamoDBStreamParameters"]
    assert pipe.starting_position == stream["StartingPosition"]
    assert pipe.batch_size == stream["BatchSize"]
    assert pipe.maximum_retry_attempts == stream["MaximumRetryAttempts"]
    assert pipe.maximum_record_age_seconds == stream["MaximumRecordAgeInSeconds"]
    filters = resource["Properties"]["SourceParameters"]["FilterCriteria"]["Filters"]
    assert pipe.filter_patterns == [f["Pattern"] for f in filters]
    assert pipe.dead_letter_queue_url == deployment.outputs[STACK]["PipeDeadLetterQueueUrl"]
    assert pipe.target_kind == "event-bus"
    assert pipe.target_bus_name == deployment.outputs[STACK]["EventBusName"]
    target = resource["Properties"]["TargetParameters"]
    assert pipe.input_template == target["InputTemplate"]
    assert pipe.event_bus_parameters == target["EventBridgeEventBusParameters"]
    assert pipe.properties["Source"] == pipe.source_arn


def test_graphql_api_record(template: dict[str, Any], deployment: Deployment) -> None:
    api = deployment.graphql
    outputs = deployment.outputs[STACK]
    assert api.api_id == outputs["GraphQLApiId"]
    assert api.schema is not None
    assert "type Query" in api.schema
    default, extra = api.auth_modes
    assert default.type == "AMAZON_COGNITO_USER_POOLS"
    assert default.user_pool_id == outputs["UserPoolId"]
    assert default.client_ids == [outputs["UserPoolClientId"]]
    assert default.issuer == deployment.user_pool.issuer
    assert extra.type == "API_KEY"
    assert [key.value for key in api.api_keys] == [outputs["GraphQLApiKey"]]
    resolvers = _of_type(template, "AWS::AppSync::Resolver").values()
    expected = {(r["Properties"]["TypeName"], r["Properties"]["FieldName"]) for r in resolvers}
    assert api.resolver_functions() == dict.fromkeys(expected, outputs["ApiFunctionName"])


def test_redeploy_is_idempotent(
    template: dict[str, Any],
    deployment: Deployment,
    moto_endpoint: str,
    dynamodb_local: DynamoDBLocal,
    moto: Any,
    tmp_path: Path,
) -> None:
    def inventory() -> dict[str, Any]:
        events = moto("events")
        buses = [b["Name"] for b in events.list_event_buses()["EventBuses"]]
        return {
            "queues": sorted(moto("sqs").list_queues().get("QueueUrls", [])),
            "topics": sorted(t["TopicArn"] for t in moto("sns").list_topics()["Topics"]),
            "buses": sorted(buses),
            "rules": sorted(
                r["Arn"] for bus in buses for r in events.list_rules(EventBusName=bus)["Rules"]
            ),
            "targets": sorted(
                t["Arn"]
                for bus in buses
                for r in events.list_rules(EventBusName=bus)["Rules"]
                for t in events.list_targets_by_rule(Rule=r["Name"], EventBusName=bus)["Targets"]
            ),
            "archives": sorted(a["ArchiveName"] for a in events.list_archives()["Archives"]),
            "state_machines": sorted(
                m["stateMachineArn"]
                for m in moto("stepfunctions").list_state_machines()["stateMachines"]
            ),
            "pools": sorted(
                p["Id"] for p in moto("cognito-idp").list_user_pools(MaxResults=60)["UserPools"]
            ),
            "pipes": sorted(p["Name"] for p in moto("pipes").list_pipes()["Pipes"]),
            "tables": sorted(dynamodb_local.client().list_tables()["TableNames"]),
        }

    before = inventory()
    saved = Deployment.load(deployment.save(tmp_path / "deployment.json"))
    again = deploy(
        template,
        moto_endpoint=moto_endpoint,
        dynamodb_endpoint=dynamodb_local.endpoint_url,
        stack_name=STACK,
        previous=saved,
    )
    assert inventory() == before
    assert again.physical_ids == deployment.physical_ids
    assert again.attributes == deployment.attributes
    assert again.outputs == deployment.outputs
    assert again.functions == deployment.functions
    assert again.graphql_apis == deployment.graphql_apis
    assert again.user_pools == deployment.user_pools
    assert again.event_buses == deployment.event_buses
    assert not any("no longer in the template" in note for note in again.notes)
    outputs = json.loads(write_outputs(again, tmp_path / "outputs.json").read_text())
    assert outputs == deployment.outputs

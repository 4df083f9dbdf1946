"""StartSyncExecution through the edge router, on moto's executing Step Functions.

Clients reach it with ``inject_host_prefix=False`` (what the local cloud's clients use) or
with botocore's default ``sync-`` host prefix, sent through the router as an HTTP proxy:
the router reads the host from the absolute request URI.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from localcloud.dynamodb_local import DynamoDBLocal
from localcloud.edge_router import EdgeRouter

REGION = "us-east-1"
ROLE_ARN = "arn:aws:iam::123456789012:role/StepFunctions"
NO_DYNAMODB = "http://127.0.0.1:9"


def client(endpoint: str, **config: Any) -> Any:
    return boto3.client(
        "stepfunctions",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}, **{"proxies": {}, **config}),
    )


@pytest.fixture(scope="module")
def executing(moto_executes_state_machines: None) -> Iterator[None]:
    """moto runs state machines (switched on for the session, never toggled: see the
    fixture); the interpreter logs every Fail state with its whole AST, so quiet it."""
    interpreter_log = logging.getLogger("moto.stepfunctions.parser")
    level = interpreter_log.level
    interpreter_log.setLevel(logging.CRITICAL)
    yield
    interpreter_log.setLevel(level)


@pytest.fixture(scope="module")
def router(moto_endpoint: str, executing: None) -> Iterator[EdgeRouter]:
    with EdgeRouter(NO_DYNAMODB, moto_endpoint, port=0) as running:
        yield running


@pytest.fixture(scope="module")
def sfn(router: EdgeRouter) -> Any:
    return client(router.endpoint_url, inject_host_prefix=False)


def state_machine(sfn: Any, states: dict[str, Any], kind: str = "EXPRESS", **top: Any) -> str:
    arn: str = sfn.create_state_machine(
        name=f"sm-{uuid.uuid4().hex[:8]}",
        definition=json.dumps({"StartAt": next(iter(states)), "States": states, **top}),
        roleArn=ROLE_ARN,
        type=kind,
    )["stateMachineArn"]
    return arn


PASS = {"Done": {"Type": "Pass", "Parameters": {"echo.$": "$.value"}, "End": True}}


def test_a_succeeded_execution_answers_in_the_real_shape(sfn: Any) -> None:
    arn = state_machine(sfn, PASS)

    answer = sfn.start_sync_execution(
        stateMachineArn=arn, input='{"value": 7}', traceHeader="Root=1-abc"
    )

    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert answer["status"] == "SUCCEEDED"
    assert answer["stateMachineArn"] == arn
    assert answer["executionArn"].endswith(":" + answer["name"])
    assert json.loads(answer["output"]) == {"echo": 7}
    assert answer["input"] == '{"value": 7}'
    assert answer["inputDetails"] == {"included": True}
    assert answer["outputDetails"] == {"included": True}
    assert answer["traceHeader"] == "Root=1-abc"
    assert answer["billingDetails"]["billedDurationInMilliseconds"] >= 100
    assert answer["startDate"] <= answer["stopDate"]  # datetimes: epoch seconds were parsed
    assert "error" not in answer


def test_executions_without_and_with_a_repeated_name_both_run(sfn: Any) -> None:
    arn = state_machine(sfn, PASS)
    first = sfn.start_sync_execution(stateMachineArn=arn, input='{"value": 1}')
    second = sfn.start_sync_execution(stateMachineArn=arn, input='{"value": 2}')
    named = [
        sfn.start_sync_execution(stateMachineArn=arn, input='{"value": 3}', name="same")
        for _ in range(2)
    ]

    assert first["executionArn"] != second["executionArn"]
    assert {answer["status"] for answer in [first, second, *named]} == {"SUCCEEDED"}
    assert named[0]["name"] == "same"


def test_a_failed_execution_answers_200_with_error_and_cause(sfn: Any) -> None:
    arn = state_machine(sfn, {"Refuse": {"Type": "Fail", "Error": "JobNotOpen", "Cause": "closed"}})

    answer = sfn.start_sync_execution(stateMachineArn=arn, input="{}")

    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert (answer["status"], answer["error"], answer["cause"]) == (
        "FAILED",
        "JobNotOpen",
        "closed",
    )
    assert "output" not in answer


def test_the_definitions_timeout_answers_timed_out(sfn: Any) -> None:
    arn = state_machine(
        sfn, {"Sleep": {"Type": "Wait", "Seconds": 5, "End": True}}, TimeoutSeconds=1
    )

    started = time.monotonic()
    answer = sfn.start_sync_execution(stateMachineArn=arn)

    assert answer["status"] == "TIMED_OUT"
    assert answer["error"] == "States.Timeout"
    assert time.monotonic() - started < 4


def test_the_routers_deadline_stops_the_execution(moto_endpoint: str, executing: None) -> None:
    with EdgeRouter(NO_DYNAMODB, moto_endpoint, port=0, sync_execution_deadline=0.5) as router:
        sfn = client(router.endpoint_url, inject_host_prefix=False)
        arn = state_machine(sfn, {"Sleep": {"Type": "Wait", "Seconds": 3, "End": True}})

        answer = sfn.start_sync_execution(stateMachineArn=arn)

        assert (answer["status"], answer["error"]) == ("TIMED_OUT", "States.Timeout")
        described = sfn.describe_execution(executionArn=answer["executionArn"])
        assert described["status"] == "ABORTED"


def test_metadata_only_leaves_input_and_output_out(sfn: Any) -> None:
    arn = state_machine(sfn, PASS)

    answer = sfn.start_sync_execution(
        stateMachineArn=arn, input='{"value": 1}', includedData="METADATA_ONLY"
    )

    assert answer["status"] == "SUCCEEDED"
    assert "input" not in answer
    assert "output" not in answer
    assert answer["inputDetails"] == {"included": False}


def test_the_sync_host_prefix_works_through_the_router_as_proxy(router: EdgeRouter) -> None:
    # botocore's default: the request goes to http://sync-127.0.0.1:<port>/, a host no
    # resolver knows; as the client's HTTP proxy the router receives it anyway.
    prefixed = client(router.endpoint_url, proxies={"http": router.endpoint_url})
    arn = state_machine(prefixed, PASS)

    answer = prefixed.start_sync_execution(stateMachineArn=arn, input='{"value": 2}')

    assert answer["status"] == "SUCCEEDED"


def test_standard_and_missing_state_machines_are_refused(sfn: Any) -> None:
    standard = state_machine(sfn, PASS, kind="STANDARD")
    with pytest.raises(ClientError) as not_express:
        sfn.start_sync_execution(stateMachineArn=standard)
    with pytest.raises(ClientError) as missing:
        sfn.start_sync_execution(stateMachineArn=standard + "-gone")

    assert not_express.value.response["Error"]["Code"] == "StateMachineTypeNotSupported"
    assert missing.value.response["Error"]["Code"] == "StateMachineDoesNotExist"


@pytest.mark.dynamodb
def test_a_dynamodb_task_reaches_dynamodb_local_through_the_router(
    moto_endpoint: str,
    executing: None,
    dynamodb_local: DynamoDBLocal,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with EdgeRouter(dynamodb_local.endpoint_url, moto_endpoint, port=0) as router:
        # The interpreter's task clients call http://localhost:$MOTO_PORT, read per call.
        monkeypatch.setenv("MOTO_PORT", str(router.port))
        monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
        dynamodb = dynamodb_local.client()
        table = f"edge-sfn-{uuid.uuid4().hex[:8]}"
        dynamodb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        sfn = client(router.endpoint_url, inject_host_prefix=False)
        arn = state_machine(
            sfn,
            {
                "Write": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::dynamodb:putItem",
                    "Parameters": {
                        "TableName": table,
                        "Item": {"pk": {"S.$": "$.id"}, "status": {"S": "CLOSED"}},
                    },
                    "End": True,
                }
            },
        )

        answer = sfn.start_sync_execution(stateMachineArn=arn, input='{"id": "job-1"}')

        assert answer["status"] == "SUCCEEDED", answer
        item = dynamodb.get_item(TableName=table, Key={"pk": {"S": "job-1"}})["Item"]
        assert item["status"] == {"S": "CLOSED"}

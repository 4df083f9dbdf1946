"""Real backends for integration tests, built from the synthesized template.

DynamoDB Local (Amazon's engine, validates like AWS) gets the table exactly as the stack
declares it; moto in server mode plays Cognito with the stack's groups. The resolver
Lambda runs in-process against both through the same environment variables it has in AWS.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from localcloud.cloudformation_table import ensure_table
from localcloud.dynamodb_local import DynamoDBLocal
from services.booking.definition import render
from tests.support.api import Api
from tests.support.step_functions import (
    PollingSyncExecutions,
    create_state_machine,
    set_moto_config,
)
from tests.support.template import template_dict

# Before anything imports Powertools: no X-Ray daemon here, and metrics go to stdout.
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "1")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "api")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "NannyBooking")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def resources_of_type(template: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == resource_type]


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return template_dict()


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[DynamoDBLocal]:
    with DynamoDBLocal() as database:
        yield database


@pytest.fixture(scope="session")
def table_name(dynamodb_local: DynamoDBLocal, template: dict[str, Any]) -> str:
    (table,) = resources_of_type(template, "AWS::DynamoDB::Table")
    name = f"nanny-{uuid.uuid4().hex[:8]}"
    ensure_table(dynamodb_local.client(), table["Properties"], name)
    return name


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def cognito(moto_endpoint: str) -> Any:
    return boto3.client(
        "cognito-idp", endpoint_url=moto_endpoint, region_name="us-east-1", **FAKE_CREDENTIALS
    )


@pytest.fixture(scope="session")
def user_pool_id(cognito: Any, template: dict[str, Any]) -> str:
    pool_id: str = cognito.create_user_pool(PoolName="nanny-test")["UserPool"]["Id"]
    for group in resources_of_type(template, "AWS::Cognito::UserPoolGroup"):
        cognito.create_group(UserPoolId=pool_id, GroupName=group["Properties"]["GroupName"])
    return pool_id


@pytest.fixture(scope="session")
def moto_executes_state_machines(moto_endpoint: str) -> None:
    """moto runs state machines, for the whole session and never switched off: moto keeps
    separate Step Functions backends for the two settings, so a switch would lose every
    state machine created before it."""
    set_moto_config(moto_endpoint, {"stepfunctions": {"execute_state_machine": True}})


@pytest.fixture(scope="session")
def sfn(
    moto_endpoint: str, dynamodb_local: DynamoDBLocal, moto_executes_state_machines: None
) -> Iterator[Any]:
    """A Step Functions client whose executions run and write to DynamoDB Local."""
    # The interpreter logs every failed state, expected ones included, with its whole AST.
    interpreter_log = logging.getLogger("moto.stepfunctions.parser")
    interpreter_log_level = interpreter_log.level
    interpreter_log.setLevel(logging.CRITICAL)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MOTO_PORT", str(dynamodb_local.port))
        # The tasks' clients honour HTTP(S)_PROXY; a proxy must not capture localhost.
        no_proxy = os.environ.get("NO_PROXY", "")
        env.setenv("NO_PROXY", ",".join(filter(None, [no_proxy, "localhost", "127.0.0.1"])))
        yield boto3.client(
            "stepfunctions",
            endpoint_url=moto_endpoint,
            region_name="us-east-1",
            config=Config(proxies={}),
            **FAKE_CREDENTIALS,
        )
    interpreter_log.setLevel(interpreter_log_level)


@pytest.fixture(scope="session")
def state_machine_arn(sfn: Any, table_name: str) -> str:
    """The BookNanny workflow as the stack deploys it, writing to the test table."""
    return create_state_machine(sfn, render(table_name=table_name))


@pytest.fixture(scope="session")
def executions(sfn: Any) -> PollingSyncExecutions:
    return PollingSyncExecutions(sfn)


@pytest.fixture(scope="session")
def aws_environment(
    dynamodb_local: DynamoDBLocal,
    table_name: str,
    moto_endpoint: str,
    user_pool_id: str,
    state_machine_arn: str,
) -> Iterator[None]:
    """Point the functions' boto3 clients at the local backends, as their env does in AWS."""
    from services.api import dependencies

    with pytest.MonkeyPatch.context() as env:
        env.setenv("TABLE_NAME", table_name)
        env.setenv("USER_POOL_ID", user_pool_id)
        env.setenv("BOOKING_STATE_MACHINE_ARN", state_machine_arn)
        env.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_local.endpoint_url)
        env.setenv("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", moto_endpoint)
        env.setenv("AWS_ACCESS_KEY_ID", FAKE_CREDENTIALS["aws_access_key_id"])
        env.setenv("AWS_SECRET_ACCESS_KEY", FAKE_CREDENTIALS["aws_secret_access_key"])
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        dependencies.reset()
        yield
    dependencies.reset()


@pytest.fixture(scope="session")
def dynamodb(dynamodb_local: DynamoDBLocal) -> Any:
    return dynamodb_local.client()


@pytest.fixture(scope="session")
def api(
    aws_environment: None,
    cognito: Any,
    user_pool_id: str,
    state_machine_arn: str,
    executions: PollingSyncExecutions,
) -> Iterator[Api]:
    """The resolver Lambda, in-process, with every backend real but StartSyncExecution."""
    from services.api import dependencies
    from services.api.booking_workflow import BookingWorkflow

    # moto has no StartSyncExecution; the execution itself is real (see step_functions.py).
    workflow = BookingWorkflow(state_machine_arn, client=executions)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dependencies, "booking_workflow", lambda: workflow)
        yield Api(cognito, user_pool_id)

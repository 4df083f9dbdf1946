"""The BookNanny Express workflow: definition, logging, tracing and least privilege."""

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from services.booking import definition
from stacks.booking import table_item_actions
from stacks.constants import REPO_ROOT
from tests.infrastructure.helpers import Resources, api_function, as_list, get_att, of_type, only
from tests.infrastructure.test_iam import grants, statements_of_role

ASL_VALIDATOR = REPO_ROOT / "node_modules" / ".bin" / "asl-validator"
# Actions CDK grants for logging to CloudWatch Logs and for X-Ray; IAM offers no
# resource-level permission for any of them (test_iam_wildcards.py checks that).
LOGGING_AND_TRACING = {
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
}


@pytest.fixture(scope="module")
def state_machine(resources: Resources) -> tuple[str, dict[str, Any]]:
    return only(resources, "AWS::StepFunctions::StateMachine")


def test_express_with_every_event_logged_without_data_and_traced(
    resources: Resources, state_machine: tuple[str, dict[str, Any]]
) -> None:
    _, props = state_machine
    assert props["StateMachineType"] == "EXPRESS"
    assert props["TracingConfiguration"] == {"Enabled": True}
    logging = props["LoggingConfiguration"]
    assert logging["Level"] == "ALL"
    # Inputs and outputs carry usernames: never in the log.
    assert logging["IncludeExecutionData"] is False
    ((destination,),) = [logging["Destinations"]]
    log_group_id = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    log_group = resources[log_group_id]["Properties"]
    assert log_group["RetentionInDays"] == 30
    assert log_group["LogGroupName"].startswith("/aws/vendedlogs/states/")


def test_definition_is_the_committed_template_with_the_table_substituted(
    resources: Resources, state_machine: tuple[str, dict[str, Any]]
) -> None:
    _, props = state_machine
    table_id, _ = only(resources, "AWS::DynamoDB::Table")
    # Inline (no S3 asset), byte for byte what the runtime authors committed.
    assert props["DefinitionString"] == definition.template()
    assert "DefinitionS3Location" not in props
    assert props["DefinitionSubstitutions"] == {definition.TABLE_NAME: {"Ref": table_id}}
    assert definition.placeholders(props["DefinitionString"]) == set(
        props["DefinitionSubstitutions"]
    )


def test_rendered_definition_passes_asl_validator(
    state_machine: tuple[str, dict[str, Any]], tmp_path: Path
) -> None:
    """As CloudFormation will deploy it: every placeholder replaced by a table name."""
    _, props = state_machine
    rendered = definition.substitute(
        props["DefinitionString"],
        {key: "NannyBooking-DataTable-1A2B3C4D" for key in props["DefinitionSubstitutions"]},
    )
    path = tmp_path / "book_nanny.json"
    path.write_text(rendered, encoding="utf-8")
    assert ASL_VALIDATOR.exists(), "asl-validator is installed by `make dev` (npm ci)"
    done = subprocess.run(
        [str(ASL_VALIDATOR), "--json-path", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_role_has_only_the_definitions_item_actions_on_the_table(
    resources: Resources, state_machine: tuple[str, dict[str, Any]]
) -> None:
    _, props = state_machine
    table_id, _ = only(resources, "AWS::DynamoDB::Table")
    role_id = props["RoleArn"]["Fn::GetAtt"][0]
    assert "ManagedPolicyArns" not in resources[role_id]["Properties"]
    allowed = grants(statements_of_role(resources, role_id))
    item_actions = {action for action in allowed if action.startswith("dynamodb:")}
    # GetItem (GetApplication, GetBookedJob) and the transaction's two Updates.
    assert item_actions == {"dynamodb:GetItem", "dynamodb:UpdateItem"}
    assert item_actions == table_item_actions(json.loads(definition.template()))
    for action in item_actions:
        assert allowed[action] == [get_att(table_id, "Arn")], action
    assert set(allowed) - item_actions == LOGGING_AND_TRACING
    assert all(allowed[action] == ["*"] for action in LOGGING_AND_TRACING)


def test_state_machine_is_created_after_its_role_policy(
    resources: Resources, state_machine: tuple[str, dict[str, Any]]
) -> None:
    logical_id, props = state_machine
    role_id = props["RoleArn"]["Fn::GetAtt"][0]
    (policy_id,) = resources[logical_id]["DependsOn"]
    assert resources[policy_id]["Properties"]["Roles"] == [{"Ref": role_id}]


def test_api_function_may_start_sync_executions_of_this_state_machine_only(
    resources: Resources, state_machine: tuple[str, dict[str, Any]]
) -> None:
    _, function = api_function(resources)
    state_machine_arn = {"Ref": state_machine[0]}
    allowed = grants(statements_of_role(resources, function["Role"]["Fn::GetAtt"][0]))
    assert allowed["states:StartSyncExecution"] == [state_machine_arn]
    assert function["Environment"]["Variables"]["BOOKING_STATE_MACHINE_ARN"] == state_machine_arn
    # Nobody else may run or change workflows.
    for policy in of_type(resources, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            for action in as_list(statement["Action"]):
                if action.startswith("states:"):
                    assert action == "states:StartSyncExecution"
                    assert as_list(statement["Resource"]) == [state_machine_arn]


def test_the_environment_variable_is_the_one_the_api_reads() -> None:
    from services.api.booking_workflow import STATE_MACHINE_ARN_VARIABLE
    from stacks.constants import BOOKING_STATE_MACHINE_ARN_VARIABLE

    assert BOOKING_STATE_MACHINE_ARN_VARIABLE == STATE_MACHINE_ARN_VARIABLE


# -- table_item_actions: how the construct reads the IAM it needs off the definition -------


def task(resource: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {"Type": "Task", "Resource": resource, "Parameters": parameters, "End": True}


TABLE = {"TableName": "${TableName}"}


def test_item_actions_of_optimized_and_transaction_tasks_in_nested_branches() -> None:
    transaction = task(
        "arn:aws:states:::aws-sdk:dynamodb:transactWriteItems",
        {
            "TransactItems": [
                {"Put": TABLE},
                {"ConditionCheck": TABLE},
                {"Delete": TABLE},
            ]
        },
    )
    asl = {
        "States": {
            "Get": task("arn:aws:states:::dynamodb:getItem", TABLE),
            "Both": {
                "Type": "Parallel",
                "Branches": [{"StartAt": "Write", "States": {"Write": transaction}}],
            },
        }
    }
    assert table_item_actions(asl) == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:DeleteItem",
    }


@pytest.mark.parametrize(
    "state",
    [
        task("arn:aws:states:::lambda:invoke", {"FunctionName": "f"}),
        task("arn:aws:states:::aws-sdk:dynamodb:query", TABLE),
        task("arn:aws:states:::dynamodb:getItem", {"TableName": "another-table"}),
        task("arn:aws:states:::dynamodb:getItem", {"TableName.$": "$.table"}),
    ],
)
def test_a_task_without_a_known_grant_stops_the_synth(state: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"no IAM mapping|other than"):
        table_item_actions({"States": {"Task": state}})

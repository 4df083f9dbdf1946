"""Least privilege: what the api function and AppSync's roles may do, and on what."""

from typing import Any

import pytest

from tests.infrastructure.helpers import Resources, api_function, as_list, get_att, of_type, only

XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
ITEM_ACTIONS = {
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
}
GROUP_ACTIONS = {
    "cognito-idp:AdminAddUserToGroup",
    "cognito-idp:AdminRemoveUserFromGroup",
    "cognito-idp:AdminGetUser",
    "cognito-idp:AdminUserGlobalSignOut",
}
LOG_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}


def statements_of_role(resources: Resources, role_id: str) -> list[dict[str, Any]]:
    """Every Allow statement attached to a role, inline or through AWS::IAM::Policy."""
    found: list[dict[str, Any]] = []
    for policy in of_type(resources, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            found.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    for inline in resources[role_id]["Properties"].get("Policies", []):
        found.extend(inline["PolicyDocument"]["Statement"])
    assert all(s["Effect"] == "Allow" for s in found)
    return found


@pytest.fixture(scope="module")
def function_statements(resources: Resources) -> list[dict[str, Any]]:
    _, function = api_function(resources)
    return statements_of_role(resources, function["Role"]["Fn::GetAtt"][0])


def grants(statements: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Action -> every resource it is allowed on."""
    result: dict[str, list[Any]] = {}
    for statement in statements:
        for action in as_list(statement["Action"]):
            result.setdefault(action, []).extend(as_list(statement["Resource"]))
    return result


def test_function_has_exactly_the_expected_actions(
    function_statements: list[dict[str, Any]],
) -> None:
    assert set(grants(function_statements)) == (
        ITEM_ACTIONS
        | {"dynamodb:Query"}
        | GROUP_ACTIONS
        | LOG_ACTIONS
        | XRAY_ACTIONS
        | {"states:StartSyncExecution"}
    )


def test_no_wildcard_actions_anywhere_in_the_stack(resources: Resources) -> None:
    for policy in of_type(resources, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            assert not [a for a in as_list(statement["Action"]) if "*" in a], statement


def test_dynamodb_is_scoped_to_the_table_and_its_indexes(
    resources: Resources, function_statements: list[dict[str, Any]]
) -> None:
    table_id, _ = only(resources, "AWS::DynamoDB::Table")
    table_arn = get_att(table_id, "Arn")
    indexes = {"Fn::Join": ["", [table_arn, "/index/*"]]}
    allowed = grants(function_statements)
    for action in ITEM_ACTIONS:
        # Item writes on the table only: indexes are read-only in DynamoDB anyway.
        assert allowed[action] == [table_arn], action
    assert sorted(map(str, allowed["dynamodb:Query"])) == sorted(map(str, [table_arn, indexes]))


def test_group_membership_is_scoped_to_the_user_pool(
    resources: Resources, function_statements: list[dict[str, Any]]
) -> None:
    pool_id, _ = only(resources, "AWS::Cognito::UserPool")
    allowed = grants(function_statements)
    for action in GROUP_ACTIONS:
        assert allowed[action] == [get_att(pool_id, "Arn")]


def test_only_xray_has_a_star_resource(function_statements: list[dict[str, Any]]) -> None:
    for statement in function_statements:
        resources = as_list(statement["Resource"])
        if "*" in resources:
            # X-Ray's write actions support no resource-level permissions.
            assert set(as_list(statement["Action"])) == XRAY_ACTIONS
            assert resources == ["*"]
        else:
            assert not [r for r in resources if isinstance(r, str) and "*" in r], statement


def test_logs_only_to_the_functions_own_log_group(
    resources: Resources, function_statements: list[dict[str, Any]]
) -> None:
    _, function = api_function(resources)
    log_group = function["LoggingConfig"]["LogGroup"]["Ref"]
    for action in LOG_ACTIONS:
        assert grants(function_statements)[action] == [get_att(log_group, "Arn")]


def test_appsync_may_invoke_only_the_api_function(resources: Resources) -> None:
    function_id, _ = api_function(resources)
    _, data_source = only(resources, "AWS::AppSync::DataSource")
    role_id = data_source["ServiceRoleArn"]["Fn::GetAtt"][0]
    function_arn = get_att(function_id, "Arn")
    assert grants(statements_of_role(resources, role_id)) == {
        "lambda:InvokeFunction": [function_arn, {"Fn::Join": ["", [function_arn, ":*"]]}]
    }

"""Cognito: sign-up, password policy, groups and the app client."""

from typing import Any

import pytest

from stacks.constants import USER_GROUPS
from tests.infrastructure.helpers import Resources, of_type, only


@pytest.fixture(scope="module")
def user_pool(resources: Resources) -> tuple[str, dict[str, Any]]:
    return only(resources, "AWS::Cognito::UserPool")


def test_self_sign_up_with_username_and_verified_email(
    user_pool: tuple[str, dict[str, Any]],
) -> None:
    _, props = user_pool
    assert props["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is False
    # Username sign-in: no alias or username attribute replaces the username.
    assert "AliasAttributes" not in props
    assert "UsernameAttributes" not in props
    assert props["AutoVerifiedAttributes"] == ["email"]
    email = next(a for a in props["Schema"] if a["Name"] == "email")
    assert email["Required"] is True


def test_password_policy(user_pool: tuple[str, dict[str, Any]]) -> None:
    assert user_pool[1]["Policies"]["PasswordPolicy"] == {
        "MinimumLength": 12,
        "RequireLowercase": True,
        "RequireUppercase": True,
        "RequireNumbers": True,
        "RequireSymbols": True,
    }


def test_account_recovery_by_email_only(user_pool: tuple[str, dict[str, Any]]) -> None:
    assert user_pool[1]["AccountRecoverySetting"] == {
        "RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]
    }


def test_user_pool_is_retained(resources: Resources, user_pool: tuple[str, dict[str, Any]]) -> None:
    logical_id, _ = user_pool
    assert resources[logical_id]["DeletionPolicy"] == "Retain"


def test_groups_admin_parent_nanny_in_the_pool(
    resources: Resources, user_pool: tuple[str, dict[str, Any]]
) -> None:
    groups = of_type(resources, "AWS::Cognito::UserPoolGroup").values()
    assert sorted(g["Properties"]["GroupName"] for g in groups) == ["admin", "nanny", "parent"]
    assert set(USER_GROUPS) == {"admin", "parent", "nanny"}
    assert all(g["Properties"]["UserPoolId"] == {"Ref": user_pool[0]} for g in groups)


def test_app_client_has_no_secret_and_only_srp_password_and_refresh(
    resources: Resources,
) -> None:
    _, props = only(resources, "AWS::Cognito::UserPoolClient")
    assert props["GenerateSecret"] is False
    assert sorted(props["ExplicitAuthFlows"]) == [
        "ALLOW_REFRESH_TOKEN_AUTH",
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_USER_SRP_AUTH",
    ]
    assert props["PreventUserExistenceErrors"] == "ENABLED"
    assert props["AllowedOAuthFlowsUserPoolClient"] is False

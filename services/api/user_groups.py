"""Membership of the Cognito groups that the schema's auth directives check."""

from __future__ import annotations

import os
from typing import Any, Protocol

import boto3


class UserGroups(Protocol):
    def add(self, username: str, group: str) -> None: ...

    def remove(self, username: str, group: str) -> None: ...


class CognitoUserGroups:
    """Adds and removes users in the user pool's groups. Both calls are idempotent."""

    def __init__(self, user_pool_id: str, client: Any | None = None) -> None:
        self.user_pool_id = user_pool_id
        self.client = client or boto3.client("cognito-idp")

    @classmethod
    def from_environment(cls) -> CognitoUserGroups:
        return cls(os.environ["USER_POOL_ID"])

    def add(self, username: str, group: str) -> None:
        self.client.admin_add_user_to_group(
            UserPoolId=self.user_pool_id, Username=username, GroupName=group
        )

    def remove(self, username: str, group: str) -> None:
        self.client.admin_remove_user_from_group(
            UserPoolId=self.user_pool_id, Username=username, GroupName=group
        )

"""The user's Cognito account: the identity provider's word on email and group membership.

The schema's auth directives check the Cognito groups in the token, so the API manages
membership here; and a profile's email is the account's *verified* email, never an
argument, so nobody can claim someone else's address.
"""

from __future__ import annotations

import os
from typing import Any, Protocol

import boto3
from botocore.exceptions import ClientError


class Accounts(Protocol):
    def verified_email(self, username: str) -> str | None:
        """The account's email if the user verified it, else None."""
        ...

    def add_to_group(self, username: str, group: str) -> None: ...

    def remove_from_group(self, username: str, group: str) -> None:
        """Idempotent: an account already outside the group, or gone, is done."""
        ...

    def sign_out_everywhere(self, username: str) -> None:
        """Revoke the account's refresh tokens, so no new token carries old groups."""
        ...


class CognitoAccounts:
    def __init__(self, user_pool_id: str, client: Any | None = None) -> None:
        self.user_pool_id = user_pool_id
        self.client = client or boto3.client("cognito-idp")

    @classmethod
    def from_environment(cls) -> CognitoAccounts:
        return cls(os.environ["USER_POOL_ID"])

    def verified_email(self, username: str) -> str | None:
        user = self.client.admin_get_user(UserPoolId=self.user_pool_id, Username=username)
        attributes = {a["Name"]: a["Value"] for a in user.get("UserAttributes", [])}
        if attributes.get("email_verified", "false").lower() != "true":
            return None
        return attributes.get("email")

    def add_to_group(self, username: str, group: str) -> None:
        self.client.admin_add_user_to_group(
            UserPoolId=self.user_pool_id, Username=username, GroupName=group
        )

    def remove_from_group(self, username: str, group: str) -> None:
        try:
            self.client.admin_remove_user_from_group(
                UserPoolId=self.user_pool_id, Username=username, GroupName=group
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "UserNotFoundException":
                raise

    def sign_out_everywhere(self, username: str) -> None:
        try:
            self.client.admin_user_global_sign_out(UserPoolId=self.user_pool_id, Username=username)
        except ClientError as error:
            if error.response["Error"]["Code"] != "UserNotFoundException":
                raise

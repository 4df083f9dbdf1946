"""The GraphQL resolver Lambda driven the way AppSync calls it, as each kind of caller."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from tests.support.appsync_events import Identity, LambdaContext, appsync_event

MUTATIONS = {
    "createUser", "updateUser", "updateUserStatus", "deleteUser", "createJob", "applyToJob",
    "bookNanny", "rateUser",
}  # fmt: skip


class ApiError(Exception):
    def __init__(self, error_type: str, message: str, info: dict[str, Any] | None) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message
        self.info = info


class Api:
    """The resolver Lambda, invoked in-process with AppSync-shaped events."""

    def __init__(self, cognito: Any, user_pool_id: str) -> None:
        from services.api.handler import handler

        self._handler = handler
        self._cognito = cognito
        self._pool = user_pool_id

    def call(self, field: str, arguments: dict[str, Any], caller: Identity | None) -> Any:
        """The field's value; a domain error envelope is raised as ApiError."""
        type_name = "Mutation" if field in MUTATIONS else "Query"
        result = self._handler(appsync_event(type_name, field, arguments, caller), LambdaContext())
        if isinstance(result, dict) and "errorType" in result:
            raise ApiError(result["errorType"], result["errorMessage"], result["errorInfo"])
        return result

    def error(self, field: str, arguments: dict[str, Any], caller: Identity | None) -> str:
        """The errorType of a call that must fail."""
        with pytest.raises(ApiError) as refused:
            self.call(field, arguments, caller)
        return refused.value.error_type

    # -- callers -------------------------------------------------------------------------

    def cognito_user(
        self, *groups: str, email: str | None = None, email_verified: bool = True
    ) -> Identity:
        """A Cognito account in the given groups, with no profile yet."""
        username = f"u{uuid.uuid4().hex[:12]}"
        return self.cognito_account(username, *groups, email=email, email_verified=email_verified)

    def cognito_account(
        self, username: str, *groups: str, email: str | None = None, email_verified: bool = True
    ) -> Identity:
        created = self._cognito.admin_create_user(
            UserPoolId=self._pool,
            Username=username,
            MessageAction="SUPPRESS",
            UserAttributes=[
                {"Name": "email", "Value": email or f"{username}@example.org"},
                {"Name": "email_verified", "Value": str(email_verified).lower()},
            ],
        )["User"]
        for group in groups:
            self._cognito.admin_add_user_to_group(
                UserPoolId=self._pool, Username=username, GroupName=group
            )
        sub = next(a["Value"] for a in created["Attributes"] if a["Name"] == "sub")
        return Identity(username=username, groups=groups, sub=sub)

    def delete_account(self, username: str) -> None:
        """What a user's own Cognito DeleteUser does: the account goes, the profile stays."""
        self._cognito.admin_delete_user(UserPoolId=self._pool, Username=username)

    def groups_of(self, username: str) -> set[str]:
        response = self._cognito.admin_list_groups_for_user(
            UserPoolId=self._pool, Username=username
        )
        return {group["GroupName"] for group in response["Groups"]}

    def sign_up(self, user_type: str, **profile: Any) -> Identity:
        """A user with a profile, holding the token they get after refreshing it."""
        newcomer = self.cognito_user()
        user = {"type": user_type, **profile_input(), **profile}
        self.call("createUser", {"user": user}, newcomer)
        return Identity(username=newcomer.username, groups=(user_type.lower(),), sub=newcomer.sub)

    def admin(self) -> Identity:
        return self.cognito_user("admin")

    def caller(self, kind: str) -> Identity | None:
        """A caller of one kind: api_key, newcomer (signed in, no group), admin, PARENT, NANNY."""
        if kind == "api_key":
            return None
        if kind == "newcomer":
            return self.cognito_user()
        if kind == "admin":
            return self.admin()
        return self.sign_up(kind)

    def post_job(self, parent: Identity, **fields: Any) -> dict[str, Any]:
        job: dict[str, Any] = self.call("createJob", {"job": job_input(**fields)}, parent)
        return job

    def book(self, parent: Identity, application: dict[str, Any]) -> dict[str, Any]:
        job: dict[str, Any] = self.call(
            "bookNanny",
            {"jobId": application["jobId"], "applicationId": application["id"]},
            parent,
        )
        return job

    def apply(self, nanny: Identity, job_id: str) -> dict[str, Any]:
        application: dict[str, Any] = self.call(
            "applyToJob", {"application": {"jobId": job_id, "message": "Happy to help"}}, nanny
        )
        return application


def profile_input() -> dict[str, Any]:
    """A profile as the app sends it; the email comes from the Cognito account."""
    return {
        "firstName": "Ada",
        "lastName": "Lovelace",
        "phoneNumber": "+44 20 7946 0000",
        "dateOfBirth": "1990-12-10",
        "city": "London",
        "address": "1 Example Street",
        "about": "Loves children and mathematics.",
        "latitude": 51.5,
        "longitude": -0.12,
    }


def job_input(**fields: Any) -> dict[str, Any]:
    start = dt.date.today() + dt.timedelta(days=7)
    return {
        "jobType": "DAILY",
        "title": "After-school care",
        "numberOfKids": 2,
        "startDate": start.isoformat(),
        "endDate": (start + dt.timedelta(days=30)).isoformat(),
        "startTime": "15:00",
        "endTime": "18:30",
        "city": "London",
        "cost": 18.5,
        **fields,
    }

"""What a mobile app does: Cognito sign-in, then GraphQL over HTTPS with the ID token.

Everything here is found from the stack's outputs, so the same code drives AWS or the
local cloud; for the local cloud, ``endpoint_url`` is its one AWS endpoint.
"""

from __future__ import annotations

import json
import secrets
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any

import boto3


class GraphQLError(Exception):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(f"{e.get('errorType')}: {e.get('message')}" for e in errors))
        self.errors = errors

    @property
    def error_types(self) -> list[str | None]:
        return [error.get("errorType") for error in self.errors]


@dataclass
class Stack:
    """The stack's outputs, as `cdk deploy --outputs-file` (or `make up`) writes them."""

    outputs: dict[str, str]
    #: The local cloud's endpoint (with its dummy credentials); None for AWS.
    endpoint_url: str | None = None

    @property
    def region(self) -> str:
        return self.outputs["Region"]

    def client(self, service: str) -> Any:
        if self.endpoint_url is None:
            return boto3.client(service, region_name=self.region)
        return boto3.client(
            service,
            region_name=self.region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def graphql(
        self, query: str, variables: dict[str, Any] | None = None, *, headers: dict[str, str]
    ) -> dict[str, Any]:
        """POST a query; a response with errors raises GraphQLError."""
        request = urllib.request.Request(  # noqa: S310 - the stack's own https/http URL
            self.outputs["GraphQLUrl"],
            data=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers={"Content-Type": "application/json", **headers},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                body: dict[str, Any] = json.loads(response.read())
        except urllib.error.HTTPError as error:
            body = json.loads(error.read() or b"{}")
            if "errors" not in body:
                raise
        if body.get("errors"):
            raise GraphQLError(body["errors"])
        data: dict[str, Any] = body["data"]
        return data

    def as_api_key(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.graphql(query, variables, headers={"x-api-key": self.outputs["GraphQLApiKey"]})


@dataclass
class AppUser:
    """A Cognito user signed in through the app client, holding its current tokens."""

    stack: Stack
    username: str
    password: str
    tokens: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, stack: Stack, prefix: str) -> AppUser:
        """A confirmed user (an operator's AdminCreateUser: e2e must not wait for email)."""
        cognito = stack.client("cognito-idp")
        username = f"{prefix}-{uuid.uuid4().hex[:10]}"
        password = f"Aa1!{secrets.token_urlsafe(16)}"
        pool = stack.outputs["UserPoolId"]
        cognito.admin_create_user(
            UserPoolId=pool,
            Username=username,
            MessageAction="SUPPRESS",
            UserAttributes=[
                {"Name": "email", "Value": f"{username}@example.org"},
                {"Name": "email_verified", "Value": "true"},
            ],
        )
        cognito.admin_set_user_password(
            UserPoolId=pool, Username=username, Password=password, Permanent=True
        )
        user = cls(stack, username, password)
        user.sign_in()
        return user

    def sign_in(self) -> None:
        answer = self.stack.client("cognito-idp").initiate_auth(
            ClientId=self.stack.outputs["UserPoolClientId"],
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": self.username, "PASSWORD": self.password},
        )
        self.tokens = answer["AuthenticationResult"]

    def refresh(self) -> None:
        """New tokens, carrying groups joined since sign-in (what the app does after createUser)."""
        answer = self.stack.client("cognito-idp").initiate_auth(
            ClientId=self.stack.outputs["UserPoolClientId"],
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": self.tokens["RefreshToken"]},
        )
        self.tokens = {**self.tokens, **answer["AuthenticationResult"]}

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.stack.graphql(
            query, variables, headers={"Authorization": self.tokens["IdToken"]}
        )

    def delete(self) -> None:
        self.stack.client("cognito-idp").admin_delete_user(
            UserPoolId=self.stack.outputs["UserPoolId"], Username=self.username
        )


def subscribe_inbox(
    sqs: Any, sns: Any, topic_arn: str, recipient: str, prefix: str
) -> tuple[str, str]:
    """A new queue subscribed to ``topic_arn`` for ``recipient``'s messages only (a filter
    policy on the ``recipient`` attribute), as a phone's channel is, with the queue policy
    SNS needs to deliver to it in AWS: the queue's URL and the subscription's ARN."""
    url = sqs.create_queue(QueueName=f"{prefix}-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    subscription: str = sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"FilterPolicy": json.dumps({"recipient": [recipient]})},
        ReturnSubscriptionArn=True,
    )["SubscriptionArn"]
    return url, subscription

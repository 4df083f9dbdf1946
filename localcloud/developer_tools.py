"""Local development helpers over a running local cloud: users with tokens, a live event tail.

They use only the stack's outputs and the AWS APIs, the way an operator would against AWS.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3

USER_TYPES = ("parent", "nanny", "admin")

_CREATE_PROFILE = """
mutation($user: CreateUserInput!) { createUser(user: $user) { username type status } }"""


def _client(service: str, outputs: dict[str, str], endpoint_url: str | None) -> Any:
    """A client for the stack; against the local cloud, with its dummy credentials (a
    developer's machine may have none, and must never use real ones for it)."""
    local = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=outputs["Region"],
        **(local if endpoint_url else {}),
    )


@dataclass(frozen=True)
class DevUser:
    username: str
    password: str
    user_type: str
    id_token: str
    access_token: str


def create_user(
    outputs: dict[str, str],
    user_type: str,
    *,
    username: str | None = None,
    password: str | None = None,
    endpoint_url: str | None = None,
) -> DevUser:
    """A confirmed Cognito user of ``user_type``, signed in, with a profile (parents, nannies).

    Admins are put in the ``admin`` group directly (no profile: the API never grants admin);
    parents and nannies sign up through ``createUser`` like the app does, then refresh so
    their token carries the group.
    """
    if user_type not in USER_TYPES:
        raise ValueError(f"user type must be one of {', '.join(USER_TYPES)}")
    cognito = _client("cognito-idp", outputs, endpoint_url)
    pool = outputs["UserPoolId"]
    username = username or f"{user_type}-{uuid.uuid4().hex[:6]}"
    password = password or f"Aa1!{secrets.token_urlsafe(12)}"
    email = f"{username}@example.org"
    cognito.admin_create_user(
        UserPoolId=pool,
        Username=username,
        MessageAction="SUPPRESS",
        UserAttributes=[
            {"Name": "email", "Value": email},
            {"Name": "email_verified", "Value": "true"},
        ],
    )
    cognito.admin_set_user_password(
        UserPoolId=pool, Username=username, Password=password, Permanent=True
    )
    if user_type == "admin":
        cognito.admin_add_user_to_group(UserPoolId=pool, Username=username, GroupName="admin")
    tokens = _sign_in(cognito, outputs, username, password)
    if user_type != "admin":
        profile = {
            "type": user_type.upper(),
            "firstName": username.split("-")[0].title(),
            "lastName": "Local",
        }
        _graphql(outputs, _CREATE_PROFILE, {"user": profile}, tokens["IdToken"])
        tokens = _sign_in(cognito, outputs, username, password)  # now carrying the group
    return DevUser(username, password, user_type, tokens["IdToken"], tokens["AccessToken"])


def _sign_in(cognito: Any, outputs: dict[str, str], username: str, password: str) -> Any:
    return cognito.initiate_auth(
        ClientId=outputs["UserPoolClientId"],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )["AuthenticationResult"]


def _graphql(outputs: dict[str, str], query: str, variables: dict[str, Any], token: str) -> Any:
    request = urllib.request.Request(  # noqa: S310 - the local GraphQL endpoint from outputs
        outputs["GraphQLUrl"],
        data=json.dumps({"query": query, "variables": variables}).encode(),
        headers={"Content-Type": "application/json", "Authorization": token},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        body = json.loads(response.read())
    if body.get("errors"):
        raise RuntimeError(f"createUser failed: {body['errors']}")
    return body["data"]


def tail_events(
    outputs: dict[str, str],
    *,
    endpoint_url: str | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> Iterator[dict[str, Any]]:
    """Every event on the bus from now on, through a temporary rule and queue.

    The rule matches everything (``source`` prefix ""), so this sees what a new consumer
    would. Both are deleted when the iteration ends.
    """
    events = _client("events", outputs, endpoint_url)
    sqs = _client("sqs", outputs, endpoint_url)
    bus = outputs["EventBusName"]
    name = f"events-tail-{uuid.uuid4().hex[:8]}"
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    events.put_rule(
        Name=name, EventBusName=bus, EventPattern=json.dumps({"source": [{"prefix": ""}]})
    )
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "tail", "Arn": queue_arn}])
    try:
        while not stop():
            answer = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            )
            for message in answer.get("Messages", []):
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                yield json.loads(message["Body"])
            if not answer.get("Messages"):
                time.sleep(0.2)
    finally:
        events.remove_targets(Rule=name, EventBusName=bus, Ids=["tail"])
        events.delete_rule(Name=name, EventBusName=bus)
        sqs.delete_queue(QueueUrl=queue_url)

"""AppSync resolver events, shaped as AppSync sends them to a direct Lambda resolver."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Identity:
    """A Cognito-signed-in caller; ``None`` in place of an Identity means the API key."""

    username: str
    groups: tuple[str, ...] = ()
    sub: str = field(default_factory=lambda: str(uuid.uuid4()))

    def as_appsync(self) -> dict[str, Any]:
        issuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_test"
        return {
            "sub": self.sub,
            "issuer": issuer,
            "username": self.username,
            "claims": {
                "sub": self.sub,
                "cognito:username": self.username,
                "cognito:groups": list(self.groups),
                "iss": issuer,
                "token_use": "id",
            },
            "sourceIp": ["127.0.0.1"],
            "defaultAuthStrategy": "ALLOW",
            "groups": list(self.groups) or None,
        }


def appsync_event(
    type_name: str, field_name: str, arguments: dict[str, Any], identity: Identity | None
) -> dict[str, Any]:
    return {
        "arguments": arguments,
        "identity": identity.as_appsync() if identity else None,
        "source": None,
        "request": {
            "headers": {
                "x-amzn-requestid": str(uuid.uuid4()),
                "x-amzn-trace-id": f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}",
                "content-type": "application/json",
            },
            "domainName": None,
        },
        "prev": None,
        "info": {
            "parentTypeName": type_name,
            "fieldName": field_name,
            "variables": {},
            "selectionSetList": [],
            "selectionSetGraphQL": "",
        },
        "stash": {},
    }


class LambdaContext:
    function_name = "api"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:api"
    aws_request_id = "test-request"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000

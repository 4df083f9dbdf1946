"""Which AWS service a request is for, and which local backend answers it.

AWS endpoints tell services apart by host name; behind one local endpoint the request
itself has to say. In order of precedence:

1. ``X-Amz-Target`` (JSON protocols): its prefix names the service and the operation,
   e.g. ``DynamoDBStreams_20120810.GetRecords``. It comes first because DynamoDB and
   DynamoDB Streams both sign as ``dynamodb``, and because some calls are unsigned
   (Cognito's ``InitiateAuth``, ``SignUp``...).
2. The SigV4 credential scope, ``Credential=AKID/20240101/us-east-1/sqs/aws4_request``,
   from the ``Authorization`` header or, for presigned URLs, the ``X-Amz-Credential``
   query parameter.
3. The host: a ``sync-`` prefix (StartSyncExecution's host prefix) means Step Functions,
   and ``<service>.<region>.amazonaws.com`` names the service.

Usage::

    route = identify("POST", "/", "", headers, body)
    route.backend      # "dynamodb" or "moto"
    route.service      # "dynamodbstreams", "states", "events", "sqs", ...
    route.operation    # "GetRecords", or None when the request does not say
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import parse_qs, unquote

__all__ = [
    "DEFAULT_ACCESS_KEY",
    "DEFAULT_REGION",
    "Backend",
    "Route",
    "identify",
]

Backend = Literal["dynamodb", "moto"]

DEFAULT_REGION: Final = "us-east-1"
# Unsigned requests carry no access key; moto maps an unknown key to its default account.
DEFAULT_ACCESS_KEY: Final = "local"

# X-Amz-Target prefixes of the JSON-protocol services, to the service's signing name
# (Step Functions signs as "states", DynamoDB Streams as "dynamodb": Streams is told
# apart here by its own name so it can be routed and reported separately).
TARGET_PREFIXES: Final[Mapping[str, str]] = {
    "DynamoDB_20120810": "dynamodb",
    "DynamoDB_20111205": "dynamodb",
    "DynamoDBStreams_20120810": "dynamodbstreams",
    "AWSStepFunctions": "states",
    "AWSEvents": "events",
    "AmazonSQS": "sqs",
    "AWSCognitoIdentityProviderService": "cognito-idp",
    "AWSCognitoIdentityService": "cognito-identity",
    "Logs_20140328": "logs",
    "AmazonSSM": "ssm",
    "secretsmanager": "secretsmanager",
    "TrentService": "kms",
    "AWSKinesisFirehose": "firehose",
    "Kinesis_20131202": "kinesis",
    "AWSIdentityManagementV20100508": "iam",
    "AWSSecurityTokenServiceV20110615": "sts",
    "GraniteServiceVersion20100801": "monitoring",
}

DYNAMODB_SERVICES: Final = frozenset({"dynamodb", "dynamodbstreams"})

# Host names as AWS spells them, for clients that reach us with a real service host
# (a proxy setting, /etc/hosts): "sqs.us-east-1.amazonaws.com", "streams.dynamodb.…".
_AWS_HOST: Final = re.compile(
    r"^(?:(?P<streams>streams)\.)?(?P<service>[a-z0-9-]+)\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)"
    r"\.amazonaws\.com(?:\.cn)?(?::\d+)?$"
)
_CREDENTIAL: Final = re.compile(
    r"Credential=(?P<key>[^/,\s]*)/(?P<date>\d{8})/(?P<region>[^/,\s]+)/(?P<service>[^/,\s]+)"
    r"/aws4_request"
)
_SYNC_PREFIX: Final = "sync-"


@dataclass(frozen=True)
class Route:
    """Where a request goes and what the router knows about it.

    Attributes:
        backend: ``"dynamodb"`` (DynamoDB Local) or ``"moto"`` (everything else).
        service: the service's signing name, ``dynamodbstreams`` for Streams; None when
            nothing in the request names one (moto then guesses, as it does unproxied).
        operation: the API operation from ``X-Amz-Target`` or a query-protocol ``Action``.
        region: the signing region, or ``us-east-1`` for unsigned requests.
        access_key: the signing access key id; moto derives the account from it.
        sync_host: the request came with StartSyncExecution's ``sync-`` host prefix.
    """

    backend: Backend
    service: str | None
    operation: str | None
    region: str = DEFAULT_REGION
    access_key: str = DEFAULT_ACCESS_KEY
    sync_host: bool = False


def identify(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes = b"",
) -> Route:
    """Tell which service ``headers`` (a case-insensitive mapping) and the URL address.

    Args:
        method: the HTTP method (query-protocol actions may come in a GET's query).
        path: the URL path, without the query.
        query: the raw query string, without ``?``.
        headers: the request headers; looked up case-insensitively.
        body: the request body, read for a query-protocol ``Action``.
    """
    target = _header(headers, "x-amz-target")
    host = _header(headers, "host") or ""
    sync_host = host.lower().startswith(_SYNC_PREFIX)

    scope = _CREDENTIAL.search(_header(headers, "authorization") or "")
    if scope is None and "credential" in query.lower():
        scope = _presigned_scope(query)

    service: str | None = None
    operation: str | None = None
    if target:
        prefix, _, operation_name = target.partition(".")
        service = TARGET_PREFIXES.get(prefix)
        operation = operation_name or None
    if service is None and scope is not None:
        service = scope["service"].lower()
    if service is None:
        service = _service_from_host(host, sync_host)
    if operation is None:
        operation = _query_action(method, query, headers, body)

    region = scope["region"] if scope is not None else _region_from_host(host)
    return Route(
        backend="dynamodb" if service in DYNAMODB_SERVICES else "moto",
        service=service,
        operation=operation,
        region=region or DEFAULT_REGION,
        access_key=(scope["key"] if scope is not None else "") or DEFAULT_ACCESS_KEY,
        sync_host=sync_host,
    )


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:  # a plain dict: fall back to a case-insensitive scan
        for key, candidate in headers.items():
            if key.lower() == name:
                return candidate
    return value


def _presigned_scope(query: str) -> re.Match[str] | None:
    for key, values in parse_qs(query, keep_blank_values=True).items():
        if key.lower() == "x-amz-credential" and values:
            return _CREDENTIAL.search("Credential=" + unquote(values[0]))
    return None


def _service_from_host(host: str, sync_host: bool) -> str | None:
    if sync_host:
        return "states"
    match = _AWS_HOST.match(host.lower())
    if match is None:
        return None
    if match["streams"] and match["service"] == "dynamodb":
        return "dynamodbstreams"
    return match["service"]


def _region_from_host(host: str) -> str | None:
    match = _AWS_HOST.match(host.lower())
    return match["region"] if match else None


def _query_action(method: str, query: str, headers: Mapping[str, str], body: bytes) -> str | None:
    # Query protocol (SNS, STS, IAM, SQS's older protocol): Action in a form body or the URL.
    content_type = (_header(headers, "content-type") or "").lower()
    sources = [query]
    if method == "POST" and content_type.startswith("application/x-www-form-urlencoded"):
        sources.append(body.decode("utf-8", errors="replace"))
    for source in sources:
        if "Action=" in source:
            actions = parse_qs(source).get("Action")
            if actions:
                return actions[0]
    return None

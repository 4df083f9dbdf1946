"""The calls the router itself makes to moto, and the AWS errors it answers with.

boto3 clients would do, but each call would pay botocore's serialisation (about a
millisecond) on paths that make several calls per request (PutEvents reads the bus's
rules, targets and archives). These requests are small JSON documents, so they are
written directly, on the router's connection pool.

moto checks no signatures; it reads the credential scope of ``Authorization`` to pick
the service, the region and, from the access key, the account. Calls are therefore made
with the *caller's* region and access key (a :class:`CallContext`), so they see the same
account as the request that caused them.

Usage::

    moto = MotoClient(pool, "http://127.0.0.1:5000")
    rules = moto.json(CallContext("us-east-1", "local"), "events", "ListRules", {})
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

import urllib3

__all__ = [
    "JSON_SERVICES",
    "AwsError",
    "BackendError",
    "CallContext",
    "MotoClient",
    "error_body",
]

# service signing name -> (X-Amz-Target prefix, JSON protocol version)
JSON_SERVICES: Final[Mapping[str, tuple[str, str]]] = {
    "events": ("AWSEvents", "1.1"),
    "states": ("AWSStepFunctions", "1.0"),
    "sqs": ("AmazonSQS", "1.0"),
    "logs": ("Logs_20140328", "1.1"),
}
_QUERY_VERSIONS: Final[Mapping[str, str]] = {"sns": "2010-03-31"}
_FAKE_SIGNATURE: Final = "0" * 64


@dataclass(frozen=True)
class CallContext:
    """Whose call this is: the signing region and access key of the request being served."""

    region: str
    access_key: str


class AwsError(Exception):
    """An AWS error answer: HTTP status, error code (``__type``) and message."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


class BackendError(AwsError):
    """moto answered an internal call with an error (its status, code and message)."""


def error_body(code: str, message: str) -> bytes:
    """The JSON protocols' error document, which botocore reads ``__type`` from."""
    return json.dumps({"__type": code, "message": message}).encode()


class MotoClient:
    """JSON- and query-protocol calls to moto on a shared urllib3 pool."""

    def __init__(self, pool: urllib3.PoolManager, endpoint: str, *, timeout: float = 30.0) -> None:
        self._pool = pool
        self._endpoint = endpoint.rstrip("/")
        self._host = urlsplit(self._endpoint).netloc
        self._timeout = urllib3.Timeout(connect=5.0, read=timeout)

    @property
    def endpoint(self) -> str:
        """moto's base URL."""
        return self._endpoint

    def json(
        self, context: CallContext, service: str, operation: str, payload: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Call a JSON-protocol operation; return the decoded answer.

        Raises:
            BackendError: moto answered with an error status.
        """
        prefix, version = JSON_SERVICES[service]
        headers = self._headers(context, service)
        headers["Content-Type"] = f"application/x-amz-json-{version}"
        headers["X-Amz-Target"] = f"{prefix}.{operation}"
        response = self._pool.request(
            "POST",
            self._endpoint + "/",
            body=json.dumps(payload).encode(),
            headers=headers,
            timeout=self._timeout,
            retries=False,
        )
        if response.status >= 300:
            raise _backend_error(response.status, response.data)
        if not response.data:
            return {}
        answer: dict[str, Any] = json.loads(response.data)
        return answer

    def query(
        self, context: CallContext, service: str, action: str, params: Mapping[str, str]
    ) -> bytes:
        """Call a query-protocol action (SNS); return the raw XML answer.

        Raises:
            BackendError: moto answered with an error status.
        """
        headers = self._headers(context, service)
        headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
        form = {"Action": action, "Version": _QUERY_VERSIONS[service], **params}
        response = self._pool.request(
            "POST",
            self._endpoint + "/",
            body=urlencode(form).encode(),
            headers=headers,
            timeout=self._timeout,
            retries=False,
        )
        if response.status >= 300:
            raise _backend_error(response.status, response.data)
        data: bytes = response.data
        return data

    def _headers(self, context: CallContext, service: str) -> dict[str, str]:
        now = time.gmtime()
        scope = (
            f"{context.access_key}/{time.strftime('%Y%m%d', now)}/{context.region}/{service}"
            "/aws4_request"
        )
        return {
            "Host": self._host,
            "X-Amz-Date": time.strftime("%Y%m%dT%H%M%SZ", now),
            "Authorization": (
                f"AWS4-HMAC-SHA256 Credential={scope}, "
                f"SignedHeaders=host;x-amz-date, Signature={_FAKE_SIGNATURE}"
            ),
            "amz-sdk-invocation-id": str(uuid.uuid4()),
        }


def _backend_error(status: int, data: bytes) -> BackendError:
    text = data.decode("utf-8", errors="replace")
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if isinstance(document, dict):
        # "__type" may be namespaced: "com.amazonaws.events#ResourceNotFoundException".
        code = str(document.get("__type", "InternalFailure")).rpartition("#")[2]
        message = str(document.get("message") or document.get("Message") or "")
        return BackendError(code, message, status)
    # Query protocol: <ErrorResponse><Error><Code>NotFound</Code><Message>…
    code = _between(text, "<Code>", "</Code>") or "InternalFailure"
    message = _between(text, "<Message>", "</Message>") or text[:200]
    return BackendError(code, message, status)


def _between(text: str, start: str, end: str) -> str | None:
    _, found, tail = text.partition(start)
    if not found:
        return None
    return tail.partition(end)[0]

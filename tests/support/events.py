"""Events as they reach the consumers: JobClosed details, EventBridge events, SQS batches.

Shared by the unit and the integration tests of the consumers.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from events_schema import DETAIL_TYPE, SOURCE


def job_closed_detail(**data: Any) -> dict[str, Any]:
    """A JobClosed v1 detail; ``data`` fields (camelCase) override the defaults."""
    now = dt.datetime.now(dt.UTC).isoformat()
    return {
        "metadata": {"version": "1", "correlationId": str(uuid.uuid4()), "createdAt": now},
        "data": {
            "jobId": str(uuid.uuid4()),
            "parentUsername": "parent-ann",
            "acceptedApplicationId": str(uuid.uuid4()),
            "acceptedApplicant": "nanny-bea",
            "closedAt": now,
            **data,
        },
    }


def eventbridge_event(
    detail: dict[str, Any], *, event_id: str | None = None, replay_name: str | None = None
) -> dict[str, Any]:
    """The event as an EventBridge rule delivers it to an SQS target."""
    event = {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": DETAIL_TYPE,
        "source": SOURCE,
        "account": "123456789012",
        "time": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }
    if replay_name:
        event["replay-name"] = replay_name
    return event


def sqs_record(body: str, *, message_id: str | None = None) -> dict[str, Any]:
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": "handle",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1700000000000",
            "SenderId": "AIDAEXAMPLE",
            "ApproximateFirstReceiveTimestamp": "1700000000001",
        },
        "messageAttributes": {},
        "md5OfBody": "0" * 32,
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:consumer",
        "awsRegion": "us-east-1",
    }


def sqs_event(*bodies: str | dict[str, Any]) -> dict[str, Any]:
    """An SQS batch for a Lambda; dict bodies are serialized as JSON."""
    return {
        "Records": [
            sqs_record(body if isinstance(body, str) else json.dumps(body)) for body in bodies
        ]
    }


def message_ids(event: dict[str, Any], *indices: int) -> list[str]:
    return [event["Records"][i]["messageId"] for i in indices]


def failures(response: dict[str, Any]) -> list[str]:
    """The message ids a batch response asks SQS to redeliver."""
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]

"""moto's SQS with ``speed_up_queues``: deep queues, delays, visibility and retention
behave as before. moto in server mode in this process (the session's ``moto_endpoint``).
"""

from __future__ import annotations

import time
import uuid
from types import SimpleNamespace
from typing import Any

import pytest

from localcloud.dynamodb_local import local_client
from localcloud.moto_sqs import _within_retention, speed_up_queues


@pytest.fixture(scope="module")
def sqs(moto_endpoint: str) -> Any:
    speed_up_queues()
    return local_client(moto_endpoint, "sqs")


def new_queue(sqs: Any, **attributes: str) -> str:
    url: str = sqs.create_queue(QueueName=f"speed-{uuid.uuid4().hex[:8]}", Attributes=attributes)[
        "QueueUrl"
    ]
    return url


def drain(sqs: Any, url: str) -> list[str]:
    bodies: list[str] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        bodies.extend(message["Body"] for message in messages)
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
            ],
        )


def test_a_deep_queue_gives_every_message_once(sqs: Any) -> None:
    url = new_queue(sqs)
    for start in range(0, 300, 10):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(n), "MessageBody": f"m{n}"} for n in range(start, start + 10)],
        )

    bodies = drain(sqs, url)

    assert sorted(bodies) == sorted(f"m{n}" for n in range(300))
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"


def test_delayed_and_received_messages_stay_hidden_until_their_time(sqs: Any) -> None:
    url = new_queue(sqs)
    # 5 s: the calls before the sleep finish well within it, even on a loaded machine.
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=5)
    sqs.send_message(QueueUrl=url, MessageBody="now")

    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=5)
    hidden = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    time.sleep(5.5)
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)

    assert [m["Body"] for m in first["Messages"]] == ["now"]
    assert "Messages" not in hidden
    assert counts["ApproximateNumberOfMessagesDelayed"] == "1"
    assert counts["ApproximateNumberOfMessagesNotVisible"] == "1"
    assert sorted(m["Body"] for m in again["Messages"]) == ["later", "now"]


def test_a_message_past_its_queues_retention_period_is_not_valid() -> None:
    now_ms = time.time() * 1000
    backend = SimpleNamespace(get_queue=lambda _name: SimpleNamespace(message_retention_period=60))

    assert _within_retention(backend, "q", SimpleNamespace(sent_timestamp=now_ms))
    assert not _within_retention(backend, "q", SimpleNamespace(sent_timestamp=now_ms - 61_000))

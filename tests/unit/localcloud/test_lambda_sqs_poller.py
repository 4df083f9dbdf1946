"""The SQS poller's own decisions, against an in-memory SQS and a fake Lambda side."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from localcloud.lambda_workers import FunctionConfig, FunctionError, PoolClosedError
from localcloud.sqs_event_source import SqsEventSource, SqsEventSourceMapping

QUEUE_URL = "http://sqs.local/123456789012/q"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:q"


def _message(message_id: str, handle: str | None = None) -> dict[str, Any]:
    return {
        "MessageId": message_id,
        "ReceiptHandle": handle or f"h-{message_id}",
        "MD5OfBody": "x",
        "Body": message_id,
        "Attributes": {"ApproximateReceiveCount": "1"},
    }


class FakeSqs:
    """Answers receives from a script of answers (then nothing), records the rest."""

    def __init__(self, *answers: list[dict[str, Any]] | Exception) -> None:
        self.answers = list(answers)
        self.receives: list[dict[str, Any]] = []
        self.deleted: list[list[str]] = []
        self.released: list[list[str]] = []
        self.lock = threading.Lock()

    def get_queue_url(self, QueueName: str, QueueOwnerAWSAccountId: str) -> dict[str, str]:  # noqa: N803
        assert (QueueName, QueueOwnerAWSAccountId) == ("q", "123456789012")
        return {"QueueUrl": QUEUE_URL}

    def get_queue_attributes(self, QueueUrl: str, AttributeNames: list[str]) -> dict[str, Any]:  # noqa: N803
        return {"Attributes": {"QueueArn": QUEUE_ARN, "VisibilityTimeout": "30"}}

    def receive_message(self, **request: Any) -> dict[str, Any]:
        with self.lock:
            self.receives.append(request)
            answer = self.answers.pop(0) if self.answers else []
        if isinstance(answer, Exception):
            raise answer
        if not answer:
            time.sleep(0.01)
        return {"Messages": answer}

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> Any:  # noqa: N803
        self.deleted.append([entry["ReceiptHandle"] for entry in Entries])
        return {"Successful": [{"Id": entry["Id"]} for entry in Entries], "Failed": []}

    def change_message_visibility_batch(self, QueueUrl: str, Entries: list[Any]) -> Any:  # noqa: N803
        assert {entry["VisibilityTimeout"] for entry in Entries} == {0}
        self.released.append([entry["ReceiptHandle"] for entry in Entries])
        return {"Successful": Entries, "Failed": []}


class FakeLambda:
    def __init__(self, answer: Callable[[dict[str, Any]], Any]) -> None:
        self.answer = answer
        self.events: list[dict[str, Any]] = []

    def invoke(self, name: str, event: Any) -> Any:
        self.events.append(event)
        return self.answer(event)

    def config(self, name: str) -> FunctionConfig:
        return FunctionConfig(name, "m.h", timeout=1)

    def max_concurrency(self, name: str) -> int:
        return 1


def wait_until(predicate: Callable[[], bool], timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _source(sqs: FakeSqs, lambdas: FakeLambda, **mapping: Any) -> SqsEventSource:
    return SqsEventSource(
        SqsEventSourceMapping("f", QUEUE_ARN, **mapping),
        lambdas,
        sqs_client=sqs,
        poll_wait_seconds=0,
    )


def test_a_window_gathers_receives_keeps_the_latest_handle_and_deletes_by_tens() -> None:
    first = [_message(f"m{i}") for i in range(10)]
    # m0 reappeared (its visibility ran out) and comes again with a new receipt handle.
    second = [_message("m0", "h-m0-again")] + [_message(f"m{i}") for i in range(10, 19)]
    third = [_message(f"m{i}") for i in range(19, 25)]
    sqs = FakeSqs(first, second, third)
    lambdas = FakeLambda(lambda event: None)
    source = _source(sqs, lambdas, batch_size=25, maximum_batching_window_seconds=2).start()
    try:
        assert wait_until(lambda: source.stats.deleted == 25)
    finally:
        source.stop()
    (event,) = lambdas.events
    assert len(event["Records"]) == 25
    assert [len(chunk) for chunk in sqs.deleted] == [10, 10, 5]
    handles = [handle for chunk in sqs.deleted for handle in chunk]
    assert "h-m0-again" in handles
    assert "h-m0" not in handles
    # At most 10 asked at once, and no more than the batch still needs (m0 counted once).
    assert [r["MaxNumberOfMessages"] for r in sqs.receives[:3]] == [10, 10, 6]
    assert sqs.receives[0]["MessageSystemAttributeNames"] == ["All"]
    assert "VisibilityTimeout" not in sqs.receives[0]


def test_a_closed_pool_stops_the_poller_and_releases_its_messages() -> None:
    def closed(event: Any) -> Any:
        raise PoolClosedError("pool closed")

    sqs = FakeSqs([_message("m1"), _message("m2")])
    source = _source(sqs, FakeLambda(closed)).start()
    assert wait_until(lambda: not source.running)
    assert sqs.released == [["h-m1", "h-m2"]]
    assert sqs.deleted == []
    assert source.stats.released == 2


def test_a_function_error_deletes_nothing() -> None:
    def fails(event: Any) -> Any:
        raise FunctionError("ValueError", "bad")

    sqs = FakeSqs([_message("m1")])
    source = _source(sqs, FakeLambda(fails)).start()
    try:
        assert wait_until(lambda: source.stats.function_errors == 1)
    finally:
        source.stop()
    assert sqs.deleted == []
    assert source.stats.retried == 1


def test_sqs_errors_are_retried_after_a_pause() -> None:
    unavailable = ClientError({"Error": {"Code": "ServiceUnavailable"}}, "ReceiveMessage")
    sqs = FakeSqs(unavailable, [_message("m1")])
    source = _source(sqs, FakeLambda(lambda event: None)).start()
    try:
        assert wait_until(lambda: source.stats.deleted == 1)
    finally:
        source.stop()
    assert sqs.deleted == [["h-m1"]]

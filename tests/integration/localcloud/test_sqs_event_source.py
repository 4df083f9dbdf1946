"""SQS -> Lambda event source mappings against moto's SQS (server mode) and real workers.

Queues have a 1 s visibility timeout and a redrive policy with ``maxReceiveCount`` 2, so a
failing message reaches its dead-letter queue in about 2 s. The consumer is
``sample_functions/lambda_samples.py::sqs_batch``: each body says what it should do with
it, and every record it sees is appended to a file the test reads. No assertion depends on
the order of records.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from localcloud.lambda_workers import FunctionConfig, LambdaPool
from localcloud.sqs_event_source import (
    EventSourceMappingError,
    SqsEventSource,
    SqsEventSourceMapping,
)

CODE_ROOT = Path(__file__).parent / "sample_functions"
FUNCTION = "consumer"
REPORT = ("ReportBatchItemFailures",)


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture(scope="module")
def sqs(moto_endpoint: str) -> Any:
    return boto3.client(
        "sqs",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


class Queues:
    """A queue and its dead-letter queue, made afresh for one test."""

    def __init__(self, sqs: Any, visibility_timeout: int = 1, max_receive_count: int = 2) -> None:
        self.sqs = sqs
        name = f"esm-{uuid.uuid4().hex[:10]}"
        self.dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        redrive = {
            "deadLetterTargetArn": self.arn_of(self.dlq_url),
            "maxReceiveCount": max_receive_count,
        }
        self.url = sqs.create_queue(
            QueueName=name,
            Attributes={
                "VisibilityTimeout": str(visibility_timeout),
                "RedrivePolicy": json.dumps(redrive),
            },
        )["QueueUrl"]
        self.arn = self.arn_of(self.url)

    def arn_of(self, url: str) -> str:
        attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return str(attributes["Attributes"]["QueueArn"])

    def send(self, *actions: str, **extra: Any) -> dict[str, str]:
        """Send one message per action; returns message id -> action."""
        sent = {}
        for index, action in enumerate(actions):
            body = {"id": f"{action}-{index}", "action": action, **extra}
            message_id = self.sqs.send_message(QueueUrl=self.url, MessageBody=json.dumps(body))
            sent[message_id["MessageId"]] = action
        return sent

    def count(self, url: str | None = None) -> int:
        """Messages in a queue, visible or in flight."""
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=url or self.url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    def dead_letters(self) -> list[dict[str, Any]]:
        messages = self.sqs.receive_message(QueueUrl=self.dlq_url, MaxNumberOfMessages=10)
        return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


@pytest.fixture
def queues(sqs: Any) -> Queues:
    return Queues(sqs)


@pytest.fixture
def seen_file(tmp_path: Path) -> Path:
    path = tmp_path / "seen.jsonl"
    path.touch()
    return path


def seen(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def receive_counts(path: Path) -> dict[str, list[int]]:
    counts: dict[str, list[int]] = {}
    for record in seen(path):
        counts.setdefault(record["id"], []).append(record["receiveCount"])
    return counts


@pytest.fixture
def concurrency() -> int:
    """Workers of the consumer in the pool (a test may parametrize it)."""
    return 2


@pytest.fixture
def pool(seen_file: Path, moto_endpoint: str, concurrency: int) -> Iterator[LambdaPool]:
    consumer = FunctionConfig(
        FUNCTION,
        "lambda_samples.sqs_batch",
        code_root=CODE_ROOT,
        environment={"SEEN_FILE": str(seen_file)},
        timeout=1,
        max_concurrency=concurrency,
    )
    with LambdaPool([consumer], endpoint_url=moto_endpoint, eager=True) as lambdas:
        yield lambdas


@pytest.fixture
def start(pool: LambdaPool, moto_endpoint: str) -> Iterator[Callable[..., SqsEventSource]]:
    sources: list[SqsEventSource] = []

    def start_mapping(poll_wait_seconds: int = 0, **properties: Any) -> SqsEventSource:
        # Short polling unless a test asks: stop() then never waits out a long poll.
        source = SqsEventSource(
            SqsEventSourceMapping(FUNCTION, **properties),
            pool,
            endpoint_url=moto_endpoint,
            poll_wait_seconds=poll_wait_seconds,
        )
        sources.append(source)
        return source.start()

    yield start_mapping
    for source in sources:
        assert source.stop(timeout=5)


def test_a_batch_is_delivered_as_lambdas_event_and_deleted(
    queues: Queues, start: Callable[..., SqsEventSource], seen_file: Path
) -> None:
    sent = queues.send("ok", "ok", "ok", "ok", "ok")
    # Named by URL here; by ARN, as in the template, everywhere else.
    source = start(queue_url=queues.url, function_response_types=REPORT)

    assert wait_until(lambda: source.stats.deleted == 5)
    assert queues.count() == 0
    records = seen(seen_file)
    assert {r["messageId"] for r in records} == set(sent)
    assert len(records) == 5
    record = records[0]["record"]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == queues.arn
    assert record["awsRegion"] == "us-east-1"
    assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()  # noqa: S324
    assert record["receiptHandle"]
    assert record["messageAttributes"] == {}
    assert {
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
    } <= set(record["attributes"])
    assert queues.dead_letters() == []


def test_only_the_failed_item_returns_and_then_goes_to_the_dlq(
    queues: Queues, start: Callable[..., SqsEventSource], seen_file: Path
) -> None:
    queues.send("ok", "ok", "fail", "ok")
    source = start(event_source_arn=queues.arn, function_response_types=REPORT)

    assert wait_until(lambda: queues.count(queues.dlq_url) == 1)
    assert wait_until(lambda: queues.count() == 0)
    counts = receive_counts(seen_file)
    # Received twice (maxReceiveCount 2), after the visibility timeout, and no more.
    assert counts.pop("fail-2") == [1, 2]
    assert counts == {"ok-0": [1], "ok-1": [1], "ok-3": [1]}
    assert [body["id"] for body in queues.dead_letters()] == ["fail-2"]
    assert source.stats.deleted == 3


def test_a_poison_message_among_good_ones(
    queues: Queues, start: Callable[..., SqsEventSource], seen_file: Path
) -> None:
    queues.send("ok", "flaky", "fail", "ok", "flaky")
    start(event_source_arn=queues.arn, function_response_types=REPORT, batch_size=2)

    assert wait_until(lambda: queues.count() == 0 and queues.count(queues.dlq_url) == 1)
    counts = receive_counts(seen_file)
    assert counts == {
        "ok-0": [1],
        "ok-3": [1],
        "flaky-1": [1, 2],  # failed once, succeeded on the retry
        "flaky-4": [1, 2],
        "fail-2": [1, 2],  # the poison message: to the DLQ
    }
    assert max(record["batchSize"] for record in seen(seen_file)) <= 2
    assert [body["id"] for body in queues.dead_letters()] == ["fail-2"]


@pytest.mark.parametrize("concurrency", [1])  # one poller: the three arrive as one batch
def test_a_function_error_retries_the_whole_batch(
    queues: Queues, start: Callable[..., SqsEventSource], seen_file: Path
) -> None:
    queues.send("ok", "boom", "ok")  # the handler raises for the batch holding "boom"
    source = start(event_source_arn=queues.arn, function_response_types=REPORT)

    assert wait_until(lambda: queues.count() == 0 and queues.count(queues.dlq_url) >= 1)
    first_batch = [r for r in seen(seen_file) if r["receiveCount"] == 1]
    assert {r["batchSize"] for r in first_batch} == {3}
    # Nothing of the failed batch was deleted: every message came back. How the retries
    # are batched depends on when each reappears; "boom" fails whatever its batch.
    assert {i: counts[:2] for i, counts in receive_counts(seen_file).items()} == {
        "ok-0": [1, 2],
        "boom-1": [1, 2],
        "ok-2": [1, 2],
    }
    assert "boom-1" in [body["id"] for body in queues.dead_letters()]
    assert source.stats.function_errors >= 2


def test_a_timeout_retries_the_batch_on_a_fresh_worker(
    queues: Queues, start: Callable[..., SqsEventSource], seen_file: Path, pool: LambdaPool
) -> None:
    queues.send("ok")
    queues.send("hang")  # sleeps past the function's 1 s timeout
    source = start(event_source_arn=queues.arn, batch_size=1)

    assert wait_until(lambda: queues.count(queues.dlq_url) == 1)
    assert receive_counts(seen_file)["hang-0"] == [1, 2]
    # The message may reach the DLQ (the visibility timeout equals the function's) just
    # before the second timeout is counted.
    assert wait_until(lambda: source.stats.function_errors == 2, timeout=2)
    assert source.stats.deleted == 1
    assert sum(worker.cold_starts for worker in pool.workers(FUNCTION)) >= 3


def test_without_report_batch_item_failures_the_answer_is_ignored(
    queues: Queues, start: Callable[..., SqsEventSource], seen_file: Path
) -> None:
    queues.send("ok", "fail")
    source = start(event_source_arn=queues.arn)

    assert wait_until(lambda: source.stats.deleted == 2)
    assert queues.count() == 0
    assert receive_counts(seen_file) == {"ok-0": [1], "fail-1": [1]}


@pytest.mark.parametrize("concurrency", [1])  # one poller: the two arrive as one batch
def test_an_invalid_partial_response_fails_the_whole_batch(
    queues: Queues, start: Callable[..., SqsEventSource], seen_file: Path
) -> None:
    queues.send("ok", "answer", response={"batchItemFailures": [{"itemIdentifier": "nope"}]})
    source = start(event_source_arn=queues.arn, function_response_types=REPORT)

    assert wait_until(lambda: queues.count() == 0 and queues.count(queues.dlq_url) >= 1)
    # An unknown itemIdentifier fails the batch: "ok" came back too.
    assert receive_counts(seen_file) == {"ok-0": [1, 2], "answer-1": [1, 2]}
    assert "answer-1" in [body["id"] for body in queues.dead_letters()]
    assert source.stats.invalid_responses >= 2


@pytest.mark.parametrize("concurrency", [1])  # one poller: it alone receives them all
def test_the_batching_window_gathers_more_than_one_receive(
    sqs: Any, start: Callable[..., SqsEventSource], seen_file: Path
) -> None:
    # Visibility longer than the window: no message reappears while the batch gathers.
    queues = Queues(sqs, visibility_timeout=3)
    queues.send(*["ok"] * 13)
    source = start(event_source_arn=queues.arn, batch_size=20, maximum_batching_window_seconds=1)

    assert wait_until(lambda: source.stats.deleted == 13)
    assert source.stats.invocations == 1
    assert {record["batchSize"] for record in seen(seen_file)} == {13}


def test_maximum_concurrency_is_capped_by_the_functions_workers(
    queues: Queues, start: Callable[..., SqsEventSource]
) -> None:
    start(event_source_arn=queues.arn, maximum_concurrency=5)
    pollers = [t for t in threading.enumerate() if t.name.startswith(f"sqs-esm-{FUNCTION}-")]
    assert len(pollers) == 2  # the pool runs 2 workers of the function


def test_a_function_timeout_above_the_visibility_timeout_is_refused(
    sqs: Any, pool: LambdaPool, moto_endpoint: str
) -> None:
    queues = Queues(sqs, visibility_timeout=0)
    source = SqsEventSource(
        SqsEventSourceMapping(FUNCTION, queues.arn), pool, endpoint_url=moto_endpoint
    )
    with pytest.raises(EventSourceMappingError, match="visibility timeout: 0 seconds"):
        source.start()
    assert not source.running


def test_a_disabled_mapping_does_not_poll(
    queues: Queues, start: Callable[..., SqsEventSource]
) -> None:
    queues.send("ok")
    source = start(event_source_arn=queues.arn, enabled=False)
    time.sleep(0.3)
    assert not source.running
    assert source.stats.received == 0
    assert queues.count() == 1


def test_long_polling_delivers_and_stops_within_the_poll(
    queues: Queues, start: Callable[..., SqsEventSource]
) -> None:
    source = start(event_source_arn=queues.arn, poll_wait_seconds=1)
    time.sleep(0.2)  # the poller is in a long poll: the message is answered at once
    queues.send("ok")
    assert wait_until(lambda: source.stats.deleted == 1, timeout=1)
    started = time.monotonic()
    assert source.stop(timeout=5)
    assert time.monotonic() - started < 2.5
    assert not source.running
    queues.send("ok")
    time.sleep(0.2)
    assert queues.count() == 1

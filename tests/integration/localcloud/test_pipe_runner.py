"""The pipe runner against real servers: DynamoDB Local's stream in, moto's bus and SQS out.

Each test gets its own table (so its own stream), bus, delivery queue and DLQ. The bus
has one rule sending everything to the delivery queue, which is how a test sees what the
pipe put on the bus. `BusProxy` stands between the runner and moto where a test needs to
count PutEvents calls or make the bus fail.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

import boto3
import pytest
from botocore.config import Config

from events_schema import JobClosed
from events_schema.job_closed_pipe import DETAIL_TYPE, FILTER_PATTERN, INPUT_TEMPLATE, SOURCE
from localcloud.dynamodb_local import DynamoDBLocal, local_client
from localcloud.pipe_runner import Backoff, PipeConfig, PipeRunner
from stacks.constants import (
    PIPE_BATCH_SIZE,
    PIPE_MAXIMUM_RECORD_AGE_SECONDS,
    PIPE_MAXIMUM_RETRY_ATTEMPTS,
    PIPE_STARTING_POSITION,
)
from tests.support.bus_proxy import BusProxy
from tests.unit.events import stream_records as items

pytestmark = pytest.mark.dynamodb

REGION = "us-east-1"
FAST = Backoff(initial=0.01, maximum=0.05)


def wait_for(condition: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    """Poll ``condition`` until it is truthy; its value, or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what or condition}")
        time.sleep(0.01)


def aws(service: str, endpoint: str) -> Any:
    return local_client(endpoint, service)


# --- fixtures: table, bus, queues -------------------------------------------------------------


@dataclass
class Table:
    client: Any
    name: str
    stream_arn: str

    def put(self, item: dict[str, Any]) -> None:
        self.client.put_item(TableName=self.name, Item=item)


@pytest.fixture
def table(dynamodb_local: DynamoDBLocal) -> Iterator[Table]:
    client = dynamodb_local.client()
    name = f"pipe-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    stream_arn = client.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    yield Table(client, name, stream_arn)
    client.delete_table(TableName=name)


@dataclass
class Queue:
    client: Any
    url: str
    arn: str

    def receive(self, wait: float = 0.0) -> list[dict[str, Any]]:
        """The message bodies that arrive within ``wait`` seconds (at least one poll)."""
        bodies: list[dict[str, Any]] = []
        deadline = time.monotonic() + wait
        while True:
            response = self.client.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            )
            for message in response.get("Messages", []):
                bodies.append(json.loads(message["Body"]))
                self.client.delete_message(
                    QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"]
                )
            if bodies or time.monotonic() >= deadline:
                return bodies
            time.sleep(0.01)


@pytest.fixture
def make_queue(moto_endpoint: str) -> Callable[[str], Queue]:
    sqs = aws("sqs", moto_endpoint)

    def make(kind: str) -> Queue:
        url = sqs.create_queue(QueueName=f"{kind}-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return Queue(sqs, url, arn["Attributes"]["QueueArn"])

    return make


@dataclass
class Bus:
    arn: str
    #: Every event on the bus, through a rule that matches all of them.
    delivered: Queue


@pytest.fixture
def bus(moto_endpoint: str, make_queue: Callable[[str], Queue]) -> Bus:
    events = aws("events", moto_endpoint)
    name = f"bus-{uuid.uuid4().hex[:8]}"
    arn = events.create_event_bus(Name=name)["EventBusArn"]
    delivered = make_queue("delivered")
    events.put_rule(
        Name="everything",
        EventBusName=name,
        EventPattern=json.dumps({"account": [{"exists": True}]}),
    )
    events.put_targets(
        Rule="everything", EventBusName=name, Targets=[{"Id": "queue", "Arn": delivered.arn}]
    )
    return Bus(arn, delivered)


@pytest.fixture
def dlq(make_queue: Callable[[str], Queue]) -> Queue:
    return make_queue("pipe-dlq")


def job_closed_properties(
    table: Table, bus: Bus, dlq: Queue, **stream_parameters: Any
) -> dict[str, Any]:
    """The JobClosed pipe's properties as stacks/events.py declares them, resolved."""
    return {
        "Source": table.stream_arn,
        "Target": bus.arn,
        "DesiredState": "RUNNING",
        "SourceParameters": {
            "DynamoDBStreamParameters": {
                "StartingPosition": PIPE_STARTING_POSITION,
                "BatchSize": PIPE_BATCH_SIZE,
                "MaximumRetryAttempts": PIPE_MAXIMUM_RETRY_ATTEMPTS,
                "MaximumRecordAgeInSeconds": PIPE_MAXIMUM_RECORD_AGE_SECONDS,
                "OnPartialBatchItemFailure": "AUTOMATIC_BISECT",
                "DeadLetterConfig": {"Arn": dlq.arn},
                **stream_parameters,
            },
            "FilterCriteria": {"Filters": [{"Pattern": json.dumps(FILTER_PATTERN)}]},
        },
        "TargetParameters": {
            "InputTemplate": INPUT_TEMPLATE,
            "EventBridgeEventBusParameters": {"Source": SOURCE, "DetailType": DETAIL_TYPE},
        },
    }


@pytest.fixture
def make_runner(
    dynamodb_local: DynamoDBLocal, moto_endpoint: str, tmp_path: Path
) -> Iterator[Callable[..., PipeRunner]]:
    """Runners with fast retries and their state in ``tmp_path``, all stopped at the end."""
    runners: list[PipeRunner] = []
    threads_before = set(threading.enumerate())

    def make(
        config: PipeConfig, *, events_endpoint: str = moto_endpoint, **options: Any
    ) -> PipeRunner:
        options.setdefault("backoff", FAST)
        options.setdefault("poll_interval", 0.02)
        runner = PipeRunner(
            config,
            dynamodb_endpoint=dynamodb_local.endpoint_url,
            events_endpoint=events_endpoint,
            sqs_endpoint=moto_endpoint,
            state_dir=tmp_path / "pipes",
            **options,
        )
        runners.append(runner)
        return runner

    yield make
    for runner in runners:
        runner.stop()  # raises if its thread does not end
    leaked = [t.name for t in set(threading.enumerate()) - threads_before]
    assert not [name for name in leaked if name.startswith("pipe-")], leaked


# --- the project's pipe ----------------------------------------------------------------------


@dataclass
class Booking:
    """A job's life in the table: each method writes one item, so one stream record."""

    table: Table
    job: Any = field(default_factory=items.job)

    def __post_init__(self) -> None:
        self.applicant = items.application(self.job, "nanny-bea")
        self.correlation_id = f"corr-{uuid.uuid4().hex[:6]}"

    def post(self) -> None:  # INSERT
        self.table.put(items.job_image(self.job))

    def edit_open(self) -> None:  # MODIFY, OPEN -> OPEN
        self.table.put(items.job_image(self.job, title="Evening care"))

    def close(self) -> None:  # MODIFY, OPEN -> CLOSED
        self.table.put(self._closed())

    def edit_closed(self) -> None:  # MODIFY, CLOSED -> CLOSED
        self.table.put({**self._closed(), "title": {"S": "Night care"}})

    def _closed(self) -> dict[str, Any]:
        return items.closed_job_image(self.job, self.applicant, self.correlation_id)

    def check(self, event: dict[str, Any]) -> JobClosed:
        """``event`` is this booking's JobClosed, as the consumers parse it."""
        assert (event["source"], event["detail-type"]) == (SOURCE, DETAIL_TYPE)
        detail = JobClosed.model_validate(event["detail"])
        assert detail.data.job_id == self.job.id
        assert detail.data.accepted_application_id == self.applicant.id
        assert detail.data.accepted_applicant == "nanny-bea"
        assert detail.data.parent_username == self.job.parent_username
        assert detail.metadata.correlation_id == self.correlation_id
        return detail


def settled(runner: PipeRunner, records: int) -> bool:
    """Whether the runner has read ``records`` records and dealt with each of them."""
    stats = runner.stats
    dealt_with = (
        stats.records_filtered_out
        + stats.records_delivered
        + stats.records_sent_to_dlq
        + stats.records_discarded
    )
    return stats.records_read == records and dealt_with == records


def test_the_synthesized_pipe_is_the_one_these_tests_run(
    template: dict[str, Any], table: Table, bus: Bus, dlq: Queue
) -> None:
    (properties,) = [
        resource["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Pipes::Pipe"
    ]
    resolved = json.loads(json.dumps(properties))
    resolved["Source"] = table.stream_arn
    resolved["Target"] = bus.arn
    resolved["SourceParameters"]["DynamoDBStreamParameters"]["DeadLetterConfig"]["Arn"] = dlq.arn

    from_template = PipeConfig.from_properties("JobClosed", resolved, lambda arn: dlq.url)
    expected = PipeConfig.from_properties(
        "JobClosed", job_closed_properties(table, bus, dlq), lambda arn: dlq.url
    )
    assert from_template == expected


def test_only_a_job_closing_reaches_the_bus_once(
    table: Table, bus: Bus, dlq: Queue, make_runner: Callable[..., PipeRunner]
) -> None:
    config = PipeConfig.from_properties(
        "JobClosed", job_closed_properties(table, bus, dlq), lambda arn: dlq.url
    )
    runner = make_runner(config).start()
    booking = Booking(table)
    booking.post()  # INSERT: filtered out
    booking.edit_open()  # unrelated MODIFY: filtered out
    booking.close()  # OPEN -> CLOSED: delivered
    booking.edit_closed()  # CLOSED -> CLOSED: filtered out

    wait_for(lambda: settled(runner, 4), what="4 records dealt with")
    (event,) = bus.delivered.receive(wait=2)
    detail = booking.check(event)
    assert detail.data.closed_at == dt.datetime(2025, 5, 20, 10, 15, 30, 123456, tzinfo=dt.UTC)
    assert bus.delivered.receive(wait=0.3) == []  # exactly once
    stats = runner.stats
    assert (stats.records_read, stats.records_filtered_out, stats.records_delivered) == (4, 3, 1)
    assert (stats.retries, stats.records_sent_to_dlq, stats.state) == (0, 0, "RUNNING")
    assert dlq.receive() == []


def test_a_restart_resumes_where_the_pipe_stopped(
    table: Table, bus: Bus, dlq: Queue, make_runner: Callable[..., PipeRunner]
) -> None:
    config = PipeConfig.from_properties(
        "JobClosed", job_closed_properties(table, bus, dlq), lambda arn: dlq.url
    )
    first, second = Booking(table), Booking(table)
    runner = make_runner(config).start()
    first.post()
    first.close()
    wait_for(lambda: settled(runner, 2), what="the first booking")
    runner.stop()
    assert runner.stats.state == "STOPPED"

    second.post()  # written while the pipe is stopped
    second.close()
    restarted = make_runner(config).start()
    wait_for(lambda: settled(restarted, 2), what="the second booking")

    events = bus.delivered.receive(wait=2) + bus.delivered.receive(wait=0.3)
    assert len(events) == 2
    first.check(events[0])
    second.check(events[1])
    assert restarted.stats.records_read == 2  # nothing read twice


def test_latest_starts_after_the_records_already_in_the_stream(
    table: Table, bus: Bus, dlq: Queue, make_runner: Callable[..., PipeRunner]
) -> None:
    config = PipeConfig.from_properties(
        "JobClosed",
        job_closed_properties(table, bus, dlq, StartingPosition="LATEST"),
        lambda arn: dlq.url,
    )
    before, while_stopped = Booking(table), Booking(table)
    before.post()
    before.close()
    runner = make_runner(config).start()
    wait_for(lambda: initialized(runner), what="LATEST fixed to a position")
    runner.stop()
    # LATEST was fixed to a position at the first start: a restart does not skip these.
    while_stopped.post()
    while_stopped.close()
    restarted = make_runner(config).start()
    wait_for(lambda: settled(restarted, 2), what="the booking written while stopped")
    (event,) = bus.delivered.receive(wait=2)
    while_stopped.check(event)
    assert runner.stats.records_read == 0


def initialized(runner: PipeRunner) -> bool:
    path = runner.state_path
    return path.exists() and bool(json.loads(path.read_text())["initialized"])


@pytest.fixture
def proxy(moto_endpoint: str) -> Iterator[BusProxy]:
    proxy = BusProxy(moto_endpoint)
    yield proxy
    proxy.close()


@pytest.mark.parametrize("failure", ["reject", "error"])
def test_a_failing_bus_is_retried_then_the_dlq_told_and_the_pipe_goes_on(
    failure: Literal["reject", "error"],
    table: Table,
    bus: Bus,
    dlq: Queue,
    proxy: BusProxy,
    make_runner: Callable[..., PipeRunner],
) -> None:
    config = PipeConfig.from_properties(
        "JobClosed",
        job_closed_properties(table, bus, dlq, MaximumRetryAttempts=3),
        lambda arn: dlq.url,
    )
    runner = make_runner(config, events_endpoint=proxy.endpoint).start()
    lost, later = Booking(table), Booking(table)
    proxy.mode = failure
    lost.post()
    lost.close()

    (message,) = wait_for(lambda: dlq.receive(), what="the DLQ message")
    assert len(proxy.put_events) == 1 + 3  # the first attempt and MaximumRetryAttempts
    records = table_records(table)
    assert message == {
        "context": {"partnerResourceArn": config.arn, "condition": "RetryAttemptsExhausted"},
        "version": "1.0",
        "timestamp": message["timestamp"],
        "DDBStreamBatchInfo": {
            "shardId": records[1]["shardId"],
            "startSequenceNumber": records[1]["sequenceNumber"],
            "endSequenceNumber": records[1]["sequenceNumber"],
            "approximateArrivalOfFirstRecord": message["DDBStreamBatchInfo"][
                "approximateArrivalOfFirstRecord"
            ],
            "approximateArrivalOfLastRecord": message["DDBStreamBatchInfo"][
                "approximateArrivalOfLastRecord"
            ],
            "batchSize": 1,
            "streamArn": table.stream_arn,
        },
    }
    assert message["timestamp"].endswith("Z")
    dt.datetime.fromisoformat(message["DDBStreamBatchInfo"]["approximateArrivalOfFirstRecord"])

    proxy.mode = "pass"  # the bus is back
    later.post()
    later.close()
    wait_for(lambda: settled(runner, 4), what="the later booking")
    (event,) = bus.delivered.receive(wait=2)
    later.check(event)
    stats = runner.stats
    assert (stats.retries, stats.records_sent_to_dlq, stats.dead_letter_messages) == (3, 1, 1)
    assert (stats.records_delivered, stats.delivery_failures) == (1, 4)
    assert stats.last_error is not None


def table_records(table: Table) -> list[dict[str, str]]:
    """Shard and sequence number of every record in the table's stream, in order."""
    streams = boto3.client(
        "dynamodbstreams",
        endpoint_url=table.client.meta.endpoint_url,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(proxies={}),
    )
    found = []
    description = streams.describe_stream(StreamArn=table.stream_arn)["StreamDescription"]
    for shard in description["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=table.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            response = streams.get_records(ShardIterator=iterator)
            found += [
                {"shardId": shard["ShardId"], "sequenceNumber": r["dynamodb"]["SequenceNumber"]}
                for r in response["Records"]
            ]
            iterator = response.get("NextShardIterator") if response["Records"] else None
    return found


def test_an_unreachable_bus_is_a_failure_too(
    table: Table, bus: Bus, dlq: Queue, make_runner: Callable[..., PipeRunner]
) -> None:
    closed_port = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    endpoint = f"http://127.0.0.1:{closed_port.server_address[1]}"
    closed_port.server_close()  # nothing listens there now
    config = PipeConfig.from_properties(
        "JobClosed",
        job_closed_properties(table, bus, dlq, MaximumRetryAttempts=1),
        lambda arn: dlq.url,
    )
    runner = make_runner(config, events_endpoint=endpoint).start()
    booking = Booking(table)
    booking.post()
    booking.close()

    (message,) = wait_for(lambda: dlq.receive(), what="the DLQ message")
    assert message["context"]["condition"] == "RetryAttemptsExhausted"
    assert (runner.stats.delivery_failures, runner.stats.retries) == (2, 1)
    assert "PutEvents" in (runner.stats.last_error or "")


def test_batches_hold_up_to_batch_size_records(
    table: Table,
    bus: Bus,
    dlq: Queue,
    proxy: BusProxy,
    make_runner: Callable[..., PipeRunner],
) -> None:
    # No filter and no template: every record goes on the bus as it is, 3 to a batch.
    config = PipeConfig(
        name="Everything",
        source=table.stream_arn,
        target=bus.arn,
        starting_position="TRIM_HORIZON",
        batch_size=3,
        maximum_batching_window_seconds=1,
        maximum_retry_attempts=0,
    )
    jobs = [items.job() for _ in range(7)]
    for job in jobs:
        table.put(items.job_image(job))
    runner = make_runner(config, events_endpoint=proxy.endpoint).start()
    wait_for(lambda: settled(runner, 7), what="7 records delivered")
    assert [entries for _, entries in proxy.put_events] == [3, 3, 1]

    events = bus.delivered.receive(wait=2)
    while len(events) < 7:
        events += wait_for(lambda: bus.delivered.receive(wait=0.5), what="all 7 events")
    assert {e["source"] for e in events} == {"Pipe Everything"}
    assert {e["detail-type"] for e in events} == {"Event from aws:dynamodb"}
    records = sorted((e["detail"] for e in events), key=lambda r: r["dynamodb"]["SequenceNumber"])
    assert [r["dynamodb"]["NewImage"]["id"]["S"] for r in records] == [j.id for j in jobs]
    assert records[0]["eventSource"] == "aws:dynamodb"
    assert records[0]["eventSourceARN"] == table.stream_arn
    assert isinstance(records[0]["dynamodb"]["ApproximateCreationDateTime"], int)

    # With the bus idle, one record waits for the batching window to close.
    started = time.monotonic()
    table.put(items.job_image(items.job()))
    wait_for(lambda: len(proxy.put_events) == 4, what="the windowed batch")
    waited = proxy.put_events[-1][0] - started
    assert 0.9 <= waited < 3.0  # generous: a loaded machine is slow, never early


class ShiftedClock:
    """Real time, ``offset`` seconds in the future: makes every record look old."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def time(self) -> float:
        return time.time() + self.offset

    def monotonic(self) -> float:
        return time.monotonic()


def test_records_older_than_the_age_limit_go_to_the_dlq_not_the_bus(
    table: Table, bus: Bus, dlq: Queue, make_runner: Callable[..., PipeRunner]
) -> None:
    config = PipeConfig.from_properties(
        "JobClosed",
        job_closed_properties(table, bus, dlq, MaximumRecordAgeInSeconds=60),
        lambda arn: dlq.url,
    )
    runner = make_runner(config, clock=ShiftedClock(offset=3600)).start()
    booking = Booking(table)
    booking.post()
    booking.close()

    (message,) = wait_for(lambda: dlq.receive(), what="the DLQ message")
    assert message["context"]["condition"] == "RecordAgeExceeded"
    assert message["DDBStreamBatchInfo"]["batchSize"] == 1
    wait_for(lambda: settled(runner, 2), what="both records dealt with")
    assert (runner.stats.records_expired, runner.stats.records_delivered) == (1, 0)
    assert bus.delivered.receive(wait=0.3) == []


def test_a_booking_reaches_the_bus_quickly(
    table: Table,
    bus: Bus,
    dlq: Queue,
    proxy: BusProxy,
    make_runner: Callable[..., PipeRunner],
) -> None:
    """Latency from the write to PutEvents and to the rule's queue, with default polling."""
    config = PipeConfig.from_properties(
        "JobClosed", job_closed_properties(table, bus, dlq), lambda arn: dlq.url
    )
    runner = make_runner(config, events_endpoint=proxy.endpoint, poll_interval=0.1).start()
    to_put_events, to_queue = [], []
    for sample in range(10):
        booking = Booking(table)
        booking.post()
        wait_for(lambda: settled(runner, 2 * sample + 1), what="the INSERT")  # noqa: B023
        # Idle now; write at a different point of the 0.1 s polling cycle each time.
        time.sleep(0.1 + 0.01 * sample)
        calls = len(proxy.put_events)
        written = time.monotonic()
        booking.close()
        (event,) = wait_for(lambda: bus.delivered.receive(), what="the event")
        to_queue.append(time.monotonic() - written)
        assert len(proxy.put_events) == calls + 1
        to_put_events.append(proxy.put_events[-1][0] - written)
        booking.check(event)

    def summary(seconds: list[float]) -> str:
        ms = sorted(round(s * 1000) for s in seconds)
        return f"min {ms[0]} / median {ms[len(ms) // 2]} / max {ms[-1]} ms"

    print(f"\nwrite -> PutEvents: {summary(to_put_events)}")
    print(f"write -> event in the rule's queue: {summary(to_queue)}")
    assert max(to_put_events) < 1.0  # typically about 0.1 s; generous for loaded machines

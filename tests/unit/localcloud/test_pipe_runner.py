"""The pipe runner's logic against in-memory fakes of DynamoDB Streams, EventBridge and SQS.

The fakes answer like the real APIs (boto3 shapes, ClientError codes) and let a test set up
what is hard to get from real servers: shard lineage, poison records, partial PutEvents
failures, a DLQ that fails, iterators that expire, old records. The same behaviour against
DynamoDB Local and moto is in tests/integration/localcloud/test_pipe_runner.py.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from events_schema.job_closed_pipe import DETAIL_TYPE, FILTER_PATTERN, INPUT_TEMPLATE, SOURCE
from localcloud.pipe_runner import (
    Backoff,
    PipeConfig,
    PipeConfigError,
    PipeRunner,
    PipeStateError,
    dead_letter_message,
    pipe_event,
)

STREAM_ARN = "arn:aws:dynamodb:ddblocal:000000000000:table/nanny/stream/2025-01-01T00:00:00.000"
BUS_ARN = "arn:aws:events:us-east-1:123456789012:event-bus/nanny"
DLQ_ARN = "arn:aws:sqs:us-east-1:123456789012:pipe-dlq"
DLQ_URL = "http://127.0.0.1:4566/123456789012/pipe-dlq"
PIPE_ARN = "arn:aws:pipes:us-east-1:123456789012:pipe/JobClosed"
FAST = Backoff(initial=0.001, maximum=0.005)


def error(code: str, operation: str = "Operation") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, operation)


def wait_for(condition: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {condition}")
        time.sleep(0.002)
    return value


# --- fakes ------------------------------------------------------------------------------------


@dataclass
class FakeShard:
    shard_id: str
    parent: str | None = None
    records: list[dict[str, Any]] = field(default_factory=list)
    closed: bool = False
    trimmed_before: int = 0  # records before this index are gone


class FakeStreams:
    """DynamoDB Streams: describe_stream (two shards a page), iterators, get_records."""

    def __init__(self) -> None:
        self.shards: dict[str, FakeShard] = {}
        self._sequence = itertools.count(1)
        self.lock = threading.Lock()
        self.expire_next_iterator = False
        self.describe_error: Exception | None = None

    def add_shard(self, shard_id: str, parent: str | None = None) -> FakeShard:
        with self.lock:
            shard = self.shards[shard_id] = FakeShard(shard_id, parent)
            return shard

    def write(
        self,
        shard_id: str,
        name: str = "INSERT",
        *,
        new: dict[str, Any] | None = None,
        old: dict[str, Any] | None = None,
        created: dt.datetime | None = None,
    ) -> str:
        sequence = f"{next(self._sequence):021d}"
        body: dict[str, Any] = {
            "ApproximateCreationDateTime": created or dt.datetime.now(dt.UTC),
            "Keys": {"PK": {"S": sequence}},
            "SequenceNumber": sequence,
            "SizeBytes": 10,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        }
        if new is not None:
            body["NewImage"] = new
        if old is not None:
            body["OldImage"] = old
        record = {
            "eventID": f"event-{sequence}",
            "eventName": name,
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": "ddblocal",
            "dynamodb": body,
        }
        with self.lock:
            self.shards[shard_id].records.append(record)
        return sequence

    # The fakes take boto3's keyword arguments, as the runner passes them.
    def describe_stream(self, **request: Any) -> Any:
        assert request["StreamArn"] == STREAM_ARN
        if self.describe_error is not None:
            raise self.describe_error
        with self.lock:
            shards = list(self.shards.values())
        if "ExclusiveStartShardId" in request:
            ids = [s.shard_id for s in shards]
            shards = shards[ids.index(request["ExclusiveStartShardId"]) + 1 :]
        page, rest = shards[:2], shards[2:]
        description: dict[str, Any] = {
            "StreamArn": request["StreamArn"],
            "Shards": [self._describe(shard) for shard in page],
        }
        if rest:
            description["LastEvaluatedShardId"] = page[-1].shard_id
        return {"StreamDescription": description}

    @staticmethod
    def _describe(shard: FakeShard) -> dict[str, Any]:
        numbers = [r["dynamodb"]["SequenceNumber"] for r in shard.records]
        span = {"StartingSequenceNumber": numbers[0] if numbers else "0"}
        if shard.closed:
            span["EndingSequenceNumber"] = numbers[-1] if numbers else "0"
        description: dict[str, Any] = {"ShardId": shard.shard_id, "SequenceNumberRange": span}
        if shard.parent is not None:
            description["ParentShardId"] = shard.parent
        return description

    def get_shard_iterator(self, **request: Any) -> Any:
        shard_id, kind = request["ShardId"], request["ShardIteratorType"]
        with self.lock:
            shard = self.shards.get(shard_id)
            if shard is None:
                raise error("ResourceNotFoundException", "GetShardIterator")
            if kind == "TRIM_HORIZON":
                position = shard.trimmed_before
            elif kind == "LATEST":
                position = len(shard.records)
            else:
                numbers = [r["dynamodb"]["SequenceNumber"] for r in shard.records]
                index = numbers.index(request["SequenceNumber"])
                if index < shard.trimmed_before:
                    raise error("TrimmedDataAccessException", "GetShardIterator")
                position = index + 1
        return {"ShardIterator": f"{shard_id}|{position}"}

    def get_records(self, ShardIterator: str, Limit: int) -> Any:  # noqa: N803
        if self.expire_next_iterator:
            self.expire_next_iterator = False
            raise error("ExpiredIteratorException", "GetRecords")
        shard_id, position_text = ShardIterator.split("|")
        position = int(position_text)
        with self.lock:
            shard = self.shards[shard_id]
            records = shard.records[position : position + Limit]
            end = position + len(records)
            at_end = shard.closed and end >= len(shard.records)
        response: dict[str, Any] = {"Records": json.loads(json.dumps(records, default=str))}
        for raw, copied in zip(records, response["Records"], strict=True):
            copied["dynamodb"]["ApproximateCreationDateTime"] = raw["dynamodb"][
                "ApproximateCreationDateTime"
            ]
        if not at_end:
            response["NextShardIterator"] = f"{shard_id}|{end}"
        return response


class FakeEvents:
    """PutEvents: records each call; ``answer`` decides per entry (True: accepted)."""

    def __init__(self) -> None:
        self.calls: list[list[dict[str, Any]]] = []
        self.accepted_calls: list[list[dict[str, Any]]] = []
        self.answer: Callable[[dict[str, Any]], bool] = lambda entry: True
        self.raise_if: Callable[[list[dict[str, Any]]], Exception | None] = lambda entries: None

    @property
    def delivered(self) -> list[dict[str, Any]]:
        """Every entry the fake accepted, in order."""
        return [entry for call in self.accepted_calls for entry in call]

    def put_events(self, Entries: list[dict[str, Any]]) -> Any:  # noqa: N803
        self.calls.append(Entries)
        failure = self.raise_if(Entries)
        if failure is not None:
            raise failure
        results, accepted = [], []
        for index, entry in enumerate(Entries):
            if self.answer(entry):
                results.append({"EventId": f"id-{len(self.calls)}-{index}"})
                accepted.append(entry)
            else:
                results.append({"ErrorCode": "InternalFailure", "ErrorMessage": "no"})
        self.accepted_calls.append(accepted)
        failed = len(Entries) - len(accepted)
        return {"FailedEntryCount": failed, "Entries": results}


class FakeSqs:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.failures_left = 0

    def get_queue_url(self, QueueName: str, QueueOwnerAWSAccountId: str) -> Any:  # noqa: N803
        assert (QueueName, QueueOwnerAWSAccountId) == ("pipe-dlq", "123456789012")
        return {"QueueUrl": DLQ_URL}

    def send_message(self, QueueUrl: str, MessageBody: str) -> Any:  # noqa: N803
        assert QueueUrl == DLQ_URL
        if self.failures_left:
            self.failures_left -= 1
            raise EndpointConnectionError(endpoint_url=QueueUrl)
        self.messages.append(json.loads(MessageBody))
        return {"MessageId": str(len(self.messages))}


class Clock:
    """Real monotonic time (the runner's waits are real); ``time()`` can be moved on."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset

    def monotonic(self) -> float:
        return time.monotonic()


@dataclass
class World:
    streams: FakeStreams
    events: FakeEvents
    sqs: FakeSqs
    clock: Clock
    state_dir: Path
    runners: list[PipeRunner] = field(default_factory=list)

    def runner(self, config: PipeConfig, **options: Any) -> PipeRunner:
        clients = {"dynamodbstreams": self.streams, "events": self.events, "sqs": self.sqs}
        options.setdefault("backoff", FAST)
        runner = PipeRunner(
            config,
            dynamodb_endpoint="http://ddb",
            events_endpoint="http://events",
            sqs_endpoint="http://sqs",
            state_dir=self.state_dir,
            clock=self.clock,
            poll_interval=0.002,
            shard_refresh_interval=0.01,
            client_factory=lambda service, endpoint, region: clients[service],
            **options,
        )
        self.runners.append(runner)
        return runner

    def state(self, name: str = "JobClosed") -> dict[str, Any]:
        path = self.state_dir / f"{name}.json"
        state: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        return state

    def position(self, shard_id: str) -> str | None:
        """The checkpointed sequence number of ``shard_id``, if any yet."""
        position: str | None = (
            self.state().get("shards", {}).get(shard_id, {}).get("sequenceNumber")
        )
        return position


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    world = World(FakeStreams(), FakeEvents(), FakeSqs(), Clock(), tmp_path)
    threads_before = set(threading.enumerate())
    yield world
    for runner in world.runners:
        runner.stop()  # raises if its thread does not end
    started = set(threading.enumerate()) - threads_before
    assert not [t.name for t in started if t.name.startswith("pipe-")]


def config(**changes: Any) -> PipeConfig:
    """A pipe with no filter and no template: every record goes on the bus as it is."""
    fields: dict[str, Any] = {
        "name": "JobClosed",
        "source": STREAM_ARN,
        "target": BUS_ARN,
        "starting_position": "TRIM_HORIZON",
        "batch_size": 10,
        "maximum_retry_attempts": 2,
        "dead_letter_arn": DLQ_ARN,
    }
    return PipeConfig(**{**fields, **changes})


def sequences(entries: list[dict[str, Any]]) -> list[str]:
    return [json.loads(entry["Detail"])["dynamodb"]["SequenceNumber"] for entry in entries]


# --- configuration ----------------------------------------------------------------------------

PROJECT_PIPE: dict[str, Any] = {
    # As `cdk synth` writes stacks/events.py's pipe, with the intrinsics resolved.
    "Description": "Job items OPEN -> CLOSED from the table stream, as JobClosed events",
    "DesiredState": "RUNNING",
    "LogConfiguration": {"CloudwatchLogsLogDestination": {"LogGroupArn": "arn:logs"}},
    "RoleArn": "arn:aws:iam::123456789012:role/pipe",
    "Source": STREAM_ARN,
    "SourceParameters": {
        "DynamoDBStreamParameters": {
            "BatchSize": 10,
            "DeadLetterConfig": {"Arn": DLQ_ARN},
            "MaximumRecordAgeInSeconds": 3600,
            "MaximumRetryAttempts": 10,
            "OnPartialBatchItemFailure": "AUTOMATIC_BISECT",
            "StartingPosition": "TRIM_HORIZON",
        },
        "FilterCriteria": {"Filters": [{"Pattern": json.dumps(FILTER_PATTERN)}]},
    },
    "Target": BUS_ARN,
    "TargetParameters": {
        "EventBridgeEventBusParameters": {"DetailType": DETAIL_TYPE, "Source": SOURCE},
        "InputTemplate": INPUT_TEMPLATE,
    },
}


def test_the_project_pipe_becomes_a_config() -> None:
    resolved: list[str] = []

    def queue_url(arn: str) -> str:
        resolved.append(arn)
        return DLQ_URL

    pipe = PipeConfig.from_properties("JobClosed", PROJECT_PIPE, queue_url)
    assert pipe == PipeConfig(
        name="JobClosed",
        source=STREAM_ARN,
        target=BUS_ARN,
        starting_position="TRIM_HORIZON",
        batch_size=10,
        maximum_batching_window_seconds=0,
        maximum_retry_attempts=10,
        maximum_record_age_seconds=3600,
        on_partial_batch_item_failure="AUTOMATIC_BISECT",
        dead_letter_arn=DLQ_ARN,
        dead_letter_queue_url=DLQ_URL,
        filter_patterns=(json.dumps(FILTER_PATTERN),),
        input_template=INPUT_TEMPLATE,
        event_source=SOURCE,
        detail_type=DETAIL_TYPE,
    )
    assert resolved == [DLQ_ARN]
    assert pipe.arn == PIPE_ARN
    assert pipe.region == "us-east-1"
    given = "arn:aws:pipes:us-east-1:123456789012:pipe/NannyBooking-JobClosed"
    assert PipeConfig.from_properties("JobClosed", PROJECT_PIPE, arn=given).arn == given
    with pytest.raises(PipeConfigError, match="not a pipe ARN"):
        PipeConfig.from_properties("JobClosed", PROJECT_PIPE, arn=BUS_ARN)


def test_minimal_properties_take_aws_defaults() -> None:
    pipe = PipeConfig.from_properties(
        "p",
        {
            "Source": STREAM_ARN,
            "Target": BUS_ARN,
            "SourceParameters": {
                "DynamoDBStreamParameters": {
                    "StartingPosition": "LATEST",
                    "MaximumRetryAttempts": "3",  # CloudFormation allows numbers as strings
                }
            },
        },
    )
    assert (pipe.batch_size, pipe.maximum_batching_window_seconds) == (1, 0)
    assert (pipe.maximum_retry_attempts, pipe.maximum_record_age_seconds) == (3, -1)
    assert (pipe.dead_letter_arn, pipe.filter_patterns, pipe.input_template) == (None, (), None)


def _with(path: str, value: Any) -> dict[str, Any]:
    """PROJECT_PIPE with the property at ``path`` (dotted) set, or deleted if value is ..."""
    properties: dict[str, Any] = json.loads(json.dumps(PROJECT_PIPE))
    *parents, leaf = path.split(".")
    node: Any = properties
    for name in parents:
        node = node[name]
    if value is ...:
        del node[leaf]
    else:
        node[leaf] = value
    return properties


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("Enrichment", "arn:aws:lambda:us-east-1:1:function:f", "does not support ['Enrichment']"),
        ("Source", {"Fn::GetAtt": ["Table", "StreamArn"]}, "must be resolved first"),
        ("Source", "arn:aws:sqs:us-east-1:1:q", "reads DynamoDB streams only"),
        ("Target", "arn:aws:lambda:us-east-1:1:function:f", "event buses only"),
        ("SourceParameters.DynamoDBStreamParameters.BatchSize", 11, "1 to 10 records"),
        ("SourceParameters.DynamoDBStreamParameters.BatchSize", True, "must be an integer"),
        ("SourceParameters.DynamoDBStreamParameters.MaximumRetryAttempts", -2, "-1..10000"),
        ("SourceParameters.DynamoDBStreamParameters.StartingPosition", "AT_TIMESTAMP", "LATEST"),
        ("SourceParameters.DynamoDBStreamParameters.StartingPosition", ..., "must be a string"),
        (
            "SourceParameters.DynamoDBStreamParameters.DeadLetterConfig.Arn",
            "arn:aws:sns:us-east-1:1:topic",
            "not an SQS queue ARN",
        ),
        ("SourceParameters.SqsQueueParameters", {"BatchSize": 1}, "SqsQueueParameters"),
        ("SourceParameters.DynamoDBStreamParameters", ..., "is required"),
        ("SourceParameters.FilterCriteria.Filters", [{"Pattern": "{"}], "not valid JSON"),
        ("SourceParameters.FilterCriteria.Filters", [{"Pattern": '{"a": 1}'}], "Filters[0]"),
        ("TargetParameters.SqsQueueParameters", {}, "SqsQueueParameters"),
        ("TargetParameters.EventBridgeEventBusParameters.Resources", "r", "list of strings"),
        ("TargetParameters.InputTemplate", "  ", "must not be blank"),
    ],
)
def test_what_the_runner_cannot_run_is_refused(path: str, value: Any, message: str) -> None:
    with pytest.raises(PipeConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        PipeConfig.from_properties("JobClosed", _with(path, value))


def test_retrying_forever_is_refused_unless_the_record_age_bounds_it() -> None:
    with pytest.raises(PipeConfigError, match="refuses to retry a failing batch forever"):
        config(maximum_retry_attempts=-1, maximum_record_age_seconds=-1)
    bounded = config(maximum_retry_attempts=-1, maximum_record_age_seconds=60)
    assert bounded.maximum_retry_attempts == -1


def test_backoff_doubles_up_to_its_maximum() -> None:
    backoff = Backoff(initial=0.5, maximum=3.0)
    assert [backoff.delay(n) for n in (1, 2, 3, 4, 10_000)] == [0.5, 1.0, 2.0, 3.0, 3.0]


# --- shapes -----------------------------------------------------------------------------------


def test_a_stream_record_becomes_the_pipes_source_event() -> None:
    created = dt.datetime(2025, 5, 20, 10, 15, tzinfo=dt.UTC)
    record = {
        "eventID": "e1",
        "eventName": "MODIFY",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": created,
            "Keys": {"PK": {"S": "JOB#1"}},
            "NewImage": {"blob": {"B": b"\x00\xff"}, "set": {"BS": [b"a"]}},
            "SequenceNumber": "100",
            "SizeBytes": 20,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }
    event = pipe_event(record, STREAM_ARN)
    assert event == {
        "eventID": "e1",
        "eventName": "MODIFY",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1747736100,
            "Keys": {"PK": {"S": "JOB#1"}},
            "NewImage": {"blob": {"B": "AP8="}, "set": {"BS": ["YQ=="]}},
            "SequenceNumber": "100",
            "SizeBytes": 20,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": STREAM_ARN,
    }
    json.dumps(event)  # JSON all the way down


def test_the_dlq_message_names_the_records_position_not_their_content() -> None:
    first = {"dynamodb": {"SequenceNumber": "100", "ApproximateCreationDateTime": 1747736100}}
    last = {"dynamodb": {"SequenceNumber": "105", "ApproximateCreationDateTime": 1747736160}}
    message = dead_letter_message(
        pipe_arn=PIPE_ARN,
        condition="RetryAttemptsExhausted",
        stream_arn=STREAM_ARN,
        shard_id="shardId-1",
        events=[first, last],
        timestamp=1747736170.5,
    )
    assert message == {
        "context": {"partnerResourceArn": PIPE_ARN, "condition": "RetryAttemptsExhausted"},
        "version": "1.0",
        "timestamp": "2025-05-20T10:16:10.500Z",
        "DDBStreamBatchInfo": {
            "shardId": "shardId-1",
            "startSequenceNumber": "100",
            "endSequenceNumber": "105",
            "approximateArrivalOfFirstRecord": "2025-05-20T10:15:00Z",
            "approximateArrivalOfLastRecord": "2025-05-20T10:16:00Z",
            "batchSize": 2,
            "streamArn": STREAM_ARN,
        },
    }


# --- running ------------------------------------------------------------------------------------


def _job(status: str, **extra: str) -> dict[str, Any]:
    image = {
        "entity": {"S": "JOB"},
        "jobStatus": {"S": status},
        "id": {"S": "job-1"},
        "parentUsername": {"S": "parent-ann"},
        "correlationId": {"S": "corr-1"},
    }
    return image | {name: {"S": value} for name, value in extra.items()}


def test_the_project_pipe_filters_transforms_and_puts_on_the_bus(world: World) -> None:
    world.streams.add_shard("shard-1")
    world.streams.write("shard-1", "INSERT", new=_job("OPEN"))
    closed = _job(
        "CLOSED",
        acceptedApplicationId="app-1",
        acceptedApplicant="nanny-bea",
        closedAt="2025-05-20T10:15:30.123456+00:00",
    )
    world.streams.write("shard-1", "MODIFY", old=_job("OPEN"), new=closed)
    world.streams.write("shard-1", "MODIFY", old=closed, new=closed)
    runner = world.runner(PipeConfig.from_properties("JobClosed", PROJECT_PIPE, lambda a: DLQ_URL))
    runner.start()
    wait_for(lambda: runner.stats.records_filtered_out + runner.stats.records_delivered == 3)

    (entry,) = world.events.delivered
    assert entry["Source"] == SOURCE
    assert entry["DetailType"] == DETAIL_TYPE
    assert entry["EventBusName"] == BUS_ARN
    assert set(entry) == {"Source", "DetailType", "Detail", "EventBusName"}
    detail = json.loads(entry["Detail"])
    created_at = detail["metadata"].pop("createdAt")
    assert abs(dt.datetime.fromisoformat(created_at).timestamp() - time.time()) < 5
    assert detail == {
        "metadata": {"version": "1", "correlationId": "corr-1"},
        "data": {
            "jobId": "job-1",
            "parentUsername": "parent-ann",
            "acceptedApplicationId": "app-1",
            "acceptedApplicant": "nanny-bea",
            "closedAt": "2025-05-20T10:15:30.123456+00:00",
        },
    }
    # Every record counts for the position, filtered out or not.
    wait_for(lambda: world.position("shard-1") == f"{3:021d}")
    assert runner.stats.as_dict()["records_read"] == 3


def test_target_parameters_may_be_paths_into_the_record(world: World) -> None:
    world.streams.add_shard("shard-1")
    world.streams.write(
        "shard-1", "INSERT", created=dt.datetime(2025, 5, 20, 10, 15, tzinfo=dt.UTC)
    )
    runner = world.runner(
        config(
            detail_type="$.eventName",
            event_source="$.eventSource",
            resources=("$.eventSourceARN", "arn:static", "$.missing"),
            time="$.dynamodb.ApproximateCreationDateTime",
            input_template='{"pipe": "<aws.pipes.pipe-name>", "arn": "<aws.pipes.pipe-arn>"}',
        )
    ).start()
    (entry,) = wait_for(lambda: world.events.delivered)
    assert entry["DetailType"] == "INSERT"
    assert entry["Source"] == "aws:dynamodb"
    assert entry["Resources"] == [STREAM_ARN, "arn:static"]
    assert entry["Time"] == dt.datetime(2025, 5, 20, 10, 15, tzinfo=dt.UTC)
    assert json.loads(entry["Detail"]) == {"pipe": "JobClosed", "arn": PIPE_ARN}
    runner.stop()


def test_children_are_read_after_their_parents_and_new_shards_are_found(world: World) -> None:
    streams = world.streams
    # Listed child first: order of listing must not matter, lineage does.
    streams.add_shard("child", parent="parent")
    streams.add_shard("parent")
    parent = [streams.write("parent") for _ in range(3)]
    streams.shards["parent"].closed = True
    child = [streams.write("child") for _ in range(2)]
    runner = world.runner(config(batch_size=2)).start()
    wait_for(lambda: len(world.events.delivered) == 5)
    assert sequences(world.events.delivered) == parent + child

    # The child is split in its turn, later: its new child is found and read after it.
    streams.add_shard("grandchild", parent="child")
    grandchild = streams.write("grandchild")
    streams.shards["child"].closed = True
    wait_for(lambda: len(world.events.delivered) == 6)
    assert sequences(world.events.delivered)[-1] == grandchild
    wait_for(lambda: runner.stats.shards_finished == 2)
    state = world.state()["shards"]
    assert state["parent"]["finished"]
    assert state["child"]["finished"]

    # A shard trimmed from the stream is forgotten once it is done.
    del streams.shards["parent"]
    wait_for(lambda: "parent" not in world.state().get("shards", {}))


def test_a_restart_resumes_after_the_last_record_dealt_with(world: World) -> None:
    world.streams.add_shard("shard-1")
    first = [world.streams.write("shard-1") for _ in range(3)]
    runner = world.runner(config()).start()
    wait_for(lambda: len(world.events.delivered) == 3)
    runner.stop()

    second = [world.streams.write("shard-1") for _ in range(2)]
    restarted = world.runner(config()).start()
    wait_for(lambda: len(world.events.delivered) == 5)
    assert sequences(world.events.delivered) == first + second
    assert restarted.stats.records_read == 2


def test_a_checkpoint_for_another_stream_is_not_used(world: World) -> None:
    (world.state_dir / "JobClosed.json").write_text(
        json.dumps(
            {
                "source": STREAM_ARN.replace("2025", "2024"),
                "initialized": True,
                "shards": {"shard-1": {"sequenceNumber": f"{2:021d}"}},
            }
        )
    )
    world.streams.add_shard("shard-1")
    written = [world.streams.write("shard-1") for _ in range(3)]
    world.runner(config()).start()
    wait_for(lambda: len(world.events.delivered) == 3)
    assert sequences(world.events.delivered) == written


def test_an_unreadable_checkpoint_stops_the_start(world: World) -> None:
    (world.state_dir / "JobClosed.json").write_text("{not json")
    with pytest.raises(PipeStateError, match="fix or delete it"):
        world.runner(config()).start()


def test_latest_skips_what_is_there_and_closed_shards(world: World) -> None:
    streams = world.streams
    streams.add_shard("old")
    streams.write("old")
    streams.shards["old"].closed = True
    streams.add_shard("open", parent="old")
    streams.write("open")
    runner = world.runner(config(starting_position="LATEST")).start()
    wait_for(lambda: world.state().get("initialized"))
    new = streams.write("open")
    wait_for(lambda: world.events.delivered)
    assert sequences(world.events.delivered) == [new]
    assert runner.stats.records_read == 1


def test_an_expired_iterator_is_reopened_after_the_last_record_read(world: World) -> None:
    world.streams.add_shard("shard-1")
    first = world.streams.write("shard-1")
    runner = world.runner(config()).start()
    wait_for(lambda: world.events.delivered)
    world.streams.expire_next_iterator = True
    second = world.streams.write("shard-1")
    wait_for(lambda: len(world.events.delivered) == 2)
    assert sequences(world.events.delivered) == [first, second]
    assert runner.stats.records_read == 2


def test_a_trimmed_checkpoint_reads_from_the_oldest_record_left(world: World) -> None:
    world.streams.add_shard("shard-1")
    written = [world.streams.write("shard-1") for _ in range(4)]
    world.state_dir.mkdir(exist_ok=True)
    (world.state_dir / "JobClosed.json").write_text(
        json.dumps(
            {
                "source": STREAM_ARN,
                "initialized": True,
                "shards": {"shard-1": {"sequenceNumber": written[0]}},
            }
        )
    )
    world.streams.shards["shard-1"].trimmed_before = 2
    world.runner(config()).start()
    wait_for(lambda: len(world.events.delivered) == 2)
    assert sequences(world.events.delivered) == written[2:]


def test_source_errors_are_waited_out(world: World) -> None:
    world.streams.add_shard("shard-1")
    world.streams.describe_error = EndpointConnectionError(endpoint_url="http://ddb")
    runner = world.runner(config()).start()
    wait_for(lambda: runner.stats.last_error)
    assert "DescribeStream" in (runner.stats.last_error or "")
    world.streams.describe_error = None
    world.streams.write("shard-1")
    wait_for(lambda: world.events.delivered)


# --- failures ---------------------------------------------------------------------------------


def test_bisecting_isolates_the_record_that_fails(world: World) -> None:
    world.streams.add_shard("shard-1")
    written = [world.streams.write("shard-1") for _ in range(5)]
    poison = written[3]
    world.events.raise_if = lambda entries: (
        error("InternalException", "PutEvents") if poison in sequences(entries) else None
    )
    runner = world.runner(
        config(on_partial_batch_item_failure="AUTOMATIC_BISECT", maximum_retry_attempts=1)
    ).start()
    wait_for(lambda: runner.stats.records_delivered == 4 and world.sqs.messages)

    assert sorted(sequences(world.events.delivered)) == [s for s in written if s != poison]
    # 5 -> [2, 3] -> [3] = [1, 2] -> [2] = [1, 1]: the poison alone, then its one retry.
    assert [len(call) for call in world.events.calls] == [5, 2, 3, 1, 2, 1, 1, 1]
    (message,) = world.sqs.messages
    info = message["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"]) == (poison, poison)
    assert (info["batchSize"], message["context"]["condition"]) == (1, "RetryAttemptsExhausted")
    wait_for(lambda: world.position("shard-1") == written[-1])
    stats = runner.stats
    assert (stats.records_delivered, stats.records_sent_to_dlq, stats.dead_letter_messages) == (
        4,
        1,
        1,
    )


def test_without_bisect_the_whole_batch_goes_to_the_dlq(world: World) -> None:
    world.streams.add_shard("shard-1")
    written = [world.streams.write("shard-1") for _ in range(3)]
    world.events.raise_if = lambda entries: error("InternalException", "PutEvents")
    runner = world.runner(config(maximum_retry_attempts=2)).start()
    (message,) = wait_for(lambda: world.sqs.messages)
    assert len(world.events.calls) == 3
    info = message["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"]) == (written[0], written[-1])
    assert info["batchSize"] == 3
    assert (runner.stats.retries, runner.stats.delivery_failures) == (2, 3)


def test_only_the_entries_putevents_rejected_are_retried(world: World) -> None:
    world.streams.add_shard("shard-1")
    written = [world.streams.write("shard-1") for _ in range(4)]
    world.events.answer = lambda entry: sequences([entry]) != [written[1]]
    runner = world.runner(config(maximum_retry_attempts=2)).start()
    (message,) = wait_for(lambda: world.sqs.messages)
    assert [len(call) for call in world.events.calls] == [4, 1, 1]
    assert sequences(world.events.delivered) == [written[0], written[2], written[3]]
    assert message["DDBStreamBatchInfo"]["startSequenceNumber"] == written[1]
    assert runner.stats.records_delivered == 3


def test_the_position_waits_for_the_dlq_to_take_the_message(world: World) -> None:
    world.streams.add_shard("shard-1")
    written = world.streams.write("shard-1")
    world.events.answer = lambda entry: False
    world.sqs.failures_left = 3
    runner = world.runner(config(maximum_retry_attempts=0)).start()
    wait_for(lambda: world.sqs.messages)
    wait_for(lambda: world.position("shard-1") == written)
    assert world.sqs.failures_left == 0
    assert runner.stats.dead_letter_messages == 1
    assert "DLQ" in (runner.stats.last_error or "")


def test_without_a_dlq_given_up_records_are_dropped_and_counted(world: World) -> None:
    world.streams.add_shard("shard-1")
    written = world.streams.write("shard-1")
    world.events.answer = lambda entry: False
    runner = world.runner(config(maximum_retry_attempts=0, dead_letter_arn=None)).start()
    wait_for(lambda: runner.stats.records_discarded == 1)
    wait_for(lambda: world.position("shard-1") == written)
    assert world.sqs.messages == []


def test_a_record_the_template_cannot_render_fails_like_a_rejected_entry(world: World) -> None:
    world.streams.add_shard("shard-1")
    world.streams.write("shard-1")
    runner = world.runner(
        config(input_template='{"all": <$.dynamodb..Keys>}', maximum_retry_attempts=1)
    ).start()
    (message,) = wait_for(lambda: world.sqs.messages)
    assert message["context"]["condition"] == "RetryAttemptsExhausted"
    assert world.events.calls == []  # nothing worth sending
    assert "not supported" in (runner.stats.last_error or "")


def test_infinite_retries_end_when_the_record_is_too_old(world: World) -> None:
    world.streams.add_shard("shard-1")
    world.streams.write("shard-1")
    world.events.answer = lambda entry: False
    runner = world.runner(
        config(maximum_retry_attempts=-1, maximum_record_age_seconds=60),
        backoff=Backoff(initial=0.005, maximum=0.005),
    ).start()
    wait_for(lambda: runner.stats.retries >= 3)
    assert world.sqs.messages == []
    world.clock.offset = 125.0  # past the age limit, even if stamped a minute early
    (message,) = wait_for(lambda: world.sqs.messages)
    assert message["context"]["condition"] == "RecordAgeExceeded"
    assert runner.stats.records_expired == 1


def test_the_age_limit_allows_for_a_creation_time_stamped_to_the_minute(world: World) -> None:
    world.streams.add_shard("shard-1")
    # DynamoDB Local stamps 10:15:59 as 10:15:00; 61 s later the record may be 2 s old.
    stamped = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=61)
    world.streams.write("shard-1", created=stamped)
    runner = world.runner(config(maximum_record_age_seconds=60)).start()
    wait_for(lambda: world.events.delivered)
    assert runner.stats.records_expired == 0


# --- lifecycle --------------------------------------------------------------------------------


def test_start_stop_and_status(world: World) -> None:
    world.streams.add_shard("shard-1")
    runner = world.runner(config())
    before = (runner.running, runner.stats.state)
    with runner:
        during = (runner.running, runner.stats.state)
        with pytest.raises(RuntimeError, match="already running"):
            runner.start()
    after = (runner.running, runner.stats.state)
    assert [before, during, after] == [(False, "STOPPED"), (True, "RUNNING"), (False, "STOPPED")]
    runner.stop()  # twice is fine

"""PutEvents through the edge router: rules, targets and their input, as EventBridge delivers.

moto (server mode) keeps buses, rules and targets; the router builds each event, matches
the rules and delivers to SQS, SNS, Lambda (a callback here) and other buses.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from localcloud.dynamodb_local import local_client
from localcloud.edge_router import EdgeRouter

REGION = "us-east-1"
WAIT_SECONDS = 5.0
# Nothing listens on the discard port: these tests never touch DynamoDB.
NO_DYNAMODB = "http://127.0.0.1:9"


class LambdaCalls:
    """The router's ``invoke_function``: records calls, lets a test wait for them."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self._changed = threading.Condition()

    def __call__(self, name: str, event: Any) -> None:
        with self._changed:
            self.calls.append((name, event))
            self._changed.notify_all()

    def wait_for(self, name: str, timeout: float = WAIT_SECONDS) -> list[Any]:
        with self._changed:
            self._changed.wait_for(lambda: any(call[0] == name for call in self.calls), timeout)
            return [event for called, event in self.calls if called == name]


def client(service: str, endpoint: str) -> Any:
    return local_client(endpoint, service, Config(retries={"total_max_attempts": 1}))


@pytest.fixture(scope="module")
def lambda_calls() -> LambdaCalls:
    return LambdaCalls()


@pytest.fixture(scope="module")
def router(
    moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory, lambda_calls: LambdaCalls
) -> Iterator[EdgeRouter]:
    state_dir: Path = tmp_path_factory.mktemp("edge-events")
    with EdgeRouter(
        NO_DYNAMODB, moto_endpoint, port=0, state_dir=state_dir, invoke_function=lambda_calls
    ) as running:
        yield running


@pytest.fixture(scope="module")
def events(router: EdgeRouter) -> Any:
    return client("events", router.endpoint_url)


@pytest.fixture(scope="module")
def sqs(router: EdgeRouter) -> Any:
    return client("sqs", router.endpoint_url)


@pytest.fixture
def bus(events: Any) -> str:
    name = f"bus-{uuid.uuid4().hex[:8]}"
    events.create_event_bus(Name=name)
    return name


def new_queue(sqs: Any, prefix: str = "q") -> tuple[str, str]:
    url: str = sqs.create_queue(QueueName=f"{prefix}-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn: str = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


def add_rule(events: Any, bus: str, targets: list[dict[str, Any]], **pattern: Any) -> str:
    name = f"rule-{uuid.uuid4().hex[:8]}"
    arn: str = events.put_rule(
        Name=name, EventBusName=bus, EventPattern=json.dumps(pattern or {"source": ["test"]})
    )["RuleArn"]
    events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
    return arn


def receive(sqs: Any, url: str, count: int, timeout: float = WAIT_SECONDS) -> list[dict[str, Any]]:
    """Exactly the messages there are, once ``count`` have arrived (or the time is up)."""
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(messages) < count and time.monotonic() < deadline:
        messages += sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", [])
    return messages


def put(events: Any, bus: str, detail: dict[str, Any], **entry: Any) -> str:
    answer = events.put_events(
        Entries=[
            {
                "EventBusName": bus,
                "Source": "test",
                "DetailType": "Tested",
                "Detail": json.dumps(detail),
                **entry,
            }
        ]
    )
    assert answer["FailedEntryCount"] == 0, answer
    event_id: str = answer["Entries"][0]["EventId"]
    return event_id


def test_an_sqs_target_receives_the_whole_event(events: Any, sqs: Any, bus: str) -> None:
    url, arn = new_queue(sqs)
    add_rule(events, bus, [{"Id": "queue", "Arn": arn}])
    at = datetime(2024, 5, 1, 12, 30, 15, tzinfo=UTC)

    event_id = put(events, bus, {"jobId": "job-1"}, Time=at, Resources=["arn:aws:x"])

    (message,) = receive(sqs, url, 1)
    assert json.loads(message["Body"]) == {
        "version": "0",
        "id": event_id,
        "detail-type": "Tested",
        "source": "test",
        "account": "123456789012",
        "time": "2024-05-01T12:30:15Z",
        "region": REGION,
        "resources": ["arn:aws:x"],
        "detail": {"jobId": "job-1"},
    }


def test_only_enabled_rules_whose_pattern_matches_deliver(events: Any, sqs: Any, bus: str) -> None:
    url, arn = new_queue(sqs)
    add_rule(events, bus, [{"Id": "q", "Arn": arn}], detail={"n": [{"numeric": [">", 1]}]})
    disabled = add_rule(events, bus, [{"Id": "q", "Arn": arn}])
    events.disable_rule(Name=disabled.rpartition("/")[2], EventBusName=bus)

    put(events, bus, {"n": 1})
    put(events, bus, {"n": 2})

    messages = receive(sqs, url, 2, timeout=1.0)
    assert [json.loads(m["Body"])["detail"] for m in messages] == [{"n": 2}]


def test_target_input_input_path_and_input_transformer(events: Any, sqs: Any, bus: str) -> None:
    constant_url, constant_arn = new_queue(sqs)
    path_url, path_arn = new_queue(sqs)
    transformed_url, transformed_arn = new_queue(sqs)
    rule_arn = add_rule(
        events,
        bus,
        [
            {"Id": "constant", "Arn": constant_arn, "Input": '{"fixed": true}'},
            {"Id": "path", "Arn": path_arn, "InputPath": "$.detail"},
            {
                "Id": "transformed",
                "Arn": transformed_arn,
                "InputTransformer": {
                    "InputPathsMap": {"job": "$.detail.jobId", "count": "$.detail.count"},
                    # moto 5.2.5 fails the whole PutEvents on this template: an unquoted
                    # string and a value of 0.
                    "InputTemplate": '{"job": <job>, "count": <count>, '
                    '"text": "job <job>", "rule": "<aws.events.rule-name>"}',
                },
            },
        ],
    )

    put(events, bus, {"jobId": "job-7", "count": 0})

    assert json.loads(receive(sqs, constant_url, 1)[0]["Body"]) == {"fixed": True}
    assert json.loads(receive(sqs, path_url, 1)[0]["Body"]) == {"jobId": "job-7", "count": 0}
    assert json.loads(receive(sqs, transformed_url, 1)[0]["Body"]) == {
        "job": "job-7",
        "count": 0,
        "text": "job job-7",
        "rule": rule_arn.rpartition("/")[2],
    }


def test_an_sns_target_publishes_the_event(
    router: EdgeRouter, events: Any, sqs: Any, bus: str
) -> None:
    sns = client("sns", router.endpoint_url)
    topic = sns.create_topic(Name=f"topic-{uuid.uuid4().hex[:8]}")["TopicArn"]
    url, queue_arn = new_queue(sqs)
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    add_rule(events, bus, [{"Id": "topic", "Arn": topic}])

    event_id = put(events, bus, {"jobId": "job-2"})

    (message,) = receive(sqs, url, 1)
    assert json.loads(message["Body"])["id"] == event_id


def test_a_lambda_target_is_invoked_with_the_event(
    events: Any, bus: str, lambda_calls: LambdaCalls
) -> None:
    function = f"fn-{uuid.uuid4().hex[:8]}"
    add_rule(
        events,
        bus,
        [{"Id": "fn", "Arn": f"arn:aws:lambda:{REGION}:123456789012:function:{function}"}],
    )

    event_id = put(events, bus, {"jobId": "job-3"})

    (event,) = lambda_calls.wait_for(function)
    assert event["id"] == event_id
    assert event["detail"] == {"jobId": "job-3"}


def test_an_event_bus_target_passes_the_event_on(events: Any, sqs: Any, bus: str) -> None:
    downstream = f"bus-{uuid.uuid4().hex[:8]}"
    downstream_arn = events.create_event_bus(Name=downstream)["EventBusArn"]
    add_rule(events, bus, [{"Id": "bus", "Arn": downstream_arn}])
    url, arn = new_queue(sqs)
    add_rule(events, downstream, [{"Id": "q", "Arn": arn}])

    event_id = put(events, bus, {"hop": 1})

    (message,) = receive(sqs, url, 1)
    assert json.loads(message["Body"])["id"] == event_id


def test_a_failed_delivery_goes_to_the_targets_dead_letter_queue(
    events: Any, sqs: Any, bus: str
) -> None:
    dlq_url, dlq_arn = new_queue(sqs, "dlq")
    missing_queue = f"arn:aws:sqs:{REGION}:123456789012:missing-{uuid.uuid4().hex[:8]}"
    add_rule(
        events,
        bus,
        [{"Id": "gone", "Arn": missing_queue, "DeadLetterConfig": {"Arn": dlq_arn}}],
    )

    event_id = put(events, bus, {"jobId": "job-4"})

    (message,) = receive(sqs, dlq_url, 1)
    assert json.loads(message["Body"])["id"] == event_id
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["TARGET_ARN"] == missing_queue
    assert attributes["ERROR_CODE"]


def test_entries_are_checked_one_by_one(events: Any, bus: str) -> None:
    answer = events.put_events(
        Entries=[
            {"EventBusName": bus, "Source": "test", "DetailType": "T", "Detail": "{}"},
            {"EventBusName": bus, "Source": "test", "Detail": "{}"},
            {"EventBusName": bus, "Source": "test", "DetailType": "T", "Detail": "[1]"},
        ]
    )

    assert answer["FailedEntryCount"] == 2
    assert "EventId" in answer["Entries"][0]
    assert answer["Entries"][1]["ErrorCode"] == "InvalidArgument"
    assert answer["Entries"][2]["ErrorCode"] == "MalformedDetail"


def test_more_than_ten_entries_or_an_unknown_bus_fail_the_call(events: Any, bus: str) -> None:
    entry = {"EventBusName": bus, "Source": "test", "DetailType": "T", "Detail": "{}"}
    with pytest.raises(ClientError) as too_many:
        events.put_events(Entries=[entry] * 11)
    with pytest.raises(ClientError) as unknown:
        events.put_events(Entries=[{**entry, "EventBusName": "no-such-bus"}])

    assert too_many.value.response["Error"]["Code"] == "ValidationException"
    assert unknown.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_test_event_pattern_answers(events: Any) -> None:
    event = {
        "id": "1",
        "account": "123456789012",
        "source": "test",
        "time": "2024-01-01T00:00:00Z",
        "region": REGION,
        "detail-type": "T",
        "detail": {"n": 5},
    }

    def test(pattern: dict[str, Any]) -> bool:
        result: bool = events.test_event_pattern(
            EventPattern=json.dumps(pattern), Event=json.dumps(event)
        )["Result"]
        return result

    assert test({"detail": {"n": [{"numeric": [">", 1]}]}})
    assert not test({"source": ["other"]})
    with pytest.raises(ClientError) as invalid:
        test({"detail": {"n": [{"numeric": ["<", 5, ">", 0]}]}})
    assert invalid.value.response["Error"]["Code"] == "InvalidEventPatternException"


def test_moto_alone_fails_put_events_the_router_answers(moto_endpoint: str) -> None:
    """Why PutEvents is the router's: moto 5.2.5 answers 500 for an SNS target.

    If this starts failing, moto delivers to SNS targets itself: worth re-measuring whether
    forwarding PutEvents to it would do (see ``localcloud.edge.event_bus``).
    """
    direct = client("events", moto_endpoint)
    bus = f"bus-{uuid.uuid4().hex[:8]}"
    direct.create_event_bus(Name=bus)
    direct.put_rule(Name="to-sns", EventBusName=bus, EventPattern='{"source": ["test"]}')
    direct.put_targets(
        Rule="to-sns",
        EventBusName=bus,
        Targets=[{"Id": "t", "Arn": f"arn:aws:sns:{REGION}:123456789012:any-topic"}],
    )

    with pytest.raises(ClientError) as failed:
        direct.put_events(
            Entries=[{"EventBusName": bus, "Source": "test", "DetailType": "T", "Detail": "{}"}]
        )

    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500

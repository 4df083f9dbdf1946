"""Archives and replays through the edge router: the window, FilterArns, replay-name, restarts.

Events are put with explicit ``Time`` values hours apart, so the replay window, which
selects by the event's time as AWS does, is tested without waiting.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from localcloud.dynamodb_local import local_client
from localcloud.edge_router import EdgeRouter

REGION = "us-east-1"
WAIT_SECONDS = 5.0
NO_DYNAMODB = "http://127.0.0.1:9"  # nothing listens there: these tests never touch DynamoDB
NOW = datetime.now(UTC).replace(microsecond=0)


def client(service: str, endpoint: str) -> Any:
    return local_client(endpoint, service, Config(retries={"total_max_attempts": 1}))


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("edge-replay")


@pytest.fixture(scope="module")
def router(moto_endpoint: str, state_dir: Path) -> Iterator[EdgeRouter]:
    with EdgeRouter(NO_DYNAMODB, moto_endpoint, port=0, state_dir=state_dir) as running:
        yield running


@pytest.fixture(scope="module")
def events(router: EdgeRouter) -> Any:
    return client("events", router.endpoint_url)


@pytest.fixture(scope="module")
def sqs(router: EdgeRouter) -> Any:
    return client("sqs", router.endpoint_url)


@dataclass
class Setup:
    """A bus with an archive of everything and two rules, each to its own queue."""

    bus: str
    bus_arn: str
    archive: str
    archive_arn: str
    rule_a: str
    rule_b: str
    queue_a: str
    queue_b: str


def new_queue(sqs: Any) -> tuple[str, str]:
    url: str = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn: str = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


@pytest.fixture
def setup(events: Any, sqs: Any) -> Setup:
    suffix = uuid.uuid4().hex[:8]
    bus = f"bus-{suffix}"
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    archive_arn = events.create_archive(ArchiveName=f"archive-{suffix}", EventSourceArn=bus_arn)[
        "ArchiveArn"
    ]
    rules, queues = [], []
    for name in ("a", "b"):
        url, arn = new_queue(sqs)
        rule_arn = events.put_rule(
            Name=f"rule-{name}-{suffix}",
            EventBusName=bus,
            EventPattern=json.dumps({"source": ["booking"]}),
        )["RuleArn"]
        events.put_targets(
            Rule=f"rule-{name}-{suffix}", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}]
        )
        rules.append(rule_arn)
        queues.append(url)
    return Setup(bus, bus_arn, f"archive-{suffix}", archive_arn, *rules, *queues)


def put_at(events: Any, bus: str, when: datetime, number: int) -> str:
    answer = events.put_events(
        Entries=[
            {
                "EventBusName": bus,
                "Source": "booking",
                "DetailType": "JobClosed",
                "Detail": json.dumps({"number": number}),
                "Time": when,
            }
        ]
    )
    event_id: str = answer["Entries"][0]["EventId"]
    return event_id


def drain(sqs: Any, url: str, expected: int, timeout: float = WAIT_SECONDS) -> list[dict[str, Any]]:
    """Receive and delete messages until ``expected`` arrived or time is up; their bodies."""
    bodies: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(bodies) < expected and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def replay_and_wait(events: Any, setup: Setup, **arguments: Any) -> dict[str, Any]:
    name = f"replay-{uuid.uuid4().hex[:8]}"
    started = events.start_replay(
        ReplayName=name,
        EventSourceArn=setup.archive_arn,
        Destination={"Arn": setup.bus_arn, **arguments.pop("destination", {})},
        **arguments,
    )
    assert started["State"] == "STARTING"
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        described: dict[str, Any] = events.describe_replay(ReplayName=name)
        if described["State"] not in ("STARTING", "RUNNING") or time.monotonic() > deadline:
            return described


def put_three_hours(events: Any, sqs: Any, setup: Setup) -> list[str]:
    ids = [
        put_at(events, setup.bus, NOW - timedelta(hours=hours), 4 - hours) for hours in (3, 2, 1)
    ]
    # Live delivery: both rules got all three. Cleared, so only replays remain to be seen.
    assert len(drain(sqs, setup.queue_a, 3)) == 3
    assert len(drain(sqs, setup.queue_b, 3)) == 3
    return ids


def test_a_replay_sends_the_window_to_the_filtered_rules_only(
    events: Any, sqs: Any, setup: Setup
) -> None:
    ids = put_three_hours(events, sqs, setup)

    described = replay_and_wait(
        events,
        setup,
        EventStartTime=NOW - timedelta(hours=2, minutes=30),
        EventEndTime=NOW - timedelta(minutes=30),
        destination={"FilterArns": [setup.rule_a]},
    )

    assert described["State"] == "COMPLETED", described
    replayed = drain(sqs, setup.queue_a, 2)
    assert [event["id"] for event in replayed] == ids[1:]
    assert {event["replay-name"] for event in replayed} == {described["ReplayName"]}
    assert [event["detail"] for event in replayed] == [{"number": 2}, {"number": 3}]
    assert drain(sqs, setup.queue_b, 1, timeout=0.5) == []
    assert described["EventLastReplayedTime"] == NOW - timedelta(hours=1)


def test_a_replay_without_filter_reaches_every_rule_and_is_not_archived_again(
    events: Any, sqs: Any, setup: Setup
) -> None:
    put_three_hours(events, sqs, setup)

    described = replay_and_wait(
        events,
        setup,
        EventStartTime=NOW - timedelta(hours=4),
        EventEndTime=NOW - timedelta(hours=2),  # the end is excluded: the 2-hour event is not
    )

    assert described["State"] == "COMPLETED"
    assert [e["detail"]["number"] for e in drain(sqs, setup.queue_a, 1)] == [1]
    assert [e["detail"]["number"] for e in drain(sqs, setup.queue_b, 1)] == [1]
    assert events.describe_archive(ArchiveName=setup.archive)["EventCount"] == 3


def test_archives_count_events_and_keep_only_those_matching_their_pattern(
    events: Any, setup: Setup
) -> None:
    filtered = f"only-even-{uuid.uuid4().hex[:8]}"
    events.create_archive(
        ArchiveName=filtered,
        EventSourceArn=setup.bus_arn,
        EventPattern=json.dumps({"detail": {"number": [2, 4]}}),
    )
    for number in (1, 2, 3, 4):
        put_at(events, setup.bus, NOW, number)

    everything = events.describe_archive(ArchiveName=setup.archive)
    assert everything["EventCount"] == 4
    assert everything["SizeBytes"] > 0
    assert events.describe_archive(ArchiveName=filtered)["EventCount"] == 2
    listed = {
        archive["ArchiveName"]: archive["EventCount"]
        for archive in events.list_archives(EventSourceArn=setup.bus_arn)["Archives"]
    }
    assert listed == {setup.archive: 4, filtered: 2}


def test_replays_are_listed_and_a_finished_one_cannot_be_cancelled(
    events: Any, sqs: Any, setup: Setup
) -> None:
    put_at(events, setup.bus, NOW, 1)
    described = replay_and_wait(
        events, setup, EventStartTime=NOW - timedelta(hours=1), EventEndTime=NOW + timedelta(1)
    )

    listed = events.list_replays(EventSourceArn=setup.archive_arn)["Replays"]
    assert [replay["ReplayName"] for replay in listed] == [described["ReplayName"]]
    assert listed[0]["State"] == "COMPLETED"
    with pytest.raises(ClientError) as finished:
        events.cancel_replay(ReplayName=described["ReplayName"])
    assert finished.value.response["Error"]["Code"] == "IllegalStatusException"
    with pytest.raises(ClientError) as unknown:
        events.describe_replay(ReplayName="no-such-replay")
    assert unknown.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_replay_requests_are_validated(events: Any, setup: Setup) -> None:
    other_bus = events.create_event_bus(Name=f"bus-{uuid.uuid4().hex[:8]}")["EventBusArn"]
    window = {"EventStartTime": NOW - timedelta(hours=1), "EventEndTime": NOW}

    def error_of(**arguments: Any) -> str:
        request = {
            "ReplayName": f"replay-{uuid.uuid4().hex[:8]}",
            "EventSourceArn": setup.archive_arn,
            "Destination": {"Arn": setup.bus_arn},
            **window,
            **arguments,
        }
        with pytest.raises(ClientError) as error:
            events.start_replay(**request)
        return str(error.value.response["Error"]["Code"])

    assert error_of(Destination={"Arn": other_bus}) == "ValidationException"
    assert error_of(EventStartTime=NOW, EventEndTime=NOW) == "ValidationException"
    assert (
        error_of(EventSourceArn=setup.archive_arn.replace(setup.archive, "no-such-archive"))
        == "ValidationException"
    )
    name = f"replay-{uuid.uuid4().hex[:8]}"
    events.start_replay(
        ReplayName=name,
        EventSourceArn=setup.archive_arn,
        Destination={"Arn": setup.bus_arn},
        **window,
    )
    assert error_of(ReplayName=name) == "ResourceAlreadyExistsException"


def test_archives_and_replays_survive_a_router_restart(
    moto_endpoint: str, tmp_path: Path, events: Any, sqs: Any, setup: Setup
) -> None:
    first = EdgeRouter(NO_DYNAMODB, moto_endpoint, port=0, state_dir=tmp_path).start()
    try:
        before = client("events", first.endpoint_url)
        before.put_events(
            Entries=[
                {
                    "EventBusName": setup.bus,
                    "Source": "booking",
                    "DetailType": "JobClosed",
                    "Detail": json.dumps({"number": n}),
                    "Time": NOW - timedelta(minutes=n),
                }
                for n in (1, 2)
            ]
        )
        assert len(drain(sqs, setup.queue_a, 2)) == 2
        drain(sqs, setup.queue_b, 2)
        early = f"replay-{uuid.uuid4().hex[:8]}"
        before.start_replay(
            ReplayName=early,
            EventSourceArn=setup.archive_arn,
            Destination={"Arn": setup.bus_arn, "FilterArns": [setup.rule_b]},
            EventStartTime=NOW - timedelta(hours=1),
            EventEndTime=NOW,
        )
        assert len(drain(sqs, setup.queue_b, 2)) == 2
    finally:
        first.stop()

    second = EdgeRouter(NO_DYNAMODB, moto_endpoint, port=0, state_dir=tmp_path).start()
    try:
        after = client("events", second.endpoint_url)
        assert after.describe_archive(ArchiveName=setup.archive)["EventCount"] == 2
        assert after.describe_replay(ReplayName=early)["State"] == "COMPLETED"
        name = f"replay-{uuid.uuid4().hex[:8]}"
        after.start_replay(
            ReplayName=name,
            EventSourceArn=setup.archive_arn,
            Destination={"Arn": setup.bus_arn, "FilterArns": [setup.rule_a]},
            EventStartTime=NOW - timedelta(hours=1),
            EventEndTime=NOW,
        )
        replayed = drain(sqs, setup.queue_a, 2)
        assert sorted(event["detail"]["number"] for event in replayed) == [1, 2]
        assert {event["replay-name"] for event in replayed} == {name}
    finally:
        second.stop()


def test_deleting_an_archive_deletes_its_events(events: Any, setup: Setup) -> None:
    put_at(events, setup.bus, NOW, 1)
    assert events.describe_archive(ArchiveName=setup.archive)["EventCount"] == 1

    events.delete_archive(ArchiveName=setup.archive)
    events.create_archive(ArchiveName=setup.archive, EventSourceArn=setup.bus_arn)

    assert events.describe_archive(ArchiveName=setup.archive)["EventCount"] == 0

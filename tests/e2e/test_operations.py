"""The operator tools (``python -m operations``) repairing the choreography, end to end.

Two incidents, each staged on the live system and repaired with the tools exactly as
docs/operations.md tells an operator to:

- a consumer that acknowledged events without doing its work, repaired by a replay of
  the archive scoped to that consumer's rule;
- a message in a consumer's dead-letter queue, repaired by a redrive.

"A consumer that did not do its work" is staged by removing the DeclineOtherApplications
rule's target (remembered, and put back in ``finally``): the bus still receives and
archives the booking's JobClosed, and the notifier still acts on it, but nothing declines
the other applications. On AWS this briefly switches the consumer off for the whole
stack: run this module on its own there (``make e2e`` runs the suite in one process).

The tools run in-process through their command line (``operations.cli.main``) with the
session's outputs written to a file and the local cloud's endpoint passed explicitly, so
the same test drives AWS when ``NANNY_OUTPUTS_FILE`` is set.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from operations.cli import main as operations_main
from operations.rules import discover_routing
from operations.stack import Clients, StackOutputs
from stacks.constants import CONSUMER_DECLINE_OTHER_APPLICATIONS, CONSUMERS, Output
from tests.e2e.client import AppUser, Stack
from tests.e2e.test_booking_scenario import (  # the scenario's fixtures and steps
    APPLY,
    BOOK,
    CREATE_JOB,
    SETTLE_SECONDS,
    app_users,  # noqa: F401 - a fixture, used by name
    application_statuses,
    inbox,  # noqa: F401 - a fixture, used by name
    sign_up,
    wait_for,
)

Inbox = Callable[[str], Callable[[], list[dict[str, Any]]]]
Operations = Callable[..., tuple[int, Any]]

DECLINE = CONSUMER_DECLINE_OTHER_APPLICATIONS
# AWS may archive an event up to ~10 minutes after the bus received it ("we recommend you
# delay replaying archived events for 10 minutes", EventBridge user guide). Locally the
# archive has it at once and one replay is enough; on AWS the test replays again until
# the events are there, for at most this long.
AWS_ARCHIVE_DELAY_SECONDS = 12 * 60


@pytest.fixture
def ops(stack: Stack, tmp_path: Path) -> Operations:
    """Run ``python -m operations --json …`` in-process; its exit status and JSON answer."""
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"NannyBooking": stack.outputs}))
    common = ["--outputs", str(outputs), "--json"]
    if stack.endpoint_url is not None:
        common += ["--endpoint-url", stack.endpoint_url]

    def run(*argv: str) -> tuple[int, Any]:
        out = io.StringIO()
        status = operations_main([*argv, *common], stdout=out)
        text = out.getvalue()
        return status, json.loads(text) if text.strip() else None

    return run


def clients_of(stack: Stack) -> Clients:
    return Clients(stack.client("events"), stack.client("sqs"), stack.endpoint_url)


@contextmanager
def consumer_switched_off(stack: Stack, consumer: str) -> Iterator[str]:
    """The consumer's rule without its target (a consumer that does nothing), restored after.

    Yields the rule's ARN. The rule is found as the tools find it, by its target's queue.
    """
    events = stack.client("events")
    bus = stack.outputs[Output.EVENT_BUS_NAME]
    (rule_arn,) = discover_routing(clients_of(stack), StackOutputs(stack.outputs)).by_consumer()[
        consumer
    ]
    rule = rule_arn.rpartition("/")[2]
    targets = events.list_targets_by_rule(Rule=rule, EventBusName=bus)["Targets"]
    events.remove_targets(Rule=rule, EventBusName=bus, Ids=[t["Id"] for t in targets])
    try:
        yield rule_arn
    finally:
        answer = events.put_targets(Rule=rule, EventBusName=bus, Targets=targets)
        assert answer["FailedEntryCount"] == 0, answer


@dataclass
class Booking:
    parent: AppUser
    job_id: str
    accepted: str
    declined: list[str]
    booked: dict[str, Any]
    notifications: Callable[[], list[dict[str, Any]]]

    @property
    def settled(self) -> dict[str, str]:
        return {self.accepted: "ACCEPTED"} | {other: "DECLINED" for other in self.declined}

    @property
    def undeclined(self) -> dict[str, str]:
        return {self.accepted: "ACCEPTED"} | {other: "PENDING" for other in self.declined}

    def statuses(self) -> dict[str, str]:
        return application_statuses(self.parent, self.job_id)


def book_without_declines(stack: Stack, users: list[AppUser], subscribe: Inbox) -> Booking:
    """A job with three applicants booked while DeclineOtherApplications is switched off.

    Returns once the booking's JobClosed has passed the bus (the notifier acted on it),
    with the other applications still PENDING.
    """
    parent = sign_up(stack, "PARENT", users)
    nannies = [sign_up(stack, "NANNY", users) for _ in range(3)]
    job = parent.graphql(
        CREATE_JOB,
        {
            "job": {
                "jobType": "DAILY",
                "title": "Evenings",
                "numberOfKids": 1,
                "startDate": "2030-02-04",
                "endDate": "2030-02-28",
                "startTime": "18:00",
                "endTime": "21:00",
                "city": "Porto",
                "cost": 20,
            }
        },
    )["createJob"]
    chosen, *others = [n.graphql(APPLY, {"jobId": job["id"]})["applyToJob"] for n in nannies]
    notifications = subscribe(nannies[0].username)
    with consumer_switched_off(stack, DECLINE):
        booked = parent.graphql(BOOK, {"jobId": job["id"], "applicationId": chosen["id"]})
        wait_for(lambda: len(notifications()) >= 1, "JobClosed on the bus (the notification)")
        booking = Booking(
            parent, job["id"], chosen["id"], [o["id"] for o in others], booked["bookNanny"],
            notifications,
        )  # fmt: skip
        time.sleep(2)  # room for a decline to happen, were anything still declining
        assert booking.statuses() == booking.undeclined
    return booking


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def replay_until_settled(
    stack: Stack, ops: Operations, condition: Callable[[], bool], *argv: str
) -> dict[str, Any]:
    """Replay (``argv``), then wait for ``condition``; on AWS replay again while the archive
    may still be catching up (see AWS_ARCHIVE_DELAY_SECONDS)."""
    on_aws = stack.endpoint_url is None
    deadline = time.monotonic() + (AWS_ARCHIVE_DELAY_SECONDS if on_aws else 0)
    while True:
        status, report = ops("replay", *argv, "--timeout", "60")
        assert (status, report["state"]) == (0, "COMPLETED"), report
        try:
            wait_for(condition, f"the replay {report['replayName']} took effect")
        except AssertionError:
            if time.monotonic() < deadline:
                continue
            raise
        return dict(report)


def test_replay_after_a_consumer_bug(
    stack: Stack,
    app_users: list[AppUser],  # noqa: F811 - the imported fixture
    inbox: Inbox,  # noqa: F811 - the imported fixture
    ops: Operations,
) -> None:
    """A consumer acked JobClosed without declining; fixed, a scoped replay repairs it, and
    replaying the whole window to every consumer again changes nothing."""
    start = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=2)
    booking = book_without_declines(stack, app_users, inbox)  # the "fix" is in place again
    # Event times are whole seconds and the window's end is excluded: end a second later.
    time.sleep(1.1)
    end = dt.datetime.now(dt.UTC)
    window = ("--from", _iso(start), "--to", _iso(end))
    (decline_rule,) = discover_routing(
        clients_of(stack), StackOutputs(stack.outputs)
    ).by_consumer()[DECLINE]

    report = replay_until_settled(
        stack,
        ops,
        lambda: booking.statuses() == booking.settled,
        *window,
        "--consumer",
        DECLINE,
    )
    assert report["consumers"] == [DECLINE]
    assert report["filterArns"] == [decline_rule]
    assert len(booking.notifications()) == 1

    # Everything, to every consumer: conditional declines and idempotent notifications.
    status, again = ops("replay", *window, "--timeout", "60")
    assert (status, again["state"]) == (0, "COMPLETED"), again
    assert again["consumers"] == sorted(CONSUMERS)
    time.sleep(3)  # room for a second notification or a changed status, were one coming
    assert booking.statuses() == booking.settled
    assert len(booking.notifications()) == 1


def job_closed_event(stack: Stack, booking: Booking) -> dict[str, Any]:
    """The JobClosed event of ``booking`` as the rule delivers it to the consumer's queue."""
    account = stack.outputs[Output.EVENT_BUS_ARN].split(":")[4]
    now = _iso(dt.datetime.now(dt.UTC))
    booked = booking.booked
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "JobClosed",
        "source": "babysitter.jobs",
        "account": account,
        "time": now,
        "region": stack.region,
        "resources": [],
        "detail": {
            "metadata": {"version": "1", "correlationId": f"e2e-{uuid.uuid4()}", "createdAt": now},
            "data": {
                "jobId": booking.job_id,
                "parentUsername": booking.parent.username,
                "acceptedApplicationId": booked["acceptedApplicationId"],
                "acceptedApplicant": booked["acceptedApplicant"],
                "closedAt": booked["closedAt"],
            },
        },
    }


def test_redrive_after_a_poison_message(
    stack: Stack,
    app_users: list[AppUser],  # noqa: F811 - the imported fixture
    inbox: Inbox,  # noqa: F811 - the imported fixture
    ops: Operations,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A JobClosed whose declines failed sits in the consumer's DLQ; redrive repairs it.

    Really getting there takes the consumer failing the message 5 times (the queue's
    maxReceiveCount), one visibility timeout apart: 5 x 6 min = 30 min. The test puts the
    event into the DLQ directly instead, exactly as the rule delivered it (the whole
    EventBridge event as the body), for a real booked job whose declines were not done.

    A truly malformed message goes along. Redriven, it fails again and returns to the DLQ
    only after that same 30-minute cycle, so the test does not wait for it; it checks the
    tools count it (listed, peeked, moved). On AWS it lands back in the DLQ half an hour
    later, and the DLQ's alarm says so: that is the alarm working.
    """
    local = stack.endpoint_url is not None  # exact counts; AWS's are approximate and shared
    booking = book_without_declines(stack, app_users, inbox)
    sqs = stack.client("sqs")
    dead_letters = stack.outputs[Output.dead_letter_queue_url(DECLINE)]
    dlq_name = f"{DECLINE}DeadLetterQueue"

    def waiting() -> int:
        status, listed = ops("dlq", "list")
        assert status == 0
        (entry,) = [q for q in listed["deadLetterQueues"] if q["name"] == dlq_name]
        assert (entry["kind"], entry["consumer"]) == ("consumer", DECLINE)
        return int(entry["approximateNumberOfMessages"])

    before = waiting()
    event = job_closed_event(stack, booking)
    sqs.send_message(QueueUrl=dead_letters, MessageBody=json.dumps(event))
    poison = "{not a JobClosed"
    sqs.send_message(
        QueueUrl=dead_letters,
        MessageBody=poison,
        MessageAttributes={"e2e": {"DataType": "String", "StringValue": "poison"}},
    )

    wait_for(lambda: waiting() >= before + 2, "the DLQ counts both messages")
    if local:
        assert waiting() == 2

    status, peeked = ops("dlq", "peek", DECLINE, "--max", "10")
    assert (status, peeked["queue"], peeked["kind"]) == (0, dlq_name, "consumer")
    bodies = [message["body"] for message in peeked["messages"]]
    assert event in bodies
    assert poison in bodies
    # Peeking consumed nothing: both are still there, visible at once, and undone.
    assert waiting() >= before + 2 if not local else waiting() == 2
    assert booking.statuses() == booking.undeclined

    status, report = ops("dlq", "redrive", DECLINE, "--timeout", "60")
    assert (status, report["failed"], report["notDeleted"]) == (0, 0, 0), report
    if local:
        # moto 5.2.5 has no StartMessageMoveTask: the tool moved them itself, and said so.
        assert (report["method"], report["moved"], report["remaining"]) == ("copy", 2, 0)
        assert "StartMessageMoveTask" in report["notes"][0]
    else:
        assert report["method"] == "move-task"
        assert report["moved"] >= before + 2

    wait_for(lambda: booking.statuses() == booking.settled, "the redriven JobClosed's declines")
    wait_for(lambda: waiting() == 0 if local else True, "an empty DLQ", SETTLE_SECONDS)
    assert len(booking.notifications()) == 1

    # The pipe's DLQ holds stream positions, not events: redriving it is refused.
    capsys.readouterr()
    status, answer = ops("dlq", "redrive", "PipeDeadLetterQueue")
    assert (status, answer) == (1, None)
    assert "docs/operations.md" in capsys.readouterr().err


def stream_position(stack: Stack, job_id: str) -> tuple[str, str]:
    """(shard id, sequence number) of the job's OPEN -> CLOSED record in the table's stream."""
    streams = stack.client("dynamodbstreams")
    stream_arn = stack.outputs[Output.TABLE_STREAM_ARN]
    deadline = time.monotonic() + SETTLE_SECONDS
    shards = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
    for shard in shards:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        empty = 0
        while iterator and empty < 3 and time.monotonic() < deadline:
            answer = streams.get_records(ShardIterator=iterator)
            empty = 0 if answer["Records"] else empty + 1
            for record in answer["Records"]:
                image = record["dynamodb"].get("NewImage") or {}
                old = record["dynamodb"].get("OldImage") or {}
                if (image.get("id"), image.get("jobStatus"), old.get("jobStatus")) == (
                    {"S": job_id}, {"S": "CLOSED"}, {"S": "OPEN"},
                ):  # fmt: skip
                    return shard["ShardId"], record["dynamodb"]["SequenceNumber"]
            iterator = answer.get("NextShardIterator")
    raise AssertionError(f"no OPEN -> CLOSED record of job {job_id} in the stream")


def test_rereading_what_a_stuck_pipe_gave_up_on(
    stack: Stack,
    app_users: list[AppUser],  # noqa: F811 - the imported fixture
    inbox: Inbox,  # noqa: F811 - the imported fixture
    ops: Operations,
) -> None:
    """The pipe gave up on a booking's record: its DLQ names the stream position, and
    ``pipe reread`` sends the event the pipe would have sent.

    Making the real pipe fail would need its target broken for the whole stack for up to
    an hour (10 retries, MaximumRecordAgeInSeconds 3600). The test books a job with the
    decline consumer switched off instead (so the event's effect is still to come), finds
    the job's OPEN -> CLOSED record in the table's stream, and puts into the pipe's DLQ the
    message the pipe sends for a batch it gives up on: the shard and sequence numbers.
    """
    local = stack.endpoint_url is not None
    booking = book_without_declines(stack, app_users, inbox)
    shard, sequence = stream_position(stack, booking.job_id)
    now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    stack.client("sqs").send_message(
        QueueUrl=stack.outputs[Output.PIPE_DEAD_LETTER_QUEUE_URL],
        MessageBody=json.dumps(
            {
                "context": {
                    "partnerResourceArn": "arn:aws:pipes:{}:{}:pipe/{}".format(
                        stack.region,
                        stack.outputs[Output.EVENT_BUS_ARN].split(":")[4],
                        stack.outputs[Output.JOB_CLOSED_PIPE_NAME],
                    ),
                    "condition": "RetryAttemptsExhausted",
                },
                "version": "1.0",
                "timestamp": now,
                "DDBStreamBatchInfo": {
                    "shardId": shard,
                    "startSequenceNumber": sequence,
                    "endSequenceNumber": sequence,
                    "approximateArrivalOfFirstRecord": now,
                    "approximateArrivalOfLastRecord": now,
                    "batchSize": 1,
                    "streamArn": stack.outputs[Output.TABLE_STREAM_ARN],
                },
            }
        ),
    )

    status, peeked = ops("dlq", "peek", "PipeDeadLetterQueue")
    assert status == 0
    (batch,) = [
        m["streamBatch"] for m in peeked["messages"] if m["streamBatch"]["shardId"] == shard
        and m["streamBatch"]["startSequenceNumber"] == sequence
    ]  # fmt: skip
    assert batch["stillInStream"] is True

    status, dry = ops("pipe", "reread", "--dry-run")
    assert (status, dry["resolved"]) == (0, 0)
    mine = [e for e in dry["events"] if e["data"]["jobId"] == booking.job_id]
    assert [e["data"]["acceptedApplicationId"] for e in mine] == [booking.accepted]
    assert booking.statuses() == booking.undeclined  # a dry run sends nothing

    status, report = ops("pipe", "reread")
    assert status == 0, report
    assert report["eventsPut"] >= 1
    assert report["resolved"] >= 1
    if local:
        assert (report["messages"], report["eventsPut"], report["resolved"]) == (1, 1, 1)
    wait_for(lambda: booking.statuses() == booking.settled, "the re-read JobClosed's declines")
    time.sleep(2)  # room for a second notification, were one coming
    assert len(booking.notifications()) == 1
    status, listed = ops("dlq", "list")
    (pipe_dlq,) = [q for q in listed["deadLetterQueues"] if q["kind"] == "pipe"]
    if local:
        assert pipe_dlq["approximateNumberOfMessages"] == 0

"""Consumers failing at random, then the whole archive replayed: nothing lost, nothing twice.

The flaky cloud runs the decline and notify consumers through
tests/reliability/flaky_consumers.py: the real handlers, whose downstream calls fail at
random with the share the test writes to ``$FAULT_DIR/share`` while the cloud runs.
Both consumer queues redeliver after 6 s (``fast_redelivery``) instead of 6 and 3
minutes, so a message fails its 5 receives (maxReceiveCount) and reaches its DLQ within a
test's time.

- test_consumers_failing_at_random_apply_each_effect_once_or_dead_letter: with 70% of
  the calls failing, every job ends either settled (every other application DECLINED, one
  notification) or with its message in the consumer's DLQ, counted; never a second
  notification, never an ACCEPTED application overwritten. Redriven once the faults stop,
  the dead-lettered jobs settle too.
- test_replaying_the_whole_archive_again_and_again_changes_nothing: three replays of the
  whole archive to every consumer leave every item of the table as it was and send no
  notification, although every consumer received every event again.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from stacks.constants import (
    CONSUMER_DECLINE_OTHER_APPLICATIONS,
    CONSUMER_NOTIFY_ACCEPTED_APPLICANT,
    CONSUMERS,
    Output,
)
from tests.e2e.client import AppUser, Stack
from tests.e2e.test_booking_scenario import inbox  # noqa: F401 - a fixture, used by name
from tests.e2e.test_operations import ops  # noqa: F401 - a fixture, used by name
from tests.reliability.cloud import (
    DECLINE,
    NOTIFY,
    CloudProcess,
    consumer_function,
    fast_redelivery,
)
from tests.reliability.flaky_consumers import AFTER_NOTIFY, DECLINE_WRITE, PUBLISH
from tests.reliability.scenario import (
    application_statuses,
    apply,
    book,
    in_parallel,
    post_job,
    table_items,
    users,
    wait_until,
)
from tests.support.template import template_dict

Inbox = Callable[[str], Callable[[], list[dict[str, Any]]]]
Operations = Callable[..., tuple[int, Any]]

JOBS = 12
NANNIES = 4
# A decline write failing on all 5 receives: 0.7**5 = 17%; with 3 writes per job, about a
# third of the jobs reach the decline DLQ, and the redrive has work to do in nearly every
# run (none dead-lettered: about 1 run in 1,000; the invariants are checked all the same).
FAULT_SHARE = 0.7
SETTLE_SECONDS = 180.0  # 5 receives 6 s apart, for the slowest of 12 jobs, on a busy machine
REPLAYS = 3
NOTIFIED_ALREADY = "job already notified; nothing sent"  # the notifier's log on a duplicate

FLAKY_HANDLERS = {
    DECLINE: "tests.reliability.flaky_consumers.decline_handler",
    NOTIFY: "tests.reliability.flaky_consumers.notify_handler",
}


@dataclass
class FlakyCloud:
    process: CloudProcess
    fault_dir: Path
    started_at: dt.datetime

    @property
    def stack(self) -> Stack:
        return self.process.running()

    def fail(self, share: float) -> None:
        """From now on, each faultable call fails with probability ``share``."""
        (self.fault_dir / "share").write_text(str(share))

    def injected(self) -> Counter[str]:
        path = self.fault_dir / "injected"
        return Counter(path.read_text().split()) if path.exists() else Counter()


@pytest.fixture(scope="module")
def flaky_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlakyCloud]:
    state_dir = tmp_path_factory.mktemp("flaky-cloud")
    fault_dir = state_dir / "faults"
    fault_dir.mkdir()
    template = json.loads(json.dumps(template_dict()))
    for consumer, handler in FLAKY_HANDLERS.items():
        fast_redelivery(template, consumer)
        function = consumer_function(template, consumer)
        function["Handler"] = handler
        function["Environment"]["Variables"]["FAULT_DIR"] = str(fault_dir)
    process = CloudProcess(state_dir, template)
    started_at = dt.datetime.now(dt.UTC)
    process.start()
    yield FlakyCloud(process, fault_dir, started_at)
    assert process.interrupt() == 0, process.tail()


@pytest.fixture(scope="module")
def stack(flaky_cloud: FlakyCloud) -> Stack:
    """The flaky cloud's stack, under the name the imported ``inbox`` and ``ops`` fixtures
    ask for."""
    return flaky_cloud.stack


@dataclass
class Bookings:
    """Jobs each booked with one of the nannies' applications, and their inboxes."""

    parent: AppUser
    accepted: dict[str, str]  # job id -> the accepted application's id
    inboxes: list[Callable[[], list[dict[str, Any]]]]

    def settled(self, job_id: str) -> bool:
        statuses = application_statuses(self.parent, job_id)
        return all(
            status == ("ACCEPTED" if application == self.accepted[job_id] else "DECLINED")
            for application, status in statuses.items()
        )

    def notifications(self) -> Counter[str]:
        """Notifications received, per job id."""
        return Counter(
            json.loads(envelope["Message"])["data"]["jobId"]
            for read in self.inboxes
            for envelope in read()
        )


def book_jobs(stack: Stack, inbox: Inbox, jobs: int) -> Bookings:  # noqa: F811
    """A parent posts ``jobs`` jobs, NANNIES nannies apply to each, and every job is
    booked, all bookings at once, with a different nanny's application in turn."""
    (parent,) = users(stack, "PARENT", 1)
    nannies = users(stack, "NANNY", NANNIES)
    inboxes = [inbox(nanny.username) for nanny in nannies]
    job_ids = [post_job(parent) for _ in range(jobs)]

    def apply_all(nanny: AppUser) -> list[str]:
        return [apply(nanny, job_id) for job_id in job_ids]

    applications = in_parallel(apply_all, nannies, at_once=False)  # [nanny][job]
    accepted = {
        job_id: applications[index % NANNIES][index] for index, job_id in enumerate(job_ids)
    }
    in_parallel(lambda job_id: book(parent, job_id, accepted[job_id]), job_ids)
    return Bookings(parent, accepted, inboxes)


def queue_empty(stack: Stack, consumer: str) -> bool:
    """No message waiting in ``consumer``'s queue and none in flight (exact locally)."""
    attributes = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.outputs[Output.queue_url(consumer)],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return all(int(count) == 0 for count in attributes.values())


def dead_lettered_jobs(tools: Operations, consumer: str) -> list[str]:
    """The job id of every message in ``consumer``'s DLQ (peeked: nothing is consumed)."""
    status, peeked = tools("dlq", "peek", consumer, "--max", str(JOBS))
    assert status == 0, peeked
    # peek shows a JSON body as JSON: each is the whole EventBridge event
    return [message["body"]["detail"]["data"]["jobId"] for message in peeked["messages"]]


def test_consumers_failing_at_random_apply_each_effect_once_or_dead_letter(
    flaky_cloud: FlakyCloud,
    stack: Stack,
    inbox: Inbox,  # noqa: F811 - the imported fixture
    ops: Operations,  # noqa: F811 - the imported fixture
) -> None:
    """70% of the consumers' calls fail at random (flaky_consumers.py): before a decline
    write, before the SNS publish, and after a notification was sent and recorded.

    Proves, once both queues are empty: a job whose JobClosed is not in the decline DLQ
    has every other application DECLINED; none has its accepted application changed; no
    job has two notifications, and a job whose JobClosed is not in the notify DLQ has
    exactly one; each DLQ holds each job at most once. With the faults off, redriving
    both DLQs settles every job with exactly one notification each. Reports the faults
    injected, the messages dead-lettered and the seconds to settle.
    """
    flaky_cloud.fail(FAULT_SHARE)
    started = time.monotonic()
    bookings = book_jobs(stack, inbox, JOBS)

    def drained() -> bool:
        return queue_empty(stack, CONSUMER_DECLINE_OTHER_APPLICATIONS) and queue_empty(
            stack, CONSUMER_NOTIFY_ACCEPTED_APPLICANT
        )

    def all_handled() -> bool:
        """Every job's JobClosed is settled or dead-lettered by both consumers."""
        if not drained():
            return False
        notified = set(bookings.notifications())
        notified |= set(dead_lettered_jobs(ops, CONSUMER_NOTIFY_ACCEPTED_APPLICANT))
        declined = set(dead_lettered_jobs(ops, CONSUMER_DECLINE_OTHER_APPLICATIONS))
        declined |= {job for job in bookings.accepted if bookings.settled(job)}
        jobs = set(bookings.accepted)
        return jobs <= notified and jobs <= declined

    wait_until(all_handled, "both consumers' queues drained", SETTLE_SECONDS)
    seconds_to_drain = time.monotonic() - started
    time.sleep(1)  # a second notification, were one coming, would arrive in this time
    injected = flaky_cloud.injected()
    declines_dead = dead_lettered_jobs(ops, CONSUMER_DECLINE_OTHER_APPLICATIONS)
    notifications_dead = dead_lettered_jobs(ops, CONSUMER_NOTIFY_ACCEPTED_APPLICANT)
    notified = bookings.notifications()
    print(  # the closing note's figures (pytest -s)
        f"\nfaults injected {dict(injected)}; dead-lettered: {len(declines_dead)} JobClosed "
        f"of decline, {len(notifications_dead)} of notify; {JOBS} jobs drained in "
        f"{seconds_to_drain:.1f} s"
    )

    assert injected[DECLINE_WRITE] > 0, "no decline write failed: the test proved nothing"
    assert injected[PUBLISH] > 0, "no publish failed: the test proved nothing"
    assert injected[AFTER_NOTIFY] > 0, "no notified record failed: the test proved nothing"
    assert len(set(declines_dead)) == len(declines_dead), declines_dead
    assert len(set(notifications_dead)) == len(notifications_dead), notifications_dead
    assert max(notified.values()) == 1, notified
    for job_id, application_id in bookings.accepted.items():
        statuses = application_statuses(bookings.parent, job_id)
        assert statuses[application_id] == "ACCEPTED"
        assert set(statuses.values()) <= {"ACCEPTED", "DECLINED", "PENDING"}
        if job_id not in declines_dead:
            assert bookings.settled(job_id), (job_id, statuses)
        if job_id not in notifications_dead:
            assert notified[job_id] == 1, job_id

    flaky_cloud.fail(0)
    for consumer in (CONSUMER_DECLINE_OTHER_APPLICATIONS, CONSUMER_NOTIFY_ACCEPTED_APPLICANT):
        status, report = ops("dlq", "redrive", consumer, "--timeout", "60")
        assert (status, report["failed"], report["remaining"]) == (0, 0, 0), report

    wait_until(
        lambda: (
            all(bookings.settled(job) for job in bookings.accepted)
            and len(bookings.notifications()) == JOBS
            and drained()
        ),
        "the redriven jobs settled",
        SETTLE_SECONDS,
    )
    time.sleep(1)
    assert bookings.notifications() == Counter(dict.fromkeys(bookings.accepted, 1))
    assert dead_lettered_jobs(ops, CONSUMER_DECLINE_OTHER_APPLICATIONS) == []
    assert dead_lettered_jobs(ops, CONSUMER_NOTIFY_ACCEPTED_APPLICANT) == []


def test_replaying_the_whole_archive_again_and_again_changes_nothing(
    flaky_cloud: FlakyCloud,
    stack: Stack,
    inbox: Inbox,  # noqa: F811 - the imported fixture
    ops: Operations,  # noqa: F811 - the imported fixture
) -> None:
    """Three replays of the whole archive (every event since the cloud started, including
    the previous test's) to every consumer.

    Proves: no notification is sent, although the notifier logged every replayed JobClosed
    as a duplicate (so the events did arrive); no job, application, profile or idempotency
    item changes; the audit trail marks each event's item with the first replay's name
    (it records that the event was replayed, by design: services/common/dal/audit.py) and
    the second and third replays change nothing at all.
    """
    flaky_cloud.fail(0)
    bookings = book_jobs(stack, inbox, 3)
    wait_until(
        lambda: (
            all(bookings.settled(job) for job in bookings.accepted)
            and len(bookings.notifications()) == 3
        ),
        "this test's bookings settled",
        SETTLE_SECONDS,
    )
    before = keyed(table_items(stack))
    closed = sum(1 for item in before.values() if item.get("jobStatus") == "CLOSED")
    # Event times are whole seconds and the window's end (now) is excluded: wait a second.
    time.sleep(1.1)
    since = f"{flaky_cloud.started_at - dt.timedelta(seconds=5):%Y-%m-%dT%H:%M:%SZ}"

    first = replay_everything(flaky_cloud, stack, ops, since, closed)
    after_first = keyed(table_items(stack))
    audited = {key for key, item in before.items() if item.get("entity") == "AUDIT"}
    assert len(audited) >= closed
    assert after_first.keys() == before.keys()
    assert {key for key in before if after_first[key] != before[key]} == audited
    assert all(after_first[key] == {**before[key], "replayName": first} for key in audited)

    for _ in range(REPLAYS - 1):
        replay_everything(flaky_cloud, stack, ops, since, closed)
    after = keyed(table_items(stack))
    print(f"\n{REPLAYS} replays of {closed} JobClosed: {len(after)} items, as after the first")
    assert after == after_first
    assert bookings.notifications() == Counter(dict.fromkeys(bookings.accepted, 1))


def keyed(items: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(item["PK"], item["SK"]): item for item in items}


def replay_everything(
    flaky_cloud: FlakyCloud,
    stack: Stack,
    tools: Operations,
    since: str,
    closed: int,
) -> str:
    """Replay every event since ``since`` to every consumer and wait until each consumer
    has handled them (the notifier logged ``closed`` more duplicates, every queue is
    empty); the replay's name."""
    duplicates = flaky_cloud.process.tail(10**6).count(NOTIFIED_ALREADY)
    status, report = tools("replay", "--from", since, "--timeout", "60")
    assert (status, report["state"]) == (0, "COMPLETED"), report
    wait_until(
        lambda: flaky_cloud.process.tail(10**6).count(NOTIFIED_ALREADY) >= duplicates + closed,
        f"the notifier saw the {closed} replayed JobClosed",
        SETTLE_SECONDS,
    )
    wait_until(
        lambda: all(queue_empty(stack, consumer) for consumer in CONSUMERS),
        "every consumer's queue drained",
        SETTLE_SECONDS,
    )
    time.sleep(1)  # a notification or a write, were one coming, would land in this time
    assert flaky_cloud.process.tail(10**6).count(NOTIFIED_ALREADY) == duplicates + closed
    name: str = report["replayName"]
    return name

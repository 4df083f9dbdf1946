"""Fault injection on a local cloud: Lambda workers killed, poison messages on a queue.

- a decline worker SIGKILLed holding its batch: redelivered, nothing lost;
- workers killed while idle: replaced by fresh ones, not invoked dead;
- poison messages among real bookings: exactly those in the DLQ.

Consumers failing on a random share of their calls, with their DLQs and a redrive, and
the whole archive replayed again and again: test_flaky_consumers.py (its own cloud).

Not duplicated here (already proven by tests/integration/localcloud, against the same
runners the local cloud uses):

- the bus failing or unreachable for the pipe: retried ``MaximumRetryAttempts`` times,
  then one DLQ message per lost batch, and the pipe goes on with later bookings
  (test_pipe_runner.py::test_a_failing_bus_is_retried_then_the_dlq_told_and_the_pipe_goes_on,
  ::test_an_unreachable_bus_is_a_failure_too, ::test_a_restart_resumes_where_the_pipe_stopped);
  with many bookings across short and long outages: test_pipe_faults.py;
- a poison message among good ones, and only the failed items of a batch coming back
  (test_sqs_event_source.py::test_a_poison_message_among_good_ones,
  ::test_only_the_failed_item_returns_and_then_goes_to_the_dlq,
  ::test_a_timeout_retries_the_batch_on_a_fresh_worker).
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

from tests.e2e.client import AppUser
from tests.reliability.cloud import (
    DECLINE_HANDLER,
    CloudProcess,
    pending_request_bytes,
    pid_alive,
)
from tests.reliability.scenario import (
    application_statuses,
    apply,
    book,
    in_parallel,
    post_job,
    users,
    wait_until,
)

APPLICANTS = 40
SETTLE_SECONDS = 60.0


def test_a_decline_worker_killed_mid_batch_loses_no_decline(cloud: CloudProcess) -> None:
    """Book one of 40 applications while the decline function's warm workers are frozen
    (SIGSTOP); the worker the batch is handed to (its request pipe holds unread bytes) is
    SIGKILLed, the others thawed: the invocation dies with its batch.

    Proves: the batch comes back after the queue's visibility timeout (lowered to 6 s in
    this suite's template, from 360 s: see tests/reliability/cloud.py::fast_redelivery),
    another worker declines all 39 other applications, the accepted one stays ACCEPTED,
    exactly one crash is logged, and nothing reaches the decline DLQ. Reports the worker
    killed, the statuses at the kill, and the seconds from the kill to the last decline.
    """
    stack = cloud.running()
    sqs = stack.client("sqs")
    dlq = stack.outputs["DeclineOtherApplicationsDeadLetterQueueUrl"]
    (parent,) = users(stack, "PARENT", 1)
    nannies = users(stack, "NANNY", APPLICANTS)
    warm_up(cloud, parent, nannies[:2])

    job = post_job(parent)
    applications = in_parallel(lambda nanny: apply(nanny, job), nannies, at_once=False)
    crashes_before = cloud.tail(100_000).count("crashed")
    frozen = cloud.worker_pids(DECLINE_HANDLER)
    killed: set[int] = set()
    for pid in frozen:
        os.kill(pid, signal.SIGSTOP)
    try:
        book(parent, job, applications[0])
        handed: list[int] = []

        def batch_handed_over() -> bool:
            handed[:] = [pid for pid in frozen if pending_request_bytes(pid) > 0]
            return bool(handed)

        wait_until(batch_handed_over, "the JobClosed batch handed to a frozen worker", 30)
        at_kill = Counter(application_statuses(parent, job).values())
        (victim,) = handed
        os.kill(victim, signal.SIGKILL)
        killed.add(victim)
        killed_at = time.monotonic()
    finally:
        # Not the killed worker: the cloud may have reaped it already (its pid is gone).
        for pid in set(frozen) - killed:
            os.kill(pid, signal.SIGCONT)
    wait_until(lambda: not pid_alive(victim), "the kill", 10)

    expected = {applications[0]: "ACCEPTED"} | {a: "DECLINED" for a in applications[1:]}
    wait_until(
        lambda: application_statuses(parent, job) == expected,
        f"{APPLICANTS - 1} declines after the kill (at the kill: {dict(at_kill)})",
        SETTLE_SECONDS,
    )
    settled = time.monotonic() - killed_at
    crashes = cloud.tail(100_000).count("crashed") - crashes_before
    dead_letters = sqs.get_queue_attributes(
        QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]["ApproximateNumberOfMessages"]
    figures = (
        f"froze {len(frozen)} decline worker(s), killed {victim} holding the batch; at the "
        f"kill {dict(at_kill)}; all {APPLICANTS - 1} DECLINED {settled:.1f} s after the "
        f"kill; worker crashes logged: {crashes}; decline DLQ messages: {dead_letters}"
    )
    print(f"\nworker killed mid-batch: {figures}")
    assert at_kill == {"ACCEPTED": 1, "PENDING": APPLICANTS - 1}, figures
    assert crashes == 1, figures
    assert dead_letters == "0", figures
    final = Counter(application_statuses(parent, job).values())
    assert final == {"ACCEPTED": 1, "DECLINED": APPLICANTS - 1}, figures


def warm_up(cloud: CloudProcess, parent: AppUser, nannies: list[AppUser]) -> None:
    """Settle one booking unless the decline function already has a running worker."""
    if cloud.worker_pids(DECLINE_HANDLER):
        return
    job = post_job(parent)
    first, second = (apply(nanny, job) for nanny in nannies[:2])
    book(parent, job, first)
    wait_until(
        lambda: application_statuses(parent, job) == {first: "ACCEPTED", second: "DECLINED"},
        "the warm-up booking's decline",
        SETTLE_SECONDS,
    )


def test_a_worker_that_died_idle_is_replaced_not_invoked(cloud: CloudProcess) -> None:
    """Every decline worker SIGKILLed while idle, then a booking.

    Proves: the next invocation gets a fresh worker, as Lambda gives a fresh
    environment, instead of failing with WorkerCrashed and burning one of the message's
    5 receives per dead worker (MaximumConcurrency is 5: 5 dead workers send a JobClosed
    to the DLQ and its declines never happen). Reports the crashes logged.
    """
    stack = cloud.running()
    (parent,) = users(stack, "PARENT", 1)
    nannies = users(stack, "NANNY", 2)
    warm_up(cloud, parent, nannies)
    job = post_job(parent)
    first, second = (apply(nanny, job) for nanny in nannies)
    crashes_before = cloud.tail(100_000).count("crashed")
    idle = cloud.worker_pids(DECLINE_HANDLER)
    for pid in idle:
        os.kill(pid, signal.SIGKILL)
    book(parent, job, first)
    # Either the decline lands at once (a fresh worker) or a crash is logged first.
    wait_until(
        lambda: (
            application_statuses(parent, job)[second] == "DECLINED"
            or cloud.tail(100_000).count("crashed") > crashes_before
        ),
        "the decline or a crash",
        SETTLE_SECONDS,
    )
    crashes = cloud.tail(100_000).count("crashed") - crashes_before
    print(f"\nworkers killed while idle: {len(idle)}; crashes logged after: {crashes}")
    assert crashes == 0, f"{len(idle)} idle workers killed; then {crashes} crash(es) logged"
    wait_until(lambda: application_statuses(parent, job)[second] == "DECLINED", "the decline", 30)


POISON = ["not json", '{"detail-type": "JobClosed"}', '{"detail": {"metadata": {"version": "9"}}}']


def test_poison_messages_end_in_the_dlq_and_bookings_still_settle(cloud: CloudProcess) -> None:
    """Three poison bodies (not a JobClosed v1) put on the decline queue while 6 bookings
    (x 3 applicants) settle through the same queue and function.

    Proves: each poison message fails its own record only, and after maxReceiveCount (5)
    receives, 6 s apart in this suite's template, sits in the decline DLQ, exactly these
    three, no booking's event among them; every booking still ends with one ACCEPTED and
    the rest DECLINED. Reports the DLQ count and the seconds until it was reached.
    A consumer failing a random share of records (then succeeding) is proven on the event
    source mapping itself: test_sqs_event_source.py::test_a_poison_message_among_good_ones.
    """
    stack = cloud.running()
    sqs = stack.client("sqs")
    queue = stack.outputs["DeclineOtherApplicationsQueueUrl"]
    dlq = stack.outputs["DeclineOtherApplicationsDeadLetterQueueUrl"]
    (parent,) = users(stack, "PARENT", 1)
    nannies = users(stack, "NANNY", 3)
    jobs = [post_job(parent) for _ in range(6)]
    pairs = [(job, n) for job in jobs for n in range(3)]
    made = in_parallel(lambda p: apply(nannies[p[1]], p[0]), pairs, at_once=False)
    chosen = {job: made[index * 3] for index, job in enumerate(jobs)}

    started = time.monotonic()
    for body in POISON:
        sqs.send_message(QueueUrl=queue, MessageBody=body)
    in_parallel(lambda job: book(parent, job, chosen[job]), jobs)

    dead: list[str] = []

    def drained() -> bool:
        answer = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)
        for message in answer.get("Messages", []):
            dead.append(message["Body"])
            sqs.delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])
        return len(dead) >= len(POISON)

    wait_until(drained, f"{len(POISON)} poison messages in the DLQ", 90)
    reached = time.monotonic() - started
    time.sleep(1)
    drained()
    statuses = Counter(s for job in jobs for s in application_statuses(parent, job).values())
    figures = f"DLQ {len(dead)} messages after {reached:.1f} s; applications {dict(statuses)}"
    print(f"\npoison messages: {figures}")
    assert sorted(dead) == sorted(POISON), figures
    assert statuses == {"ACCEPTED": 6, "DECLINED": 12}, figures

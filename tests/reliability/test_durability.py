"""Durability: Ctrl-C to ``python -m localcloud up`` mid-run, then ``up`` on the same state dir.

What the local cloud keeps across the restart: DynamoDB's data and the pipe's stream
checkpoint (on disk). What it loses: everything moto holds (SQS messages, Cognito users),
so this test reads the table directly after the restart, not through GraphQL.

About a minute (two stops and a start of the cloud, the pipe's batching window twice),
run by ``make test``.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from tests.reliability.cloud import PIPE_WINDOW, CloudProcess
from tests.reliability.scenario import (
    apply,
    book,
    in_parallel,
    post_job,
    table_items,
    users,
    wait_until,
)

JOBS_BEFORE = 3
JOBS_IN_FLIGHT = 3
APPLICANTS = 3
SETTLE_SECONDS = 60.0


def applications_by_job(items: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for item in items:
        if item.get("entity") == "APPLICATION":
            job_id = str(item["PK"]).split("#")[1]
            found.setdefault(job_id, {})[str(item["PK"])] = str(item["jobApplicationStatus"])
    return found


def keyed(items: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(str(item["PK"]), str(item["SK"])): item for item in items}


def test_a_restart_keeps_the_data_and_delivers_undelivered_job_closed_events(
    cloud: CloudProcess,
) -> None:
    """6 jobs x 3 applicants. 3 bookings settle (declines done); then 3 more bookings, and
    Ctrl-C within the pipe's batching window, before their JobClosed reaches the bus.

    Proves: the process exits 0; after ``up`` on the same state dir every item written
    before the stop is there, unchanged (jobs, applications, statuses, profiles); and the
    3 bookings whose JobClosed was not delivered before the stop get their declines after
    the restart (the pipe's checkpoint was not advanced past them). Reports item counts,
    stop and start times, and the seconds from the restart to the last decline. Also
    checks what docs/local-cloud.md says is lost: a queued SQS message and the Cognito
    users (moto holds both in memory).
    """
    stack = cloud.running()
    (parent,) = users(stack, "PARENT", 1)
    nannies = users(stack, "NANNY", APPLICANTS)
    jobs = [post_job(parent) for _ in range(JOBS_BEFORE + JOBS_IN_FLIGHT)]
    pairs = [(job, n) for job in jobs for n in range(APPLICANTS)]
    made = in_parallel(lambda p: apply(nannies[p[1]], p[0]), pairs, at_once=False)
    chosen = {job: made[index * APPLICANTS] for index, job in enumerate(jobs)}
    before, in_flight = jobs[:JOBS_BEFORE], jobs[JOBS_BEFORE:]

    in_parallel(lambda job: book(parent, job, chosen[job]), before)
    wait_until(
        lambda: all(
            Counter(applications_by_job(table_items(stack))[job].values())
            == {"ACCEPTED": 1, "DECLINED": APPLICANTS - 1}
            for job in before
        ),
        "the first bookings' declines",
        SETTLE_SECONDS,
    )
    time.sleep(PIPE_WINDOW + 1)  # the declines' own stream records leave the pipe's buffer

    # A message no consumer will see before the stop (delayed 15 min): is it kept?
    sqs = stack.client("sqs")
    queue = stack.outputs["DeclineOtherApplicationsQueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="{}", DelaySeconds=900)
    in_parallel(lambda job: book(parent, job, chosen[job]), in_flight)
    snapshot = table_items(stack)
    stopping = time.monotonic()
    exit_code = cloud.interrupt()
    stopped = time.monotonic() - stopping
    statuses = applications_by_job(snapshot)
    at_stop = Counter(s for job in in_flight for s in statuses[job].values())
    assert exit_code == 0, cloud.tail()

    starting = time.monotonic()
    stack = cloud.start()
    started = time.monotonic() - starting
    after = keyed(table_items(stack))
    delayed = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.outputs["DeclineOtherApplicationsQueueUrl"],
        AttributeNames=["ApproximateNumberOfMessagesDelayed"],
    )["Attributes"]["ApproximateNumberOfMessagesDelayed"]
    try:
        stack.client("cognito-idp").admin_get_user(
            UserPoolId=stack.outputs["UserPoolId"], Username=parent.username
        )
        cognito_user = "kept"
    except stack.client("cognito-idp").exceptions.UserNotFoundException:
        cognito_user = "lost"
    missing = [key for key in keyed(snapshot) if key not in after]
    changed = [key for key, item in keyed(snapshot).items() if after.get(key, item) != item]
    settled = wait_until(
        lambda: all(
            Counter(applications_by_job(table_items(stack))[job].values())
            == {"ACCEPTED": 1, "DECLINED": APPLICANTS - 1}
            for job in in_flight
        ),
        f"the in-flight bookings' declines after the restart (at the stop: {dict(at_stop)})",
        SETTLE_SECONDS,
    )
    final = applications_by_job(table_items(stack))
    figures = (
        f"items before the stop {len(snapshot)}, after the restart {len(after)}, "
        f"missing {len(missing)}, changed {len(changed)}; in-flight applications at the stop "
        f"{dict(at_stop)}; stop {stopped:.1f} s, start {started:.1f} s; in-flight declines "
        f"{settled + started:.1f} s after the restart began; final "
        f"{dict(Counter(s for job in jobs for s in final[job].values()))}; "
        f"SQS messages delayed before the stop 1, after {delayed}; Cognito user {cognito_user}"
    )
    print(f"\nrestart mid-run: {figures}")
    assert at_stop == {"ACCEPTED": JOBS_IN_FLIGHT, "PENDING": JOBS_IN_FLIGHT * 2}, figures
    assert (missing, changed) == ([], []), figures
    # moto's state is in memory: documented as lost (docs/local-cloud.md), checked here.
    assert (delayed, cognito_user) == ("0", "lost"), figures
    assert all(
        Counter(final[job].values()) == {"ACCEPTED": 1, "DECLINED": APPLICANTS - 1} for job in jobs
    ), figures

"""Concurrency through GraphQL on a local cloud: racing bookings and racing applications.

Both tests drive the real path: Cognito tokens, the GraphQL endpoint, the API Lambda, the
BookNanny Express workflow's conditional transaction, the stream, the pipe, the bus, the
decline queue and its consumer. They print their figures (visible with ``-s``) and put
them in their assertion messages.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections import Counter

import pytest

from tests.reliability.cloud import CloudProcess
from tests.reliability.scenario import (
    RESETS,
    application_statuses,
    apply,
    book,
    in_parallel,
    outcome,
    post_job,
    users,
    wait_until,
)

APPLY_RACERS = 10
BURST = 100
SETTLE_SECONDS = 60.0


@pytest.mark.parametrize(
    ("jobs_count", "applicants"),
    [(5, 4), pytest.param(12, 8, marks=pytest.mark.soak, id="soak-12x8")],
)
def test_racing_bookings_accept_exactly_one_per_job_and_decline_the_rest(
    cloud: CloudProcess, jobs_count: int, applicants: int
) -> None:
    """5 jobs x 4 applicants (soak: 12 x 8); every ``bookNanny`` call (20; soak 96)
    released at once by a barrier.

    Proves: per job exactly one booking succeeds (the others are refused, counted by
    errorType), the job's ACCEPTED application is the winner's, and every other
    application ends DECLINED within SETTLE_SECONDS (no decline lost). Reports the
    outcome counts, the burst's wall time and the time for every decline to land.
    """
    stack = cloud.running()
    (parent,) = users(stack, "PARENT", 1)
    nannies = users(stack, "NANNY", applicants)
    jobs = [post_job(parent) for _ in range(jobs_count)]
    pairs = [(job, n) for job in jobs for n in range(applicants)]
    made = in_parallel(lambda p: apply(nannies[p[1]], p[0]), pairs, at_once=False)
    applications = dict(zip(pairs, made, strict=True))

    resets_before = RESETS["bookNanny"]
    started = time.monotonic()
    outcomes = in_parallel(
        lambda p: outcome(lambda: book(parent, p[0], applications[p]), what="bookNanny"),
        list(applications),
    )
    burst = time.monotonic() - started
    by_pair = dict(zip(applications, outcomes, strict=True))
    counts = Counter(outcomes)
    figures = (
        f"{jobs_count} jobs x {applicants} applicants: {dict(counts)} in {burst:.2f} s "
        f"(connections reset and resent: {RESETS['bookNanny'] - resets_before})"
    )
    print(f"\nracing bookings: {figures}")

    expected: dict[str, dict[str, str]] = {}
    for job in jobs:
        winners = [applications[(job, n)] for n in range(applicants) if by_pair[(job, n)] == "ok"]
        assert len(winners) == 1, f"job {job}: {len(winners)} bookings succeeded; {figures}"
        expected[job] = {
            applications[(job, n)]: "ACCEPTED" if applications[(job, n)] in winners else "DECLINED"
            for n in range(applicants)
        }
    assert counts["ok"] == jobs_count, figures
    assert set(counts) <= {"ok", "JobNotOpen", "ApplicationNotPending", "Conflict"}, figures

    settled = wait_until(
        lambda: all(application_statuses(parent, job) == expected[job] for job in jobs),
        f"one ACCEPTED and {applicants - 1} DECLINED per job; {figures}",
        SETTLE_SECONDS,
    )
    final = Counter(s for job in jobs for s in application_statuses(parent, job).values())
    print(f"racing bookings: settled {dict(final)} {settled:.2f} s after the burst")
    assert final == {"ACCEPTED": jobs_count, "DECLINED": jobs_count * (applicants - 1)}


def test_racing_applications_by_one_nanny_make_one_application(cloud: CloudProcess) -> None:
    """One nanny fires 10 ``applyToJob`` calls on one job at once.

    Proves: exactly one succeeds, the others are refused (AlreadyApplied expected), and
    the job lists exactly one application. Reports the outcome counts.
    """
    stack = cloud.running()
    (parent,) = users(stack, "PARENT", 1)
    (nanny,) = users(stack, "NANNY", 1)
    job = post_job(parent)

    outcomes = Counter(
        in_parallel(
            lambda _: outcome(lambda: apply(nanny, job), what="applyToJob"), range(APPLY_RACERS)
        )
    )
    listed = application_statuses(parent, job)
    figures = (
        f"{APPLY_RACERS} racing applyToJob: {dict(outcomes)}; listed {len(listed)} "
        f"(connections reset and resent: {RESETS['applyToJob']})"
    )
    print(f"\n{figures}")
    assert outcomes["ok"] == 1, figures
    assert set(outcomes) <= {"ok", "AlreadyApplied", "Conflict"}, figures
    assert list(listed.values()) == ["PENDING"], figures


def test_the_graphql_endpoint_takes_a_burst_of_connections(cloud: CloudProcess) -> None:
    """100 connections opened at once to the GraphQL endpoint are all answered (401 here:
    no credentials), none reset. Reports how many were reset."""
    url = cloud.running().outputs["GraphQLUrl"]

    def post(_: int) -> str:
        request = urllib.request.Request(  # noqa: S310 - the local cloud on 127.0.0.1
            url, data=b'{"query": "{ __typename }"}', method="POST",
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return str(response.status)
        except urllib.error.HTTPError as error:
            return str(error.code)
        except OSError as error:
            return type(error).__name__

    answers = Counter(in_parallel(post, range(BURST)))
    print(f"\n{BURST} connections at once: {dict(answers)}")
    assert answers == {"401": BURST}, f"{BURST} connections at once: {dict(answers)}"

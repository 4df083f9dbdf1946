"""book_nanny.asl.json run by moto's interpreter against DynamoDB Local."""

from __future__ import annotations

import datetime as dt
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from services.booking.definition import render
from services.common.models import Job, JobApplication
from tests.integration.booking.conftest import Marketplace
from tests.support.step_functions import create_state_machine

pytestmark = pytest.mark.dynamodb

# A cancelled transaction's Cause as observed here (moto's aws-sdk integration wrapping DynamoDB
# Local's message, which is DynamoDB's); {} stands for the reasons.
CANCELLED = (
    "Transaction cancelled, please refer cancellation reasons for specific reasons {} "
    "(Service: DynamoDb, Status Code: 400, Request ID: 0)"
)


def test_booking_closes_the_job_and_accepts_only_that_application(
    marketplace: Marketplace,
) -> None:
    job = marketplace.post_job()
    chosen, *others = [marketplace.apply(job) for _ in range(3)]
    untouched = [marketplace.application_item(other) for other in others]

    booked = marketplace.book(chosen, correlation_id="corr-1")

    assert booked.status == "SUCCEEDED", (booked.error, booked.cause)
    job_item = marketplace.job_item(job)
    assert booked.output == {
        "jobId": job["jobId"],
        "parentUsername": job["parentUsername"],
        "acceptedApplicationId": chosen["applicationId"],
        "acceptedApplicant": chosen["applicantUsername"],
        "closedAt": job_item["closedAt"],
    }
    assert job_item["jobStatus"] == "CLOSED"
    assert job_item["acceptedApplicationId"] == chosen["applicationId"]
    assert job_item["acceptedApplicant"] == chosen["applicantUsername"]
    assert job_item["correlationId"] == "corr-1"
    closed = Job.model_validate(job_item)  # what the resolver and the pipe will read
    assert closed.closed_at is not None
    assert abs(closed.closed_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    accepted = JobApplication.model_validate(marketplace.application_item(chosen))
    assert accepted.job_application_status == "ACCEPTED"
    assert accepted.updated_on == closed.closed_at
    assert [marketplace.application_item(other) for other in others] == untouched


def test_the_accepted_applicant_comes_from_the_application_not_the_input(
    marketplace: Marketplace,
) -> None:
    application = marketplace.apply(marketplace.post_job())

    booked = marketplace.book(application, acceptedApplicant="mallory", tableName="other")

    assert booked.status == "SUCCEEDED", (booked.error, booked.cause)
    job_item = marketplace.job_item(application)
    assert job_item["acceptedApplicant"] == application["applicantUsername"]


def test_an_unknown_application_is_not_found(marketplace: Marketplace) -> None:
    job = marketplace.post_job()
    before = marketplace.snapshot(job)

    failed = marketplace.book({**job, "applicationId": "no-such-application"})

    assert (failed.status, failed.error) == ("FAILED", "NotFound")
    assert failed.cause == "The application does not exist."
    assert marketplace.snapshot(job) == before


def test_an_application_to_another_job_is_not_found(marketplace: Marketplace) -> None:
    job = marketplace.post_job()
    other_job = marketplace.post_job(parent=job["parentUsername"])
    application = marketplace.apply(other_job)
    before = marketplace.snapshot(job)

    failed = marketplace.book({**application, "jobId": job["jobId"]})

    assert (failed.status, failed.error) == ("FAILED", "NotFound")
    assert marketplace.snapshot(job) == before


def test_only_the_jobs_parent_can_book(marketplace: Marketplace) -> None:
    job = marketplace.post_job()
    application = marketplace.apply(job)
    intruder_job = marketplace.post_job()  # the intruder is a parent with an open job too
    before = marketplace.snapshot(job), marketplace.snapshot(intruder_job)

    failed = marketplace.book(application, parent=intruder_job["parentUsername"])

    assert (failed.status, failed.error) == ("FAILED", "NotJobOwner")
    assert failed.cause is not None
    assert job["parentUsername"] not in failed.cause  # no personal data in a Cause
    assert (marketplace.snapshot(job), marketplace.snapshot(intruder_job)) == before


@pytest.mark.parametrize("status", ["DECLINED", "ACCEPTED"])
def test_an_application_that_is_not_pending_cannot_be_booked(
    marketplace: Marketplace, status: str
) -> None:
    job = marketplace.post_job()
    application = marketplace.apply(job)
    marketplace.set_application_status(application, status)
    before = marketplace.snapshot(job)

    failed = marketplace.book(application)

    assert (failed.status, failed.error) == ("FAILED", "ApplicationNotPending")
    assert marketplace.snapshot(job) == before


def test_a_booked_job_refuses_another_application(marketplace: Marketplace) -> None:
    job = marketplace.post_job()
    first, second = marketplace.apply(job), marketplace.apply(job)
    assert marketplace.book(first, correlation_id="first").status == "SUCCEEDED"
    before = marketplace.snapshot(job)

    failed = marketplace.book(second, correlation_id="second")

    assert (failed.status, failed.error) == ("FAILED", "JobNotOpen")
    assert marketplace.snapshot(job) == before
    assert marketplace.application_item(second)["jobApplicationStatus"] == "PENDING"
    assert marketplace.job_item(job)["correlationId"] == "first"
    # What the Choice state parses: DynamoDB's reasons, in TransactItems order (job first).
    (cause,) = marketplace.failed_task_causes(failed)
    assert cause.startswith(
        "Transaction cancelled, please refer cancellation reasons for specific reasons "
        "[ConditionalCheckFailed, None] (Service: DynamoDb, Status Code: 400, Request ID: "
    ), cause


def test_a_booked_job_refuses_its_declined_applications_as_not_open(
    marketplace: Marketplace,
) -> None:
    """After the choreography declined the others, the job's state is the reason to give."""
    job = marketplace.post_job()
    first, second = marketplace.apply(job), marketplace.apply(job)
    assert marketplace.book(first).status == "SUCCEEDED"
    marketplace.set_application_status(second, "DECLINED")
    before = marketplace.snapshot(job)

    failed = marketplace.book(second)

    assert (failed.status, failed.error) == ("FAILED", "JobNotOpen")
    assert marketplace.snapshot(job) == before


def test_concurrent_bookings_of_one_job_accept_exactly_one(marketplace: Marketplace) -> None:
    job = marketplace.post_job()
    applications = [marketplace.apply(job) for _ in range(8)]

    with ThreadPoolExecutor(len(applications)) as pool:
        outcomes = list(pool.map(marketplace.book, applications))

    winners = [i for i, outcome in enumerate(outcomes) if outcome.status == "SUCCEEDED"]
    assert len(winners) == 1, outcomes
    assert sorted((o.status, o.error) for i, o in enumerate(outcomes) if i != winners[0]) == [
        ("FAILED", "JobNotOpen")
    ] * (len(applications) - 1)
    winner = applications[winners[0]]
    assert marketplace.job_item(job)["acceptedApplicationId"] == winner["applicationId"]
    statuses = [marketplace.application_item(a)["jobApplicationStatus"] for a in applications]
    assert sorted(statuses) == ["ACCEPTED"] + ["PENDING"] * (len(applications) - 1)


def test_a_retried_booking_with_the_same_correlation_id_answers_as_the_first(
    marketplace: Marketplace,
) -> None:
    """StartSyncExecution is at-most-once: a caller that lost the answer retries."""
    application = marketplace.apply(marketplace.post_job())
    first = marketplace.book(application, correlation_id="corr-retry")
    after_first = marketplace.snapshot(application)

    again = marketplace.book(application, correlation_id="corr-retry")
    other_request = marketplace.book(application, correlation_id="corr-other")

    assert (first.status, again.status) == ("SUCCEEDED", "SUCCEEDED")
    assert again.output == first.output
    assert (other_request.status, other_request.error) == ("FAILED", "JobNotOpen")
    assert marketplace.snapshot(application) == after_first


def test_an_application_declined_between_read_and_commit_is_not_pending(
    marketplace: Marketplace,
) -> None:
    """The transaction's own condition catches what the first read could not see.

    The race is made deterministic by replacing the read with one that saw PENDING.
    """
    job = marketplace.post_job()
    application = marketplace.apply(job)
    marketplace.set_application_status(application, "DECLINED")
    before = marketplace.snapshot(job)
    definition = json.loads(render(table_name=marketplace.table.name))
    definition["States"]["GetApplication"] = stale_read(application, "PENDING")
    arn = create_state_machine(marketplace.sfn, json.dumps(definition), "BookNannyStaleRead")

    failed = marketplace.book(application, state_machine_arn=arn)

    assert (failed.status, failed.error) == ("FAILED", "ApplicationNotPending")
    assert marketplace.snapshot(job) == before
    (cause,) = marketplace.failed_task_causes(failed)
    assert "[None, ConditionalCheckFailed]" in cause, cause


@pytest.mark.parametrize(
    ("reasons", "error", "attempts"),
    [
        ("[ConditionalCheckFailed, None]", "JobNotOpen", 1),
        ("[ConditionalCheckFailed, ConditionalCheckFailed]", "JobNotOpen", 1),
        ("[None, ConditionalCheckFailed]", "ApplicationNotPending", 1),
        ("[TransactionConflict, None]", "TransactionConflict", 3),
        ("[None, ValidationError]", "BookingCancelled", 1),
    ],
)
def test_each_cancellation_reason_ends_as_its_error(
    marketplace: Marketplace, reasons: str, error: str, attempts: int
) -> None:
    """Reasons DynamoDB Local cannot be made to give on demand, fed to the real Choice.

    A conflict with a concurrent transaction is retried; the others are final at once.
    """
    application = marketplace.apply(marketplace.post_job())
    before = marketplace.snapshot(application)
    definition = json.loads(render(table_name=marketplace.table.name))
    (branch,) = definition["States"]["Book"]["Branches"]
    branch["States"]["CloseJobAndAcceptApplication"] = {
        "Type": "Pass",
        "Result": {
            "Error": "DynamoDb.TransactionCanceledException",
            "Cause": CANCELLED.format(reasons),
        },
        "ResultPath": "$.cancelled",
        "Next": "WhyCancelled",
    }
    arn = create_state_machine(marketplace.sfn, json.dumps(definition), "BookNannyCancelled")

    failed = marketplace.book(application, state_machine_arn=arn)

    assert (failed.status, failed.error) == ("FAILED", error)
    assert marketplace.entries_into(failed, "NewAttempt") == attempts
    assert marketplace.snapshot(application) == before


def test_input_without_a_correlation_id_fails_without_writing(marketplace: Marketplace) -> None:
    job = marketplace.post_job()
    application = marketplace.apply(job)
    before = marketplace.snapshot(job)

    failed = marketplace.book(application, correlationId=None)

    assert (failed.status, failed.error) == ("FAILED", "States.Runtime")
    assert marketplace.snapshot(job) == before


def stale_read(application: dict[str, str], status: str) -> dict[str, Any]:
    """A GetApplication state answering what an earlier read would have seen."""
    return {
        "Type": "Pass",
        "Result": {
            "Item": {
                "parentUsername": {"S": application["parentUsername"]},
                "applicantUsername": {"S": application["applicantUsername"]},
                "jobApplicationStatus": {"S": status},
            }
        },
        "ResultPath": "$.application",
        "Next": "CheckApplication",
    }

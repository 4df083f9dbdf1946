"""BookingWorkflow reading real executions (moto's, through the polling stand-in)."""

from __future__ import annotations

import uuid

import pytest

from services.api.booking_workflow import BookingWorkflow, BookingWorkflowError
from services.common.errors import JobNotOpen, NotFound, NotJobOwner
from tests.integration.booking.conftest import Marketplace
from tests.support.step_functions import PollingSyncExecutions

pytestmark = pytest.mark.dynamodb


@pytest.fixture
def workflow(state_machine_arn: str, executions: PollingSyncExecutions) -> BookingWorkflow:
    return BookingWorkflow(state_machine_arn, client=executions)


def book(workflow: BookingWorkflow, application: dict[str, str], **changes: str) -> object:
    request = {
        "job_id": application["jobId"],
        "application_id": application["applicationId"],
        "parent_username": application["parentUsername"],
        "correlation_id": f"corr-{uuid.uuid4()}",
        **changes,
    }
    return workflow.book(**request)


def test_a_booking_returns_the_booked_job(
    workflow: BookingWorkflow, marketplace: Marketplace
) -> None:
    application = marketplace.apply(marketplace.post_job())

    booked = book(workflow, application)

    assert booked == {
        "jobId": application["jobId"],
        "parentUsername": application["parentUsername"],
        "acceptedApplicationId": application["applicationId"],
        "acceptedApplicant": application["applicantUsername"],
        "closedAt": marketplace.job_item(application)["closedAt"],
    }


def test_each_refusal_raises_its_domain_error(
    workflow: BookingWorkflow, marketplace: Marketplace
) -> None:
    job = marketplace.post_job()
    first, second = marketplace.apply(job), marketplace.apply(job)

    with pytest.raises(NotFound) as not_found:
        book(workflow, first, application_id="missing")
    with pytest.raises(NotJobOwner):
        book(workflow, first, parent_username="someone-else")
    book(workflow, first)
    with pytest.raises(JobNotOpen):
        book(workflow, first)
    with pytest.raises(JobNotOpen) as not_open:
        book(workflow, second)

    assert not_found.value.error_type == "NotFound"
    assert not_found.value.message == "The application does not exist."
    assert not_open.value.envelope()["errorType"] == "JobNotOpen"


def test_a_failure_that_is_not_a_refusal_is_a_plain_error(
    workflow: BookingWorkflow, marketplace: Marketplace
) -> None:
    application = marketplace.apply(marketplace.post_job())

    with pytest.raises(BookingWorkflowError) as failed:
        book(workflow, application, correlation_id=None)  # type: ignore[arg-type]

    # DynamoDB refuses the null correlationId: a bug of the caller, not a refusal.
    assert (failed.value.status, failed.value.error) == ("FAILED", "DynamoDb.DynamoDbException")
    assert "correlationId" not in str(failed.value)
    assert marketplace.application_item(application)["jobApplicationStatus"] == "PENDING"

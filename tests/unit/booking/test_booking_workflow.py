"""BookingWorkflow: what StartSyncExecution answers, turned into results and errors."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from services.api.booking_workflow import (
    STATE_MACHINE_ARN_VARIABLE,
    BookingWorkflow,
    BookingWorkflowError,
)
from services.common.errors import (
    ApplicationNotPending,
    Conflict,
    DomainError,
    JobNotOpen,
    NotFound,
    NotJobOwner,
)

ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:BookNanny"
EXECUTION_ARN = "arn:aws:states:us-east-1:123456789012:express:BookNanny:e1:x1"
REQUEST = {
    "jobId": "job-1",
    "applicationId": "application-1",
    "parentUsername": "ann",
    "correlationId": "corr-1",
}
BOOKED = {
    "jobId": "job-1",
    "parentUsername": "ann",
    "acceptedApplicationId": "application-1",
    "acceptedApplicant": "nina",
    "closedAt": "2026-05-01T10:00:00.000Z",
}


@pytest.fixture(autouse=True)
def aws_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    for variable in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SFN", STATE_MACHINE_ARN_VARIABLE):
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def stubbed() -> Iterator[tuple[BookingWorkflow, Stubber]]:
    """A real boto3 client whose answers come from the test, checked against the API model."""
    client = boto3.client("stepfunctions")
    with Stubber(client) as stubber:
        yield BookingWorkflow(ARN, client=client), stubber
        stubber.assert_no_pending_responses()


def answer(status: str, **fields: Any) -> dict[str, Any]:
    now = dt.datetime(2026, 5, 1, 10, tzinfo=dt.UTC)
    return {
        "executionArn": EXECUTION_ARN,
        "stateMachineArn": ARN,
        "startDate": now,
        "stopDate": now,
        "status": status,
        **fields,
    }


def book(workflow: BookingWorkflow) -> dict[str, Any]:
    return workflow.book("job-1", "application-1", "ann", "corr-1")


def test_a_booking_sends_the_request_and_returns_the_output(
    stubbed: tuple[BookingWorkflow, Stubber],
) -> None:
    workflow, stubber = stubbed
    stubber.add_response(
        "start_sync_execution",
        answer("SUCCEEDED", output=json.dumps(BOOKED)),
        {"stateMachineArn": ARN, "input": json.dumps(REQUEST)},
    )

    assert book(workflow) == BOOKED


@pytest.mark.parametrize(
    "error", [NotFound, NotJobOwner, ApplicationNotPending, JobNotOpen], ids=lambda e: e.__name__
)
def test_a_typed_failure_raises_the_domain_error_of_that_name(
    stubbed: tuple[BookingWorkflow, Stubber], error: type[DomainError]
) -> None:
    workflow, stubber = stubbed
    stubber.add_response(
        "start_sync_execution", answer("FAILED", error=error.__name__, cause="Short reason.")
    )

    with pytest.raises(error) as raised:
        book(workflow)

    assert type(raised.value) is error
    assert raised.value.message == "Short reason."


def test_a_typed_failure_without_a_cause_gets_the_errors_own_message(
    stubbed: tuple[BookingWorkflow, Stubber],
) -> None:
    workflow, stubber = stubbed
    stubber.add_response("start_sync_execution", answer("FAILED", error="JobNotOpen"))

    with pytest.raises(JobNotOpen) as raised:
        book(workflow)

    assert raised.value.message == "The job is closed: it takes no more applications or bookings."


def test_a_lost_transaction_race_is_a_retryable_conflict(
    stubbed: tuple[BookingWorkflow, Stubber],
) -> None:
    workflow, stubber = stubbed
    cause = 'Transaction cancelled [TransactionConflict, None] {"parentUsername": "ann"}'
    stubber.add_response(
        "start_sync_execution", answer("FAILED", error="TransactionConflict", cause=cause)
    )

    with pytest.raises(Conflict) as raised:
        book(workflow)

    assert raised.value.error_type == "Conflict"
    assert "ann" not in raised.value.message


@pytest.mark.parametrize(
    ("status", "error"),
    [
        ("TIMED_OUT", None),
        ("TIMED_OUT", "States.Timeout"),
        ("FAILED", "BookingCancelled"),
        ("FAILED", "States.Runtime"),
        ("FAILED", "DynamoDb.DynamoDbException"),
        ("FAILED", None),
    ],
)
def test_any_other_ending_is_a_plain_error_without_the_cause_in_its_message(
    stubbed: tuple[BookingWorkflow, Stubber], status: str, error: str | None
) -> None:
    workflow, stubber = stubbed
    cause = 'The JSONPath could not be found in the input {"parentUsername": "ann"}'
    fields = {"error": error, "cause": cause} if error else {}
    stubber.add_response("start_sync_execution", answer(status, **fields))

    with pytest.raises(BookingWorkflowError) as raised:
        book(workflow)

    assert not isinstance(raised.value, DomainError)
    assert (raised.value.status, raised.value.error) == (status, error)
    assert "ann" not in str(raised.value)


@pytest.mark.parametrize("output", [None, "[]", "not json"])
def test_a_success_without_an_object_output_is_a_plain_error(output: str | None) -> None:
    workflow = BookingWorkflow(ARN, client=FixedAnswer({"status": "SUCCEEDED", "output": output}))

    with pytest.raises(BookingWorkflowError):
        book(workflow)


def test_a_missing_status_is_a_plain_error() -> None:
    with pytest.raises(BookingWorkflowError):
        book(BookingWorkflow(ARN, client=FixedAnswer({})))


def test_a_refused_call_is_a_plain_error(stubbed: tuple[BookingWorkflow, Stubber]) -> None:
    workflow, stubber = stubbed
    stubber.add_client_error(
        "start_sync_execution", "StateMachineDoesNotExist", http_status_code=400
    )

    with pytest.raises(BookingWorkflowError) as raised:
        book(workflow)

    assert isinstance(raised.value.__cause__, ClientError)


def test_from_environment_reads_the_state_machine_arn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(STATE_MACHINE_ARN_VARIABLE, ARN)

    assert BookingWorkflow.from_environment().state_machine_arn == ARN


def test_the_client_answers_well_inside_appsyncs_30_seconds() -> None:
    config = BookingWorkflow(ARN).client.meta.config

    assert (config.connect_timeout, config.read_timeout) == (2, 10)
    assert config.retries == {"mode": "standard", "total_max_attempts": 2}
    attempts = config.retries["total_max_attempts"]
    assert attempts * (config.connect_timeout + config.read_timeout) < 30


@pytest.mark.parametrize(
    ("variable", "endpoint", "expected_url"),
    [
        (None, None, "https://sync-states.us-east-1.amazonaws.com/"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566", "http://127.0.0.1:4566/"),
        ("AWS_ENDPOINT_URL_SFN", "http://127.0.0.1:4566", "http://127.0.0.1:4566/"),
    ],
)
def test_the_sync_host_prefix_is_used_only_in_aws(
    monkeypatch: pytest.MonkeyPatch, variable: str | None, endpoint: str, expected_url: str
) -> None:
    if variable is not None:
        monkeypatch.setenv(variable, endpoint)
    workflow = BookingWorkflow(ARN)
    sent: list[str] = []

    def capture(request: Any, **_: Any) -> AWSResponse:
        sent.append(request.url)
        body = json.dumps(answer("SUCCEEDED", output=json.dumps(BOOKED)), default=str).encode()
        return AWSResponse(request.url, 200, {}, FakeRaw(body))

    workflow.client.meta.events.register("before-send.sfn.StartSyncExecution", capture)

    book(workflow)

    assert sent == [expected_url]


class FixedAnswer:
    """A client answering every StartSyncExecution the same, malformed or not."""

    def __init__(self, response: dict[str, Any]) -> None:
        self.response = response

    def start_sync_execution(self, **_: Any) -> dict[str, Any]:
        return self.response


class FakeRaw:
    """The raw HTTP body botocore reads a response from."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body

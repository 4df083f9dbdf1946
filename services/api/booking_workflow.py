"""Booking through the BookNanny Express workflow, synchronously.

    workflow = BookingWorkflow.from_environment()
    booked = workflow.book(job_id, application_id, parent_username, correlation_id)
    # {"jobId", "parentUsername", "acceptedApplicationId", "acceptedApplicant", "closedAt"}

StartSyncExecution answers HTTP 200 even when the execution FAILED, so the answer's
``status``, ``error`` and ``cause`` decide: the workflow's typed failures become the domain
errors of the same name; anything else is a :class:`BookingWorkflowError` (an outage or a
bug, not something the caller did).

Retrying is safe. The transaction is conditional (job OPEN, application PENDING), so a
repeated booking can never close a job twice or accept a second nanny; and a repeat of a
booking that already succeeded, with the same correlation id, is answered by the workflow
as a success. So the client retries once on connection errors, throttling and 5xx.
"""

from __future__ import annotations

import json
import os
from typing import Any, Final

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from services.common.errors import (
    ApplicationNotPending,
    Conflict,
    DomainError,
    JobNotOpen,
    NotFound,
    NotJobOwner,
)

__all__ = ["STATE_MACHINE_ARN_VARIABLE", "BookingWorkflow", "BookingWorkflowError"]

STATE_MACHINE_ARN_VARIABLE: Final = "BOOKING_STATE_MACHINE_ARN"

# The workflow's Fail states use these errorType names as their Error.
_DOMAIN_ERRORS: Final[dict[str, type[DomainError]]] = {
    error.__name__: error for error in (JobNotOpen, NotJobOwner, ApplicationNotPending, NotFound)
} | {"TransactionConflict": Conflict}  # lost to concurrent writes even after its retries

# AppSync gives a resolver 30 s. The execution stops itself after 8 s (its TimeoutSeconds),
# so 10 s of reading always covers one answer; two attempts of 2 + 10 s stay under 30 s.
_CLIENT_CONFIG: Final = Config(
    connect_timeout=2,
    read_timeout=10,
    retries={"mode": "standard", "total_max_attempts": 2},
)

# Any of these means requests go to a local endpoint, which has no "sync-" host to prefix.
_ENDPOINT_VARIABLES: Final = ("AWS_ENDPOINT_URL_SFN", "AWS_ENDPOINT_URL")


class BookingWorkflowError(Exception):
    """The workflow could not answer with a booking or a typed refusal.

    ``str()`` carries only the status and error name: a ``cause`` may quote the execution's
    input, so it is kept on the exception for debugging and never put in the message.
    """

    def __init__(self, status: str, error: str | None = None, cause: str | None = None) -> None:
        super().__init__(f"booking workflow ended {status}" + (f" with {error}" if error else ""))
        self.status = status
        self.error = error
        self.cause = cause


def _default_client() -> Any:
    config = _CLIENT_CONFIG
    if any(os.environ.get(variable) for variable in _ENDPOINT_VARIABLES):
        config = config.merge(Config(inject_host_prefix=False))
    return boto3.client("stepfunctions", config=config)


class BookingWorkflow:
    """Runs one booking in the BookNanny state machine and waits for its outcome."""

    def __init__(self, state_machine_arn: str, client: Any | None = None) -> None:
        self.state_machine_arn = state_machine_arn
        self.client = client if client is not None else _default_client()

    @classmethod
    def from_environment(cls) -> BookingWorkflow:
        return cls(os.environ[STATE_MACHINE_ARN_VARIABLE])

    def book(
        self, job_id: str, application_id: str, parent_username: str, correlation_id: str
    ) -> dict[str, Any]:
        """Close the job and accept the application; return the booked job's identifiers.

        Raises:
            NotFound, NotJobOwner, ApplicationNotPending, JobNotOpen: the booking was refused
                and nothing was written.
            BookingWorkflowError: the call or the execution failed otherwise (TIMED_OUT
                included: the booking may or may not have been written).
        """
        request = {
            "jobId": job_id,
            "applicationId": application_id,
            "parentUsername": parent_username,
            "correlationId": correlation_id,
        }
        try:
            response = self.client.start_sync_execution(
                stateMachineArn=self.state_machine_arn, input=json.dumps(request)
            )
        except (ClientError, BotoCoreError) as error:
            raise BookingWorkflowError("unanswered", type(error).__name__) from error
        return _outcome(response)


def _outcome(response: dict[str, Any]) -> dict[str, Any]:
    status = response.get("status")
    if status == "SUCCEEDED":
        try:
            output = json.loads(response.get("output") or "null")
        except ValueError:
            output = None
        if not isinstance(output, dict):
            raise BookingWorkflowError("SUCCEEDED", "an output that is not an object")
        return output
    error, cause = response.get("error"), response.get("cause")
    if status == "FAILED" and error in _DOMAIN_ERRORS:
        domain_error = _DOMAIN_ERRORS[error]
        # The workflow's own Fail states write causes for clients; a conflict's cause is
        # DynamoDB's text, so it gets the error's own message.
        own_cause = cause if domain_error is not Conflict else None
        raise domain_error(own_cause or _default_message(domain_error))
    raise BookingWorkflowError(str(status), error, cause)


def _default_message(error: type[DomainError]) -> str:
    # The class docstring's first line is written for the client already.
    return (error.__doc__ or error.__name__).strip().splitlines()[0]

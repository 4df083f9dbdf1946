"""What every consumer of ``JobClosed`` does the same way, so each handler stays thin.

Each consumer owns an SQS queue fed by an EventBridge rule; a message body is the whole
EventBridge event. ``process_job_closed_batch`` reads a batch with Powertools'
``BatchProcessor`` and reports partial failures, so one bad message is retried (and
eventually dead-lettered) alone instead of dragging its batch along::

    @logger.inject_lambda_context
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
        return process_job_closed_batch(event, context, handle=decline, logger=logger)

A message that is not a JobClosed v1 event (a poison message) raises ``PoisonMessage``
and fails its record only. Logs carry the event's correlation id, event id and job id,
never the usernames the event also holds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field, ValidationError

from events_schema import JobClosed

E = TypeVar("E", bound=BaseModel)


class JobClosedEvent(EventBridgeModel):
    """The EventBridge event around a JobClosed detail, as a rule delivers it to SQS."""

    # events_schema.SOURCE and DETAIL_TYPE (a unit test keeps them equal): an event
    # routed here by a wrong rule is refused, not misread.
    source: Literal["babysitter.jobs"]
    detail_type: Literal["JobClosed"] = Field(alias="detail-type")
    detail: JobClosed


class PoisonMessage(Exception):
    """A message no retry can process: not a JobClosed v1 event.

    It fails its own record only; the queue's redrive policy moves it to the dead-letter
    queue after maxReceiveCount receives, where an operator can look at it.
    """


def event_from_sqs(record: SQSRecord, model: type[E], what: str) -> E:
    """Parse a message body as ``model``; a body that is not one is a PoisonMessage."""
    try:
        return model.model_validate_json(record.body)
    except ValidationError as error:
        # Where and what kind of problem, never the input: a body may hold personal data.
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'body'}: {problem['type']}"
            for problem in error.errors(include_input=False, include_url=False)
        )
        raise PoisonMessage(f"not {what} ({problems})") from None


def job_closed_from_sqs(record: SQSRecord) -> JobClosedEvent:
    """Parse a message body; a body that is not a JobClosed v1 event is a PoisonMessage."""
    return event_from_sqs(record, JobClosedEvent, "a JobClosed v1 event")


def process_job_closed_batch(
    event: dict[str, Any],
    context: LambdaContext,
    *,
    handle: Callable[[JobClosedEvent], None],
    logger: Logger,
) -> PartialItemFailureResponse:
    """Call ``handle`` for each JobClosed in an SQS batch; answer the records that failed.

    ``handle`` must be idempotent: SQS delivers at least once, and archived events are
    replayed. It signals a failure (to be retried) by raising.
    """
    # Reporting every record as failed, rather than raising, when the whole batch fails:
    # the queue treats both alike, and this keeps one answer shape for the event source.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

    def record_handler(record: SQSRecord) -> None:
        with logger.append_context_keys(message_id=record.message_id):
            try:
                job_closed = job_closed_from_sqs(record)
            except PoisonMessage as poison:
                logger.error("poison message", extra={"reason": str(poison)})
                raise
            with logger.append_context_keys(
                correlation_id=job_closed.detail.metadata.correlation_id or None,
                event_id=job_closed.id,
                job_id=job_closed.detail.data.job_id,
                replay_name=job_closed.replay_name,
            ):
                try:
                    handle(job_closed)
                except Exception:
                    # Logged here, with the keys above; the processor only records it.
                    logger.exception("JobClosed not processed; it will be retried")
                    raise

    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )

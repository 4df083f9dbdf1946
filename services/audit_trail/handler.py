"""The audit_trail Lambda: SQS (fed by the AuditTrail rule, every ``babysitter.*`` event)
-> one audit item per event.

Environment: ``TABLE_NAME``, and Powertools' ``POWERTOOLS_SERVICE_NAME``,
``POWERTOOLS_METRICS_NAMESPACE``, ``POWERTOOLS_LOG_LEVEL``. Its event source mapping must
enable ``ReportBatchItemFailures``: the answer lists only the records to retry.

Unlike the JobClosed consumers (``services.common.events``), it reads any event, so it
parses the envelope leniently (``services.audit_trail.models``). A message that is not an
EventBridge event at all is a poison message: it fails its record only and, after the
queue's maxReceiveCount, waits in the dead-letter queue. Logs carry the correlation id, the
event id, its source and detail-type and the job id, never the event's usernames.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Final

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from services.audit_trail.logic import audit_event
from services.audit_trail.models import AuditedEvent
from services.common.dal.audit import AuditTrail, RecordOutcome
from services.common.dal.table import Table
from services.common.events import PoisonMessage, event_from_sqs

logger = Logger()
tracer = Tracer()
metrics = Metrics()

# One business metric per outcome, so a dashboard shows live events, replays and
# duplicates apart (a burst of duplicates is worth a look at the queue's redeliveries).
OUTCOME_METRICS: Final = {
    RecordOutcome.RECORDED: "EventsAudited",
    RecordOutcome.REPLAY_RECORDED: "ReplayedEventsAudited",
    RecordOutcome.DUPLICATE: "DuplicateEventsIgnored",
}


@cache
def trail() -> AuditTrail:
    """Built on first use and kept for the container's life (warm invocations reuse it)."""
    return AuditTrail(Table.from_environment())


def audited_event_from_sqs(record: SQSRecord) -> AuditedEvent:
    """Parse a message body; one that is not an EventBridge event is a PoisonMessage."""
    return event_from_sqs(record, AuditedEvent, "an EventBridge event")


@tracer.capture_method
def audit(event: AuditedEvent) -> None:
    outcome = audit_event(event, trail())
    metrics.add_metric(name=OUTCOME_METRICS[outcome], unit=MetricUnit.Count, value=1)
    logger.info("event audited", extra={"outcome": outcome.value})


def _audit_record(record: SQSRecord) -> None:
    with logger.append_context_keys(message_id=record.message_id):
        try:
            event = audited_event_from_sqs(record)
        except PoisonMessage as poison:
            logger.error("poison message", extra={"reason": str(poison)})
            raise
        with logger.append_context_keys(
            correlation_id=event.correlation_id,
            event_id=event.id,
            source=event.source,
            detail_type=event.detail_type,
            job_id=event.job_id,
            replay_name=event.replay_name,
        ):
            try:
                audit(event)
            except Exception:
                # Logged here, with the keys above; the processor only records it.
                logger.exception("event not audited; it will be retried")
                raise


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    # Every record failed is reported as such rather than raised: the queue treats both
    # alike, and one answer shape is simpler for the event source mapping.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return process_partial_response(
        event=event, record_handler=_audit_record, processor=processor, context=context
    )


def reset() -> None:
    """Forget the client (tests point the environment at another endpoint)."""
    trail.cache_clear()

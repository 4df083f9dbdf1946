"""The notify_accepted_applicant Lambda: SQS (fed by the NotifyAcceptedApplicant rule) ->
profile lookup -> one SNS notification per job.

Environment: ``TABLE_NAME`` (profiles and idempotency records), ``TOPIC_ARN``, and
Powertools' ``POWERTOOLS_SERVICE_NAME``, ``POWERTOOLS_METRICS_NAMESPACE``,
``POWERTOOLS_LOG_LEVEL``. Its event source mapping must enable
``ReportBatchItemFailures``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.idempotency import idempotent_function
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from events_schema import JobClosedData
from services.common.dal.table import Table
from services.common.dal.users import UserRepository
from services.common.events import JobClosedEvent, process_job_closed_batch
from services.notify_accepted_applicant.idempotency import (
    KEY_PREFIX,
    idempotency_config,
    persistence_layer,
)
from services.notify_accepted_applicant.logic import notify_accepted_applicant
from services.notify_accepted_applicant.sns_sender import SnsNotificationSender

logger = Logger()
tracer = Tracer()
metrics = Metrics()


def _on_duplicate(response: Any, idempotent_data: DataRecord) -> Any:
    """Called instead of notifying when the job was notified before."""
    metrics.add_metric(name="DuplicateNotificationsSuppressed", unit=MetricUnit.Count, value=1)
    logger.info("job already notified; nothing sent", extra={"message_id": response})
    return response


config = idempotency_config(on_duplicate=_on_duplicate)


@cache
def table() -> Table:
    """Clients are built on first use and kept for the container's life."""
    return Table.from_environment()


@cache
def users() -> UserRepository:
    return UserRepository(table())


@cache
def sender() -> SnsNotificationSender:
    return SnsNotificationSender.from_environment()


def _notify(job: JobClosedData) -> str | None:
    message_id = notify_accepted_applicant(job, users(), sender())
    if message_id is None:
        metrics.add_metric(name="NotificationsSkipped", unit=MetricUnit.Count, value=1)
        logger.warning("the accepted applicant has no profile; nothing sent")
    else:
        metrics.add_metric(name="AcceptedApplicantsNotified", unit=MetricUnit.Count, value=1)
        logger.info("accepted applicant notified", extra={"message_id": message_id})
    return message_id


@cache
def notify_once() -> Callable[..., str | None]:
    """``_notify`` made idempotent per job (built lazily: it needs the table's client)."""
    once: Callable[..., str | None] = idempotent_function(
        data_keyword_argument="job",
        persistence_store=persistence_layer(table().client),
        config=config,
        key_prefix=KEY_PREFIX,
    )(_notify)
    return once


@tracer.capture_method
def notify(job_closed: JobClosedEvent) -> None:
    notify_once()(job=job_closed.detail.data)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    # An INPROGRESS claim lasts as long as this invocation may still run, no longer.
    config.register_lambda_context(context)
    return process_job_closed_batch(event, context, handle=notify, logger=logger)


def reset() -> None:
    """Forget every client (tests point the environment at another endpoint)."""
    for factory in (table, users, sender, notify_once):
        factory.cache_clear()

"""The decline_applications Lambda: SQS (fed by the DeclineOtherApplications rule) -> logic.

Environment: ``TABLE_NAME``, and Powertools' ``POWERTOOLS_SERVICE_NAME``,
``POWERTOOLS_METRICS_NAMESPACE``, ``POWERTOOLS_LOG_LEVEL``. Its event source mapping
must enable ``ReportBatchItemFailures``: the answer lists only the records to retry.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from services.common.dal.applications import ApplicationRepository
from services.common.dal.table import Table
from services.common.events import JobClosedEvent, process_job_closed_batch
from services.common.models import utc_now
from services.decline_applications.logic import decline_other_applications, settle_latency_ms

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@cache
def applications() -> ApplicationRepository:
    """Built on first use and kept for the container's life (warm invocations reuse it)."""
    return ApplicationRepository(Table.from_environment())


@tracer.capture_method
def decline(job_closed: JobClosedEvent) -> None:
    outcome = decline_other_applications(job_closed.detail.data, applications())
    metrics.add_metric(name="ApplicationsDeclined", unit=MetricUnit.Count, value=outcome.declined)
    # Booking to settled, once per booking: a replay settles nothing new, and its age would
    # be the replay's, not the choreography's.
    if job_closed.replay_name is None:
        latency = settle_latency_ms(job_closed.detail.data, utc_now())
        metrics.add_metric(name="SettleLatency", unit=MetricUnit.Milliseconds, value=latency)
    logger.info(
        "other applications declined",
        extra={"declined": outcome.declined, "unchanged": outcome.unchanged},
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_job_closed_batch(event, context, handle=decline, logger=logger)


def reset() -> None:
    """Forget the client (tests point the environment at another endpoint)."""
    applications.cache_clear()

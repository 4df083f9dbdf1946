"""The GraphQL resolver Lambda: one function, one router per domain.

Domain errors come back as an envelope (``errorType``, ``errorMessage``, ``errorInfo``)
that the AppSync resolver's response handler raises as a GraphQL error of that type:
direct Lambda resolvers would otherwise report every exception as ``Lambda:Unhandled``.
Anything else is a bug and fails the invocation.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import AppSyncResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from services.api.observability import logger, metrics, tracer
from services.api.routers import applications, booking, jobs, reviews, users
from services.common.errors import DomainError

app = AppSyncResolver()
for router in (users.router, jobs.router, applications.router, booking.router, reviews.router):
    app.include_router(router)


@app.exception_handler(DomainError)
def answer_domain_error(error: DomainError) -> dict[str, Any]:
    # The type, not the message: messages are for people, the type is what we count.
    logger.info("request refused", extra={"error_type": error.error_type})
    return error.envelope()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.APPSYNC_RESOLVER)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    return app.resolve(event, context)

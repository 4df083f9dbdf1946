from __future__ import annotations

import uuid
from typing import Any

from aws_lambda_powertools.event_handler.graphql_appsync.router import Router

from services.api import dependencies
from services.api.logic import booking
from services.api.logic.jobs import present_job
from services.api.models.inputs import BookNannyArguments
from services.api.observability import count, logger
from services.api.routers.shaping import caller_of
from services.api.validation import parse_arguments

router = Router()


@router.resolver(type_name="Mutation", field_name="bookNanny")
def book_nanny(**arguments: Any) -> dict[str, Any]:
    args = parse_arguments(BookNannyArguments, arguments)
    # The request's correlation id travels on the job item into JobClosed and its consumers.
    correlation_id = logger.get_correlation_id() or str(uuid.uuid4())
    caller = caller_of(router)
    job = booking.book_nanny(
        caller,
        args.job_id,
        args.application_id,
        correlation_id,
        dependencies.booking_workflow(),
        dependencies.jobs(),
    )
    count("Booking")
    return present_job(job, caller)

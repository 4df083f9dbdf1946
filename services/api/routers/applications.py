from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.graphql_appsync.router import Router

from services.api import dependencies
from services.api.logic import applications
from services.api.models.inputs import ApplyToJobArguments, JobPage, OptionalUsernamePage
from services.api.observability import count
from services.api.routers.shaping import answer, answer_page, caller_of
from services.api.validation import parse_arguments

router = Router()


@router.resolver(type_name="Mutation", field_name="applyToJob")
def apply_to_job(**arguments: Any) -> dict[str, Any]:
    args = parse_arguments(ApplyToJobArguments, arguments)
    application = applications.apply_to_job(
        caller_of(router), args.application, dependencies.jobs(), dependencies.applications()
    )
    count("Application")
    return answer(application)


@router.resolver(type_name="Query", field_name="listApplicationsPerJob")
def list_applications_per_job(**arguments: Any) -> dict[str, Any]:
    args = parse_arguments(JobPage, arguments)
    page = applications.list_applications_per_job(
        caller_of(router), args.job_id, args.page, dependencies.jobs(), dependencies.applications()
    )
    return answer_page(page, answer)


@router.resolver(type_name="Query", field_name="listJobsAppliedTo")
def list_jobs_applied_to(**arguments: Any) -> dict[str, Any]:
    args = parse_arguments(OptionalUsernamePage, arguments)
    page = applications.list_jobs_applied_to(
        caller_of(router), args.username, args.page, dependencies.applications()
    )
    return answer_page(page, answer)

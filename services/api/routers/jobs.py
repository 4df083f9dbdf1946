from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.graphql_appsync.router import Router

from services.api import dependencies
from services.api.logic import jobs
from services.api.models.inputs import (
    CreateJobArguments,
    ListAllJobsArguments,
    OptionalUsernamePage,
)
from services.api.observability import count
from services.api.routers.shaping import answer_page, caller_of
from services.api.validation import parse_arguments

router = Router()


@router.resolver(type_name="Mutation", field_name="createJob")
def create_job(**arguments: Any) -> dict[str, Any]:
    args = parse_arguments(CreateJobArguments, arguments)
    caller = caller_of(router)
    job = jobs.create_job(caller, args.job, dependencies.jobs())
    count("JobPosted")
    return jobs.present_job(job, caller)


@router.resolver(type_name="Query", field_name="listAllJobs")
def list_all_jobs(**arguments: Any) -> dict[str, Any]:
    args = parse_arguments(ListAllJobsArguments, arguments)
    caller = caller_of(router)
    page = jobs.list_all_jobs(caller, args.job_status, args.page, dependencies.jobs())
    return answer_page(page, lambda job: jobs.present_job(job, caller))


@router.resolver(type_name="Query", field_name="listJobsPerParent")
def list_jobs_per_parent(**arguments: Any) -> dict[str, Any]:
    args = parse_arguments(OptionalUsernamePage, arguments)
    caller = caller_of(router)
    page = jobs.list_jobs_per_parent(caller, args.username, args.page, dependencies.jobs())
    return answer_page(page, lambda job: jobs.present_job(job, caller))

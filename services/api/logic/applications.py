"""Applications: applying to a job and listing who applied where."""

from __future__ import annotations

from services.api.caller import ADMIN, NANNY, PARENT, Caller
from services.api.logic.jobs import find_job, whose_list
from services.api.models.inputs import CreateJobApplicationInput
from services.common.dal.applications import ApplicationRepository
from services.common.dal.jobs import JobRepository
from services.common.dal.table import PageRequest
from services.common.errors import JobNotOpen, NotJobOwner, Unauthorized
from services.common.ids import new_id
from services.common.models import (
    JobApplication,
    JobApplicationStatus,
    JobStatus,
    Page,
    utc_now,
)


def apply_to_job(
    caller: Caller,
    data: CreateJobApplicationInput,
    jobs: JobRepository,
    applications: ApplicationRepository,
) -> JobApplication:
    nanny = caller.require_group(NANNY)
    job = find_job(data.job_id, jobs)
    if job.parent_username == nanny:  # one account in both groups must not book itself
        raise Unauthorized("You cannot apply to your own job.")
    if job.job_status is not JobStatus.OPEN:  # early answer; the write's condition decides
        raise JobNotOpen("The job is not open for applications.")
    application = JobApplication(
        id=new_id(),
        job_id=job.id,
        applicant_username=nanny,
        parent_username=job.parent_username,
        job_application_status=JobApplicationStatus.PENDING,
        message=data.message,
        created_on=utc_now(),
    )
    applications.create(application)
    return application


def list_applications_per_job(
    caller: Caller,
    job_id: str,
    page: PageRequest,
    jobs: JobRepository,
    applications: ApplicationRepository,
) -> Page[JobApplication]:
    caller.require_group(ADMIN, PARENT)
    job = find_job(job_id, jobs)
    if not caller.is_admin and job.parent_username != caller.username:
        raise NotJobOwner("Only the parent who posted the job may see its applications.")
    return applications.list_for_job(job_id, page)


def list_jobs_applied_to(
    caller: Caller, username: str | None, page: PageRequest, applications: ApplicationRepository
) -> Page[JobApplication]:
    return applications.list_for_applicant(whose_list(caller, username, NANNY), page)

"""Jobs: posting and listing."""

from __future__ import annotations

from typing import Any

from services.api.caller import ADMIN, NANNY, PARENT, Caller
from services.api.models.inputs import CreateJobInput
from services.common.dal.jobs import JobRepository
from services.common.dal.table import PageRequest
from services.common.errors import NotFound, Unauthorized, ValidationError
from services.common.ids import new_id
from services.common.models import Job, JobStatus, Page, utc_now

# Where the family lives and whom they booked: for the job's two parties and admins only.
PRIVATE_JOB_FIELDS = frozenset(
    {"address", "latitude", "longitude", "acceptedApplicationId", "acceptedApplicant"}
)


def present_job(job: Job, caller: Caller) -> dict[str, Any]:
    """The job as this caller may see it: nannies browsing see the city, not the address."""
    shown = job.model_dump(mode="json", by_alias=True)
    if caller.is_admin or caller.username in (job.parent_username, job.accepted_applicant):
        return shown
    return {name: None if name in PRIVATE_JOB_FIELDS else value for name, value in shown.items()}


def create_job(caller: Caller, data: CreateJobInput, jobs: JobRepository) -> Job:
    parent = caller.require_group(PARENT)
    job = Job(
        id=new_id(),
        parent_username=parent,
        job_status=JobStatus.OPEN,
        created_on=utc_now(),
        **data.model_dump(exclude_none=True),
    )
    jobs.create(job)
    return job


def find_job(job_id: str, jobs: JobRepository) -> Job:
    job = jobs.find(job_id)
    if job is None:
        raise NotFound("No job exists with this id.")
    return job


def list_all_jobs(
    caller: Caller, status: JobStatus, page: PageRequest, jobs: JobRepository
) -> Page[Job]:
    caller.require_group(ADMIN, NANNY)
    return jobs.list_by_status(status, page)


def list_jobs_per_parent(
    caller: Caller, username: str | None, page: PageRequest, jobs: JobRepository
) -> Page[Job]:
    return jobs.list_by_parent(whose_list(caller, username, PARENT), page)


def whose_list(caller: Caller, username: str | None, owner_group: str) -> str:
    """The user whose list is read: admins name anyone, owners read only their own."""
    caller.require_group(ADMIN, owner_group)
    if caller.is_admin:
        if username is None:
            raise ValidationError("username: admins name the user whose list to read")
        return username
    if username is not None and username != caller.username:
        raise Unauthorized("You may list only your own.")
    return caller.require_signed_in()

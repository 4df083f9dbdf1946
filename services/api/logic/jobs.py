"""Jobs: posting and listing."""

from __future__ import annotations

from services.api.caller import ADMIN, NANNY, PARENT, Caller
from services.api.models.inputs import CreateJobInput
from services.common.dal.jobs import JobRepository
from services.common.dal.table import PageRequest
from services.common.errors import NotFound, Unauthorized, ValidationError
from services.common.ids import new_id
from services.common.models import Job, JobStatus, Page, utc_now


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

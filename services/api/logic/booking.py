"""Booking a nanny: the parent's one synchronous step of the choreography."""

from __future__ import annotations

from typing import Any, Protocol

from services.api.caller import PARENT, Caller
from services.common.dal.jobs import JobRepository
from services.common.errors import NotFound
from services.common.models import Job


class Booker(Protocol):
    """Closes a job and accepts one application atomically, or raises a domain error."""

    def book(
        self, job_id: str, application_id: str, parent_username: str, correlation_id: str
    ) -> dict[str, Any]: ...


def book_nanny(
    caller: Caller,
    job_id: str,
    application_id: str,
    correlation_id: str,
    booker: Booker,
    jobs: JobRepository,
) -> Job:
    """Book the application's nanny for the caller's job and return the booked job.

    The parent is the caller (never an argument); the workflow's conditions decide whether
    the job is theirs and open and the application pending. Declining the other applicants
    and notifying the booked nanny follow asynchronously from the job's change.
    """
    parent = caller.require_group(PARENT)
    booker.book(job_id, application_id, parent, correlation_id)
    job = jobs.get(parent, job_id)
    if job is None:  # the workflow just wrote it: only a concurrent deletion gets here
        raise NotFound("No job exists with this id.")
    return job

"""Decline every application of a closed job except the accepted one.

Runs after the booking, asynchronously (DESIGN.md section 2): the booking itself only
closes the job and accepts one application, whatever the number of applicants. Here
the job's applications are paged through and each PENDING one is declined with a
conditional write, several at a time::

    outcome = decline_other_applications(job_closed.data, ApplicationRepository(table))
    outcome.declined  # how many this call declined

Safe to run any number of times for the same job (SQS redelivery, archive replay): the
write's condition (still PENDING) makes a second decline a no-op and never overwrites
ACCEPTED, whatever the event says.
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Final, Protocol

from events_schema import JobClosedData
from services.common.dal.table import MAX_PAGE_SIZE, PageRequest
from services.common.models import JobApplication, JobApplicationStatus, Page

# Declines in flight at once. Bounded so a job with many applicants neither exhausts the
# HTTP connection pool (botocore's default is 10 connections per client) nor bursts
# the table; high enough that one job's declines take a few round trips, not N.
MAX_PARALLEL_DECLINES: Final = 8


class Applications(Protocol):
    """What declining needs from the data layer (ApplicationRepository has it)."""

    def list_for_job(self, job_id: str, page: PageRequest) -> Page[JobApplication]: ...

    def decline_if_pending(self, job_id: str, application_id: str) -> bool: ...


@dataclass(frozen=True)
class DeclineOutcome:
    declined: int = 0
    """Applications this call moved from PENDING to DECLINED."""
    unchanged: int = 0
    """Applications left as they were: accepted, or declined already (a replay)."""

    def __add__(self, other: DeclineOutcome) -> DeclineOutcome:
        return DeclineOutcome(self.declined + other.declined, self.unchanged + other.unchanged)


def decline_other_applications(
    job: JobClosedData,
    applications: Applications,
    *,
    max_parallel: int = MAX_PARALLEL_DECLINES,
    page_size: int = MAX_PAGE_SIZE,
) -> DeclineOutcome:
    """Decline every PENDING application of ``job`` but the accepted one.

    The first error of a write (after its client's own retries) is raised once the
    page's other writes have finished: the caller retries the whole job, and what was
    declined already stays declined.
    """
    outcome = DeclineOutcome()
    page = PageRequest(limit=page_size)
    with ThreadPoolExecutor(max_workers=max_parallel, thread_name_prefix="decline") as pool:
        while True:
            listed = applications.list_for_job(job.job_id, page)
            to_decline = [a.id for a in listed.items if _should_decline(a, job)]
            writes = [
                pool.submit(applications.decline_if_pending, job.job_id, application_id)
                for application_id in to_decline
            ]
            wait(writes)  # every write of the page runs, even when one fails
            results = [write.result() for write in writes]  # raises the first error
            declined = sum(results)
            outcome += DeclineOutcome(declined, len(listed.items) - declined)
            if listed.next_token is None:
                return outcome
            page = PageRequest(limit=page_size, next_token=listed.next_token)


def _should_decline(application: JobApplication, job: JobClosedData) -> bool:
    # The list comes from an index, which may lag behind the table: a status read here
    # is only a hint that saves a write. A status moves away from PENDING and never
    # back, so one shown settled is settled; one shown PENDING may not be any more,
    # and then the write's condition refuses it.
    return (
        application.id != job.accepted_application_id
        and application.job_application_status is JobApplicationStatus.PENDING
    )


def settle_latency_ms(job: JobClosedData, settled_at: dt.datetime) -> float:
    """Milliseconds from the booking (``closedAt``) to ``settled_at``, when the job's other
    applications are all declined: how long the choreography took. Never negative (the
    clocks of the booking workflow and of this function may disagree a little). A time
    without a zone is taken as UTC, as the booking writes it."""
    closed_at = job.closed_at if job.closed_at.tzinfo else job.closed_at.replace(tzinfo=dt.UTC)
    return max(0.0, (settled_at - closed_at).total_seconds() * 1000)

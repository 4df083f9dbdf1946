"""Reviews between the two parties of a booked job."""

from __future__ import annotations

from services.api.caller import NANNY, PARENT, Caller
from services.api.logic.jobs import find_job
from services.common.dal.jobs import JobRepository
from services.common.dal.reviews import ReviewRepository
from services.common.dal.table import PageRequest
from services.common.errors import JobNotClosed, NotJobParty
from services.common.models import JobStatus, Page, Review, utc_now


def rate_user(
    caller: Caller,
    job_id: str,
    rating: int,
    text: str | None,
    jobs: JobRepository,
    reviews: ReviewRepository,
) -> Review:
    """The job's parent reviews its accepted nanny, or the nanny the parent; once each."""
    reviewer = caller.require_group(PARENT, NANNY)
    job = find_job(job_id, jobs)
    if job.job_status is not JobStatus.CLOSED or job.accepted_applicant is None:
        raise JobNotClosed("The job is not booked.")
    if job.accepted_applicant == job.parent_username:
        raise NotJobParty("Nobody reviews themself.")
    counterpart = {
        job.parent_username: job.accepted_applicant,
        job.accepted_applicant: job.parent_username,
    }
    if reviewer not in counterpart:
        raise NotJobParty("Only the job's parent and its booked nanny may review each other.")
    review = Review(
        job_id=job.id,
        reviewer=reviewer,
        rated_user=counterpart[reviewer],
        rating=rating,
        review=text,
        created_on=utc_now(),
    )
    reviews.create(review, job)
    return review


def list_reviews(username: str, page: PageRequest, reviews: ReviewRepository) -> Page[Review]:
    return reviews.list_for_user(username, page)

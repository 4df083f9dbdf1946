"""Reviews, and the rating aggregate they keep on the rated user's profile."""

from __future__ import annotations

from services.common.dal import keys
from services.common.dal.jobs import job_key
from services.common.dal.table import PageRequest, Table, TransactionCancelled
from services.common.errors import AlreadyReviewed, JobNotClosed, NotFound
from services.common.models import Job, JobStatus, Page, Review


class ReviewRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def create(self, review: Review, job: Job) -> None:
        """Store the review and add it to the profile's aggregate, atomically.

        The job's condition is checked on the table item (not the index read the caller
        made), so a review can only follow a booking that really happened.
        """
        item = {
            **review.model_dump(mode="json", by_alias=True),
            **keys.key(
                keys.user_pk(review.rated_user), keys.review_sk(review.job_id, review.reviewer)
            ),
            "entity": keys.EntityName.REVIEW,
        }
        try:
            self.table.transact(
                [
                    self.table.condition_check(
                        job_key(job.parent_username, job.id),
                        condition=(
                            "jobStatus = :closed AND acceptedApplicant = :nanny"
                            " AND parentUsername <> :nanny"
                        ),
                        values={":closed": JobStatus.CLOSED, ":nanny": job.accepted_applicant},
                    ),
                    self.table.put_action(item, condition="attribute_not_exists(PK)"),
                    self.table.update_action(
                        keys.key(keys.user_pk(review.rated_user)),
                        update="ADD ratingCount :one, ratingSum :rating",
                        values={":one": 1, ":rating": review.rating},
                        condition="attribute_exists(PK)",
                    ),
                ]
            )
        except TransactionCancelled as cancelled:
            if cancelled.failed(0):
                raise JobNotClosed("The job is not booked.") from None
            if cancelled.failed(1):
                raise AlreadyReviewed("You already reviewed this job.") from None
            raise NotFound("The user you are reviewing has no profile.") from None

    def list_for_user(self, username: str, page: PageRequest) -> Page[Review]:
        items, next_token = self.table.query(
            partition=("PK", keys.user_pk(username)),
            sort_prefix=("SK", "REVIEW#"),
            page=page,
        )
        return Page(items=[Review.model_validate(item) for item in items], next_token=next_token)

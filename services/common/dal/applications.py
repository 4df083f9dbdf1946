"""Applications and the one-application-per-nanny-per-job guard."""

from __future__ import annotations

from typing import Any

from services.common.dal import keys
from services.common.dal.jobs import job_key
from services.common.dal.table import ConditionFailed, PageRequest, Table, TransactionCancelled
from services.common.errors import AlreadyApplied, JobNotOpen
from services.common.models import JobApplication, JobApplicationStatus, JobStatus, Page, utc_now


def application_key(job_id: str, application_id: str) -> dict[str, str]:
    return keys.key(keys.application_pk(job_id, application_id))


def _application_item(application: JobApplication) -> dict[str, Any]:
    return {
        **application.model_dump(mode="json", by_alias=True),
        **application_key(application.job_id, application.id),
        "entity": keys.EntityName.APPLICATION,
        "GSI1PK": keys.job_sk(application.job_id),
        "GSI1SK": keys.application_gsi1_sk(application.id),
        "GSI2PK": keys.user_pk(application.applicant_username),
        "GSI2SK": keys.job_sk(application.job_id),
    }


def _page(items: list[dict[str, Any]], next_token: str | None) -> Page[JobApplication]:
    return Page(items=[JobApplication.model_validate(i) for i in items], next_token=next_token)


class ApplicationRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def create(self, application: JobApplication) -> None:
        """Apply only while the job is OPEN, not to one's own job, and once per nanny: one
        transaction decides all three."""
        guard = {
            **keys.key(keys.applicant_guard_pk(application.job_id, application.applicant_username)),
            "entity": keys.EntityName.APPLICANT_GUARD,
            "applicationId": application.id,
        }
        try:
            self.table.transact(
                [
                    self.table.condition_check(
                        job_key(application.parent_username, application.job_id),
                        condition=(
                            "attribute_exists(PK) AND jobStatus = :open"
                            " AND parentUsername <> :nanny"
                        ),
                        values={":open": JobStatus.OPEN, ":nanny": application.applicant_username},
                    ),
                    self.table.put_action(guard, condition="attribute_not_exists(PK)"),
                    self.table.put_action(
                        _application_item(application), condition="attribute_not_exists(PK)"
                    ),
                ]
            )
        except TransactionCancelled as cancelled:
            if cancelled.failed(0):
                raise JobNotOpen("The job is not open for applications.") from None
            raise AlreadyApplied("You already applied to this job.") from None

    def list_for_job(self, job_id: str, page: PageRequest) -> Page[JobApplication]:
        return _page(
            *self.table.query(
                index=keys.JOB_APPLICATIONS_INDEX,
                partition=("GSI1PK", keys.job_sk(job_id)),
                sort_prefix=("GSI1SK", "APPLICATION#"),
                page=page,
            )
        )

    def list_for_applicant(self, username: str, page: PageRequest) -> Page[JobApplication]:
        return _page(
            *self.table.query(
                index=keys.JOBS_APPLIED_TO_INDEX,
                partition=("GSI2PK", keys.user_pk(username)),
                page=page,
                newest_first=True,
            )
        )

    def decline_if_pending(self, job_id: str, application_id: str) -> bool:
        """Decline an application that is still PENDING; False if it is not (any more).

        The condition, not a read before it, decides: an ACCEPTED application is never
        overwritten, and declining twice (a replayed or duplicated event) changes nothing
        the second time. A missing application is "not pending" too: the failed condition
        keeps the update from creating it.
        """
        try:
            self.table.update(
                application_key(job_id, application_id),
                update="SET jobApplicationStatus = :declined, updatedOn = :now",
                values={
                    ":declined": JobApplicationStatus.DECLINED,
                    ":pending": JobApplicationStatus.PENDING,
                    ":now": utc_now().isoformat(),
                },
                condition="jobApplicationStatus = :pending",
            )
        except ConditionFailed:
            return False
        return True

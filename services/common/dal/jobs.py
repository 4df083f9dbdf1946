"""Jobs: written under their parent, found by id through the jobApplications index."""

from __future__ import annotations

from typing import Any

from services.common.dal import keys
from services.common.dal.table import PageRequest, Table
from services.common.models import Job, JobStatus, Page


def job_key(parent_username: str, job_id: str) -> dict[str, str]:
    return keys.key(keys.user_pk(parent_username), keys.job_sk(job_id))


def _job_item(job: Job) -> dict[str, Any]:
    return {
        **job.model_dump(mode="json", by_alias=True),
        **job_key(job.parent_username, job.id),
        "entity": keys.EntityName.JOB,
        "GSI1PK": keys.job_sk(job.id),
        "GSI1SK": keys.job_sk(job.id),
    }


def _page(items: list[dict[str, Any]], next_token: str | None) -> Page[Job]:
    return Page(items=[Job.model_validate(item) for item in items], next_token=next_token)


class JobRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def create(self, job: Job) -> None:
        self.table.put(_job_item(job), condition="attribute_not_exists(PK)")

    def get(self, parent_username: str, job_id: str) -> Job | None:
        """Read a job from the table itself: strongly consistent, unlike :meth:`find`."""
        item = self.table.get(job_key(parent_username, job_id))
        return Job.model_validate(item) if item else None

    def find(self, job_id: str) -> Job | None:
        """Look a job up by id alone (its key needs the parent, so go through the index).

        The index is eventually consistent: callers that enforce a rule on the job do it
        with a condition on the table item, never on what this returns.
        """
        items, _ = self.table.query(
            index=keys.JOB_APPLICATIONS_INDEX,
            partition=("GSI1PK", keys.job_sk(job_id)),
            sort_equals=("GSI1SK", keys.job_sk(job_id)),
            page=PageRequest(limit=1),
        )
        return Job.model_validate(items[0]) if items else None

    def list_by_parent(self, parent_username: str, page: PageRequest) -> Page[Job]:
        return _page(
            *self.table.query(
                partition=("PK", keys.user_pk(parent_username)),
                sort_prefix=("SK", "JOB#"),
                page=page,
                newest_first=True,
            )
        )

    def list_by_status(self, status: JobStatus, page: PageRequest) -> Page[Job]:
        return _page(
            *self.table.query(
                index=keys.JOBS_BY_STATUS_INDEX,
                partition=("jobStatus", status),
                page=page,
                newest_first=True,
            )
        )

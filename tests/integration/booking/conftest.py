"""The BookNanny workflow executed for real: moto's Step Functions interpreter runs the ASL,
and the tasks' DynamoDB calls reach DynamoDB Local, where the table is the stack's own
(the fixtures ``sfn``, ``state_machine_arn`` and ``executions`` live in the parent conftest;
``tests/support/step_functions.py`` says how).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from services.common.dal.applications import ApplicationRepository, application_key
from services.common.dal.jobs import JobRepository, job_key
from services.common.dal.table import Table, from_attribute_values, to_attribute_values
from services.common.ids import new_id
from services.common.models import Job, JobApplication, JobType, utc_now
from tests.support.step_functions import PollingSyncExecutions


@dataclass(frozen=True)
class Execution:
    """The parts of a finished execution the tests look at."""

    arn: str
    status: str
    output: dict[str, Any] | None
    error: str | None
    cause: str | None


@dataclass
class Marketplace:
    """Jobs and applications written through the data access layer, and read back raw."""

    table: Table
    sfn: Any
    executions: PollingSyncExecutions
    state_machine_arn: str

    def post_job(self, parent: str | None = None) -> dict[str, str]:
        today = utc_now().date()
        job = Job(
            id=new_id(),
            parent_username=parent or f"parent-{uuid.uuid4().hex[:8]}",
            job_type=JobType.OCCASIONAL,
            title="Saturday afternoon",
            number_of_kids=2,
            start_date=today,
            end_date=today,
            start_time="14:00",
            end_time="18:00",
            city="Lisbon",
            cost=60,
            created_on=utc_now(),
        )
        JobRepository(self.table).create(job)
        return {"jobId": job.id, "parentUsername": job.parent_username}

    def apply(self, job: dict[str, str], nanny: str | None = None) -> dict[str, str]:
        application = JobApplication(
            id=new_id(),
            job_id=job["jobId"],
            applicant_username=nanny or f"nanny-{uuid.uuid4().hex[:8]}",
            parent_username=job["parentUsername"],
            created_on=utc_now(),
        )
        ApplicationRepository(self.table).create(application)
        return {
            **job,
            "applicationId": application.id,
            "applicantUsername": application.applicant_username,
        }

    def job_item(self, job: dict[str, str]) -> dict[str, Any]:
        item = self.table.get(job_key(job["parentUsername"], job["jobId"]))
        assert item is not None
        return item

    def application_item(self, application: dict[str, str]) -> dict[str, Any]:
        item = self.table.get(application_key(application["jobId"], application["applicationId"]))
        assert item is not None
        return item

    def set_application_status(self, application: dict[str, str], status: str) -> None:
        self.table.client.update_item(
            TableName=self.table.name,
            Key=to_attribute_values(
                application_key(application["jobId"], application["applicationId"])
            ),
            UpdateExpression="SET jobApplicationStatus = :status",
            ExpressionAttributeValues=to_attribute_values({":status": status}),
        )

    def snapshot(self, job: dict[str, str]) -> list[dict[str, Any]]:
        """Every item of the job's parent and of the job's applications, to compare."""
        response = self.table.client.query(
            TableName=self.table.name,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": f"USER#{job['parentUsername']}"}},
            ConsistentRead=True,
        )
        items = [from_attribute_values(item) for item in response["Items"]]
        # Applications and applicant guards of this job (the table is small in tests).
        response = self.table.client.scan(
            TableName=self.table.name,
            FilterExpression="begins_with(PK, :prefix)",
            ExpressionAttributeValues={":prefix": {"S": f"JOB#{job['jobId']}#"}},
            ConsistentRead=True,
        )
        items.extend(from_attribute_values(item) for item in response["Items"])
        return sorted(items, key=lambda item: (item["PK"], item["SK"]))

    def book(
        self,
        application: dict[str, str],
        *,
        parent: str | None = None,
        correlation_id: str | None = None,
        state_machine_arn: str | None = None,
        **overrides: Any,
    ) -> Execution:
        """Run the workflow for ``application`` (as its job's parent unless told otherwise)."""
        request = {
            "jobId": application["jobId"],
            "applicationId": application["applicationId"],
            "parentUsername": parent or application["parentUsername"],
            "correlationId": correlation_id or f"corr-{uuid.uuid4()}",
            **overrides,
        }
        answer = self.executions.start_sync_execution(
            stateMachineArn=state_machine_arn or self.state_machine_arn,
            input=json.dumps({k: v for k, v in request.items() if v is not None}),
        )
        return Execution(
            arn=answer["executionArn"],
            status=answer["status"],
            output=json.loads(answer["output"]) if "output" in answer else None,
            error=answer.get("error"),
            cause=answer.get("cause"),
        )

    def history(self, execution: Execution) -> list[dict[str, Any]]:
        """The execution's events (moto keeps them for Express executions; AWS does not)."""
        events: list[dict[str, Any]] = self.sfn.get_execution_history(executionArn=execution.arn)[
            "events"
        ]
        return events

    def failed_task_causes(self, execution: Execution) -> list[str]:
        """The Cause of each failed task."""
        return [
            event["taskFailedEventDetails"]["cause"]
            for event in self.history(execution)
            if event["type"] == "TaskFailed"
        ]

    def entries_into(self, execution: Execution, state_name: str) -> int:
        return sum(
            1
            for event in self.history(execution)
            if event.get("stateEnteredEventDetails", {}).get("name") == state_name
        )


@pytest.fixture
def marketplace(
    dynamodb: Any,
    table_name: str,
    sfn: Any,
    executions: PollingSyncExecutions,
    state_machine_arn: str,
) -> Marketplace:
    return Marketplace(Table(table_name, client=dynamodb), sfn, executions, state_machine_arn)

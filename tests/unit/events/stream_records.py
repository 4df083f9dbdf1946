"""DynamoDB stream records, shaped as the EventBridge Pipe receives them from the table.

Images are built by the data access layer's own item functions, so they have exactly the
attributes the table holds. tests/integration/consumers reads the same kind of records
from DynamoDB Local's real stream.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from typing import Any

from services.common.dal.applications import _application_item
from services.common.dal.jobs import _job_item
from services.common.dal.table import to_attribute_values
from services.common.models import Job, JobApplication, JobApplicationStatus, JobType

STREAM_ARN = (
    "arn:aws:dynamodb:us-east-1:123456789012:table/NannyBooking/stream/2025-01-01T00:00:00.000"
)
_sequence = itertools.count(100000000000000000001)
Image = dict[str, Any]


def job(**fields: Any) -> Job:
    today = dt.date(2025, 6, 2)
    return Job(
        **{
            "id": str(uuid.uuid4()),
            "parent_username": "parent-ann",
            "job_type": JobType.DAILY,
            "title": "After-school care",
            "number_of_kids": 2,
            "start_date": today,
            "end_date": today + dt.timedelta(days=30),
            "start_time": dt.time(15),
            "end_time": dt.time(18, 30),
            "city": "London",
            "cost": 18.5,
            "created_on": dt.datetime(2025, 5, 1, 9, tzinfo=dt.UTC),
            **fields,
        }
    )


def job_image(job: Job, **attributes: Any) -> Image:
    """The job item as DynamoDB stores it, with ``attributes`` set on top."""
    return to_attribute_values({**_job_item(job), **attributes})


def closed_job_image(job: Job, application: JobApplication, correlation_id: str) -> Image:
    """The job item after the booking transaction."""
    return job_image(
        job,
        jobStatus="CLOSED",
        acceptedApplicationId=application.id,
        acceptedApplicant=application.applicant_username,
        closedAt="2025-05-20T10:15:30.123456+00:00",
        correlationId=correlation_id,
    )


def application(job: Job, nanny: str = "nanny-bea", **fields: Any) -> JobApplication:
    return JobApplication(
        id=str(uuid.uuid4()),
        job_id=job.id,
        applicant_username=nanny,
        parent_username=job.parent_username,
        created_on=dt.datetime(2025, 5, 2, 9, tzinfo=dt.UTC),
        **fields,
    )


def application_image(application: JobApplication, status: JobApplicationStatus) -> Image:
    return to_attribute_values(
        {**_application_item(application), "jobApplicationStatus": status.value}
    )


def record(
    event_name: str, *, old: Image | None = None, new: Image | None = None
) -> dict[str, Any]:
    """One stream record (NEW_AND_OLD_IMAGES) of the item in ``old`` or ``new``."""
    image = new or old
    assert image is not None
    dynamodb: dict[str, Any] = {
        "ApproximateCreationDateTime": 1747736130,
        "Keys": {"PK": image["PK"], "SK": image["SK"]},
        "SequenceNumber": str(next(_sequence)),
        "SizeBytes": 512,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        dynamodb["NewImage"] = new
    if old is not None:
        dynamodb["OldImage"] = old
    return {
        "eventID": uuid.uuid4().hex,
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": dynamodb,
        "eventSourceARN": STREAM_ARN,
    }

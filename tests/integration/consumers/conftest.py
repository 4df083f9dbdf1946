"""Backends and factories for the event consumers' integration tests.

The consumers run in-process, as the Lambda runtime would call them, against DynamoDB
Local (the table from the template) and SNS/SQS in the moto server. A nanny's
notifications are read from an SQS queue subscribed to the topic with a filter policy on
the ``recipient`` message attribute: the same per-user filtering an email, push or SMS
subscription would use.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from services.common.dal.applications import ApplicationRepository
from services.common.dal.table import Table
from services.common.models import JobApplication, utc_now
from tests.support.api import Api
from tests.support.appsync_events import Identity
from tests.support.events import eventbridge_event, job_closed_detail

# moto accepts any; the same dummies as the session fixtures use.
FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def _reset_consumers() -> None:
    from services.decline_applications import handler as decline
    from services.notify_accepted_applicant import handler as notify

    decline.reset()
    notify.reset()


@pytest.fixture(scope="session")
def moto_client(moto_endpoint: str) -> Callable[[str], Any]:
    def client(service: str) -> Any:
        return boto3.client(
            service, endpoint_url=moto_endpoint, region_name="us-east-1", **FAKE_CREDENTIALS
        )

    return client


@pytest.fixture(scope="session")
def topic_arn(
    aws_environment: None, moto_endpoint: str, moto_client: Callable[[str], Any]
) -> Iterator[str]:
    """The notification topic, and the environment the consumers have in AWS."""
    arn: str = moto_client("sns").create_topic(Name=f"notifications-{uuid.uuid4().hex[:8]}")[
        "TopicArn"
    ]
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TOPIC_ARN", arn)
        env.setenv("AWS_ENDPOINT_URL_SNS", moto_endpoint)
        _reset_consumers()
        yield arn
    _reset_consumers()


@dataclass
class Inbox:
    """What the topic delivered to one recipient."""

    sqs: Any
    queue_url: str

    def messages(self) -> list[dict[str, Any]]:
        """Every notification delivered so far (SNS envelopes), consumed from the queue."""
        received: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not batch:
                return received
            for message in batch:
                received.append(json.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )


@pytest.fixture
def inbox(topic_arn: str, moto_client: Callable[[str], Any]) -> Callable[[str], Inbox]:
    """``inbox(username)``: a queue that receives only that user's notifications."""
    sqs, sns = moto_client("sqs"), moto_client("sns")

    def subscribe(username: str) -> Inbox:
        url = sqs.create_queue(QueueName=f"inbox-{uuid.uuid4().hex}")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        sns.subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"FilterPolicy": json.dumps({"recipient": [username]})},
        )
        return Inbox(sqs, url)

    return subscribe


@dataclass
class Booking:
    """A booked job: its parent, the accepted nanny and application, the other applications."""

    parent: Identity
    job: dict[str, Any]
    nanny: Identity
    accepted: dict[str, Any]
    others: list[dict[str, Any]] = field(default_factory=list)

    def job_closed(self, **data: Any) -> dict[str, Any]:
        """The JobClosed event the bus delivers for this booking (``data`` overrides)."""
        booked = {
            "jobId": self.job["id"],
            "parentUsername": self.parent.username,
            "acceptedApplicationId": self.accepted["id"],
            "acceptedApplicant": self.nanny.username,
            "closedAt": utc_now().isoformat(),
        }
        return eventbridge_event(job_closed_detail(**{**booked, **data}))


@pytest.fixture
def book(api: Api, dynamodb: Any, table_name: str) -> Callable[..., Booking]:
    """``book(other_applicants=n)``: a job with n + 1 applicants, booked through bookNanny;
    applications beyond the first few are written through the data layer (no profiles),
    which is all declining reads."""
    repository = ApplicationRepository(Table(table_name, dynamodb))

    def make(other_applicants: int = 2, *, with_profiles: int = 3) -> Booking:
        parent, nanny = api.sign_up("PARENT"), api.sign_up("NANNY")
        job = api.post_job(parent)
        accepted = api.apply(nanny, job["id"])
        others = [
            api.apply(api.sign_up("NANNY"), job["id"])
            for _ in range(min(other_applicants, with_profiles))
        ]
        for _ in range(other_applicants - len(others)):
            application = JobApplication(
                id=str(uuid.uuid4()),
                job_id=job["id"],
                applicant_username=f"n{uuid.uuid4().hex[:12]}",
                parent_username=parent.username,
                created_on=utc_now(),
            )
            repository.create(application)
            others.append(application.model_dump(mode="json", by_alias=True))
        api.book(parent, accepted)
        return Booking(parent, job, nanny, accepted, others)

    return make


@pytest.fixture
def application_status(dynamodb: Any, table_name: str) -> Callable[[dict[str, Any]], str]:
    def status(application: dict[str, Any]) -> str:
        key = f"JOB#{application['jobId']}#APPLICATION#{application['id']}"
        item = dynamodb.get_item(
            TableName=table_name,
            Key={"PK": {"S": key}, "SK": {"S": key}},
            ConsistentRead=True,
        )["Item"]
        return str(item["jobApplicationStatus"]["S"])

    return status

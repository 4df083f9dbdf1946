"""Stubbed boto3 clients (botocore Stubber) and a stack's outputs, for the operator tools' tests."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.stub import Stubber

from operations.stack import Clients

REGION = "us-east-1"
ACCOUNT = "123456789012"
BUS = "NannyBookingEventsBus"
BUS_ARN = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{BUS}"
ARCHIVE = "NannyBooking-EventsArchive"
ARCHIVE_ARN = f"arn:aws:events:{REGION}:{ACCOUNT}:archive/{ARCHIVE}"
SQS = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}"


def queue_url(name: str) -> str:
    return f"{SQS}/{name}"


def queue_arn(name: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def rule_arn(name: str) -> str:
    return f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{BUS}/{name}"


OUTPUTS = {
    "Region": REGION,
    "EventBusName": BUS,
    "EventBusArn": BUS_ARN,
    "ArchiveName": ARCHIVE,
    "PipeDeadLetterQueueUrl": queue_url("PipeDLQ"),
    "DeclineOtherApplicationsQueueUrl": queue_url("DeclineQueue"),
    "DeclineOtherApplicationsDeadLetterQueueUrl": queue_url("DeclineDLQ"),
    "NotifyAcceptedApplicantQueueUrl": queue_url("NotifyQueue"),
    "NotifyAcceptedApplicantDeadLetterQueueUrl": queue_url("NotifyDLQ"),
    "GraphQLUrl": "https://example.appsync-api.us-east-1.amazonaws.com/graphql",
}


class Stubs:
    """Stubbed events and sqs clients; every expected call must be made, in order."""

    def __init__(self) -> None:
        options: dict[str, Any] = {
            "region_name": REGION,
            "aws_access_key_id": "test",
            "aws_secret_access_key": "test",
        }
        self.events = boto3.client("events", **options)
        self.sqs = boto3.client("sqs", **options)
        self.events_stub = Stubber(self.events)
        self.sqs_stub = Stubber(self.sqs)

    def clients(self, endpoint_url: str | None = "http://127.0.0.1:4566") -> Clients:
        return Clients(self.events, self.sqs, endpoint_url)

    # -- common answers ------------------------------------------------------------------

    def queue_arn(self, name: str) -> None:
        self.sqs_stub.add_response(
            "get_queue_attributes",
            {"Attributes": {"QueueArn": queue_arn(name)}},
            {"QueueUrl": queue_url(name), "AttributeNames": ["QueueArn"]},
        )

    def counts(self, name: str, visible: int = 0, in_flight: int = 0) -> None:
        self.sqs_stub.add_response(
            "get_queue_attributes",
            {
                "Attributes": {
                    "QueueArn": queue_arn(name),
                    "ApproximateNumberOfMessages": str(visible),
                    "ApproximateNumberOfMessagesNotVisible": str(in_flight),
                    "ApproximateNumberOfMessagesDelayed": "0",
                }
            },
            {
                "QueueUrl": queue_url(name),
                "AttributeNames": [
                    "QueueArn",
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                ],
            },
        )

    def routing(self, *, decline_target: bool = True, with_target_dlqs: bool = False) -> None:
        """The consumers' queue ARNs, the bus's rules (two pages), then each rule's targets."""
        self.queue_arn("DeclineQueue")
        self.queue_arn("NotifyQueue")
        self.events_stub.add_response(
            "list_rules",
            {
                "Rules": [
                    {"Name": "DeclineRule", "Arn": rule_arn("DeclineRule")},
                    {"Name": "Events-Archive-x", "Arn": rule_arn("Events-Archive-x"),
                     "ManagedBy": "events.amazonaws.com"},
                ],
                "NextToken": "page-2",
            },
            {"EventBusName": BUS},
        )  # fmt: skip
        self.events_stub.add_response(
            "list_rules",
            {"Rules": [{"Name": "NotifyRule", "Arn": rule_arn("NotifyRule")}]},
            {"EventBusName": BUS, "NextToken": "page-2"},
        )
        self.events_stub.add_response(
            "list_targets_by_rule",
            # AWS leaves Targets out when there are none (and its model forbids an empty list).
            {"Targets": [self._target("DeclineQueue", with_target_dlqs)]} if decline_target else {},
            {"Rule": "DeclineRule", "EventBusName": BUS},
        )
        self.events_stub.add_response(
            "list_targets_by_rule",
            {},
            {"Rule": "Events-Archive-x", "EventBusName": BUS},
        )
        self.events_stub.add_response(
            "list_targets_by_rule",
            {"Targets": [self._target("NotifyQueue", with_target_dlqs)]},
            {"Rule": "NotifyRule", "EventBusName": BUS},
        )

    @staticmethod
    def _target(queue: str, dead_letter: bool) -> dict[str, Any]:
        target: dict[str, Any] = {"Id": "Target0", "Arn": queue_arn(queue)}
        if dead_letter:
            target["DeadLetterConfig"] = {"Arn": queue_arn(f"{queue}TargetDLQ")}
        return target

    def assert_done(self) -> None:
        self.events_stub.assert_no_pending_responses()
        self.sqs_stub.assert_no_pending_responses()

"""The consumers of JobClosed: decline the other applications, notify the booked nanny.

Each is one EventConsumer call plus the permissions its code needs, and nothing else.
"""

from collections.abc import Mapping
from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from events_schema.job_closed import EVENT_PATTERN
from services.common.dal.audit import PARTITION_PREFIX as AUDIT_PARTITION_PREFIX
from services.common.dal.keys import APPLICATION_PARTITIONS
from services.notify_accepted_applicant.idempotency import PARTITION as IDEMPOTENCY_PARTITION
from stacks.constants import (
    AUDITED_SOURCE_PREFIX,
    CONSUMER_AUDIT_TRAIL,
    CONSUMER_DECLINE_OTHER_APPLICATIONS,
    CONSUMER_NOTIFY_ACCEPTED_APPLICANT,
    GSI_JOB_APPLICATIONS,
)
from stacks.event_consumer import EventConsumer

# events.EventPattern's field for each top-level key of an EventBridge pattern.
_PATTERN_FIELDS = {
    "source": "source",
    "detail-type": "detail_type",
    "detail": "detail",
    "account": "account",
    "region": "region",
    "resources": "resources",
    "id": "id",
    "time": "time",
    "version": "version",
}


def event_pattern(pattern: Mapping[str, Any]) -> events.EventPattern:
    """The CDK form of an EventBridge pattern written as JSON data (events_schema's)."""
    unknown = set(pattern) - set(_PATTERN_FIELDS)
    if unknown:
        raise ValueError(f"not an EventBridge pattern field: {sorted(unknown)}")
    return events.EventPattern(**{_PATTERN_FIELDS[key]: value for key, value in pattern.items()})


class Consumers(Construct):
    """Every function that reacts to JobClosed, each with its own rule and queue."""

    def __init__(
        self, scope: Construct, construct_id: str, *, bus: events.IEventBus, table: dynamodb.ITable
    ) -> None:
        super().__init__(scope, construct_id)

        # Version 1 of JobClosed, as events_schema subscribes its consumers: source
        # babysitter.jobs, detail-type JobClosed, detail.metadata.version "1".
        job_closed = event_pattern(EVENT_PATTERN)

        decline = EventConsumer(
            self,
            CONSUMER_DECLINE_OTHER_APPLICATIONS,
            bus=bus,
            pattern=job_closed,
            handler="services.decline_applications.handler.handler",
            service_name="decline_applications",
            description="Declines the other PENDING applications of a closed job",
            environment={"TABLE_NAME": table.table_name},
            # Pages through every application of the job, declining several at a time.
            timeout=Duration.seconds(60),
        )
        decline.grant(
            iam.PolicyStatement(
                actions=["dynamodb:Query"],
                resources=[f"{table.table_arn}/index/{GSI_JOB_APPLICATIONS.name}"],
            ),
            # The decline is a conditional UpdateItem (PENDING -> DECLINED only), of
            # applications only: no job, profile or guard item.
            iam.PolicyStatement(
                actions=["dynamodb:UpdateItem"],
                resources=[table.table_arn],
                conditions={
                    "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [APPLICATION_PARTITIONS]}
                },
            ),
        )

        self.topic_key = kms.Key(
            self,
            "NotificationTopicKey",
            description="Encrypts the notification topic's messages at rest",
            enable_key_rotation=True,
            # Only in-flight notifications are encrypted with it; SNS keeps no messages.
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(30),
        )
        self.topic = sns.Topic(
            self,
            "NotificationTopic",
            master_key=self.topic_key,
            enforce_ssl=True,
            tracing_config=sns.TracingConfig.ACTIVE,
        )
        notify = EventConsumer(
            self,
            CONSUMER_NOTIFY_ACCEPTED_APPLICANT,
            bus=bus,
            pattern=job_closed,
            handler="services.notify_accepted_applicant.handler.handler",
            service_name="notify_accepted_applicant",
            description="Notifies the booked nanny, once per job",
            environment={"TABLE_NAME": table.table_name, "TOPIC_ARN": self.topic.topic_arn},
        )
        notify.grant(
            # The nanny's profile, and Powertools' idempotency record (read on a clash).
            iam.PolicyStatement(actions=["dynamodb:GetItem"], resources=[table.table_arn]),
            # Claiming, completing and releasing the idempotency record: writes only in
            # its own partition, so the notifier can change no user, job or application.
            iam.PolicyStatement(
                actions=["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
                resources=[table.table_arn],
                conditions={
                    "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [IDEMPOTENCY_PARTITION]}
                },
            ),
            iam.PolicyStatement(actions=["sns:Publish"], resources=[self.topic.topic_arn]),
            # Publishing to a KMS-encrypted topic: SNS encrypts with a data key made under
            # the caller's permissions. (topic.grant_publish would grant kms:GenerateDataKey*.)
            iam.PolicyStatement(
                actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[self.topic_key.key_arn]
            ),
        )

        audit = EventConsumer(
            self,
            CONSUMER_AUDIT_TRAIL,
            bus=bus,
            # Every event of this system's producers, whatever its type or version.
            pattern=events.EventPattern(source=events.Match.prefix(AUDITED_SOURCE_PREFIX)),
            handler="services.audit_trail.handler.handler",
            service_name="audit_trail",
            description="Records every event of the bus once, by id, without personal data",
            environment={"TABLE_NAME": table.table_name},
        )
        audit.grant(
            # One conditional PutItem per event, in the audit partitions only: the audit
            # function can neither read nor change anything else of the table.
            iam.PolicyStatement(
                actions=["dynamodb:PutItem"],
                resources=[table.table_arn],
                conditions={
                    "ForAllValues:StringLike": {
                        "dynamodb:LeadingKeys": [f"{AUDIT_PARTITION_PREFIX}*"]
                    }
                },
            )
        )

        self.all = (decline, notify, audit)

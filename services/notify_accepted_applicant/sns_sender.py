"""``NotificationSender`` over an SNS topic: one topic, every channel subscribes to it.

Each message carries two message attributes, ``recipient`` (the username) and
``eventType``, so a subscription takes only its own messages with a filter policy
(``{"recipient": ["ann"]}`` for one user's SMS, ``{"eventType": ["JobClosed"]}`` for a
push service)::

    sender = SnsNotificationSender.from_environment()   # TOPIC_ARN
    sender.send(notification)                           # -> SNS MessageId

The body is per protocol (``MessageStructure=json``): people's channels (email, SMS,
mobile push, HTTP) get the text, programs (SQS, Lambda) a JSON document.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
from botocore.config import Config

from services.notify_accepted_applicant.logic import Notification

# Bounded retries: the queue's redelivery is the outer retry loop.
_CLIENT_CONFIG = Config(
    retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=2, read_timeout=5
)
_SUBJECT_MAX_LENGTH = 100  # SNS refuses longer subjects (they are email subject lines)


class SnsNotificationSender:
    def __init__(self, topic_arn: str, client: Any | None = None) -> None:
        self.topic_arn = topic_arn
        self.client = client or boto3.client("sns", config=_CLIENT_CONFIG)

    @classmethod
    def from_environment(cls) -> SnsNotificationSender:
        return cls(os.environ["TOPIC_ARN"])

    def send(self, notification: Notification) -> str:
        document = json.dumps(
            {
                "recipient": notification.recipient,
                "eventType": notification.event_type,
                "subject": notification.subject,
                "text": notification.text,
                "data": dict(notification.data),
            }
        )
        response = self.client.publish(
            TopicArn=self.topic_arn,
            Subject=notification.subject[:_SUBJECT_MAX_LENGTH],
            MessageStructure="json",
            Message=json.dumps({"default": notification.text, "sqs": document, "lambda": document}),
            MessageAttributes={
                "recipient": {"DataType": "String", "StringValue": notification.recipient},
                "eventType": {"DataType": "String", "StringValue": notification.event_type},
            },
        )
        message_id: str = response["MessageId"]
        return message_id

"""AWS::SQS::Queue -> moto, under the same name on every deployment."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from localcloud.deploy.context import Created, DeployContext, Resource
from localcloud.deploy.model import QueueRecord

__all__ = ["deploy_queue"]

_MAX_QUEUE_NAME = 80
_FIFO = ".fifo"

# Properties that are queue attributes under the same name.
_ATTRIBUTES = (
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "DelaySeconds",
    "FifoQueue",
    "FifoThroughputLimit",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "RedriveAllowPolicy",
    "RedrivePolicy",
    "VisibilityTimeout",
)
_ENCRYPTION = ("KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled")
# SQS's defaults, for the record when the template sets none.
_DEFAULT_VISIBILITY_TIMEOUT = 30
_DEFAULT_RETENTION = 345_600


def deploy_queue(ctx: DeployContext, resource: Resource) -> Created:
    props = resource.properties
    fifo = _true(props.get("FifoQueue"))
    name = str(
        props.get("QueueName") or ctx.name(resource, _MAX_QUEUE_NAME, suffix=_FIFO if fifo else "")
    )
    notes: list[str] = []
    attributes: dict[str, str] = {}
    for key, value in props.items():
        if key in _ATTRIBUTES:
            attributes[key] = _attribute(value)
        elif key in _ENCRYPTION:
            notes.append(f"{key}: ignored, the local cloud does not encrypt messages at rest")
        elif key not in ("QueueName", "Tags"):
            notes.append(f"{key}: not applied locally (not a queue attribute)")
    tags = {tag["Key"]: str(tag["Value"]) for tag in props.get("Tags", [])}

    sqs = ctx.moto("sqs")
    try:
        url = sqs.create_queue(QueueName=name, Attributes=attributes, tags=tags)["QueueUrl"]
    except ClientError as error:
        # Exists with other attributes (a changed template, moto kept running): update it.
        if error.response["Error"]["Code"] not in ("QueueAlreadyExists", "QueueNameExists"):
            raise resource.error(f"CreateQueue {name!r}: {error}") from error
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        changeable = {k: v for k, v in attributes.items() if k != "FifoQueue"}
        sqs.set_queue_attributes(QueueUrl=url, Attributes=changeable)
        notes.append("existed with other attributes: updated in place")
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.loads(attributes["RedrivePolicy"]) if "RedrivePolicy" in attributes else {}
    ctx.deployment.queues.append(
        QueueRecord(
            logical_id=resource.logical_id,
            name=name,
            url=url,
            arn=arn,
            fifo=fifo,
            visibility_timeout=int(
                attributes.get("VisibilityTimeout", _DEFAULT_VISIBILITY_TIMEOUT)
            ),
            message_retention_period=int(
                attributes.get("MessageRetentionPeriod", _DEFAULT_RETENTION)
            ),
            dead_letter_target_arn=redrive.get("deadLetterTargetArn"),
            max_receive_count=(
                int(redrive["maxReceiveCount"]) if "maxReceiveCount" in redrive else None
            ),
        )
    )
    return Created(url, {"Arn": arn, "QueueName": name, "QueueUrl": url}, notes)


def _attribute(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)  # policies: objects in templates, JSON strings in the API
    return str(value)


def _true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"

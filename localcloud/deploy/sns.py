"""AWS::SNS::Topic and AWS::SNS::Subscription -> moto.

moto delivers to SQS, HTTP(S), email and SMS subscribers itself. A Lambda (or Firehose)
subscriber is recorded with ``delivered_by="local"`` and not subscribed in moto: moto
would try to run the function in its own Lambda, which needs Docker.
"""

from __future__ import annotations

from typing import Any

from localcloud.deploy.api_params import api_parameters
from localcloud.deploy.context import Created, DeployContext, Resource
from localcloud.deploy.model import SubscriptionRecord, TopicRecord
from localcloud.deploy.names import stable_uuid

__all__ = ["deploy_subscription", "deploy_topic"]

_MAX_TOPIC_NAME = 256
_FIFO = ".fifo"
_MOTO_PROTOCOLS = frozenset({"sqs", "http", "https", "email", "email-json", "sms", "application"})

_TOPIC_ATTRIBUTES = (
    "ContentBasedDeduplication",
    "DisplayName",
    "FifoThroughputScope",
    "FifoTopic",
    "SignatureVersion",
)
_TOPIC_NOT_APPLIED = {
    "KmsMasterKeyId": "ignored, the local cloud does not encrypt messages at rest",
    "TracingConfig": "ignored, there is no X-Ray locally",
    "DataProtectionPolicy": "not applied, moto does not evaluate data protection policies",
    "DeliveryStatusLogging": "not applied, there is no CloudWatch Logs locally",
    "ArchivePolicy": "not applied, moto has no message archiving for FIFO topics",
}
_SUBSCRIPTION_ATTRIBUTES = (
    "DeliveryPolicy",
    "FilterPolicy",
    "FilterPolicyScope",
    "RawMessageDelivery",
    "RedrivePolicy",
    "ReplayPolicy",
    "SubscriptionRoleArn",
)


def deploy_topic(ctx: DeployContext, resource: Resource) -> Created:
    props = resource.properties
    fifo = str(props.get("FifoTopic", "false")).lower() == "true"
    name = str(
        props.get("TopicName") or ctx.name(resource, _MAX_TOPIC_NAME, suffix=_FIFO if fifo else "")
    )
    notes: list[str] = []
    attributes: dict[str, str] = {}
    for key, value in props.items():
        if key in _TOPIC_ATTRIBUTES:
            attributes[key] = _text(value)
        elif key in _TOPIC_NOT_APPLIED:
            notes.append(f"{key}: {_TOPIC_NOT_APPLIED[key]}")
        elif key not in ("TopicName", "Tags", "Subscription"):
            notes.append(f"{key}: not applied locally (not a topic attribute)")
    tags = [{"Key": tag["Key"], "Value": str(tag["Value"])} for tag in props.get("Tags", [])]
    # CreateTopic answers the existing topic's ARN for the same name and attributes.
    sns = ctx.moto("sns")
    arn: str = sns.create_topic(Name=name, Attributes=attributes, Tags=tags)["TopicArn"]
    # An existing topic (a redeployment) may have other attributes; FIFO is fixed at creation.
    for key, value in attributes.items():
        if key != "FifoTopic":
            sns.set_topic_attributes(TopicArn=arn, AttributeName=key, AttributeValue=value)
    topic = TopicRecord(logical_id=resource.logical_id, name=name, arn=arn, fifo=fifo)
    ctx.deployment.topics.append(topic)
    for subscription in props.get("Subscription", []):
        topic.subscriptions.append(
            _subscribe(ctx, arn, subscription["Protocol"], subscription["Endpoint"], {})
        )
    return Created(arn, {"TopicArn": arn, "TopicName": name}, notes)


def deploy_subscription(ctx: DeployContext, resource: Resource) -> Created:
    props = resource.properties
    topic_arn = str(props["TopicArn"])
    attributes = {key: props[key] for key in _SUBSCRIPTION_ATTRIBUTES if key in props}
    params, notes = api_parameters(
        "sns",
        "Subscribe",
        {"Attributes": attributes},
        where=resource.where,
    )
    notes += [
        f"{key}: not applied locally (not a subscription attribute)"
        for key in props
        if key not in (*_SUBSCRIPTION_ATTRIBUTES, "TopicArn", "Protocol", "Endpoint", "Region")
    ]
    subscription = _subscribe(
        ctx, topic_arn, str(props["Protocol"]), str(props["Endpoint"]), params["Attributes"]
    )
    subscription.logical_id = resource.logical_id
    for topic in ctx.deployment.topics:
        if topic.arn == topic_arn:
            topic.subscriptions.append(subscription)
    if subscription.delivered_by == "local":
        notes.append(
            f"protocol {subscription.protocol}: not subscribed in moto; the local cloud "
            "delivers to it"
        )
    physical_id = subscription.arn or f"{topic_arn}:{stable_uuid(topic_arn, resource.logical_id)}"
    return Created(physical_id, {"Arn": physical_id}, notes)


def _subscribe(
    ctx: DeployContext,
    topic_arn: str,
    protocol: str,
    endpoint: str,
    attributes: dict[str, str],
) -> SubscriptionRecord:
    if protocol.lower() not in _MOTO_PROTOCOLS:
        return SubscriptionRecord(
            protocol=protocol,
            endpoint=endpoint,
            arn=None,
            delivered_by="local",
            attributes=attributes,
        )
    response = ctx.moto("sns").subscribe(
        TopicArn=topic_arn,
        Protocol=protocol,
        Endpoint=endpoint,
        Attributes=attributes,
        ReturnSubscriptionArn=True,
    )
    return SubscriptionRecord(
        protocol=protocol,
        endpoint=endpoint,
        arn=response["SubscriptionArn"],
        delivered_by="moto",
        attributes=attributes,
    )


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

"""AWS::Events::EventBus, Rule and Archive -> moto's EventBridge.

Every rule and every target goes into moto: moto is the control plane, and the edge
router reads rules and targets from it when it answers PutEvents itself. moto's own
PutEvents delivers only to SQS queues and other buses: for a Lambda, SNS or Step
Functions target it raises NotImplementedError (failing the whole PutEvents), and it
ignores Input and InputPath. The rule's record says so per target (``delivered_by``
"local" and the reason): such a target works only through the edge router.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from localcloud.deploy.api_params import api_parameters
from localcloud.deploy.context import Created, DeployContext, Resource
from localcloud.deploy.model import ArchiveRecord, RuleRecord, TargetRecord
from localcloud.deploy.names import parse_arn

__all__ = ["deploy_archive", "deploy_event_bus", "deploy_rule"]

_MAX_RULE_NAME = 64
_MAX_ARCHIVE_NAME = 48
_DEFAULT_BUS = "default"

_BUS_NOT_APPLIED = {
    "Policy": "not applied, moto does not evaluate event bus policies",
    "DeadLetterConfig": "not applied, moto has no bus-level dead-letter queue",
    "KmsKeyIdentifier": "ignored, the local cloud does not encrypt events at rest",
    "EventSourceName": "not applied, there are no partner event sources locally",
    "LogConfig": "not applied, there is no CloudWatch Logs locally",
}


def deploy_event_bus(ctx: DeployContext, resource: Resource) -> Created:
    props = resource.properties
    name = str(props["Name"])
    notes = [f"{key}: {text}" for key, text in _BUS_NOT_APPLIED.items() if key in props]
    events = ctx.moto("events")
    kwargs: dict[str, Any] = {"Name": name}
    if "Description" in props:
        kwargs["Description"] = str(props["Description"])
    try:
        arn = events.create_event_bus(**kwargs)["EventBusArn"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceAlreadyExistsException":
            raise resource.error(f"CreateEventBus {name!r}: {error}") from error
        arn = events.describe_event_bus(Name=name)["Arn"]
    bus = ctx.event_bus(name)
    bus.arn, bus.logical_id = arn, resource.logical_id
    return Created(name, {"Arn": arn, "Name": name}, notes)


def deploy_rule(ctx: DeployContext, resource: Resource) -> Created:
    props = resource.properties
    name = str(props.get("Name") or ctx.name(resource, _MAX_RULE_NAME))
    bus = ctx.event_bus(props.get("EventBusName"))
    pattern = _pattern(props.get("EventPattern"))
    rule_props = {key: value for key, value in props.items() if key != "Targets"}
    rule_props.update(Name=name, EventBusName=bus.name)
    params, notes = api_parameters("events", "PutRule", rule_props, where=resource.where)
    events = ctx.moto("events")
    arn = events.put_rule(**params)["RuleArn"]

    targets = [_target(ctx, target) for target in props.get("Targets", [])]
    moto_targets, target_notes = api_parameters(
        "events",
        "PutTargets",
        {"Targets": props.get("Targets", [])},
        where=resource.where,
    )
    notes += target_notes
    wanted = {target["Id"] for target in moto_targets["Targets"]}
    existing = events.list_targets_by_rule(Rule=name, EventBusName=bus.name)["Targets"]
    stale = [target["Id"] for target in existing if target["Id"] not in wanted]
    if stale:
        events.remove_targets(Rule=name, EventBusName=bus.name, Ids=stale)
    if moto_targets["Targets"]:
        failed = events.put_targets(Rule=name, EventBusName=bus.name, **moto_targets)
        if failed.get("FailedEntryCount"):
            raise resource.error(f"PutTargets failed: {failed['FailedEntries']}")
    notes += [
        f"target {target.id} ({target.kind}): only the edge router delivers it: {target.reason}"
        for target in targets
        if target.delivered_by == "local"
    ]
    if any(target.retry_policy for target in targets):
        notes.append(
            "Targets' RetryPolicy: registered in moto, which never retries a delivery later"
        )
    bus.rules = [rule for rule in bus.rules if rule.logical_id != resource.logical_id]
    bus.rules.append(
        RuleRecord(
            logical_id=resource.logical_id,
            name=name,
            arn=arn,
            event_bus_name=bus.name,
            event_pattern=pattern,
            schedule_expression=props.get("ScheduleExpression"),
            state=str(props.get("State", "ENABLED")),
            targets=targets,
        )
    )
    if props.get("ScheduleExpression"):
        notes.append("ScheduleExpression: recorded; moto does not trigger scheduled rules")
    # CloudFormation: Ref is the rule name, or "bus|rule" on a bus other than the default.
    physical_id = name if bus.name == _DEFAULT_BUS else f"{bus.name}|{name}"
    return Created(physical_id, {"Arn": arn}, notes)


def deploy_archive(ctx: DeployContext, resource: Resource) -> Created:
    props = resource.properties
    name = str(props.get("ArchiveName") or ctx.name(resource, _MAX_ARCHIVE_NAME))
    source_arn = str(props["SourceArn"])
    pattern = _pattern(props.get("EventPattern"))
    kwargs: dict[str, Any] = {"ArchiveName": name}
    if "Description" in props:
        kwargs["Description"] = str(props["Description"])
    if pattern is not None:
        kwargs["EventPattern"] = json.dumps(pattern)
    if "RetentionDays" in props:
        kwargs["RetentionDays"] = int(props["RetentionDays"])
    notes = [
        f"{key}: not applied locally (not an archive property moto knows)"
        for key in props
        if key not in ("ArchiveName", "SourceArn", "Description", "EventPattern", "RetentionDays")
    ]
    events = ctx.moto("events")
    try:
        arn = events.create_archive(EventSourceArn=source_arn, **kwargs)["ArchiveArn"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceAlreadyExistsException":
            raise resource.error(f"CreateArchive {name!r}: {error}") from error
        arn = events.update_archive(**kwargs)["ArchiveArn"]
    bus = ctx.event_bus(source_arn)
    bus.archives = [a for a in bus.archives if a.logical_id != resource.logical_id]
    bus.archives.append(
        ArchiveRecord(
            logical_id=resource.logical_id,
            name=name,
            arn=arn,
            event_pattern=pattern,
            retention_days=kwargs.get("RetentionDays"),
        )
    )
    return Created(name, {"Arn": arn, "ArchiveName": name}, notes)


def _pattern(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    pattern = json.loads(value) if isinstance(value, str) else value
    if not isinstance(pattern, dict):
        raise ValueError(f"an event pattern must be an object, not {value!r}")
    return pattern


def _target(ctx: DeployContext, target: dict[str, Any]) -> TargetRecord:
    arn = str(target["Arn"])
    parts = parse_arn(arn)
    service = parts.service if parts else ""
    kind = {"sqs": "sqs", "lambda": "lambda", "sns": "sns", "states": "states", "logs": "logs"}.get(
        service, "other"
    )
    if service == "events" and parts is not None and parts.resource_type == "event-bus":
        kind = "event-bus"
    reason: str | None = None
    if kind not in ("sqs", "event-bus"):
        reason = f"moto 5.2.5 cannot deliver to {kind} targets (its PutEvents would fail)"
    elif "Input" in target or "InputPath" in target:
        reason = "moto 5.2.5 ignores Input and InputPath (it would deliver the whole event)"
    queue = ctx.queue_by_arn(arn) if kind == "sqs" else None
    transformer = target.get("InputTransformer")
    return TargetRecord(
        id=str(target["Id"]),
        arn=arn,
        kind=kind,
        delivered_by="local" if reason else "moto",
        reason=reason,
        queue_url=queue.url if queue else None,
        function_name=ctx.function_name(arn) if kind == "lambda" else None,
        dead_letter_arn=target.get("DeadLetterConfig", {}).get("Arn"),
        retry_policy={key: int(value) for key, value in target.get("RetryPolicy", {}).items()},
        input=target.get("Input"),
        input_path=target.get("InputPath"),
        input_transformer=dict(transformer) if transformer else None,
        sqs_message_group_id=target.get("SqsParameters", {}).get("MessageGroupId"),
        role_arn=target.get("RoleArn"),
    )

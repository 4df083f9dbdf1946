"""AWS::Pipes::Pipe -> moto's Pipes (control plane) and a config record for the pipe runner.

moto stores pipes and answers Describe/List, but moves no data: the local cloud's pipe
runner does that from the record (source stream, filters, batch, retries, DLQ, target).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from localcloud.deploy.api_params import api_parameters
from localcloud.deploy.context import Created, DeployContext, Resource
from localcloud.deploy.model import PipeRecord
from localcloud.deploy.names import parse_arn

__all__ = ["deploy_pipe"]

_MAX_PIPE_NAME = 64
_SOURCE_PARAMETERS = {
    "dynamodb": "DynamoDBStreamParameters",
    "kinesis": "KinesisStreamParameters",
    "sqs": "SqsQueueParameters",
}


def deploy_pipe(ctx: DeployContext, resource: Resource) -> Created:
    props = resource.properties
    name = str(props.get("Name") or ctx.name(resource, _MAX_PIPE_NAME))
    params, notes = api_parameters(
        "pipes", "CreatePipe", {**props, "Name": name}, where=resource.where
    )
    if "LogConfiguration" in props:
        notes.append("LogConfiguration: recorded in moto; there is no CloudWatch Logs locally")
    if "Enrichment" in props:
        notes.append("Enrichment: recorded; the local pipe runner decides whether it calls it")
    pipes = ctx.moto("pipes")
    # Asked first: moto 5.2.5's CreatePipe silently replaces a pipe of the same name.
    current = _describe(pipes, name)
    if current is None:
        pipes.create_pipe(**params)
    elif any(current.get(key) != value for key, value in params.items() if key != "Tags"):
        update, _ = api_parameters("pipes", "UpdatePipe", params, where=resource.where)
        pipes.update_pipe(**update)
    described = pipes.describe_pipe(Name=name)
    arn: str = described["Arn"]

    source_arn = str(props["Source"])
    source_kind = _kind(source_arn)
    source_parameters: dict[str, Any] = props.get("SourceParameters", {})
    stream: dict[str, Any] = source_parameters.get(_SOURCE_PARAMETERS.get(source_kind, ""), {})
    dead_letter_arn = stream.get("DeadLetterConfig", {}).get("Arn")
    dead_letter_queue = ctx.queue_by_arn(dead_letter_arn) if dead_letter_arn else None
    target_arn = str(props["Target"])
    target_kind = _kind(target_arn)
    target_parameters: dict[str, Any] = props.get("TargetParameters", {})
    target_bus = parse_arn(target_arn)
    ctx.deployment.pipes.append(
        PipeRecord(
            logical_id=resource.logical_id,
            name=name,
            arn=arn,
            desired_state=str(props.get("DesiredState", "RUNNING")),
            role_arn=props.get("RoleArn"),
            source_arn=source_arn,
            source_kind=source_kind,
            starting_position=stream.get("StartingPosition"),
            batch_size=_int(stream.get("BatchSize")),
            maximum_batching_window_seconds=_int(stream.get("MaximumBatchingWindowInSeconds")),
            maximum_retry_attempts=_int(stream.get("MaximumRetryAttempts")),
            maximum_record_age_seconds=_int(stream.get("MaximumRecordAgeInSeconds")),
            on_partial_batch_item_failure=stream.get("OnPartialBatchItemFailure"),
            filter_patterns=[
                str(item["Pattern"])
                for item in source_parameters.get("FilterCriteria", {}).get("Filters", [])
                if "Pattern" in item
            ],
            dead_letter_arn=dead_letter_arn,
            dead_letter_queue_url=dead_letter_queue.url if dead_letter_queue else None,
            target_arn=target_arn,
            target_kind=target_kind,
            target_bus_name=(
                target_bus.resource_id if target_kind == "event-bus" and target_bus else None
            ),
            input_template=target_parameters.get("InputTemplate"),
            event_bus_parameters=dict(target_parameters.get("EventBridgeEventBusParameters", {})),
            enrichment=props.get("Enrichment"),
            properties=props,
        )
    )
    attributes = {
        "Arn": arn,
        "CurrentState": described.get("CurrentState", ""),
        "StateReason": described.get("StateReason", ""),
        "CreationTime": described["CreationTime"].isoformat(),
        "LastModifiedTime": described["LastModifiedTime"].isoformat(),
    }
    return Created(name, attributes, notes)


def _describe(pipes: Any, name: str) -> dict[str, Any] | None:
    try:
        described: dict[str, Any] = pipes.describe_pipe(Name=name)
    except ClientError as error:
        if error.response["Error"]["Code"] == "NotFoundException":
            return None
        raise
    return described


def _kind(arn: str) -> str:
    parts = parse_arn(arn)
    if parts is None:
        return "other"
    if parts.service == "events" and parts.resource_type == "event-bus":
        return "event-bus"
    known = ("dynamodb", "sqs", "kinesis", "lambda", "states", "sns")
    return parts.service if parts.service in known else "other"


def _int(value: Any) -> int | None:
    return None if value is None else int(value)

"""AWS::Lambda::Function and AWS::Lambda::EventSourceMapping -> config records only.

The orchestrator runs each function in local worker processes and polls the queues of
the event source mappings itself; nothing is created in moto (moto's Lambda runs code in
Docker). The records carry everything those parts need, intrinsics resolved.
"""

from __future__ import annotations

import json
from typing import Any

from localcloud.deploy.context import Created, DeployContext, Resource
from localcloud.deploy.model import EventSourceMappingRecord, FunctionRecord
from localcloud.deploy.names import parse_arn, stable_uuid

__all__ = ["deploy_event_source_mapping", "deploy_function"]

_MAX_FUNCTION_NAME = 64
# Lambda's defaults.
_DEFAULT_TIMEOUT = 3
_DEFAULT_MEMORY = 128
_DEFAULT_BATCH_SIZE = {"sqs": 10, "dynamodb": 100, "kinesis": 100}

_FUNCTION_USED = (
    "FunctionName",
    "Handler",
    "Runtime",
    "Timeout",
    "MemorySize",
    "Environment",
    "Code",
    "Role",
    "Architectures",
    "Layers",
    "ReservedConcurrentExecutions",
    "DeadLetterConfig",
    "LoggingConfig",
    "Description",
)
_FUNCTION_NOTES = {
    "Layers": "not installed: the local worker imports packages from this machine's "
    "environment (`make dev` installs what the layers provide)",
    "Architectures": "recorded; the function runs on this machine's architecture",
    "TracingConfig": "not applied, there is no X-Ray locally",
    "VpcConfig": "not applied, there are no VPCs locally",
    "LoggingConfig": "the worker's output is the function's log; no CloudWatch Logs",
    "KmsKeyArn": "ignored, the local cloud does not encrypt environment variables",
    "ReservedConcurrentExecutions": "recorded for the workers",
    "SnapStart": "not applied",
    "EphemeralStorage": "not applied, the worker uses this machine's temporary directory",
    "FileSystemConfigs": "not applied, there is no EFS locally",
    "ImageConfig": "not applied, container images are not run locally",
    "Tags": "not applied",
}


def deploy_function(ctx: DeployContext, resource: Resource) -> Created:
    props = resource.properties
    name = str(props.get("FunctionName") or ctx.name(resource, _MAX_FUNCTION_NAME))
    arn = ctx.arn("lambda", f"function:{name}")
    code = props.get("Code", {})
    if "ImageUri" in code:
        raise resource.error("Code.ImageUri: container image functions do not run locally")
    if "Handler" not in props or "Runtime" not in props:
        raise resource.error("needs Handler and Runtime to run locally")
    variables = props.get("Environment", {}).get("Variables", {})
    notes = [f"{key}: {text}" for key, text in _FUNCTION_NOTES.items() if key in props]
    notes += [
        f"{key}: not applied locally"
        for key in props
        if key not in _FUNCTION_USED and key not in _FUNCTION_NOTES
    ]
    ctx.deployment.functions.append(
        FunctionRecord(
            logical_id=resource.logical_id,
            name=name,
            arn=arn,
            handler=str(props["Handler"]),
            runtime=str(props["Runtime"]),
            timeout=int(props.get("Timeout", _DEFAULT_TIMEOUT)),
            memory_size=int(props.get("MemorySize", _DEFAULT_MEMORY)),
            environment={str(key): _text(value) for key, value in variables.items()},
            code_path=str(ctx.code_root),
            asset_path=resource.definition.get("Metadata", {}).get("aws:asset:path"),
            inline_code=code.get("ZipFile"),
            role_arn=props.get("Role"),
            architectures=list(props.get("Architectures", [])),
            layers=[str(layer) for layer in props.get("Layers", [])],
            reserved_concurrency=(
                int(props["ReservedConcurrentExecutions"])
                if "ReservedConcurrentExecutions" in props
                else None
            ),
            dead_letter_target_arn=props.get("DeadLetterConfig", {}).get("TargetArn"),
            log_group=props.get("LoggingConfig", {}).get("LogGroup"),
            description=props.get("Description"),
        )
    )
    return Created(name, {"Arn": arn}, notes)


def deploy_event_source_mapping(ctx: DeployContext, resource: Resource) -> Created:
    props = resource.properties
    source_arn = str(props.get("EventSourceArn", ""))
    kind = _source_kind(source_arn, props)
    mapping_id = stable_uuid(ctx.stack_name, resource.logical_id)
    arn = ctx.arn("lambda", f"event-source-mapping:{mapping_id}")
    queue = ctx.queue_by_arn(source_arn) if kind == "sqs" else None
    notes: list[str] = []
    if kind == "sqs" and queue is None:
        notes.append(f"EventSourceArn {source_arn}: not a queue of this deployment")
    if kind not in ("sqs",):
        notes.append(
            f"a {kind} event source: recorded; the local cloud polls only SQS sources for functions"
        )
    ctx.deployment.event_source_mappings.append(
        EventSourceMappingRecord(
            logical_id=resource.logical_id,
            uuid=mapping_id,
            arn=arn,
            function_name=ctx.function_name(str(props["FunctionName"])),
            event_source_arn=source_arn,
            source_kind=kind,
            queue_url=queue.url if queue else None,
            batch_size=int(props.get("BatchSize", _DEFAULT_BATCH_SIZE.get(kind, 10))),
            maximum_batching_window_seconds=int(props.get("MaximumBatchingWindowInSeconds", 0)),
            function_response_types=[str(t) for t in props.get("FunctionResponseTypes", [])],
            scaling_config={
                str(key): int(value) for key, value in props.get("ScalingConfig", {}).items()
            },
            enabled=str(props.get("Enabled", True)).lower() == "true",
            filter_patterns=[
                _pattern_text(item.get("Pattern"))
                for item in props.get("FilterCriteria", {}).get("Filters", [])
            ],
            starting_position=props.get("StartingPosition"),
            maximum_retry_attempts=_optional_int(props.get("MaximumRetryAttempts")),
            maximum_record_age_seconds=_optional_int(props.get("MaximumRecordAgeInSeconds")),
            bisect_batch_on_function_error=props.get("BisectBatchOnFunctionError"),
            on_failure_destination=props.get("DestinationConfig", {})
            .get("OnFailure", {})
            .get("Destination"),
            properties=props,
        )
    )
    return Created(mapping_id, {"Id": mapping_id, "EventSourceMappingArn": arn}, notes)


def _source_kind(arn: str, props: dict[str, Any]) -> str:
    parts = parse_arn(arn)
    if parts is None:
        return "kafka" if "SelfManagedEventSource" in props else "other"
    return {"sqs": "sqs", "dynamodb": "dynamodb", "kinesis": "kinesis", "kafka": "kafka"}.get(
        parts.service, "mq" if parts.service == "mq" else "other"
    )


def _pattern_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)

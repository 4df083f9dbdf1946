"""AWS::StepFunctions::StateMachine -> moto, DefinitionSubstitutions applied as in AWS."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from localcloud.deploy.context import Created, DeployContext, Resource
from localcloud.deploy.model import StateMachineRecord
from localcloud.deploy.names import generated_name
from services.booking.definition import substitute

__all__ = ["deploy_state_machine"]

_MAX_NAME = 80
_NOT_APPLIED = {
    "LoggingConfiguration": "not applied, there is no CloudWatch Logs locally",
    "TracingConfiguration": "not applied, there is no X-Ray locally",
    "EncryptionConfiguration": "ignored, the local cloud does not encrypt at rest",
    "Tags": "not applied",
}
_USED = (
    "StateMachineName",
    "Definition",
    "DefinitionString",
    "DefinitionSubstitutions",
    "RoleArn",
    "StateMachineType",
)


def deploy_state_machine(ctx: DeployContext, resource: Resource) -> Created:
    props = resource.properties
    # CloudFormation names a state machine <LogicalId>-<random>, without the stack name.
    name = str(
        props.get("StateMachineName")
        or generated_name(ctx.stack_name, resource.logical_id, _MAX_NAME, with_stack=False)
    )
    definition = _definition(resource)
    role_arn = str(props.get("RoleArn") or ctx.arn("iam", f"role/{name}-local-role", region=False))
    kind = str(props.get("StateMachineType", "STANDARD"))
    notes = [f"{key}: {text}" for key, text in _NOT_APPLIED.items() if key in props]
    notes += [
        f"{key}: not applied locally"
        for key in props
        if key not in _USED and key not in _NOT_APPLIED
    ]

    sfn = ctx.moto("stepfunctions")
    arn = ctx.arn("states", f"stateMachine:{name}")
    current = _describe(sfn, arn)
    if current is not None and current.get("type", "STANDARD") != kind:
        # The type cannot be updated (CloudFormation replaces the state machine too).
        sfn.delete_state_machine(stateMachineArn=arn)
        current = None
    if current is None:
        arn = sfn.create_state_machine(
            name=name, definition=definition, roleArn=role_arn, type=kind
        )["stateMachineArn"]
    elif current["definition"] != definition or current["roleArn"] != role_arn:
        sfn.update_state_machine(stateMachineArn=arn, definition=definition, roleArn=role_arn)
    ctx.deployment.state_machines.append(
        StateMachineRecord(
            logical_id=resource.logical_id,
            name=name,
            arn=arn,
            type=kind,
            definition=definition,
            role_arn=role_arn,
        )
    )
    return Created(arn, {"Arn": arn, "Name": name, "StateMachineRevisionId": "INITIAL"}, notes)


def _definition(resource: Resource) -> str:
    props = resource.properties
    if "DefinitionS3Location" in props:
        raise resource.error(
            "DefinitionS3Location: there is no S3 locally; use Definition or DefinitionString"
        )
    if "DefinitionString" in props:
        text = str(props["DefinitionString"])
    elif "Definition" in props:
        text = json.dumps(props["Definition"])
    else:
        raise resource.error("has neither Definition nor DefinitionString")
    substitutions = props.get("DefinitionSubstitutions")
    if not substitutions:
        return text
    values = {str(key): _text(value) for key, value in substitutions.items()}
    try:
        return substitute(text, values)
    except (KeyError, ValueError) as error:
        raise resource.error(f"DefinitionSubstitutions: {error}") from error


def _describe(sfn: Any, arn: str) -> dict[str, Any] | None:
    try:
        description: dict[str, Any] = sfn.describe_state_machine(stateMachineArn=arn)
    except ClientError as error:
        if error.response["Error"]["Code"] == "StateMachineDoesNotExist":
            return None
        raise
    return description


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)

"""Deploy a synthesized CloudFormation template onto the local cloud's backends.

    deployment = deploy(template_dict(), moto_endpoint="http://127.0.0.1:5000",
                        dynamodb_endpoint="http://127.0.0.1:8000",
                        previous=Deployment.load(".localcloud/deployment.json"))
    deployment.save(".localcloud/deployment.json")
    write_outputs(deployment, ".localcloud/outputs.json")

Resources are deployed in dependency order (Ref, Fn::GetAtt, Fn::Sub, DependsOn), by
type: tables into DynamoDB Local; queues, topics, buses, rules, archives, state machines,
user pools and pipes into moto; functions, event source mappings and the GraphQL API
into config records for the parts the orchestrator runs; everything else into
`Deployment.not_emulated`, with the reason, and placeholder ids so what refers to it
still resolves. See `HANDLERS` and `localcloud.deploy.not_emulated`.

Deploying again is idempotent: every physical name is derived from the stack name and
logical id, and every handler updates what exists instead of duplicating it. Over a
restarted moto (in-memory state gone) the same call recreates the same queues, topics,
buses, rules, archives and state machines under the same names; DynamoDB Local keeps its
tables and data on disk. With `previous`, resources removed from the template are deleted
from moto, API key values are kept, and user pools are found again by id.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from localcloud.deploy import appsync, cognito, dynamodb, events, lambda_, pipes, sns, sqs
from localcloud.deploy.context import Created, DeployContext, DeployError, Handler, Resource
from localcloud.deploy.model import Deployment, NotEmulated, Skipped
from localcloud.deploy.not_emulated import not_emulated, reason_for
from localcloud.deploy.stepfunctions import deploy_state_machine
from localcloud.dynamodb_local import PROJECT_ROOT
from localcloud.intrinsics import (
    IntrinsicError,
    PseudoParameters,
    Resolver,
    deployment_order,
    resolve_parameters,
)

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_GRAPHQL_URL",
    "DEFAULT_REGION",
    "HANDLERS",
    "DeployError",
    "Deployment",
    "deploy",
    "write_outputs",
]

DEFAULT_REGION = "us-east-1"
#: moto's default account.
DEFAULT_ACCOUNT_ID = "123456789012"
#: Where the local GraphQL endpoint serves every API of the template.
DEFAULT_GRAPHQL_URL = "http://127.0.0.1:4000/graphql"

#: Resource types that run locally, and the handler that deploys each.
HANDLERS: dict[str, Handler] = {
    "AWS::DynamoDB::Table": dynamodb.deploy_table,
    "AWS::SQS::Queue": sqs.deploy_queue,
    "AWS::SNS::Topic": sns.deploy_topic,
    "AWS::SNS::Subscription": sns.deploy_subscription,
    "AWS::Events::EventBus": events.deploy_event_bus,
    "AWS::Events::Rule": events.deploy_rule,
    "AWS::Events::Archive": events.deploy_archive,
    "AWS::StepFunctions::StateMachine": deploy_state_machine,
    "AWS::Cognito::UserPool": cognito.deploy_user_pool,
    "AWS::Cognito::UserPoolGroup": cognito.deploy_user_pool_group,
    "AWS::Cognito::UserPoolClient": cognito.deploy_user_pool_client,
    "AWS::Lambda::Function": lambda_.deploy_function,
    "AWS::Lambda::EventSourceMapping": lambda_.deploy_event_source_mapping,
    "AWS::Pipes::Pipe": pipes.deploy_pipe,
    "AWS::AppSync::GraphQLApi": appsync.deploy_graphql_api,
    "AWS::AppSync::GraphQLSchema": appsync.deploy_graphql_schema,
    "AWS::AppSync::ApiKey": appsync.deploy_api_key,
    "AWS::AppSync::DataSource": appsync.deploy_data_source,
    "AWS::AppSync::Resolver": appsync.deploy_resolver,
    "AWS::AppSync::FunctionConfiguration": appsync.deploy_function_configuration,
}


def deploy(
    template: Mapping[str, Any],
    *,
    moto_endpoint: str,
    dynamodb_endpoint: str,
    stack_name: str = "NannyBooking",
    parameters: Mapping[str, str] | None = None,
    previous: Deployment | None = None,
    code_root: str | os.PathLike[str] = PROJECT_ROOT,
    graphql_url: str = DEFAULT_GRAPHQL_URL,
    region: str = DEFAULT_REGION,
    account_id: str = DEFAULT_ACCOUNT_ID,
) -> Deployment:
    """Deploy `template` onto moto (`moto_endpoint`) and DynamoDB Local.

    Args:
        parameters: values of the template's Parameters (others take their Default;
            SSM-typed ones a local placeholder, see `intrinsics.resolve_parameters`).
        previous: the last deployment of this stack, to delete what the template no longer
            has, keep API keys and find user pools again.
        code_root: the directory function handlers are relative to (the repo root).
        graphql_url: the local GraphQL endpoint, answered for `GraphQLUrl`.

    Raises:
        DeployError: the message names the resource (logical id and type) and the cause.
    """
    if "Transform" in template:
        raise DeployError(
            f"Transform {template['Transform']!r}: deploy the processed template (the local "
            "cloud does not run CloudFormation macros)"
        )
    pseudo = PseudoParameters(stack_name=stack_name, region=region, account_id=account_id)
    ignored_previous = previous is not None and (
        previous.stack_name,
        previous.region,
        previous.account_id,
    ) != (stack_name, region, account_id)
    if ignored_previous:
        previous = None
    try:
        resolved_parameters = resolve_parameters(template, parameters, pseudo)
        order = deployment_order(template)
    except IntrinsicError as error:
        raise DeployError(str(error)) from error
    deployment = Deployment(
        stack_name=stack_name,
        region=region,
        account_id=account_id,
        moto_endpoint=moto_endpoint,
        dynamodb_endpoint=dynamodb_endpoint,
        template_sha256=_fingerprint(template),
        deployed_at=datetime.now(UTC).isoformat(timespec="seconds"),
        parameters=resolved_parameters.values,
        notes=list(resolved_parameters.notes),
    )
    if ignored_previous:
        deployment.notes.append(
            "the previous deployment is of another stack, region or account: not used"
        )
    if "Rules" in template:
        deployment.notes.append(
            f"Rules {sorted(template['Rules'])}: not evaluated locally (CloudFormation checks "
            "them before deploying)"
        )
    ctx = DeployContext(
        deployment=deployment,
        pseudo=pseudo,
        moto_endpoint=moto_endpoint,
        dynamodb_endpoint=dynamodb_endpoint,
        previous=previous,
        code_root=Path(code_root).resolve(),
        graphql_url=graphql_url,
    )
    resolver = Resolver(
        template, pseudo=pseudo, parameters=resolved_parameters.values, resources=ctx
    )
    for logical_id in order:
        _deploy_one(ctx, resolver, logical_id, template["Resources"][logical_id])
    appsync.finish_auth_modes(ctx)
    deployment.outputs = {stack_name: _outputs(template, resolver, deployment)}
    if previous is not None:
        _remove_stale(ctx, previous)
    return deployment


def write_outputs(deployment: Deployment, path: str | os.PathLike[str]) -> Path:
    """Write the outputs as `cdk deploy --outputs-file` does: `{stack: {key: value}}`."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(deployment.outputs, indent=2) + "\n", encoding="utf-8")
    partial.replace(target)
    return target


# -- one resource -----------------------------------------------------------------------------


def _deploy_one(
    ctx: DeployContext, resolver: Resolver, logical_id: str, definition: Mapping[str, Any]
) -> None:
    deployment = ctx.deployment
    kind = str(definition.get("Type", ""))
    try:
        if not resolver.is_enabled(logical_id):
            condition = str(definition["Condition"])
            deployment.skipped.append(Skipped(logical_id, kind, condition))
            return
        handler = HANDLERS.get(kind)
        raw_properties = definition.get("Properties", {})
        if handler is None:
            created = not_emulated(ctx, resolver, logical_id, kind, raw_properties)
            deployment.not_emulated.append(NotEmulated(logical_id, kind, reason_for(kind)))
        else:
            where = f"Resources.{logical_id}.Properties"
            properties = resolver.resolve(raw_properties, where) or {}
            created = handler(ctx, Resource(logical_id, kind, properties, definition))
    except DeployError:
        raise
    except IntrinsicError as error:
        raise DeployError(f"{logical_id} ({kind}): {error}") from error
    except (ClientError, BotoCoreError) as error:
        raise DeployError(f"{logical_id} ({kind}): the backend refused it: {error}") from error
    except Exception as error:
        raise DeployError(f"{logical_id} ({kind}): {type(error).__name__}: {error}") from error
    _record(deployment, logical_id, kind, created)


def _record(deployment: Deployment, logical_id: str, kind: str, created: Created) -> None:
    deployment.resource_types[logical_id] = kind
    deployment.physical_ids[logical_id] = created.physical_id
    deployment.attributes[logical_id] = created.attributes
    if created.notes:
        deployment.resource_notes[logical_id] = created.notes


# -- outputs ----------------------------------------------------------------------------------


def _outputs(
    template: Mapping[str, Any], resolver: Resolver, deployment: Deployment
) -> dict[str, str]:
    outputs: dict[str, str] = {}
    for key, output in template.get("Outputs", {}).items():
        where = f"Outputs.{key}"
        try:
            if "Condition" in output and not resolver.condition(
                str(output["Condition"]), f"{where}.Condition"
            ):
                continue
            value = resolver.resolve(output.get("Value"), f"{where}.Value")
        except IntrinsicError as error:
            raise DeployError(str(error)) from error
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, int | float):
            value = str(value)
        if not isinstance(value, str):
            raise DeployError(f"{where}.Value: an output must be a string, not {value!r}")
        outputs[key] = value
        if "Export" in output:
            deployment.notes.append(f"{where}.Export: not exported (no other stacks locally)")
    return outputs


# -- what the template no longer has ----------------------------------------------------------


def _delete_rule(ctx: DeployContext, physical_id: str) -> None:
    bus, _, name = physical_id.rpartition("|")
    bus = bus or "default"
    events_client = ctx.moto("events")
    targets = events_client.list_targets_by_rule(Rule=name, EventBusName=bus)["Targets"]
    if targets:
        events_client.remove_targets(
            Rule=name, EventBusName=bus, Ids=[target["Id"] for target in targets]
        )
    events_client.delete_rule(Name=name, EventBusName=bus)


_DELETERS: dict[str, Callable[[DeployContext, str], Any]] = {
    "AWS::SQS::Queue": lambda ctx, pid: ctx.moto("sqs").delete_queue(QueueUrl=pid),
    "AWS::SNS::Topic": lambda ctx, pid: ctx.moto("sns").delete_topic(TopicArn=pid),
    "AWS::SNS::Subscription": lambda ctx, pid: ctx.moto("sns").unsubscribe(SubscriptionArn=pid),
    "AWS::Events::Rule": _delete_rule,
    "AWS::Events::Archive": lambda ctx, pid: ctx.moto("events").delete_archive(ArchiveName=pid),
    "AWS::Events::EventBus": lambda ctx, pid: ctx.moto("events").delete_event_bus(Name=pid),
    "AWS::StepFunctions::StateMachine": lambda ctx, pid: ctx.moto(
        "stepfunctions"
    ).delete_state_machine(stateMachineArn=pid),
    "AWS::Cognito::UserPool": lambda ctx, pid: ctx.moto("cognito-idp").delete_user_pool(
        UserPoolId=pid
    ),
    "AWS::Pipes::Pipe": lambda ctx, pid: ctx.moto("pipes").delete_pipe(Name=pid),
}
# Resource types that are records only: nothing exists to delete.
_CONFIG_ONLY = frozenset(
    {
        "AWS::Lambda::Function",
        "AWS::Lambda::EventSourceMapping",
        *(kind for kind in HANDLERS if kind.startswith("AWS::AppSync::")),
    }
)
# Not found: moto restarted since, or someone deleted it already. Either way it is gone.
_GONE = frozenset(
    {
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
        "NotFound",
        "NotFoundException",
        "ResourceNotFoundException",
        "StateMachineDoesNotExist",
    }
)


def _remove_stale(ctx: DeployContext, previous: Deployment) -> None:
    current = ctx.deployment.resource_types
    stale = [lid for lid in reversed(previous.resource_types) if lid not in current]
    for logical_id in stale:
        kind = previous.resource_types[logical_id]
        physical_id = previous.physical_ids.get(logical_id, "")
        what = f"{logical_id} ({kind}) is no longer in the template"
        if kind == "AWS::DynamoDB::Table":
            ctx.deployment.notes.append(
                f"{what}: table {physical_id!r} kept in DynamoDB Local with its data"
            )
            continue
        delete = _DELETERS.get(kind)
        if delete is None:
            in_moto = kind in HANDLERS and kind not in _CONFIG_ONLY
            fate = "left in moto (a restart of moto removes it)" if in_moto else "nothing to delete"
            ctx.deployment.notes.append(f"{what}: {fate}")
            continue
        try:
            delete(ctx, physical_id)
        except ClientError as error:
            if error.response["Error"]["Code"] not in _GONE:
                ctx.deployment.notes.append(f"{what}: could not delete it from moto: {error}")
                continue
        ctx.deployment.notes.append(f"{what}: deleted {physical_id!r} from moto")


def _fingerprint(template: Mapping[str, Any]) -> str:
    canonical = json.dumps(template, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()

"""Resources that do not run locally: why, and the placeholder ids and ARNs that let the
resources referring to them be deployed (a function's role ARN, a policy's log group)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from localcloud.deploy.context import Created, DeployContext
from localcloud.deploy.names import generated_name, stable_token, stable_uuid
from localcloud.intrinsics import IntrinsicError, Resolver

__all__ = ["not_emulated", "reason_for"]

_REASONS: dict[str, str] = {
    "AWS::IAM::": "IAM is not enforced locally: every local call is allowed",
    "AWS::Logs::": "no CloudWatch Logs locally: each process's output is its log",
    "AWS::CloudWatch::": "no CloudWatch metrics locally, so alarms and dashboards have "
    "nothing to watch",
    "AWS::KMS::": "encryption at rest is not emulated: nothing is encrypted locally",
    "AWS::Lambda::Permission": "resource policies are not enforced locally: any local "
    "caller may invoke the function",
    "AWS::Lambda::LayerVersion": "layers are not installed: the local workers import "
    "packages from this machine's environment",
    "AWS::Lambda::Version": "the local workers run the function's current code only",
    "AWS::Lambda::Alias": "the local workers run the function's current code only",
    "AWS::Lambda::Url": "function URLs are not served locally",
    "AWS::Lambda::EventInvokeConfig": "asynchronous invocation settings are not applied locally",
    "AWS::SQS::QueuePolicy": "moto does not evaluate SQS queue policies: access is not "
    "checked locally",
    "AWS::SNS::TopicPolicy": "moto does not evaluate SNS topic policies: access is not "
    "checked locally",
    "AWS::SNS::TopicInlinePolicy": "moto does not evaluate SNS topic policies: access is "
    "not checked locally",
    "AWS::Events::EventBusPolicy": "moto does not evaluate event bus policies",
    "AWS::EventSchemas::": "moto 5.2.5 has no EventBridge Schemas API; the JSON Schemas "
    "stay in events_schema/",
    "AWS::CDK::Metadata": "CDK usage metadata: nothing to run",
    "AWS::XRay::": "no X-Ray locally",
    "AWS::AppSync::DomainName": "the local GraphQL endpoint has no custom domains",
    "AWS::AppSync::ApiCache": "the local GraphQL endpoint does not cache",
    "AWS::StepFunctions::Activity": "no Step Functions activity workers locally",
    "AWS::StepFunctions::StateMachineVersion": "the local state machine is its latest "
    "definition only",
    "AWS::StepFunctions::StateMachineAlias": "the local state machine is its latest "
    "definition only",
    "AWS::SSM::": "no SSM Parameter Store locally",
    "AWS::CloudFormation::": "no nested stacks, wait conditions or custom resources locally",
    "Custom::": "custom resources (their Lambda-backed providers) are not run locally",
}
_DEFAULT_REASON = "the local cloud does not run this resource type"


def reason_for(resource_type: str) -> str:
    """Why `resource_type` does not run locally (the longest matching prefix's reason)."""
    matches = [prefix for prefix in _REASONS if resource_type.startswith(prefix)]
    return _REASONS[max(matches, key=len)] if matches else _DEFAULT_REASON


def not_emulated(
    ctx: DeployContext,
    resolver: Resolver,
    logical_id: str,
    resource_type: str,
    raw_properties: Mapping[str, Any],
) -> Created:
    """Placeholder `Ref` and attributes for a resource that is not created."""
    names = _Names(ctx, resolver, logical_id, raw_properties)
    placeholder = _PLACEHOLDERS.get(resource_type, _generic)
    return placeholder(ctx, names)


class _Names:
    """A resource's name from its name property when it resolves, else a generated one."""

    def __init__(
        self,
        ctx: DeployContext,
        resolver: Resolver,
        logical_id: str,
        properties: Mapping[str, Any],
    ) -> None:
        self.ctx = ctx
        self.resolver = resolver
        self.logical_id = logical_id
        self.properties = properties

    def name(self, key: str, max_length: int = 64) -> str:
        return self.text(key) or generated_name(self.ctx.stack_name, self.logical_id, max_length)

    def text(self, key: str) -> str | None:
        """The property `key` resolved, if it resolves to a non-empty string."""
        if key not in self.properties:
            return None
        try:
            value = self.resolver.resolve(
                self.properties[key], f"Resources.{self.logical_id}.Properties.{key}"
            )
        except IntrinsicError:
            return None
        return value if isinstance(value, str) and value else None

    def token(self, length: int = 17) -> str:
        return stable_token(self.ctx.stack_name, self.logical_id, length=length)

    def uuid(self) -> str:
        return stable_uuid(self.ctx.stack_name, self.logical_id)


def _generic(ctx: DeployContext, names: _Names) -> Created:
    return Created(generated_name(ctx.stack_name, names.logical_id, 128))


def _role(ctx: DeployContext, names: _Names) -> Created:
    name = names.name("RoleName")
    path = names.text("Path") or "/"
    arn = ctx.arn("iam", f"role{path}{name}", region=False)
    return Created(name, {"Arn": arn, "RoleId": f"AROA{names.token()}"})


def _policy(ctx: DeployContext, names: _Names) -> Created:
    policy_id = f"{ctx.stack_name[:5]}-{names.token(12)}"
    return Created(policy_id, {"Id": policy_id})


def _managed_policy(ctx: DeployContext, names: _Names) -> Created:
    arn = ctx.arn("iam", f"policy/{names.name('ManagedPolicyName', 128)}", region=False)
    return Created(arn, {"PolicyArn": arn})


def _log_group(ctx: DeployContext, names: _Names) -> Created:
    name = names.name("LogGroupName", 512)
    return Created(name, {"Arn": ctx.arn("logs", f"log-group:{name}:*")})


def _key(ctx: DeployContext, names: _Names) -> Created:
    key_id = names.uuid()
    return Created(key_id, {"Arn": ctx.arn("kms", f"key/{key_id}"), "KeyId": key_id})


def _alias(ctx: DeployContext, names: _Names) -> Created:
    return Created(names.name("AliasName", 256))


def _alarm(ctx: DeployContext, names: _Names) -> Created:
    name = names.name("AlarmName", 255)
    return Created(name, {"Arn": ctx.arn("cloudwatch", f"alarm:{name}")})


def _registry(ctx: DeployContext, names: _Names) -> Created:
    name = names.name("RegistryName")
    arn = ctx.arn("schemas", f"registry/{name}")
    return Created(arn, {"RegistryArn": arn, "RegistryName": name})


def _schema(ctx: DeployContext, names: _Names) -> Created:
    name = names.name("SchemaName", 385)
    registry = names.name("RegistryName")
    arn = ctx.arn("schemas", f"schema/{registry}/{name}")
    return Created(arn, {"SchemaArn": arn, "SchemaName": name, "SchemaVersion": "1"})


def _permission(ctx: DeployContext, names: _Names) -> Created:
    return Created(names.token(), {"Id": names.token()})


def _layer(ctx: DeployContext, names: _Names) -> Created:
    arn = ctx.arn("lambda", f"layer:{names.name('LayerName')}:1")
    return Created(arn, {"LayerVersionArn": arn})


def _dashboard(ctx: DeployContext, names: _Names) -> Created:
    return Created(names.name("DashboardName", 255))


def _id_only(ctx: DeployContext, names: _Names) -> Created:
    return Created(names.token(), {"Id": names.token()})


_PLACEHOLDERS: dict[str, Callable[[DeployContext, _Names], Created]] = {
    "AWS::IAM::Role": _role,
    "AWS::IAM::Policy": _policy,
    "AWS::IAM::ManagedPolicy": _managed_policy,
    "AWS::Logs::LogGroup": _log_group,
    "AWS::KMS::Key": _key,
    "AWS::KMS::Alias": _alias,
    "AWS::CloudWatch::Alarm": _alarm,
    "AWS::CloudWatch::CompositeAlarm": _alarm,
    "AWS::CloudWatch::Dashboard": _dashboard,
    "AWS::EventSchemas::Registry": _registry,
    "AWS::EventSchemas::Schema": _schema,
    "AWS::Lambda::Permission": _permission,
    "AWS::Lambda::LayerVersion": _layer,
    "AWS::SQS::QueuePolicy": _id_only,
    "AWS::SNS::TopicPolicy": _id_only,
}

"""One Python Lambda function of `services/`, built the same way for every service."""

from collections.abc import Mapping
from pathlib import Path

from aws_cdk import CfnResource, Duration, IgnoreMode, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from stacks.constants import (
    LAMBDA_CODE_DIR,
    METRICS_NAMESPACE,
    POWERTOOLS_LAYER_PARAMETER,
    REPO_ROOT,
)
from stacks.nag import acknowledge

RUNTIME = lambda_.Runtime.PYTHON_3_13
LOG_RETENTION = logs.RetentionDays.ONE_MONTH

# Gitignore rules over the repo root: ignore everything, then re-admit `services/` and
# `events_schema/` (the event models the consumers parse JobClosed with) only.
# The handler path `services.api.handler.handler` needs the package at the zip's root,
# which is why the asset root is the repo and not services/ itself.
CODE_EXCLUDES = (
    "*",
    f"!/{LAMBDA_CODE_DIR}/",
    f"!/{LAMBDA_CODE_DIR}/**",
    "!/events_schema/",
    "!/events_schema/**",
    # ...and keep build droppings and tests out of it.
    "__pycache__/",
    "*.py[cod]",
    "tests/",
    "test_*.py",
    "*_test.py",
    "conftest.py",
    "*.md",
)


def services_code(root: Path = REPO_ROOT) -> lambda_.AssetCode:
    """The code asset shared by all functions (same content, so CDK stages it once)."""
    return lambda_.Code.from_asset(
        str(root), exclude=list(CODE_EXCLUDES), ignore_mode=IgnoreMode.GIT
    )


class ServiceFunction(Construct):
    """A function with its own role (no AWS-managed policies), log group with retention,
    X-Ray tracing and the AWS-managed Powertools layer."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: str,
        service_name: str,
        timeout: Duration,
        memory_size: int,
        environment: Mapping[str, str],
        description: str,
    ) -> None:
        super().__init__(scope, construct_id)

        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            retention=LOG_RETENTION,
            # Operational logs go with the stack; the retention already bounds them.
            removal_policy=RemovalPolicy.DESTROY,
        )
        # An own role instead of CDK's default, which carries the AWS-managed
        # AWSLambdaBasicExecutionRole (logs:* on every log group of the account).
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Runs the {service_name} function",
        )
        self.log_group.grant_write(self.role)

        powertools = lambda_.LayerVersion.from_layer_version_arn(
            self,
            "PowertoolsLayer",
            # Resolved by CloudFormation at deploy time through a stack parameter of type
            # AWS::SSM::Parameter::Value<String>: no lookup, no network at synth.
            ssm.StringParameter.value_for_string_parameter(self, POWERTOOLS_LAYER_PARAMETER),
        )

        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=handler,
            code=services_code(),
            layers=[powertools],
            timeout=timeout,
            memory_size=memory_size,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            role=self.role,
            description=description,
            environment={
                "POWERTOOLS_SERVICE_NAME": service_name,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": "INFO",
                # Traces keep timings, not payloads: responses and errors carry personal
                # data (profiles, addresses), and X-Ray is no place for it.
                "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
                "POWERTOOLS_TRACER_CAPTURE_ERROR": "false",
                **environment,
            },
        )

        depend_on_role_policy_only(self.function, self.role)

        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray tracing (Tracing.ACTIVE) needs xray:PutTraceSegments and "
            "xray:PutTelemetryRecords, which support no resource-level permissions, so "
            "their statement must name Resource '*'. No other statement of this role does.",
        )
        acknowledge(
            self.function,
            "AwsSolutions-L1",
            "Pinned to python3.13 on purpose: the AWS-managed Powertools layer is built per "
            "runtime and is resolved from the python3.13 SSM parameter, and the services "
            "are tested on it. Runtime and layer path move to python3.14 together.",
        )


def depend_on_role_policy_only(resource: Construct, role: iam.IRole) -> None:
    """Make ``resource`` depend on its role's policy, not on the role itself.

    CDK makes a function or state machine DependsOn its role although ``Fn::GetAtt`` on the
    role already orders the two, which cfn-lint flags (W3005, aws/aws-cdk#24578); the
    role's policy is what nothing else orders first (Step Functions, for one, validates its
    logging configuration with it). This replaces DependsOn as a whole: an ordering the
    resource needs later must be added here.
    """
    policy = role.node.try_find_child("DefaultPolicy")
    policy_resource = policy.node.default_child if policy else None
    cfn_resource = resource.node.default_child
    if not isinstance(policy_resource, CfnResource) or not isinstance(cfn_resource, CfnResource):
        raise TypeError(
            f"{resource.node.path}: expected a role policy and a CloudFormation resource"
        )
    cfn_resource.add_override("DependsOn", [Stack.of(resource).get_logical_id(policy_resource)])

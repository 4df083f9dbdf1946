"""What a deployment made: physical ids, attributes, outputs, and config records.

The deployer writes a `Deployment` to ``.localcloud/deployment.json``; `status` and the
next start read it back with `Deployment.load`. The config records are the contract with
the parts the orchestrator runs itself (Lambda workers, SQS event source mappings, the
pipe runner, the GraphQL endpoint, the edge router): plain data, every intrinsic resolved.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import TypeAdapter

__all__ = [
    "ApiKeyRecord",
    "AppSyncFunctionRecord",
    "ArchiveRecord",
    "AuthModeRecord",
    "DataSourceRecord",
    "Deployment",
    "EventBusRecord",
    "EventSourceMappingRecord",
    "FunctionRecord",
    "GraphQLApiRecord",
    "NotEmulated",
    "PipeRecord",
    "QueueRecord",
    "ResolverRecord",
    "RuleRecord",
    "Skipped",
    "StateMachineRecord",
    "SubscriptionRecord",
    "TableRecord",
    "TargetRecord",
    "TopicRecord",
    "UserPoolClientRecord",
    "UserPoolGroupRecord",
    "UserPoolRecord",
]

_T = TypeVar("_T")

#: Who can deliver to a rule target or subscription: moto itself, or only the local
#: cloud's own parts (moto 5.2.5's PutEvents raises on Lambda and SNS targets and ignores
#: Input/InputPath; its SNS would run a Lambda subscriber in Docker).
Delivery = Literal["moto", "local"]


@dataclass
class NotEmulated:
    """A resource that does not run locally, and why. Its Ref/GetAtt still resolve (to
    placeholder ids and ARNs) so resources that refer to it can be deployed."""

    logical_id: str
    type: str
    reason: str


@dataclass
class Skipped:
    """A resource whose `Condition` is false: CloudFormation does not create it either."""

    logical_id: str
    type: str
    condition: str


@dataclass
class TableRecord:
    logical_id: str
    name: str
    arn: str
    #: As DynamoDB Local reports it (LatestStreamArn); None without a stream.
    stream_arn: str | None
    stream_view_type: str | None


@dataclass
class QueueRecord:
    logical_id: str
    name: str
    url: str
    arn: str
    fifo: bool
    visibility_timeout: int
    message_retention_period: int
    dead_letter_target_arn: str | None = None
    max_receive_count: int | None = None


@dataclass
class SubscriptionRecord:
    protocol: str
    endpoint: str
    #: The subscription's ARN in moto; None when the local cloud delivers it.
    arn: str | None
    delivered_by: Delivery
    attributes: dict[str, str] = field(default_factory=dict)
    logical_id: str | None = None


@dataclass
class TopicRecord:
    logical_id: str
    name: str
    arn: str
    fifo: bool
    subscriptions: list[SubscriptionRecord] = field(default_factory=list)


@dataclass
class FunctionRecord:
    """A Lambda function for the local workers: the orchestrator runs it, moto does not."""

    logical_id: str
    name: str
    arn: str
    handler: str
    runtime: str
    timeout: int
    memory_size: int
    #: Every variable with its intrinsics resolved (table names, ARNs, queue URLs).
    environment: dict[str, str]
    #: The directory the handler's module path is relative to (the repo root here).
    code_path: str
    #: The asset directory in the cloud assembly (cdk.out), for reference.
    asset_path: str | None = None
    #: `Code.ZipFile` source, for a function defined inline in the template.
    inline_code: str | None = None
    role_arn: str | None = None
    architectures: list[str] = field(default_factory=list)
    layers: list[str] = field(default_factory=list)
    reserved_concurrency: int | None = None
    dead_letter_target_arn: str | None = None
    log_group: str | None = None
    description: str | None = None


@dataclass
class EventSourceMappingRecord:
    logical_id: str
    uuid: str
    arn: str
    function_name: str
    event_source_arn: str
    #: "sqs", "dynamodb", "kinesis", "kafka", "mq" or "other".
    source_kind: str
    #: The queue's URL, for an SQS source.
    queue_url: str | None
    batch_size: int
    maximum_batching_window_seconds: int
    function_response_types: list[str]
    scaling_config: dict[str, int]
    enabled: bool
    filter_patterns: list[str] = field(default_factory=list)
    starting_position: str | None = None
    maximum_retry_attempts: int | None = None
    maximum_record_age_seconds: int | None = None
    bisect_batch_on_function_error: bool | None = None
    on_failure_destination: str | None = None
    #: The mapping's Properties, every intrinsic resolved.
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass
class PipeRecord:
    logical_id: str
    name: str
    arn: str
    desired_state: str
    role_arn: str | None
    #: For a DynamoDB stream: the stream ARN as DynamoDB Local reports it.
    source_arn: str
    #: "dynamodb", "sqs", "kinesis" or "other".
    source_kind: str
    starting_position: str | None
    batch_size: int | None
    maximum_batching_window_seconds: int | None
    maximum_retry_attempts: int | None
    maximum_record_age_seconds: int | None
    on_partial_batch_item_failure: str | None
    #: Each filter's Pattern as written in the template (an EventBridge pattern, JSON).
    filter_patterns: list[str]
    dead_letter_arn: str | None
    dead_letter_queue_url: str | None
    target_arn: str
    #: "event-bus", "sqs", "lambda", "states", "sns" or "other".
    target_kind: str
    target_bus_name: str | None
    input_template: str | None
    #: EventBridgeEventBusParameters: Source, DetailType (and Resources, Time).
    event_bus_parameters: dict[str, Any]
    enrichment: str | None = None
    #: The pipe's Properties, every intrinsic resolved: what the pipe runner's
    #: `PipeConfig.from_properties` takes, and anything the fields above leave out.
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass
class StateMachineRecord:
    logical_id: str
    name: str
    arn: str
    type: str
    #: The definition as created: DefinitionSubstitutions applied.
    definition: str
    role_arn: str


@dataclass
class UserPoolClientRecord:
    logical_id: str
    id: str
    name: str
    explicit_auth_flows: list[str]
    secret: str | None = None


@dataclass
class UserPoolGroupRecord:
    logical_id: str
    name: str
    description: str | None = None
    precedence: int | None = None


@dataclass
class UserPoolRecord:
    logical_id: str
    id: str
    arn: str
    name: str
    #: The `iss` of the pool's tokens (moto issues AWS's own issuer URL).
    issuer: str
    #: Where moto serves the pool's signing keys.
    jwks_url: str
    clients: list[UserPoolClientRecord] = field(default_factory=list)
    groups: list[UserPoolGroupRecord] = field(default_factory=list)

    @property
    def client_ids(self) -> list[str]:
        return [client.id for client in self.clients]

    @property
    def group_names(self) -> list[str]:
        return [group.name for group in self.groups]


@dataclass
class TargetRecord:
    """A rule target. Every target is registered in moto (PutTargets); `delivered_by`
    says whether moto's own PutEvents could deliver to it, or only the edge router."""

    id: str
    arn: str
    #: "sqs", "lambda", "sns", "event-bus", "states", "logs" or "other".
    kind: str
    delivered_by: Delivery
    #: Why the local cloud, not moto, must deliver to this target (when it must).
    reason: str | None = None
    queue_url: str | None = None
    function_name: str | None = None
    dead_letter_arn: str | None = None
    retry_policy: dict[str, int] = field(default_factory=dict)
    input: str | None = None
    input_path: str | None = None
    input_transformer: dict[str, Any] | None = None
    sqs_message_group_id: str | None = None
    role_arn: str | None = None


@dataclass
class RuleRecord:
    logical_id: str
    name: str
    arn: str
    event_bus_name: str
    #: The pattern as an object (templates may write it as a JSON string).
    event_pattern: dict[str, Any] | None
    schedule_expression: str | None
    state: str
    targets: list[TargetRecord] = field(default_factory=list)


@dataclass
class ArchiveRecord:
    logical_id: str
    name: str
    arn: str
    event_pattern: dict[str, Any] | None
    retention_days: int | None


@dataclass
class EventBusRecord:
    name: str
    arn: str
    #: None for the default bus, which no template resource creates.
    logical_id: str | None
    archives: list[ArchiveRecord] = field(default_factory=list)
    rules: list[RuleRecord] = field(default_factory=list)


@dataclass
class AuthModeRecord:
    """One authorization mode of a GraphQL API (the first one of a list is the default)."""

    #: AMAZON_COGNITO_USER_POOLS, API_KEY, AWS_IAM, OPENID_CONNECT or AWS_LAMBDA.
    type: str
    user_pool_id: str | None = None
    user_pool_region: str | None = None
    #: The `iss` a token of the pool carries.
    issuer: str | None = None
    #: The app clients of that pool deployed by the same template.
    client_ids: list[str] = field(default_factory=list)
    app_id_client_regex: str | None = None
    default_action: str | None = None
    jwks_url: str | None = None
    openid_connect: dict[str, Any] | None = None
    lambda_authorizer: dict[str, Any] | None = None


@dataclass
class ApiKeyRecord:
    logical_id: str
    id: str
    #: The key's value (what clients send in `x-api-key`); kept across redeployments.
    value: str
    #: Expiry, seconds since the epoch (None: AppSync's default of 7 days).
    expires: int | None
    description: str | None = None


@dataclass
class DataSourceRecord:
    logical_id: str
    name: str
    type: str
    function_name: str | None = None
    function_arn: str | None = None
    table_name: str | None = None
    endpoint: str | None = None
    config: dict[str, Any] = field(default_factory=dict)


@dataclass
class ResolverRecord:
    logical_id: str
    type_name: str
    field_name: str
    kind: str
    data_source: str | None
    #: For a UNIT resolver over a Lambda data source: the function it invokes.
    function_name: str | None
    runtime: dict[str, str] | None = None
    code: str | None = None
    request_mapping_template: str | None = None
    response_mapping_template: str | None = None
    #: PIPELINE: the AppSync function ids, in order.
    pipeline_functions: list[str] = field(default_factory=list)
    max_batch_size: int | None = None


@dataclass
class AppSyncFunctionRecord:
    logical_id: str
    id: str
    name: str
    data_source: str
    function_name: str | None = None
    runtime: dict[str, str] | None = None
    code: str | None = None
    request_mapping_template: str | None = None
    response_mapping_template: str | None = None


@dataclass
class GraphQLApiRecord:
    logical_id: str
    api_id: str
    name: str
    arn: str
    url: str
    #: The default mode first, then the AdditionalAuthenticationProviders.
    auth_modes: list[AuthModeRecord]
    schema: str | None = None
    api_keys: list[ApiKeyRecord] = field(default_factory=list)
    data_sources: list[DataSourceRecord] = field(default_factory=list)
    resolvers: list[ResolverRecord] = field(default_factory=list)
    functions: list[AppSyncFunctionRecord] = field(default_factory=list)

    def resolver_functions(self) -> dict[tuple[str, str], str]:
        """{(type, field): Lambda function name} of the UNIT resolvers over Lambda."""
        return {
            (resolver.type_name, resolver.field_name): resolver.function_name
            for resolver in self.resolvers
            if resolver.function_name is not None
        }


@dataclass
class Deployment:
    """Everything one `deploy` made, JSON-serialisable (`to_json`, `save`, `load`)."""

    stack_name: str
    region: str
    account_id: str
    moto_endpoint: str
    dynamodb_endpoint: str
    #: sha256 of the template as deployed (canonical JSON), to tell a changed template.
    template_sha256: str
    #: ISO 8601, UTC.
    deployed_at: str
    #: Logical id -> resource type, for every resource deployed or listed as not emulated,
    #: in deployment order.
    resource_types: dict[str, str] = field(default_factory=dict)
    #: What `Ref` answers for each resource.
    physical_ids: dict[str, str] = field(default_factory=dict)
    #: What `Fn::GetAtt` answers for each resource.
    attributes: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: `{stack_name: {OutputKey: value}}`, as `cdk deploy --outputs-file` writes it.
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    not_emulated: list[NotEmulated] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    #: Deployment-wide notes: parameter placeholders, template sections not applied,
    #: resources removed since the previous deployment, ids that changed.
    notes: list[str] = field(default_factory=list)
    #: Per resource: properties not applied or applied differently from AWS.
    resource_notes: dict[str, list[str]] = field(default_factory=dict)
    tables: list[TableRecord] = field(default_factory=list)
    queues: list[QueueRecord] = field(default_factory=list)
    topics: list[TopicRecord] = field(default_factory=list)
    functions: list[FunctionRecord] = field(default_factory=list)
    event_source_mappings: list[EventSourceMappingRecord] = field(default_factory=list)
    pipes: list[PipeRecord] = field(default_factory=list)
    graphql_apis: list[GraphQLApiRecord] = field(default_factory=list)
    state_machines: list[StateMachineRecord] = field(default_factory=list)
    user_pools: list[UserPoolRecord] = field(default_factory=list)
    event_buses: list[EventBusRecord] = field(default_factory=list)

    # -- convenience ---------------------------------------------------------------------

    @property
    def stack_outputs(self) -> dict[str, str]:
        """This stack's outputs, `{OutputKey: value}`."""
        return self.outputs.get(self.stack_name, {})

    @property
    def graphql(self) -> GraphQLApiRecord:
        """The one GraphQL API (raises LookupError if there is not exactly one)."""
        return _single(self.graphql_apis, "GraphQL API")

    @property
    def user_pool(self) -> UserPoolRecord:
        """The one user pool (raises LookupError if there is not exactly one)."""
        return _single(self.user_pools, "user pool")

    def function(self, name_or_logical_id: str) -> FunctionRecord:
        """A function by name or logical id (raises LookupError)."""
        for function in self.functions:
            if name_or_logical_id in (function.name, function.logical_id):
                return function
        raise LookupError(f"no function {name_or_logical_id!r} in the deployment")

    def event_bus(self, name: str) -> EventBusRecord:
        """An event bus by name (raises LookupError)."""
        for bus in self.event_buses:
            if bus.name == name:
                return bus
        raise LookupError(f"no event bus {name!r} in the deployment")

    # -- JSON ----------------------------------------------------------------------------

    def to_json(self) -> str:
        return _ADAPTER.dump_json(self, indent=2).decode()

    @classmethod
    def from_json(cls, text: str | bytes) -> Deployment:
        return _ADAPTER.validate_json(text)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the JSON atomically (a reader never sees half a file). Returns the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        partial.write_text(self.to_json() + "\n", encoding="utf-8")
        partial.replace(target)
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Deployment:
        return cls.from_json(Path(path).read_bytes())


def _single(items: list[_T], what: str) -> _T:
    if len(items) != 1:
        raise LookupError(f"expected one {what} in the deployment, found {len(items)}")
    return items[0]


_ADAPTER: TypeAdapter[Deployment] = TypeAdapter(Deployment)

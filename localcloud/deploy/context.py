"""The state one deployment carries from resource to resource, and what handlers return."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from localcloud.deploy.model import Deployment, EventBusRecord, QueueRecord, UserPoolRecord
from localcloud.deploy.names import generated_name, parse_arn
from localcloud.dynamodb_local import local_client
from localcloud.intrinsics import IntrinsicError, PseudoParameters

__all__ = ["Created", "DeployContext", "DeployError", "Handler", "Resource"]

# moto accepts any credentials; these only have to be present for signing.
_MOTO_CREDENTIALS = {"aws_access_key_id": "localcloud", "aws_secret_access_key": "localcloud"}
# Local servers answer at once or not at all: no long waits, few retries. No proxies: an
# HTTP(S)_PROXY in the environment must not capture requests meant for 127.0.0.1.
_CLIENT_CONFIG = Config(
    proxies={},
    connect_timeout=5,
    read_timeout=60,
    retries={"max_attempts": 3, "mode": "standard"},
)


class DeployError(RuntimeError):
    """A resource cannot be deployed locally. The message names the resource."""


@dataclass
class Resource:
    """One template resource about to be deployed, its properties resolved."""

    logical_id: str
    type: str
    #: Properties with every intrinsic resolved.
    properties: dict[str, Any]
    #: The template's entry as written (Metadata, DependsOn, unresolved Properties).
    definition: Mapping[str, Any]

    @property
    def where(self) -> str:
        return f"Resources.{self.logical_id}.Properties"

    def error(self, message: str) -> DeployError:
        return DeployError(f"{self.logical_id} ({self.type}): {message}")


@dataclass
class Created:
    """What a handler made: `Ref`'s value, `Fn::GetAtt`'s values, and notes on properties
    not applied as in AWS."""

    physical_id: str
    attributes: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


Handler = Callable[["DeployContext", Resource], Created]


class DeployContext:
    """Backends, naming and the records made so far, shared by the resource handlers."""

    def __init__(
        self,
        *,
        deployment: Deployment,
        pseudo: PseudoParameters,
        moto_endpoint: str,
        dynamodb_endpoint: str,
        previous: Deployment | None,
        code_root: Path,
        graphql_url: str,
    ) -> None:
        self.deployment = deployment
        self.pseudo = pseudo
        self.moto_endpoint = moto_endpoint.rstrip("/")
        self.dynamodb_endpoint = dynamodb_endpoint.rstrip("/")
        self.previous = previous
        self.code_root = code_root
        self.graphql_url = graphql_url
        self._clients: dict[str, Any] = {}
        self._session = boto3.session.Session(region_name=pseudo.region, **_MOTO_CREDENTIALS)

    # -- backends ------------------------------------------------------------------------

    def moto(self, service: str) -> Any:
        """A boto3 client of `service` in moto."""
        if service not in self._clients:
            self._clients[service] = self._session.client(
                service, endpoint_url=self.moto_endpoint, config=_CLIENT_CONFIG
            )
        return self._clients[service]

    @property
    def dynamodb(self) -> Any:
        """A boto3 DynamoDB client of DynamoDB Local."""
        if "dynamodb-local" not in self._clients:
            self._clients["dynamodb-local"] = local_client(self.dynamodb_endpoint)
        return self._clients["dynamodb-local"]

    # -- names ---------------------------------------------------------------------------

    @property
    def stack_name(self) -> str:
        return self.pseudo.stack_name

    def name(self, resource: Resource, max_length: int, *, suffix: str = "") -> str:
        """A generated physical name for `resource` (see `names.generated_name`)."""
        return generated_name(self.stack_name, resource.logical_id, max_length, suffix=suffix)

    def arn(self, service: str, resource: str, *, region: bool = True) -> str:
        """An ARN in the local account (and region, unless `region` is False: IAM)."""
        where = self.pseudo.region if region else ""
        return f"arn:{self.pseudo.partition}:{service}:{where}:{self.pseudo.account_id}:{resource}"

    # -- what is deployed ----------------------------------------------------------------

    def ref(self, logical_id: str) -> Any:
        """`Ref` of a deployed resource (the resolver's `ResourceValues`)."""
        try:
            return self.deployment.physical_ids[logical_id]
        except KeyError:
            raise IntrinsicError(f"resource {logical_id} is not deployed yet") from None

    def get_att(self, logical_id: str, attribute: str) -> Any:
        """`Fn::GetAtt` of a deployed resource (the resolver's `ResourceValues`)."""
        if logical_id not in self.deployment.physical_ids:
            raise IntrinsicError(f"resource {logical_id} is not deployed yet")
        attributes = self.deployment.attributes.get(logical_id, {})
        if attribute not in attributes:
            kind = self.deployment.resource_types.get(logical_id, "?")
            raise IntrinsicError(
                f"{logical_id} ({kind}) has no attribute {attribute!r} locally (it has "
                f"{sorted(attributes) or 'none'})"
            )
        return attributes[attribute]

    def queue_by_arn(self, arn: str | None) -> QueueRecord | None:
        return next((queue for queue in self.deployment.queues if queue.arn == arn), None)

    def function_name(self, name_or_arn: str) -> str:
        """A function's name from its name, ARN, or partial ARN (qualifier dropped)."""
        parts = parse_arn(name_or_arn)
        if parts is not None and parts.service == "lambda":
            return parts.resource.split(":")[1]
        if ":function:" in name_or_arn:  # partial ARN, account:function:name
            return name_or_arn.split(":function:", 1)[1].split(":")[0]
        return name_or_arn.split(":")[0]

    def event_bus(self, name_or_arn: str | None) -> EventBusRecord:
        """The bus record for a name or ARN (the default bus's is made on first use)."""
        name = name_or_arn or "default"
        parts = parse_arn(name)
        if parts is not None:
            name = parts.resource_id
        for bus in self.deployment.event_buses:
            if bus.name == name:
                return bus
        bus = EventBusRecord(
            name=name, arn=self.arn("events", f"event-bus/{name}"), logical_id=None
        )
        self.deployment.event_buses.append(bus)
        return bus

    def user_pool(self, pool_id: str) -> UserPoolRecord | None:
        return next((pool for pool in self.deployment.user_pools if pool.id == pool_id), None)

    def previous_attribute(self, logical_id: str, attribute: str) -> Any:
        """An attribute of the same resource in the previous deployment, or None."""
        if self.previous is None:
            return None
        return self.previous.attributes.get(logical_id, {}).get(attribute)

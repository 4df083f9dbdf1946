"""Which stack the tools work on: its outputs file, its endpoint, and boto3 clients for it.

The outputs file is what ``cdk deploy --outputs-file cdk-outputs.json`` writes (``make
deploy``), or the local cloud's ``.localcloud/outputs.json`` (``make up``): the same keys
(``stacks.constants.Output``) in both. The default is the local cloud's file when it
exists, else ``cdk-outputs.json``.

The endpoint, first found of:

1. ``--endpoint-url``;
2. ``AWS_ENDPOINT_URL`` (what boto3 and the aws CLI read: ``http://127.0.0.1:4566`` for the
   local cloud);
3. for a local cloud's outputs (their queue URLs are on 127.0.0.1), the edge router the
   running local cloud recorded beside them (``localcloud.json``): local names sent to
   AWS would only fail, so the tool never does that;
4. none: AWS, with the credentials and region of the environment (the outputs' ``Region``).

Against an endpoint with no credentials configured, dummy ones are used, as the local
cloud accepts any.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

from stacks.constants import STACK_ID, Output

__all__ = [
    "DEFAULT_AWS_OUTPUTS",
    "DEFAULT_LOCAL_OUTPUTS",
    "Clients",
    "Consumer",
    "OperationsError",
    "StackOutputs",
    "consumers_of",
    "default_outputs_file",
    "resolve_endpoint",
]

DEFAULT_LOCAL_OUTPUTS: Final = Path(".localcloud") / "outputs.json"
DEFAULT_AWS_OUTPUTS: Final = Path("cdk-outputs.json")
# Written by the running local cloud beside its outputs (localcloud.runtime.STATUS_FILE);
# read as plain JSON so these tools need nothing of the local cloud to work against AWS.
LOCAL_STATUS_FILE: Final = "localcloud.json"
LOCAL_DUMMY_CREDENTIAL: Final = "local"

_CONSUMER_DLQ_KEY: Final = re.compile(r"^(?P<name>[A-Za-z0-9]+)DeadLetterQueueUrl$")
_PIPE: Final = Output.PIPE_DEAD_LETTER_QUEUE_URL.removesuffix("DeadLetterQueueUrl")
_LOOPBACK: Final = frozenset({"127.0.0.1", "localhost", "::1"})


class OperationsError(Exception):
    """A problem the operator can fix; the command line prints it without a traceback."""


@dataclass(frozen=True)
class Consumer:
    """One consumer of the bus, as the outputs name it: rule -> queue (+DLQ) -> function."""

    name: str
    queue_url: str
    dead_letter_queue_url: str


def consumers_of(outputs: Mapping[str, str]) -> list[Consumer]:
    """Every consumer the outputs publish (``<Name>QueueUrl`` with ``<Name>DeadLetterQueueUrl``).

    Found from the keys rather than from ``stacks.constants.CONSUMERS``, so a consumer added
    to the stack is operable as soon as its outputs are deployed.
    """
    found = []
    for key, url in outputs.items():
        match = _CONSUMER_DLQ_KEY.match(key)
        if match is None or match["name"] == _PIPE:
            continue
        queue_url = outputs.get(Output.queue_url(match["name"]))
        if queue_url:
            found.append(Consumer(match["name"], queue_url, url))
    return sorted(found, key=lambda consumer: consumer.name)


@dataclass(frozen=True)
class StackOutputs:
    """The stack's outputs, and the file they came from (None when given in code)."""

    values: Mapping[str, str]
    path: Path | None = None

    @classmethod
    def load(cls, path: Path, stack_id: str = STACK_ID) -> StackOutputs:
        """Read an outputs file: ``{"NannyBooking": {...}}`` as cdk writes it, or a flat map."""
        if not path.exists():
            raise OperationsError(
                f"no outputs file {path}: deploy with `make deploy` (it writes "
                "cdk-outputs.json) or start the local cloud with `make up`, or pass --outputs"
            )
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as error:
            raise OperationsError(f"{path} is not JSON: {error}") from error
        if not isinstance(document, dict):
            raise OperationsError(f"{path} is not an outputs file (a JSON object)")
        if all(isinstance(value, str) for value in document.values()):
            return cls(dict(document), path)
        stacks = {name: value for name, value in document.items() if isinstance(value, dict)}
        if stack_id in stacks:
            return cls(dict(stacks[stack_id]), path)
        if len(stacks) == 1:
            (only,) = stacks.values()
            return cls(dict(only), path)
        raise OperationsError(
            f"{path} holds the outputs of {sorted(stacks)}, none of them {stack_id}"
        )

    def require(self, key: str) -> str:
        """One output, or an error naming the key and the file."""
        value = self.values.get(key)
        if not value:
            where = f" in {self.path}" if self.path else ""
            raise OperationsError(
                f"no output {key}{where}: is the outputs file from an older deployment?"
            )
        return value

    @property
    def region(self) -> str | None:
        return self.values.get(Output.REGION) or None

    @property
    def consumers(self) -> list[Consumer]:
        return consumers_of(self.values)

    def consumer(self, name: str) -> Consumer:
        """The consumer called ``name``; an unknown name gets the list of valid ones."""
        for consumer in self.consumers:
            if consumer.name == name:
                return consumer
        valid = ", ".join(consumer.name for consumer in self.consumers) or "none"
        raise OperationsError(f"no consumer {name!r} in the stack's outputs; valid: {valid}")

    @property
    def is_local(self) -> bool:
        """Whether these are the local cloud's outputs: its queue URLs are on loopback."""
        urls = [url for key, url in self.values.items() if key.endswith("QueueUrl")]
        return bool(urls) and all(urlsplit(url).hostname in _LOOPBACK for url in urls)


def default_outputs_file(directory: Path | None = None) -> Path:
    """``.localcloud/outputs.json`` when it exists, else ``cdk-outputs.json``."""
    base = directory or Path.cwd()
    local = base / DEFAULT_LOCAL_OUTPUTS
    return local if local.exists() else base / DEFAULT_AWS_OUTPUTS


@dataclass(frozen=True)
class Endpoint:
    """Where the AWS calls go (None: AWS itself) and why, for the operator to see."""

    url: str | None
    source: str


def resolve_endpoint(
    explicit: str | None, outputs: StackOutputs, environ: Mapping[str, str] | None = None
) -> Endpoint:
    """The endpoint, by the rules in the module docstring."""
    environ = os.environ if environ is None else environ
    if explicit:
        return Endpoint(explicit, "--endpoint-url")
    if environ.get("AWS_ENDPOINT_URL"):
        return Endpoint(environ["AWS_ENDPOINT_URL"], "AWS_ENDPOINT_URL")
    if not outputs.is_local:
        return Endpoint(None, "AWS")
    status = outputs.path.parent / LOCAL_STATUS_FILE if outputs.path else None
    edge_url = None
    if status is not None and status.exists():
        try:
            edge_url = json.loads(status.read_text(encoding="utf-8")).get("edge_url")
        except ValueError:
            edge_url = None
    if not edge_url:
        raise OperationsError(
            f"{outputs.path or 'the outputs'} are the local cloud's, and it is not running: "
            "start it with `make up`, or set AWS_ENDPOINT_URL / --endpoint-url, or pass "
            "--outputs cdk-outputs.json to work on AWS"
        )
    return Endpoint(str(edge_url), f"the running local cloud ({status})")


@dataclass
class Clients:
    """The boto3 clients the tools use; tests build it from stubbed clients."""

    events: Any
    sqs: Any
    #: None: AWS. Recorded because a few answers differ by cloud (archive delay).
    endpoint_url: str | None = None
    #: DynamoDB Streams, for re-reading what the pipe gave up on.
    streams: Any = None

    @classmethod
    def connect(cls, endpoint_url: str | None, region: str | None) -> Clients:
        """Clients for AWS (``endpoint_url`` None) or for an endpoint such as the local cloud."""
        session = boto3.session.Session(region_name=region)
        if session.region_name is None:
            raise OperationsError(
                "no region: the outputs have no Region; set AWS_REGION or AWS_DEFAULT_REGION"
            )
        options: dict[str, Any] = {
            # Standard retries back off on throttling (replays and DLQ moves are bursts).
            "config": Config(retries={"mode": "standard", "max_attempts": 5}),
        }
        if endpoint_url is not None:
            options["endpoint_url"] = endpoint_url
            if session.get_credentials() is None:
                options["aws_access_key_id"] = LOCAL_DUMMY_CREDENTIAL
                options["aws_secret_access_key"] = LOCAL_DUMMY_CREDENTIAL
        return cls(
            events=session.client("events", **options),
            sqs=session.client("sqs", **options),
            endpoint_url=endpoint_url,
            streams=session.client("dynamodbstreams", **options),
        )

"""The whole system on one machine: every part of the local cloud, started and stopped together.

``LocalCloud(template).start()`` runs, in order: DynamoDB Local (data on disk), moto in
server mode, the edge router on one AWS endpoint, the deployment of the synthesized
template, the Lambda workers, the SQS event source mappings, the Pipes and the GraphQL
endpoint; then it writes ``outputs.json`` (the shape of ``cdk deploy --outputs-file``) and
``localcloud.json`` (where each part listens, for ``status`` and for tools)::

    with LocalCloud(template, state_dir=Path(".localcloud")) as cloud:
        print(cloud.outputs["GraphQLUrl"])

What survives a restart: DynamoDB's data, the pipes' stream checkpoints and the bus
archives (all under ``state_dir``). What does not: everything moto holds — queues and
their in-flight messages, Cognito users, execution history — which the next start deploys
again from the template (see docs/local-cloud.md).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final, Self, TextIO

from moto.server import ThreadedMotoServer

from localcloud.deploy.model import Deployment
from localcloud.deployer import deploy, write_outputs
from localcloud.dynamodb_local import DynamoDBLocal
from localcloud.edge_router import EdgeRouter
from localcloud.graphql_endpoint import CognitoUserPool, start_graphql_endpoint
from localcloud.lambda_workers import FunctionConfig, LambdaPool
from localcloud.moto_sqs import speed_up_queues
from localcloud.moto_step_functions import speed_up_executions
from localcloud.pipe_runner import PipeConfig, PipeRunner
from localcloud.service import Service
from localcloud.sqs_event_source import SqsEventSource, SqsEventSourceMapping

PROJECT_ROOT: Final = Path(__file__).resolve().parent.parent
DEFAULT_STATE_DIR: Final = PROJECT_ROOT / ".localcloud"
DEFAULT_EDGE_PORT: Final = 4566
DEFAULT_GRAPHQL_PORT: Final = 4000
STATUS_FILE: Final = "localcloud.json"
OUTPUTS_FILE: Final = "outputs.json"
DEPLOYMENT_FILE: Final = "deployment.json"


@dataclass
class Part:
    """One running part, for the start-up report and ``status``."""

    name: str
    address: str
    seconds: float
    detail: str = ""


@dataclass
class Status:
    """What ``localcloud.json`` holds while the local cloud runs."""

    pid: int
    edge_url: str
    graphql_url: str
    region: str
    started_at: float
    parts: list[Part] = field(default_factory=list)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Status:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(**{**data, "parts": [Part(**part) for part in data["parts"]]})


def free_port() -> int:
    """A port nobody listens on now (the GraphQL URL must be known before the deploy)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class LocalCloud(Service):
    """Every part of the local cloud, deployed from one synthesized template.

    Ports 0 pick free ports (tests run several local clouds side by side). ``log_stream``
    receives the functions' logs, each line tagged with the function's name.
    """

    def __init__(
        self,
        template: Mapping[str, Any],
        *,
        state_dir: Path = DEFAULT_STATE_DIR,
        edge_port: int = DEFAULT_EDGE_PORT,
        graphql_port: int = DEFAULT_GRAPHQL_PORT,
        stack_name: str = "NannyBooking",
        code_root: Path = PROJECT_ROOT,
        log_stream: TextIO | None = None,
    ) -> None:
        self.template = template
        self.state_dir = Path(state_dir).resolve()
        self.stack_name = stack_name
        self.code_root = code_root
        self._edge_port = edge_port
        self._graphql_port = graphql_port
        self._log_stream = log_stream
        self.parts: list[Part] = []
        self.deployment: Deployment | None = None
        self._stops: list[Callable[[], object]] = []
        self._pool: LambdaPool | None = None
        self._edge: EdgeRouter | None = None

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> Self:
        """Start every part; on any failure, stop what already runs and re-raise."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        # moto's server logs every request it serves; the functions' own logs are the signal.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        started = time.monotonic()
        try:
            self._start_parts()
        except BaseException:
            self.stop()
            raise
        self.parts.append(Part("total start-up", "", time.monotonic() - started))
        self._status().save(self.state_dir / STATUS_FILE)
        return self

    def stop(self) -> None:
        """Stop every part, newest first. Safe to call twice."""
        while self._stops:
            stop = self._stops.pop()
            try:
                stop()
            except Exception as error:
                print(f"localcloud: while stopping: {error!r}", file=sys.stderr)
        (self.state_dir / STATUS_FILE).unlink(missing_ok=True)

    # -- what was started -----------------------------------------------------------------

    @property
    def outputs(self) -> dict[str, str]:
        if self.deployment is None:
            raise RuntimeError("the local cloud is not started")
        return self.deployment.stack_outputs

    @property
    def edge_url(self) -> str:
        if self._edge is None:
            raise RuntimeError("the local cloud is not started")
        return self._edge.endpoint_url

    @property
    def outputs_path(self) -> Path:
        return self.state_dir / OUTPUTS_FILE

    # -- the parts, in order --------------------------------------------------------------

    @contextmanager
    def _timed(self, name: str) -> Iterator[list[str]]:
        """Time one part's start-up; the body appends its address, then any details."""
        started = time.monotonic()
        notes: list[str] = []
        yield notes
        address, *details = notes or [""]
        self.parts.append(Part(name, address, time.monotonic() - started, " ".join(details)))

    def _start_parts(self) -> None:
        with self._timed("DynamoDB Local (data on disk)") as address:
            dynamodb = DynamoDBLocal(db_path=self.state_dir / "dynamodb").start()
            self._stops.append(dynamodb.stop)
            address.append(dynamodb.endpoint_url)

        with self._timed("moto (SQS, SNS, EventBridge, Step Functions, Cognito)") as address:
            # Pool and client ids derived from their names, so outputs.json and the tokens'
            # issuer stay the same across restarts.
            os.environ.setdefault("MOTO_COGNITO_IDP_USER_POOL_ID_STRATEGY", "HASH")
            os.environ.setdefault("MOTO_COGNITO_IDP_USER_POOL_CLIENT_ID_STRATEGY", "HASH")
            # moto parses the definition and builds a client per task at every execution,
            # and its queues slow down with their depth: see localcloud.moto_step_functions
            # and localcloud.moto_sqs.
            speed_up_executions()
            speed_up_queues()
            moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            moto.start()
            self._stops.append(moto.stop)
            host, port = moto.get_host_and_port()
            moto_url = f"http://{host}:{port}"
            address.append(moto_url)

        with self._timed("edge router (one AWS endpoint)") as address:
            edge = self._edge = EdgeRouter(
                dynamodb.endpoint_url,
                moto_url,
                port=self._edge_port,
                state_dir=self.state_dir / "edge",
                invoke_function=self._invoke,
            ).start()
            self._stops.append(edge.stop)
            address.append(edge.endpoint_url)
            # moto's Step Functions tasks call localhost:$MOTO_PORT; through the router
            # their DynamoDB calls reach DynamoDB Local, the same tables the API uses.
            os.environ["MOTO_PORT"] = str(edge.port)
            _post_json(
                f"{moto_url}/moto-api/config", {"stepfunctions": {"execute_state_machine": True}}
            )

        graphql_port = self._graphql_port or free_port()
        with self._timed("deployment of the synthesized template") as address:
            previous_path = self.state_dir / DEPLOYMENT_FILE
            self.deployment = deploy(
                self.template,
                moto_endpoint=moto_url,
                dynamodb_endpoint=dynamodb.endpoint_url,
                stack_name=self.stack_name,
                previous=Deployment.load(previous_path) if previous_path.exists() else None,
                code_root=self.code_root,
                graphql_url=f"http://127.0.0.1:{graphql_port}/graphql",
            )
            self.deployment.save(previous_path)
            write_outputs(self.deployment, self.outputs_path)
            address.append(str(self.outputs_path))
            address.append(f"{len(self.deployment.not_emulated)} resources not emulated")

        deployment = self.deployment
        with self._timed("Lambda workers") as address:
            concurrency = {
                mapping.function_name: mapping.scaling_config.get("MaximumConcurrency", 2)
                for mapping in deployment.event_source_mappings
            }
            pool = self._pool = LambdaPool(
                [
                    FunctionConfig(
                        function.name,
                        function.handler,
                        code_root=function.code_path,
                        environment=function.environment,
                        timeout=function.timeout,
                        memory_size=function.memory_size,
                        max_concurrency=concurrency.get(function.name, 2),
                    )
                    for function in deployment.functions
                ],
                endpoint_url=edge.endpoint_url,
                region=deployment.region,
                account_id=deployment.account_id,
                log_stream=self._log_stream,
            )
            self._stops.append(pool.close)
            address.append(", ".join(function.name for function in deployment.functions))

        with self._timed("SQS event source mappings") as address:
            for mapping in deployment.event_source_mappings:
                if mapping.source_kind != "sqs":
                    raise RuntimeError(f"{mapping.logical_id}: only SQS sources run locally")
                source = SqsEventSource(
                    SqsEventSourceMapping.from_cloudformation(
                        mapping.properties, function_name=mapping.function_name
                    ),
                    pool,
                    endpoint_url=edge.endpoint_url,
                    region=deployment.region,
                )
                source.start()
                self._stops.append(source.stop)
                address.append(f"{mapping.function_name}")

        with self._timed("Pipes") as address:
            for pipe in deployment.pipes:
                queue_urls = {queue.arn: queue.url for queue in deployment.queues}
                runner = PipeRunner(
                    PipeConfig.from_properties(
                        pipe.name, pipe.properties, queue_urls.__getitem__, arn=pipe.arn
                    ),
                    dynamodb_endpoint=dynamodb.endpoint_url,
                    events_endpoint=edge.endpoint_url,
                    sqs_endpoint=edge.endpoint_url,
                    state_dir=self.state_dir / "pipes",
                )
                runner.start()
                self._stops.append(runner.stop)
                address.append(pipe.name)

        with self._timed("GraphQL endpoint (AppSync)") as address:
            api = deployment.graphql
            user_pool = deployment.user_pool
            server = start_graphql_endpoint(
                schema_sdl=api.schema or "",
                resolvers=api.resolver_functions(),
                invoke=self._invoke,
                user_pool=CognitoUserPool.from_jwks_url(
                    user_pool.id, user_pool.jwks_url, user_pool.client_ids
                ),
                api_keys=[key.value for key in api.api_keys],
                port=graphql_port,
            )
            self._stops.append(server.stop)
            address.append(f"http://127.0.0.1:{server.port}/graphql")
            address.append(f"(GraphiQL at http://127.0.0.1:{server.port}/)")

    def _invoke(self, function_name: str, event: Any) -> Any:
        if self._pool is None:
            raise RuntimeError(f"{function_name} invoked before the Lambda workers started")
        return self._pool.invoke(function_name, event)

    def _status(self) -> Status:
        return Status(
            pid=os.getpid(),
            edge_url=self.edge_url,
            graphql_url=self.outputs.get("GraphQLUrl", ""),
            region=self.outputs.get("Region", ""),
            started_at=time.time(),
            parts=self.parts,
        )


def _post_json(url: str, document: Mapping[str, Any]) -> None:
    request = urllib.request.Request(  # noqa: S310 - moto's own URL on 127.0.0.1
        url,
        data=json.dumps(document).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - as above
        pass


def startup_report(parts: list[Part]) -> str:
    """The table ``up`` prints: each part, where it listens, how long it took to start."""
    width = max(len(part.name) for part in parts)
    lines = [
        f"  {part.name:<{width}}  {part.seconds:6.2f} s  {part.address} {part.detail}".rstrip()
        for part in parts
    ]
    return "\n".join(lines)

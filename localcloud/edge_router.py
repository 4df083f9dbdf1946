"""The local cloud's one AWS endpoint: http://127.0.0.1:4566 in front of DynamoDB Local and moto.

``AWS_ENDPOINT_URL=http://127.0.0.1:4566`` points boto3 and the aws CLI at it, for every
service. Each request goes where its service lives (see ``localcloud.edge.routing``):
DynamoDB and DynamoDB Streams to DynamoDB Local, everything else to moto, forwarded
unchanged on pooled keep-alive connections. The router answers itself where moto falls
short (measured on moto 5.2.5):

- ``AWSStepFunctions.StartSyncExecution``: moto has none (500);
- ``AWSEvents.PutEvents``: moto fails on SNS and Lambda targets, mistransforms target
  input, and its archives replay wrongly; the router delivers and archives
  (``localcloud.edge.event_bus``);
- ``AWSEvents.StartReplay``, ``DescribeReplay``, ``ListReplays``, ``CancelReplay``: moto
  ignores the time window and ``FilterArns`` (``localcloud.edge.replay``);
- ``AWSEvents.DescribeArchive``, ``ListArchives``, ``DeleteArchive``: moto's part, with the
  router's event counts, and the archived events deleted;
- ``AWSEvents.TestEventPattern``: moto has none;
- ``GET /_localcloud/health``: the router's own liveness answer;
- ``GET /_localcloud/requests``: every request served so far, by service and operation,
  and DynamoDB's consumed capacity once switched on with ``POST /_localcloud/requests``
  ``{"consumedCapacity": true}`` (``{"reset": true}`` starts the counts again); see
  ``localcloud.edge.accounting``. What the router does inside (moto calls for
  StartSyncExecution, reading rules for PutEvents) is not counted: AWS bills the one
  request. Deliveries to rule targets are, apart, as ``deliveries``.

Every PutEvents must therefore come through the router (the pipe runner's included): an
event put on moto directly is neither archived nor delivered to SNS or Lambda targets.

Usage::

    with EdgeRouter(ddb.endpoint_url, "http://127.0.0.1:5000", state_dir=Path(".localcloud")):
        boto3.client("sqs", endpoint_url="http://127.0.0.1:4566").list_queues()

What the local cloud must also do (moto's own switches, outside the router):

- POST ``{"stepfunctions": {"execute_state_machine": true}}`` to moto's
  ``/moto-api/config``, or executions never leave RUNNING;
- set ``MOTO_PORT`` to the router's port in moto's process: Step Functions tasks call
  ``http://localhost:$MOTO_PORT``, so their DynamoDB calls reach DynamoDB Local through
  the router (and ``NO_PROXY=localhost,127.0.0.1`` if an HTTP proxy is configured);
- give Lambda rule targets a runner: ``invoke_function=pool.invoke`` (a
  ``localcloud.lambda_workers.LambdaPool``), called on the router's own threads.

Clients keep botocore's ``sync-`` host prefix for StartSyncExecution unless told not to
(``Config(inject_host_prefix=False)`` or ``AWS_DISABLE_HOST_PREFIX_INJECTION=true``): no
resolver knows ``sync-127.0.0.1``. The router accepts both forms, the prefixed one when
it is the client's HTTP proxy (the host then comes in the request line).
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Final, Self

import urllib3

from localcloud.edge.accounting import (
    CAPACITY_OPERATIONS,
    RequestAccounting,
    ask_for_capacity,
    crc32_header,
    is_poll,
    polled_nothing,
    take_capacity,
)
from localcloud.edge.archive import ArchiveStore
from localcloud.edge.backend import JSON_SERVICES, AwsError, CallContext, MotoClient, error_body
from localcloud.edge.event_bus import EventBusService
from localcloud.edge.http_server import HttpServer, Request, Response, StreamingResponse
from localcloud.edge.proxy import HOP_BY_HOP, Forwarder
from localcloud.edge.replay import ReplayService
from localcloud.edge.routing import Route, identify
from localcloud.edge.sync_execution import EXPRESS_LIMIT_SECONDS, SyncExecutions
from localcloud.edge.targets import InvokeFunction, TargetDelivery
from localcloud.service import Service

__all__ = ["DEFAULT_PORT", "EdgeRouter", "InvokeFunction"]

log = logging.getLogger(__name__)

DEFAULT_PORT: Final = 4566
HEALTH_PATH: Final = "/_localcloud/health"
REQUESTS_PATH: Final = "/_localcloud/requests"
_STREAM_CHUNK: Final = 64 * 1024

Intercept = Callable[[CallContext, Mapping[str, Any]], dict[str, Any]]


class EdgeRouter(Service):
    """The edge router; see the module docstring.

    Args:
        dynamodb_endpoint: DynamoDB Local's URL, e.g. ``http://127.0.0.1:8000``.
        moto_endpoint: moto server's URL.
        host: the address to listen on; keep 127.0.0.1, the router checks no credentials.
        port: the port; 0 picks a free one (read it from :attr:`port`).
        state_dir: where archived events and replays are kept across restarts; None
            keeps them in memory.
        invoke_function: runs Lambda rule targets, ``invoke_function(name, event)``; it is
            called on a worker thread and may block. Settable later as an attribute.
        sync_execution_deadline: the longest StartSyncExecution wait, in seconds (at most
            the Express limit of 300).
        lambda_threads: Lambda target invocations run at once.
    """

    def __init__(
        self,
        dynamodb_endpoint: str,
        moto_endpoint: str,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        state_dir: Path | None = None,
        invoke_function: InvokeFunction | None = None,
        sync_execution_deadline: float = EXPRESS_LIMIT_SECONDS,
        lambda_threads: int = 4,
    ) -> None:
        self.dynamodb_endpoint = dynamodb_endpoint.rstrip("/")
        self.moto_endpoint = moto_endpoint.rstrip("/")
        self.host = host
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self._requested_port = port
        self._invoke_function = invoke_function
        self._sync_execution_deadline = sync_execution_deadline
        self._lambda_threads = lambda_threads
        self._server: HttpServer | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._forwarder: Forwarder | None = None
        self._delivery: TargetDelivery | None = None
        self._replays: ReplayService | None = None
        self._intercepts: dict[tuple[str, str], tuple[Intercept, str]] = {}
        self.accounting = RequestAccounting()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        """Start serving; return once the port accepts connections.

        Raises:
            RuntimeError: already running.
            OSError: the port is taken.
        """
        with self._lock:
            if self._server is not None:
                raise RuntimeError(f"the edge router is already running at {self.endpoint_url}")
            self._stopping.clear()
            if self.state_dir is not None:
                self.state_dir.mkdir(parents=True, exist_ok=True)
            forwarder = self._forwarder = Forwarder()
            moto = MotoClient(forwarder.pool, self.moto_endpoint)
            store = ArchiveStore(self.state_dir)
            executor = self._executor = ThreadPoolExecutor(
                max_workers=self._lambda_threads, thread_name_prefix="edge-lambda"
            )
            events = EventBusService(
                moto,
                store,
                executor,
                invoke_function=self._invoke_function,
                on_delivery=self.accounting.count_delivery,
            )
            self._delivery = events.delivery
            replays = self._replays = ReplayService(events, store, self.state_dir)
            sync = SyncExecutions(
                moto, self._stopping, deadline_seconds=self._sync_execution_deadline
            )
            self._intercepts = {
                ("states", "StartSyncExecution"): (sync.start_sync_execution, "1.0"),
                ("events", "PutEvents"): (events.put_events, "1.1"),
                ("events", "DescribeArchive"): (events.describe_archive, "1.1"),
                ("events", "ListArchives"): (events.list_archives, "1.1"),
                ("events", "DeleteArchive"): (events.delete_archive, "1.1"),
                ("events", "TestEventPattern"): (
                    lambda _context, payload: events.test_event_pattern(payload),
                    "1.1",
                ),
                ("events", "StartReplay"): (replays.start_replay, "1.1"),
                ("events", "DescribeReplay"): (replays.describe_replay, "1.1"),
                ("events", "ListReplays"): (replays.list_replays, "1.1"),
                ("events", "CancelReplay"): (replays.cancel_replay, "1.1"),
            }
            server = HttpServer(self.host, self._requested_port, self.handle)
            try:
                server.start()
            except BaseException:
                self._release()
                raise
            self._server = server
        log.info(
            "edge router on %s (DynamoDB: %s, moto: %s)",
            self.endpoint_url,
            self.dynamodb_endpoint,
            self.moto_endpoint,
        )
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, end open connections, replays and Lambda deliveries. Safe twice.

        Waits at most about ``timeout`` seconds for each group of threads.
        """
        with self._lock:
            server, self._server = self._server, None
            self._stopping.set()  # StartSyncExecution waits answer at once
            leftovers = server.stop(timeout) if server is not None else []
            if self._replays is not None:
                leftovers += self._replays.stop(timeout)
            self._release()
        for thread in leftovers:
            log.warning("thread %s still running after stop()", thread.name)

    def _release(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        if self._forwarder is not None:
            self._forwarder.close()
            self._forwarder = None

    @property
    def running(self) -> bool:
        """True between start() and stop()."""
        return self._server is not None

    @property
    def port(self) -> int:
        """The port served."""
        if self._server is None:
            raise RuntimeError("the edge router is not running: call start() first")
        return self._server.port

    @property
    def endpoint_url(self) -> str:
        """``http://<host>:<port>``, the value for ``AWS_ENDPOINT_URL``."""
        return f"http://{self.host}:{self.port}"

    @property
    def invoke_function(self) -> InvokeFunction | None:
        """The Lambda runner for Lambda rule targets."""
        return self._invoke_function

    @invoke_function.setter
    def invoke_function(self, invoke: InvokeFunction | None) -> None:
        self._invoke_function = invoke
        if self._delivery is not None:
            self._delivery.invoke_function = invoke

    # -- requests ----------------------------------------------------------------------------

    def handle(self, request: Request) -> Response | StreamingResponse:
        """Answer one request: intercept it or forward it to its backend."""
        if request.path == HEALTH_PATH:
            return _json_response(200, {"status": "running"}, "application/json")
        if request.path == REQUESTS_PATH:
            return self._accounting_answer(request)
        if request.method == "CONNECT":  # an HTTPS proxy tunnel: there is no TLS here
            return _error(
                405, "MethodNotAllowed", "the edge router speaks plain HTTP", "text/plain"
            )
        route = identify(
            request.method, request.path, request.query, request.header_map(), request.body
        )
        if not is_poll(route.service, route.operation):  # polls are counted with their answer
            self.accounting.count(route.service, route.operation)
        intercept = self._intercepts.get((route.service or "", route.operation or ""))
        if intercept is not None and request.method == "POST":
            function, version = intercept
            return self._answer(route, request, function, version)
        return self._forward(route, request)

    def _accounting_answer(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                change = json.loads(request.body or b"{}")
                if not isinstance(change, dict):
                    raise ValueError("not an object")
            except ValueError:
                return _error(400, "SerializationException", "not a JSON object", "text/plain")
            if "consumedCapacity" in change:
                if not isinstance(change["consumedCapacity"], bool):
                    return _error(
                        400, "ValidationException", "consumedCapacity: true or false", "text/plain"
                    )
                self.accounting.consumed_capacity = change["consumedCapacity"]
            if change.get("reset"):
                self.accounting.reset()
        elif request.method != "GET":
            return _error(405, "MethodNotAllowed", "GET or POST", "text/plain")
        return _json_response(200, self.accounting.snapshot(), "application/json")

    def _answer(
        self, route: Route, request: Request, function: Intercept, version: str
    ) -> Response:
        content_type = f"application/x-amz-json-{version}"
        try:
            payload = json.loads(request.body or b"{}")
            if not isinstance(payload, dict):
                raise ValueError("not an object")
        except ValueError:
            return _error(
                400, "SerializationException", "Request body is not a JSON object", content_type
            )
        context = CallContext(route.region, route.access_key)
        try:
            answer = function(context, payload)
        except AwsError as error:
            return _error(error.status, error.code, error.message, content_type)
        except urllib3.exceptions.HTTPError as error:
            log.warning("%s.%s: moto unreachable: %s", route.service, route.operation, error)
            return _error(502, "ServiceUnavailable", f"moto is unreachable: {error}", content_type)
        except Exception as error:  # a bug here must still answer the client
            log.exception("%s.%s failed", route.service, route.operation)
            return _error(500, "InternalFailure", f"{type(error).__name__}: {error}", content_type)
        return _json_response(200, answer, content_type)

    def _forward(self, route: Route, request: Request) -> Response | StreamingResponse:
        forwarder = self._forwarder
        if forwarder is None:
            return _error(
                503, "ServiceUnavailable", "the edge router is stopping", "application/json"
            )
        base = self.dynamodb_endpoint if route.backend == "dynamodb" else self.moto_endpoint
        capacity = (
            self.accounting.consumed_capacity
            and route.service == "dynamodb"
            and route.operation in CAPACITY_OPERATIONS
        )
        body, injected = ask_for_capacity(request.body) if capacity else (request.body, False)
        headers = request.headers
        if capacity:  # the answer is read here: it must come uncompressed
            headers = [(n, v) for n, v in headers if n.lower() != "accept-encoding"]
            headers.append(("Accept-Encoding", "identity"))
        try:
            upstream = forwarder.forward(base, request.method, request.target, headers, body)
        except urllib3.exceptions.HTTPError as error:
            log.warning("%s unreachable for %s: %s", route.backend, route.service, error)
            if is_poll(route.service, route.operation):
                self.accounting.count(route.service, route.operation)
            return _error(
                502,
                "ServiceUnavailable",
                f"{route.backend} ({base}) is unreachable: {error}",
                _content_type_of(route),
            )
        if capacity or is_poll(route.service, route.operation):
            return self._inspected(route, upstream, capacity=capacity, injected=injected)
        headers = [
            (name, value)
            for name, value in upstream.headers.items()
            if name.lower() not in HOP_BY_HOP
        ]
        length_header = upstream.headers.get("Content-Length")
        length = int(length_header) if length_header and length_header.isdigit() else None

        def close() -> None:
            try:
                upstream.drain_conn()  # a client gone mid-body leaves the rest unread
            except Exception:  # the connection is dropped then; nothing to give back
                log.debug("could not drain %s's answer", route.backend)
            upstream.release_conn()

        return StreamingResponse(
            status=upstream.status,
            headers=headers,
            chunks=upstream.stream(_STREAM_CHUNK, decode_content=False),
            length=length,
            close=close,
        )

    def _inspected(
        self,
        route: Route,
        upstream: urllib3.BaseHTTPResponse,
        *,
        capacity: bool,
        injected: bool,
    ) -> Response:
        """Read the whole answer to count it: a poll found something or not; DynamoDB's
        consumed capacity, taken out again if the router asked for it."""
        try:
            body = upstream.read(decode_content=False)
        finally:
            upstream.release_conn()
        headers = [
            (name, value)
            for name, value in upstream.headers.items()
            if name.lower() not in HOP_BY_HOP
        ]
        encoding = (upstream.headers.get("Content-Encoding") or "identity").lower()
        readable = upstream.status < 300 and encoding == "identity"
        service, operation = route.service or "", route.operation or ""
        if is_poll(service, operation):
            empty = polled_nothing(service, operation, body) if readable else None
            self.accounting.count(service, operation, empty=empty)
        if capacity and readable:
            body, consumed = take_capacity(body, injected=injected)
            if consumed is not None:
                self.accounting.add_capacity(operation, consumed)
            if injected:
                headers = [
                    (name, crc32_header(body) if name.lower() == "x-amz-crc32" else value)
                    for name, value in headers
                ]
        return Response(upstream.status, headers, body)


def _content_type_of(route: Route) -> str:
    if route.service is not None and route.service in JSON_SERVICES:
        return f"application/x-amz-json-{JSON_SERVICES[route.service][1]}"
    return "application/json"


def _json_response(status: int, document: Any, content_type: str) -> Response:
    return Response(
        status,
        [("Content-Type", content_type), ("x-amzn-RequestId", str(uuid.uuid4()))],
        json.dumps(document).encode(),
    )


def _error(status: int, code: str, message: str, content_type: str) -> Response:
    return Response(
        status,
        [
            ("Content-Type", content_type),
            ("x-amzn-RequestId", str(uuid.uuid4())),
            ("x-amzn-ErrorType", code),
        ],
        error_body(code, message),
    )

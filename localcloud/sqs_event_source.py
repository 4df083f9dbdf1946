"""SQS -> Lambda event source mappings: the pollers Lambda runs for an SQS trigger.

One `SqsEventSource` per ``AWS::Lambda::EventSourceMapping``::

    mapping = SqsEventSourceMapping.from_cloudformation(
        {"EventSourceArn": queue_arn, "FunctionName": "decline_applications",
         "BatchSize": 10, "FunctionResponseTypes": ["ReportBatchItemFailures"]}
    )
    with SqsEventSource(mapping, pool, endpoint_url="http://127.0.0.1:4566"):
        ...  # messages sent to the queue are delivered to the function

What it does, as Lambda does:

- receives up to `BatchSize` messages (``ReceiveMessage`` of at most 10 at a time, long
  polling), gathering for up to `MaximumBatchingWindowInSeconds` when one is set;
- invokes the function synchronously with the SQS event Lambda builds (`sqs_event`);
- on success deletes the batch, except, with ``ReportBatchItemFailures``, the records the
  function lists in ``batchItemFailures`` (`batch_outcome` applies Lambda's documented
  rules for odd answers);
- on a function error or timeout deletes nothing: the messages reappear after the queue's
  visibility timeout, and once a message has been received ``maxReceiveCount`` times the
  queue's redrive policy moves it to the dead-letter queue on the next receive. SQS does
  that move (moto too, see below), not the poller;
- receives with the queue's own visibility timeout, and refuses, as Lambda does, a
  function whose timeout exceeds it (the message would reappear while still being worked
  on);
- runs `ScalingConfig.MaximumConcurrency` pollers (each one batch at a time), capped by the
  function's workers in the pool: a poller holding a batch while waiting for a worker
  would only burn the messages' visibility timeout.

moto 5.2.5 as an SQS, measured: it applies the redrive policy on ``ReceiveMessage`` exactly
like SQS (a visible message already received ``maxReceiveCount`` times is moved to the DLQ
instead of being returned), keeps ``ApproximateReceiveCount`` and the other system
attributes, and honours visibility timeouts (whole seconds) and long polling.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, Self

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from localcloud.lambda_workers import (
    DEFAULT_REGION,
    LOCAL_CREDENTIALS,
    FunctionConfig,
    FunctionError,
    LambdaPoolError,
    PoolClosedError,
)
from localcloud.service import Service

__all__ = [
    "BatchOutcome",
    "EventSourceMappingError",
    "EventSourceStats",
    "FunctionInvoker",
    "SqsEventSource",
    "SqsEventSourceMapping",
    "batch_outcome",
    "sqs_event",
]

log = logging.getLogger(__name__)

REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"
# Lambda's limits for SQS mappings (CreateEventSourceMapping).
MAX_BATCH_SIZE = 10_000
MAX_FIFO_BATCH_SIZE = 10
MAX_BATCHING_WINDOW = 300
MIN_MAXIMUM_CONCURRENCY, MAX_MAXIMUM_CONCURRENCY = 2, 1000
# ReceiveMessage returns at most 10 messages and long-polls at most 20 s.
MAX_RECEIVE = 10
MAX_WAIT_SECONDS = 20
# Between two empty receives when `poll_wait_seconds` is 0.
SHORT_POLL_PAUSE = 0.05
# A synchronous invocation takes at most 6 MB: stop gathering well before (bodies only
# are counted, and one more receive may add 10 messages).
GATHER_LIMIT_BYTES = 5 * 1024 * 1024
# Properties of AWS::Lambda::EventSourceMapping that change nothing locally.
_IGNORED_PROPERTIES = frozenset({"Tags", "MetricsConfig", "KmsKeyArn"})
_SUPPORTED_PROPERTIES = frozenset(
    {
        "EventSourceArn",
        "FunctionName",
        "BatchSize",
        "MaximumBatchingWindowInSeconds",
        "FunctionResponseTypes",
        "ScalingConfig",
        "Enabled",
    }
)


class EventSourceMappingError(ValueError):
    """A mapping Lambda would refuse (``InvalidParameterValueException``)."""


# -- configuration ----------------------------------------------------------------------


@dataclass(frozen=True)
class SqsEventSourceMapping:
    """The properties of an ``AWS::Lambda::EventSourceMapping`` on an SQS queue, resolved.

    The queue is named by `event_source_arn` (as in the template) or `queue_url`.

    >>> m = SqsEventSourceMapping("f", "arn:aws:sqs:us-east-1:123456789012:q",
    ...                           function_response_types=("ReportBatchItemFailures",))
    >>> m.batch_size, m.report_batch_item_failures
    (10, True)
    """

    function_name: str
    event_source_arn: str | None = None
    queue_url: str | None = None
    batch_size: int = 10
    maximum_batching_window_seconds: int = 0
    function_response_types: tuple[str, ...] = ()
    maximum_concurrency: int | None = None
    enabled: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "function_response_types", tuple(self.function_response_types))
        if self.event_source_arn is None and self.queue_url is None:
            raise EventSourceMappingError("an event_source_arn or a queue_url is required")
        if self.event_source_arn is not None and not self.event_source_arn.startswith(
            "arn:aws:sqs:"
        ):
            raise EventSourceMappingError(f"not an SQS queue ARN: {self.event_source_arn}")
        if not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            raise EventSourceMappingError(f"BatchSize must be 1-{MAX_BATCH_SIZE}")
        if not 0 <= self.maximum_batching_window_seconds <= MAX_BATCHING_WINDOW:
            raise EventSourceMappingError(
                f"MaximumBatchingWindowInSeconds must be 0-{MAX_BATCHING_WINDOW}"
            )
        if self.batch_size > MAX_RECEIVE and self.maximum_batching_window_seconds < 1:
            raise EventSourceMappingError(
                "Maximum batch window in seconds must be greater than 0 if maximum batch "
                "size is greater than 10"
            )
        unknown = set(self.function_response_types) - {REPORT_BATCH_ITEM_FAILURES}
        if unknown:
            raise EventSourceMappingError(f"unknown FunctionResponseTypes {sorted(unknown)}")
        if self.maximum_concurrency is not None and not (
            MIN_MAXIMUM_CONCURRENCY <= self.maximum_concurrency <= MAX_MAXIMUM_CONCURRENCY
        ):
            raise EventSourceMappingError(
                f"ScalingConfig.MaximumConcurrency must be "
                f"{MIN_MAXIMUM_CONCURRENCY}-{MAX_MAXIMUM_CONCURRENCY}"
            )

    @property
    def report_batch_item_failures(self) -> bool:
        return REPORT_BATCH_ITEM_FAILURES in self.function_response_types

    @classmethod
    def from_cloudformation(
        cls, properties: Mapping[str, Any], *, function_name: str | None = None
    ) -> Self:
        """Build from a template resource's ``Properties`` whose references are resolved.

        `function_name` overrides ``FunctionName`` (in a template it is usually a ``Ref``
        to the function's logical id). A function ARN is reduced to the function's name.
        Properties that change SQS delivery but are not emulated (``FilterCriteria``...)
        are refused rather than ignored.

        >>> SqsEventSourceMapping.from_cloudformation({
        ...     "EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:q",
        ...     "FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:f",
        ...     "ScalingConfig": {"MaximumConcurrency": 2}}).maximum_concurrency
        2
        """
        unsupported = sorted(set(properties) - _SUPPORTED_PROPERTIES - _IGNORED_PROPERTIES)
        if unsupported:
            raise EventSourceMappingError(f"properties not emulated locally: {unsupported}")
        name = function_name if function_name is not None else properties.get("FunctionName")
        arn = properties.get("EventSourceArn")
        if not isinstance(name, str) or not isinstance(arn, str):
            raise EventSourceMappingError(
                "FunctionName and EventSourceArn must be resolved to strings "
                f"(got {name!r}, {arn!r})"
            )
        if ":function:" in name:
            name = name.split(":function:", 1)[1].split(":", 1)[0]
        scaling = properties.get("ScalingConfig") or {}
        concurrency = scaling.get("MaximumConcurrency")
        window = properties.get("MaximumBatchingWindowInSeconds")
        return cls(
            function_name=name,
            event_source_arn=arn,
            batch_size=int(properties.get("BatchSize", 10)),
            maximum_batching_window_seconds=int(window) if window is not None else 0,
            function_response_types=tuple(properties.get("FunctionResponseTypes", ())),
            maximum_concurrency=int(concurrency) if concurrency is not None else None,
            enabled=_boolean(properties.get("Enabled", True)),
        )


def _boolean(value: Any) -> bool:
    # CloudFormation writes booleans as JSON booleans or as the strings "true"/"false".
    if isinstance(value, str):
        return value.lower() == "true"
    return bool(value)


class FunctionInvoker(Protocol):
    """What the poller needs from the Lambda side; `LambdaPool` is one."""

    def invoke(self, name: str, event: Any) -> Any: ...

    def config(self, name: str) -> FunctionConfig: ...

    def max_concurrency(self, name: str) -> int: ...


# -- the event and the answer -----------------------------------------------------------


def _message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    attribute: dict[str, Any] = {}
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        # boto3 hands out bytes; Lambda's JSON event carries them base64-encoded.
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    attribute["stringListValues"] = list(value.get("StringListValues", []))
    attribute["binaryListValues"] = [
        base64.b64encode(item).decode() for item in value.get("BinaryListValues", [])
    ]
    attribute["dataType"] = value["DataType"]
    return attribute


def sqs_record(message: Mapping[str, Any], queue_arn: str) -> dict[str, Any]:
    """One record of Lambda's SQS event, from a message as boto3's ``receive_message`` returns it.

    >>> record = sqs_record(
    ...     {"MessageId": "m1", "ReceiptHandle": "r1", "Body": "hi", "MD5OfBody": "49f6",
    ...      "Attributes": {"ApproximateReceiveCount": "1"}},
    ...     "arn:aws:sqs:eu-west-1:123456789012:q")
    >>> record["eventSource"], record["awsRegion"], record["attributes"]
    ('aws:sqs', 'eu-west-1', {'ApproximateReceiveCount': '1'})
    """
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _message_attribute(value)
            for name, value in message.get("MessageAttributes", {}).items()
        },
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    record["md5OfBody"] = message.get("MD5OfBody", "")
    record["eventSource"] = "aws:sqs"
    record["eventSourceARN"] = queue_arn
    record["awsRegion"] = queue_arn.split(":")[3]
    return record


def sqs_event(messages: Sequence[Mapping[str, Any]], queue_arn: str) -> dict[str, Any]:
    """Lambda's SQS event: ``{"Records": [...]}``, one record per message, in receive order."""
    return {"Records": [sqs_record(message, queue_arn) for message in messages]}


@dataclass(frozen=True)
class BatchOutcome:
    """Which messages of a batch to delete, and which to leave for a retry."""

    succeeded: tuple[str, ...]
    failed: tuple[str, ...]
    #: Why the function's answer failed the whole batch, when it did.
    invalid_response: str | None = None


def batch_outcome(
    message_ids: Sequence[str], response: Any, *, report_batch_item_failures: bool
) -> BatchOutcome:
    """Apply Lambda's rules to a successful invocation's answer.

    Without ``ReportBatchItemFailures`` the answer is ignored: every message succeeded.
    With it (Lambda developer guide, "Implementing partial batch responses"): a null or
    empty answer, or a null or empty ``batchItemFailures`` list, means all succeeded; an
    ``itemIdentifier`` that is null, empty, under another key, or not in the batch fails
    the whole batch, as does an answer of any other shape (the guide's "invalid JSON
    response"; for a non-object answer it does not say, and failing is the side that
    loses no message).

    >>> batch_outcome(["a", "b"], {"batchItemFailures": [{"itemIdentifier": "b"}]},
    ...               report_batch_item_failures=True)
    BatchOutcome(succeeded=('a',), failed=('b',), invalid_response=None)
    >>> batch_outcome(["a"], {"batchItemFailures": [{"itemIdentifier": "zz"}]},
    ...               report_batch_item_failures=True).failed
    ('a',)
    """
    ids = tuple(message_ids)
    if not report_batch_item_failures:
        return BatchOutcome(ids, ())

    def whole_batch_failed(reason: str) -> BatchOutcome:
        return BatchOutcome((), ids, reason)

    if response is None or response == {}:
        return BatchOutcome(ids, ())
    if not isinstance(response, dict):
        return whole_batch_failed(f"the answer is a {type(response).__name__}, not an object")
    failures = response.get("batchItemFailures")
    if failures is None or failures == []:
        return BatchOutcome(ids, ())
    if not isinstance(failures, list):
        return whole_batch_failed("batchItemFailures is not a list")
    known = set(ids)
    failed: set[str] = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or not identifier:
            return whole_batch_failed(f"invalid batch item failure {item!r}")
        if identifier not in known:
            return whole_batch_failed(f"itemIdentifier {identifier!r} is not in the batch")
        failed.add(identifier)
    return BatchOutcome(
        tuple(i for i in ids if i not in failed), tuple(i for i in ids if i in failed)
    )


# -- the poller -------------------------------------------------------------------------


@dataclass
class EventSourceStats:
    """Counters of one mapping, for logs and tests (a snapshot from `SqsEventSource.stats`)."""

    received: int = 0
    invocations: int = 0
    function_errors: int = 0
    invalid_responses: int = 0
    deleted: int = 0
    retried: int = 0
    released: int = 0
    #: ``ApproximateReceiveCount`` of every record delivered, by message id.
    receive_counts: dict[str, list[int]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Queue:
    url: str
    arn: str
    visibility_timeout: int
    fifo: bool


class SqsEventSource(Service):
    """Poll one queue and deliver its messages to one function, until `stop()`.

    `sqs_client` is any boto3 SQS client (thread-safe, shared by the pollers); without
    one, a client is made for `endpoint_url`. `poll_wait_seconds` is the long poll of an
    idle poller: Lambda waits 20 s, a shorter one makes `stop()` prompt (0 short-polls,
    pausing 50 ms between empty answers).

    >>> with SqsEventSource(mapping, pool, endpoint_url=url) as source:  # doctest: +SKIP
    ...     wait_until(lambda: source.stats.deleted == 3)
    """

    def __init__(
        self,
        mapping: SqsEventSourceMapping,
        lambdas: FunctionInvoker,
        *,
        sqs_client: Any = None,
        endpoint_url: str | None = None,
        region: str = DEFAULT_REGION,
        credentials: tuple[str, str] = LOCAL_CREDENTIALS,
        poll_wait_seconds: int = 1,
    ) -> None:
        if not 0 <= poll_wait_seconds <= MAX_WAIT_SECONDS:
            raise ValueError(f"poll_wait_seconds must be 0-{MAX_WAIT_SECONDS}")
        self.mapping = mapping
        self._lambdas = lambdas
        self._sqs = sqs_client or boto3.session.Session().client(
            "sqs",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=credentials[0],
            aws_secret_access_key=credentials[1],
            # No proxy for a local endpoint, whatever HTTP(S)_PROXY says; retries are the
            # poller's business.
            config=Config(proxies={}, retries={"max_attempts": 1}),
        )
        self._poll_wait = poll_wait_seconds
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._stats = EventSourceStats()
        self._stats_lock = threading.Lock()
        self._queue: _Queue | None = None

    # -- life cycle

    def start(self) -> Self:
        """Check the mapping against the queue and function, then start the pollers.

        A disabled mapping (``Enabled: false``) starts nothing.
        """
        mapping = self.mapping
        if not mapping.enabled:
            log.info("%s: mapping disabled, not polling", mapping.function_name)
            return self
        if self._threads:
            raise RuntimeError("already started")
        self._queue = queue = self._describe_queue()
        function = self._lambdas.config(mapping.function_name)
        if function.timeout > queue.visibility_timeout:
            # Lambda's own refusal: the batch would reappear while the function still works.
            raise EventSourceMappingError(
                f"Queue visibility timeout: {queue.visibility_timeout} seconds is less than "
                f"Function timeout: {function.timeout:g} seconds"
            )
        if queue.fifo and mapping.batch_size > MAX_FIFO_BATCH_SIZE:
            raise EventSourceMappingError("BatchSize must be at most 10 for a FIFO queue")
        if queue.fifo and mapping.maximum_batching_window_seconds:
            raise EventSourceMappingError("a FIFO queue takes no MaximumBatchingWindowInSeconds")
        if function.timeout + mapping.maximum_batching_window_seconds > queue.visibility_timeout:
            log.warning(
                "%s: batching window + function timeout exceed the queue's visibility "
                "timeout (%d s): messages may be delivered twice. AWS advises a visibility "
                "timeout of 6 times the function timeout plus the batching window.",
                mapping.function_name,
                queue.visibility_timeout,
            )
        workers = self._lambdas.max_concurrency(mapping.function_name)
        pollers = min(mapping.maximum_concurrency or workers, workers)
        self._stopping.clear()
        for index in range(pollers):
            thread = threading.Thread(
                target=self._poll,
                name=f"sqs-esm-{mapping.function_name}-{index}",
                daemon=True,
            )
            self._threads.append(thread)
            thread.start()
        log.info(
            "%s: polling %s (%d poller(s), batch %d, visibility %d s)",
            mapping.function_name,
            queue.url,
            pollers,
            mapping.batch_size,
            queue.visibility_timeout,
        )
        return self

    def stop(self, timeout: float | None = None) -> bool:
        """Stop polling; returns whether every poller ended within `timeout`.

        A batch being processed is finished (its invocation is bounded by the function's
        timeout); messages received but not yet delivered are made visible again at once.
        """
        self._stopping.set()
        if timeout is None:
            try:
                function_timeout = self._lambdas.config(self.mapping.function_name).timeout
            except LambdaPoolError:  # the pool closed first: no invocation can be running
                function_timeout = 0.0
            timeout = self._poll_wait + function_timeout + 5.0
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = [thread.name for thread in self._threads if thread.is_alive()]
        if alive:
            log.warning("%s: pollers still running after stop: %s", self.mapping, alive)
        self._threads = []
        return not alive

    @property
    def running(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    @property
    def stats(self) -> EventSourceStats:
        """A snapshot of the counters."""
        with self._stats_lock:
            return replace(
                self._stats,
                receive_counts={k: list(v) for k, v in self._stats.receive_counts.items()},
            )

    @property
    def queue_url(self) -> str | None:
        return self._queue.url if self._queue else None

    def _describe_queue(self) -> _Queue:
        mapping = self.mapping
        url = mapping.queue_url
        if url is None:
            assert mapping.event_source_arn is not None  # noqa: S101 - checked by the mapping
            _, _, _, _, account, name = mapping.event_source_arn.split(":", 5)
            url = self._sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)[
                "QueueUrl"
            ]
        attributes = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])[
            "Attributes"
        ]
        return _Queue(
            url=url,
            arn=mapping.event_source_arn or attributes["QueueArn"],
            visibility_timeout=int(attributes["VisibilityTimeout"]),
            fifo=attributes.get("FifoQueue") == "true",
        )

    # -- polling

    def _poll(self) -> None:
        backoff = 0.0
        while not self._stopping.is_set():
            try:
                messages = self._receive_batch()
            except (BotoCoreError, ClientError) as error:
                # The endpoint is down or restarting: wait, growing the pause up to 10 s.
                backoff = min(10.0, backoff * 2 or 0.5)
                log.warning("%s: receive failed (%s)", self.mapping.function_name, error)
                self._stopping.wait(backoff)
                continue
            backoff = 0.0
            if not messages:
                if not self._poll_wait:
                    # Short polling (tests, mostly): pause rather than spin on an empty queue.
                    self._stopping.wait(SHORT_POLL_PAUSE)
                continue
            if self._stopping.is_set():
                self._release(messages)
                return
            self._deliver(messages)

    def _receive(self, count: int, wait: int) -> list[dict[str, Any]]:
        assert self._queue is not None  # noqa: S101 - set by start()
        response = self._sqs.receive_message(
            QueueUrl=self._queue.url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=wait,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        # No VisibilityTimeout: the queue's own applies, as for Lambda's pollers.
        messages: list[dict[str, Any]] = response.get("Messages", [])
        return messages

    def _receive_batch(self) -> list[dict[str, Any]]:
        """Up to BatchSize messages; with a batching window, keep gathering until it closes."""
        mapping = self.mapping
        first = self._receive(min(MAX_RECEIVE, mapping.batch_size), self._poll_wait)
        window = mapping.maximum_batching_window_seconds
        if not first or not window:
            return first
        # By message id: a message whose visibility timeout ran out while the window was
        # open comes back, and only its latest receipt handle can delete it.
        batch = {message["MessageId"]: message for message in first}
        closes = time.monotonic() + window
        size = sum(len(message.get("Body", "")) for message in first)
        while len(batch) < mapping.batch_size and size < GATHER_LIMIT_BYTES:
            remaining = closes - time.monotonic()
            if remaining <= 0 or self._stopping.is_set():
                break
            # WaitTimeSeconds takes whole seconds; the last fraction is short polls.
            wait = min(MAX_WAIT_SECONDS, int(remaining))
            received = self._receive(min(MAX_RECEIVE, mapping.batch_size - len(batch)), wait)
            if not received and wait == 0:
                self._stopping.wait(min(remaining, 0.05))
            for message in received:
                batch[message["MessageId"]] = message
                size += len(message.get("Body", ""))
        return list(batch.values())

    def _deliver(self, messages: list[dict[str, Any]]) -> None:
        mapping = self.mapping
        assert self._queue is not None  # noqa: S101 - set by start()
        ids = [message["MessageId"] for message in messages]
        with self._stats_lock:
            self._stats.received += len(messages)
            self._stats.invocations += 1
            for message in messages:
                count = int(message.get("Attributes", {}).get("ApproximateReceiveCount", 0))
                self._stats.receive_counts.setdefault(message["MessageId"], []).append(count)
        try:
            response = self._lambdas.invoke(
                mapping.function_name, sqs_event(messages, self._queue.arn)
            )
        except FunctionError as error:
            # Nothing deleted: the batch reappears after the visibility timeout, and the
            # redrive policy takes over past maxReceiveCount.
            log.warning(
                "%s: batch of %d failed, retried after the visibility timeout: %s",
                mapping.function_name,
                len(messages),
                error,
            )
            with self._stats_lock:
                self._stats.function_errors += 1
                self._stats.retried += len(messages)
            return
        except PoolClosedError:
            self._stopping.set()
            self._release(messages)
            return
        except LambdaPoolError as error:
            # Not the function's fault (e.g. it is not in the pool): same retry, and a pause.
            log.error("%s: cannot invoke: %s", mapping.function_name, error)
            self._stopping.wait(1.0)
            return
        outcome = batch_outcome(
            ids, response, report_batch_item_failures=mapping.report_batch_item_failures
        )
        if outcome.invalid_response:
            log.warning(
                "%s: invalid partial batch response, whole batch retried: %s",
                mapping.function_name,
                outcome.invalid_response,
            )
        by_id = {message["MessageId"]: message for message in messages}
        deleted = self._delete([by_id[i] for i in outcome.succeeded])
        with self._stats_lock:
            self._stats.deleted += deleted
            self._stats.retried += len(outcome.failed)
            self._stats.invalid_responses += outcome.invalid_response is not None

    def _delete(self, messages: Sequence[Mapping[str, Any]]) -> int:
        assert self._queue is not None  # noqa: S101 - set by start()
        deleted = 0
        for start in range(0, len(messages), MAX_RECEIVE):
            chunk = messages[start : start + MAX_RECEIVE]
            entries = [
                {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                for index, message in enumerate(chunk)
            ]
            try:
                response = self._sqs.delete_message_batch(QueueUrl=self._queue.url, Entries=entries)
            except (BotoCoreError, ClientError) as error:
                # The messages come back after their visibility timeout: a duplicate, not a loss.
                log.warning("%s: delete failed: %s", self.mapping.function_name, error)
                continue
            deleted += len(response.get("Successful", []))
            for failure in response.get("Failed", []):
                log.warning(
                    "%s: delete of %s failed: %s",
                    self.mapping.function_name,
                    chunk[int(failure["Id"])]["MessageId"],
                    failure.get("Message", failure.get("Code")),
                )
        return deleted

    def _release(self, messages: Sequence[Mapping[str, Any]]) -> None:
        """Make received but undelivered messages visible again now (on stop)."""
        assert self._queue is not None  # noqa: S101 - set by start()
        for start in range(0, len(messages), MAX_RECEIVE):
            chunk = messages[start : start + MAX_RECEIVE]
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for i, m in enumerate(chunk)
            ]
            try:
                self._sqs.change_message_visibility_batch(QueueUrl=self._queue.url, Entries=entries)
            except (BotoCoreError, ClientError) as error:
                log.warning("%s: release failed: %s", self.mapping.function_name, error)
                continue
            with self._stats_lock:
                self._stats.released += len(chunk)

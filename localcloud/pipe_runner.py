"""The EventBridge Pipes data plane for a DynamoDB stream source and an event bus target.

One `PipeRunner` runs one pipe in a background thread: it polls every shard of the table's
stream, filters the records with the pipe's ``FilterCriteria``, turns each kept record into
an event with the ``InputTemplate`` and puts it on the bus with ``PutEvents``::

    config = PipeConfig.from_properties(
        "JobClosedPipe", resolved_properties, resolve_queue_url=queue_url_of_arn
    )
    runner = PipeRunner(
        config,
        dynamodb_endpoint="http://127.0.0.1:8000",
        events_endpoint="http://127.0.0.1:4566",  # the edge router, which archives events
        sqs_endpoint="http://127.0.0.1:4566",
        state_dir=Path(".localcloud/pipes"),
    )
    with runner:  # start() ... stop()
        ...
        print(runner.stats.as_dict())

What it does, as AWS documents Pipes with a DynamoDB stream source ("Amazon DynamoDB
stream as a source", "batching and concurrency", "error handling", "input transformation"
in the EventBridge user guide):

- **Shards.** Every shard of the stream is read in order, a child only after its parent
  has been read to its end; new shards are picked up as they appear. ``StartingPosition``
  applies to the shards open when the pipe first starts (``LATEST`` is resolved then to a
  concrete position, so a stop before the first new record loses nothing); shards that
  appear later are read from their start, as AWS does with the children of a split.
- **Checkpoints.** After each batch, the shard's position (the sequence number of the last
  record dealt with: delivered, filtered out or dead-lettered) is written to
  ``state_dir/<pipe name>.json``, so a restart resumes where the pipe stopped and a clean
  stop/start delivers no record twice. A crash between a successful ``PutEvents`` and the
  checkpoint write delivers that batch again on restart: delivery is at least once, as in
  AWS, and the consumers are idempotent for that reason.
- **Batches.** Up to ``BatchSize`` records of one shard make a batch, gathered for up to
  ``MaximumBatchingWindowInSeconds`` (none: as soon as records are there). Records no
  filter matches are dropped (and checkpointed), before any age check: a record nobody
  wants never reaches the DLQ. Each kept record goes through the input
  template and becomes one ``PutEvents`` entry; a batch is one ``PutEvents`` call, which
  is why ``BatchSize`` is limited to 10, the event bus target's maximum in AWS.
- **Errors.** A failed ``PutEvents`` (an error, or ``FailedEntryCount > 0`` for the failed
  entries only) is retried with exponential backoff up to ``MaximumRetryAttempts``;
  records older than ``MaximumRecordAgeInSeconds`` are given up. With
  ``OnPartialBatchItemFailure: AUTOMATIC_BISECT`` a batch that fails as a whole is halved
  and each half retried, until the failing record is alone. Halving is not counted as a
  retry (AWS does not say; counting it would let a bad record use up its retries before
  it is alone), so a bad record in a batch of 10 costs a few more calls. What is given
  up goes to the dead-letter queue as pipes with stream sources send it: one message
  naming the shard and the range of sequence numbers (`dead_letter_message`), not the
  records, which stay readable in the stream for 24 hours. The shard then moves on.

Deliberate differences from AWS, each for a reason given where it is implemented:

- ``MaximumRetryAttempts: -1`` (AWS's default, retry forever) is accepted only with a
  finite ``MaximumRecordAgeInSeconds``, which then bounds the retries; with both infinite
  the configuration is refused, as one bad record would block its shard for a day.
- Every failed ``PutEvents`` counts as a retry, connection failures included. AWS retries
  its own internal errors without counting them; here the target service *is* the local
  cloud, so an unreachable endpoint is the target failing.
- Shards are worked on by one thread, in turn; a shard waiting out a backoff does not hold
  up the others. ``ParallelizationFactor`` above 1 is accepted and not emulated (records of
  a shard are delivered one batch at a time, which keeps their order).
- ``EndpointId`` (global endpoints) is ignored: events go to the configured endpoint.
- DynamoDB Local stamps ``ApproximateCreationDateTime`` down to the minute, so a record's
  age is taken from the end of that minute: it is never given up early, and up to a
  minute late.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Final, Literal, Protocol, Self, cast

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from localcloud.event_pattern import EventPattern, InvalidEventPattern
from localcloud.input_template import TemplateError, lookup, render_text
from localcloud.service import Service

__all__ = [
    "Backoff",
    "Clock",
    "PipeConfig",
    "PipeConfigError",
    "PipeRunner",
    "PipeStateError",
    "PipeStats",
    "dead_letter_message",
    "pipe_event",
]

log = logging.getLogger(__name__)

StartingPosition = Literal["TRIM_HORIZON", "LATEST"]
DeadLetterCondition = Literal["RetryAttemptsExhausted", "RecordAgeExceeded"]

# The event bus target takes at most 10 entries per batch ("Supported batchable targets" in
# the Pipes batching guide); PutEvents refuses more than 10 entries.
MAX_BUS_BATCH_SIZE: Final = 10
# AWS's limits for the stream source parameters (PipeSourceDynamoDBStreamParameters).
MAX_BATCHING_WINDOW_SECONDS: Final = 300
MAX_RECORD_AGE_SECONDS: Final = 604_800
MAX_RETRY_ATTEMPTS: Final = 10_000
# When Pipes has no Source / DetailType for the bus, events arrive as "Pipe <name>" and
# "Event from aws:dynamodb" (as seen in events that real pipes put on buses).
_DEFAULT_DETAIL_TYPE: Final = "Event from aws:dynamodb"
# DynamoDB Local truncates ApproximateCreationDateTime to the minute (measured: a record
# written at 04:40:31 says 04:40:00); see _age().
_CREATION_TIME_GRANULARITY_SECONDS: Final = 60
# GetRecords returns at most 1000 records.
_MAX_GET_RECORDS: Final = 1000
_STATE_VERSION: Final = 1

_STREAM_ARN = re.compile(r"arn:aws[\w-]*:dynamodb:[^:]*:[^:]*:table/[^/]+/stream/.+")
_BUS_ARN = re.compile(r"arn:(aws[\w-]*):events:([^:]*):([^:]*):event-bus/(.+)")
_PIPE_ARN = re.compile(r"arn:aws[\w-]*:pipes:[^:]*:[^:]*:pipe/.+")
_QUEUE_ARN = re.compile(r"arn:aws[\w-]*:sqs:([^:]*):([^:]*):(.+)")

_SOURCE_PARAMETERS: Final = frozenset({"DynamoDBStreamParameters", "FilterCriteria"})
_STREAM_PARAMETERS: Final = frozenset(
    {
        "StartingPosition",
        "BatchSize",
        "MaximumBatchingWindowInSeconds",
        "MaximumRetryAttempts",
        "MaximumRecordAgeInSeconds",
        "OnPartialBatchItemFailure",
        "DeadLetterConfig",
        "ParallelizationFactor",
    }
)
_TARGET_PARAMETERS: Final = frozenset({"InputTemplate", "EventBridgeEventBusParameters"})
_BUS_PARAMETERS: Final = frozenset({"Source", "DetailType", "Resources", "EndpointId", "Time"})
_PIPE_PROPERTIES: Final = frozenset(
    {"Source", "Target", "SourceParameters", "TargetParameters", "DesiredState"}
)
# Pipe properties that change nothing in how records flow locally.
_IGNORED_PROPERTIES: Final = frozenset(
    {"Name", "Description", "RoleArn", "LogConfiguration", "Tags", "KmsKeyIdentifier"}
)


class PipeConfigError(ValueError):
    """The pipe's properties are invalid, or use something the local runner does not run."""


class PipeStateError(RuntimeError):
    """The pipe's checkpoint file cannot be read; starting afresh would redeliver or skip."""


class Clock(Protocol):
    """Where the runner reads the time; the ``time`` module is one."""

    def time(self) -> float:
        """Seconds since the epoch: record ages, ingestion and DLQ timestamps."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back: batching windows and backoff."""
        ...


@dataclass(frozen=True)
class Backoff:
    """Exponential delays between retries of a failing batch: initial, doubling, capped."""

    initial: float = 0.2
    maximum: float = 10.0
    multiplier: float = 2.0

    def delay(self, failures: int) -> float:
        """The wait after the ``failures``-th failure in a row (1 for the first)."""
        # Capped exponent: a long outage must not overflow the float.
        exponent = min(max(failures - 1, 0), 64)
        return float(min(self.maximum, self.initial * self.multiplier**exponent))


@dataclass(frozen=True)
class PipeConfig:
    """An ``AWS::Pipes::Pipe`` with a DynamoDB stream source and an event bus target.

    Field names follow the CloudFormation properties (``SourceParameters.
    DynamoDBStreamParameters.BatchSize`` is ``batch_size``); `from_properties` builds one from
    a resource's (resolved) properties. Defaults are AWS's, except ``batch_size``: the
    console's 100 is more than an event bus target takes, so 1 (CDK's documented default).
    """

    name: str
    source: str
    target: str
    starting_position: StartingPosition
    batch_size: int = 1
    maximum_batching_window_seconds: int = 0
    maximum_retry_attempts: int = -1
    maximum_record_age_seconds: int = -1
    on_partial_batch_item_failure: Literal["AUTOMATIC_BISECT"] | None = None
    parallelization_factor: int = 1
    dead_letter_arn: str | None = None
    #: The DLQ's URL; None with a `dead_letter_arn` has the runner look it up (GetQueueUrl).
    dead_letter_queue_url: str | None = None
    #: ``FilterCriteria.Filters[].Pattern``: JSON texts; none lets every record through.
    filter_patterns: tuple[str, ...] = ()
    input_template: str | None = None
    #: ``EventBridgeEventBusParameters``: static values, or ``$.path`` into the source record.
    event_source: str | None = None
    detail_type: str | None = None
    resources: tuple[str, ...] = ()
    endpoint_id: str | None = None
    time: str | None = None
    #: Recorded, not acted on: a runner runs when started; whoever starts runners skips
    #: STOPPED pipes.
    desired_state: Literal["RUNNING", "STOPPED"] = "RUNNING"
    #: The pipe's ARN where the control plane (moto's CreatePipe) gave it one; without it,
    #: `arn` makes one in the target bus's region and account.
    pipe_arn: str | None = None

    def __post_init__(self) -> None:
        problems = list(self._problems())
        if problems:
            raise PipeConfigError(f"pipe {self.name!r}: " + "; ".join(problems))

    def _problems(self) -> Iterable[str]:
        if not self.name:
            yield "Name must not be empty"
        if not _STREAM_ARN.fullmatch(self.source):
            yield (
                f"Source {self.source!r} is not a DynamoDB stream ARN: the local pipe runner "
                "reads DynamoDB streams only"
            )
        if not _BUS_ARN.fullmatch(self.target):
            yield (
                f"Target {self.target!r} is not an event bus ARN: the local pipe runner "
                "delivers to EventBridge event buses only"
            )
        if self.starting_position not in ("TRIM_HORIZON", "LATEST"):
            yield f"StartingPosition must be TRIM_HORIZON or LATEST, not {self.starting_position!r}"
        if not 1 <= self.batch_size <= MAX_BUS_BATCH_SIZE:
            yield (
                f"BatchSize {self.batch_size}: an event bus target takes 1 to "
                f"{MAX_BUS_BATCH_SIZE} records per batch"
            )
        if not 0 <= self.maximum_batching_window_seconds <= MAX_BATCHING_WINDOW_SECONDS:
            yield f"MaximumBatchingWindowInSeconds must be 0..{MAX_BATCHING_WINDOW_SECONDS}"
        if not -1 <= self.maximum_retry_attempts <= MAX_RETRY_ATTEMPTS:
            yield f"MaximumRetryAttempts must be -1..{MAX_RETRY_ATTEMPTS}"
        if not -1 <= self.maximum_record_age_seconds <= MAX_RECORD_AGE_SECONDS:
            yield f"MaximumRecordAgeInSeconds must be -1..{MAX_RECORD_AGE_SECONDS}"
        if self.maximum_retry_attempts == -1 and self.maximum_record_age_seconds == -1:
            # AWS would retry a failing record until it leaves the stream (24 hours), with
            # its shard stopped behind it. Locally that looks like a hang, so it is refused.
            yield (
                "MaximumRetryAttempts and MaximumRecordAgeInSeconds are both -1 (infinite): "
                "the local pipe runner refuses to retry a failing batch forever; set a "
                "finite MaximumRetryAttempts (or MaximumRecordAgeInSeconds)"
            )
        if self.on_partial_batch_item_failure not in (None, "AUTOMATIC_BISECT"):
            yield "OnPartialBatchItemFailure must be AUTOMATIC_BISECT"
        if not 1 <= self.parallelization_factor <= 10:
            yield "ParallelizationFactor must be 1..10"
        if self.dead_letter_arn is not None and not _QUEUE_ARN.fullmatch(self.dead_letter_arn):
            yield (
                f"DeadLetterConfig.Arn {self.dead_letter_arn!r} is not an SQS queue ARN "
                "(the only dead-letter target the local pipe runner sends to)"
            )
        if self.dead_letter_queue_url is not None and self.dead_letter_arn is None:
            yield "a dead-letter queue URL needs DeadLetterConfig.Arn as well"
        for index, pattern in enumerate(self.filter_patterns):
            try:
                EventPattern(pattern, for_pipes=True)
            except InvalidEventPattern as error:
                yield f"FilterCriteria.Filters[{index}].Pattern: {error}"
        if self.input_template is not None and not self.input_template.strip():
            yield "InputTemplate must not be blank"
        if self.desired_state not in ("RUNNING", "STOPPED"):
            yield "DesiredState must be RUNNING or STOPPED"
        if self.pipe_arn is not None and not _PIPE_ARN.fullmatch(self.pipe_arn):
            yield f"{self.pipe_arn!r} is not a pipe ARN"

    @property
    def arn(self) -> str:
        """The pipe's ARN: `pipe_arn`, or one in the target bus's partition, region, account."""
        if self.pipe_arn is not None:
            return self.pipe_arn
        partition, region, account, _ = _match(_BUS_ARN, self.target).groups()
        return f"arn:{partition}:pipes:{region}:{account}:pipe/{self.name}"

    @property
    def region(self) -> str:
        """The region of the target bus, which the events and SQS clients use."""
        return _match(_BUS_ARN, self.target).group(2)

    @classmethod
    def from_properties(
        cls,
        name: str,
        properties: Mapping[str, Any],
        resolve_queue_url: Callable[[str], str] | None = None,
        *,
        arn: str | None = None,
    ) -> PipeConfig:
        """A config from an ``AWS::Pipes::Pipe`` resource's properties.

        The values used must be resolved (``Source``, ``Target``, the DLQ's ``Arn`` are
        ARNs, not ``Fn::GetAtt``). ``resolve_queue_url`` turns the DLQ's ARN into its URL;
        without it the runner asks SQS. ``arn`` is the pipe's own, if the control plane
        made one. Raises `PipeConfigError` for what the local runner
        cannot run (an enrichment, another source or target type) rather than ignore it.

        >>> config = PipeConfig.from_properties("jobs", {
        ...     "Source": "arn:aws:dynamodb:us-east-1:1:table/t/stream/2025-01-01T00:00:00.000",
        ...     "Target": "arn:aws:events:us-east-1:1:event-bus/b",
        ...     "SourceParameters": {"DynamoDBStreamParameters": {
        ...         "StartingPosition": "LATEST", "MaximumRetryAttempts": 3}},
        ... })
        >>> config.batch_size, config.arn
        (1, 'arn:aws:pipes:us-east-1:1:pipe/jobs')
        """
        unknown = set(properties) - _PIPE_PROPERTIES - _IGNORED_PROPERTIES
        if unknown:
            # Enrichment, EnrichmentParameters and anything newer: not run, so not accepted.
            raise PipeConfigError(
                f"pipe {name!r}: the local pipe runner does not support {sorted(unknown)}"
            )
        source_parameters = _mapping(properties, "SourceParameters", name)
        _only(source_parameters, _SOURCE_PARAMETERS, "SourceParameters", name)
        stream = _mapping(source_parameters, "DynamoDBStreamParameters", name)
        if not stream:
            raise PipeConfigError(
                f"pipe {name!r}: SourceParameters.DynamoDBStreamParameters is required"
            )
        _only(stream, _STREAM_PARAMETERS, "DynamoDBStreamParameters", name)
        filter_criteria = _mapping(source_parameters, "FilterCriteria", name)
        filters = filter_criteria.get("Filters", [])
        if not isinstance(filters, list):
            raise PipeConfigError(f"pipe {name!r}: FilterCriteria.Filters must be a list")
        target_parameters = _mapping(properties, "TargetParameters", name)
        _only(target_parameters, _TARGET_PARAMETERS, "TargetParameters", name)
        bus = _mapping(target_parameters, "EventBridgeEventBusParameters", name)
        _only(bus, _BUS_PARAMETERS, "EventBridgeEventBusParameters", name)
        dead_letter_arn = _optional_string(
            _mapping(stream, "DeadLetterConfig", name), "Arn", "DeadLetterConfig.Arn", name
        )
        resources = bus.get("Resources", [])
        if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
            raise PipeConfigError(
                f"pipe {name!r}: EventBridgeEventBusParameters.Resources must be a list of strings"
            )
        bisect = _optional_string(
            stream, "OnPartialBatchItemFailure", "OnPartialBatchItemFailure", name
        )
        return cls(
            name=name,
            source=_string(properties, "Source", name),
            target=_string(properties, "Target", name),
            starting_position=cast(StartingPosition, _string(stream, "StartingPosition", name)),
            batch_size=_integer(stream, "BatchSize", 1, name),
            maximum_batching_window_seconds=_integer(
                stream, "MaximumBatchingWindowInSeconds", 0, name
            ),
            maximum_retry_attempts=_integer(stream, "MaximumRetryAttempts", -1, name),
            maximum_record_age_seconds=_integer(stream, "MaximumRecordAgeInSeconds", -1, name),
            on_partial_batch_item_failure=cast(Literal["AUTOMATIC_BISECT"] | None, bisect),
            parallelization_factor=_integer(stream, "ParallelizationFactor", 1, name),
            dead_letter_arn=dead_letter_arn,
            dead_letter_queue_url=(
                resolve_queue_url(dead_letter_arn)
                if dead_letter_arn is not None and resolve_queue_url is not None
                else None
            ),
            filter_patterns=tuple(
                _string(item, "Pattern", name) if isinstance(item, Mapping) else _bad_filter(name)
                for item in filters
            ),
            input_template=_optional_string(
                target_parameters, "InputTemplate", "InputTemplate", name
            ),
            event_source=_optional_string(bus, "Source", "Source", name),
            detail_type=_optional_string(bus, "DetailType", "DetailType", name),
            resources=tuple(resources),
            endpoint_id=_optional_string(bus, "EndpointId", "EndpointId", name),
            time=_optional_string(bus, "Time", "Time", name),
            desired_state=cast(
                Literal["RUNNING", "STOPPED"], properties.get("DesiredState", "RUNNING")
            ),
            pipe_arn=arn,
        )


def _match(pattern: re.Pattern[str], text: str) -> re.Match[str]:
    match = pattern.fullmatch(text)
    if match is None:  # __post_init__ checked it, so this is a bug
        raise RuntimeError(f"{text!r} does not match {pattern.pattern}")
    return match


def _mapping(properties: Mapping[str, Any], key: str, pipe: str) -> Mapping[str, Any]:
    value = properties.get(key, {})
    if not isinstance(value, Mapping):
        raise PipeConfigError(f"pipe {pipe!r}: {key} must be an object")
    return value


def _only(properties: Mapping[str, Any], allowed: frozenset[str], where: str, pipe: str) -> None:
    unknown = set(properties) - allowed
    if unknown:
        raise PipeConfigError(
            f"pipe {pipe!r}: {where} has {sorted(unknown)}, which the local pipe runner "
            "does not support (it runs DynamoDB stream sources and event bus targets)"
        )


def _string(properties: Mapping[str, Any], key: str, pipe: str) -> str:
    value = properties.get(key)
    if not isinstance(value, str):
        raise PipeConfigError(
            f"pipe {pipe!r}: {key} must be a string (an unresolved intrinsic such as "
            f"Fn::GetAtt must be resolved first), not {value!r}"
        )
    return value


def _optional_string(properties: Mapping[str, Any], key: str, where: str, pipe: str) -> str | None:
    if key not in properties:
        return None
    value = properties[key]
    if not isinstance(value, str):
        raise PipeConfigError(
            f"pipe {pipe!r}: {where} must be a string (resolve intrinsics first), not {value!r}"
        )
    return value


def _integer(properties: Mapping[str, Any], key: str, default: int, pipe: str) -> int:
    value = properties.get(key, default)
    # CloudFormation accepts numbers written as strings; bool is an int in Python, not here.
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise PipeConfigError(f"pipe {pipe!r}: {key} must be an integer, not {value!r}")


def _bad_filter(pipe: str) -> str:
    raise PipeConfigError(f"pipe {pipe!r}: each FilterCriteria.Filters item must be an object")


# --- records ------------------------------------------------------------------------------


def pipe_event(record: Mapping[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record (as boto3 returns it) in the shape Pipes gives filters and templates.

    The stream record's fields, with ``eventSourceARN`` (the stream) added, the creation time
    as epoch seconds and binary attribute values base64-encoded, as in the JSON AWS sends:

    >>> when = dt.datetime(2025, 5, 20, 10, 15, tzinfo=dt.UTC)
    >>> event = pipe_event({"eventID": "1", "eventName": "INSERT", "dynamodb": {
    ...     "ApproximateCreationDateTime": when, "Keys": {"id": {"B": b"\\x01"}},
    ...     "SequenceNumber": "100"}}, "arn:aws:dynamodb:r:1:table/t/stream/x")
    >>> event["dynamodb"]["ApproximateCreationDateTime"], event["dynamodb"]["Keys"]
    (1747736100, {'id': {'B': 'AQ=='}})
    >>> event["eventSourceARN"]
    'arn:aws:dynamodb:r:1:table/t/stream/x'
    """
    event: dict[str, Any] = _json_safe(record)
    event["eventSourceARN"] = stream_arn
    return event


def _json_safe(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dt.datetime):
        seconds = value.timestamp()
        return int(seconds) if seconds.is_integer() else seconds
    return value


def _sequence_number(event: Mapping[str, Any]) -> str:
    return str(event["dynamodb"]["SequenceNumber"])


def _created_at(event: Mapping[str, Any]) -> float | None:
    created = event.get("dynamodb", {}).get("ApproximateCreationDateTime")
    return float(created) if isinstance(created, int | float) else None


def _iso(epoch: float, *, milliseconds: bool = True) -> str:
    moment = dt.datetime.fromtimestamp(epoch, dt.UTC)
    return moment.isoformat(timespec="milliseconds" if milliseconds else "seconds").replace(
        "+00:00", "Z"
    )


def dead_letter_message(
    *,
    pipe_arn: str,
    condition: DeadLetterCondition,
    stream_arn: str,
    shard_id: str,
    events: Sequence[Mapping[str, Any]],
    timestamp: float,
) -> dict[str, Any]:
    """What a pipe with a stream source sends its DLQ for records it gives up on.

    Not the records: where they are in the stream (shard, first and last sequence number),
    so they can be read back while the stream keeps them. The Pipes guide shows no example;
    this is the shape users publish from real pipes (``context.partnerResourceArn`` and
    ``condition``, ``version``, ``timestamp``, ``DDBStreamBatchInfo``), which is Lambda's
    documented on-failure record for stream event source mappings with ``context`` in
    place of Lambda's ``requestContext``/``responseContext``. ``condition`` is
    ``RetryAttemptsExhausted`` or (Lambda's word for it) ``RecordAgeExceeded``.

    After a partial failure the failed records need not be neighbours: the range then
    also covers records that were delivered, and ``batchSize`` says how many failed.
    """
    first, last = events[0], events[-1]

    def arrival(event: Mapping[str, Any]) -> str | None:
        created = _created_at(event)
        return None if created is None else _iso(created, milliseconds=False)

    return {
        "context": {"partnerResourceArn": pipe_arn, "condition": condition},
        "version": "1.0",
        "timestamp": _iso(timestamp),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": _sequence_number(first),
            "endSequenceNumber": _sequence_number(last),
            "approximateArrivalOfFirstRecord": arrival(first),
            "approximateArrivalOfLastRecord": arrival(last),
            "batchSize": len(events),
            "streamArn": stream_arn,
        },
    }


# --- statistics ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PipeStats:
    """Counters since the runner was made, for a status command (`as_dict` for JSON)."""

    name: str
    state: Literal["STOPPED", "RUNNING"] = "STOPPED"
    #: Records GetRecords returned (LATEST's skipped backlog excluded).
    records_read: int = 0
    #: Records no filter matched: dropped, and checkpointed like the others.
    records_filtered_out: int = 0
    #: Records put on the bus (PutEvents accepted their entry).
    records_delivered: int = 0
    #: Re-attempts of a failed delivery (of a whole batch, a half or the failed entries).
    retries: int = 0
    #: Failed PutEvents calls, and calls with failed entries.
    delivery_failures: int = 0
    #: Records given up as older than MaximumRecordAgeInSeconds.
    records_expired: int = 0
    #: Records given up (expired or out of retries) and named in a DLQ message.
    records_sent_to_dlq: int = 0
    #: Messages sent to the DLQ.
    dead_letter_messages: int = 0
    #: Records given up with no DLQ configured: lost, logged with their sequence numbers.
    records_discarded: int = 0
    shards_active: int = 0
    shards_finished: int = 0
    last_error: str | None = None
    #: When PutEvents last accepted an entry (ISO 8601).
    last_delivery_at: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The counters as a JSON-ready dict."""
        return asdict(self)


# --- checkpoints --------------------------------------------------------------------------


class _Checkpoints:
    """Each shard's position, kept in one JSON file per pipe and replaced atomically."""

    def __init__(self, path: Path, pipe_arn: str, source: str) -> None:
        self.path = path
        self.pipe_arn = pipe_arn
        self.source = source
        self.initialized = False
        self.shards: dict[str, dict[str, Any]] = {}
        self._load()

    def _load(self) -> None:
        try:
            state = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as error:
            # Starting over would redeliver or skip records: stop and let someone look.
            raise PipeStateError(
                f"cannot read the pipe checkpoint {self.path}: {error}; fix or delete it"
            ) from error
        if not isinstance(state, dict):
            raise PipeStateError(f"the pipe checkpoint {self.path} is not a JSON object")
        if state.get("source") != self.source:
            # The table was re-created (a new stream ARN): its old positions mean nothing.
            log.warning(
                "pipe checkpoint %s is for stream %s, not %s: starting afresh",
                self.path,
                state.get("source"),
                self.source,
            )
            return
        self.initialized = bool(state.get("initialized"))
        self.shards = {
            shard_id: dict(entry)
            for shard_id, entry in state.get("shards", {}).items()
            if isinstance(entry, Mapping)
        }

    def sequence(self, shard_id: str) -> str | None:
        value = self.shards.get(shard_id, {}).get("sequenceNumber")
        return value if isinstance(value, str) else None

    def finished(self, shard_id: str) -> bool:
        return bool(self.shards.get(shard_id, {}).get("finished"))

    def advance(self, shard_id: str, sequence_number: str) -> None:
        self.shards.setdefault(shard_id, {})["sequenceNumber"] = sequence_number

    def finish(self, shard_id: str) -> None:
        self.shards.setdefault(shard_id, {})["finished"] = True

    def forget(self, shard_id: str) -> None:
        self.shards.pop(shard_id, None)

    def save(self) -> None:
        state = {
            "version": _STATE_VERSION,
            "pipe": self.pipe_arn,
            "source": self.source,
            "initialized": self.initialized,
            "shards": self.shards,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        temporary.write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
        # A crash leaves either the old file or the new one, never half of one.
        os.replace(temporary, self.path)


# --- batches ------------------------------------------------------------------------------


@dataclass(eq=False)
class _Item:
    """One record of a batch; ``done`` once delivered, filtered out or given up."""

    event: dict[str, Any]
    kept: bool
    done: bool = False

    @property
    def sequence_number(self) -> str:
        return _sequence_number(self.event)


@dataclass(eq=False)
class _Part:
    """Records delivered together: a batch's kept records, or a half of a bisected part."""

    items: list[_Item]
    retries: int = 0


@dataclass(eq=False)
class _Batch:
    items: list[_Item]
    parts: deque[_Part]
    #: Records given up, waiting for their DLQ message to be sent.
    dead: list[tuple[list[_Item], DeadLetterCondition]] = field(default_factory=list)
    failures: int = 0
    next_try: float = 0.0
    resolved: int = 0

    @property
    def finished(self) -> bool:
        return not self.parts and not self.dead


@dataclass(eq=False)
class _Shard:
    shard_id: str
    iterator: str | None = None
    #: The shard is closed and read to its end (GetRecords gave no next iterator).
    exhausted: bool = False
    #: First start with LATEST: reading up to the shard's end without processing.
    skipping: bool = False
    #: Sequence number of the last record read, to reopen an expired iterator after it.
    last_read: str | None = None
    buffer: list[dict[str, Any]] = field(default_factory=list)
    buffer_since: float = 0.0
    batch: _Batch | None = None
    errors: int = 0
    retry_at: float = 0.0


ClientFactory = Callable[[str, str, str], Any]
"""``(service, endpoint_url, region) -> boto3 client``; tests pass fakes."""


def _boto3_client(service: str, endpoint_url: str, region: str) -> Any:
    session = boto3.session.Session(
        # Dummies: nothing local checks them, and they can never reach a real account.
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106
        region_name=region,
    )
    config = Config(
        # No proxy may capture 127.0.0.1; timeouts bounded so stop() is never held up long.
        proxies={},
        connect_timeout=2,
        read_timeout=10,
        # The runner counts and spaces retries itself (MaximumRetryAttempts): botocore's
        # own would multiply them and hide failures.
        retries={"total_max_attempts": 1, "mode": "standard"},
    )
    return session.client(service, endpoint_url=endpoint_url, config=config)


# --- the runner ---------------------------------------------------------------------------


class PipeRunner(Service):
    """Runs one pipe in a background thread: `start`, `stop`, `stats`.

    Args:
        config: the pipe.
        dynamodb_endpoint: where DynamoDB Streams answers (DynamoDB Local).
        events_endpoint: where ``PutEvents`` goes: the local cloud's edge router, so the
            bus's archive sees every event.
        sqs_endpoint: where the dead-letter queue is.
        state_dir: where checkpoints are kept (``<pipe name>.json``).
        clock: time source (``time``); tests shift ``time()`` to age records.
        backoff: delays between retries of a failing batch.
        poll_interval: seconds between GetRecords calls on a shard that had nothing new
            (AWS polls four times a second; a little faster here, for local latency).
        shard_refresh_interval: seconds between DescribeStream calls looking for new shards
            (also called at once when a shard ends, to start its children).
        client_factory: makes the boto3 clients; tests pass fakes.
    """

    def __init__(
        self,
        config: PipeConfig,
        *,
        dynamodb_endpoint: str,
        events_endpoint: str,
        sqs_endpoint: str,
        state_dir: Path,
        clock: Clock = time,
        backoff: Backoff = Backoff(),
        poll_interval: float = 0.1,
        shard_refresh_interval: float = 10.0,
        client_factory: ClientFactory = _boto3_client,
    ) -> None:
        self.config = config
        self._dynamodb_endpoint = dynamodb_endpoint
        self._events_endpoint = events_endpoint
        self._sqs_endpoint = sqs_endpoint
        self.state_path = Path(state_dir) / f"{config.name}.json"
        self._clock = clock
        self._backoff = backoff
        self._poll_interval = poll_interval
        self._shard_refresh_interval = shard_refresh_interval
        self._client_factory = client_factory
        self._filters = [EventPattern(p, for_pipes=True) for p in config.filter_patterns]
        self._bisect = config.on_partial_batch_item_failure == "AUTOMATIC_BISECT"
        self._dead_letter_url = config.dead_letter_queue_url

        self._lock = threading.Lock()
        self._stats = PipeStats(name=config.name)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

        # Owned by the runner thread while it runs.
        self._streams: Any = None
        self._events: Any = None
        self._sqs: Any = None
        self._checkpoints: _Checkpoints | None = None
        self._active: dict[str, _Shard] = {}
        self._initial_skips: set[str] = set()
        self._refresh_at = 0.0
        self._refresh_errors = 0
        if config.parallelization_factor > 1:
            log.info(
                "pipe %s: ParallelizationFactor %d is not emulated; each shard is read one "
                "batch at a time",
                config.name,
                config.parallelization_factor,
            )
        if config.endpoint_id is not None:
            log.info("pipe %s: EndpointId is ignored locally", config.name)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        """Start polling in a background thread. Raises if already running."""
        if self._thread is not None:
            raise RuntimeError(f"pipe {self.config.name} is already running")
        self._checkpoints = _Checkpoints(self.state_path, self.config.arn, self.config.source)
        self._streams = self._client_factory(
            "dynamodbstreams", self._dynamodb_endpoint, self.config.region
        )
        self._events = self._client_factory("events", self._events_endpoint, self.config.region)
        self._sqs = self._client_factory("sqs", self._sqs_endpoint, self.config.region)
        self._active = {}
        self._initial_skips = set()
        self._refresh_at = 0.0
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"pipe-{self.config.name}", daemon=True
        )
        self._update(state="RUNNING")
        self._thread.start()
        return self

    def stop(self, timeout: float = 15.0) -> None:
        """Stop after the step under way (a GetRecords or PutEvents call) and wait for it.

        Records read but not yet delivered are not checkpointed, so the next start reads
        them again. Safe to call when stopped.
        """
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        thread.join(timeout)
        self._update(state="STOPPED")
        if thread.is_alive():
            raise RuntimeError(f"pipe {self.config.name} did not stop within {timeout}s")

    @property
    def running(self) -> bool:
        """True while the polling thread runs."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def stats(self) -> PipeStats:
        """A snapshot of the counters."""
        with self._lock:
            return self._stats

    def _update(self, **changes: Any) -> None:
        with self._lock:
            self._stats = replace(self._stats, **changes)

    def _count(self, **increments: int) -> None:
        with self._lock:
            self._stats = replace(
                self._stats,
                **{name: getattr(self._stats, name) + n for name, n in increments.items()},
            )

    def _error(self, message: str) -> None:
        self._update(last_error=message)

    # -- the loop ----------------------------------------------------------------------------

    def _run(self) -> None:
        log.info("pipe %s: polling %s", self.config.name, self.config.source)
        while not self._stop.is_set():
            busy = False
            try:
                if self._clock.monotonic() >= self._refresh_at:
                    self._refresh_shards()
                for shard in list(self._active.values()):
                    if self._stop.is_set():
                        break
                    busy = self._step(shard) or busy
            except Exception as error:  # never let the thread die silently
                log.exception("pipe %s: unexpected error", self.config.name)
                self._error(f"{type(error).__name__}: {error}")
                self._stop.wait(1.0)
                continue
            if not busy:
                self._stop.wait(self._idle_wait())
        log.info("pipe %s: stopped", self.config.name)

    def _idle_wait(self) -> float:
        now = self._clock.monotonic()
        wake = now + self._poll_interval
        wake = min(wake, self._refresh_at)
        for shard in self._active.values():
            if shard.retry_at > now:
                wake = min(wake, max(shard.retry_at, now))
            if shard.batch is not None:
                wake = min(wake, shard.batch.next_try)
            elif shard.buffer:
                window = self.config.maximum_batching_window_seconds
                wake = min(wake, shard.buffer_since + window)
        return max(wake - now, 0.0)

    # -- shards ------------------------------------------------------------------------------

    def _refresh_shards(self) -> None:
        checkpoints = self._require_checkpoints()
        try:
            listed = self._describe_shards()
        except (ClientError, BotoCoreError) as error:
            self._refresh_errors += 1
            delay = self._backoff.delay(self._refresh_errors)
            self._refresh_at = self._clock.monotonic() + max(delay, self._poll_interval)
            log.warning("pipe %s: DescribeStream failed: %s", self.config.name, error)
            self._error(f"DescribeStream: {error}")
            return
        self._refresh_errors = 0
        self._refresh_at = self._clock.monotonic() + self._shard_refresh_interval
        first_start = not checkpoints.initialized
        changed = False
        for shard_id in [s for s in checkpoints.shards if s not in listed]:
            # Trimmed from the stream: nothing left to read, nothing to remember.
            if checkpoints.finished(shard_id) and shard_id not in self._active:
                checkpoints.forget(shard_id)
                changed = True
        waiting = {
            shard_id: description
            for shard_id, description in listed.items()
            if shard_id not in self._active and not checkpoints.finished(shard_id)
        }
        # Parents before children, whatever the listing order: a shard LATEST skips (closed
        # at the first start) lets its children start in the same pass.
        progress = True
        while progress:
            progress = False
            for shard_id, description in list(waiting.items()):
                parent = description.get("ParentShardId")
                if parent in listed and not checkpoints.finished(parent):
                    continue  # children only after their parent, so records stay in order
                del waiting[shard_id]
                if self._activate(shard_id, description, first_start):
                    progress = changed = True  # skipped: its children may start now
        if first_start and not self._initial_skips:
            checkpoints.initialized = True
            changed = True
        if changed:
            checkpoints.save()
        self._update_shard_stats()
        if not self._active:
            # Nothing to read (no shard yet, or only children waiting): look again soon.
            self._refresh_at = self._clock.monotonic() + 1.0

    def _activate(self, shard_id: str, description: Mapping[str, Any], first_start: bool) -> bool:
        """Start reading a shard, or (LATEST, first start, closed) skip it; True if skipped."""
        checkpoints = self._require_checkpoints()
        shard = _Shard(shard_id)
        if first_start and self.config.starting_position == "LATEST":
            if "EndingSequenceNumber" in description.get("SequenceNumberRange", {}):
                # Closed: nothing will ever be written to it, so LATEST means none of it.
                checkpoints.finish(shard_id)
                return True
            if checkpoints.sequence(shard_id) is None:
                shard.skipping = True
                self._initial_skips.add(shard_id)
        self._active[shard_id] = shard
        log.debug("pipe %s: reading shard %s", self.config.name, shard_id)
        return False

    def _describe_shards(self) -> dict[str, dict[str, Any]]:
        shards: dict[str, dict[str, Any]] = {}
        request: dict[str, Any] = {"StreamArn": self.config.source}
        while True:
            description = self._streams.describe_stream(**request)["StreamDescription"]
            for shard in description.get("Shards", []):
                shards[shard["ShardId"]] = shard
            last = description.get("LastEvaluatedShardId")
            if not last:
                return shards
            request["ExclusiveStartShardId"] = last

    def _update_shard_stats(self) -> None:
        checkpoints = self._require_checkpoints()
        finished = sum(1 for shard_id in checkpoints.shards if checkpoints.finished(shard_id))
        self._update(shards_active=len(self._active), shards_finished=finished)

    def _step(self, shard: _Shard) -> bool:
        """Move one shard on by one call; True if it did something worth going on with."""
        now = self._clock.monotonic()
        if now < shard.retry_at:
            return False
        try:
            if shard.batch is not None:
                if now < shard.batch.next_try:
                    return False
                self._work(shard)
                return True
            read = 0 if shard.exhausted else self._read(shard)
            shard.errors = 0
        except (ClientError, BotoCoreError) as error:
            # The source failed (DynamoDB Local stopped, a shard gone): wait and try again.
            shard.errors += 1
            shard.retry_at = now + max(self._backoff.delay(shard.errors), self._poll_interval)
            log.warning("pipe %s: shard %s: %s", self.config.name, shard.shard_id, error)
            self._error(f"shard {shard.shard_id}: {error}")
            return False
        if shard.buffer and self._batch_ready(shard, now):
            records = shard.buffer[: self.config.batch_size]
            del shard.buffer[: self.config.batch_size]
            shard.buffer_since = now
            shard.batch = self._new_batch(records)
            self._work(shard)
            return True
        if shard.exhausted and not shard.buffer and shard.batch is None:
            self._finish_shard(shard)
            return True
        return read > 0

    def _batch_ready(self, shard: _Shard, now: float) -> bool:
        window = self.config.maximum_batching_window_seconds
        return (
            len(shard.buffer) >= self.config.batch_size
            or shard.exhausted
            or now - shard.buffer_since >= window
        )

    def _read(self, shard: _Shard) -> int:
        if shard.iterator is None:
            shard.iterator = self._open_iterator(shard)
            if shard.iterator is None:
                return 0
        wanted = _MAX_GET_RECORDS if shard.skipping else self.config.batch_size - len(shard.buffer)
        try:
            response = self._streams.get_records(ShardIterator=shard.iterator, Limit=max(wanted, 1))
        except ClientError as error:
            if _error_code(error) == "ExpiredIteratorException":
                shard.iterator = None  # reopened after the last record read
                return 0
            if _error_code(error) == "TrimmedDataAccessException":
                shard.iterator = None
                shard.last_read = None
                self._require_checkpoints().shards.get(shard.shard_id, {}).pop(
                    "sequenceNumber", None
                )
                log.warning(
                    "pipe %s: shard %s was trimmed past its checkpoint; reading from its "
                    "oldest record",
                    self.config.name,
                    shard.shard_id,
                )
                return 0
            raise
        records = response.get("Records", [])
        shard.iterator = response.get("NextShardIterator")
        if shard.iterator is None:
            shard.exhausted = True
        if records:
            shard.last_read = str(records[-1]["dynamodb"]["SequenceNumber"])
        if shard.skipping:
            return self._skip(shard, records)
        if records:
            if not shard.buffer:
                shard.buffer_since = self._clock.monotonic()
            shard.buffer.extend(pipe_event(record, self.config.source) for record in records)
            self._count(records_read=len(records))
        return len(records)

    def _skip(self, shard: _Shard, records: list[dict[str, Any]]) -> int:
        """LATEST at first start: pass over what the shard holds, remembering where it ends."""
        checkpoints = self._require_checkpoints()
        if records:
            checkpoints.advance(shard.shard_id, str(records[-1]["dynamodb"]["SequenceNumber"]))
            if not shard.exhausted:
                return len(records)
        # At the tip (or the end of a shard that closed meanwhile): every record from here
        # on is new.
        shard.skipping = False
        self._initial_skips.discard(shard.shard_id)
        if not self._initial_skips:
            checkpoints.initialized = True
        checkpoints.save()
        return 0

    def _open_iterator(self, shard: _Shard) -> str | None:
        checkpoints = self._require_checkpoints()
        after = shard.last_read or checkpoints.sequence(shard.shard_id)
        request: dict[str, Any] = {"StreamArn": self.config.source, "ShardId": shard.shard_id}
        if after is not None:
            request.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=after)
        else:
            # TRIM_HORIZON also for LATEST: _skip() finds the end, so it can be checkpointed.
            request.update(ShardIteratorType="TRIM_HORIZON")
        try:
            iterator: str = self._streams.get_shard_iterator(**request)["ShardIterator"]
        except ClientError as error:
            code = _error_code(error)
            if code == "TrimmedDataAccessException" and after is not None:
                log.warning(
                    "pipe %s: shard %s no longer holds record %s; reading from its oldest "
                    "record (what lay between is lost)",
                    self.config.name,
                    shard.shard_id,
                    after,
                )
                shard.last_read = None
                checkpoints.shards.get(shard.shard_id, {}).pop("sequenceNumber", None)
                return None
            if code == "ResourceNotFoundException":
                log.warning(
                    "pipe %s: shard %s is gone from the stream", self.config.name, shard.shard_id
                )
                self._active.pop(shard.shard_id, None)
                checkpoints.forget(shard.shard_id)
                checkpoints.save()
                self._refresh_at = 0.0
                return None
            raise
        return iterator

    def _finish_shard(self, shard: _Shard) -> None:
        checkpoints = self._require_checkpoints()
        checkpoints.finish(shard.shard_id)
        checkpoints.save()
        self._active.pop(shard.shard_id, None)
        self._refresh_at = 0.0  # its children can start now
        log.debug("pipe %s: shard %s read to its end", self.config.name, shard.shard_id)
        self._update_shard_stats()

    # -- batches -----------------------------------------------------------------------------

    def _new_batch(self, events: list[dict[str, Any]]) -> _Batch:
        items = [_Item(event, kept=self._passes(event)) for event in events]
        filtered = 0
        for item in items:
            if not item.kept:
                item.done = True
                filtered += 1
        if filtered:
            self._count(records_filtered_out=filtered)
        kept = [item for item in items if item.kept]
        return _Batch(items=items, parts=deque([_Part(kept)] if kept else []))

    def _passes(self, event: Mapping[str, Any]) -> bool:
        return not self._filters or any(pattern.matches(event) for pattern in self._filters)

    def _work(self, shard: _Shard) -> None:
        """One go at the shard's batch: give up expired records, deliver, dead-letter."""
        batch = shard.batch
        if batch is None:
            return
        self._expire(batch)
        if batch.parts:
            self._attempt(batch)
        if batch.dead and not self._send_dead_letters(shard, batch):
            batch.failures += 1
            batch.next_try = self._clock.monotonic() + self._backoff.delay(batch.failures)
        self._checkpoint(shard, batch)
        if batch.finished:
            shard.batch = None

    def _expire(self, batch: _Batch) -> None:
        limit = self.config.maximum_record_age_seconds
        if limit < 0:
            return
        now = self._clock.time()
        for part in list(batch.parts):
            expired = [item for item in part.items if self._age(item.event, now) > limit]
            if not expired:
                continue
            part.items = [item for item in part.items if item not in expired]
            if not part.items:
                batch.parts.remove(part)
            batch.dead.append((expired, "RecordAgeExceeded"))
            self._count(records_expired=len(expired))

    @staticmethod
    def _age(event: Mapping[str, Any], now: float) -> float:
        created = _created_at(event)
        if created is None:
            return 0.0
        # The stamp may be up to a minute early (see _CREATION_TIME_GRANULARITY_SECONDS):
        # take the latest the record can have been written, so none expires too soon.
        return now - min(created + _CREATION_TIME_GRANULARITY_SECONDS, now)

    def _attempt(self, batch: _Batch) -> None:
        part = batch.parts[0]
        failed, whole = self._put_events(part.items)
        for index, item in enumerate(part.items):
            if index not in failed:
                item.done = True
        delivered = len(part.items) - len(failed)
        if delivered:
            self._count(records_delivered=delivered)
            self._update(last_delivery_at=_iso(self._clock.time()))
        if not failed:
            batch.parts.popleft()
            batch.failures = 0
            batch.next_try = 0.0
            return
        self._count(delivery_failures=1)
        batch.failures += 1
        batch.next_try = self._clock.monotonic() + self._backoff.delay(batch.failures)
        if whole and self._bisect and len(part.items) > 1:
            # AUTOMATIC_BISECT: halve and retry each half; the halving itself is not a retry,
            # so a bad record ends up alone with its full retry allowance.
            middle = len(part.items) // 2
            batch.parts.popleft()
            batch.parts.extendleft(
                [_Part(part.items[middle:], part.retries), _Part(part.items[:middle], part.retries)]
            )
            self._count(retries=1)
            return
        # Entries PutEvents accepted are done; only the failed ones are tried again.
        part.items = [item for index, item in enumerate(part.items) if index in failed]
        part.retries += 1
        limit = self.config.maximum_retry_attempts
        if 0 <= limit < part.retries:
            batch.parts.popleft()
            batch.dead.append((part.items, "RetryAttemptsExhausted"))
            log.warning(
                "pipe %s: giving up %d record(s) after %d retries",
                self.config.name,
                len(part.items),
                limit,
            )
            return
        self._count(retries=1)

    def _put_events(self, items: list[_Item]) -> tuple[set[int], bool]:
        """Deliver ``items``; the indices that failed, and whether the whole call did."""
        entries: list[dict[str, Any]] = []
        indices: list[int] = []
        failed: set[int] = set()
        for index, item in enumerate(items):
            try:
                entries.append(self._entry(item.event))
                indices.append(index)
            except (TemplateError, ValueError) as error:
                # The record cannot make an event: it fails like a rejected entry would.
                log.warning("pipe %s: record %s: %s", self.config.name, item.sequence_number, error)
                self._error(f"record {item.sequence_number}: {error}")
                failed.add(index)
        if not entries:
            return failed, False
        try:
            response = self._events.put_events(Entries=entries)
        except (ClientError, BotoCoreError) as error:
            log.warning("pipe %s: PutEvents failed: %s", self.config.name, error)
            self._error(f"PutEvents: {error}")
            return set(range(len(items))), True
        results = response.get("Entries", [])
        if response.get("FailedEntryCount", 0) == 0 and len(results) == len(entries):
            return failed, False
        for position, index in enumerate(indices):
            result = results[position] if position < len(results) else {}
            if "EventId" not in result or result.get("ErrorCode"):
                failed.add(index)
        codes = sorted({str(r.get("ErrorCode")) for r in results if r.get("ErrorCode")})
        log.warning(
            "pipe %s: PutEvents rejected %d of %d entries (%s)",
            self.config.name,
            len(failed),
            len(items),
            ", ".join(codes) or "no entry results",
        )
        self._error(f"PutEvents rejected entries: {', '.join(codes) or 'no entry results'}")
        return failed, len(failed) == len(items)

    def _entry(self, event: dict[str, Any]) -> dict[str, Any]:
        """The PutEvents entry for one source record."""
        config = self.config
        if config.input_template is None:
            detail = json.dumps(event)
        else:
            detail = render_text(
                config.input_template,
                event,
                context={
                    "aws.pipes.pipe-arn": config.arn,
                    "aws.pipes.pipe-name": config.name,
                    "aws.pipes.source-arn": config.source,
                    "aws.pipes.enrichment-arn": "",
                    "aws.pipes.target-arn": config.target,
                    "aws.pipes.event.ingestion-time": _iso(self._clock.time()),
                },
            )
        entry: dict[str, Any] = {
            "Source": _dynamic(config.event_source, event) or f"Pipe {config.name}",
            "DetailType": _dynamic(config.detail_type, event) or _DEFAULT_DETAIL_TYPE,
            "Detail": detail,
            "EventBusName": config.target,
        }
        resources = [_dynamic(resource, event) for resource in config.resources]
        if any(resources):
            entry["Resources"] = [resource for resource in resources if resource]
        when = _dynamic(config.time, event)
        if when:
            entry["Time"] = _timestamp(when)
        return entry

    def _send_dead_letters(self, shard: _Shard, batch: _Batch) -> bool:
        """Send (or, with no DLQ, log and drop) what the batch gave up; False to retry."""
        while batch.dead:
            items, condition = batch.dead[0]
            events = [item.event for item in items]
            message = dead_letter_message(
                pipe_arn=self.config.arn,
                condition=condition,
                stream_arn=self.config.source,
                shard_id=shard.shard_id,
                events=events,
                timestamp=self._clock.time(),
            )
            if self.config.dead_letter_arn is None:
                log.error(
                    "pipe %s: no DLQ: dropping %d record(s) of shard %s, sequence numbers "
                    "%s..%s (%s)",
                    self.config.name,
                    len(items),
                    shard.shard_id,
                    items[0].sequence_number,
                    items[-1].sequence_number,
                    condition,
                )
                self._count(records_discarded=len(items))
            else:
                try:
                    self._sqs.send_message(
                        QueueUrl=self._dead_letter_queue_url(), MessageBody=json.dumps(message)
                    )
                except (ClientError, BotoCoreError) as error:
                    # The position must not move past records nobody was told about.
                    log.warning("pipe %s: DLQ send failed: %s", self.config.name, error)
                    self._error(f"DLQ SendMessage: {error}")
                    return False
                self._count(records_sent_to_dlq=len(items), dead_letter_messages=1)
            for item in items:
                item.done = True
            batch.dead.pop(0)
        return True

    def _dead_letter_queue_url(self) -> str:
        if self._dead_letter_url is None:
            _, account, queue_name = _match(_QUEUE_ARN, self.config.dead_letter_arn or "").groups()
            response = self._sqs.get_queue_url(QueueName=queue_name, QueueOwnerAWSAccountId=account)
            self._dead_letter_url = str(response["QueueUrl"])
        return self._dead_letter_url

    def _checkpoint(self, shard: _Shard, batch: _Batch) -> None:
        """Move the shard's position past the records dealt with, in stream order."""
        resolved = batch.resolved
        while resolved < len(batch.items) and batch.items[resolved].done:
            resolved += 1
        if resolved == batch.resolved:
            return
        batch.resolved = resolved
        checkpoints = self._require_checkpoints()
        checkpoints.advance(shard.shard_id, batch.items[resolved - 1].sequence_number)
        checkpoints.save()

    def _require_checkpoints(self) -> _Checkpoints:
        if self._checkpoints is None:
            raise RuntimeError("the pipe runner is not started")
        return self._checkpoints


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _dynamic(value: str | None, event: Mapping[str, Any]) -> str | None:
    """A target parameter: static, or a ``$.path`` into the source record (dynamic)."""
    if value is None or not value.startswith("$"):
        return value
    found, resolved = lookup(event, value)
    if not found or resolved is None:
        return None
    return resolved if isinstance(resolved, str) else json.dumps(resolved)


def _timestamp(value: str) -> dt.datetime:
    """PutEvents' ``Time`` from an RFC 3339 text or epoch seconds (as the stream stamps)."""
    try:
        return dt.datetime.fromtimestamp(float(value), dt.UTC)
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"Time {value!r} is neither RFC 3339 nor epoch seconds") from None

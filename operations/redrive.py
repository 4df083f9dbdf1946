"""The stack's dead-letter queues: list them, peek at their messages, redrive them.

Three kinds, each named as the stack names it:

- ``<Consumer>DeadLetterQueue`` (consumer): messages the consumer's function failed 5
  times, each the event as the rule delivered it. Redrive: back to ``<Consumer>QueueUrl``.
- ``<Consumer>TargetDeadLetterQueue`` (rule-target): events the rule could not deliver to
  the consumer's queue, with EventBridge's ``ERROR_CODE``. Redrive: to ``<Consumer>QueueUrl``.
- ``<Rule>TargetDeadLetterQueue`` (rule-target): the same for a rule whose target is not a
  consumer's queue (a log group, say). Redrive: refused; replay that rule's window.
- ``PipeDeadLetterQueue`` (pipe): descriptions of stream batches the JobClosed pipe gave up
  on (shard, sequence numbers), not events. Redrive: refused; ``operations.pipe`` re-reads
  the records they name instead.

The first and last come from the outputs; the rule targets' DLQs are found from the
rules (their ``DeadLetterConfig``), as the outputs do not list them.

**Peek** never deletes: it receives with a short visibility timeout (so repeated receives
return distinct messages) and sets every message's visibility back to 0 at the end, so
they are at once visible again. It does raise each message's ``ApproximateReceiveCount``;
on a DLQ (which has no redrive policy of its own) that changes nothing.

**Redrive** of a consumer's DLQ uses SQS's own ``StartMessageMoveTask`` (the DLQ ARN as
source, the consumer's queue as destination) and follows it with
``ListMessageMoveTasks``. An endpoint without that API (moto 5.2.5 answers HTTP 500
``NotImplementedError``, so the local cloud has none) or a queue it does not take (AWS
accepts only DLQs whose sources are SQS queues, not a rule target's) is redriven by
**copy**: receive up to 10, send them to the destination (body, message attributes,
X-Ray trace header), delete from the DLQ only what was sent; counts of moved and failed
messages are reported either way. Both are at least once: a message can be delivered
twice, never lost, which the idempotent consumers absorb.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, Literal

from botocore.exceptions import ClientError

from operations.rules import discover_routing
from operations.stack import Clients, OperationsError, StackOutputs
from stacks.constants import Output

__all__ = [
    "DeadLetterQueue",
    "PeekedMessage",
    "QueueKind",
    "RedriveReport",
    "dead_letter_queues",
    "find_queue",
    "peek",
    "redrive",
]

Method = Literal["auto", "move-task", "copy"]

# How long peek and copy hide a message they hold; it comes back by itself after this if
# the tool dies, so nothing is ever stuck.
PEEK_HOLD_SECONDS: Final = 30
COPY_HOLD_SECONDS: Final = 60
SQS_BATCH: Final = 10
DEFAULT_TIMEOUT_SECONDS: Final = 300.0
POLL_SECONDS: Final = 1.0
# DynamoDB Streams keeps records 24 hours: past that, a pipe DLQ message points at nothing.
STREAM_RETENTION: Final = dt.timedelta(hours=24)
MOVE_TASK_TERMINAL: Final = frozenset({"COMPLETED", "CANCELLED", "FAILED"})

# What an endpoint without StartMessageMoveTask answers: moto's NotImplementedError comes
# back as HTTP 500 with an HTML body (botocore then reports the status as the code).
_UNSUPPORTED_CODES: Final = frozenset(
    {
        "InvalidAction",
        "UnknownOperation",
        "UnknownOperationException",
        "NotImplemented",
        "UnsupportedOperation",
        "AWS.SimpleQueueService.UnsupportedOperation",
        "500",
        "501",
    }
)
_BATCH_TOO_LONG: Final = frozenset(
    {"BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong"}
)

PIPE_REFUSAL: Final = (
    "{name} holds descriptions of stream batches the JobClosed pipe gave up on (the shard "
    "and the range of sequence numbers), not events: put back on a queue they would reach "
    "no consumer. `python -m operations pipe reread` reads those records back from the "
    "table's stream (it keeps them 24 hours) and puts their JobClosed events on the bus; "
    "`dlq peek {name}` shows the positions. See docs/operations.md, runbook 'A stuck pipe'."
)


class QueueKind(StrEnum):
    CONSUMER = "consumer"
    RULE_TARGET = "rule-target"
    PIPE = "pipe"


@dataclass(frozen=True)
class DeadLetterQueue:
    """One DLQ of the stack, and where its messages belong."""

    name: str
    kind: QueueKind
    url: str
    #: The consumer whose messages it holds (None for the pipe's).
    consumer: str | None = None
    #: Where a redrive sends its messages (the consumer's queue); None: no redrive.
    destination_url: str | None = None
    #: For a rule target that is not a consumer's queue: the target (a log group…).
    target_arn: str | None = None

    @property
    def aliases(self) -> tuple[str, ...]:
        """Other names an operator may type: the consumer, the output key, the queue name."""
        names = [self.url, self.url.rstrip("/").rpartition("/")[2]]
        if self.kind is QueueKind.CONSUMER and self.consumer:
            names += [self.consumer, Output.dead_letter_queue_url(self.consumer)]
        if self.kind is QueueKind.PIPE:
            names += ["Pipe", Output.PIPE_DEAD_LETTER_QUEUE_URL]
        return tuple(names)


def dead_letter_queues(
    outputs: StackOutputs, target_dead_letter_urls: Mapping[str, Sequence[str]] | None = None
) -> list[DeadLetterQueue]:
    """Every DLQ of the stack: the consumers' and the pipe's (outputs), the rule targets'
    (``target_dead_letter_urls``: consumer -> URLs, found from the rules)."""
    queues = []
    for consumer in outputs.consumers:
        queues.append(
            DeadLetterQueue(
                name=f"{consumer.name}DeadLetterQueue",
                kind=QueueKind.CONSUMER,
                url=consumer.dead_letter_queue_url,
                consumer=consumer.name,
                destination_url=consumer.queue_url,
            )
        )
        for index, url in enumerate((target_dead_letter_urls or {}).get(consumer.name, [])):
            suffix = "" if index == 0 else str(index + 1)
            queues.append(
                DeadLetterQueue(
                    name=f"{consumer.name}TargetDeadLetterQueue{suffix}",
                    kind=QueueKind.RULE_TARGET,
                    url=url,
                    consumer=consumer.name,
                    destination_url=consumer.queue_url,
                )
            )
    pipe_url = outputs.values.get(Output.PIPE_DEAD_LETTER_QUEUE_URL)
    if pipe_url:
        name = Output.PIPE_DEAD_LETTER_QUEUE_URL.removesuffix("Url")
        queues.append(DeadLetterQueue(name=name, kind=QueueKind.PIPE, url=pipe_url))
    return queues


def find_queue(queues: Sequence[DeadLetterQueue], name: str) -> DeadLetterQueue:
    """The DLQ called ``name`` (or one of its aliases); an unknown name lists the valid ones."""
    for queue in queues:
        if name == queue.name:
            return queue
    for queue in queues:
        if name in queue.aliases:
            return queue
    valid = ", ".join(queue.name for queue in queues) or "none"
    raise OperationsError(f"no dead-letter queue {name!r} in the stack; valid: {valid}")


# -- counts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueCounts:
    """A queue's approximate counts (SQS's, eventually consistent by a minute or so)."""

    visible: int
    in_flight: int
    delayed: int
    arn: str


def queue_counts(sqs: Any, url: str) -> QueueCounts:
    """GetQueueAttributes: the counts and the ARN."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=[
            "QueueArn",
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return QueueCounts(
        visible=int(attributes.get("ApproximateNumberOfMessages", 0)),
        in_flight=int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
        delayed=int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
        arn=str(attributes["QueueArn"]),
    )


def queue_url_of_arn(sqs: Any, arn: str) -> str:
    """A queue's URL from its ARN (``arn:aws:sqs:region:account:name``)."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs":
        raise OperationsError(f"not an SQS queue ARN: {arn}")
    answer = sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])
    return str(answer["QueueUrl"])


def stack_dead_letter_queues(clients: Clients, outputs: StackOutputs) -> list[DeadLetterQueue]:
    """Every DLQ of the stack, the rule targets' found from the rules."""
    routing = discover_routing(clients, outputs)
    target_urls = {
        consumer: [queue_url_of_arn(clients.sqs, arn) for arn in arns]
        for consumer, arns in routing.target_dead_letters().items()
    }
    queues = dead_letter_queues(outputs, target_urls)
    known = {queue.url for queue in queues}
    for rule, target_arn, dead_letter_arn in routing.other_dead_letters():
        url = queue_url_of_arn(clients.sqs, dead_letter_arn)
        if url in known:
            continue
        known.add(url)
        queues.append(
            DeadLetterQueue(
                name=f"{rule}TargetDeadLetterQueue",
                kind=QueueKind.RULE_TARGET,
                url=url,
                target_arn=target_arn,
            )
        )
    return queues


# -- peek ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeekedMessage:
    """One message as peek shows it."""

    message_id: str
    body: str
    attributes: Mapping[str, str]
    message_attributes: Mapping[str, str]

    @property
    def sent(self) -> dt.datetime | None:
        return _epoch_millis(self.attributes.get("SentTimestamp"))

    @property
    def receive_count(self) -> int | None:
        count = self.attributes.get("ApproximateReceiveCount")
        return int(count) if count is not None else None

    @property
    def json_body(self) -> Any:
        """The body as JSON, or None when it is not JSON (a poison message, often)."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def stream_batch(self, now: dt.datetime) -> dict[str, Any] | None:
        """For a pipe DLQ message: where its records are in the stream, and whether they
        are still there (24 hours from their arrival)."""
        body = self.json_body
        info = body.get("DDBStreamBatchInfo") if isinstance(body, dict) else None
        if not isinstance(info, dict):
            return None
        first = _iso_time(info.get("approximateArrivalOfFirstRecord"))
        context = body.get("context") if isinstance(body.get("context"), dict) else {}
        return {
            "condition": (context or {}).get("condition"),
            "pipeArn": (context or {}).get("partnerResourceArn"),
            "streamArn": info.get("streamArn"),
            "shardId": info.get("shardId"),
            "startSequenceNumber": info.get("startSequenceNumber"),
            "endSequenceNumber": info.get("endSequenceNumber"),
            "batchSize": info.get("batchSize"),
            "approximateArrivalOfFirstRecord": info.get("approximateArrivalOfFirstRecord"),
            "approximateArrivalOfLastRecord": info.get("approximateArrivalOfLastRecord"),
            "inStreamUntil": _iso(first + STREAM_RETENTION) if first else None,
            "stillInStream": (first + STREAM_RETENTION > now) if first else None,
        }

    def as_dict(self, now: dt.datetime) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "messageId": self.message_id,
            "sent": _iso(self.sent),
            "approximateReceiveCount": self.receive_count,
            "messageAttributes": dict(self.message_attributes),
            "body": self.json_body if self.json_body is not None else self.body,
        }
        batch = self.stream_batch(now)
        if batch is not None:
            answer["streamBatch"] = batch
        return answer


def _epoch_millis(value: str | None) -> dt.datetime | None:
    if value is None or not value.isdigit():
        return None
    return dt.datetime.fromtimestamp(int(value) / 1000, dt.UTC)


def _iso_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _iso(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _attribute_text(value: Mapping[str, Any]) -> str:
    if "StringValue" in value:
        return str(value["StringValue"])
    return f"<{value.get('DataType', 'Binary')}>"


def peek(sqs: Any, queue: DeadLetterQueue, max_messages: int = SQS_BATCH) -> list[PeekedMessage]:
    """Up to ``max_messages`` messages of the queue, left in it and visible again at the end."""
    if max_messages < 1:
        raise OperationsError("--max must be at least 1")
    held: dict[str, dict[str, Any]] = {}
    try:
        while len(held) < max_messages:
            answer = sqs.receive_message(
                QueueUrl=queue.url,
                MaxNumberOfMessages=min(SQS_BATCH, max_messages - len(held)),
                # Hidden while peeking, so the next receive returns other messages.
                VisibilityTimeout=PEEK_HOLD_SECONDS,
                WaitTimeSeconds=1,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            messages = answer.get("Messages") or []
            if not messages:
                break
            for message in messages:
                held[message["MessageId"]] = message
    finally:
        _release(sqs, queue.url, list(held.values()))
    return [
        PeekedMessage(
            message_id=message["MessageId"],
            body=message.get("Body", ""),
            attributes=dict(message.get("Attributes") or {}),
            message_attributes={
                name: _attribute_text(value)
                for name, value in (message.get("MessageAttributes") or {}).items()
            },
        )
        for message in held.values()
    ]


def _release(sqs: Any, url: str, messages: Sequence[Mapping[str, Any]]) -> None:
    """Make held messages visible at once (visibility 0), 10 per call."""
    for start in range(0, len(messages), SQS_BATCH):
        chunk = messages[start : start + SQS_BATCH]
        sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(index), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for index, m in enumerate(chunk)
            ],
        )


# -- redrive -------------------------------------------------------------------------------


@dataclass
class RedriveReport:
    """What a redrive did. ``moved`` and ``failed`` are SQS's approximate numbers for a
    move task, exact counts for a copy."""

    queue: str
    destination_url: str
    method: Literal["move-task", "copy"]
    moved: int = 0
    failed: int = 0
    #: Sent to the destination but not deleted from the DLQ: they will show up there again
    #: (a duplicate, which the idempotent consumers absorb).
    not_deleted: int = 0
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    task: dict[str, Any] | None = None
    timed_out: bool = False
    remaining: int | None = None

    @property
    def succeeded(self) -> bool:
        return self.failed == 0 and not self.timed_out

    def as_dict(self) -> dict[str, Any]:
        return {
            "queue": self.queue,
            "destination": self.destination_url,
            "method": self.method,
            "moved": self.moved,
            "failed": self.failed,
            "notDeleted": self.not_deleted,
            "failures": self.failures,
            "notes": self.notes,
            "task": self.task,
            "timedOut": self.timed_out,
            "remaining": self.remaining,
        }


class MoveTaskUnavailable(Exception):
    """StartMessageMoveTask is not there (the endpoint) or not for this queue (AWS)."""


def redrive(
    sqs: Any,
    queue: DeadLetterQueue,
    *,
    method: Method = "auto",
    max_messages: int | None = None,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    poll_seconds: float = POLL_SECONDS,
) -> RedriveReport:
    """Move the DLQ's messages back to where they belong; see the module docstring."""
    if queue.kind is QueueKind.PIPE:
        raise OperationsError(PIPE_REFUSAL.format(name=queue.name))
    if queue.destination_url is None:
        raise OperationsError(
            f"{queue.name} holds events its rule could not deliver to {queue.target_arn}, "
            "which is not a queue to send them back to. They are in the archive: once the "
            "target works, replay their window to that rule (aws events start-replay with "
            "Destination.FilterArns set to the rule's ARN), then purge this queue."
        )
    if max_messages is not None and max_messages < 1:
        raise OperationsError("--max must be at least 1")
    if method == "move-task" and max_messages is not None:
        raise OperationsError("a move task moves every message: --max needs --method copy")
    notes = []
    use_task = method == "move-task" or (
        method == "auto" and queue.kind is QueueKind.CONSUMER and max_messages is None
    )
    deadline = clock() + timeout_seconds
    if use_task:
        try:
            return _move_task(
                sqs,
                queue,
                queue.destination_url,
                deadline,
                sleep=sleep,
                clock=clock,
                poll=poll_seconds,
            )
        except MoveTaskUnavailable as error:
            if method == "move-task":
                raise OperationsError(
                    f"StartMessageMoveTask is not available here ({error}): use --method copy"
                ) from error
            notes.append(
                f"StartMessageMoveTask is not available here ({error}): "
                "moved by receive, send and delete instead"
            )
    elif method == "auto" and queue.kind is QueueKind.RULE_TARGET:
        notes.append(
            "a rule target's DLQ is not one StartMessageMoveTask takes (its source is not an "
            "SQS queue): moved by receive, send and delete"
        )
    report = _copy(sqs, queue, queue.destination_url, max_messages, deadline, clock=clock)
    report.notes[:0] = notes
    report.remaining = queue_counts(sqs, queue.url).visible
    return report


def _move_task(
    sqs: Any,
    queue: DeadLetterQueue,
    destination_url: str,
    deadline: float,
    *,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    poll: float,
) -> RedriveReport:
    source_arn = queue_counts(sqs, queue.url).arn
    destination_arn = queue_counts(sqs, destination_url).arn
    try:
        started = sqs.start_message_move_task(SourceArn=source_arn, DestinationArn=destination_arn)
    except ClientError as error:
        code = error.response["Error"].get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in _UNSUPPORTED_CODES or status == 501:
            raise MoveTaskUnavailable(f"{code or status}") from error
        raise OperationsError(
            f"StartMessageMoveTask failed: {code}: {error.response['Error'].get('Message')}"
        ) from error
    report = RedriveReport(queue=queue.name, destination_url=destination_url, method="move-task")
    handle = started.get("TaskHandle")
    while True:
        tasks = sqs.list_message_move_tasks(SourceArn=source_arn, MaxResults=1).get("Results")
        # One task at a time per source queue, newest first: the first is the one started.
        task = dict(tasks[0]) if tasks else {"Status": "RUNNING", "TaskHandle": handle}
        report.task = {key: _jsonable(value) for key, value in task.items()}
        report.moved = int(task.get("ApproximateNumberOfMessagesMoved") or 0)
        status = task.get("Status")
        if status in MOVE_TASK_TERMINAL:
            if status != "COMPLETED":
                to_move = int(task.get("ApproximateNumberOfMessagesToMove") or report.moved)
                report.failed = max(0, to_move - report.moved)
                report.failures.append(f"{status}: {task.get('FailureReason') or 'no reason'}")
            break
        if clock() >= deadline:
            report.timed_out = True
            report.notes.append(
                "the move task goes on in SQS; follow it with `aws sqs list-message-move-tasks "
                f"--source-arn {source_arn}`"
            )
            break
        sleep(poll)
    report.remaining = queue_counts(sqs, queue.url).visible
    return report


def _jsonable(value: Any) -> Any:
    return _iso(value) if isinstance(value, dt.datetime) else value


def _copy(
    sqs: Any,
    queue: DeadLetterQueue,
    destination_url: str,
    max_messages: int | None,
    deadline: float,
    *,
    clock: Callable[[], float],
) -> RedriveReport:
    report = RedriveReport(queue=queue.name, destination_url=destination_url, method="copy")
    undeleted: dict[str, str] = {}  # MessageId -> receipt handle: sent, delete failed
    failed_ids: set[str] = set()
    while max_messages is None or report.moved + report.failed < max_messages:
        if clock() >= deadline:
            report.timed_out = True
            break
        wanted = SQS_BATCH if max_messages is None else max_messages - report.moved - report.failed
        messages = (
            sqs.receive_message(
                QueueUrl=queue.url,
                MaxNumberOfMessages=min(SQS_BATCH, wanted),
                # Held while being moved; a message that could not be sent comes back by itself.
                VisibilityTimeout=COPY_HOLD_SECONDS,
                WaitTimeSeconds=1,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages")
            or []
        )
        # A message sent earlier whose delete failed is back: delete it, never send it twice.
        again = {
            m["MessageId"]: m["ReceiptHandle"] for m in messages if m["MessageId"] in undeleted
        }
        fresh = [m for m in messages if m["MessageId"] not in undeleted | again]
        fresh = [m for m in fresh if m["MessageId"] not in failed_ids]
        if not fresh and not again:
            # Empty, or only messages that already failed to send: trying again changes nothing.
            break
        sent, failures = _send(sqs, destination_url, fresh)
        for message_id, reason in failures.items():
            failed_ids.add(message_id)
            report.failed += 1
            report.failures.append(f"{message_id}: {reason}")
        report.moved += len(sent)
        to_delete = (
            undeleted
            | again
            | {m["MessageId"]: m["ReceiptHandle"] for m in fresh if m["MessageId"] in sent}
        )
        undeleted = _delete(sqs, queue.url, to_delete)
    report.not_deleted = len(undeleted)
    return report


def _send(
    sqs: Any, url: str, messages: Sequence[Mapping[str, Any]]
) -> tuple[set[str], dict[str, str]]:
    """Send copies of ``messages``; the ids sent, and the reason per id not sent."""
    if not messages:
        return set(), {}
    entries = {str(index): _copy_entry(message, url) for index, message in enumerate(messages)}
    ids = {str(index): message["MessageId"] for index, message in enumerate(messages)}
    try:
        answer = sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": key, **entry} for key, entry in entries.items()]
        )
    except ClientError as error:
        if error.response["Error"].get("Code") not in _BATCH_TOO_LONG:
            raise
        # Ten large messages can pass the batch's size limit: send them one by one.
        sent, failed = set(), {}
        for key, entry in entries.items():
            try:
                sqs.send_message(QueueUrl=url, **entry)
                sent.add(ids[key])
            except ClientError as single:
                failed[ids[key]] = _reason(single.response["Error"])
        return sent, failed
    sent = {ids[item["Id"]] for item in answer.get("Successful") or []}
    failed = {ids[item["Id"]]: _reason(item) for item in answer.get("Failed") or []}
    return sent, failed


def _reason(error: Mapping[str, Any]) -> str:
    return f"{error.get('Code')}: {error.get('Message') or 'no message'}"


def _copy_entry(message: Mapping[str, Any], destination_url: str) -> dict[str, Any]:
    """SendMessage's arguments for a copy of a received message."""
    entry: dict[str, Any] = {"MessageBody": message.get("Body", "")}
    attributes = {
        name: {
            key: value[key] for key in ("DataType", "StringValue", "BinaryValue") if key in value
        }
        for name, value in (message.get("MessageAttributes") or {}).items()
    }
    if attributes:
        entry["MessageAttributes"] = attributes
    system = message.get("Attributes") or {}
    if "AWSTraceHeader" in system:
        # The only system attribute SendMessage takes: it keeps the X-Ray trace joined up.
        entry["MessageSystemAttributes"] = {
            "AWSTraceHeader": {"DataType": "String", "StringValue": system["AWSTraceHeader"]}
        }
    if destination_url.endswith(".fifo"):
        entry["MessageGroupId"] = system.get("MessageGroupId", "redrive")
        entry["MessageDeduplicationId"] = (
            system.get("MessageDeduplicationId") or message["MessageId"]
        )
    return entry


def _delete(sqs: Any, url: str, handles: Mapping[str, str]) -> dict[str, str]:
    """Delete by receipt handle, 10 per call; the ones that could not be deleted."""
    items = list(handles.items())
    left: dict[str, str] = {}
    for start in range(0, len(items), SQS_BATCH):
        chunk = dict(items[start : start + SQS_BATCH])
        answer = sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(chunk.values())],
        )
        ids = list(chunk)
        for failure in answer.get("Failed") or []:
            message_id = ids[int(failure["Id"])]
            left[message_id] = chunk[message_id]
    return left

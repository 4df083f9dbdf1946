"""Recover what the JobClosed pipe gave up on: re-read the records its DLQ names.

A pipe with a DynamoDB stream source does not send its DLQ the records it could not
deliver, only where they are: the shard and the range of sequence numbers
(``DDBStreamBatchInfo``). Those records never reached the bus, so they are not in the
archive and a replay cannot bring them back. While the stream still keeps them (24 hours
from their arrival) they can be read back and sent on as the pipe would have:

1. read the shard from ``startSequenceNumber`` (GetShardIterator AT_SEQUENCE_NUMBER,
   GetRecords) up to ``endSequenceNumber``;
2. keep the records the pipe's filter keeps, and make each one's ``JobClosed`` with the
   pipe's own input template (``events_schema.job_closed_pipe``, the definitions the
   stack deploys; applied with the local cloud's Pipes semantics, which the contract
   tests check against the stack's template);
3. PutEvents them on the bus, and delete the DLQ message once every event of it was
   accepted.

After a partial failure the range can also cover records that were delivered: they are
sent again, which the consumers absorb (they are idempotent, as for any redelivery). A
message whose records have left the stream stays in the DLQ, reported: rebuild those
events from the CLOSED jobs (docs/operations.md, runbook "A stuck pipe").
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from botocore.exceptions import ClientError, ParamValidationError

from events_schema.job_closed_pipe import DETAIL_TYPE, FILTER_PATTERN, INPUT_TEMPLATE, SOURCE
from localcloud.event_pattern import EventPattern
from localcloud.input_template import render

__all__ = ["RecordsGone", "RereadReport", "StreamBatch", "job_closed_entries", "reread"]

# The pipe's DLQ message is held this long while its records are read and sent; if the
# tool dies, it comes back by itself.
HOLD_SECONDS: Final = 120
# GetRecords answers nothing for a while on a shard with no newer records: stop reading
# after this many empty pages rather than polling an open shard forever.
EMPTY_READS: Final = 3
PUT_EVENTS_BATCH: Final = 10  # PutEvents' limit
SQS_BATCH: Final = 10
# What DynamoDB Streams answers for records or shards past their 24 hours.
_GONE: Final = frozenset(
    {"TrimmedDataAccessException", "ResourceNotFoundException", "ExpiredIteratorException"}
)
_FILTER: Final = EventPattern(FILTER_PATTERN, for_pipes=True)


class RecordsGone(Exception):
    """The stream no longer has the records (or the shard) a DLQ message names."""


@dataclass(frozen=True)
class StreamBatch:
    """Where the records of one pipe DLQ message are."""

    stream_arn: str
    shard_id: str
    start: str
    end: str
    batch_size: int | None = None

    @classmethod
    def from_body(cls, body: str) -> StreamBatch | None:
        """The batch a pipe DLQ message describes; None if the body is not such a message."""
        try:
            document = json.loads(body)
        except ValueError:
            return None
        info = document.get("DDBStreamBatchInfo") if isinstance(document, dict) else None
        if not isinstance(info, dict):
            return None
        try:
            return cls(
                stream_arn=str(info["streamArn"]),
                shard_id=str(info["shardId"]),
                start=str(info["startSequenceNumber"]),
                end=str(info["endSequenceNumber"]),
                batch_size=info.get("batchSize"),
            )
        except KeyError:
            return None


def read_records(streams: Any, batch: StreamBatch) -> list[dict[str, Any]]:
    """The shard's records from ``batch.start`` to ``batch.end`` (both included)."""
    end = int(batch.end)
    try:
        iterator = streams.get_shard_iterator(
            StreamArn=batch.stream_arn,
            ShardId=batch.shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=batch.start,
        )["ShardIterator"]
        records: list[dict[str, Any]] = []
        empty = 0
        while iterator and empty < EMPTY_READS:
            answer = streams.get_records(ShardIterator=iterator)
            page = answer.get("Records") or []
            empty = 0 if page else empty + 1
            for record in page:
                if int(record["dynamodb"]["SequenceNumber"]) > end:
                    return records
                records.append(record)
                if int(record["dynamodb"]["SequenceNumber"]) == end:
                    return records
            iterator = answer.get("NextShardIterator")
        return records
    except ClientError as error:
        code = error.response["Error"].get("Code", "")
        if code in _GONE:
            raise RecordsGone(f"{code}: {error.response['Error'].get('Message')}") from error
        raise


def _as_delivered(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record as the pipe sees it: JSON, so the creation time in epoch seconds."""
    dynamodb = dict(record.get("dynamodb") or {})
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, dt.datetime):
        dynamodb["ApproximateCreationDateTime"] = created.timestamp()
    return {**record, "dynamodb": dynamodb}


def job_closed_entries(
    records: Sequence[Mapping[str, Any]], bus_name: str, now: dt.datetime
) -> list[dict[str, Any]]:
    """PutEvents entries for the records the pipe would have sent, as it would have made them."""
    ingestion = now.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    entries = []
    for record in map(_as_delivered, records):
        if not _FILTER.matches(record):
            continue
        detail = render(
            INPUT_TEMPLATE, record, context={"aws.pipes.event.ingestion-time": ingestion}
        )
        entries.append(
            {
                "Source": SOURCE,
                "DetailType": DETAIL_TYPE,
                "Detail": json.dumps(detail),
                "EventBusName": bus_name,
            }
        )
    return entries


@dataclass
class RereadReport:
    """What a re-read did, message by message."""

    dry_run: bool
    messages: int = 0
    records_read: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)
    events_put: int = 0
    #: DLQ messages done with (all their events on the bus) and deleted.
    resolved: int = 0
    #: DLQ messages left in the queue for a reason to look into, each with the reason
    #: (a dry run leaves every message, and lists none here).
    left: list[str] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return not self.left

    def as_dict(self) -> dict[str, Any]:
        return {
            "dryRun": self.dry_run,
            "messages": self.messages,
            "recordsRead": self.records_read,
            "events": [json.loads(entry["Detail"]) for entry in self.events],
            "eventsPut": self.events_put,
            "resolved": self.resolved,
            "left": self.left,
        }


def reread(
    sqs: Any,
    streams: Any,
    events: Any,
    *,
    queue_url: str,
    bus_name: str,
    dry_run: bool = False,
    max_messages: int | None = None,
    now: dt.datetime | None = None,
) -> RereadReport:
    """Re-read the records every message of the pipe's DLQ names, and send their events."""
    now = now or dt.datetime.now(dt.UTC)
    report = RereadReport(dry_run=dry_run)
    held: list[dict[str, Any]] = []  # messages kept in the DLQ: made visible again at the end
    try:
        while max_messages is None or report.messages < max_messages:
            wanted = SQS_BATCH if max_messages is None else max_messages - report.messages
            messages = (
                sqs.receive_message(
                    QueueUrl=queue_url,
                    MaxNumberOfMessages=min(SQS_BATCH, wanted),
                    VisibilityTimeout=HOLD_SECONDS,
                    WaitTimeSeconds=1,
                ).get("Messages")
                or []
            )
            if not messages:
                break
            for message in messages:
                report.messages += 1
                held.append(message)  # released at the end unless resolved, even on an error
                if _reread_one(message, streams, events, bus_name, now, report):
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                    held.remove(message)
                    report.resolved += 1
    finally:
        for message in held:
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
    return report


def _reread_one(
    message: Mapping[str, Any],
    streams: Any,
    events: Any,
    bus_name: str,
    now: dt.datetime,
    report: RereadReport,
) -> bool:
    """One DLQ message; True when it is done with and can be deleted."""
    message_id = message["MessageId"]
    batch = StreamBatch.from_body(message.get("Body", ""))
    if batch is None:
        report.left.append(f"{message_id}: not a stream batch description; left as it is")
        return False
    try:
        records = read_records(streams, batch)
    except ParamValidationError as error:
        reason = str(error).replace("\n", "; ")
        report.left.append(f"{message_id}: not a valid stream position ({reason}); left as it is")
        return False
    except RecordsGone as error:
        report.left.append(
            f"{message_id}: the records of shard {batch.shard_id} {batch.start}..{batch.end} "
            f"are no longer in the stream ({error}): rebuild them from the CLOSED jobs"
        )
        return False
    report.records_read += len(records)
    entries = job_closed_entries(records, bus_name, now)
    report.events.extend(entries)
    if report.dry_run:
        return False  # shown, not sent: the message stays for the real run
    for start in range(0, len(entries), PUT_EVENTS_BATCH):
        answer = events.put_events(Entries=entries[start : start + PUT_EVENTS_BATCH])
        accepted = len(answer.get("Entries") or []) - int(answer.get("FailedEntryCount") or 0)
        report.events_put += accepted
        if answer.get("FailedEntryCount"):
            failures = [e for e in answer.get("Entries") or [] if e.get("ErrorCode")]
            report.left.append(
                f"{message_id}: {answer['FailedEntryCount']} event(s) refused by the bus "
                f"({failures[0].get('ErrorCode') if failures else 'unknown'}); left in the DLQ "
                "to try again (what was sent is sent again then, which the consumers absorb)"
            )
            return False
    return True

"""Watching a booking settle from outside the edge router, so the watching is not counted.

A booking is settled when every other application of the job is DECLINED and, for this
design, the booked nanny's notification has been published. ``Observer`` sees both from
the backends directly (DynamoDB Local and moto, whose addresses the local cloud writes to
``localcloud.json``): its reads never pass through the edge router, so the router's
request counts stay those of the designs measured::

    observer = Observer.of(cloud)
    with observer.inbox(topic_arn, nanny_username) as inbox:
        observer.wait_for_pipe()                       # the stream's backlog is read
        tail = observer.tail()                         # the table's stream from now on
        started = time.perf_counter()
        ...                                            # book
        settled = observer.settle(job, tail, answered, inbox=inbox, timeout=60)
        settled.declined_at, settled.notified_at       # perf_counter() instants

The declines are seen on the table's **stream** (every write is a record there the moment
it is made): reading it every ``POLL_SECONDS`` costs the table nothing, where reading
1000 applications' statuses that often would load DynamoDB Local while it declines them.
Once the stream shows every other application DECLINED, one strongly consistent
``BatchGetItem`` of all of them checks it. An instant here is when the read that saw the
change returned: late by at most one interval and one read.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import boto3

from bench.cloud import BenchCloud
from services.common.dal.applications import application_key
from services.common.dal.table import to_attribute_values
from tests.e2e.client import subscribe_inbox

__all__ = ["BenchError", "Inbox", "Observer", "SeededJob", "Settled", "StreamTail"]

POLL_SECONDS: Final = 0.075
_BATCH_GET_LIMIT: Final = 100


class BenchError(Exception):
    """The system under measurement did not do what it must: the figures would lie."""


@dataclass(frozen=True)
class SeededJob:
    """A job written for one booking: OPEN, with one application to accept and the rest."""

    job_id: str
    parent_username: str
    accepted_application_id: str
    accepted_applicant: str
    other_application_ids: tuple[str, ...]

    @property
    def applications(self) -> int:
        return 1 + len(self.other_application_ids)


@dataclass(frozen=True)
class Settled:
    """``perf_counter()`` instants: the last decline seen, the first one seen (None when
    there was none to make), the notification seen (None when not waited for); and how
    many declines the read that saw the first one saw (they happened before it)."""

    declined_at: float
    first_decline_at: float | None
    notified_at: float | None
    first_read_declines: int = 0

    @property
    def settled_at(self) -> float:
        return max(self.declined_at, self.notified_at or self.declined_at)


def _part_address(state_dir: Path, prefix: str) -> str:
    status = json.loads((state_dir / "localcloud.json").read_text(encoding="utf-8"))
    (address,) = [part["address"] for part in status["parts"] if part["name"].startswith(prefix)]
    return str(address)


class Inbox:
    """An SQS queue subscribed to the notification topic for one recipient (a phone)."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.seen: dict[str, float] = {}
        """job id -> when its notification was read."""

    def poll(self) -> None:
        answer = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
        now = time.perf_counter()
        for message in answer.get("Messages", []):
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            envelope = json.loads(message["Body"])
            document = json.loads(envelope["Message"])
            self.seen.setdefault(document["data"]["jobId"], now)


class StreamTail:
    """The table's stream from the moment it is made on: every open shard, read on."""

    def __init__(self, streams: Any, stream_arn: str) -> None:
        self.streams = streams
        self._iterators: list[str] = []
        description = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]
        for shard in description["Shards"]:
            if "EndingSequenceNumber" in shard.get("SequenceNumberRange", {}):
                continue  # closed: nothing will be written there
            self._iterators.append(
                streams.get_shard_iterator(
                    StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
                )["ShardIterator"]
            )

    def read(self) -> list[dict[str, Any]]:
        """Every record written since the last read."""
        records: list[dict[str, Any]] = []
        iterators, self._iterators = self._iterators, []
        for iterator in iterators:
            current: str | None = iterator
            while current is not None:
                answer = self.streams.get_records(ShardIterator=current, Limit=1000)
                records.extend(answer["Records"])
                following = answer.get("NextShardIterator")
                if not answer["Records"] or following is None:
                    if following is not None:
                        self._iterators.append(following)
                    break
                current = following
        return records


def _declined_application(record: dict[str, Any], job_id: str) -> tuple[str, str] | None:
    """(application id, new status) if ``record`` changed an application of ``job_id``."""
    image = record.get("dynamodb", {}).get("NewImage") or {}
    prefix = f"JOB#{job_id}#APPLICATION#"
    key = image.get("PK", {}).get("S", "")
    if not key.startswith(prefix) or "jobApplicationStatus" not in image:
        return None
    return key.removeprefix(prefix), image["jobApplicationStatus"]["S"]


class Observer:
    """Direct clients to DynamoDB Local and moto, and the pipe's checkpoint directory."""

    def __init__(
        self, table_name: str, dynamodb_url: str, moto_url: str, pipes_dir: Path, region: str
    ) -> None:
        self._stream_arn: str | None = None
        credentials = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
        self.table_name = table_name
        self.dynamodb = boto3.client(
            "dynamodb", endpoint_url=dynamodb_url, region_name=region, **credentials
        )
        self.streams = boto3.client(
            "dynamodbstreams", endpoint_url=dynamodb_url, region_name=region, **credentials
        )
        self.sqs = boto3.client("sqs", endpoint_url=moto_url, region_name=region, **credentials)
        self.sns = boto3.client("sns", endpoint_url=moto_url, region_name=region, **credentials)
        self.pipes_dir = pipes_dir

    @classmethod
    def of(cls, cloud: BenchCloud) -> Observer:
        state_dir = cloud.process.state_dir
        return cls(
            cloud.stack.outputs["TableName"],
            _part_address(state_dir, "DynamoDB Local"),
            _part_address(state_dir, "moto"),
            state_dir / "pipes",
            cloud.stack.region,
        )

    # -- the notification -------------------------------------------------------------

    @contextmanager
    def inbox(self, topic_arn: str, recipient: str) -> Iterator[Inbox]:
        """A queue subscribed to ``topic_arn`` with a filter policy on ``recipient``, as
        tests/e2e's ``inbox``; removed afterwards."""
        url, subscription = subscribe_inbox(self.sqs, self.sns, topic_arn, recipient, "bench-inbox")
        try:
            yield Inbox(self.sqs, url)
        finally:
            self.sns.unsubscribe(SubscriptionArn=subscription)
            self.sqs.delete_queue(QueueUrl=url)

    # -- the stream's backlog ---------------------------------------------------------

    def pipe_backlog(self) -> int:
        """Stream records past the pipes' checkpoints (at most 1000 a shard are counted):
        records the pipe has not dealt with yet."""
        backlog = 0
        for path in sorted(self.pipes_dir.glob("*.json")):
            try:
                checkpoint = json.loads(path.read_text(encoding="utf-8"))
            except ValueError:  # being rewritten: look again
                return 1
            for shard_id, position in checkpoint.get("shards", {}).items():
                if position.get("finished"):
                    continue
                where: dict[str, Any] = {"ShardIteratorType": "TRIM_HORIZON"}
                if position.get("sequenceNumber"):
                    where = {
                        "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
                        "SequenceNumber": position["sequenceNumber"],
                    }
                iterator = self.streams.get_shard_iterator(
                    StreamArn=checkpoint["source"], ShardId=shard_id, **where
                )["ShardIterator"]
                backlog += len(self.streams.get_records(ShardIterator=iterator)["Records"])
        return backlog

    def wait_for_pipe(self, timeout: float = 120.0) -> float:
        """Wait until the pipe has read the stream to its end; return the seconds waited.

        The local pipe reads a shard in order, so a booking made while it still reads
        earlier writes (seeding, the previous booking's declines) waits behind them: the
        suite waits here first, so each booking is measured on an idle pipe.
        """
        started = time.monotonic()
        while self.pipe_backlog():
            if time.monotonic() - started > timeout:
                raise BenchError(f"the pipe still had a backlog after {timeout:g} s")
            time.sleep(0.1)
        return time.monotonic() - started

    # -- statuses -----------------------------------------------------------------------

    def tail(self) -> StreamTail:
        """The table's stream from now on (make it before the booking starts)."""
        if self._stream_arn is None:
            table = self.dynamodb.describe_table(TableName=self.table_name)["Table"]
            self._stream_arn = str(table["LatestStreamArn"])
        return StreamTail(self.streams, self._stream_arn)

    def statuses(self, job_id: str, application_ids: set[str]) -> dict[str, str]:
        """application id -> jobApplicationStatus, strongly consistent."""
        ids = sorted(application_ids)
        found: dict[str, str] = {}
        for start in range(0, len(ids), _BATCH_GET_LIMIT):
            batch = ids[start : start + _BATCH_GET_LIMIT]
            keys = [to_attribute_values(application_key(job_id, one)) for one in batch]
            request: dict[str, Any] = {
                self.table_name: {
                    "Keys": keys,
                    "ConsistentRead": True,
                    "ProjectionExpression": "PK, jobApplicationStatus",
                }
            }
            while request:
                answer = self.dynamodb.batch_get_item(RequestItems=request)
                for item in answer["Responses"].get(self.table_name, []):
                    application_id = item["PK"]["S"].rpartition("#APPLICATION#")[2]
                    found[application_id] = item["jobApplicationStatus"]["S"]
                request = answer.get("UnprocessedKeys") or {}
        return found

    def job_status(self, job: SeededJob) -> str:
        key = {"PK": {"S": f"USER#{job.parent_username}"}, "SK": {"S": f"JOB#{job.job_id}"}}
        item = self.dynamodb.get_item(TableName=self.table_name, Key=key, ConsistentRead=True)
        return str(item.get("Item", {}).get("jobStatus", {}).get("S"))

    def settle(
        self,
        job: SeededJob,
        tail: StreamTail,
        answered_at: float,
        *,
        inbox: Inbox | None,
        timeout: float,
    ) -> Settled:
        """Watch ``tail`` until every other application of ``job`` is DECLINED (and
        ``inbox`` has its notification); check that it settled correctly.

        Raises:
            BenchError: an application other than the booked one was ACCEPTED (or given
                any status but DECLINED), the booked one is not ACCEPTED, the job is not
                CLOSED, or ``timeout`` seconds passed first.
        """
        others = set(job.other_application_ids)
        remaining = set(others)
        first_decline_at: float | None = None
        first_read_declines = 0
        declined_at = answered_at if not remaining else None
        notified_at: float | None = None
        deadline = time.perf_counter() + timeout
        while True:
            if remaining:
                records = tail.read()
                now = time.perf_counter()
                for record in records:
                    change = _declined_application(record, job.job_id)
                    if change is None or change[0] not in others:
                        continue
                    application_id, status = change
                    if status != "DECLINED":
                        raise BenchError(
                            f"job {job.job_id}: application {application_id} became {status};"
                            " only the booked one may change but to DECLINED"
                        )
                    if first_decline_at in (None, now):
                        first_decline_at = now
                        first_read_declines += 1
                    remaining.discard(application_id)
                if not remaining:
                    declined_at = now
            if inbox is not None and notified_at is None:
                inbox.poll()
                notified_at = inbox.seen.get(job.job_id)
            if declined_at is not None and (inbox is None or notified_at is not None):
                break
            if time.perf_counter() > deadline:
                pending = sum(
                    1 for s in self.statuses(job.job_id, remaining).values() if s == "PENDING"
                )
                raise BenchError(
                    f"job {job.job_id} ({job.applications} applications) not settled after "
                    f"{timeout:g} s: {pending} still PENDING, notification "
                    f"{'seen' if notified_at else 'not seen'}"
                )
            time.sleep(POLL_SECONDS)
        self._check_settled(job)
        assert declined_at is not None  # the loop ends only then
        return Settled(declined_at, first_decline_at, notified_at, first_read_declines)

    def _check_settled(self, job: SeededJob) -> None:
        """What the stream showed, read back strongly consistent from the table."""
        others = set(job.other_application_ids)
        statuses = self.statuses(job.job_id, others)
        wrong = {one: status for one, status in statuses.items() if status != "DECLINED"}
        if wrong or len(statuses) != len(others):
            raise BenchError(
                f"job {job.job_id}: after settling, {len(wrong)} other applications are not"
                f" DECLINED ({dict(list(wrong.items())[:3])}), "
                f"{len(others) - len(statuses)} missing"
            )
        self._check_booked(job)

    def _check_booked(self, job: SeededJob) -> None:
        accepted = self.statuses(job.job_id, {job.accepted_application_id})
        if accepted.get(job.accepted_application_id) != "ACCEPTED":
            raise BenchError(
                f"job {job.job_id}: the booked application is {accepted}, not ACCEPTED"
            )
        status = self.job_status(job)
        if status != "CLOSED":
            raise BenchError(f"job {job.job_id} is {status} after its booking, not CLOSED")

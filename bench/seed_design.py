"""The seed tutorial's booking (seeds/000), rebuilt as the baseline the ``booking`` suite
measures this design against, on the same local cloud and the same table.

The seed booked a nanny in one synchronous request that did work in proportion to the
job's applicants, then declined them through a queue::

    booking = SeedBooking(table_name, dynamodb, sqs, queue_url)
    booking.book(job_id, application_id, parent_username)   # returns when the parent would
    with SeedDeclineConsumer(table_name, dynamodb, sqs, queue_url):
        ...                                                 # declines arrive meanwhile

What is kept from the seed, because it is the design being measured:

- **the request** queries *every* item of the job through the ``jobApplications`` index
  (the job and all its applications), writes the two-item transaction (job CLOSED,
  application ACCEPTED), then sends **one SQS message per other application**
  (``SendMessage``, no batching: the seed's ``Map`` state had an SQS ``sendMessage`` task
  per item). Its Inline ``Map`` ran up to 40 iterations at once, so the messages go out
  40 at a time here (``MAP_CONCURRENCY``);
- **the decline consumer** is the seed's ``update_job_application`` Lambda behind an SQS
  event source mapping with ``BatchSize: 5``: each poll receives up to 5 messages, each
  message is one ``UpdateItem``, the processed ones are deleted in one batch (what
  Lambda's poller does after a partial-batch response). ``SeedDeclineConsumer`` runs it
  as ``pollers`` threads in the bench process, the concurrency the local cloud gives
  this design's decline function (its mapping's ``MaximumConcurrency``);
- its queue: visibility timeout 20 s, a DLQ after 5 receives;
- no notification: the seed left "notify the accepted nanny" out of scope.

What is *not* kept, because it was wrong (DESIGN.md section 8) and a baseline that
double-books or loses declines would measure nothing: the transaction's conditions are
this design's (job OPEN and the caller's, application PENDING) with the application's
real key; the query pages through every result instead of stopping at 1 MB; the job is
told from its applications by the index's sort key, not by its position in the answer;
and a decline only moves PENDING to DECLINED, never over ACCEPTED.

The seed's Lambda-started Express workflow is replaced by direct calls from this process
(moto's interpreter would add its own per-state overhead, AWS's does not), so the
baseline pays only its DynamoDB and SQS round trips: the comparison favours the seed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final, Self

from botocore.exceptions import ClientError

from services.common.dal.applications import application_key
from services.common.dal.table import to_attribute_values

__all__ = [
    "BATCH_SIZE",
    "MAP_CONCURRENCY",
    "ConsumerStats",
    "SeedBooking",
    "SeedBookingRefused",
    "SeedDeclineConsumer",
    "SeedOutcome",
    "create_seed_queue",
    "delete_seed_queue",
    "seed_queue",
]

#: The Inline Map state's most concurrent iterations (Step Functions developer guide).
MAP_CONCURRENCY: Final = 40
#: The seed's event source mapping: ``BatchSize: 5``.
BATCH_SIZE: Final = 5
#: The seed's queue: ``VisibilityTimeout: 20``, redrive after ``maxReceiveCount: 5``.
VISIBILITY_TIMEOUT_SECONDS: Final = 20
MAX_RECEIVE_COUNT: Final = 5
#: A poller's long poll, as the local cloud's event source mappings wait (1 s).
POLL_WAIT_SECONDS: Final = 1
JOB_APPLICATIONS_INDEX: Final = "jobApplications"


class SeedBookingRefused(Exception):
    """The transaction's conditions refused the booking (job not OPEN, not the parent's,
    or application not PENDING): the benchmark booked something it should not have."""


@dataclass(frozen=True)
class SeedOutcome:
    """What one booking did: items the query returned, messages sent."""

    queried_items: int
    messages_sent: int


def create_seed_queue(sqs: Any, name: str) -> str:
    """The seed's decline queue and its DLQ (``UpdateJobApplicationsSQSQueue``); its URL."""
    dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVE_COUNT)}
    url: str = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": str(VISIBILITY_TIMEOUT_SECONDS),
            "RedrivePolicy": json.dumps(redrive),
        },
    )["QueueUrl"]
    return url


def delete_seed_queue(sqs: Any, url: str) -> None:
    """Remove the queue and its DLQ (named ``<queue>-dlq``)."""
    dlq_url = sqs.get_queue_url(QueueName=url.rsplit("/", 1)[1] + "-dlq")["QueueUrl"]
    sqs.delete_queue(QueueUrl=url)
    sqs.delete_queue(QueueUrl=dlq_url)


class SeedBooking:
    """The seed's booking request: query all, transact, one message per other application.

    ``dynamodb`` and ``sqs`` are boto3 clients on the cloud's endpoint; ``sqs`` should
    allow ``MAP_CONCURRENCY`` connections (``Config(max_pool_connections=40)``).
    """

    def __init__(self, table_name: str, dynamodb: Any, sqs: Any, queue_url: str) -> None:
        self.table_name = table_name
        self.dynamodb = dynamodb
        self.sqs = sqs
        self.queue_url = queue_url
        self._senders = ThreadPoolExecutor(MAP_CONCURRENCY, thread_name_prefix="seed-map")

    def close(self) -> None:
        self._senders.shutdown(wait=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def book(self, job_id: str, application_id: str, parent_username: str) -> SeedOutcome:
        """Book ``application_id`` for ``parent_username``'s job; return once every decline
        message is sent, as the seed's request did.

        Raises:
            SeedBookingRefused: the transaction's conditions refused it.
        """
        items = self._job_items(job_id)
        self._transact(job_id, application_id, parent_username)
        others = [
            item["SK"]["S"].rpartition("#APPLICATION#")[2]
            for item in items
            if item["GSI1SK"]["S"].startswith("APPLICATION#")
            and item["SK"]["S"] != application_key(job_id, application_id)["SK"]
        ]
        bodies = [json.dumps({"jobId": job_id, "id": other}) for other in others]
        # The Map state: one SendMessage task per item, up to 40 in flight.
        list(self._senders.map(self._send, bodies))
        return SeedOutcome(queried_items=len(items), messages_sent=len(bodies))

    def _job_items(self, job_id: str) -> list[dict[str, Any]]:
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": JOB_APPLICATIONS_INDEX,
            "KeyConditionExpression": "GSI1PK = :job",
            "ExpressionAttributeValues": {":job": {"S": f"JOB#{job_id}"}},
        }
        items: list[dict[str, Any]] = []
        while True:
            page = self.dynamodb.query(**request)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _transact(self, job_id: str, application_id: str, parent_username: str) -> None:
        job_key = {"PK": {"S": f"USER#{parent_username}"}, "SK": {"S": f"JOB#{job_id}"}}
        try:
            self.dynamodb.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self.table_name,
                            "Key": job_key,
                            "ConditionExpression": (
                                "attribute_exists(PK) AND jobStatus = :open"
                                " AND parentUsername = :parent"
                            ),
                            "UpdateExpression": "SET jobStatus = :closed",
                            "ExpressionAttributeValues": {
                                ":open": {"S": "OPEN"},
                                ":closed": {"S": "CLOSED"},
                                ":parent": {"S": parent_username},
                            },
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.table_name,
                            "Key": to_attribute_values(application_key(job_id, application_id)),
                            "ConditionExpression": "jobApplicationStatus = :pending",
                            "UpdateExpression": "SET jobApplicationStatus = :accepted",
                            "ExpressionAttributeValues": {
                                ":pending": {"S": "PENDING"},
                                ":accepted": {"S": "ACCEPTED"},
                            },
                        }
                    },
                ]
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "TransactionCanceledException":
                reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
                raise SeedBookingRefused(f"booking {job_id} refused: {reasons}") from None
            raise

    def _send(self, body: str) -> None:
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=body)


@dataclass
class ConsumerStats:
    """What the consumer did since it started (read under its lock)."""

    batches: int = 0
    declined: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)


class SeedDeclineConsumer:
    """The seed's decline Lambda and its event source mapping, as ``pollers`` threads.

    Each thread: ``ReceiveMessage`` (up to ``BATCH_SIZE``, long poll), one conditional
    ``UpdateItem`` per message in turn, then ``DeleteMessageBatch`` of those handled. A
    message whose application is no longer PENDING is handled too (a redelivery).
    """

    def __init__(
        self, table_name: str, dynamodb: Any, sqs: Any, queue_url: str, *, pollers: int
    ) -> None:
        self.table_name = table_name
        self.dynamodb = dynamodb
        self.sqs = sqs
        self.queue_url = queue_url
        self.pollers = pollers
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._stats = ConsumerStats()

    @property
    def stats(self) -> ConsumerStats:
        with self._lock:
            return ConsumerStats(
                self._stats.batches,
                self._stats.declined,
                self._stats.unchanged,
                list(self._stats.errors),
            )

    def start(self) -> Self:
        self._stop.clear()
        for index in range(self.pollers):
            thread = threading.Thread(target=self._poll, name=f"seed-decline-{index}", daemon=True)
            self._threads.append(thread)
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(POLL_WAIT_SECONDS + 10)
        self._threads = []

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                messages = self.sqs.receive_message(
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=BATCH_SIZE,
                    WaitTimeSeconds=POLL_WAIT_SECONDS,
                ).get("Messages", [])
                if messages:
                    self._handle(messages)
            except Exception as error:  # a poller must go on; the bench reports it
                with self._lock:
                    self._stats.errors.append(f"{type(error).__name__}: {error}")
                self._stop.wait(0.5)

    def _handle(self, messages: list[dict[str, Any]]) -> None:
        handled: list[dict[str, str]] = []
        declined = unchanged = 0
        for message in messages:
            body = json.loads(message["Body"])
            if self._decline(body["jobId"], body["id"]):
                declined += 1
            else:
                unchanged += 1
            handled.append({"Id": message["MessageId"], "ReceiptHandle": message["ReceiptHandle"]})
        self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=handled)
        with self._lock:
            self._stats.batches += 1
            self._stats.declined += declined
            self._stats.unchanged += unchanged

    def _decline(self, job_id: str, application_id: str) -> bool:
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key=to_attribute_values(application_key(job_id, application_id)),
                ConditionExpression="jobApplicationStatus = :pending",
                UpdateExpression="SET jobApplicationStatus = :declined",
                ExpressionAttributeValues={
                    ":pending": {"S": "PENDING"},
                    ":declined": {"S": "DECLINED"},
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True


@contextmanager
def seed_queue(sqs: Any, name: str) -> Iterator[str]:
    """``create_seed_queue`` for the ``with`` block, deleted afterwards."""
    url = create_seed_queue(sqs, name)
    try:
        yield url
    finally:
        delete_seed_queue(sqs, url)

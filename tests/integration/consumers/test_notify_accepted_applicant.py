"""notify_accepted_applicant, in-process, against DynamoDB Local and SNS in moto."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from typing import Any, cast

import pytest

from services.notify_accepted_applicant import handler as notify_module
from services.notify_accepted_applicant.handler import handler
from services.notify_accepted_applicant.idempotency import KEY_PREFIX, PARTITION
from services.notify_accepted_applicant.logic import Notification
from services.notify_accepted_applicant.sns_sender import SnsNotificationSender
from tests.integration.consumers.conftest import Booking, Inbox
from tests.support.appsync_events import LambdaContext
from tests.support.events import failures, message_ids, sqs_event

pytestmark = pytest.mark.dynamodb


def notify(*bodies: str | dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Run one SQS batch; answer the batch and the message ids to redeliver."""
    batch = sqs_event(*bodies)
    return batch, failures(dict(handler(batch, cast(Any, LambdaContext()))))


@pytest.fixture
def booking(book: Callable[..., Booking]) -> Booking:
    return book(other_applicants=1)


def test_the_booked_nanny_gets_one_notification_addressed_to_them(
    booking: Booking, inbox: Callable[[str], Inbox]
) -> None:
    nanny_inbox, other_inbox = inbox(booking.nanny.username), inbox(booking.parent.username)
    _, failed = notify(booking.job_closed())
    assert failed == []
    (envelope,) = nanny_inbox.messages()
    assert envelope["MessageAttributes"] == {
        "recipient": {"Type": "String", "Value": booking.nanny.username},
        "eventType": {"Type": "String", "Value": "JobClosed"},
    }
    message = json.loads(envelope["Message"])  # the document programs subscribe to
    assert message["recipient"] == booking.nanny.username
    assert message["data"]["jobId"] == booking.job["id"]
    assert message["data"]["applicationId"] == booking.accepted["id"]
    assert "Ada" in message["text"]  # the profile's first name (Api.sign_up)
    assert other_inbox.messages() == []  # the filter policy keeps other users' out


def test_redelivery_and_replay_notify_once(
    booking: Booking, inbox: Callable[[str], Inbox], dynamodb: Any, table_name: str
) -> None:
    nanny_inbox = inbox(booking.nanny.username)
    event = booking.job_closed()
    _, failed = notify(event, event)  # a duplicate within one batch
    _, failed_later = notify(event)  # redelivered later
    # Replayed from the archive: a new event id, the same job.
    _, failed_replay = notify({**event, "id": "replayed-event", "replay-name": "recovery"})
    assert failed == failed_later == failed_replay == []
    assert len(nanny_inbox.messages()) == 1
    record = _idempotency_record(dynamodb, table_name, booking)
    assert record["status"]["S"] == "COMPLETED"
    assert int(record["expiration"]["N"]) > 0  # the TTL attribute


def test_a_poison_message_fails_alone(
    booking: Booking, book: Callable[..., Booking], inbox: Callable[[str], Inbox]
) -> None:
    other = book(other_applicants=0)
    inboxes = inbox(booking.nanny.username), inbox(other.nanny.username)
    batch, failed = notify(booking.job_closed(), '{"detail": "nope"}', other.job_closed())
    assert failed == message_ids(batch, 1)
    assert [len(box.messages()) for box in inboxes] == [1, 1]


def test_a_failed_publish_is_retried_and_then_sent_once(
    booking: Booking,
    inbox: Callable[[str], Inbox],
    topic_arn: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nanny_inbox = inbox(booking.nanny.username)
    event = booking.job_closed()
    monkeypatch.setattr(notify_module.sender(), "topic_arn", topic_arn + "-gone")
    batch, failed = notify(event)
    assert failed == message_ids(batch, 0)  # SNS refused: retry later
    monkeypatch.setattr(notify_module.sender(), "topic_arn", topic_arn)
    _, failed = notify(event)  # the queue's redelivery
    assert failed == []
    assert len(nanny_inbox.messages()) == 1


def test_a_duplicate_arriving_while_the_first_is_publishing_waits_for_it(
    booking: Booking, inbox: Callable[[str], Inbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    nanny_inbox = inbox(booking.nanny.username)
    event = booking.job_closed()
    publishing, release = threading.Event(), threading.Event()
    real = notify_module.sender()

    class SlowSender:
        def send(self, notification: Notification) -> str:
            publishing.set()
            release.wait(10)
            return real.send(notification)

    monkeypatch.setattr(notify_module, "sender", SlowSender)
    first: list[list[str]] = []
    worker = threading.Thread(target=lambda: first.append(notify(event)[1]))
    worker.start()
    assert publishing.wait(10)
    batch, failed = notify(event)  # another container got the duplicate meanwhile
    release.set()
    worker.join(10)
    assert failed == message_ids(batch, 0)  # in progress elsewhere: retried later...
    assert first == [[]]
    monkeypatch.setattr(notify_module, "sender", lambda: real)
    _, failed = notify(event)  # ...when it finds the notification sent
    assert failed == []
    assert len(nanny_inbox.messages()) == 1


def test_no_profile_no_notification_and_no_retry(
    booking: Booking, inbox: Callable[[str], Inbox]
) -> None:
    nanny_inbox = inbox("nobody-by-this-name")
    _, failed = notify(booking.job_closed(acceptedApplicant="nobody-by-this-name"))
    assert failed == []
    assert nanny_inbox.messages() == []


def test_the_sender_publishes_to_the_real_topic(
    topic_arn: str, inbox: Callable[[str], Inbox]
) -> None:
    box = inbox("provider-test")
    sender = SnsNotificationSender(topic_arn, notify_module.sender().client)
    message_id = sender.send(
        Notification("provider-test", "JobClosed", "s" * 150, "Hello", {"jobId": "j"})
    )
    (envelope,) = box.messages()
    assert envelope["MessageId"] == message_id
    assert len(envelope["Subject"]) == 100  # SNS' limit
    assert json.loads(envelope["Message"])["data"] == {"jobId": "j"}


def _idempotency_record(dynamodb: Any, table_name: str, booking: Booking) -> Any:
    """The job's idempotency record: its sort key is the prefix and the md5 of the job id
    (Powertools hashes the JSON of what ``event_key_jmespath`` selects)."""
    digest = hashlib.md5(json.dumps(booking.job["id"]).encode(), usedforsecurity=False)
    key = {"PK": {"S": PARTITION}, "SK": {"S": f"{KEY_PREFIX}#{digest.hexdigest()}"}}
    return dynamodb.get_item(TableName=table_name, Key=key, ConsistentRead=True)["Item"]

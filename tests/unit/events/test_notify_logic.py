"""Notifying the booked nanny, with an in-memory profile store and channel."""

from __future__ import annotations

import datetime as dt

import pytest

from events_schema import JobClosedData
from services.common.models import User, UserType
from services.notify_accepted_applicant.logic import Notification, notify_accepted_applicant


class FakeSender:
    def __init__(self, error: Exception | None = None) -> None:
        self.sent: list[Notification] = []
        self.error = error

    def send(self, notification: Notification) -> str:
        if self.error:
            raise self.error
        self.sent.append(notification)
        return f"message-{len(self.sent)}"


class FakeProfiles:
    def __init__(self, *users: User) -> None:
        self.users = {user.username: user for user in users}

    def get(self, username: str) -> User | None:
        return self.users.get(username)


NANNY = User(
    username="nanny-bea",
    type=UserType.NANNY,
    email="bea@example.org",
    first_name="Bea",
    last_name="Example",
    phone_number="+44 20 7946 0001",
    created_on=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
)
JOB = JobClosedData(
    job_id="job-1",
    parent_username="parent-ann",
    accepted_application_id="application-7",
    accepted_applicant="nanny-bea",
    closed_at=dt.datetime(2025, 5, 20, 10, 15, tzinfo=dt.UTC),
)


def test_the_booked_nanny_gets_one_notification_addressed_to_them() -> None:
    sender = FakeSender()
    assert notify_accepted_applicant(JOB, FakeProfiles(NANNY), sender) == "message-1"
    (notification,) = sender.sent
    assert notification.recipient == "nanny-bea"
    assert notification.event_type == "JobClosed"
    assert "Bea" in notification.text
    assert notification.data == {
        "jobId": "job-1",
        "applicationId": "application-7",
        "closedAt": "2025-05-20T10:15:00+00:00",
    }


def test_it_tells_nothing_about_the_parent() -> None:
    sender = FakeSender()
    notify_accepted_applicant(JOB, FakeProfiles(NANNY), sender)
    assert "parent-ann" not in repr(sender.sent)


def test_nobody_to_tell_when_the_profile_is_gone() -> None:
    sender = FakeSender()
    assert notify_accepted_applicant(JOB, FakeProfiles(), sender) is None
    assert sender.sent == []


def test_a_channel_error_reaches_the_caller_to_retry() -> None:
    with pytest.raises(TimeoutError):
        notify_accepted_applicant(JOB, FakeProfiles(NANNY), FakeSender(TimeoutError()))

"""Tell the nanny a parent booked that they got the job.

Pure domain logic: the profile lookup and the channel are collaborators behind small
protocols, so tests run it with in-memory fakes and the handler with DynamoDB and SNS::

    message_id = notify_accepted_applicant(job_closed.data, users, SnsNotificationSender(...))

Sending once per job, whatever the number of deliveries, is the caller's business (see
``idempotency``): this function sends every time it is called.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Protocol

from events_schema import DETAIL_TYPE, JobClosedData
from services.common.models import User

SUBJECT: Final = "You have been booked"


@dataclass(frozen=True)
class Notification:
    """A message to one user, independent of the channel that carries it."""

    recipient: str
    """The username it is for: subscriptions (email, push, SMS) filter on it."""
    event_type: str
    """What happened, so a subscription can take only the kinds it delivers."""
    subject: str
    text: str
    """For people: what an email body or a push or SMS text shows."""
    data: Mapping[str, str] = field(default_factory=dict)
    """For programs: ids a client app uses to open the right screen."""


class NotificationSender(Protocol):
    def send(self, notification: Notification) -> str:
        """Hand the notification to the channel; return the channel's message id."""
        ...


class Profiles(Protocol):
    """What notifying needs from the data layer (UserRepository has it)."""

    def get(self, username: str) -> User | None: ...


def notify_accepted_applicant(
    job: JobClosedData, profiles: Profiles, sender: NotificationSender
) -> str | None:
    """Send the booked nanny one notification; None if they have no profile any more.

    A deleted profile is no error to retry: there is nobody left to tell.
    """
    nanny = profiles.get(job.accepted_applicant)
    if nanny is None:
        return None
    return sender.send(booking_notification(nanny, job))


def booking_notification(nanny: User, job: JobClosedData) -> Notification:
    return Notification(
        recipient=nanny.username,
        event_type=DETAIL_TYPE,
        subject=SUBJECT,
        text=(
            f"Hi {nanny.first_name}, good news: a parent booked you for a job. "
            "Open the app to see the details."
        ),
        data={
            "jobId": job.job_id,
            "applicationId": job.accepted_application_id,
            "closedAt": job.closed_at.isoformat(),
        },
    )

"""``JobClosed``: a parent booked a nanny, so the job is closed and one application accepted.

Produced by the EventBridge Pipe from the job item's OPEN -> CLOSED stream record (see
``job_closed_pipe``), never by application code: the booking transaction is the only
writer, and the event follows from what it committed. Consumed by every function that
reacts to a booking (declining the other applications, notifying the accepted nanny)::

    {"source": "babysitter.jobs", "detail-type": "JobClosed",
     "detail": {"metadata": {"version": "1", "correlationId": "...", "createdAt": "..."},
                "data": {"jobId": "...", "parentUsername": "...",
                         "acceptedApplicationId": "...", "acceptedApplicant": "...",
                         "closedAt": "..."}}}

``parentUsername`` and ``acceptedApplicant`` are usernames, which are personal data:
consumers log the ids only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final, Literal

from pydantic import Field

from events_schema.envelope import EventMetadata, EventModel

SOURCE: Final = "babysitter.jobs"
DETAIL_TYPE: Final = "JobClosed"
VERSION: Final = "1"

# The pattern of every rule that subscribes a consumer to this version of JobClosed. The
# version is part of it, so a future version 2 reaches only consumers written for it.
EVENT_PATTERN: Final[dict[str, Any]] = {
    "source": [SOURCE],
    "detail-type": [DETAIL_TYPE],
    "detail": {"metadata": {"version": [VERSION]}},
}


class JobClosedMetadata(EventMetadata):
    version: Literal["1"] = Field(description="Version 1 of JobClosed.")


class JobClosedData(EventModel):
    job_id: str = Field(min_length=1, description="The job that was booked.")
    parent_username: str = Field(min_length=1, description="The parent who posted the job.")
    accepted_application_id: str = Field(min_length=1, description="The accepted application.")
    accepted_applicant: str = Field(min_length=1, description="The booked nanny's username.")
    closed_at: dt.datetime = Field(description="When the booking closed the job (ISO 8601).")


class JobClosed(EventModel):
    """The detail of a JobClosed event."""

    metadata: JobClosedMetadata
    data: JobClosedData

"""The domain's entities, shared by every function.

Field names are snake_case in Python and camelCase on the wire and in DynamoDB (the names
of ``schema.graphql``), so one model serves both without a mapping layer::

    job = Job.model_validate(item)          # from a DynamoDB item or a GraphQL input
    job.model_dump(mode="json", by_alias=True)  # to a GraphQL answer
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Entity(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class UserType(StrEnum):
    PARENT = "PARENT"
    NANNY = "NANNY"

    @property
    def group(self) -> str:
        """The Cognito group a user of this type belongs to."""
        return self.value.lower()


class UserAccountStatus(StrEnum):
    UNVERIFIED = "UNVERIFIED"
    VERIFIED = "VERIFIED"
    DEACTIVATED = "DEACTIVATED"


class JobStatus(StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"


class JobType(StrEnum):
    DAILY = "DAILY"
    LIVE_IN = "LIVE_IN"
    OCCASIONAL = "OCCASIONAL"


class JobApplicationStatus(StrEnum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"


class User(Entity):
    username: str
    type: UserType
    email: str
    first_name: str
    last_name: str
    status: UserAccountStatus = UserAccountStatus.UNVERIFIED
    phone_number: str | None = None
    date_of_birth: dt.date | None = None
    about: str | None = None
    address: str | None = None
    city: str | None = None
    profile_pic_url: str | None = None
    languages: list[str] | None = None
    hourly_rate: float | None = None
    latitude: float | None = None
    longitude: float | None = None
    rating_count: int = 0
    rating_sum: int = 0
    created_on: dt.datetime
    updated_on: dt.datetime | None = None
    #: The Cognito ``sub`` of the account that created the profile (never shown).
    owner_sub: str | None = None

    @property
    def average_rating(self) -> float | None:
        return round(self.rating_sum / self.rating_count, 2) if self.rating_count else None


class Job(Entity):
    id: str
    parent_username: str
    job_type: JobType
    job_status: JobStatus = JobStatus.OPEN
    title: str
    description: str | None = None
    number_of_kids: int
    start_date: dt.date
    end_date: dt.date
    start_time: dt.time
    end_time: dt.time
    city: str
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    cost: float
    created_on: dt.datetime
    accepted_application_id: str | None = None
    accepted_applicant: str | None = None
    closed_at: dt.datetime | None = None


class JobApplication(Entity):
    id: str
    job_id: str
    applicant_username: str
    parent_username: str
    job_application_status: JobApplicationStatus = JobApplicationStatus.PENDING
    message: str | None = None
    created_on: dt.datetime
    updated_on: dt.datetime | None = None


class Review(Entity):
    job_id: str
    reviewer: str
    rated_user: str
    rating: int
    review: str | None = None
    created_on: dt.datetime


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list and the opaque token of the next one (None on the last page)."""

    items: list[T]
    next_token: str | None = None


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)

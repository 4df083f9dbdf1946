"""The arguments of every GraphQL operation, validated before any logic runs.

AppSync already checks the schema's types; these models add the domain's rules (ranges,
lengths, formats) and make the Lambda safe when called with anything else.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic.alias_generators import to_camel

from services.common.dal.table import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, PageRequest
from services.common.models import (
    JobStatus,
    JobType,
    UserAccountStatus,
    UserType,
)

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
# Cognito's own rule for usernames: printable, no whitespace, at most 128 characters.
Username = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^\S+$")]
Identifier = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F-]{36}$")]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9 ()-]{6,20}$")]
Url = Annotated[str, StringConstraints(max_length=2048, pattern=r"^https?://\S+$")]


def _storable(value: float) -> float:
    """DynamoDB stores numbers down to 1E-130 in magnitude; a smaller one fails the write."""
    if value != 0 and abs(value) < 1e-130:
        raise ValueError("must be 0 or at least 1e-130 in magnitude")
    return value


Latitude = Annotated[float, Field(ge=-90, le=90), AfterValidator(_storable)]
Longitude = Annotated[float, Field(ge=-180, le=180), AfterValidator(_storable)]
Money = Annotated[float, Field(gt=0, le=1_000_000), AfterValidator(_storable)]
Languages = Annotated[list[ShortText], Field(max_length=20)]


class Arguments(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class ProfileFields(Arguments):
    phone_number: Phone | None = None
    date_of_birth: dt.date | None = None
    about: Text | None = None
    address: ShortText | None = None
    city: ShortText | None = None
    profile_pic_url: Url | None = None
    languages: Languages | None = None
    hourly_rate: Money | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None

    @model_validator(mode="after")
    def _born_in_the_past(self) -> Self:
        if self.date_of_birth and self.date_of_birth >= dt.date.today():
            raise ValueError("dateOfBirth must be in the past")
        return self


class CreateUserInput(ProfileFields):
    type: UserType
    first_name: Name
    last_name: Name


class UpdateUserInput(ProfileFields):
    first_name: Name | None = None
    last_name: Name | None = None

    @model_validator(mode="after")
    def _changes_something_and_keeps_the_name(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("updateUser needs at least one field to change")
        for required in ("first_name", "last_name"):
            if required in self.model_fields_set and getattr(self, required) is None:
                raise ValueError(f"{to_camel(required)} cannot be removed")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields the caller sent, by attribute name; an explicit null clears a field."""
        return self.model_dump(mode="json", by_alias=True, include=self.model_fields_set)


class CreateJobInput(Arguments):
    job_type: JobType
    title: Name
    description: Text | None = None
    number_of_kids: Annotated[int, Field(ge=1, le=20)]
    start_date: dt.date
    end_date: dt.date
    start_time: dt.time
    end_time: dt.time
    city: ShortText
    address: ShortText | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    cost: Money

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        if self.end_date < self.start_date:
            raise ValueError("endDate must not be before startDate")
        return self


class CreateJobApplicationInput(Arguments):
    job_id: Identifier
    message: Text | None = None


class PageArguments(Arguments):
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE
    next_token: Annotated[str, StringConstraints(max_length=4096)] | None = None

    @property
    def page(self) -> PageRequest:
        return PageRequest(limit=self.limit, next_token=self.next_token)


class UsernameArguments(Arguments):
    username: Username


class OptionalUsernamePage(PageArguments):
    username: Username | None = None


class ListUserArguments(PageArguments):
    type: UserType


class ListAllJobsArguments(PageArguments):
    job_status: JobStatus


class JobPage(PageArguments):
    job_id: Identifier


class UsernamePage(PageArguments):
    username: Username


class CreateUserArguments(Arguments):
    user: CreateUserInput


class UpdateUserArguments(Arguments):
    user: UpdateUserInput


class UpdateUserStatusArguments(Arguments):
    username: Username
    status: UserAccountStatus


class CreateJobArguments(Arguments):
    job: CreateJobInput


class ApplyToJobArguments(Arguments):
    application: CreateJobApplicationInput


class BookNannyArguments(Arguments):
    job_id: Identifier
    application_id: Identifier


class RateUserArguments(Arguments):
    job_id: Identifier
    rating: Annotated[int, Field(ge=1, le=5)]
    review: Text | None = None

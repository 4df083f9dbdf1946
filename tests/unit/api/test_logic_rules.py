"""Rules the logic decides before any write, checked without a database."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from services.api.caller import ADMIN, NANNY, PARENT, Caller
from services.api.logic import reviews, users
from services.api.logic.jobs import whose_list
from services.common.dal.table import PageRequest
from services.common.errors import (
    JobNotClosed,
    NotJobParty,
    Unauthorized,
    UsernameTaken,
    ValidationError,
)
from services.common.models import Job, JobStatus, Page, User, UserType

NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def user(username: str = "ann", **fields: Any) -> User:
    defaults = {"type": UserType.NANNY, "email": "ann@example.org", "first_name": "Ann",
                "last_name": "Lee", "created_on": NOW, "phone_number": "+331234567"}  # fmt: skip
    return User(username=username, **{**defaults, **fields})


def job(**fields: Any) -> Job:
    defaults = dict(id="j1", parent_username="pat", job_type="DAILY", title="t", number_of_kids=1,
                    start_date=NOW.date(), end_date=NOW.date(), start_time="08:00",
                    end_time="09:00", city="c", cost=1, created_on=NOW)  # fmt: skip
    return Job.model_validate({**defaults, **fields})


def _fake(kind: type, *args: Any) -> Any:
    """A stand-in repository: the logic sees only the methods it calls."""
    return kind(*args)


class _FakeJobs:
    def __init__(self, found: Job | None) -> None:
        self.found = found

    def find(self, job_id: str) -> Job | None:
        return self.found


class _RecordingReviews:
    def __init__(self) -> None:
        self.created: list[Any] = []

    def create(self, review: Any, job: Job) -> None:
        self.created.append(review)


class TestWhoseList:
    def test_owners_read_their_own(self) -> None:
        assert whose_list(Caller("ann", frozenset({NANNY})), None, NANNY) == "ann"
        assert whose_list(Caller("ann", frozenset({NANNY})), "ann", NANNY) == "ann"

    def test_owners_cannot_name_someone_else(self) -> None:
        with pytest.raises(Unauthorized):
            whose_list(Caller("ann", frozenset({NANNY})), "bob", NANNY)

    def test_admins_must_name_someone(self) -> None:
        assert whose_list(Caller("root", frozenset({ADMIN})), "bob", NANNY) == "bob"
        with pytest.raises(ValidationError):
            whose_list(Caller("root", frozenset({ADMIN})), None, NANNY)

    def test_other_groups_are_refused(self) -> None:
        with pytest.raises(Unauthorized):
            whose_list(Caller("pat", frozenset({PARENT})), None, NANNY)


class TestPresentUser:
    def test_strangers_see_public_fields_and_the_aggregate(self) -> None:
        shown = users.present_user(user(rating_count=2, rating_sum=7), Caller(None))
        assert shown["averageRating"] == 3.5
        assert shown["email"] is None
        assert shown["phoneNumber"] is None
        assert "ratingSum" not in shown

    def test_the_user_sees_everything(self) -> None:
        shown = users.present_user(user(), Caller("ann"))
        assert shown["email"] == "ann@example.org"


class TestRateUser:
    def test_counterparts(self) -> None:
        booked = job(job_status=JobStatus.CLOSED, accepted_applicant="nan")
        recorded = _fake(
            _RecordingReviews,
        )
        parent = Caller("pat", frozenset({PARENT}))
        nanny = Caller("nan", frozenset({NANNY}))
        reviews.rate_user(parent, "j1", 5, None, _fake(_FakeJobs, booked), recorded)
        reviews.rate_user(nanny, "j1", 4, None, _fake(_FakeJobs, booked), recorded)
        assert [(r.reviewer, r.rated_user) for r in recorded.created] == [
            ("pat", "nan"),
            ("nan", "pat"),
        ]

    def test_open_jobs_and_outsiders(self) -> None:
        outsider = Caller("zed", frozenset({NANNY}))
        with pytest.raises(JobNotClosed):
            reviews.rate_user(
                outsider,
                "j1",
                5,
                None,
                _fake(_FakeJobs, job()),
                _fake(
                    _RecordingReviews,
                ),
            )
        booked = job(job_status=JobStatus.CLOSED, accepted_applicant="nan")
        with pytest.raises(NotJobParty):
            reviews.rate_user(
                outsider,
                "j1",
                5,
                None,
                _fake(_FakeJobs, booked),
                _fake(
                    _RecordingReviews,
                ),
            )


class _FakeUsers:
    def __init__(self, existing: User | None) -> None:
        self.existing = existing

    def create(self, new: User) -> None:
        if self.existing:
            raise UsernameTaken("taken")

    def get(self, username: str) -> User | None:
        return self.existing

    def list_by_type(self, user_type: UserType, page: PageRequest) -> Page[User]:
        return Page(items=[])


class RecordingGroups:
    def __init__(self) -> None:
        self.added: list[tuple[str, str]] = []

    def add(self, username: str, group: str) -> None:
        self.added.append((username, group))

    def remove(self, username: str, group: str) -> None:
        raise AssertionError("not expected")


class TestCreateUser:
    def data(self, **fields: Any) -> Any:
        from services.api.models.inputs import CreateUserInput

        base = {"type": "NANNY", "email": "ann@example.org", "firstName": "Ann", "lastName": "Lee"}
        return CreateUserInput.model_validate({**base, **fields})

    def test_a_retry_finishes_the_group_step(self) -> None:
        groups = RecordingGroups()
        existing = user()
        result = users.create_user(
            Caller("ann"), self.data(email="ANN@example.org"), _fake(_FakeUsers, existing), groups
        )
        assert result is existing
        assert groups.added == [("ann", "nanny")]

    def test_a_different_profile_is_not_a_retry(self) -> None:
        groups = RecordingGroups()
        with pytest.raises(UsernameTaken):
            users.create_user(
                Caller("ann"), self.data(type="PARENT"), _fake(_FakeUsers, user()), groups
            )
        assert groups.added == []


def test_parents_list_nannies_only() -> None:
    parent = Caller("pat", frozenset({PARENT}))
    assert (
        users.list_users(parent, UserType.NANNY, PageRequest(), _fake(_FakeUsers, None)).items == []
    )
    with pytest.raises(Unauthorized):
        users.list_users(parent, UserType.PARENT, PageRequest(), _fake(_FakeUsers, None))

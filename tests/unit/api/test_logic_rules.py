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

    def test_the_owning_account_sees_everything(self) -> None:
        shown = users.present_user(user(owner_sub="s-1"), Caller("ann", sub="s-1"))
        assert shown["email"] == "ann@example.org"
        assert "ownerSub" not in shown

    def test_a_later_account_with_the_same_username_does_not(self) -> None:
        shown = users.present_user(user(owner_sub="s-1"), Caller("ann", sub="s-2"))
        assert shown["email"] is None


class TestRateUser:
    def test_nobody_reviews_themself(self) -> None:
        self_booked = job(job_status=JobStatus.CLOSED, accepted_applicant="pat")
        recorded = _fake(_RecordingReviews)
        both = Caller("pat", frozenset({PARENT, NANNY}))
        with pytest.raises(NotJobParty):
            reviews.rate_user(both, "j1", 5, None, _fake(_FakeJobs, self_booked), recorded)
        assert recorded.created == []

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
        self.listed: list[UserType] = []
        self.deleted: list[str] = []

    def create(self, new: User) -> None:
        if self.existing:
            raise UsernameTaken("taken")

    def get(self, username: str) -> User | None:
        return self.existing

    def delete(self, profile: User) -> None:
        self.deleted.append(profile.username)

    def list_by_type(self, user_type: UserType, page: PageRequest) -> Page[User]:
        self.listed.append(user_type)
        return Page(items=[])


class FakeAccounts:
    """Cognito as the logic sees it: a verified email, groups, and a switch to fail."""

    def __init__(self, email: str | None = "ann@example.org", failing: bool = False) -> None:
        self.email = email
        self.failing = failing
        self.groups: set[tuple[str, str]] = set()

    def verified_email(self, username: str) -> str | None:
        return self.email

    def add_to_group(self, username: str, group: str) -> None:
        self.groups.add((username, group))

    def remove_from_group(self, username: str, group: str) -> None:
        if self.failing:
            raise ConnectionError("Cognito is unreachable")
        self.groups.discard((username, group))

    def sign_out_everywhere(self, username: str) -> None:
        pass


class TestCreateUser:
    def data(self, **fields: Any) -> Any:
        from services.api.models.inputs import CreateUserInput

        base = {"type": "NANNY", "firstName": "Ann", "lastName": "Lee"}
        return CreateUserInput.model_validate({**base, **fields})

    def test_a_retry_by_the_same_account_finishes_the_group_step(self) -> None:
        accounts = FakeAccounts()
        existing = user(owner_sub="s-1")
        caller = Caller("ann", sub="s-1")
        result = users.create_user(caller, self.data(), _fake(_FakeUsers, existing), accounts)
        assert result is existing
        assert accounts.groups == {("ann", "nanny")}

    @pytest.mark.parametrize(
        ("data", "owner_sub"), [({"type": "PARENT"}, "s-1"), ({}, "s-of-an-earlier-ann")]
    )
    def test_another_type_or_another_account_is_not_a_retry(
        self, data: dict[str, Any], owner_sub: str
    ) -> None:
        accounts = FakeAccounts()
        existing = _fake(_FakeUsers, user(owner_sub=owner_sub))
        with pytest.raises(UsernameTaken):
            users.create_user(Caller("ann", sub="s-1"), self.data(**data), existing, accounts)
        assert accounts.groups == set()


def test_a_failed_group_removal_leaves_the_profile_for_a_retry() -> None:
    """The group goes first: a failure must never leave a group without a profile."""
    profile = user(owner_sub="s-1")
    store = _fake(_FakeUsers, profile)
    with pytest.raises(ConnectionError):
        users.delete_user(Caller("ann", sub="s-1"), "ann", store, FakeAccounts(failing=True))
    assert store.deleted == []
    users.delete_user(Caller("ann", sub="s-1"), "ann", store, FakeAccounts())
    assert store.deleted == ["ann"]


def test_parents_list_nannies_only() -> None:
    parent = Caller("pat", frozenset({PARENT}))
    store = _fake(_FakeUsers, None)
    users.list_users(parent, UserType.NANNY, PageRequest(), store)
    with pytest.raises(Unauthorized):
        users.list_users(parent, UserType.PARENT, PageRequest(), store)
    assert store.listed == [UserType.NANNY]

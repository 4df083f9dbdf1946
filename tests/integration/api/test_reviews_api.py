"""rateUser and listReviews: the two parties of a booked job review each other once."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api import Api
from tests.support.appsync_events import Identity

pytestmark = pytest.mark.dynamodb


@pytest.fixture
def booked(api: Api) -> tuple[Identity, Identity, dict[str, Any]]:
    parent, nanny = api.sign_up("PARENT"), api.sign_up("NANNY")
    job = api.post_job(parent)
    api.book(parent, api.apply(nanny, job["id"]))
    return parent, nanny, job


def rating_of(api: Api, username: str) -> tuple[float | None, int]:
    user = api.call("getUser", {"username": username}, None)
    return user["averageRating"], user["ratingCount"]


class TestRateUser:
    def test_the_parties_review_each_other_and_profiles_keep_the_average(
        self, api: Api, booked: tuple[Identity, Identity, dict[str, Any]]
    ) -> None:
        parent, nanny, job = booked
        review = api.call("rateUser", {"jobId": job["id"], "rating": 5, "review": "Great"}, parent)
        assert (review["reviewer"], review["ratedUser"], review["rating"]) == (
            parent.username,
            nanny.username,
            5,
        )
        api.call("rateUser", {"jobId": job["id"], "rating": 4}, nanny)
        assert rating_of(api, nanny.username) == (5.0, 1)
        assert rating_of(api, parent.username) == (4.0, 1)

    def test_the_average_spans_jobs(self, api: Api) -> None:
        nanny = api.sign_up("NANNY")
        for stars in (5, 2):
            parent = api.sign_up("PARENT")
            job = api.post_job(parent)
            api.book(parent, api.apply(nanny, job["id"]))
            api.call("rateUser", {"jobId": job["id"], "rating": stars}, parent)
        assert rating_of(api, nanny.username) == (3.5, 2)

    def test_one_review_per_party_per_job(
        self, api: Api, booked: tuple[Identity, Identity, dict[str, Any]]
    ) -> None:
        parent, nanny, job = booked
        api.call("rateUser", {"jobId": job["id"], "rating": 5}, parent)
        assert api.error("rateUser", {"jobId": job["id"], "rating": 1}, parent) == "AlreadyReviewed"
        assert rating_of(api, nanny.username) == (5.0, 1)

    def test_an_open_job_cannot_be_reviewed(self, api: Api) -> None:
        parent, nanny = api.sign_up("PARENT"), api.sign_up("NANNY")
        job = api.post_job(parent)
        api.apply(nanny, job["id"])
        for caller in (parent, nanny):
            assert (
                api.error("rateUser", {"jobId": job["id"], "rating": 5}, caller) == "JobNotClosed"
            )
        assert rating_of(api, nanny.username) == (None, 0)

    @pytest.mark.parametrize("kind", ["PARENT", "NANNY"])
    def test_outsiders_are_not_parties(
        self, api: Api, booked: tuple[Identity, Identity, dict[str, Any]], kind: str
    ) -> None:
        _, nanny, job = booked
        outsider = api.sign_up(kind)
        assert api.error("rateUser", {"jobId": job["id"], "rating": 1}, outsider) == "NotJobParty"
        assert rating_of(api, nanny.username) == (None, 0)

    @pytest.mark.parametrize("kind", ["admin", "api_key", "newcomer"])
    def test_others_are_refused(
        self, api: Api, booked: tuple[Identity, Identity, dict[str, Any]], kind: str
    ) -> None:
        caller = api.caller(kind)
        args = {"jobId": booked[2]["id"], "rating": 3}
        assert api.error("rateUser", args, caller) == "Unauthorized"

    @pytest.mark.parametrize("rating", [0, 6, -1])
    def test_ratings_are_one_to_five_stars(
        self, api: Api, booked: tuple[Identity, Identity, dict[str, Any]], rating: int
    ) -> None:
        parent, nanny, job = booked
        args = {"jobId": job["id"], "rating": rating}
        assert api.error("rateUser", args, parent) == "ValidationError"
        assert rating_of(api, nanny.username) == (None, 0)

    def test_an_unknown_job_is_not_found(self, api: Api) -> None:
        args = {"jobId": "01890a5d-ac96-774b-bcce-b302099a8057", "rating": 3}
        assert api.error("rateUser", args, api.sign_up("PARENT")) == "NotFound"


class TestListReviews:
    @pytest.mark.parametrize("kind", ["api_key", "PARENT", "NANNY", "admin"])
    def test_reviews_are_public(
        self, api: Api, booked: tuple[Identity, Identity, dict[str, Any]], kind: str
    ) -> None:
        parent, nanny, job = booked
        api.call("rateUser", {"jobId": job["id"], "rating": 4, "review": "Kind"}, parent)
        caller = api.caller(kind)
        items = api.call("listReviews", {"username": nanny.username}, caller)["items"]
        assert [(r["reviewer"], r["rating"], r["review"]) for r in items] == [
            (parent.username, 4, "Kind")
        ]

    def test_a_user_without_reviews_has_an_empty_list(self, api: Api) -> None:
        page = api.call("listReviews", {"username": api.sign_up("NANNY").username}, None)
        assert page == {"items": [], "nextToken": None}

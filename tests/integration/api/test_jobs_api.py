"""createJob, listAllJobs, listJobsPerParent."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api import Api, job_input

pytestmark = pytest.mark.dynamodb


def all_pages(api: Api, field: str, arguments: dict[str, Any], caller: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    token = None
    while True:
        page = api.call(field, {**arguments, "limit": 100, "nextToken": token}, caller)
        items += page["items"]
        token = page["nextToken"]
        if token is None:
            return items


class TestCreateJob:
    def test_a_parent_posts_an_open_job_owned_by_them(self, api: Api) -> None:
        parent = api.sign_up("PARENT")
        job = api.post_job(parent)
        assert job["parentUsername"] == parent.username
        assert job["jobStatus"] == "OPEN"
        assert (job["startTime"], job["cost"], job["numberOfKids"]) == ("15:00:00", 18.5, 2)
        assert job["acceptedApplicant"] is None
        mine = api.call("listJobsPerParent", {}, parent)["items"]
        assert [j["id"] for j in mine] == [job["id"]]

    @pytest.mark.parametrize("kind", ["NANNY", "admin", "api_key", "newcomer"])
    def test_only_parents_post_jobs(self, api: Api, kind: str) -> None:
        caller = api.caller(kind)
        assert api.error("createJob", {"job": job_input()}, caller) == "Unauthorized"

    @pytest.mark.parametrize(
        "change",
        [{"endDate": "2000-01-01"}, {"numberOfKids": 0}, {"cost": -5}, {"startTime": "25:00"},
         {"jobStatus": "CLOSED"}, {"parentUsername": "someone"}, {"title": ""}, {"jobType": "X"}],
    )  # fmt: skip
    def test_bad_input_is_a_validation_error_and_writes_nothing(
        self, api: Api, change: dict[str, Any]
    ) -> None:
        parent = api.sign_up("PARENT")
        assert api.error("createJob", {"job": job_input(**change)}, parent) == "ValidationError"
        assert api.call("listJobsPerParent", {}, parent)["items"] == []


class TestListAllJobs:
    @pytest.mark.parametrize("kind", ["NANNY", "admin"])
    def test_nannies_and_admins_see_open_jobs_newest_first(self, api: Api, kind: str) -> None:
        parent = api.sign_up("PARENT")
        older, newer = api.post_job(parent), api.post_job(parent)
        caller = api.admin() if kind == "admin" else api.sign_up("NANNY")
        ids = [job["id"] for job in all_pages(api, "listAllJobs", {"jobStatus": "OPEN"}, caller)]
        assert ids.index(newer["id"]) < ids.index(older["id"])
        closed = all_pages(api, "listAllJobs", {"jobStatus": "CLOSED"}, caller)
        assert older["id"] not in {job["id"] for job in closed}

    @pytest.mark.parametrize("kind", ["PARENT", "api_key", "newcomer"])
    def test_others_are_refused(self, api: Api, kind: str) -> None:
        caller = api.caller(kind)
        assert api.error("listAllJobs", {"jobStatus": "OPEN"}, caller) == "Unauthorized"


class TestJobPrivacy:
    def test_browsing_nannies_see_the_city_not_the_address(self, api: Api) -> None:
        parent = api.sign_up("PARENT")
        job = api.post_job(parent, address="1 Private Lane", latitude=51.5, longitude=-0.1)
        assert job["address"] == "1 Private Lane"  # the parent sees their own
        listed = all_pages(api, "listAllJobs", {"jobStatus": "OPEN"}, api.sign_up("NANNY"))
        seen = next(j for j in listed if j["id"] == job["id"])
        assert seen["city"] == "London"
        assert (seen["address"], seen["latitude"], seen["longitude"]) == (None, None, None)

    def test_the_booked_nanny_sees_the_address(self, api: Api) -> None:
        parent, booked, other = api.sign_up("PARENT"), api.sign_up("NANNY"), api.sign_up("NANNY")
        job = api.post_job(parent, address="1 Private Lane")
        api.book(parent, api.apply(booked, job["id"]))
        for nanny, address in ((booked, "1 Private Lane"), (other, None)):
            listed = all_pages(api, "listAllJobs", {"jobStatus": "CLOSED"}, nanny)
            seen = next(j for j in listed if j["id"] == job["id"])
            assert (seen["address"], seen["acceptedApplicant"] is not None) == (
                address,
                address is not None,
            )


class TestListJobsPerParent:
    def test_a_parent_sees_only_their_own_jobs(self, api: Api) -> None:
        parent, other = api.sign_up("PARENT"), api.sign_up("PARENT")
        mine = {api.post_job(parent)["id"] for _ in range(3)}
        api.post_job(other)
        page = api.call("listJobsPerParent", {"limit": 2}, parent)
        rest = api.call("listJobsPerParent", {"nextToken": page["nextToken"]}, parent)
        assert {job["id"] for job in page["items"] + rest["items"]} == mine

    def test_a_parent_cannot_name_another_parent(self, api: Api) -> None:
        parent, other = api.sign_up("PARENT"), api.sign_up("PARENT")
        assert (
            api.error("listJobsPerParent", {"username": other.username}, parent) == "Unauthorized"
        )

    def test_admins_name_the_parent(self, api: Api) -> None:
        parent = api.sign_up("PARENT")
        job = api.post_job(parent)
        page = api.call("listJobsPerParent", {"username": parent.username}, api.admin())
        assert [j["id"] for j in page["items"]] == [job["id"]]
        assert api.error("listJobsPerParent", {}, api.admin()) == "ValidationError"

    @pytest.mark.parametrize("kind", ["NANNY", "api_key", "newcomer"])
    def test_others_are_refused(self, api: Api, kind: str) -> None:
        caller = api.caller(kind)
        assert api.error("listJobsPerParent", {}, caller) == "Unauthorized"

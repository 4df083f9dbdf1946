"""applyToJob, listApplicationsPerJob, listJobsAppliedTo."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.integration.api.test_jobs_api import all_pages
from tests.support.api import Api, ApiError
from tests.support.appsync_events import Identity

pytestmark = pytest.mark.dynamodb


class TestApplyToJob:
    def test_a_nanny_applies_and_the_application_is_pending(self, api: Api) -> None:
        parent, nanny = api.sign_up("PARENT"), api.sign_up("NANNY")
        job = api.post_job(parent)
        application = api.apply(nanny, job["id"])
        assert application["applicantUsername"] == nanny.username
        assert application["parentUsername"] == parent.username
        assert application["jobApplicationStatus"] == "PENDING"
        listed = api.call("listApplicationsPerJob", {"jobId": job["id"]}, parent)["items"]
        assert [a["id"] for a in listed] == [application["id"]]

    def test_a_nanny_applies_once_per_job(self, api: Api) -> None:
        parent, nanny = api.sign_up("PARENT"), api.sign_up("NANNY")
        job = api.post_job(parent)
        api.apply(nanny, job["id"])
        args = {"application": {"jobId": job["id"]}}
        assert api.error("applyToJob", args, nanny) == "AlreadyApplied"
        assert len(api.call("listApplicationsPerJob", {"jobId": job["id"]}, parent)["items"]) == 1

    def test_concurrent_applications_by_one_nanny_make_one_application(self, api: Api) -> None:
        parent, nanny = api.sign_up("PARENT"), api.sign_up("NANNY")
        job = api.post_job(parent)

        def apply(_: int) -> str:
            try:
                api.apply(nanny, job["id"])
            except ApiError as error:
                return error.error_type
            return "ok"

        with ThreadPoolExecutor(max_workers=8) as pool:
            outcomes = list(pool.map(apply, range(8)))
        assert outcomes.count("ok") == 1
        assert set(outcomes) - {"ok"} <= {"AlreadyApplied"}
        assert len(api.call("listApplicationsPerJob", {"jobId": job["id"]}, parent)["items"]) == 1

    def test_a_closed_job_takes_no_applications(self, api: Api) -> None:
        parent, first, late = api.sign_up("PARENT"), api.sign_up("NANNY"), api.sign_up("NANNY")
        job = api.post_job(parent)
        api.book(parent, api.apply(first, job["id"]))
        assert api.error("applyToJob", {"application": {"jobId": job["id"]}}, late) == "JobNotOpen"
        assert api.call("listJobsAppliedTo", {}, late)["items"] == []

    def test_an_unknown_job_is_not_found(self, api: Api) -> None:
        args = {"application": {"jobId": "01890a5d-ac96-774b-bcce-b302099a8057"}}
        assert api.error("applyToJob", args, api.sign_up("NANNY")) == "NotFound"

    def test_nobody_applies_to_their_own_job(self, api: Api) -> None:
        """An account in both groups (say, a stale token after a type change) must not be
        able to book itself and then review itself."""
        parent = api.sign_up("PARENT")
        both = Identity(parent.username, ("parent", "nanny"), parent.sub)
        job = api.post_job(both)
        args = {"application": {"jobId": job["id"]}}
        assert api.error("applyToJob", args, both) == "Unauthorized"
        assert api.call("listApplicationsPerJob", {"jobId": job["id"]}, both)["items"] == []

    @pytest.mark.parametrize(
        "application",
        [{"jobId": "not-an-id"}, {"jobId": None}, {"jobId": "01890a5d-ac96-774b-bcce-b302099a8057",
         "applicantUsername": "someone"}, {"message": "x" * 2001}],
    )  # fmt: skip
    def test_bad_input_is_a_validation_error(self, api: Api, application: dict[str, Any]) -> None:
        nanny = api.sign_up("NANNY")
        assert api.error("applyToJob", {"application": application}, nanny) == "ValidationError"
        assert api.call("listJobsAppliedTo", {}, nanny)["items"] == []

    @pytest.mark.parametrize("kind", ["PARENT", "admin", "api_key", "newcomer"])
    def test_only_nannies_apply(self, api: Api, kind: str) -> None:
        job = api.post_job(api.sign_up("PARENT"))
        caller = api.caller(kind)
        assert (
            api.error("applyToJob", {"application": {"jobId": job["id"]}}, caller) == "Unauthorized"
        )


class TestListApplicationsPerJob:
    def test_the_jobs_parent_pages_through_its_applications(self, api: Api) -> None:
        parent = api.sign_up("PARENT")
        job = api.post_job(parent)
        applied = {api.apply(api.sign_up("NANNY"), job["id"])["id"] for _ in range(3)}
        seen = all_pages(api, "listApplicationsPerJob", {"jobId": job["id"]}, parent)
        assert {a["id"] for a in seen} == applied

    def test_admins_see_any_jobs_applications(self, api: Api) -> None:
        job = api.post_job(api.sign_up("PARENT"))
        application = api.apply(api.sign_up("NANNY"), job["id"])
        items = api.call("listApplicationsPerJob", {"jobId": job["id"]}, api.admin())["items"]
        assert [a["id"] for a in items] == [application["id"]]

    def test_another_parent_is_not_the_owner(self, api: Api) -> None:
        job = api.post_job(api.sign_up("PARENT"))
        assert (
            api.error("listApplicationsPerJob", {"jobId": job["id"]}, api.sign_up("PARENT"))
            == "NotJobOwner"
        )

    @pytest.mark.parametrize("kind", ["NANNY", "api_key", "newcomer"])
    def test_others_are_refused(self, api: Api, kind: str) -> None:
        job = api.post_job(api.sign_up("PARENT"))
        nanny = api.sign_up("NANNY")
        api.apply(nanny, job["id"])
        caller = nanny if kind == "NANNY" else api.caller(kind)
        assert api.error("listApplicationsPerJob", {"jobId": job["id"]}, caller) == "Unauthorized"

    def test_an_unknown_job_is_not_found(self, api: Api) -> None:
        args = {"jobId": "01890a5d-ac96-774b-bcce-b302099a8057"}
        assert api.error("listApplicationsPerJob", args, api.sign_up("PARENT")) == "NotFound"


class TestListJobsAppliedTo:
    def test_a_nanny_lists_their_own_applications(self, api: Api) -> None:
        parent, nanny = api.sign_up("PARENT"), api.sign_up("NANNY")
        first, second = api.post_job(parent), api.post_job(parent)
        api.apply(nanny, first["id"])
        api.apply(nanny, second["id"])
        api.apply(api.sign_up("NANNY"), first["id"])
        items = api.call("listJobsAppliedTo", {}, nanny)["items"]
        assert [a["jobId"] for a in items] == [second["id"], first["id"]]
        assert {a["applicantUsername"] for a in items} == {nanny.username}

    def test_admins_name_the_nanny(self, api: Api) -> None:
        nanny = api.sign_up("NANNY")
        api.apply(nanny, api.post_job(api.sign_up("PARENT"))["id"])
        items = api.call("listJobsAppliedTo", {"username": nanny.username}, api.admin())["items"]
        assert len(items) == 1
        assert api.error("listJobsAppliedTo", {}, api.admin()) == "ValidationError"

    def test_a_nanny_cannot_read_another_nannys_list(self, api: Api) -> None:
        nanny, other = api.sign_up("NANNY"), api.sign_up("NANNY")
        assert api.error("listJobsAppliedTo", {"username": nanny.username}, other) == "Unauthorized"

    @pytest.mark.parametrize("kind", ["PARENT", "api_key", "newcomer"])
    def test_others_are_refused(self, api: Api, kind: str) -> None:
        caller = api.caller(kind)
        assert api.error("listJobsAppliedTo", {}, caller) == "Unauthorized"

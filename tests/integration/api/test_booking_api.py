"""bookNanny through the resolver, executing the real BookNanny workflow."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.support.api import Api, ApiError
from tests.support.appsync_events import Identity

pytestmark = pytest.mark.dynamodb


@pytest.fixture
def job_with_applicants(api: Api) -> tuple[Identity, dict[str, Any], list[dict[str, Any]]]:
    parent = api.sign_up("PARENT")
    job = api.post_job(parent)
    applications = [api.apply(api.sign_up("NANNY"), job["id"]) for _ in range(3)]
    return parent, job, applications


def statuses(api: Api, parent: Identity, job_id: str) -> dict[str, str]:
    items = api.call("listApplicationsPerJob", {"jobId": job_id}, parent)["items"]
    return {item["id"]: item["jobApplicationStatus"] for item in items}


class TestBookNanny:
    def test_the_parent_books_one_applicant(
        self, api: Api, job_with_applicants: tuple[Identity, dict[str, Any], list[dict[str, Any]]]
    ) -> None:
        parent, job, (chosen, *others) = job_with_applicants
        booked = api.book(parent, chosen)
        assert booked["id"] == job["id"]
        assert booked["jobStatus"] == "CLOSED"
        assert booked["acceptedApplicationId"] == chosen["id"]
        assert booked["acceptedApplicant"] == chosen["applicantUsername"]
        assert booked["closedAt"] is not None
        # Only the booking itself is synchronous; declines follow from the JobClosed event.
        assert statuses(api, parent, job["id"]) == {
            chosen["id"]: "ACCEPTED",
            **{other["id"]: "PENDING" for other in others},
        }

    def test_a_second_booking_finds_the_job_closed(
        self, api: Api, job_with_applicants: tuple[Identity, dict[str, Any], list[dict[str, Any]]]
    ) -> None:
        parent, job, (first, second, _) = job_with_applicants
        api.book(parent, first)
        args = {"jobId": job["id"], "applicationId": second["id"]}
        assert api.error("bookNanny", args, parent) == "JobNotOpen"
        assert statuses(api, parent, job["id"])[second["id"]] == "PENDING"

    def test_concurrent_bookings_of_one_job_accept_exactly_one(
        self, api: Api, job_with_applicants: tuple[Identity, dict[str, Any], list[dict[str, Any]]]
    ) -> None:
        parent, job, applications = job_with_applicants

        def book(application: dict[str, Any]) -> str:
            try:
                api.book(parent, application)
            except ApiError as refused:
                return refused.error_type
            return "booked"

        with ThreadPoolExecutor(max_workers=len(applications)) as pool:
            outcomes = list(pool.map(book, applications))
        assert sorted(outcomes) == ["JobNotOpen", "JobNotOpen", "booked"]
        assert sorted(statuses(api, parent, job["id"]).values()) == [
            "ACCEPTED",
            "PENDING",
            "PENDING",
        ]

    def test_another_parent_is_not_the_owner(
        self, api: Api, job_with_applicants: tuple[Identity, dict[str, Any], list[dict[str, Any]]]
    ) -> None:
        parent, job, (application, *_) = job_with_applicants
        args = {"jobId": job["id"], "applicationId": application["id"]}
        assert api.error("bookNanny", args, api.sign_up("PARENT")) == "NotJobOwner"
        assert set(statuses(api, parent, job["id"]).values()) == {"PENDING"}

    @pytest.mark.parametrize("kind", ["NANNY", "admin", "api_key", "newcomer"])
    def test_only_parents_book(
        self,
        api: Api,
        job_with_applicants: tuple[Identity, dict[str, Any], list[dict[str, Any]]],
        kind: str,
    ) -> None:
        parent, job, (application, *_) = job_with_applicants
        args = {"jobId": job["id"], "applicationId": application["id"]}
        assert api.error("bookNanny", args, api.caller(kind)) == "Unauthorized"
        assert set(statuses(api, parent, job["id"]).values()) == {"PENDING"}

    def test_an_unknown_application_is_not_found(
        self, api: Api, job_with_applicants: tuple[Identity, dict[str, Any], list[dict[str, Any]]]
    ) -> None:
        parent, job, _ = job_with_applicants
        args = {"jobId": job["id"], "applicationId": "01890a5d-ac96-774b-bcce-b302099a8057"}
        assert api.error("bookNanny", args, parent) == "NotFound"

    def test_booking_an_accepted_application_again_is_refused(
        self, api: Api, job_with_applicants: tuple[Identity, dict[str, Any], list[dict[str, Any]]]
    ) -> None:
        parent, job, (application, *_) = job_with_applicants
        api.book(parent, application)
        args = {"jobId": job["id"], "applicationId": application["id"]}
        # Booking the same application again, as a new request: the job is closed.
        assert api.error("bookNanny", args, parent) == "JobNotOpen"

    @pytest.mark.parametrize(
        "args",
        [{"jobId": "x", "applicationId": "01890a5d-ac96-774b-bcce-b302099a8057"},
         {"jobId": "01890a5d-ac96-774b-bcce-b302099a8057"},
         {"jobId": "01890a5d-ac96-774b-bcce-b302099a8057", "applicationId": None}],
    )  # fmt: skip
    def test_bad_input_is_a_validation_error(self, api: Api, args: dict[str, Any]) -> None:
        assert api.error("bookNanny", args, api.sign_up("PARENT")) == "ValidationError"

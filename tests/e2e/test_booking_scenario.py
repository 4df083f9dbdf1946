"""The whole product through its front door: Cognito tokens, GraphQL, and the choreography.

Sign up a parent and several nannies, post a job, apply, book one nanny, then wait
(bounded) until every other application is DECLINED and exactly one notification reached
the booked nanny; a second booking is refused with JobNotOpen.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.e2e.client import AppUser, GraphQLError, Stack, subscribe_inbox

SETTLE_SECONDS = 60.0

CREATE_USER = """
mutation($user: CreateUserInput!) { createUser(user: $user) { username type status } }"""
CREATE_JOB = """
mutation($job: CreateJobInput!) { createJob(job: $job) { id jobStatus parentUsername } }"""
APPLY = """
mutation($jobId: ID!) {
  applyToJob(application: {jobId: $jobId, message: "I'd love to"}) { id jobApplicationStatus }
}"""
BOOK = """
mutation($jobId: ID!, $applicationId: ID!) {
  bookNanny(jobId: $jobId, applicationId: $applicationId) {
    id jobStatus acceptedApplicationId acceptedApplicant closedAt
  }
}"""
APPLICATIONS = """
query($jobId: ID!, $nextToken: String) {
  listApplicationsPerJob(jobId: $jobId, limit: 100, nextToken: $nextToken) {
    items { id applicantUsername jobApplicationStatus } nextToken
  }
}"""
PUBLIC_PROFILE = "query($u: String!) { getUser(username: $u) { username firstName city } }"


def sign_up(stack: Stack, user_type: str, created: list[AppUser]) -> AppUser:
    user = AppUser.create(stack, user_type.lower())
    created.append(user)
    profile = {
        "type": user_type,
        "firstName": "Sam",
        "lastName": "Rivera",
        "city": "Lisbon",
    }
    assert user.graphql(CREATE_USER, {"user": profile})["createUser"]["status"] == "UNVERIFIED"
    user.refresh()  # the new group is in the next token, as docs/api.md tells app developers
    return user


@pytest.fixture
def app_users(stack: Stack) -> Iterator[list[AppUser]]:
    created: list[AppUser] = []
    yield created
    for user in created:
        user.delete()


@pytest.fixture
def inbox(stack: Stack) -> Iterator[Callable[[str], Callable[[], list[dict[str, Any]]]]]:
    """Subscribe a queue to the notification topic for one recipient, as a phone would."""
    sqs, sns = stack.client("sqs"), stack.client("sns")
    topic = stack.outputs["NotificationTopicArn"]
    made: list[tuple[str, str]] = []

    def subscribe(recipient: str) -> Callable[[], list[dict[str, Any]]]:
        url, subscription = subscribe_inbox(sqs, sns, topic, recipient, "e2e-inbox")
        made.append((url, subscription))
        received: list[dict[str, Any]] = []

        def read() -> list[dict[str, Any]]:
            answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for message in answer.get("Messages", []):
                received.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            return received

        return read

    yield subscribe
    for url, subscription in made:
        sns.unsubscribe(SubscriptionArn=subscription)
        sqs.delete_queue(QueueUrl=url)


def wait_for(condition: Callable[[], bool], what: str, seconds: float = SETTLE_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not settled after {seconds:.0f} s: {what}")
        time.sleep(0.5)


def application_statuses(parent: AppUser, job_id: str) -> dict[str, str]:
    statuses: dict[str, str] = {}
    token = None
    while True:
        page = parent.graphql(APPLICATIONS, {"jobId": job_id, "nextToken": token})
        page = page["listApplicationsPerJob"]
        statuses |= {a["id"]: a["jobApplicationStatus"] for a in page["items"]}
        token = page["nextToken"]
        if token is None:
            return statuses


def test_a_booking_settles(
    stack: Stack,
    app_users: list[AppUser],
    inbox: Callable[[str], Callable[[], list[dict[str, Any]]]],
) -> None:
    parent = sign_up(stack, "PARENT", app_users)
    nannies = [sign_up(stack, "NANNY", app_users) for _ in range(3)]
    job = parent.graphql(
        CREATE_JOB,
        {
            "job": {
                "jobType": "DAILY",
                "title": "School run",
                "numberOfKids": 2,
                "startDate": "2030-01-07",
                "endDate": "2030-03-29",
                "startTime": "07:30",
                "endTime": "09:00",
                "city": "Lisbon",
                "cost": 25,
            }
        },
    )["createJob"]
    assert (job["jobStatus"], job["parentUsername"]) == ("OPEN", parent.username)
    applications = [n.graphql(APPLY, {"jobId": job["id"]})["applyToJob"] for n in nannies]
    chosen, *others = applications
    chosen_nanny = nannies[0]
    notifications = inbox(chosen_nanny.username)
    others_notifications = inbox(nannies[1].username)

    booked = parent.graphql(BOOK, {"jobId": job["id"], "applicationId": chosen["id"]})["bookNanny"]
    assert booked["jobStatus"] == "CLOSED"
    assert (booked["acceptedApplicationId"], booked["acceptedApplicant"]) == (
        chosen["id"],
        chosen_nanny.username,
    )

    expected = {chosen["id"]: "ACCEPTED"} | {other["id"]: "DECLINED" for other in others}
    wait_for(lambda: application_statuses(parent, job["id"]) == expected, "declines")
    wait_for(lambda: len(notifications()) >= 1, "the booked nanny's notification")
    time.sleep(2)  # room for a duplicate to show up, if one were coming
    assert len(notifications()) == 1
    assert others_notifications() == []

    with pytest.raises(GraphQLError) as refused:
        parent.graphql(BOOK, {"jobId": job["id"], "applicationId": others[0]["id"]})
    assert refused.value.error_types == ["JobNotOpen"]
    assert application_statuses(parent, job["id"]) == expected


def test_public_profiles_are_readable_with_the_api_key(
    stack: Stack, app_users: list[AppUser]
) -> None:
    nanny = sign_up(stack, "NANNY", app_users)
    profile = stack.as_api_key(PUBLIC_PROFILE, {"u": nanny.username})["getUser"]
    assert profile == {"username": nanny.username, "firstName": "Sam", "city": "Lisbon"}
    with pytest.raises(GraphQLError) as refused:
        stack.as_api_key(
            "query($u: String!) { getUser(username: $u) { email } }", {"u": nanny.username}
        )
    assert refused.value.error_types == ["Unauthorized"]

"""The app's calls the reliability tests make, on top of the e2e suite's client and queries."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import boto3

from tests.e2e.client import AppUser, GraphQLError, Stack
from tests.e2e.test_booking_scenario import (
    APPLY,
    BOOK,
    CREATE_JOB,
    application_statuses,
    sign_up,
)

__all__ = ["APPLY", "BOOK", "AppUser", "GraphQLError", "Stack", "application_statuses"]

T = TypeVar("T")
R = TypeVar("R")

JOB = {
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


def in_parallel(call: Callable[[T], R], items: Sequence[T], *, at_once: bool = True) -> list[R]:
    """``call`` on every item. ``at_once``: each in its own thread, released together by a
    barrier; otherwise six at a time (set-up work, kept under the GraphQL endpoint's
    listen backlog: see test_the_graphql_endpoint_takes_a_burst_of_connections)."""
    gate = threading.Barrier(len(items)) if at_once else None
    workers = len(items) if at_once else min(6, len(items))

    def run(item: T) -> R:
        if gate is not None:
            gate.wait(timeout=30)
        return call(item)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run, items))


#: Connections the GraphQL endpoint reset before reading the request, resent by ``outcome``.
RESETS: Counter[str] = Counter()
_resets_lock = threading.Lock()


def outcome(call: Callable[[], Any], *, what: str = "call") -> str:
    """``"ok"``, or the GraphQL error type the call was refused with.

    A connection reset while the endpoint's listen backlog overflows (the request never
    reached the server) is resent, up to 7 times, and counted in ``RESETS[what]``.
    """
    for attempt in range(8):
        try:
            call()
        except GraphQLError as error:
            return ",".join(str(kind) for kind in error.error_types)
        except ConnectionResetError:
            if attempt == 7:
                raise
            with _resets_lock:
                RESETS[what] += 1
            time.sleep(0.2 * (attempt + 1))
            continue
        return "ok"
    raise AssertionError("unreachable")


def users(stack: Stack, user_type: str, count: int) -> list[AppUser]:
    return in_parallel(lambda _: sign_up(stack, user_type, []), range(count), at_once=False)


def post_job(parent: AppUser) -> str:
    job_id: str = parent.graphql(CREATE_JOB, {"job": JOB})["createJob"]["id"]
    return job_id


def apply(nanny: AppUser, job_id: str) -> str:
    application_id: str = nanny.graphql(APPLY, {"jobId": job_id})["applyToJob"]["id"]
    return application_id


def book(parent: AppUser, job_id: str, application_id: str) -> dict[str, Any]:
    booked: dict[str, Any] = parent.graphql(
        BOOK, {"jobId": job_id, "applicationId": application_id}
    )["bookNanny"]
    return booked


def wait_until(condition: Callable[[], bool], what: str, seconds: float) -> float:
    """Poll ``condition`` until true; the seconds it took, or AssertionError after ``seconds``."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > seconds:
            raise AssertionError(f"not settled after {seconds:.0f} s: {what}")
        time.sleep(0.2)
    return time.monotonic() - started


def table_items(stack: Stack) -> list[dict[str, Any]]:
    """Every item of the stack's table, read straight from DynamoDB (no Cognito needed)."""
    dynamodb = boto3.resource(
        "dynamodb",
        region_name=stack.region,
        endpoint_url=stack.endpoint_url,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    table = dynamodb.Table(stack.outputs["TableName"])
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"ConsistentRead": True}
    while True:
        page = table.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

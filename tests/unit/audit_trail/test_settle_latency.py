"""decline_applications' SettleLatency: booking (closedAt) to settled, once per booking.

(Here with the audit trail's tests because it came with the Operations work; it tests
services/decline_applications only.)
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any, cast

import pytest

from events_schema import JobClosedData
from services.common.dal.table import PageRequest
from services.common.models import JobApplication, Page
from services.decline_applications import handler as decline_handler
from services.decline_applications.logic import settle_latency_ms
from tests.support.appsync_events import LambdaContext
from tests.support.events import eventbridge_event, failures, job_closed_detail, sqs_event

CLOSED_AT = dt.datetime(2030, 1, 7, 9, 0, tzinfo=dt.UTC)


def job(closed_at: dt.datetime = CLOSED_AT) -> JobClosedData:
    return JobClosedData(
        job_id="j",
        parent_username="p",
        accepted_application_id="a",
        accepted_applicant="n",
        closed_at=closed_at,
    )


def test_latency_is_the_time_since_the_booking_in_milliseconds() -> None:
    assert settle_latency_ms(job(), CLOSED_AT + dt.timedelta(seconds=2.5)) == 2500.0


def test_a_clock_behind_the_bookings_gives_zero_not_a_negative_latency() -> None:
    assert settle_latency_ms(job(), CLOSED_AT - dt.timedelta(seconds=1)) == 0.0


def test_a_booking_time_without_zone_is_utc() -> None:
    naive = job(CLOSED_AT.replace(tzinfo=None))
    assert settle_latency_ms(naive, CLOSED_AT + dt.timedelta(milliseconds=7)) == 7.0


class NoApplications:
    def list_for_job(self, job_id: str, page: PageRequest) -> Page[JobApplication]:
        return Page(items=[], next_token=None)

    def decline_if_pending(self, job_id: str, application_id: str) -> bool:
        raise AssertionError("nothing to decline")


@pytest.fixture
def no_applications(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decline_handler, "applications", NoApplications)


def settle_latencies(batch: dict[str, Any], capfd: pytest.CaptureFixture[str]) -> Any:
    assert failures(dict(decline_handler.handler(batch, cast(Any, LambdaContext())))) == []
    lines = [json.loads(line) for line in capfd.readouterr().out.splitlines() if line.strip()]
    (document,) = [line for line in lines if "_aws" in line]
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    units = {m["Name"]: m["Unit"] for m in directive["Metrics"]}
    return units.get("SettleLatency"), document.get("SettleLatency")  # a list of values


def test_the_handler_emits_it_once_per_live_event(no_applications, capfd) -> None:
    closed = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=3)
    live = eventbridge_event(job_closed_detail(closedAt=closed.isoformat()))
    unit, values = settle_latencies(sqs_event(live), capfd)
    assert unit == "Milliseconds"
    (value,) = values
    assert 3000 <= value < 60_000


def test_a_replay_emits_none(no_applications, capfd) -> None:
    replayed = eventbridge_event(job_closed_detail(), replay_name=f"r-{uuid.uuid4().hex[:6]}")
    assert settle_latencies(sqs_event(replayed), capfd) == (None, None)

"""The audit_trail handler with an in-memory trail: partial failures, logs, metrics."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any, cast

import pytest

from services.audit_trail import handler as audit_handler
from tests.support.appsync_events import LambdaContext
from tests.support.events import (
    eventbridge_event,
    failures,
    job_closed_detail,
    message_ids,
    sqs_event,
)
from tests.unit.audit_trail.fakes import FakeAuditTrail

USERNAMES = {"parentUsername": "secret-parent", "acceptedApplicant": "secret-nanny"}


@pytest.fixture
def trail(monkeypatch: pytest.MonkeyPatch) -> FakeAuditTrail:
    fake = FakeAuditTrail()
    monkeypatch.setattr(audit_handler, "trail", lambda: fake)
    return fake


def run(batch: dict[str, Any]) -> list[str]:
    return failures(dict(audit_handler.handler(batch, cast(Any, LambdaContext()))))


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """The function's log lines (its Logger holds the stdout it found when imported)."""
    handler = audit_handler.logger.registered_handler
    buffer = io.StringIO()
    previous = handler.setStream(buffer)  # type: ignore[attr-defined]
    yield buffer
    handler.setStream(previous)  # type: ignore[attr-defined]


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def metric_values(lines: list[dict[str, Any]]) -> dict[str, list[float]]:
    """The EMF document's metric values, by name (Powertools writes a list of them)."""
    (document,) = [line for line in lines if "_aws" in line]
    names = [m["Name"] for m in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
    return {name: document[name] for name in names}


def test_every_event_is_audited_once_and_counted(trail, capfd) -> None:
    first, second = eventbridge_event(job_closed_detail()), eventbridge_event(job_closed_detail())
    replayed = {**first, "replay-name": "recovery-1"}
    assert run(sqs_event(first, second, first, replayed)) == []
    assert len(trail.items) == 2
    # Metrics are printed (EMF) when the invocation ends.
    assert metric_values(json_lines(capfd.readouterr().out)) == {
        "EventsAudited": [1.0, 1.0],
        "DuplicateEventsIgnored": [1.0],
        "ReplayedEventsAudited": [1.0],
    }


def test_only_the_records_that_failed_are_retried(trail) -> None:
    good, bad = eventbridge_event(job_closed_detail()), eventbridge_event(job_closed_detail())
    trail.failing_events = frozenset({bad["id"]})
    batch = sqs_event(good, "not json", bad, json.dumps({"detail": {}}), good)
    assert run(batch) == message_ids(batch, 1, 2, 3)
    assert len(trail.items) == 1


def test_a_batch_that_fails_entirely_is_reported_not_raised(trail) -> None:
    batch = sqs_event("x", "y")
    assert run(batch) == message_ids(batch, 0, 1)


def test_logs_carry_the_events_ids_and_no_usernames(trail, log_output) -> None:
    bad = eventbridge_event(job_closed_detail(**USERNAMES))
    trail.failing_events = frozenset({bad["id"]})
    batch = sqs_event(eventbridge_event(job_closed_detail(**USERNAMES)), bad, "poison")
    run(batch)
    lines = json_lines(log_output.getvalue())
    failed = next(line for line in lines if line.get("message", "").startswith("event not"))
    assert failed["correlation_id"] == bad["detail"]["metadata"]["correlationId"]
    assert failed["event_id"] == bad["id"]
    assert failed["job_id"] == bad["detail"]["data"]["jobId"]
    assert (failed["source"], failed["detail_type"]) == ("babysitter.jobs", "JobClosed")
    assert failed["message_id"] == message_ids(batch, 1)[0]
    audited = next(line for line in lines if line.get("message") == "event audited")
    assert audited["outcome"] == "RECORDED"
    poison = next(line for line in lines if line.get("message") == "poison message")
    assert "correlation_id" not in poison
    assert not any(name in json.dumps(lines) for name in USERNAMES.values())

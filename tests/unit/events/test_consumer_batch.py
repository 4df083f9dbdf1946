"""How every JobClosed consumer reads its SQS batch (services.common.events)."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any, cast

import pytest
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from services.common.events import (
    JobClosedEvent,
    PoisonMessage,
    job_closed_from_sqs,
    process_job_closed_batch,
)
from tests.support.appsync_events import LambdaContext
from tests.support.events import (
    eventbridge_event,
    failures,
    job_closed_detail,
    message_ids,
    sqs_event,
    sqs_record,
)

CONTEXT = cast(Any, LambdaContext())
USERNAMES = {"parentUsername": "secret-parent", "acceptedApplicant": "secret-nanny"}


def good_event() -> dict[str, Any]:
    return eventbridge_event(job_closed_detail(**USERNAMES))


class TestJobClosedFromSqs:
    def test_reads_the_eventbridge_event_in_the_body(self) -> None:
        event = good_event()
        parsed = job_closed_from_sqs(SQSRecord(sqs_record(json.dumps(event))))
        assert parsed.id == event["id"]
        assert parsed.detail.data.job_id == event["detail"]["data"]["jobId"]
        assert parsed.replay_name is None

    def test_a_replayed_event_says_so(self) -> None:
        event = eventbridge_event(job_closed_detail(), replay_name="recovery-1")
        assert job_closed_from_sqs(SQSRecord(sqs_record(json.dumps(event)))).replay_name == (
            "recovery-1"
        )

    @pytest.mark.parametrize(
        "body",
        [
            "not json",
            json.dumps({"hello": "world"}),
            json.dumps({**good_event(), "detail-type": "JobOpened"}),
            json.dumps({**good_event(), "source": "someone.else"}),
            json.dumps(
                {**good_event(), "detail": {**good_event()["detail"], "metadata": {"version": "2"}}}
            ),
        ],
    )
    def test_anything_else_is_poison_and_the_reason_holds_no_data(self, body: str) -> None:
        with pytest.raises(PoisonMessage) as poison:
            job_closed_from_sqs(SQSRecord(sqs_record(body)))
        assert not any(name in str(poison.value) for name in USERNAMES.values())
        # Nor does the chained pydantic error, which would print the input in a traceback.
        assert poison.value.__cause__ is None
        assert poison.value.__suppress_context__


class Recorder:
    """A consumer that records what it handled and fails for chosen jobs."""

    def __init__(self, failing_jobs: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.handled: list[JobClosedEvent] = []
        self.failing_jobs = failing_jobs

    def __call__(self, event: JobClosedEvent) -> None:
        if event.detail.data.job_id in self.failing_jobs:
            raise RuntimeError("DynamoDB said no")
        self.handled.append(event)


@pytest.fixture
def log_output() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def logger(log_output: io.StringIO) -> Logger:
    # A service name of its own: Loggers of one name share their handler, and its stream.
    return Logger(service=f"consumer-{uuid.uuid4().hex}", stream=log_output)


def run(batch: dict[str, Any], handle: Recorder, logger: Logger) -> dict[str, Any]:
    return dict(process_job_closed_batch(batch, CONTEXT, handle=handle, logger=logger))


class TestProcessJobClosedBatch:
    def test_every_good_record_is_handled(self, logger) -> None:
        batch = sqs_event(good_event(), good_event())
        consumer = Recorder()
        assert failures(run(batch, consumer, logger)) == []
        assert len(consumer.handled) == 2

    def test_a_poison_message_fails_its_record_only(self, logger) -> None:
        batch = sqs_event(good_event(), "{oops", good_event())
        consumer = Recorder()
        assert failures(run(batch, consumer, logger)) == message_ids(batch, 1)
        assert len(consumer.handled) == 2

    def test_a_failing_record_fails_alone(self, logger) -> None:
        bad = good_event()
        batch = sqs_event(good_event(), bad, good_event())
        consumer = Recorder(failing_jobs={bad["detail"]["data"]["jobId"]})
        assert failures(run(batch, consumer, logger)) == message_ids(batch, 1)
        assert len(consumer.handled) == 2

    def test_a_batch_that_fails_entirely_is_reported_not_raised(self, logger) -> None:
        batch = sqs_event("x", "y")
        assert failures(run(batch, Recorder(), logger)) == message_ids(batch, 0, 1)

    def test_logs_carry_ids_and_no_usernames(self, logger, log_output) -> None:
        bad = good_event()
        batch = sqs_event(good_event(), bad, "poison")
        run(batch, Recorder(failing_jobs={bad["detail"]["data"]["jobId"]}), logger)
        lines = [json.loads(line) for line in log_output.getvalue().splitlines()]
        failed = next(line for line in lines if line["message"].startswith("JobClosed not"))
        assert failed["correlation_id"] == bad["detail"]["metadata"]["correlationId"]
        assert failed["job_id"] == bad["detail"]["data"]["jobId"]
        assert failed["event_id"] == bad["id"]
        assert failed["message_id"] == message_ids(batch, 1)[0]
        poison = next(line for line in lines if line["message"] == "poison message")
        assert poison["message_id"] == message_ids(batch, 2)[0]
        assert "correlation_id" not in poison
        output = json.dumps(lines)
        assert not any(name in output for name in USERNAMES.values())

"""Re-reading what the pipe gave up on: stream positions -> records -> JobClosed -> bus."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from events_schema.job_closed import JobClosed
from operations.pipe import RecordsGone, StreamBatch, job_closed_entries, read_records, reread
from services.common.models import JobApplicationStatus
from tests.unit.events import stream_records as records
from tests.unit.operations.stubs import BUS, Stubs, queue_url

NOW = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)
PIPE_DLQ = queue_url("PipeDLQ")
SHARD = "shardId-00000001795410055999-95f7986b"  # as long as real ones (28+)
GONE = "0" * 20 + "1"


@pytest.fixture
def streams() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "dynamodbstreams",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    with Stubber(client) as stub:
        yield client, stub


def as_read(record: dict[str, Any]) -> dict[str, Any]:
    """A record as GetRecords answers it (no eventSourceARN, the time a timestamp)."""
    return {key: value for key, value in record.items() if key != "eventSourceARN"}


def booking_records() -> tuple[dict[str, Any], dict[str, Any], str]:
    """An application's record, then the job's OPEN -> CLOSED one; and the job's id."""
    job = records.job()
    chosen = records.application(job)
    accepted = records.record(
        "MODIFY",
        old=records.application_image(chosen, JobApplicationStatus.PENDING),
        new=records.application_image(chosen, JobApplicationStatus.ACCEPTED),
    )
    closed = records.record(
        "MODIFY",
        old=records.job_image(job),
        new=records.closed_job_image(job, chosen, "corr-1"),
    )
    return as_read(accepted), as_read(closed), job.id


def dlq_body(first: str, last: str) -> str:
    return json.dumps(
        {
            "context": {"partnerResourceArn": "arn:pipe", "condition": "RetryAttemptsExhausted"},
            "version": "1.0",
            "timestamp": "2026-05-01T11:00:00.000Z",
            "DDBStreamBatchInfo": {
                "shardId": SHARD,
                "startSequenceNumber": first,
                "endSequenceNumber": last,
                "approximateArrivalOfFirstRecord": "2026-05-01T10:59:00Z",
                "approximateArrivalOfLastRecord": "2026-05-01T10:59:00Z",
                "batchSize": 2,
                "streamArn": records.STREAM_ARN,
            },
        }
    )


def seq(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def test_a_stream_batch_from_a_dlq_message() -> None:
    batch = StreamBatch.from_body(dlq_body("10", "20"))
    assert batch == StreamBatch(records.STREAM_ARN, SHARD, "10", "20", 2)
    assert StreamBatch.from_body("not json") is None
    assert StreamBatch.from_body(json.dumps({"id": "an event"})) is None


def test_records_are_read_up_to_the_end_of_the_range(streams: tuple[Any, Stubber]) -> None:
    client, stub = streams
    accepted, closed, _ = booking_records()
    later = {**accepted, "dynamodb": {**accepted["dynamodb"], "SequenceNumber": "9" * 21}}
    stub.add_response(
        "get_shard_iterator",
        {"ShardIterator": "it-1"},
        {"StreamArn": records.STREAM_ARN, "ShardId": SHARD,
         "ShardIteratorType": "AT_SEQUENCE_NUMBER", "SequenceNumber": seq(accepted)},
    )  # fmt: skip
    stub.add_response("get_records", {"Records": [accepted], "NextShardIterator": "it-2"})
    stub.add_response("get_records", {"Records": [], "NextShardIterator": "it-3"})
    stub.add_response("get_records", {"Records": [closed, later], "NextShardIterator": "it-4"})
    batch = StreamBatch(records.STREAM_ARN, SHARD, seq(accepted), str(int(seq(closed)) + 1))
    assert [seq(r) for r in read_records(client, batch)] == [seq(accepted), seq(closed)]
    stub.assert_no_pending_responses()


def test_records_past_the_streams_24_hours_are_gone(streams: tuple[Any, Stubber]) -> None:
    client, stub = streams
    stub.add_client_error("get_shard_iterator", "TrimmedDataAccessException", "trimmed")
    with pytest.raises(RecordsGone, match="TrimmedDataAccessException"):
        read_records(client, StreamBatch(records.STREAM_ARN, SHARD, GONE, GONE))


def test_only_the_job_closing_record_makes_an_event_as_the_pipe_makes_it() -> None:
    accepted, closed, job_id = booking_records()
    closed["dynamodb"]["ApproximateCreationDateTime"] = NOW  # as boto3 parses it
    (entry,) = job_closed_entries([accepted, closed], BUS, NOW)
    assert (entry["Source"], entry["DetailType"], entry["EventBusName"]) == (
        "babysitter.jobs", "JobClosed", BUS,
    )  # fmt: skip
    event = JobClosed.model_validate_json(entry["Detail"])  # what every consumer parses
    assert event.data.job_id == job_id
    assert event.metadata.correlation_id == "corr-1"
    assert event.metadata.created_at == NOW


def test_reread_puts_the_events_and_deletes_the_message(
    stubs: Stubs, streams: tuple[Any, Stubber]
) -> None:
    client, stub = streams
    accepted, closed, job_id = booking_records()
    message = {
        "MessageId": "m1",
        "ReceiptHandle": "h1",
        "Body": dlq_body(seq(accepted), seq(closed)),
    }
    stubs.sqs_stub.add_response("receive_message", {"Messages": [message]})
    stub.add_response("get_shard_iterator", {"ShardIterator": "it-1"})
    stub.add_response("get_records", {"Records": [accepted, closed]})
    stubs.events_stub.add_response(
        "put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": "e1"}]}
    )
    stubs.sqs_stub.add_response("delete_message", {}, {"QueueUrl": PIPE_DLQ, "ReceiptHandle": "h1"})
    stubs.sqs_stub.add_response("receive_message", {})
    report = reread(stubs.sqs, client, stubs.events, queue_url=PIPE_DLQ, bus_name=BUS, now=NOW)
    stubs.assert_done()
    shown = report.as_dict()
    assert (shown["messages"], shown["recordsRead"], shown["eventsPut"], shown["resolved"]) == (
        1, 2, 1, 1,
    )  # fmt: skip
    assert [e["data"]["jobId"] for e in shown["events"]] == [job_id]
    assert report.succeeded


def test_a_dry_run_sends_nothing_and_leaves_the_message(
    stubs: Stubs, streams: tuple[Any, Stubber]
) -> None:
    client, stub = streams
    _, closed, _ = booking_records()
    message = {"MessageId": "m1", "ReceiptHandle": "h1", "Body": dlq_body(seq(closed), seq(closed))}
    stubs.sqs_stub.add_response("receive_message", {"Messages": [message]})
    stub.add_response("get_shard_iterator", {"ShardIterator": "it-1"})
    stub.add_response("get_records", {"Records": [closed]})
    stubs.sqs_stub.add_response("receive_message", {})
    stubs.sqs_stub.add_response(
        "change_message_visibility",
        {},
        {"QueueUrl": PIPE_DLQ, "ReceiptHandle": "h1", "VisibilityTimeout": 0},
    )
    report = reread(
        stubs.sqs, client, stubs.events, queue_url=PIPE_DLQ, bus_name=BUS, dry_run=True, now=NOW
    )
    stubs.assert_done()
    assert (len(report.events), report.events_put, report.resolved) == (1, 0, 0)
    assert report.succeeded


def test_messages_that_cannot_be_resolved_stay_with_a_reason(
    stubs: Stubs, streams: tuple[Any, Stubber]
) -> None:
    client, stub = streams
    _, closed, _ = booking_records()
    gone = {"MessageId": "m1", "ReceiptHandle": "h1", "Body": dlq_body(GONE, GONE)}
    refused = {"MessageId": "m2", "ReceiptHandle": "h2", "Body": dlq_body(seq(closed), seq(closed))}
    stranger = {"MessageId": "m3", "ReceiptHandle": "h3", "Body": "{}"}
    stubs.sqs_stub.add_response("receive_message", {"Messages": [gone, refused, stranger]})
    stub.add_client_error("get_shard_iterator", "TrimmedDataAccessException", "trimmed")
    stub.add_response("get_shard_iterator", {"ShardIterator": "it-1"})
    stub.add_response("get_records", {"Records": [closed]})
    stubs.events_stub.add_response(
        "put_events",
        {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "x"}]},
    )
    stubs.sqs_stub.add_response("receive_message", {})
    for handle in ("h1", "h2", "h3"):
        stubs.sqs_stub.add_response(
            "change_message_visibility",
            {},
            {"QueueUrl": PIPE_DLQ, "ReceiptHandle": handle, "VisibilityTimeout": 0},
        )
    report = reread(stubs.sqs, client, stubs.events, queue_url=PIPE_DLQ, bus_name=BUS, now=NOW)
    stubs.assert_done()
    assert not report.succeeded
    assert [reason.split(":")[0] for reason in report.left] == ["m1", "m2", "m3"]
    assert "no longer in the stream" in report.left[0]
    assert "InternalFailure" in report.left[1]
    assert "not a stream batch description" in report.left[2]

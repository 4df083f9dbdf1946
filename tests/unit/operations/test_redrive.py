"""The stack's DLQs: naming them, peeking without consuming, redriving with counts."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from botocore.stub import ANY

from operations.redrive import (
    COPY_HOLD_SECONDS,
    PEEK_HOLD_SECONDS,
    DeadLetterQueue,
    QueueKind,
    dead_letter_queues,
    find_queue,
    peek,
    redrive,
)
from operations.stack import OperationsError, StackOutputs
from tests.unit.operations.stubs import Stubs, queue_arn, queue_url

DECLINE_DLQ = DeadLetterQueue(
    "DeclineOtherApplicationsDeadLetterQueue",
    QueueKind.CONSUMER,
    queue_url("DeclineDLQ"),
    "DeclineOtherApplications",
    queue_url("DeclineQueue"),
)
TARGET_DLQ = DeadLetterQueue(
    "DeclineOtherApplicationsTargetDeadLetterQueue",
    QueueKind.RULE_TARGET,
    queue_url("DeclineTargetDLQ"),
    "DeclineOtherApplications",
    queue_url("DeclineQueue"),
)
PIPE_DLQ = DeadLetterQueue("PipeDeadLetterQueue", QueueKind.PIPE, queue_url("PipeDLQ"))


def message(number: int, body: str = "", **attributes: str) -> dict[str, Any]:
    return {
        "MessageId": f"m{number}",
        "ReceiptHandle": f"h{number}",
        "Body": body or json.dumps({"id": f"event-{number}"}),
        "Attributes": {"SentTimestamp": "1777636800000", "ApproximateReceiveCount": "6"}
        | attributes,
    }


def receive(stubs: Stubs, url: str, messages: list[dict[str, Any]], *, wanted: int = 10,
            hold: int = COPY_HOLD_SECONDS) -> None:  # fmt: skip
    stubs.sqs_stub.add_response(
        "receive_message",
        {"Messages": messages} if messages else {},
        {
            "QueueUrl": url,
            "MaxNumberOfMessages": wanted,
            "VisibilityTimeout": hold,
            "WaitTimeSeconds": 1,
            "AttributeNames": ["All"],
            "MessageAttributeNames": ["All"],
        },
    )


def test_every_dlq_of_the_stack_is_named(outputs: StackOutputs) -> None:
    queues = dead_letter_queues(outputs, {"DeclineOtherApplications": [queue_url("TDLQ")]})
    assert [(q.name, q.kind, q.destination_url) for q in queues] == [
        ("DeclineOtherApplicationsDeadLetterQueue", QueueKind.CONSUMER, queue_url("DeclineQueue")),
        ("DeclineOtherApplicationsTargetDeadLetterQueue", QueueKind.RULE_TARGET,
         queue_url("DeclineQueue")),
        ("NotifyAcceptedApplicantDeadLetterQueue", QueueKind.CONSUMER, queue_url("NotifyQueue")),
        ("PipeDeadLetterQueue", QueueKind.PIPE, None),
    ]  # fmt: skip


@pytest.mark.parametrize(
    "name",
    [
        "DeclineOtherApplicationsDeadLetterQueue",
        "DeclineOtherApplications",
        "DeclineOtherApplicationsDeadLetterQueueUrl",
        "DeclineDLQ",
        queue_url("DeclineDLQ"),
    ],
)
def test_a_dlq_by_any_of_its_names(outputs: StackOutputs, name: str) -> None:
    assert find_queue(dead_letter_queues(outputs), name).url == queue_url("DeclineDLQ")


def test_an_unknown_dlq_lists_the_valid_ones(outputs: StackOutputs) -> None:
    with pytest.raises(OperationsError, match="valid: DeclineOtherApplicationsDeadLetterQueue, "):
        find_queue(dead_letter_queues(outputs), "Decline")
    assert find_queue(dead_letter_queues(outputs), "Pipe").kind is QueueKind.PIPE


# -- peek --------------------------------------------------------------------------------------


def test_peek_leaves_every_message_visible_and_deletes_nothing(stubs: Stubs) -> None:
    receive(stubs, DECLINE_DLQ.url, [message(1), message(2, "not json")], hold=PEEK_HOLD_SECONDS)
    receive(stubs, DECLINE_DLQ.url, [], wanted=8, hold=PEEK_HOLD_SECONDS)
    stubs.sqs_stub.add_response(
        "change_message_visibility_batch",
        {"Successful": [{"Id": "0"}, {"Id": "1"}], "Failed": []},
        {
            "QueueUrl": DECLINE_DLQ.url,
            "Entries": [
                {"Id": "0", "ReceiptHandle": "h1", "VisibilityTimeout": 0},
                {"Id": "1", "ReceiptHandle": "h2", "VisibilityTimeout": 0},
            ],
        },
    )
    # The stubbed client answers only the calls above: a delete would fail the test.
    peeked = peek(stubs.sqs, DECLINE_DLQ, 10)
    stubs.assert_done()
    now = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)
    assert [m.as_dict(now)["body"] for m in peeked] == [{"id": "event-1"}, "not json"]
    assert peeked[0].as_dict(now)["sent"] == "2026-05-01T12:00:00Z"
    assert peeked[0].receive_count == 6


def test_peek_stops_at_max(stubs: Stubs) -> None:
    receive(stubs, DECLINE_DLQ.url, [message(1)], wanted=1, hold=PEEK_HOLD_SECONDS)
    stubs.sqs_stub.add_response(
        "change_message_visibility_batch", {"Successful": [{"Id": "0"}], "Failed": []}
    )
    assert [m.message_id for m in peek(stubs.sqs, DECLINE_DLQ, 1)] == ["m1"]
    stubs.assert_done()


def test_peek_releases_what_it_held_even_when_it_fails(stubs: Stubs) -> None:
    receive(stubs, DECLINE_DLQ.url, [message(1)], hold=PEEK_HOLD_SECONDS)
    stubs.sqs_stub.add_client_error("receive_message", "ThrottlingException")
    stubs.sqs_stub.add_response(
        "change_message_visibility_batch", {"Successful": [{"Id": "0"}], "Failed": []}
    )
    with pytest.raises(Exception, match="ThrottlingException"):
        peek(stubs.sqs, DECLINE_DLQ, 10)
    stubs.assert_done()


def test_a_pipe_message_shows_where_its_records_are(stubs: Stubs) -> None:
    body = {
        "context": {"partnerResourceArn": "arn:pipe", "condition": "RetryAttemptsExhausted"},
        "version": "1.0",
        "timestamp": "2026-05-01T10:00:00.000Z",
        "DDBStreamBatchInfo": {
            "shardId": "shardId-1",
            "startSequenceNumber": "100",
            "endSequenceNumber": "300",
            "approximateArrivalOfFirstRecord": "2026-05-01T09:59:00Z",
            "approximateArrivalOfLastRecord": "2026-05-01T09:59:30Z",
            "batchSize": 3,
            "streamArn": "arn:stream",
        },
    }
    receive(stubs, PIPE_DLQ.url, [message(1, json.dumps(body))], hold=PEEK_HOLD_SECONDS)
    receive(stubs, PIPE_DLQ.url, [], wanted=9, hold=PEEK_HOLD_SECONDS)
    stubs.sqs_stub.add_response(
        "change_message_visibility_batch", {"Successful": [{"Id": "0"}], "Failed": []}
    )
    (peeked,) = peek(stubs.sqs, PIPE_DLQ, 10)
    batch = peeked.as_dict(dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC))["streamBatch"]
    assert batch["shardId"] == "shardId-1"
    assert (batch["startSequenceNumber"], batch["endSequenceNumber"]) == ("100", "300")
    assert (batch["inStreamUntil"], batch["stillInStream"]) == ("2026-05-02T09:59:00Z", True)
    later = peeked.as_dict(dt.datetime(2026, 5, 3, tzinfo=dt.UTC))["streamBatch"]
    assert later["stillInStream"] is False


# -- redrive -----------------------------------------------------------------------------------


def test_a_dlq_of_a_target_that_is_no_queue_is_refused(stubs: Stubs) -> None:
    log_dlq = DeadLetterQueue(
        "EventLogTargetDeadLetterQueue", QueueKind.RULE_TARGET, queue_url("LogDLQ"),
        target_arn="arn:aws:logs:us-east-1:123456789012:log-group:events",
    )  # fmt: skip
    with pytest.raises(OperationsError, match=r"not a queue to send them back to.*replay"):
        redrive(stubs.sqs, log_dlq)


def test_the_pipe_dlq_is_refused_with_the_runbook(stubs: Stubs) -> None:
    with pytest.raises(OperationsError, match=r"not events.*docs/operations\.md"):
        redrive(stubs.sqs, PIPE_DLQ)


def test_a_consumer_dlq_goes_back_with_a_move_task(stubs: Stubs) -> None:
    stubs.counts("DeclineDLQ", visible=3)
    stubs.counts("DeclineQueue")
    stubs.sqs_stub.add_response(
        "start_message_move_task",
        {"TaskHandle": "task-1"},
        {"SourceArn": queue_arn("DeclineDLQ"), "DestinationArn": queue_arn("DeclineQueue")},
    )
    for status, moved in (("RUNNING", 1), ("COMPLETED", 3)):
        stubs.sqs_stub.add_response(
            "list_message_move_tasks",
            {"Results": [{"Status": status, "ApproximateNumberOfMessagesMoved": moved,
                          "ApproximateNumberOfMessagesToMove": 3}]},
            {"SourceArn": queue_arn("DeclineDLQ"), "MaxResults": 1},
        )  # fmt: skip
    stubs.counts("DeclineDLQ", visible=0)
    sleeps: list[float] = []
    report = redrive(stubs.sqs, DECLINE_DLQ, sleep=sleeps.append)
    stubs.assert_done()
    assert (report.method, report.moved, report.failed, report.remaining) == ("move-task", 3, 0, 0)
    assert report.succeeded
    assert sleeps == [1.0]


def test_a_failed_move_task_reports_what_was_not_moved(stubs: Stubs) -> None:
    stubs.counts("DeclineDLQ", visible=5)
    stubs.counts("DeclineQueue")
    stubs.sqs_stub.add_response("start_message_move_task", {"TaskHandle": "t"})
    stubs.sqs_stub.add_response(
        "list_message_move_tasks",
        {"Results": [{"Status": "FAILED", "ApproximateNumberOfMessagesMoved": 2,
                      "ApproximateNumberOfMessagesToMove": 5, "FailureReason": "AccessDenied"}]},
    )  # fmt: skip
    stubs.counts("DeclineDLQ", visible=3)
    report = redrive(stubs.sqs, DECLINE_DLQ)
    assert (report.moved, report.failed, report.remaining) == (2, 3, 3)
    assert report.failures == ["FAILED: AccessDenied"]
    assert not report.succeeded


def test_without_move_tasks_it_copies_and_says_so(stubs: Stubs) -> None:
    stubs.counts("DeclineDLQ", visible=2)
    stubs.counts("DeclineQueue")
    # moto 5.2.5: NotImplementedError, answered as HTTP 500 with an HTML page.
    stubs.sqs_stub.add_client_error("start_message_move_task", "500", http_status_code=500)
    traced = message(2, "not json", AWSTraceHeader="Root=1-abc")
    traced["MessageAttributes"] = {
        "e2e": {"DataType": "String", "StringValue": "poison", "StringListValues": []}
    }
    receive(stubs, DECLINE_DLQ.url, [message(1), traced])
    stubs.sqs_stub.add_response(
        "send_message_batch",
        {"Successful": [{"Id": "0", "MessageId": "n1", "MD5OfMessageBody": "x"},
                        {"Id": "1", "MessageId": "n2", "MD5OfMessageBody": "x"}], "Failed": []},
        {
            "QueueUrl": DECLINE_DLQ.destination_url,
            "Entries": [
                {"Id": "0", "MessageBody": json.dumps({"id": "event-1"})},
                {"Id": "1", "MessageBody": "not json",
                 "MessageAttributes": {"e2e": {"DataType": "String", "StringValue": "poison"}},
                 "MessageSystemAttributes": {
                     "AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-abc"}}},
            ],
        },
    )  # fmt: skip
    stubs.sqs_stub.add_response(
        "delete_message_batch",
        {"Successful": [{"Id": "0"}, {"Id": "1"}], "Failed": []},
        {
            "QueueUrl": DECLINE_DLQ.url,
            "Entries": [{"Id": "0", "ReceiptHandle": "h1"}, {"Id": "1", "ReceiptHandle": "h2"}],
        },
    )
    receive(stubs, DECLINE_DLQ.url, [])
    stubs.counts("DeclineDLQ", visible=0)
    report = redrive(stubs.sqs, DECLINE_DLQ)
    stubs.assert_done()
    assert (report.method, report.moved, report.failed, report.remaining) == ("copy", 2, 0, 0)
    assert "StartMessageMoveTask is not available here (500)" in report.notes[0]


def test_asking_for_a_move_task_where_there_is_none_is_an_error(stubs: Stubs) -> None:
    stubs.counts("DeclineDLQ")
    stubs.counts("DeclineQueue")
    stubs.sqs_stub.add_client_error("start_message_move_task", "500", http_status_code=500)
    with pytest.raises(OperationsError, match="use --method copy"):
        redrive(stubs.sqs, DECLINE_DLQ, method="move-task")


def test_other_move_task_errors_are_not_hidden(stubs: Stubs) -> None:
    stubs.counts("DeclineDLQ")
    stubs.counts("DeclineQueue")
    stubs.sqs_stub.add_client_error("start_message_move_task", "AccessDenied", "no")
    with pytest.raises(OperationsError, match="StartMessageMoveTask failed: AccessDenied"):
        redrive(stubs.sqs, DECLINE_DLQ)


def test_copy_counts_failed_sends_and_undeleted_messages(stubs: Stubs) -> None:
    receive(stubs, TARGET_DLQ.url, [message(1), message(2), message(3)])
    stubs.sqs_stub.add_response(
        "send_message_batch",
        {"Successful": [{"Id": "0", "MessageId": "n1", "MD5OfMessageBody": "x"},
                        {"Id": "2", "MessageId": "n3", "MD5OfMessageBody": "x"}],
         "Failed": [{"Id": "1", "SenderFault": True, "Code": "InvalidMessageContents",
                     "Message": "bad"}]},
    )  # fmt: skip
    stubs.sqs_stub.add_response(
        "delete_message_batch",
        {"Successful": [{"Id": "0"}],
         "Failed": [{"Id": "1", "SenderFault": False, "Code": "InternalError"}]},
        {"QueueUrl": TARGET_DLQ.url,
         "Entries": [{"Id": "0", "ReceiptHandle": "h1"}, {"Id": "1", "ReceiptHandle": "h3"}]},
    )  # fmt: skip
    # The message that failed to send is back: it is not tried again. The undeleted one
    # is back too: deleted now, not sent twice.
    receive(stubs, TARGET_DLQ.url, [message(2), {**message(3), "ReceiptHandle": "h3b"}])
    stubs.sqs_stub.add_response(
        "delete_message_batch",
        {"Successful": [{"Id": "0"}], "Failed": []},
        {"QueueUrl": TARGET_DLQ.url, "Entries": [{"Id": "0", "ReceiptHandle": "h3b"}]},
    )
    receive(stubs, TARGET_DLQ.url, [message(2)])
    stubs.counts("DeclineTargetDLQ", visible=1)
    report = redrive(stubs.sqs, TARGET_DLQ)
    stubs.assert_done()
    assert (report.method, report.moved, report.failed, report.not_deleted) == ("copy", 2, 1, 0)
    assert report.failures == ["m2: InvalidMessageContents: bad"]
    assert "rule target" in report.notes[0]
    assert not report.succeeded


def test_copy_sends_one_by_one_when_the_batch_is_too_long(stubs: Stubs) -> None:
    receive(stubs, DECLINE_DLQ.url, [message(1), message(2)], wanted=2)
    stubs.sqs_stub.add_client_error(
        "send_message_batch", "AWS.SimpleQueueService.BatchRequestTooLong"
    )
    stubs.sqs_stub.add_response(
        "send_message", {"MessageId": "n1", "MD5OfMessageBody": "x"},
        {"QueueUrl": DECLINE_DLQ.destination_url, "MessageBody": ANY},
    )  # fmt: skip
    stubs.sqs_stub.add_client_error("send_message", "InvalidMessageContents", "too big")
    stubs.sqs_stub.add_response("delete_message_batch", {"Successful": [{"Id": "0"}], "Failed": []})
    stubs.counts("DeclineDLQ", visible=1)
    report = redrive(stubs.sqs, DECLINE_DLQ, method="copy", max_messages=2)
    stubs.assert_done()
    assert (report.moved, report.failed) == (1, 1)
    assert report.failures == ["m2: InvalidMessageContents: too big"]


def test_max_belongs_to_copy(stubs: Stubs) -> None:
    with pytest.raises(OperationsError, match="--max needs --method copy"):
        redrive(stubs.sqs, DECLINE_DLQ, method="move-task", max_messages=3)
    with pytest.raises(OperationsError, match="at least 1"):
        redrive(stubs.sqs, DECLINE_DLQ, max_messages=0)


def test_a_copy_that_runs_out_of_time(stubs: Stubs) -> None:
    ticks = iter([0.0, 100.0])
    stubs.counts("DeclineDLQ", visible=4)
    report = redrive(
        stubs.sqs, DECLINE_DLQ, method="copy", timeout_seconds=10, clock=lambda: next(ticks)
    )
    assert (report.timed_out, report.moved, report.remaining) == (True, 0, 4)

"""The SQS event source's rules, without SQS: the event's shape, partial batch responses
and the mapping's properties."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from localcloud.sqs_event_source import (
    BatchOutcome,
    EventSourceMappingError,
    SqsEventSourceMapping,
    batch_outcome,
    sqs_event,
)

QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:decline-applications"
IDS = ["m1", "m2", "m3"]


def _message(message_id: str, body: str = '{"ok": true}', **extra: Any) -> dict[str, Any]:
    return {
        "MessageId": message_id,
        "ReceiptHandle": f"handle-{message_id}",
        "MD5OfBody": hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 - SQS's checksum
        "Body": body,
        "Attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1545082649183",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1545082649185",
        },
        **extra,
    }


def test_event_has_lambdas_record_shape() -> None:
    (record,) = sqs_event([_message("m1")], QUEUE_ARN)["Records"]
    assert record == {
        "messageId": "m1",
        "receiptHandle": "handle-m1",
        "body": '{"ok": true}',
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1545082649183",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1545082649185",
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(b'{"ok": true}').hexdigest(),  # noqa: S324
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": "eu-west-1",
    }


def test_message_attributes_are_camel_cased_and_binary_is_base64() -> None:
    message = _message(
        "m1",
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "JobClosed"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
        MD5OfMessageAttributes="abc",
    )
    (record,) = sqs_event([message], QUEUE_ARN)["Records"]
    assert record["messageAttributes"] == {
        "kind": {
            "stringValue": "JobClosed",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        },
        "blob": {
            "binaryValue": "AAE=",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        },
    }
    assert record["md5OfMessageAttributes"] == "abc"


def test_records_keep_receive_order() -> None:
    records = sqs_event([_message(i) for i in IDS], QUEUE_ARN)["Records"]
    assert [r["messageId"] for r in records] == IDS


# -- partial batch responses ------------------------------------------------------------


def _outcome(response: Any, report: bool = True) -> BatchOutcome:
    return batch_outcome(IDS, response, report_batch_item_failures=report)


@pytest.mark.parametrize(
    "response",
    [None, {}, {"batchItemFailures": None}, {"batchItemFailures": []}, {"other": 1}],
    ids=["null", "empty-object", "null-list", "empty-list", "no-list"],
)
def test_empty_answers_mean_every_message_succeeded(response: Any) -> None:
    assert _outcome(response) == BatchOutcome(tuple(IDS), ())


def test_listed_items_fail_and_the_rest_succeed() -> None:
    outcome = _outcome({"batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "m2"}]})
    assert outcome == BatchOutcome(("m1", "m3"), ("m2",))


@pytest.mark.parametrize(
    "response",
    [
        {"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"messageId": "m1"}]},
        {"batchItemFailures": ["m1"]},
        {"batchItemFailures": "m1"},
        "OK",
        ["m1"],
    ],
    ids=[
        "unknown-id",
        "empty-id",
        "null-id",
        "bad-key",
        "bare-ids",
        "not-a-list",
        "string",
        "array",
    ],
)
def test_invalid_answers_fail_the_whole_batch(response: Any) -> None:
    outcome = _outcome(response)
    assert outcome.succeeded == ()
    assert outcome.failed == tuple(IDS)
    assert outcome.invalid_response


def test_answer_is_ignored_without_report_batch_item_failures() -> None:
    response = {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert _outcome(response, report=False) == BatchOutcome(tuple(IDS), ())


# -- the mapping -------------------------------------------------------------------------


def test_mapping_from_cloudformation_properties() -> None:
    mapping = SqsEventSourceMapping.from_cloudformation(
        {
            "EventSourceArn": QUEUE_ARN,
            "FunctionName": "arn:aws:lambda:eu-west-1:123456789012:function:decline:live",
            "BatchSize": 25,
            "MaximumBatchingWindowInSeconds": 2,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ScalingConfig": {"MaximumConcurrency": 5},
            "Enabled": "false",
            "Tags": [{"Key": "team", "Value": "booking"}],
        }
    )
    assert mapping == SqsEventSourceMapping(
        function_name="decline",
        event_source_arn=QUEUE_ARN,
        batch_size=25,
        maximum_batching_window_seconds=2,
        function_response_types=("ReportBatchItemFailures",),
        maximum_concurrency=5,
        enabled=False,
    )
    assert mapping.report_batch_item_failures


def test_mapping_defaults_match_lambdas() -> None:
    mapping = SqsEventSourceMapping.from_cloudformation(
        {"EventSourceArn": QUEUE_ARN, "FunctionName": "f"}
    )
    assert (mapping.batch_size, mapping.maximum_batching_window_seconds) == (10, 0)
    assert mapping.enabled
    assert not mapping.report_batch_item_failures
    assert mapping.maximum_concurrency is None


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({"FilterCriteria": {"Filters": []}}, "not emulated"),
        ({"FunctionName": {"Ref": "Function"}}, "resolved"),
        ({"BatchSize": 11}, "greater than 0 if maximum batch size is greater than 10"),
        ({"BatchSize": 10_001, "MaximumBatchingWindowInSeconds": 1}, "BatchSize"),
        ({"MaximumBatchingWindowInSeconds": 301}, "MaximumBatchingWindowInSeconds"),
        ({"ScalingConfig": {"MaximumConcurrency": 1}}, "MaximumConcurrency"),
        ({"FunctionResponseTypes": ["Everything"]}, "FunctionResponseTypes"),
        ({"EventSourceArn": "arn:aws:kinesis:eu-west-1:1:stream/s"}, "not an SQS queue"),
    ],
)
def test_mapping_refuses_what_lambda_refuses(properties: dict[str, Any], message: str) -> None:
    with pytest.raises(EventSourceMappingError, match=message):
        SqsEventSourceMapping.from_cloudformation(
            {"EventSourceArn": QUEUE_ARN, "FunctionName": "f"} | properties
        )


def test_mapping_function_name_can_be_given_separately() -> None:
    mapping = SqsEventSourceMapping.from_cloudformation(
        {"EventSourceArn": QUEUE_ARN, "FunctionName": {"Ref": "Fn"}}, function_name="local"
    )
    assert mapping.function_name == "local"

"""Input transformation: rule targets' InputTransformer and pipes' InputTemplate.

Cases follow "Amazon EventBridge input transformation" and "Amazon EventBridge Pipes input
transformation" (quoting, reserved variables, JSON paths), with our own events.
"""

from __future__ import annotations

import json
import re
import string
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localcloud.input_template import (
    TemplateError,
    UnsupportedJsonPath,
    lookup,
    parse_json_path,
    render,
    render_text,
)

EC2_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2015-11-11T21:29:54Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {"instance-id": "i-0123456789", "state": "RUNNING", "count": 3, "ok": True},
}
PATHS = {
    "timestamp": "$.time",
    "instance": "$.detail.instance-id",
    "state": "$.detail.state",
    "count": "$.detail.count",
    "ok": "$.detail.ok",
    "detail": "$.detail",
    "resources": "$.resources",
    "missing": "$.detail.colour",
}
RULE_CONTEXT = {
    "aws.events.rule-arn": "arn:aws:events:us-east-1:123456789012:rule/example",
    "aws.events.rule-name": "example",
}

RULE_CASES: list[tuple[str, str, Any]] = [
    (
        "simple string",
        '"instance <instance> is in <state>"',
        "instance i-0123456789 is in RUNNING",
    ),
    (
        "string with escaped quotes",
        '"instance \\"<instance>\\" is in <state>"',
        'instance "i-0123456789" is in RUNNING',
    ),
    (
        "plain text, no quotes",
        "<instance> is in state <state>",
        "i-0123456789 is in state RUNNING",
    ),
    (
        "simple JSON: unquoted string values get quotes",
        '{"instance" : <instance>, "state": <state>}',
        {"instance": "i-0123456789", "state": "RUNNING"},
    ),
    (
        "JSON with strings and variables",
        '{"instance": <instance>, "state": "<state>", '
        '"instanceStatus": "instance \\"<instance>\\" is in <state>"}',
        {
            "instance": "i-0123456789",
            "state": "RUNNING",
            "instanceStatus": 'instance "i-0123456789" is in RUNNING',
        },
    ),
    (
        "JSON with static information",
        '{"instance": <instance>, "state": [9, <state>, true], "Transformed": "Yes"}',
        {"instance": "i-0123456789", "state": [9, "RUNNING", True], "Transformed": "Yes"},
    ),
    (
        "numbers, booleans, objects and arrays unquoted",
        '{"count": <count>, "ok": <ok>, "detail": <detail>, "resources": <resources>}',
        {
            "count": 3,
            "ok": True,
            "detail": EC2_EVENT["detail"],
            "resources": EC2_EVENT["resources"],
        },
    ),
    (
        "numbers, booleans, objects and arrays inside a string",
        '{"text": "<count>/<ok>/<resources>/<detail>"}',
        {
            "text": '3/true/["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"]/'
            '{"instance-id":"i-0123456789","state":"RUNNING","count":3,"ok":true}'
        },
    ),
    (
        "reserved variables in JSON",
        '{"ruleArn": <aws.events.rule-arn>, "ruleName": <aws.events.rule-name>, '
        '"at": <aws.events.event.ingestion-time>}',
        {
            "ruleArn": "arn:aws:events:us-east-1:123456789012:rule/example",
            "ruleName": "example",
            "at": "2015-11-11T21:29:54Z",
        },
    ),
    ("reserved variables in a string", '"<aws.events.rule-name> triggered"', "example triggered"),
    ("the whole event", '{"e": <aws.events.event.json>}', {"e": EC2_EVENT}),
    ("missing path inside a string", '{"c": "colour: <missing>"}', {"c": "colour: "}),
    ("missing path outside a string", '{"c": <missing>}', {"c": ""}),
    ("missing path in plain text", "colour: <missing>.", "colour: ."),
    ("a static template", '{"fixed": true}', {"fixed": True}),
    ("a JSON array template", "[<count>, <state>]", [3, "RUNNING"]),
    ("angle brackets are not escapable: a string stays text", '"a <count> b"', "a 3 b"),
]


@pytest.mark.parametrize(
    ("template", "expected"),
    [case[1:] for case in RULE_CASES],
    ids=[case[0] for case in RULE_CASES],
)
def test_rule_input_transformer(template: str, expected: Any) -> None:
    assert render(template, EC2_EVENT, input_paths=PATHS, context=RULE_CONTEXT) == expected


def test_rule_text_is_what_the_target_receives() -> None:
    # A quoted template is delivered with its quotes; plain text without.
    assert render_text('"is <state>"', EC2_EVENT, input_paths=PATHS) == '"is RUNNING"'
    assert render_text("is <state>", EC2_EVENT, input_paths=PATHS) == "is RUNNING"
    assert render_text('{"d": <detail>}', EC2_EVENT, input_paths=PATHS) == (
        '{"d": {"instance-id":"i-0123456789","state":"RUNNING","count":3,"ok":true}}'
    )


def test_rule_event_variable_is_the_envelope_without_detail() -> None:
    rendered = render('{"e": <aws.events.event>}', EC2_EVENT, input_paths={})
    assert rendered == {
        "e": {
            "version": "0",
            "id": EC2_EVENT["id"],
            "detailType": "EC2 Instance State-change Notification",
            "source": "aws.ec2",
            "account": "123456789012",
            "time": "2015-11-11T21:29:54Z",
            "region": "us-east-1",
            "resources": EC2_EVENT["resources"],
        }
    }


def test_rule_context_overrides_the_ingestion_time() -> None:
    context = {"aws.events.event.ingestion-time": "2024-01-01T00:00:00Z"}
    rendered = render(
        '"<aws.events.event.ingestion-time>"', EC2_EVENT, input_paths={}, context=context
    )
    assert rendered == "2024-01-01T00:00:00Z"


def test_rule_ingestion_time_without_event_time_is_now() -> None:
    rendered = render('"<aws.events.event.ingestion-time>"', {"detail": {}}, input_paths={})
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", rendered)


@pytest.mark.parametrize(
    ("template", "paths", "message"),
    [
        ('{"x": <notdefined>}', {}, "InputTemplate contains invalid placeholder notdefined."),
        ("<aws.events.unknown>", {}, "invalid placeholder aws.events.unknown"),
        ("<$.detail>", {}, "invalid placeholder $.detail"),
        ('"<aws.events.rule-arn>"', {}, "<aws.events.rule-arn> has no value: pass it in context"),
        ("x", {"bad name": "$.a"}, "must match [A-Za-z0-9_-]+"),
        ("x", {"aws.mine": "$.a"}, "must match"),
        ("x", {"awsThing": "$.a"}, "names starting with AWS are reserved"),
        ("x", {"a": "detail.state"}, "must start with '$'"),
        ("x", {"a": "$.detail.*"}, "is not supported"),
        ("x", {f"k{i}": "$.a" for i in range(101)}, "more than 100 entries"),
    ],
    ids=[
        "undefined placeholder",
        "unknown predefined variable",
        "a JSON path is not a rule placeholder",
        "predefined variable without context",
        "input path name",
        "input path name with a dot",
        "input path name reserved",
        "input path without $",
        "input path wildcard",
        "too many input paths",
    ],
)
def test_rule_errors(template: str, paths: dict[str, str], message: str) -> None:
    with pytest.raises(TemplateError, match=re.escape(message)):
        render(template, EC2_EVENT, input_paths=paths)


def test_rule_angle_brackets_with_spaces_are_text() -> None:
    assert render('"a < b > c"', EC2_EVENT, input_paths={}) == "a < b > c"


# --- Pipes ---------------------------------------------------------------------------------

STREAM_RECORD: dict[str, Any] = {
    "eventID": "c4ca4238a0b923820dcc509a6f75849b",
    "eventName": "MODIFY",
    "eventVersion": "1.1",
    "eventSource": "aws:dynamodb",
    "awsRegion": "eu-west-1",
    "dynamodb": {
        "ApproximateCreationDateTime": 1717171717,
        "Keys": {"pk": {"S": "JOB#job-1"}},
        "NewImage": {
            "id": {"S": "job-1"},
            "jobStatus": {"S": "CLOSED"},
            "correlationId": {"S": "corr-1"},
            "parentUsername": {"S": 'Ann "the parent" O\'Neil\n\\'},
            "hourlyRate": {"N": "25.5"},
            "tags": {"L": [{"S": "nights"}, {"S": "weekends"}]},
        },
        "SequenceNumber": "111",
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    },
    "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/jobs/stream/2024-06-01",
}
PIPE_CONTEXT = {
    "aws.pipes.pipe-arn": "arn:aws:pipes:eu-west-1:123456789012:pipe/job-closed",
    "aws.pipes.pipe-name": "job-closed",
    "aws.pipes.source-arn": STREAM_RECORD["eventSourceARN"],
    "aws.pipes.target-arn": "arn:aws:events:eu-west-1:123456789012:event-bus/default",
    "aws.pipes.event.ingestion-time": "2024-06-01T12:00:00.000Z",
}


def test_pipe_dynamodb_record_to_a_job_closed_event() -> None:
    template = json.dumps(
        {
            "metadata": {
                "version": "1",
                "correlationId": "<$.dynamodb.NewImage.correlationId.S>",
                "createdAt": "<aws.pipes.event.ingestion-time>",
            },
            "data": {
                "jobId": "<$.dynamodb.NewImage.id.S>",
                "parentUsername": "<$.dynamodb.NewImage.parentUsername.S>",
            },
        }
    )
    assert render(template, STREAM_RECORD, context=PIPE_CONTEXT) == {
        "metadata": {
            "version": "1",
            "correlationId": "corr-1",
            "createdAt": "2024-06-01T12:00:00.000Z",
        },
        "data": {"jobId": "job-1", "parentUsername": 'Ann "the parent" O\'Neil\n\\'},
    }


PIPE_CASES: list[tuple[str, str, Any]] = [
    ("static string", '"Hello, sender"', "Hello, sender"),
    ("a JSON path alone", "<$.dynamodb.NewImage.id>", {"S": "job-1"}),
    ("a JSON path to a string alone", "<$.dynamodb.NewImage.id.S>", "job-1"),
    ("dynamic string", '"Hello, <$.dynamodb.NewImage.id.S>"', "Hello, job-1"),
    ("dynamic plain text", "Hello, <$.dynamodb.NewImage.id.S>", "Hello, job-1"),
    (
        "dynamic JSON",
        '{"key1": "value1", "key2": <$.dynamodb.Keys>, "d": <aws.pipes.event.ingestion-time>}',
        {"key1": "value1", "key2": {"pk": {"S": "JOB#job-1"}}, "d": "2024-06-01T12:00:00.000Z"},
    ),
    (
        "array index",
        '{"first": "<$.dynamodb.NewImage.tags.L[0].S>", "second": <$.dynamodb.NewImage.tags.L[1]>}',
        {"first": "nights", "second": {"S": "weekends"}},
    ),
    ("bracketed name", "{\"k\": <$['dynamodb']['Keys'][\"pk\"].S>}", {"k": "JOB#job-1"}),
    ("number unquoted", '{"t": <$.dynamodb.ApproximateCreationDateTime>}', {"t": 1717171717}),
    (
        "number in a string",
        '{"t": "at <$.dynamodb.ApproximateCreationDateTime>"}',
        {"t": "at 1717171717"},
    ),
    (
        "reserved variables",
        '{"arn": <aws.pipes.pipe-arn>, "name": "<aws.pipes.pipe-name>", '
        '"source": <aws.pipes.source-arn>, "target": "<aws.pipes.target-arn>"}',
        {
            "arn": "arn:aws:pipes:eu-west-1:123456789012:pipe/job-closed",
            "name": "job-closed",
            "source": STREAM_RECORD["eventSourceARN"],
            "target": "arn:aws:events:eu-west-1:123456789012:event-bus/default",
        },
    ),
    ("the record", '{"originalEvent": <aws.pipes.event.json>}', {"originalEvent": STREAM_RECORD}),
    ("the record, as received", '{"e": <aws.pipes.event>}', {"e": STREAM_RECORD}),
    ("missing path inside a string", '{"x": "<$.dynamodb.OldImage.id.S>"}', {"x": ""}),
    ("missing path outside a string", '{"x": <$.dynamodb.OldImage>}', {"x": ""}),
    ("index out of range", '{"x": "<$.dynamodb.NewImage.tags.L[5].S>"}', {"x": ""}),
    ("index into an object", '{"x": "<$.dynamodb[0]>"}', {"x": ""}),
    ("the whole record by $", '{"x": <$>}', {"x": STREAM_RECORD}),
    ("other angle brackets are text", '"<b>bold</b> <$.eventName>"', "<b>bold</b> MODIFY"),
]


@pytest.mark.parametrize(
    ("template", "expected"),
    [case[1:] for case in PIPE_CASES],
    ids=[case[0] for case in PIPE_CASES],
)
def test_pipe_input_template(template: str, expected: Any) -> None:
    assert render(template, STREAM_RECORD, context=PIPE_CONTEXT) == expected


def test_pipe_ingestion_time_defaults_to_now() -> None:
    rendered = render('{"t": "<aws.pipes.event.ingestion-time>"}', STREAM_RECORD)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", rendered["t"])


def test_null_is_null_not_missing() -> None:
    event = {"a": None}
    assert render('{"in": "<$.a>", "out": <$.a>}', event) == {"in": "null", "out": None}


def test_decimal_numbers_from_boto3_are_json_numbers() -> None:
    event = {"n": Decimal("25"), "f": Decimal("2.5")}
    assert render('{"n": <$.n>, "f": <$.f>}', event) == {"n": 25, "f": 2.5}


def test_a_result_that_is_not_json_is_text() -> None:
    assert render("NaN", {}) == "NaN"
    assert render("Infinity <$.a>", {"a": 1}) == "Infinity 1"
    assert render("12 apples", {}) == "12 apples"
    assert render("12", {}) == 12


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("<$.list.*>", "is not supported at '.*'"),
        ("<$.list[*]>", "is not supported at '[*]'"),
        ("<$..id>", "is not supported at '..id'"),
        ("<$.list[0:2]>", "is not supported at '[0:2]'"),
        ("<$.list[-1]>", "is not supported at '[-1]'"),
        ("<$.list[0,1]>", "is not supported at '[0,1]'"),
        ("<$.list[?(@.a)]>", "is not supported"),
        ("<$ .a>", "is not supported"),
        ("<aws.pipes.unknown>", "unknown reserved variable <aws.pipes.unknown>"),
        ('"<aws.pipes.pipe-arn>"', "<aws.pipes.pipe-arn> has no value: pass it in context"),
    ],
)
def test_pipe_errors(template: str, message: str) -> None:
    with pytest.raises(TemplateError, match=re.escape(message)):
        render(template, {"list": [1, 2]})


def test_unsupported_paths_are_a_template_error() -> None:
    assert issubclass(UnsupportedJsonPath, TemplateError)
    with pytest.raises(UnsupportedJsonPath):
        parse_json_path("$.a.*")


def test_a_value_that_is_not_json_is_an_error() -> None:
    with pytest.raises(TemplateError, match="cannot write"):
        render("<$.a>", {"a": {1, 2}})


@pytest.mark.parametrize(
    ("path", "steps"),
    [
        ("$", ()),
        ("$.a", ("a",)),
        ("$.detail-type", ("detail-type",)),
        ("$.a_b/c:d@e", ("a_b/c:d@e",)),
        ("$.a.b[0][12].c", ("a", "b", 0, 12, "c")),
        ("$['x-y'].z", ("x-y", "z")),
        ('$["with space"]', ("with space",)),
        ("$['']", ("",)),
    ],
)
def test_json_path_subset(path: str, steps: tuple[str | int, ...]) -> None:
    assert parse_json_path(path) == steps


def test_lookup() -> None:
    assert lookup(STREAM_RECORD, "$.dynamodb.NewImage.id.S") == (True, "job-1")
    assert lookup(STREAM_RECORD, "$.dynamodb.OldImage") == (False, None)
    assert lookup({"a": [None]}, "$.a[0]") == (True, None)


# --- properties ----------------------------------------------------------------------------

_relaxed = settings(deadline=None)
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)


@_relaxed
@given(st.text())
def test_any_string_survives_a_quoted_placeholder(value: str) -> None:
    # Quotes, backslashes, control characters, '<' and '>' in the value: still valid JSON.
    assert render('{"v": "<$.v>", "w": "[<$.v>]"}', {"v": value}) == {"v": value, "w": f"[{value}]"}
    assert render('{"v": "<v>"}', {"v": value}, input_paths={"v": "$.v"}) == {"v": value}


@_relaxed
@given(_json)
def test_any_json_value_survives_an_unquoted_placeholder(value: Any) -> None:
    assert render('{"v": <$.v>}', {"v": value}) == {"v": value}
    assert render("[<v>]", {"x": {"v": value}}, input_paths={"v": "$.x.v"}) == [value]


@_relaxed
@given(_json)
def test_a_quoted_non_string_is_its_json_text(value: Any) -> None:
    rendered = render('{"v": "<$.v>"}', {"v": value})["v"]
    if isinstance(value, str):
        assert rendered == value
    else:
        assert json.loads(rendered) == value


@_relaxed
@given(
    st.lists(st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1), max_size=5)
)
def test_a_dotted_path_finds_what_it_names(names: list[str]) -> None:
    document: Any = "leaf"
    for name in reversed(names):
        document = {name: document}
    path = "$" + "".join(f".{name}" for name in names)
    assert parse_json_path(path) == tuple(names)
    assert lookup(document, path) == (True, "leaf")
    bracketed = "$" + "".join(f"['{name}']" for name in names)
    assert lookup(document, bracketed) == (True, "leaf")

"""EventBridge event patterns: validation as PutRule does it, matching as rules and pipes do.

The cases follow the behaviour AWS documents ("Content filtering in Amazon EventBridge event
patterns", "Arrays in event patterns", "Matching null values and empty strings", "Amazon
EventBridge Pipes filtering"), written as our own events and patterns.
"""

from __future__ import annotations

import copy
import json
import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localcloud.event_pattern import (
    EventPattern,
    InvalidEventPattern,
    matches,
    matches_any,
    validate,
)

# An EventBridge envelope to hang details on.
EC2_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "111122223333",
    "time": "2017-10-02T18:43:48Z",
    "region": "us-west-1",
    "resources": [
        "arn:aws:autoscaling:us-west-1:111122223333:autoScalingGroup:asg",
        "arn:aws:ec2:us-west-1:111122223333:instance/i-1234567890abcdef0",
    ],
    "detail": {
        "instance-id": "i-1234567890abcdef0",
        "state": "terminated",
        "c-count": 5,
        "d-count": 3,
        "x-limit": 301.8,
        "source-ip": "10.0.0.33",
        "FileName": "photo.PNG",
        "eventVersion": "",
        "responseElements": None,
        "tags": ["blue", "green"],
        "flag": True,
    },
}


def _detail(**fields: Any) -> dict[str, Any]:
    return {**EC2_EVENT, "detail": fields}


MATCHING: list[tuple[str, dict[str, Any], dict[str, Any], bool]] = [
    # --- exact values, AND across fields, OR within a field ---
    (
        "doc example: source, detail-type and nested state",
        {
            "source": ["aws.ec2"],
            "detail-type": ["EC2 Instance State-change Notification"],
            "detail": {"state": ["terminated"]},
        },
        EC2_EVENT,
        True,
    ),
    ("one of several values", {"source": ["aws.fargate", "aws.ec2"]}, EC2_EVENT, True),
    ("none of the values", {"source": ["aws.fargate", "aws.s3"]}, EC2_EVENT, False),
    (
        "every field must match",
        {"source": ["aws.ec2"], "detail": {"state": ["running"]}},
        EC2_EVENT,
        False,
    ),
    ("field missing from the event", {"detail": {"colour": ["blue"]}}, EC2_EVENT, False),
    ("values are case sensitive", {"source": ["AWS.EC2"]}, EC2_EVENT, False),
    ("keys are case sensitive", {"Source": ["aws.ec2"]}, EC2_EVENT, False),
    ("same nesting required", {"state": ["terminated"]}, EC2_EVENT, False),
    ("empty pattern matches everything", {}, EC2_EVENT, True),
    # --- arrays in the event: any element ---
    (
        "doc example: event array intersects pattern array",
        {
            "resources": [
                "arn:aws:ec2:us-west-1:111122223333:instance/i-1234567890abcdef0",
                "arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f",
            ]
        },
        EC2_EVENT,
        True,
    ),
    ("array without a common element", {"resources": ["arn:aws:s3:::b"]}, EC2_EVENT, False),
    ("operator on array elements", {"detail": {"tags": [{"prefix": "gr"}]}}, EC2_EVENT, True),
    ("nested arrays are flattened", {"a": [3]}, {"a": [[1, 2], [3]]}, True),
    ("empty event array has no value", {"a": [None]}, {"a": []}, False),
    # --- null and empty strings (doc: not interchangeable) ---
    ("doc example: empty string", {"detail": {"eventVersion": [""]}}, EC2_EVENT, True),
    ("doc example: null", {"detail": {"responseElements": [None]}}, EC2_EVENT, True),
    ("empty string is not null", {"detail": {"responseElements": [""]}}, EC2_EVENT, False),
    ("null is not an empty string", {"detail": {"eventVersion": [None]}}, EC2_EVENT, False),
    ("null is not the string null", {"a": [None]}, {"a": "null"}, False),
    ("null is not a missing field", {"a": [None]}, {"b": 1}, False),
    # --- JSON types ---
    ("numbers compare numerically", {"n": [5]}, {"n": 5.0}, True),
    ("float pattern, int event", {"n": [3.0e2]}, {"n": 300}, True),
    ("a number is not its string", {"n": [5]}, {"n": "5"}, False),
    ("a string is not its number", {"n": ["5"]}, {"n": 5}, False),
    ("true is not 1", {"b": [True]}, {"b": 1}, False),
    ("1 is not true", {"b": [1]}, {"b": True}, False),
    ("boolean value", {"detail": {"flag": [True]}}, EC2_EVENT, True),
    ("boolean false", {"detail": {"flag": [False]}}, EC2_EVENT, False),
    ("object where a value is expected", {"detail": ["x"]}, EC2_EVENT, False),
    ("value where an object is expected", {"source": {"x": ["y"]}}, EC2_EVENT, False),
    # --- prefix / suffix / equals-ignore-case ---
    ("doc example: prefix", {"time": [{"prefix": "2017-10-02"}]}, EC2_EVENT, True),
    ("prefix no match", {"time": [{"prefix": "2017-10-03"}]}, EC2_EVENT, False),
    ("prefix is for strings only", {"n": [{"prefix": "1"}]}, {"n": 12}, False),
    ("empty prefix matches any string", {"source": [{"prefix": ""}]}, EC2_EVENT, True),
    (
        "doc example: prefix ignoring case",
        {"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}},
        _detail(service="eventbridge"),
        True,
    ),
    (
        "prefix ignoring case, no match",
        {"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}},
        _detail(service="lambda"),
        False,
    ),
    ("prefix is case sensitive", {"source": [{"prefix": "AWS."}]}, EC2_EVENT, False),
    ("doc example: suffix", {"detail": {"FileName": [{"suffix": ".PNG"}]}}, EC2_EVENT, True),
    ("suffix is case sensitive", {"detail": {"FileName": [{"suffix": ".png"}]}}, EC2_EVENT, False),
    (
        "doc example: suffix ignoring case",
        {"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}},
        EC2_EVENT,
        True,
    ),
    ("suffix is for strings only", {"n": [{"suffix": "2"}]}, {"n": 12}, False),
    ("equals-ignore-case", {"name": [{"equals-ignore-case": "alice"}]}, {"name": "ALICE"}, True),
    (
        "equals-ignore-case differs",
        {"name": [{"equals-ignore-case": "alice"}]},
        {"name": "al"},
        False,
    ),
    ("equals-ignore-case, not prefix", {"n": [{"equals-ignore-case": "ab"}]}, {"n": "abc"}, False),
    (
        "equals-ignore-case, folding",
        {"n": [{"equals-ignore-case": "straße"}]},
        {"n": "STRASSE"},
        True,
    ),
    # --- wildcard ---
    (
        "wildcard",
        {"source": [{"wildcard": "Simple*Service"}]},
        {"source": "SimpleQueueService"},
        True,
    ),
    ("wildcard matches no characters", {"s": [{"wildcard": "ab*c"}]}, {"s": "abc"}, True),
    ("wildcard anchors both ends", {"s": [{"wildcard": "ab*c"}]}, {"s": "xabc"}, False),
    ("wildcard many", {"p": [{"wildcard": "*/lib/*"}]}, {"p": "/usr/lib/x.so"}, True),
    ("wildcard many, no match", {"p": [{"wildcard": "*/lib/*"}]}, {"p": "/usr/bin/x"}, False),
    ("escaped star is literal", {"s": [{"wildcard": "a\\*b"}]}, {"s": "a*b"}, True),
    ("escaped star is not a wildcard", {"s": [{"wildcard": "a\\*b"}]}, {"s": "axb"}, False),
    ("escaped backslash", {"s": [{"wildcard": "a\\\\*"}]}, {"s": "a\\bc"}, True),
    ("regex characters are literal", {"s": [{"wildcard": "a.c*"}]}, {"s": "abc"}, False),
    ("wildcard on a number", {"n": [{"wildcard": "1*"}]}, {"n": 12}, False),
    # --- anything-but ---
    (
        "doc example: anything-but string",
        {"detail": {"state": [{"anything-but": "initializing"}]}},
        EC2_EVENT,
        True,
    ),
    (
        "anything-but the value itself",
        {"detail": {"state": [{"anything-but": "terminated"}]}},
        EC2_EVENT,
        False,
    ),
    ("doc example: anything-but number", {"x": [{"anything-but": 123}]}, {"x": 301.8}, True),
    ("anything-but number, same value", {"x": [{"anything-but": 123}]}, {"x": 123.0}, False),
    (
        "doc example: anything-but list of strings",
        {"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}},
        EC2_EVENT,
        True,
    ),
    (
        "anything-but list containing the value",
        {"detail": {"state": [{"anything-but": ["stopped", "terminated"]}]}},
        EC2_EVENT,
        False,
    ),
    (
        "doc example: anything-but list of numbers",
        {"x": [{"anything-but": [100, 200, 300]}]},
        {"x": 301.8},
        True,
    ),
    ("anything-but numbers, excluded", {"x": [{"anything-but": [100, 200]}]}, {"x": 200}, False),
    ("anything-but string vs number", {"x": [{"anything-but": "5"}]}, {"x": 5}, True),
    ("anything-but passes null", {"s": [{"anything-but": "initializing"}]}, {"s": None}, True),
    ("anything-but needs the field", {"s": [{"anything-but": "initializing"}]}, {}, False),
    ("anything-but on an array", {"t": [{"anything-but": "blue"}]}, {"t": ["blue", "red"]}, True),
    ("anything-but, all excluded", {"t": [{"anything-but": "blue"}]}, {"t": ["blue"]}, False),
    (
        "doc example: anything-but prefix",
        {"source": [{"anything-but": {"prefix": "aws."}}]},
        {"source": "com.example.booking"},
        True,
    ),
    (
        "anything-but prefix, excluded",
        {"source": [{"anything-but": {"prefix": "aws."}}]},
        EC2_EVENT,
        False,
    ),
    (
        "anything-but prefix passes a number",
        {"s": [{"anything-but": {"prefix": "in"}}]},
        {"s": 12},
        True,
    ),
    (
        "anything-but prefix list",
        {"r": [{"anything-but": {"prefix": ["us-", "eu-"]}}]},
        {"r": "eu-west-1"},
        False,
    ),
    (
        "doc example: anything-but suffix",
        {"f": [{"anything-but": {"suffix": ".png"}}]},
        {"f": "photo.jpg"},
        True,
    ),
    (
        "anything-but suffix, excluded",
        {"f": [{"anything-but": {"suffix": ".png"}}]},
        {"f": "a.png"},
        False,
    ),
    (
        "doc example: anything-but ignoring case",
        {"s": [{"anything-but": {"equals-ignore-case": "initializing"}}]},
        {"s": "INITIALIZING"},
        False,
    ),
    (
        "anything-but ignoring case, other value",
        {"s": [{"anything-but": {"equals-ignore-case": ["initializing", "stopped"]}}]},
        {"s": "Running"},
        True,
    ),
    (
        "anything-but ignoring case passes null",
        {"s": [{"anything-but": {"equals-ignore-case": "initializing"}}]},
        {"s": None},
        True,
    ),
    (
        "doc example: anything-but wildcard",
        {"p": [{"anything-but": {"wildcard": "*/lib/*"}}]},
        {"p": "/usr/bin/env"},
        True,
    ),
    (
        "anything-but wildcard, excluded",
        {"p": [{"anything-but": {"wildcard": "*/lib/*"}}]},
        {"p": "/lib/x"},
        False,
    ),
    (
        "anything-but wildcard passes a number",
        {"p": [{"anything-but": {"wildcard": "*"}}]},
        {"p": 1},
        True,
    ),
    # --- numeric ---
    (
        "doc example: numeric ranges and equality",
        {
            "detail": {
                "c-count": [{"numeric": [">", 0, "<=", 5]}],
                "d-count": [{"numeric": ["<", 10]}],
                "x-limit": [{"numeric": ["=", 3.018e2]}],
            }
        },
        EC2_EVENT,
        True,
    ),
    ("numeric open bottom", {"n": [{"numeric": [">", 0, "<=", 5]}]}, {"n": 0}, False),
    ("numeric closed top", {"n": [{"numeric": [">", 0, "<=", 5]}]}, {"n": 5}, True),
    ("numeric open top", {"n": [{"numeric": [">=", 0, "<", 5]}]}, {"n": 5}, False),
    ("numeric closed bottom", {"n": [{"numeric": [">=", 0, "<", 5]}]}, {"n": 0}, True),
    ("numeric <", {"n": [{"numeric": ["<", 10]}]}, {"n": 9.999}, True),
    ("numeric <=", {"n": [{"numeric": ["<=", 10]}]}, {"n": 10.5}, False),
    ("numeric >=", {"n": [{"numeric": [">=", -1]}]}, {"n": -1}, True),
    ("numeric = int and float", {"n": [{"numeric": ["=", 5]}]}, {"n": 5.0}, True),
    ("numeric on a string", {"n": [{"numeric": [">", 0]}]}, {"n": "5"}, False),
    ("numeric on null", {"n": [{"numeric": [">", 100]}]}, {"n": None}, False),
    ("numeric on a boolean", {"n": [{"numeric": ["=", 1]}]}, {"n": True}, False),
    ("numeric on an array", {"n": [{"numeric": [">", 10]}]}, {"n": [1, 20]}, True),
    # --- cidr ---
    ("doc example: cidr", {"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}}, EC2_EVENT, True),
    ("cidr outside", {"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": "10.0.1.1"}, False),
    ("cidr with host bits", {"ip": [{"cidr": "10.0.0.7/24"}]}, {"ip": "10.0.0.200"}, True),
    ("cidr IPv6", {"ip": [{"cidr": "2001:db8::/32"}]}, {"ip": "2001:db8:1234:1a00::1"}, True),
    ("cidr IPv6 outside", {"ip": [{"cidr": "2001:db8::/32"}]}, {"ip": "2001:db9::1"}, False),
    ("cidr IPv4 vs IPv6", {"ip": [{"cidr": "10.0.0.0/8"}]}, {"ip": "::ffff:10.0.0.1"}, False),
    ("cidr on a non-address", {"ip": [{"cidr": "10.0.0.0/8"}]}, {"ip": "ten"}, False),
    ("cidr on a number", {"ip": [{"cidr": "10.0.0.0/8"}]}, {"ip": 10}, False),
    # --- exists ---
    ("exists true", {"detail": {"state": [{"exists": True}]}}, EC2_EVENT, True),
    ("exists true, missing", {"detail": {"colour": [{"exists": True}]}}, EC2_EVENT, False),
    (
        "doc example: exists false, missing",
        {"detail": {"c-count": [{"exists": False}]}},
        _detail(state="x"),
        True,
    ),
    ("exists false, present", {"detail": {"state": [{"exists": False}]}}, EC2_EVENT, False),
    ("exists true on null", {"detail": {"responseElements": [{"exists": True}]}}, EC2_EVENT, True),
    (
        "exists false on null",
        {"detail": {"responseElements": [{"exists": False}]}},
        EC2_EVENT,
        False,
    ),
    (
        "exists true on empty string",
        {"detail": {"eventVersion": [{"exists": True}]}},
        EC2_EVENT,
        True,
    ),
    (
        "doc example: exists false, object is not a leaf",
        {"detail": {"c-count": [{"exists": False}]}},
        _detail(state="x", **{"c-count": {"c1": 100}}),
        True,
    ),
    (
        "exists true, object is not a leaf (DynamoDB attribute)",
        {"dynamodb": {"presentKey": [{"exists": True}]}},
        {"dynamodb": {"presentKey": {"S": "test123"}}},
        False,
    ),
    (
        "exists true on the DynamoDB leaf",
        {"dynamodb": {"presentKey": {"S": [{"exists": True}]}}},
        {"dynamodb": {"presentKey": {"S": "test123"}}},
        True,
    ),
    (
        "exists false, missing intermediate objects",
        {"detail": {"a": {"b": {"c": [{"exists": False}]}}}},
        _detail(a={"x": 1}),
        True,
    ),
    (
        "exists true, missing intermediate objects",
        {"detail": {"a": {"b": {"c": [{"exists": True}]}}}},
        _detail(a={"x": 1}),
        False,
    ),
    ("exists true, empty array", {"resources": [{"exists": True}]}, {"resources": []}, False),
    ("exists false, empty array", {"resources": [{"exists": False}]}, {"resources": []}, True),
    ("exists true, non-empty array", {"resources": [{"exists": True}]}, EC2_EVENT, True),
    ("exists or a value", {"s": ["x", {"exists": False}]}, {}, True),
    # --- objects inside arrays (array-consistent, as EventBridge) ---
    (
        "object pattern over an array of objects",
        {"employees": {"firstName": ["Anna"]}},
        {"employees": [{"firstName": "John"}, {"firstName": "Anna", "lastName": "Smith"}]},
        True,
    ),
    (
        "fields from one element",
        {"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}},
        {"employees": [{"firstName": "John"}, {"firstName": "Anna", "lastName": "Smith"}]},
        True,
    ),
    (
        "fields from different elements do not combine",
        {"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}},
        {
            "employees": [
                {"firstName": "Anna", "lastName": "Smith"},
                {"firstName": "Peter", "lastName": "Jones"},
            ]
        },
        False,
    ),
    (
        "multi-level arrays of objects",
        {"employees": {"firstName": ["Peter"]}},
        {"employees": [[{"firstName": "John"}], [{"firstName": "Peter"}]]},
        True,
    ),
    # --- $or ---
    (
        "$or: the first branch",
        {
            "source": ["aws.cloudwatch"],
            "$or": [{"metricName": ["CPU"]}, {"namespace": ["AWS/EC2"]}],
        },
        {"source": "aws.cloudwatch", "metricName": "CPU"},
        True,
    ),
    (
        "$or: the second branch",
        {
            "source": ["aws.cloudwatch"],
            "$or": [{"metricName": ["CPU"]}, {"namespace": ["AWS/EC2"]}],
        },
        {"source": "aws.cloudwatch", "namespace": "AWS/EC2"},
        True,
    ),
    (
        "$or: no branch",
        {
            "source": ["aws.cloudwatch"],
            "$or": [{"metricName": ["CPU"]}, {"namespace": ["AWS/EC2"]}],
        },
        {"source": "aws.cloudwatch", "namespace": "AWS/ES"},
        False,
    ),
    (
        "$or: still ANDed with the other fields",
        {
            "source": ["aws.cloudwatch"],
            "$or": [{"metricName": ["CPU"]}, {"namespace": ["AWS/EC2"]}],
        },
        {"source": "aws.ec2", "metricName": "CPU"},
        False,
    ),
    (
        "$or: a branch with several fields",
        {"$or": [{"a": ["1"]}, {"b": ["2"], "c": ["3"]}]},
        {"b": "2", "c": "4"},
        False,
    ),
    (
        "$or: nested, inside a branch",
        {"$or": [{"a": ["1"]}, {"b": ["2"], "$or": [{"c": [3]}, {"d": [4]}]}]},
        {"b": "2", "d": 4},
        True,
    ),
    (
        "$or: parallel groups at two levels",
        {
            "$or": [{"metricName": ["CPU"]}, {"namespace": ["AWS/EC2"]}],
            "detail": {"$or": [{"source": ["aws.cloudwatch"]}, {"detail-type": ["Alarm"]}]},
        },
        {"namespace": "AWS/EC2", "detail": {"detail-type": "Alarm"}},
        True,
    ),
    (
        "$or: exists false or anything-but (DynamoDB image)",
        {
            "dynamodb": {
                "NewImage": {"homemade": {"S": [{"anything-but": ["roses"]}, {"exists": False}]}}
            }
        },
        {"dynamodb": {"NewImage": {"purchased": {"N": "789"}}}},
        True,
    ),
    ("$or as a plain field name", {"$or": {"a": ["1"]}}, {"$or": {"a": "1"}}, True),
    ("$or as a plain field with values", {"$or": ["x"]}, {"$or": "x"}, True),
]


@pytest.mark.parametrize(
    ("pattern", "event", "expected"),
    [case[1:] for case in MATCHING],
    ids=[case[0] for case in MATCHING],
)
def test_matching(pattern: dict[str, Any], event: dict[str, Any], expected: bool) -> None:
    assert matches(pattern, event) is expected
    # The same pattern given as PutRule's JSON text.
    assert matches(json.dumps(pattern), event) is expected


def test_doc_complex_example() -> None:
    pattern = {
        "time": [{"prefix": "2017-10-02"}],
        "detail": {
            "state": [{"anything-but": "initializing"}],
            "c-count": [{"numeric": [">", 0, "<=", 5]}],
            "d-count": [{"numeric": ["<", 10]}],
            "x-limit": [{"anything-but": [100, 200, 300]}],
            "source-ip": [{"cidr": "10.0.0.0/8"}],
        },
    }
    assert matches(pattern, EC2_EVENT)
    assert not matches(pattern, {**EC2_EVENT, "time": "2017-10-03T00:00:00Z"})
    assert not matches(pattern, _detail(**{**EC2_EVENT["detail"], "x-limit": 300}))


@pytest.mark.parametrize("event", [None, "text", 5, ["a"]])
def test_an_event_that_is_not_an_object_never_matches(event: Any) -> None:
    assert not EventPattern({}).matches(event)
    assert not EventPattern({"a": [{"exists": False}]}).matches(event)


def test_a_compiled_pattern_is_reusable() -> None:
    rule = EventPattern('{"detail": {"state": [{"anything-but": "initializing"}]}}')
    assert [rule.matches(_detail(state=state)) for state in ("running", "initializing")] == [
        True,
        False,
    ]
    assert "anything-but" in repr(rule)


INVALID: list[tuple[str, Any, str]] = [
    ("not JSON", "{'bad': 'quotes'}", "Filter is not valid JSON"),
    ("not an object", '["a", "list"]', "Filter is not an object"),
    ("a bare value", {"source": "aws.ec2"}, '"source" must be an object or an array'),
    ("a bare number", {"detail": {"n": 42}}, '"n" must be an object or an array'),
    ("an empty array", {"resources": []}, "Empty arrays are not allowed"),
    (
        "an array in the values",
        {"a": [["x"]]},
        "Match value must be String, number, true, false, or null",
    ),
    (
        "two operators in one expression",
        {"a": [{"prefix": "x", "suffix": "y"}]},
        "Only one key allowed",
    ),
    ("an empty match expression", {"a": [{}]}, "Only one key allowed"),
    ("unknown operator", {"a": [{"contains": "x"}]}, "Unrecognized match type contains"),
    ("operators are case sensitive", {"a": [{"EXISTS": True}]}, "Unrecognized match type EXISTS"),
    ("prefix not a string", {"time": [{"prefix": 123}]}, "prefix match pattern must be a string"),
    ("prefix list", {"time": [{"prefix": ["2022"]}]}, "prefix match pattern must be a string"),
    (
        "prefix unknown option",
        {"time": [{"prefix": {"ignore": "x"}}]},
        "prefix match pattern must be a string",
    ),
    ("suffix not a string", {"f": [{"suffix": 123}]}, "suffix match pattern must be a string"),
    ("suffix list", {"f": [{"suffix": [".png"]}]}, "suffix match pattern must be a string"),
    (
        "equals-ignore-case list",
        {"a": [{"equals-ignore-case": ["x"]}]},
        "equals-ignore-case match pattern must be a string",
    ),
    (
        "equals-ignore-case object",
        {"a": [{"equals-ignore-case": {"prefix": "x"}}]},
        "equals-ignore-case match pattern must be a string",
    ),
    (
        "wildcard not a string",
        {"a": [{"wildcard": 123}]},
        "wildcard match pattern must be a string",
    ),
    (
        "wildcard consecutive stars",
        {"a": [{"wildcard": "arn:aws:events:us-east-1:**:bus/*"}]},
        "Consecutive wildcard characters at pos 26",
    ),
    (
        "wildcard bad escape",
        {"a": [{"wildcard": "a\\b"}]},
        "Invalid use of backslash escape character at pos 1",
    ),
    (
        "wildcard trailing backslash",
        {"a": [{"wildcard": "a\\"}]},
        "Invalid use of backslash escape character",
    ),
    (
        "exists not a boolean",
        {"a": [{"exists": "true"}]},
        "exists match pattern must be either true or false.",
    ),
    (
        "exists null",
        {"a": [{"exists": None}]},
        "exists match pattern must be either true or false.",
    ),
    ("numeric not a list", {"n": [{"numeric": 5}]}, "Value of numeric must be an array."),
    ("numeric empty", {"n": [{"numeric": []}]}, "Invalid member in numeric match: ]"),
    (
        "numeric starts with a number",
        {"n": [{"numeric": [5, ">"]}]},
        "Invalid member in numeric match: 5",
    ),
    (
        "numeric unknown operator",
        {"n": [{"numeric": ["!=", 5]}]},
        "Unrecognized numeric range operator: !=",
    ),
    ("numeric without a value", {"n": [{"numeric": [">"]}]}, "Value of > must be numeric"),
    ("numeric string value", {"n": [{"numeric": ["=", "5"]}]}, "Value of equals must be numeric"),
    ("numeric boolean value", {"n": [{"numeric": ["<", True]}]}, "Value of < must be numeric"),
    (
        "numeric range missing top",
        {"n": [{"numeric": [">", 0, "<"]}]},
        "Value of < must be numeric",
    ),
    (
        "numeric range wrong order",
        {"n": [{"numeric": ["<", 5, ">", 0]}]},
        "Too many elements in numeric expression",
    ),
    (
        "numeric equals with more",
        {"n": [{"numeric": ["=", 5, "<", 9]}]},
        "Too many elements in numeric expression",
    ),
    (
        "numeric two lower bounds",
        {"n": [{"numeric": [">", 0, ">", 0]}]},
        "Bad numeric range operator: >",
    ),
    (
        "numeric number as second operator",
        {"n": [{"numeric": [">", 0, 5]}]},
        "Bad value in numeric range: 5",
    ),
    ("numeric empty range", {"n": [{"numeric": [">", 5, "<", 5]}]}, "Bottom must be less than top"),
    (
        "numeric too many terms",
        {"n": [{"numeric": [">", 0, "<", 5, "<", 9]}]},
        "Too many terms in numeric range expression",
    ),
    (
        "cidr not a string",
        {"ip": [{"cidr": ["10.0.0.0/8"]}]},
        "prefix match pattern must be a string",
    ),
    ("cidr without mask", {"ip": [{"cidr": "10.0.0.0"}]}, "Malformed CIDR, one '/' required"),
    (
        "cidr bad mask",
        {"ip": [{"cidr": "10.0.0.0/x"}]},
        "Malformed CIDR, mask bits must be an integer",
    ),
    ("cidr bad address", {"ip": [{"cidr": "xx.11.xx/24"}]}, "Nonstandard IP address: xx.11.xx"),
    (
        "cidr bad IPv6 address",
        {"ip": [{"cidr": "xxxx:db8::/32"}]},
        "Nonstandard IP address: xxxx:db8::",
    ),
    ("cidr mask too long", {"ip": [{"cidr": "10.0.0.0/33"}]}, "Nonstandard IP address: 10.0.0.0"),
    (
        "anything-but null",
        {"s": [{"anything-but": None}]},
        "Value of anything-but must be an array or single string/number value.",
    ),
    (
        "anything-but boolean",
        {"s": [{"anything-but": True}]},
        "Value of anything-but must be an array or single string/number value.",
    ),
    (
        "anything-but list with null",
        {"s": [{"anything-but": ["stopped", None]}]},
        "Inside anything but list, start|null|boolean is not supported.",
    ),
    (
        "anything-but list with an object",
        {"s": [{"anything-but": [{"prefix": "x"}]}]},
        "Inside anything but list, start|null|boolean is not supported.",
    ),
    (
        "anything-but empty list",
        {"s": [{"anything-but": []}]},
        "Inside anything but list, start|null|boolean is not supported.",
    ),
    ("anything-but mixed list", {"s": [{"anything-but": ["a", 1]}]}, "mixed type is not supported"),
    (
        "anything-but unknown nested",
        {"s": [{"anything-but": {"numeric": [">", 1]}}]},
        "Unsupported anything-but pattern: numeric",
    ),
    (
        "anything-but two nested",
        {"s": [{"anything-but": {"prefix": "a", "suffix": "b"}}]},
        "Only one key allowed",
    ),
    (
        "anything-but prefix number",
        {"s": [{"anything-but": {"prefix": 123}}]},
        "prefix/suffix match pattern must be a string",
    ),
    (
        "anything-but suffix list with number",
        {"s": [{"anything-but": {"suffix": [123, ".txt"]}}]},
        "prefix/suffix match pattern must be a string",
    ),
    (
        "anything-but empty prefix",
        {"s": [{"anything-but": {"prefix": ""}}]},
        "Null prefix/suffix not allowed",
    ),
    (
        "anything-but prefix ignoring case",
        {"s": [{"anything-but": {"prefix": {"equals-ignore-case": "x"}}}]},
        "Value of anything-but must be an array or single string/number value.",
    ),
    (
        "anything-but ignore-case number",
        {"s": [{"anything-but": {"equals-ignore-case": 123}}]},
        "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.",
    ),
    (
        "anything-but wildcard list with number",
        {"s": [{"anything-but": {"wildcard": [123, "*/d/*"]}}]},
        "wildcard match pattern must be a string",
    ),
    (
        "anything-but wildcard consecutive stars",
        {"s": [{"anything-but": {"wildcard": "a**"}}]},
        "Consecutive wildcard characters",
    ),
    ("$or with one branch", {"$or": [{"a": ["1"]}]}, "$or needs at least two alternatives"),
    (
        "$or branch invalid",
        {"$or": [{"a": ["1"]}, {"b": "2"}]},
        '"b" must be an object or an array',
    ),
]


@pytest.mark.parametrize(
    ("pattern", "reason"), [case[1:] for case in INVALID], ids=[case[0] for case in INVALID]
)
def test_invalid_patterns_are_rejected(pattern: Any, reason: str) -> None:
    with pytest.raises(
        InvalidEventPattern, match=r"^Event pattern is not valid\. Reason: "
    ) as caught:
        validate(pattern)
    assert reason in caught.value.reason
    # matching validates too, as TestEventPattern does
    with pytest.raises(InvalidEventPattern):
        matches(pattern, EC2_EVENT)


def test_the_error_says_where() -> None:
    with pytest.raises(InvalidEventPattern) as caught:
        validate({"detail": {"state": [{"prefix": 123}]}})
    assert caught.value.where == "detail.state"
    assert str(caught.value) == (
        "Event pattern is not valid. Reason: prefix match pattern must be a string "
        "(at detail.state)"
    )


def test_valid_patterns_pass_validation() -> None:
    validate({"source": ["a", 1, 2.5, True, None, ""]})
    validate('{"detail": {"n": [{"numeric": [">=", -5e9, "<", 5e9]}]}}')
    validate({"s": [{"anything-but": {"prefix": ["us-", "eu-"]}}]})
    validate({"s": [{"anything-but": {"equals-ignore-case": ["a", "b"]}}]})
    validate({"a": [{"wildcard": "*a*b*c*"}]})


# --- Pipes ------------------------------------------------------------------------------

# A DynamoDB stream record as a pipe receives it (NEW_AND_OLD_IMAGES).
STREAM_RECORD: dict[str, Any] = {
    "eventID": "c4ca4238a0b923820dcc509a6f75849b",
    "eventName": "MODIFY",
    "eventVersion": "1.1",
    "eventSource": "aws:dynamodb",
    "awsRegion": "eu-west-1",
    "dynamodb": {
        "ApproximateCreationDateTime": 1717171717,
        "Keys": {"pk": {"S": "JOB#job-1"}, "sk": {"S": "JOB#job-1"}},
        "OldImage": {
            "pk": {"S": "JOB#job-1"},
            "entity": {"S": "JOB"},
            "id": {"S": "job-1"},
            "jobStatus": {"S": "OPEN"},
            "hourlyRate": {"N": "25"},
        },
        "NewImage": {
            "pk": {"S": "JOB#job-1"},
            "entity": {"S": "JOB"},
            "id": {"S": "job-1"},
            "jobStatus": {"S": "CLOSED"},
            "hourlyRate": {"N": "25"},
            "correlationId": {"S": "corr-1"},
        },
        "SequenceNumber": "111",
        "SizeBytes": 200,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    },
    "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/jobs/stream/2024-06-01",
}

JOB_CLOSED_FILTER = {
    "eventName": ["MODIFY"],
    "dynamodb": {
        "OldImage": {"entity": {"S": ["JOB"]}, "jobStatus": {"S": ["OPEN"]}},
        "NewImage": {"entity": {"S": ["JOB"]}, "jobStatus": {"S": ["CLOSED"]}},
    },
}


def _with_status(old: str | None, new: str | None, event_name: str = "MODIFY") -> dict[str, Any]:
    record: dict[str, Any] = copy.deepcopy(STREAM_RECORD)
    record["eventName"] = event_name
    for image, status in (("OldImage", old), ("NewImage", new)):
        if status is None:
            del record["dynamodb"][image]
        else:
            record["dynamodb"][image]["jobStatus"] = {"S": status}
    return record


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (STREAM_RECORD, True),
        (_with_status("CLOSED", "CLOSED"), False),  # a later edit of a closed job
        (_with_status(None, "OPEN", "INSERT"), False),  # creation
        (_with_status("OPEN", None, "REMOVE"), False),  # deletion
        (_with_status("OPEN", "OPEN"), False),
    ],
    ids=["open-to-closed", "closed-to-closed", "insert", "remove", "open-to-open"],
)
def test_pipe_filter_on_a_dynamodb_stream_record(record: dict[str, Any], expected: bool) -> None:
    assert matches_any([json.dumps(JOB_CLOSED_FILTER)], record) is expected


def test_pipe_filter_on_dynamodb_number_attributes_as_delivered() -> None:
    # DynamoDB numbers arrive as strings ({"N": "25"}): a numeric filter does not see them.
    numeric = {"dynamodb": {"NewImage": {"hourlyRate": {"N": [{"numeric": [">", 0]}]}}}}
    as_string = {"dynamodb": {"NewImage": {"hourlyRate": {"N": ["25"]}}}}
    assert not matches_any([json.dumps(numeric)], STREAM_RECORD)
    assert matches_any([json.dumps(as_string)], STREAM_RECORD)


def test_pipe_filters_any_of_them_lets_a_record_through() -> None:
    no = json.dumps({"eventName": ["INSERT"]})
    yes = json.dumps({"dynamodb": {"NewImage": {"correlationId": {"S": [{"prefix": "corr-"}]}}}})
    assert matches_any([no, yes], STREAM_RECORD)
    assert not matches_any([no], STREAM_RECORD)


def test_pipe_without_filters_lets_everything_through() -> None:
    assert matches_any([], STREAM_RECORD)
    assert matches_any((), {"anything": "goes"})


def test_pipe_filters_as_objects_or_filter_items() -> None:
    assert matches_any([JOB_CLOSED_FILTER], STREAM_RECORD)
    assert matches_any([{"Pattern": json.dumps(JOB_CLOSED_FILTER)}], STREAM_RECORD)
    # A pattern with a field named Pattern is still a pattern, not a filter item.
    assert matches_any([{"Pattern": ["x"]}], {"Pattern": "x"})


def test_pipe_filter_that_is_not_valid_is_rejected() -> None:
    with pytest.raises(InvalidEventPattern, match="Filter is not valid JSON"):
        matches_any(['{"eventName": [MODIFY]}'], STREAM_RECORD)
    with pytest.raises(InvalidEventPattern, match="must be an object or an array"):
        matches_any(['{"eventName": "MODIFY"}'], STREAM_RECORD)


@pytest.mark.parametrize("nested", ["prefix", "suffix", "equals-ignore-case", "wildcard"])
def test_pipe_filters_reject_what_pipes_do_not_support(nested: str) -> None:
    pattern = {"eventName": [{"anything-but": {nested: "x"}}]}
    validate(pattern)  # fine on an event bus
    with pytest.raises(InvalidEventPattern, match="not supported by EventBridge Pipes"):
        validate(pattern, for_pipes=True)
    with pytest.raises(InvalidEventPattern, match="not supported by EventBridge Pipes"):
        matches_any([json.dumps(pattern)], STREAM_RECORD)
    # Plain anything-but is supported by pipes.
    assert matches_any([json.dumps({"eventName": [{"anything-but": "INSERT"}]})], STREAM_RECORD)


# --- properties ---------------------------------------------------------------------------

# No per-example deadline: timings on a busy 2-core CI machine are not what is tested here.
_relaxed = settings(deadline=None)

_keys = st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=8)
_numbers = st.integers(min_value=-(10**9), max_value=10**9) | st.floats(
    min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False
)
_scalars = st.none() | st.booleans() | _numbers | st.text(max_size=12)
_json = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_keys, children, max_size=4),
    max_leaves=20,
)
_events = st.dictionaries(_keys, _json, max_size=6)


def _pattern_from(node: dict[str, Any]) -> dict[str, Any]:
    """A pattern that asks for exactly the values the event has (one per field)."""
    pattern: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$or":
            continue
        if isinstance(value, dict):
            if sub := _pattern_from(value):
                pattern[key] = sub
        elif isinstance(value, list):
            elements = _flat(value)
            if elements and isinstance(elements[0], dict):
                if sub := _pattern_from(elements[0]):
                    pattern[key] = sub
            elif leaves := [e for e in elements if not isinstance(e, dict)]:
                pattern[key] = [leaves[-1]]
        else:
            pattern[key] = [value]
    return pattern


def _flat(items: list[Any]) -> list[Any]:
    return [leaf for item in items for leaf in (_flat(item) if isinstance(item, list) else [item])]


@_relaxed
@given(_events)
def test_a_pattern_of_the_events_own_values_matches_it(event: dict[str, Any]) -> None:
    assert matches(_pattern_from(event), event)


@_relaxed
@given(_events, _keys)
def test_exists_true_and_false_are_complements(event: dict[str, Any], key: str) -> None:
    present = matches({key: [{"exists": True}]}, event)
    absent = matches({key: [{"exists": False}]}, event)
    assert present != absent


@_relaxed
@given(st.text(max_size=12) | _numbers)
def test_anything_but_a_value_never_matches_that_value(value: Any) -> None:
    assert not matches({"f": [{"anything-but": value}]}, {"f": value})
    assert not matches({"f": [{"anything-but": [value]}]}, {"f": [value]})


@_relaxed
@given(st.lists(st.text(max_size=6), min_size=1, max_size=4), st.text(max_size=6))
def test_anything_but_a_list_is_the_complement_of_the_list(excluded: list[str], value: str) -> None:
    exact = matches({"f": excluded}, {"f": value})
    anything_but = matches({"f": [{"anything-but": excluded}]}, {"f": value})
    assert exact != anything_but


@_relaxed
@given(st.text(max_size=12), st.data())
def test_prefix_and_suffix_of_a_string_match_it(text: str, data: st.DataObject) -> None:
    cut = data.draw(st.integers(min_value=0, max_value=len(text)))
    assert matches({"s": [{"prefix": text[:cut]}]}, {"s": text})
    assert matches({"s": [{"suffix": text[cut:]}]}, {"s": text})
    assert matches({"s": [{"prefix": {"equals-ignore-case": text[:cut].upper()}}]}, {"s": text})


@_relaxed
@given(st.text(alphabet=string.ascii_letters + string.digits + " -_.", max_size=12))
def test_equals_ignore_case_ignores_case(text: str) -> None:
    assert matches({"s": [{"equals-ignore-case": text.swapcase()}]}, {"s": text})


@_relaxed
@given(st.text(max_size=12))
def test_a_wildcard_without_stars_is_an_exact_match(text: str) -> None:
    escaped = text.replace("\\", "\\\\").replace("*", "\\*")
    assert matches({"s": [{"wildcard": escaped}]}, {"s": text})
    assert matches({"s": [{"wildcard": f"*<{escaped}>*"}]}, {"s": f"ab<{text}>cd"})


@_relaxed
@given(_numbers)
def test_numeric_comparisons_at_the_value(value: float) -> None:
    event = {"n": value}
    assert matches({"n": [{"numeric": ["=", value]}]}, event)
    assert matches({"n": [{"numeric": [">=", value]}]}, event)
    assert matches({"n": [{"numeric": ["<=", value]}]}, event)
    assert not matches({"n": [{"numeric": [">", value]}]}, event)
    assert not matches({"n": [{"numeric": ["<", value]}]}, event)
    assert matches({"n": [value]}, {"n": float(value)})

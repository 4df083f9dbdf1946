"""What a rule target receives: the event, Input, InputPath or InputTransformer."""

from __future__ import annotations

import json
from typing import Any

import pytest

from localcloud.edge.target_input import TemplateError, render_target_input

EVENT: dict[str, Any] = {
    "version": "0",
    "id": "e-1",
    "detail-type": "JobClosed",
    "source": "booking",
    "account": "123456789012",
    "time": "2024-05-01T12:00:00Z",
    "region": "us-east-1",
    "resources": [],
    "detail": {"jobId": "job-1", "count": 0, "tags": ["a", "b"]},
}
RULE = "arn:aws:events:us-east-1:123456789012:rule/bus/Notify"


def rendered(target: dict[str, Any]) -> str:
    return render_target_input(
        target, EVENT, rule_arn=RULE, rule_name="Notify", ingestion_time=1714564800.25
    )


def test_no_option_sends_the_whole_event() -> None:
    assert json.loads(rendered({"Arn": "x"})) == EVENT


def test_input_is_sent_verbatim() -> None:
    assert rendered({"Input": '{"fixed":  1}'}) == '{"fixed":  1}'


@pytest.mark.parametrize(
    ("path", "expected"),
    [("$.detail", EVENT["detail"]), ("$.detail.tags[1]", "b"), ("$.detail.nothing", None)],
)
def test_input_path_selects_a_value(path: str, expected: Any) -> None:
    assert json.loads(rendered({"InputPath": path})) == expected


def test_input_transformer_quotes_strings_and_keeps_falsy_values() -> None:
    target = {
        "InputTransformer": {
            "InputPathsMap": {"job": "$.detail.jobId", "count": "$.detail.count"},
            "InputTemplate": '{"job": <job>, "count": <count>, "text": "<job> has <count>", '
            '"rule": "<aws.events.rule-arn>", "at": "<aws.events.event.ingestion-time>"}',
        }
    }

    assert json.loads(rendered(target)) == {
        "job": "job-1",
        "count": 0,
        "text": "job-1 has 0",
        "rule": RULE,
        "at": "2024-05-01T12:00:00.250Z",
    }


def test_input_transformer_with_a_plain_text_template() -> None:
    target = {
        "InputTransformer": {
            "InputPathsMap": {"job": "$.detail.jobId"},
            "InputTemplate": "<job> was closed",
        }
    }

    assert rendered(target) == "job-1 was closed"


def test_an_unknown_placeholder_is_an_error() -> None:
    target = {"InputTransformer": {"InputPathsMap": {}, "InputTemplate": '{"x": <nope>}'}}

    with pytest.raises(TemplateError):
        rendered(target)

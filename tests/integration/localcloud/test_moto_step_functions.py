"""moto's executions with reused parsed programs and shared task clients behave as before.

moto in server mode in this process (the session's ``moto_endpoint``), patched by
``speed_up_executions``; state machines of Pass, Choice, Fail and Wait states, and the
BookNanny workflow's GetItem task against DynamoDB Local.
"""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from localcloud.moto_step_functions import programs, speed_up_executions
from tests.support.step_functions import create_state_machine

pytestmark = pytest.mark.dynamodb

DEFINITION = {
    "StartAt": "Shape",
    "States": {
        "Shape": {
            "Type": "Pass",
            "Parameters": {"echo.$": "$.value", "twice.$": "States.ArrayLength($.items)"},
            "Next": "Route",
        },
        "Route": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.echo", "StringEquals": "fail", "Next": "Refuse"}],
            "Default": "Done",
        },
        "Refuse": {"Type": "Fail", "Error": "Refused", "Cause": "asked to"},
        "Done": {"Type": "Succeed"},
    },
}


@pytest.fixture(scope="module")
def fast_sfn(sfn: Any) -> Any:
    speed_up_executions()
    return sfn


def run(sfn: Any, arn: str, document: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
    execution = sfn.start_execution(
        stateMachineArn=arn, name=uuid.uuid4().hex, input=json.dumps(document)
    )["executionArn"]
    deadline = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING" or time.monotonic() > deadline:
            return described
        time.sleep(0.01)


def machine(sfn: Any, definition: dict[str, Any]) -> tuple[str, str]:
    # A unique comment: a definition of its own, so pool counts are this test's alone.
    text = json.dumps({**definition, "Comment": uuid.uuid4().hex})
    return create_state_machine(sfn, text, name_prefix="Pooled"), text


def test_sequential_executions_parse_the_definition_once(fast_sfn: Any) -> None:
    arn, text = machine(fast_sfn, DEFINITION)
    parsed = programs.parsed

    answers = [run(fast_sfn, arn, {"value": f"v{n}", "items": [1] * n}) for n in range(4)]

    assert [json.loads(a["output"]) for a in answers] == [
        {"echo": f"v{n}", "twice": n} for n in range(4)
    ]
    assert programs.parsed - parsed == 1
    assert programs.idle(text) == 1


def test_concurrent_executions_each_get_their_own_program(fast_sfn: Any) -> None:
    arn, text = machine(fast_sfn, DEFINITION)
    inputs = [{"value": f"v{n}", "items": [0] * n} for n in range(8)]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda document: run(fast_sfn, arn, document), inputs))

    assert [json.loads(a["output"]) for a in answers] == [
        {"echo": f"v{n}", "twice": n} for n in range(8)
    ]
    assert 1 <= programs.idle(text) <= 8


def test_a_failed_execution_gives_its_program_back_and_the_next_one_succeeds(
    fast_sfn: Any,
) -> None:
    arn, text = machine(fast_sfn, DEFINITION)

    failed = run(fast_sfn, arn, {"value": "fail", "items": []})
    succeeded = run(fast_sfn, arn, {"value": "ok", "items": [1]})

    assert (failed["status"], failed.get("error")) == ("FAILED", "Refused")
    assert json.loads(succeeded["output"]) == {"echo": "ok", "twice": 1}
    assert programs.idle(text) == 1


def test_a_timed_out_execution_keeps_its_program_from_the_pool(fast_sfn: Any) -> None:
    slow = {
        "TimeoutSeconds": 1,
        "StartAt": "Wait",
        "States": {"Wait": {"Type": "Wait", "Seconds": 3, "End": True}},
    }
    arn, text = machine(fast_sfn, slow)

    answer = run(fast_sfn, arn, {})

    assert answer["status"] == "TIMED_OUT"
    assert programs.idle(text) == 0  # its worker thread may still be waiting in it


def test_the_booking_workflow_reads_dynamodb_with_shared_clients(
    fast_sfn: Any, state_machine_arn: str
) -> None:
    request = {
        "jobId": f"missing-{uuid.uuid4().hex[:8]}",
        "applicationId": "missing",
        "parentUsername": "nobody",
        "correlationId": "c",
    }

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: run(fast_sfn, state_machine_arn, request), range(4)))

    assert {(a["status"], a.get("error")) for a in answers} == {("FAILED", "NotFound")}

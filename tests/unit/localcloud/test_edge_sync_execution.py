"""StartSyncExecution's answer, built from moto's StartExecution and DescribeExecution."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, cast

import pytest

from localcloud.edge.backend import AwsError, BackendError, CallContext
from localcloud.edge.sync_execution import SyncExecutions

CONTEXT = CallContext("us-east-1", "local")
MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:Book"


class FakeMoto:
    """Answers Step Functions calls from a script of DescribeExecution answers."""

    def __init__(self, descriptions: list[dict[str, Any]], machine_type: str = "EXPRESS") -> None:
        self.descriptions = descriptions
        self.machine_type = machine_type
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.taken_names: set[str] = set()

    def json(
        self, context: CallContext, service: str, operation: str, payload: Mapping[str, Any]
    ) -> dict[str, Any]:
        self.calls.append((operation, dict(payload)))
        if operation == "DescribeStateMachine":
            return {"stateMachineArn": MACHINE, "type": self.machine_type}
        if operation == "StartExecution":
            if payload["name"] in self.taken_names:
                raise BackendError("ExecutionAlreadyExists", "Execution Already Exists")
            self.taken_names.add(payload["name"])
            return {"executionArn": f"{MACHINE}:{payload['name']}", "startDate": 1.0}
        if operation == "DescribeExecution":
            base = {"executionArn": payload["executionArn"], "stateMachineArn": MACHINE}
            return {**base, **self.descriptions.pop(0)} if self.descriptions else {**base}
        return {}


def run(moto: FakeMoto, deadline: float = 5.0, **payload: Any) -> dict[str, Any]:
    executions = SyncExecutions(cast(Any, moto), threading.Event(), deadline_seconds=deadline)
    return executions.start_sync_execution(CONTEXT, {"stateMachineArn": MACHINE, **payload})


def test_a_success_after_polling_has_the_real_shape_with_epoch_dates() -> None:
    moto = FakeMoto(
        [
            {"status": "RUNNING"},
            {
                "status": "SUCCEEDED",
                "name": "n1",
                "startDate": "2024-05-01T12:00:00.500000+00:00",
                "stopDate": 1714564801.25,
                "input": '{"a": 1}',
                "output": '{"b": 2}',
            },
        ]
    )

    answer = run(moto, input='{"a": 1}', name="n1")

    assert answer == {
        "executionArn": f"{MACHINE}:n1",
        "stateMachineArn": MACHINE,
        "name": "n1",
        "startDate": 1714564800.5,
        "stopDate": 1714564801.25,
        "status": "SUCCEEDED",
        "input": '{"a": 1}',
        "inputDetails": {"included": True},
        "output": '{"b": 2}',
        "outputDetails": {"included": True},
        "billingDetails": answer["billingDetails"],
    }
    assert answer["billingDetails"]["billedDurationInMilliseconds"] % 100 == 0


def test_start_execution_always_gets_a_unique_name() -> None:
    moto = FakeMoto([{"status": "SUCCEEDED"}, {"status": "SUCCEEDED"}, {"status": "SUCCEEDED"}])

    run(moto)
    run(moto, name="same")
    run(moto, name="same")

    names = [payload["name"] for operation, payload in moto.calls if operation == "StartExecution"]
    assert names[0]  # never None: moto would build an ARN ending in ":None"
    assert names[1:3] == ["same", "same"]  # the second was refused by moto...
    assert names[3].startswith("same-")  # ...and retried under a unique name


def test_the_deadline_stops_the_execution_and_answers_timed_out() -> None:
    moto = FakeMoto([{"status": "RUNNING"}] * 1000)

    answer = run(moto, deadline=0.05)

    assert (answer["status"], answer["error"]) == ("TIMED_OUT", "States.Timeout")
    assert any(operation == "StopExecution" for operation, _ in moto.calls)
    assert "output" not in answer


def test_moto_timed_out_gets_the_error_name_aws_gives() -> None:
    answer = run(FakeMoto([{"status": "TIMED_OUT"}]))

    assert (answer["status"], answer["error"]) == ("TIMED_OUT", "States.Timeout")


def test_an_aborted_execution_is_answered_failed() -> None:
    answer = run(FakeMoto([{"status": "ABORTED"}]))

    assert (answer["status"], answer["error"]) == ("FAILED", "States.Aborted")


def test_a_standard_state_machine_is_refused() -> None:
    with pytest.raises(AwsError) as refused:
        run(FakeMoto([], machine_type="STANDARD"))

    assert refused.value.code == "StateMachineTypeNotSupported"

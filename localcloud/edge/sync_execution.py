"""StartSyncExecution, which moto answers with a 500: StartExecution, then wait for the end.

Answers in StartSyncExecution's shape, always HTTP 200 whatever the execution's status,
as AWS does: ``executionArn``, ``stateMachineArn``, ``name``, ``startDate``, ``stopDate``
(epoch seconds, as the JSON protocol writes timestamps), ``status`` (SUCCEEDED, FAILED or
TIMED_OUT), ``error``, ``cause``, ``input``, ``inputDetails``, ``output``,
``outputDetails``, ``traceHeader`` and ``billingDetails``.

- Only EXPRESS state machines, as in AWS (``StateMachineTypeNotSupported`` otherwise).
- StartExecution always gets an explicit, unique ``name``: without one moto builds an ARN
  ending in ``:None`` and the second execution collides with the first.
- The wait is bounded by the Express limit of 5 minutes (or less, ``deadline_seconds``);
  an execution still running then is stopped and answered TIMED_OUT with
  ``States.Timeout``, as AWS does. moto enforces the definition's ``TimeoutSeconds``
  itself (TIMED_OUT, without an error name: ``States.Timeout`` is filled in).
- ``includedData: METADATA_ONLY`` leaves ``input`` and ``output`` out.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any, Final

from localcloud.edge.backend import AwsError, BackendError, CallContext, MotoClient
from localcloud.edge.event_bus import epoch_seconds

__all__ = ["EXPRESS_LIMIT_SECONDS", "SyncExecutions"]

EXPRESS_LIMIT_SECONDS: Final = 300.0
_BILLED_MEMORY_MB: Final = 64
_FIRST_POLL: Final = 0.002
_LONGEST_POLL: Final = 0.05
_SYNC_STATUSES: Final = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT"})
# moto stops an execution asynchronously (it signals the execution's worker thread); AWS
# has it stopped when StopExecution returns. How long the router waits to match AWS.
_STOP_SETTLE_SECONDS: Final = 5.0


class SyncExecutions:
    """Runs StartSyncExecution against moto.

    Args:
        moto: calls to moto.
        stopping: set when the router stops; a waiting request then answers at once.
        deadline_seconds: the longest wait for one execution (at most 300, Express's limit).
    """

    def __init__(
        self,
        moto: MotoClient,
        stopping: threading.Event,
        *,
        deadline_seconds: float = EXPRESS_LIMIT_SECONDS,
    ) -> None:
        self.moto = moto
        self.stopping = stopping
        self.deadline_seconds = min(deadline_seconds, EXPRESS_LIMIT_SECONDS)

    def start_sync_execution(
        self, context: CallContext, payload: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Run the execution and answer as StartSyncExecution does.

        Raises:
            AwsError: the request is invalid or names no EXPRESS state machine (moto's
                error, e.g. StateMachineDoesNotExist, passes through).
        """
        arn = payload.get("stateMachineArn")
        if not isinstance(arn, str) or not arn:
            raise AwsError("ValidationException", "stateMachineArn is required")
        described = self.moto.json(
            context, "states", "DescribeStateMachine", {"stateMachineArn": arn}
        )
        if described.get("type") != "EXPRESS":
            raise AwsError(
                "StateMachineTypeNotSupported",
                "This operation is not supported by this type of state machine",
            )
        started_at = time.monotonic()
        execution_arn = self._start(context, payload, arn)
        execution = self._wait(context, execution_arn, started_at)
        return self._answer(execution, payload, time.monotonic() - started_at)

    def _start(self, context: CallContext, payload: Mapping[str, Any], arn: str) -> str:
        request: dict[str, Any] = {
            "stateMachineArn": arn,
            "input": payload.get("input") or "{}",
            "name": payload.get("name") or uuid.uuid4().hex,
        }
        if payload.get("traceHeader"):
            request["traceHeader"] = payload["traceHeader"]
        try:
            started = self.moto.json(context, "states", "StartExecution", request)
        except BackendError as error:
            if error.code != "ExecutionAlreadyExists" or not payload.get("name"):
                raise
            # Express executions need no unique names in AWS, moto's do: keep the name
            # recognisable and make it unique.
            request["name"] = f"{payload['name']}-{uuid.uuid4().hex[:8]}"
            started = self.moto.json(context, "states", "StartExecution", request)
        return str(started["executionArn"])

    def _wait(self, context: CallContext, execution_arn: str, started_at: float) -> dict[str, Any]:
        deadline = started_at + self.deadline_seconds
        pause = _FIRST_POLL
        while True:
            execution = self.moto.json(
                context, "states", "DescribeExecution", {"executionArn": execution_arn}
            )
            if execution.get("status") != "RUNNING":
                return execution
            if time.monotonic() >= deadline or self.stopping.is_set():
                return self._time_out(context, execution)
            # Short at first, as most Express executions end in milliseconds.
            self.stopping.wait(pause)
            pause = min(pause * 1.5, _LONGEST_POLL)

    def _settle_stop(self, context: CallContext, execution_arn: str) -> None:
        """Wait (bounded) until moto shows the stopped execution as no longer RUNNING."""
        deadline = time.monotonic() + _STOP_SETTLE_SECONDS
        while time.monotonic() < deadline:
            described = self.moto.json(
                context, "states", "DescribeExecution", {"executionArn": execution_arn}
            )
            if described.get("status") != "RUNNING":
                return
            time.sleep(_LONGEST_POLL)

    def _time_out(self, context: CallContext, execution: dict[str, Any]) -> dict[str, Any]:
        cause = (
            "The local cloud stopped while the execution was running"
            if self.stopping.is_set()
            else f"The execution ran longer than {self.deadline_seconds:g} seconds"
        )
        stop = {
            "executionArn": execution["executionArn"],
            "error": "States.Timeout",
            "cause": cause,
        }
        # If it ended meanwhile, it is answered as timed out all the same.
        with contextlib.suppress(BackendError):
            self.moto.json(context, "states", "StopExecution", stop)
            self._settle_stop(context, execution["executionArn"])
        return {
            **execution,
            "status": "TIMED_OUT",
            "error": "States.Timeout",
            "cause": cause,
            "stopDate": time.time(),
        }

    @staticmethod
    def _answer(
        execution: Mapping[str, Any], payload: Mapping[str, Any], elapsed: float
    ) -> dict[str, Any]:
        status = str(execution.get("status"))
        error, cause = execution.get("error"), execution.get("cause")
        if status not in _SYNC_STATUSES:  # ABORTED: someone stopped it
            status, error = "FAILED", error or "States.Aborted"
        start = epoch_seconds(execution.get("startDate")) or time.time() - elapsed
        stop = epoch_seconds(execution.get("stopDate")) or time.time()
        include = payload.get("includedData", "ALL_DATA") != "METADATA_ONLY"
        answer: dict[str, Any] = {
            "executionArn": execution.get("executionArn"),
            "stateMachineArn": execution.get("stateMachineArn"),
            "name": execution.get("name"),
            "startDate": start,
            "stopDate": stop,
            "status": status,
            "inputDetails": {"included": include},
            "billingDetails": {
                "billedMemoryUsedInMB": _BILLED_MEMORY_MB,
                # Express bills in 100 ms steps (of at least 100 ms).
                "billedDurationInMilliseconds": max(100, math.ceil(elapsed * 10) * 100),
            },
        }
        if include:
            answer["input"] = execution.get("input", payload.get("input") or "{}")
        if status == "SUCCEEDED":
            answer["outputDetails"] = {"included": include}
            if include:
                answer["output"] = execution.get("output", "null")
        if status == "TIMED_OUT" and not error:
            error = "States.Timeout"
        if error:
            answer["error"] = error
        if cause:
            answer["cause"] = cause
        if payload.get("traceHeader"):
            answer["traceHeader"] = payload["traceHeader"]
        return answer

"""Step Functions in moto, executing for real, with tasks that reach DynamoDB Local.

Two switches make that happen (moto 5.2.5):

- moto runs state machines only with ``{"stepfunctions": {"execute_state_machine": true}}``
  in its config, set in server mode by POST ``/moto-api/config`` (there is no environment
  variable for it); otherwise moto records executions but runs no state;
- a task's boto3 client calls ``http://localhost:$MOTO_PORT``
  (``moto/stepfunctions/parser/asl/utils/boto_client.py``, read at every call), so
  ``MOTO_PORT`` set to DynamoDB Local's port sends them there. The workflow calls only
  DynamoDB, so nothing else is redirected.

moto has no StartSyncExecution: :class:`PollingSyncExecutions` stands in for it.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from typing import Any

ROLE_ARN = "arn:aws:iam::123456789012:role/BookNannyStateMachineRole"
EXECUTION_DEADLINE_SECONDS = 20.0


def set_moto_config(endpoint: str, config: dict[str, Any]) -> None:
    request = urllib.request.Request(  # noqa: S310 - a fixed http URL on 127.0.0.1
        f"{endpoint}/moto-api/config",
        data=json.dumps(config).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5):  # noqa: S310 - as above
        pass


def create_state_machine(sfn: Any, definition: str, name_prefix: str = "BookNanny") -> str:
    arn: str = sfn.create_state_machine(
        name=f"{name_prefix}-{uuid.uuid4().hex[:8]}",
        definition=definition,
        roleArn=ROLE_ARN,
        type="EXPRESS",
    )["stateMachineArn"]
    return arn


class PollingSyncExecutions:
    """StartSyncExecution for moto: StartExecution, then DescribeExecution until it ends.

    Answers in StartSyncExecution's shape, so it can stand in for the boto3 client given
    to ``BookingWorkflow``.
    """

    def __init__(self, sfn: Any, deadline_seconds: float = EXECUTION_DEADLINE_SECONDS) -> None:
        self.sfn = sfn
        self.deadline_seconds = deadline_seconds

    def start_sync_execution(
        self,
        *,
        stateMachineArn: str,  # noqa: N803 - boto3's parameter name
        input: str = "{}",
        name: str | None = None,
    ) -> dict[str, Any]:
        started = self.sfn.start_execution(
            stateMachineArn=stateMachineArn, input=input, name=name or uuid.uuid4().hex
        )
        deadline = time.monotonic() + self.deadline_seconds
        while True:
            execution: dict[str, Any] = self.sfn.describe_execution(
                executionArn=started["executionArn"]
            )
            if execution["status"] != "RUNNING":
                return {key: value for key, value in execution.items() if key != "ResponseMetadata"}
            if time.monotonic() > deadline:
                raise AssertionError(f"{started['executionArn']} still RUNNING")
            time.sleep(0.01)

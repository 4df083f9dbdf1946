"""Handlers the local Lambda workers are tested with: one per behaviour under test.

This directory is the functions' code root (their ``/var/task``), so handlers are named
``lambda_samples.<function>``. Each runs in a worker process, never in the test process.
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

COUNT = 0  # module state: survives between invocations of a warm worker only


class PaymentDeclined(Exception):
    """A domain error, to see its class name come back as the errorType."""


def echo(event: Any, context: Any) -> dict[str, Any]:
    return {
        "event": event,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "invoked_function_arn": context.invoked_function_arn,
        "aws_request_id": context.aws_request_id,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "cwd": os.getcwd(),
    }


def count(event: Any, context: Any) -> dict[str, int]:
    global COUNT  # the warm state under test
    COUNT += 1
    return {"count": COUNT, "pid": os.getpid()}


def fail(event: Any, context: Any) -> None:
    raise PaymentDeclined(event.get("message", "declined"))


def sleep(event: Any, context: Any) -> dict[str, Any]:
    time.sleep(event["seconds"])
    return {"slept": event["seconds"], "pid": os.getpid()}


def crash(event: Any, context: Any) -> None:
    how = event["how"]
    sys.stdout.flush()
    if how == "os_exit":
        os._exit(event.get("code", 3))
    if how == "sys_exit":
        sys.exit(event.get("code", 2))
    if how == "segfault":
        ctypes.string_at(0)  # reads address 0: a real SIGSEGV
    raise AssertionError(f"unknown crash {how}")


def environment(event: Any, context: Any) -> dict[str, Any]:
    return {"environ": dict(os.environ), "sys_path": sys.path}


def logs(event: Any, context: Any) -> str:
    print(event["stdout"])
    print(event["stderr"], file=sys.stderr)
    return "logged"


def spawn_and_sleep(event: Any, context: Any) -> None:
    """Start a grandchild, report its pid, then overrun: the timeout must kill both."""
    child = subprocess.Popen(["sleep", "60"])  # noqa: S607 - a test fixture
    Path(event["pid_file"]).write_text(str(child.pid))
    time.sleep(event["seconds"])


def unmarshallable(event: Any, context: Any) -> object:
    return object()


def sqs_batch(event: dict[str, Any], context: Any) -> Any:
    """An SQS consumer. Each body is JSON with an ``action``:

    ``ok``; ``fail`` (reported as a batch item failure); ``flaky`` (fails on its first
    receive only); ``boom`` (raises: the whole batch fails); ``hang`` (sleeps past any
    test timeout); ``answer`` (the function returns the body's ``response`` verbatim:
    odd partial batch responses).
    Every record seen is appended to the file named by ``SEEN_FILE``.
    """
    failures = []
    seen = []
    answer: Any = None
    boom = hang = False
    for record in event["Records"]:
        body = json.loads(record["body"])
        receive_count = int(record["attributes"]["ApproximateReceiveCount"])
        seen.append(
            {
                "messageId": record["messageId"],
                "id": body["id"],
                "receiveCount": receive_count,
                "batchSize": len(event["Records"]),
                "record": record,
            }
        )
        action = body["action"]
        if action == "fail" or (action == "flaky" and receive_count == 1):
            failures.append({"itemIdentifier": record["messageId"]})
        elif action == "boom":
            boom = True
        elif action == "hang":
            hang = True
        elif action == "answer":
            answer = body["response"]
    with open(os.environ["SEEN_FILE"], "a") as file:  # O_APPEND: one write per batch
        file.write("".join(json.dumps(line) + "\n" for line in seen))
    if hang:
        time.sleep(30)
    if boom:
        raise RuntimeError("boom")
    if answer is not None:
        return answer
    return {"batchItemFailures": failures}

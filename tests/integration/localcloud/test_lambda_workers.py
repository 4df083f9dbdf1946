"""Lambda functions as worker processes: real subprocesses running the sample handlers.

The handlers live in ``sample_functions/`` (the functions' code root). Every pool made
here is closed at teardown and checked to leave no process behind.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from localcloud.lambda_workers import (
    FunctionConfig,
    FunctionError,
    FunctionNotFoundError,
    FunctionTimeout,
    LambdaPool,
    PoolClosedError,
    WorkerCrashed,
)

CODE_ROOT = Path(__file__).parent / "sample_functions"
PROJECT_ROOT = Path(__file__).resolve().parents[3]
ENDPOINT = "http://127.0.0.1:4566"


def alive(pid: int) -> bool:
    """Whether `pid` runs; a zombie (dead, not yet reaped by its new parent) is not running."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        # Field 3 of /proc/<pid>/stat is the state; the name before it may hold spaces.
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def function(name: str, handler: str, **kwargs: Any) -> FunctionConfig:
    return FunctionConfig(name, f"lambda_samples.{handler}", code_root=CODE_ROOT, **kwargs)


@pytest.fixture
def make_pool() -> Iterator[Callable[..., LambdaPool]]:
    pools: list[LambdaPool] = []

    def make(*functions: FunctionConfig, **kwargs: Any) -> LambdaPool:
        kwargs.setdefault("endpoint_url", ENDPOINT)
        pool = LambdaPool(functions, **kwargs)
        pools.append(pool)
        return pool

    yield make
    pids = [pid for pool in pools for pid in pool.pids()]
    for pool in pools:
        pool.close()
    assert [pid for pid in pids if alive(pid)] == []


def test_result_round_trip_with_a_lambda_context(make_pool: Callable[..., LambdaPool]) -> None:
    pool = make_pool(function("echo", "echo", memory_size=256, timeout=5))
    event = {"job": {"id": "J1", "tags": ["a", "é"]}, "n": 1.5, "none": None}

    first = pool.invoke("echo", event)
    second = pool.invoke("echo", event)

    assert first["event"] == event
    assert first["function_name"] == "echo"
    assert first["function_version"] == "$LATEST"
    assert first["memory_limit_in_mb"] == "256"
    assert first["invoked_function_arn"] == "arn:aws:lambda:us-east-1:123456789012:function:echo"
    assert first["log_group_name"] == "/aws/lambda/echo"
    assert "[$LATEST]" in first["log_stream_name"]
    assert 4000 < first["remaining_ms"] <= 5000
    assert first["cwd"] == str(CODE_ROOT)
    assert first["aws_request_id"] != second["aws_request_id"]


def test_a_warm_worker_keeps_its_state(make_pool: Callable[..., LambdaPool]) -> None:
    pool = make_pool(function("counter", "count"))
    answers = [pool.invoke("counter", {}) for _ in range(3)]
    assert [a["count"] for a in answers] == [1, 2, 3]
    assert len({a["pid"] for a in answers}) == 1
    (worker,) = pool.workers("counter")
    assert worker.cold_starts == 1
    assert worker.cold_start_ms is not None
    assert worker.init_duration_ms is not None


def test_a_handler_exception_is_a_function_error(make_pool: Callable[..., LambdaPool]) -> None:
    pool = make_pool(function("pay", "fail"))
    with pytest.raises(FunctionError) as raised:
        pool.invoke("pay", {"message": "card refused"})
    error = raised.value
    assert type(error) is FunctionError
    assert error.error_type == "PaymentDeclined"
    assert error.error_message == "card refused"
    assert error.payload()["errorType"] == "PaymentDeclined"
    assert "lambda_samples.py" in error.stack_trace[-1]
    assert "in fail" in error.stack_trace[-1]
    assert error.request_id
    # An exception is the function's answer, not a crash: the worker stays warm.
    (pid_before,) = pool.pids("pay")
    with pytest.raises(FunctionError):
        pool.invoke("pay", {})
    assert pool.pids("pay") == [pid_before]


def test_a_timeout_kills_the_worker_and_the_next_call_gets_a_new_one(
    make_pool: Callable[..., LambdaPool],
) -> None:
    pool = make_pool(function("slow", "sleep", timeout=0.5))
    assert pool.invoke("slow", {"seconds": 0})["slept"] == 0
    (old_pid,) = pool.pids("slow")

    started = time.monotonic()
    with pytest.raises(FunctionTimeout) as raised:
        pool.invoke("slow", {"seconds": 30})
    elapsed = time.monotonic() - started

    assert raised.value.error_type == "Sandbox.Timedout"
    assert "Task timed out after 0.50 seconds" in raised.value.error_message
    assert 0.5 <= elapsed < 1.5
    assert not alive(old_pid)
    answer = pool.invoke("slow", {"seconds": 0})
    assert answer["pid"] != old_pid
    assert pool.workers("slow")[0].cold_starts == 2


def test_a_timeout_also_kills_what_the_handler_started(
    make_pool: Callable[..., LambdaPool], tmp_path: Path
) -> None:
    pool = make_pool(function("spawner", "spawn_and_sleep", timeout=1))
    pid_file = tmp_path / "grandchild.pid"
    with pytest.raises(FunctionTimeout):
        pool.invoke("spawner", {"pid_file": str(pid_file), "seconds": 30})
    grandchild = int(pid_file.read_text())
    assert wait_until(lambda: not alive(grandchild), timeout=2)


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("os_exit", "Runtime exited with error: exit status 3"),
        ("sys_exit", "Runtime exited with error: exit status 2"),
        ("segfault", "Runtime exited with error: signal: segmentation fault"),
    ],
)
def test_a_crashed_worker_fails_the_call_and_is_replaced(
    make_pool: Callable[..., LambdaPool], how: str, reason: str
) -> None:
    pool = make_pool(function("crashy", "crash"), function("bystander", "count"))
    pool.invoke("bystander", {})
    with pytest.raises(WorkerCrashed) as raised:
        pool.invoke("crashy", {"how": how})
    assert raised.value.error_type == "Runtime.ExitError"
    assert raised.value.error_message.endswith(reason)
    assert pool.pids("crashy") == []
    with pytest.raises(WorkerCrashed):  # a fresh worker, crashing again
        pool.invoke("crashy", {"how": how})
    # The other function's worker is untouched: still warm, same state.
    assert pool.invoke("bystander", {})["count"] == 2


def test_an_import_error_fails_each_call_with_a_fresh_cold_start(
    make_pool: Callable[..., LambdaPool],
) -> None:
    pool = make_pool(
        FunctionConfig("broken", "broken_import.handler", code_root=CODE_ROOT),
        FunctionConfig("missing", "no_such_module.handler", code_root=CODE_ROOT),
        function("nohandler", "no_such_function"),
    )
    for _ in range(2):
        with pytest.raises(FunctionError) as raised:
            pool.invoke("broken", {})
        assert raised.value.error_type == "RuntimeError"
        assert raised.value.error_message == "cannot connect at import time"
        assert "broken_import.py" in raised.value.stack_trace[-1]
    assert pool.workers("broken")[0].cold_starts == 2
    with pytest.raises(FunctionError, match=r"Runtime\.ImportModuleError"):
        pool.invoke("missing", {})
    with pytest.raises(FunctionError, match=r"Runtime\.HandlerNotFound"):
        pool.invoke("nohandler", {})
    assert pool.pids() == []


def test_an_unmarshallable_result_is_a_marshal_error(
    make_pool: Callable[..., LambdaPool],
) -> None:
    pool = make_pool(function("weird", "unmarshallable"))
    with pytest.raises(FunctionError, match=r"Runtime\.MarshalError: Unable to marshal"):
        pool.invoke("weird", {})


def test_each_function_has_its_own_environment(
    make_pool: Callable[..., LambdaPool], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.setenv("LOCALCLOUD_TEST_PARENT_ONLY", "leak")
    pool = make_pool(
        function("a", "environment", environment={"FLAVOUR": "a", "TABLE_NAME": "t-a"}),
        function("b", "environment", environment={"FLAVOUR": "b"}, memory_size=1024),
        environment={"POWERTOOLS_SERVICE_NAME": "local"},
    )
    a = pool.invoke("a", {})
    b = pool.invoke("b", {})
    env_a, env_b = a["environ"], b["environ"]
    assert (env_a["FLAVOUR"], env_b["FLAVOUR"]) == ("a", "b")
    assert env_a["TABLE_NAME"] == "t-a"
    assert "TABLE_NAME" not in env_b
    assert env_a["AWS_LAMBDA_FUNCTION_NAME"] == "a"
    assert env_b["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "1024"
    for env in (env_a, env_b):
        assert env["AWS_ENDPOINT_URL"] == ENDPOINT
        assert env["POWERTOOLS_TRACE_DISABLED"] == "1"
        assert env["POWERTOOLS_SERVICE_NAME"] == "local"
        assert env["AWS_ACCESS_KEY_ID"] == "local"
        assert "AWS_PROFILE" not in env
        assert "LOCALCLOUD_TEST_PARENT_ONLY" not in env
    # The code root comes first on sys.path, as /var/task does in Lambda.
    assert a["sys_path"][0] == str(CODE_ROOT)
    assert str(PROJECT_ROOT / "localcloud") not in a["sys_path"]


def test_logs_are_forwarded_with_the_function_name(
    make_pool: Callable[..., LambdaPool],
) -> None:
    stream = io.StringIO()
    pool = make_pool(
        function("talker", "logs"),
        FunctionConfig(
            "powertools",
            "powertools_sample.handler",
            code_root=CODE_ROOT,
            environment={"POWERTOOLS_SERVICE_NAME": "sample"},
        ),
        log_stream=stream,
    )
    assert pool.invoke("talker", {"stdout": "to stdout", "stderr": "to stderr"}) == "logged"
    assert pool.invoke("powertools", {"item": 7}) == {"ok": True}

    def lines() -> list[str]:
        return stream.getvalue().splitlines()

    assert wait_until(lambda: "[talker] to stderr" in lines() and "[talker] to stdout" in lines())
    assert wait_until(lambda: any("hello from powertools" in line for line in lines()))
    (structured,) = [line for line in lines() if "hello from powertools" in line]
    assert structured.startswith("[powertools] {")
    record = json.loads(structured.removeprefix("[powertools] "))
    assert record["service"] == "sample"
    assert record["function_name"] == "powertools"
    assert record["item"] == 7
    assert record["cold_start"] is True


def test_calls_to_one_worker_are_serialised_and_concurrency_adds_workers(
    make_pool: Callable[..., LambdaPool],
) -> None:
    pool = make_pool(
        function("single", "sleep", timeout=5),
        function("double", "sleep", timeout=5, max_concurrency=2),
        eager=True,
    )
    assert wait_until(lambda: len(pool.pids()) == 3)

    def run_two(name: str) -> tuple[float, set[int]]:
        answers: list[dict[str, Any]] = []
        threads = [
            threading.Thread(target=lambda: answers.append(pool.invoke(name, {"seconds": 0.5})))
            for _ in range(2)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.monotonic() - started, {a["pid"] for a in answers}

    elapsed, pids = run_two("single")
    assert elapsed >= 1.0
    assert len(pids) == 1
    elapsed, pids = run_two("double")
    assert elapsed < 0.95
    assert len(pids) == 2


def test_calls_waiting_for_a_worker_get_it_first_come_first_served(
    make_pool: Callable[..., LambdaPool],
) -> None:
    """A freed worker goes to the oldest waiting call, not to whoever asks next: here the
    caller that just freed it asks again at once, and must queue behind the waiters."""
    pool = make_pool(function("single", "sleep", timeout=5), eager=True)
    (worker,) = pool.workers("single")
    assert wait_until(lambda: worker.pid is not None)
    served: list[str] = []

    def call(name: str, seconds: float = 0.0) -> None:
        pool.invoke("single", {"seconds": seconds})
        served.append(name)

    def hold_then_ask_again() -> None:
        call("holder", 1.0)
        call("holder again")

    holder = threading.Thread(target=hold_then_ask_again)
    holder.start()
    assert wait_until(lambda: worker.invocations == 1)  # the holder's call is under way
    waiters = []
    for name in ("first", "second", "third"):
        waiters.append(threading.Thread(target=call, args=(name,)))
        waiters[-1].start()
        # each is waiting before the next arrives
        assert wait_until(lambda: pool.waiting("single") == len(waiters))
    for thread in (holder, *waiters):
        thread.join(10)
    assert served == ["holder", "first", "second", "third", "holder again"]


def test_close_stops_every_worker_even_mid_invocation(
    make_pool: Callable[..., LambdaPool],
) -> None:
    pool = make_pool(function("slow", "sleep", timeout=30), function("idle", "count"), eager=True)
    assert wait_until(lambda: len(pool.pids()) == 2)
    pids = pool.pids()
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            pool.invoke("slow", {"seconds": 20})
        except BaseException as error:  # recorded for the assertion
            outcome.append(error)

    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(0.3)  # the call is under way
    started = time.monotonic()
    pool.close()
    caller.join(5)
    assert time.monotonic() - started < 3
    assert len(outcome) == 1
    assert isinstance(outcome[0], PoolClosedError)
    assert [pid for pid in pids if alive(pid)] == []
    with pytest.raises(PoolClosedError):
        pool.invoke("idle", {})


def test_an_unknown_function_is_not_found(make_pool: Callable[..., LambdaPool]) -> None:
    pool = make_pool(function("echo", "echo"))
    with pytest.raises(FunctionNotFoundError, match="nope"):
        pool.invoke("nope", {})


@pytest.mark.parametrize(
    "ending",
    [
        "",  # a normal exit without close(): the atexit hook stops the workers
        "os.kill(os.getpid(), signal.SIGKILL)\n",  # no hook runs: workers see their pipe close
    ],
    ids=["exit-without-close", "parent-killed"],
)
def test_no_worker_outlives_the_process_that_started_it(tmp_path: Path, ending: str) -> None:
    script = tmp_path / "forgets_to_close.py"
    script.write_text(
        "import os, signal\n"
        "from localcloud.lambda_workers import FunctionConfig, LambdaPool\n"
        f"config = FunctionConfig('c', 'lambda_samples.count', code_root={str(CODE_ROOT)!r})\n"
        "pool = LambdaPool([config])\n"
        "print(pool.invoke('c', {})['pid'], flush=True)\n" + ending
    )
    result = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    pid = int(result.stdout.strip())
    assert wait_until(lambda: not alive(pid), timeout=2)

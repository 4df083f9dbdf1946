"""Lambda worker configuration, environment and error payloads, without starting a worker."""

from __future__ import annotations

import decimal
import os
import signal
import time
from pathlib import Path

import pytest

from localcloud import lambda_worker_main as runtime
from localcloud.lambda_workers import (
    RESERVED_ENVIRONMENT_VARIABLES,
    FunctionConfig,
    FunctionError,
    FunctionTimeout,
    WorkerCrashed,
    lambda_environment,
)


def test_config_defaults_and_resolved_code_root() -> None:
    config = FunctionConfig("decline_applications", "handler.handler", code_root=".")
    assert config.timeout == 3.0
    assert config.memory_size == 128
    assert config.max_concurrency == 1
    assert config.code_root == Path.cwd()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "bad name"}, "invalid function name"),
        ({"handler": "nodot"}, "invalid handler"),
        ({"timeout": 0}, "positive"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"environment": {"AWS_REGION": "eu-west-1"}}, "reserved"),
        ({"environment": {"TABLE_NAME": {"Ref": "Table"}}}, "resolve"),
    ],
)
def test_config_refuses_what_lambda_refuses(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"name": "f", "handler": "m.h"} | kwargs
    with pytest.raises(ValueError, match=message):
        FunctionConfig(**arguments)  # type: ignore[arg-type]


def test_environment_layers_function_over_base_over_lambda(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy:3128")
    config = FunctionConfig(
        "notify",
        "services.notify.handler.handler",
        environment={"TABLE_NAME": "nanny", "POWERTOOLS_LOG_LEVEL": "DEBUG"},
        memory_size=512,
    )
    env = lambda_environment(
        config,
        endpoint_url="http://127.0.0.1:4566",
        region="eu-west-1",
        base={"POWERTOOLS_LOG_LEVEL": "INFO", "STAGE": "local"},
        log_stream_name="2024/01/01/[$LATEST]abc",
    )
    assert env["TABLE_NAME"] == "nanny"
    assert env["POWERTOOLS_LOG_LEVEL"] == "DEBUG"  # the function's value wins over the base
    assert env["STAGE"] == "local"
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "notify"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/notify"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"] == "2024/01/01/[$LATEST]abc"
    assert env["POWERTOOLS_TRACE_DISABLED"] == "1"
    assert env["_HANDLER"] == "services.notify.handler.handler"
    assert env["AWS_CONFIG_FILE"] == env["AWS_SHARED_CREDENTIALS_FILE"] == os.devnull
    # Nothing from this process's environment but PATH: no profile, no proxy.
    assert "AWS_PROFILE" not in env
    assert "HTTPS_PROXY" not in env
    assert env["PATH"] == os.environ["PATH"]


def test_environment_without_endpoint_sets_none() -> None:
    assert "AWS_ENDPOINT_URL" not in lambda_environment(FunctionConfig("f", "m.h"))


def test_reserved_variables_include_what_the_runtime_sets() -> None:
    env = lambda_environment(FunctionConfig("f", "m.h"))
    runtime_set = {
        "_HANDLER",
        "AWS_REGION",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "LAMBDA_TASK_ROOT",
    }
    assert runtime_set <= set(env)
    assert runtime_set <= RESERVED_ENVIRONMENT_VARIABLES


def test_error_payload_shapes() -> None:
    error = FunctionError("PaymentDeclined", "card refused", ["  File ..."], request_id="r")
    assert error.payload() == {
        "errorType": "PaymentDeclined",
        "errorMessage": "card refused",
        "stackTrace": ["  File ..."],
    }
    assert FunctionError.from_payload(error.payload()).error_type == "PaymentDeclined"
    timeout = FunctionTimeout(3, request_id="r-1")
    assert timeout.error_type == "Sandbox.Timedout"
    assert timeout.error_message.endswith("Task timed out after 3.00 seconds")
    assert isinstance(timeout, FunctionError)


@pytest.mark.parametrize(
    ("returncode", "reason"),
    [
        (1, "Runtime exited with error: exit status 1"),
        (-signal.SIGKILL, "Runtime exited with error: signal: killed"),
        (-signal.SIGSEGV, "Runtime exited with error: signal: segmentation fault"),
        (0, "Runtime exited without providing a reason"),
    ],
)
def test_crash_is_worded_as_lambda_words_it(returncode: int, reason: str) -> None:
    error = WorkerCrashed(returncode, request_id="r-1")
    assert error.error_type == "Runtime.ExitError"
    assert error.error_message == f"RequestId: r-1 Error: {reason}"


# -- the runtime inside the worker ---------------------------------------------------------


def test_context_counts_down_to_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "f")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
    now_ms = int(time.time() * 1000)
    context = runtime.LambdaContext("id-1", "arn:aws:lambda:us-east-1:1:function:f", now_ms + 2500)
    assert 2000 < context.get_remaining_time_in_millis() <= 2500
    assert context.function_name == "f"
    assert context.memory_limit_in_mb == "256"  # a string, as awslambdaric has it
    past = runtime.LambdaContext("id-2", "arn:aws:lambda:us-east-1:1:function:f", now_ms - 10)
    assert past.get_remaining_time_in_millis() == 0


@pytest.mark.parametrize(
    ("spec", "error_type"),
    [
        ("nodots", "Runtime.MalformedHandlerName"),
        ("no_such_module_anywhere.handler", "Runtime.ImportModuleError"),
        ("json.no_such_handler", "Runtime.HandlerNotFound"),
    ],
)
def test_handler_faults_carry_the_runtime_error_types(spec: str, error_type: str) -> None:
    with pytest.raises(runtime.Fault) as raised:
        runtime.load_handler(spec)
    assert raised.value.error_type == error_type


def test_results_marshal_like_lambda() -> None:
    assert runtime.encode_result({"n": decimal.Decimal("2"), "x": decimal.Decimal("1.5")}) == {
        "n": 2,
        "x": 1.5,
    }
    with pytest.raises(runtime.Fault) as raised:
        runtime.encode_result({"when": object()})
    assert raised.value.error_type == "Runtime.MarshalError"


def test_error_payload_keeps_the_function_frames_only() -> None:
    def handler() -> None:
        raise KeyError("job_id")

    try:
        handler()
    except KeyError as error:
        payload = runtime.error_payload(error)
    assert payload["errorType"] == "KeyError"
    assert payload["errorMessage"] == "'job_id'"
    assert any("in handler" in frame for frame in payload["stackTrace"])

"""The inside of a local Lambda worker: import the handler once, then serve invocations.

`localcloud.lambda_workers` starts this file as a script, one process per warm
"container"::

    python -P -u lambda_worker_main.py --handler services.api.handler.handler \\
        --code-root /work/main --requests 5 --responses 6

It plays the part of the Lambda runtime (awslambdaric): the handler's module is imported
once (the cold start), then each request read from the `--requests` pipe is answered on
the `--responses` pipe, one JSON document a line::

    -> {"type": "ready", "initDurationMs": 412.0}
    <- {"type": "invoke", "id": 1, "requestId": "...", "deadlineMs": 1700000003000,
        "invokedFunctionArn": "arn:aws:lambda:...", "event": {...}}
    -> {"type": "result", "id": 1, "result": {...}}
    -> {"type": "error", "id": 1, "error": {"errorType": "ValueError", ...}}

stdout and stderr stay the function's own (its logs); the protocol has pipes of its own so
a stray ``print`` can never corrupt it. Only the standard library is imported here, so the
function's modules are the only non-stdlib code in the process, as in Lambda. An
exception that escapes the handler is answered as Lambda's error payload; anything that
ends the process (``sys.exit``, ``os._exit``, a signal) is left to end it: the parent
reports it as ``Runtime.ExitError`` and starts a fresh worker, as Lambda resets the
sandbox.
"""

from __future__ import annotations

import argparse
import decimal
import importlib
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from typing import IO, Any

Handler = Callable[[Any, Any], Any]


class Fault(Exception):
    """A runtime-level failure, reported with the runtime's own ``errorType``."""

    def __init__(self, error_type: str, message: str, stack: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.stack = list(stack)

    def payload(self) -> dict[str, Any]:
        return {
            "errorType": self.error_type,
            "errorMessage": self.message,
            "stackTrace": self.stack,
        }


class LambdaContext:
    """What the Python runtime passes as ``context``, built the way awslambdaric builds it.

    Names and values come from the environment the parent set (function name, memory,
    version, log group and stream), so ``memory_limit_in_mb`` is a string, as in AWS.

    >>> ctx = LambdaContext("id-1", "arn:aws:lambda:us-east-1:1:function:f", 0)
    >>> ctx.get_remaining_time_in_millis()
    0
    """

    def __init__(
        self,
        aws_request_id: str,
        invoked_function_arn: str,
        deadline_ms: int,
        client_context: Any = None,
        identity: Any = None,
    ) -> None:
        self.aws_request_id = aws_request_id
        self.invoked_function_arn = invoked_function_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.client_context = client_context
        self.identity = identity
        self.tenant_id = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the parent kills this process (never negative)."""
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def log(self, message: str) -> None:
        """Write to the function's log, like ``context.log`` in the Python runtime."""
        sys.stdout.write(message)
        sys.stdout.flush()

    def __repr__(self) -> str:
        return (
            f"LambdaContext(function_name={self.function_name!r}, "
            f"aws_request_id={self.aws_request_id!r})"
        )


def load_handler(spec: str) -> Handler:
    """Import ``module.function`` with the runtime's error types for what can go wrong.

    >>> load_handler("json.dumps") is json.dumps
    True
    >>> try:
    ...     load_handler("json.no_such_function")
    ... except Fault as fault:
    ...     print(fault.error_type)
    Runtime.HandlerNotFound
    """
    try:
        module_name, function_name = spec.rsplit(".", 1)
    except ValueError as error:
        raise Fault("Runtime.MalformedHandlerName", f"Bad handler '{spec}': {error}") from None
    module_name = module_name.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise Fault(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {error}"
        ) from None
    except SyntaxError as error:
        raise Fault(
            "Runtime.UserCodeSyntaxError",
            f"Syntax error in module '{module_name}': {error}",
            [f'  File "{error.filename}" Line {error.lineno}\n    {error.text}'],
        ) from None
    handler = getattr(module, function_name, None)
    if not callable(handler):
        raise Fault(
            "Runtime.HandlerNotFound",
            f"Handler '{function_name}' missing on module '{module_name}'",
        )
    return handler  # type: ignore[no-any-return]


def _runtime_frame(filename: str) -> bool:
    return (
        filename == __file__
        or filename == importlib.__file__
        or filename.startswith("<frozen importlib")
    )


def user_stack(error: BaseException) -> list[str]:
    """The traceback of `error` without this runtime's and the import system's frames.

    Lambda's ``stackTrace`` starts in the function's own code.
    """
    frames = traceback.extract_tb(error.__traceback__)
    return traceback.format_list([f for f in frames if not _runtime_frame(f.filename)])


def error_payload(error: BaseException) -> dict[str, Any]:
    """Lambda's payload for an exception: class name, message, the function's frames.

    >>> error_payload(KeyError("id"))
    {'errorType': 'KeyError', 'errorMessage': "'id'", 'stackTrace': []}
    """
    if isinstance(error, Fault):
        return error.payload()
    return {
        "errorType": type(error).__name__,
        "errorMessage": str(error),
        "stackTrace": user_stack(error),
    }


def _encode_default(value: Any) -> Any:
    # awslambdaric marshals Decimal (what boto3's DynamoDB resource returns) as a number.
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def encode_result(result: Any) -> Any:
    """The result as Lambda marshals it; one that does not marshal is a ``Runtime.MarshalError``."""
    try:
        return json.loads(json.dumps(result, default=_encode_default))
    except (TypeError, ValueError) as error:
        raise Fault("Runtime.MarshalError", f"Unable to marshal response: {error}") from None


def _send(stream: IO[bytes], message: dict[str, Any]) -> None:
    stream.write(json.dumps(message).encode() + b"\n")
    stream.flush()


def serve(handler: Handler, requests: IO[bytes], responses: IO[bytes]) -> None:
    """Answer invocations until the parent closes the request pipe."""
    for line in requests:
        request = json.loads(line)
        context = LambdaContext(
            request["requestId"],
            request["invokedFunctionArn"],
            request["deadlineMs"],
            request.get("clientContext"),
            request.get("identity"),
        )
        try:
            result = encode_result(handler(request["event"], context))
        except Exception as error:  # every exception is the function's error
            _send(responses, {"type": "error", "id": request["id"], "error": error_payload(error)})
        else:
            _send(responses, {"type": "result", "id": request["id"], "result": result})


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--handler", required=True)
    parser.add_argument("--code-root", required=True)
    parser.add_argument("--requests", type=int, required=True)
    parser.add_argument("--responses", type=int, required=True)
    args = parser.parse_args(argv)

    # The protocol pipes were inherited on purpose; the function's own subprocesses must
    # not inherit them, or a lingering grandchild would hold the answer pipe open.
    for fd in (args.requests, args.responses):
        os.set_inheritable(fd, False)
    requests = os.fdopen(args.requests, "rb")
    responses = os.fdopen(args.responses, "wb")
    # The code root is the function's /var/task: first on sys.path, and the working directory.
    sys.path.insert(0, args.code_root)

    started = time.perf_counter()
    try:
        handler = load_handler(args.handler)
    except Exception as error:  # an init error is reported, not raised
        # Anything but a runtime fault is reported as itself (errorType its class name).
        _send(responses, {"type": "init_error", "error": error_payload(error)})
        return 1
    init_ms = (time.perf_counter() - started) * 1000
    _send(responses, {"type": "ready", "initDurationMs": round(init_ms, 3)})
    serve(handler, requests, responses)
    return 0


if __name__ == "__main__":
    sys.exit(main())

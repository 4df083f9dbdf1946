"""A module whose import fails: the function's init error."""

from __future__ import annotations

import os

if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):  # always, in a worker
    raise RuntimeError("cannot connect at import time")


def handler(event: object, context: object) -> None:
    return None

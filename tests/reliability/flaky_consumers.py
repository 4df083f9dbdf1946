"""The decline and notify consumers with faults injected at random: Lambda handlers the
flaky cloud of test_flaky_consumers.py deploys in place of the real ones.

Each handler is the real one; in its worker process, the calls it makes downstream fail
at random with the probability written in ``$FAULT_DIR/share`` (read on every call, so a
test turns faults on and off while the cloud runs; no file means no faults):

- decline: each ``decline_if_pending`` write, before it is made (a throttled or failed
  DynamoDB call): a job's declines fail part-way through, some written, some not;
- notify: the SNS publish, before it is made; and the record after its notification was
  sent and recorded (the function dying between its work and its answer to SQS), which
  the retry must not turn into a second notification.

Every injected fault appends one line (its kind) to ``$FAULT_DIR/injected``.
"""

from __future__ import annotations

import functools
import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from services.common.dal.applications import ApplicationRepository
from services.decline_applications import handler as decline
from services.notify_accepted_applicant import handler as notify
from services.notify_accepted_applicant.sns_sender import SnsNotificationSender

DECLINE_WRITE = "decline-write"
PUBLISH = "publish"
AFTER_NOTIFY = "after-notify"


class InjectedFault(Exception):
    """A fault this module made up."""


def _fault_dir() -> Path:
    return Path(os.environ["FAULT_DIR"])


def _maybe_fail(kind: str) -> None:
    try:
        share = float((_fault_dir() / "share").read_text())
    except FileNotFoundError:
        return
    if random.random() < share:  # noqa: S311 - a fault's chance, not a secret
        with (_fault_dir() / "injected").open("a") as injected:
            injected.write(kind + "\n")
        raise InjectedFault(kind)


def _failing_before(kind: str, call: Callable[..., Any]) -> Callable[..., Any]:
    def failing(*args: Any, **kwargs: Any) -> Any:
        _maybe_fail(kind)
        return call(*args, **kwargs)

    return failing


def _failing_after(kind: str, call: Callable[..., Any]) -> Callable[..., Any]:
    def failing(*args: Any, **kwargs: Any) -> Any:
        result = call(*args, **kwargs)
        _maybe_fail(kind)
        return result

    return failing


@functools.cache
def _inject_faults() -> None:
    """Patch the calls to fail, in the Lambda worker's process only: done by the handlers'
    first call, never on import (test modules import this one for its names)."""
    ApplicationRepository.decline_if_pending = _failing_before(  # type: ignore[method-assign]
        DECLINE_WRITE, ApplicationRepository.decline_if_pending
    )
    SnsNotificationSender.send = _failing_before(PUBLISH, SnsNotificationSender.send)  # type: ignore[method-assign]
    notify.notify = _failing_after(AFTER_NOTIFY, notify.notify)


def decline_handler(event: dict[str, Any], context: Any) -> Any:
    _inject_faults()
    return decline.handler(event, context)


def notify_handler(event: dict[str, Any], context: Any) -> Any:
    _inject_faults()
    return notify.handler(event, context)

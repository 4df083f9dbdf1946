"""What a rule target receives: the event, or its ``Input``, ``InputPath`` or ``InputTransformer``.

EventBridge's rules (AWS "Transforming target input"), one option per target:

- none: the whole event as JSON;
- ``Input``: that constant JSON text, as given;
- ``InputPath``: the JSON value at a JSONPath of the event (``$.detail``);
- ``InputTransformer``: ``InputPathsMap`` and ``InputTemplate``, filled in by
  ``localcloud.input_template`` (shared with the pipe runner, so both fill templates alike),
  with ``<aws.events.rule-arn>``, ``<aws.events.rule-name>`` and
  ``<aws.events.event.ingestion-time>`` supplied here.

moto 5.2.5 gets this wrong for SQS targets (it ignores ``Input`` and ``InputPath``, does not
quote strings placed outside quotes and leaves falsy values unreplaced, then fails the whole
PutEvents with a 500), which is one reason the router delivers events itself.

Usage::

    text = render_target_input(target, event, rule_arn=arn, rule_name=name,
                               ingestion_time=time.time())
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from typing import Any

from localcloud.input_template import TemplateError, lookup, render_text

__all__ = ["TemplateError", "render_target_input"]


def render_target_input(
    target: Mapping[str, Any],
    event: Mapping[str, Any],
    *,
    rule_arn: str,
    rule_name: str,
    ingestion_time: float,
) -> str:
    """The text ``target`` (as ListTargetsByRule gives it) receives for ``event``.

    Raises:
        TemplateError: the InputPath or InputTransformer cannot be applied.
    """
    constant = target.get("Input")
    if constant is not None:
        return str(constant)
    input_path = target.get("InputPath")
    if input_path:
        found, value = lookup(event, str(input_path))
        return json.dumps(value) if found else "null"
    transformer = target.get("InputTransformer")
    if transformer:
        return render_text(
            str(transformer.get("InputTemplate", "")),
            event,
            input_paths=transformer.get("InputPathsMap") or {},
            context={
                "aws.events.rule-arn": rule_arn,
                "aws.events.rule-name": rule_name,
                "aws.events.event.ingestion-time": _iso(ingestion_time),
            },
        )
    return json.dumps(event)


def _iso(epoch_seconds: float) -> str:
    # The form AWS gives ingestion times: UTC with milliseconds.
    moment = datetime.datetime.fromtimestamp(epoch_seconds, tz=datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")

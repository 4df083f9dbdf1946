"""EventBridge input transformation: rule targets' ``InputTransformer``, pipes' ``InputTemplate``.

Both fill ``<placeholder>`` slots of a template from the event; they differ in how a
placeholder names its value. ``render`` picks the flavour from its arguments:

- **Rule ``InputTransformer``** (``input_paths`` given, even empty): a placeholder is a
  name from ``InputPathsMap`` (name -> JSONPath) or a predefined variable:
  ``<aws.events.rule-arn>``, ``<aws.events.rule-name>``, ``<aws.events.event.ingestion-time>``
  (supply them in ``context``; ingestion time defaults to the event's ``time``),
  ``<aws.events.event>`` and ``<aws.events.event.json>``. Any other ``<name>`` is an error,
  as ``PutTargets`` rejects it ("contains invalid placeholder").
- **Pipe ``InputTemplate``** (``input_paths`` omitted): a placeholder is a JSONPath itself,
  ``<$.dynamodb.NewImage.id.S>``, or a reserved variable: ``<aws.pipes.pipe-arn>``,
  ``<aws.pipes.pipe-name>``, ``<aws.pipes.source-arn>``, ``<aws.pipes.enrichment-arn>``,
  ``<aws.pipes.target-arn>`` (from ``context``), ``<aws.pipes.event.ingestion-time>`` (from
  ``context``, else now), ``<aws.pipes.event>`` and ``<aws.pipes.event.json>`` (the record).
  Other ``<...>`` text is left as it is.

Usage::

    from localcloud.input_template import render

    # A rule target: -> {"state": "RUNNING", "msg": "is RUNNING"}
    render('{"state": <state>, "msg": "is <state>"}', event,
           input_paths={"state": "$.detail.state"})
    # A pipe: -> {"jobId": "job-1", "pipe": "jobs"}
    render('{"jobId": "<$.dynamodb.NewImage.id.S>", "pipe": "<aws.pipes.pipe-name>"}', record,
           context={"aws.pipes.pipe-name": "jobs"})

Substitution, as AWS documents it ("Input transformation" for rules and for pipes):

- Inside a JSON string (``"state <state>"``) the value goes in as text: a string without
  its quotes, anything else as its compact JSON; escaped so that the string stays valid JSON.
- Outside strings, in a template that is JSON (starts with ``{`` or ``[``), the value goes
  in as JSON: objects, arrays, numbers, booleans and ``null`` as such, a string quoted.
- In a plain-text template (``<instance> is in state <status>``) the value goes in as text.
- A path that finds nothing gives an empty string: nothing inside a string, ``""`` outside
  one in a JSON template. (Observed AWS behaviour for rules, recorded in a public test
  snapshot against AWS; AWS documents only that such a variable "won't appear". Assumed the
  same for pipes.) A path that finds JSON ``null`` gives ``null``.

``render`` returns the parsed value when the result is JSON, else the text; ``render_text``
returns the exact text a target receives.

JSONPath subset (AWS supports only a subset too): ``$`` (the whole event), ``.name`` (letters,
digits and ``-``, ``_``, ``/``, ``:``, ``@``...), ``[0]`` (array index), ``['name']`` or
``["name"]`` (any name without quotes or brackets). Wildcards, ``..``, slices, unions, filters
and negative indices raise ``UnsupportedJsonPath``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

__all__ = [
    "EVENTBRIDGE_VARIABLES",
    "PIPES_VARIABLES",
    "TemplateError",
    "UnsupportedJsonPath",
    "lookup",
    "parse_json_path",
    "render",
    "render_text",
]

EVENTBRIDGE_VARIABLES: Final = frozenset(
    {
        "aws.events.rule-arn",
        "aws.events.rule-name",
        "aws.events.event.ingestion-time",
        "aws.events.event",
        "aws.events.event.json",
    }
)
PIPES_VARIABLES: Final = frozenset(
    {
        "aws.pipes.pipe-arn",
        "aws.pipes.pipe-name",
        "aws.pipes.source-arn",
        "aws.pipes.enrichment-arn",
        "aws.pipes.target-arn",
        "aws.pipes.event.ingestion-time",
        "aws.pipes.event",
        "aws.pipes.event.json",
    }
)
# InputPathsMap keys, per the EventBridge API reference.
_INPUT_PATH_NAME: Final = re.compile(r"[A-Za-z0-9_\-]+")
_MAX_INPUT_PATHS: Final = 100

# A rule template's placeholders: anything without spaces between angle brackets, so an
# unknown or misspelt name is reported rather than silently kept as text.
_RULE_PLACEHOLDER: Final = re.compile(r"<([^<>\s]+)>")
# A pipe template's placeholders: a JSONPath or a reserved variable.
_PIPE_PLACEHOLDER: Final = re.compile(r"<(\$[^<>]*|aws\.pipes\.[^<>\s]*)>")

_NAME_STEP: Final = re.compile(r"\.([^.\[\]\s'\"<>*]+)")
_INDEX_STEP: Final = re.compile(r"\[(\d+)\]")
_QUOTED_STEP: Final = re.compile(r"\[(?:'([^'\[\]]*)'|\"([^\"\[\]]*)\")\]")


class TemplateError(ValueError):
    """The template, its input paths or its context cannot be rendered."""


class UnsupportedJsonPath(TemplateError):
    """A JSONPath outside the supported subset (see the module docstring)."""


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Final = _Missing()


def parse_json_path(path: str) -> tuple[str | int, ...]:
    """The steps of ``path``: member names (str) and array indices (int).

    >>> parse_json_path("$.detail['instance-id'].tags[0]")
    ('detail', 'instance-id', 'tags', 0)
    """
    if not path.startswith("$"):
        raise UnsupportedJsonPath(f"JSONPath {path!r} must start with '$'")
    steps: list[str | int] = []
    position = 1
    while position < len(path):
        if step := _NAME_STEP.match(path, position):
            steps.append(step.group(1))
        elif step := _INDEX_STEP.match(path, position):
            steps.append(int(step.group(1)))
        elif step := _QUOTED_STEP.match(path, position):
            single, double = step.groups()
            steps.append(single if single is not None else double)
        else:
            raise UnsupportedJsonPath(
                f"JSONPath {path!r} is not supported at {path[position:]!r}: use $, .name, "
                "[index] or ['name'] (no wildcards, '..', slices, unions or filters)"
            )
        position = step.end()
    return tuple(steps)


def lookup(document: Any, path: str) -> tuple[bool, Any]:
    """``(True, value)`` for what ``path`` finds in ``document``, ``(False, None)`` if nothing.

    >>> lookup({"a": [{"b": None}]}, "$.a[0].b")
    (True, None)
    >>> lookup({"a": []}, "$.a[0]")
    (False, None)
    """
    value = _resolve(document, parse_json_path(path))
    return (False, None) if isinstance(value, _Missing) else (True, value)


def _resolve(document: Any, steps: tuple[str | int, ...]) -> Any:
    node = document
    for step in steps:
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                return _MISSING
            node = node[step]
        elif isinstance(node, Mapping) and step in node:
            node = node[step]
        else:
            return _MISSING
    return node


def render(
    template: str,
    event: Mapping[str, Any],
    *,
    input_paths: Mapping[str, str] | None = None,
    context: Mapping[str, str] | None = None,
) -> Any:
    """Fill ``template`` from ``event``; the parsed JSON value, or the text if it is not JSON.

    ``input_paths`` (a rule's ``InputPathsMap``) selects the rule flavour; without it the
    template is a pipe's. ``context`` supplies the reserved variables (rule or pipe ARN and
    name, ingestion time).

    >>> event = {"detail": {"instance-id": "i-1", "state": "RUNNING"}}
    >>> paths = {"instance": "$.detail.instance-id", "state": "$.detail.state"}
    >>> render('{"instance": <instance>, "text": "<instance> is <state>"}', event,
    ...        input_paths=paths)
    {'instance': 'i-1', 'text': 'i-1 is RUNNING'}
    >>> render("<instance> is in state <state>", event, input_paths=paths)
    'i-1 is in state RUNNING'
    >>> render('{"state": "<$.detail.state>", "all": <$.detail>}', event)
    {'state': 'RUNNING', 'all': {'instance-id': 'i-1', 'state': 'RUNNING'}}
    """
    text = render_text(template, event, input_paths=input_paths, context=context)
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        return text


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity; JSON does not, so such text stays text.
    raise ValueError(f"{name} is not JSON")


def render_text(
    template: str,
    event: Mapping[str, Any],
    *,
    input_paths: Mapping[str, str] | None = None,
    context: Mapping[str, str] | None = None,
) -> str:
    """Fill ``template`` from ``event`` and return the text exactly as the target gets it.

    >>> event = {"detail": {"state": 'a "b"'}}
    >>> print(render_text('"state <s>"', event, input_paths={"s": "$.detail.state"}))
    "state a \\"b\\""
    """
    context = context or {}
    if input_paths is not None:
        paths = _rule_paths(input_paths)
        placeholder = _RULE_PLACEHOLDER

        def value_of(name: str) -> Any:
            if name in paths:
                return _resolve(event, paths[name])
            if name in EVENTBRIDGE_VARIABLES:
                return _rule_variable(name, event, context)
            raise TemplateError(f"InputTemplate contains invalid placeholder {name}.")

    else:
        placeholder = _PIPE_PLACEHOLDER

        def value_of(name: str) -> Any:
            if name.startswith("$"):
                return _resolve(event, parse_json_path(name))
            if name in PIPES_VARIABLES:
                return _pipe_variable(name, event, context)
            raise TemplateError(f"InputTemplate contains unknown reserved variable <{name}>")

    is_json = template.lstrip()[:1] in ("{", "[")
    output: list[str] = []
    in_string = escaped = False
    position = 0
    while position < len(template):
        found = placeholder.match(template, position)
        if found:
            value = value_of(found.group(1))
            output.append(_substitute(value, in_string=in_string, is_json=is_json))
            position = found.end()
            continue
        char = template[position]
        # Track JSON string boundaries, so a placeholder knows whether it sits inside quotes.
        if escaped:
            escaped = False
        elif in_string and char == "\\":
            escaped = True
        elif char == '"':
            in_string = not in_string
        output.append(char)
        position += 1
    return "".join(output)


def _rule_paths(input_paths: Mapping[str, str]) -> dict[str, tuple[str | int, ...]]:
    if len(input_paths) > _MAX_INPUT_PATHS:
        raise TemplateError(f"InputPathsMap has more than {_MAX_INPUT_PATHS} entries")
    paths: dict[str, tuple[str | int, ...]] = {}
    for name, path in input_paths.items():
        if not _INPUT_PATH_NAME.fullmatch(name):
            raise TemplateError(f"InputPathsMap key {name!r} must match [A-Za-z0-9_-]+")
        if name.lower().startswith("aws"):
            raise TemplateError(f"InputPathsMap key {name!r}: names starting with AWS are reserved")
        paths[name] = parse_json_path(path)
    return paths


def _rule_variable(name: str, event: Mapping[str, Any], context: Mapping[str, str]) -> Any:
    if name in context:
        return context[name]
    if name == "aws.events.event.json":
        return dict(event)
    if name == "aws.events.event":
        # What AWS delivers (per a public test snapshot recorded against AWS), not quite "a
        # copy of the original event" as documented: the envelope without `detail`, with
        # `detail-type` renamed `detailType`.
        return {
            ("detailType" if key == "detail-type" else key): value
            for key, value in event.items()
            if key != "detail"
        }
    if name == "aws.events.event.ingestion-time":
        time = event.get("time")
        return time if isinstance(time, str) else _now()
    raise TemplateError(f"<{name}> has no value: pass it in context")


def _pipe_variable(name: str, event: Mapping[str, Any], context: Mapping[str, str]) -> Any:
    if name in context:
        return context[name]
    if name in ("aws.pipes.event", "aws.pipes.event.json"):
        return dict(event)
    if name == "aws.pipes.event.ingestion-time":
        return _now()
    raise TemplateError(f"<{name}> has no value: pass it in context")


def _now() -> str:
    # ISO 8601 in UTC with milliseconds, the form AWS uses for event times.
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _substitute(value: Any, *, in_string: bool, is_json: bool) -> str:
    if isinstance(value, _Missing):
        return '""' if is_json and not in_string else ""
    if in_string:
        text = value if isinstance(value, str) else _dumps(value)
        return json.dumps(text, ensure_ascii=False)[1:-1]  # escaped content, without quotes
    if is_json or not isinstance(value, str):
        return _dumps(value)
    return value


def _dumps(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_default)
    except (TypeError, ValueError) as error:
        raise TemplateError(f"cannot write {value!r} as JSON: {error}") from None


def _json_default(value: Any) -> Any:
    # DynamoDB's boto3 deserializer yields Decimal for numbers.
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON")

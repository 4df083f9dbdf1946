"""Just enough of the EventBridge Pipes data plane to test ``job_closed_pipe`` offline.

Two functions, each deliberately narrow, for contract tests that feed real DynamoDB
stream records through the pipe's filter and input template::

    if matches(FILTER_PATTERN, record):
        detail = JobClosed.model_validate_json(render_input_template(INPUT_TEMPLATE, record))

- ``matches`` implements EventBridge pattern matching for **exact values only**: nested
  objects, and arrays of allowed JSON scalars (a field matches when it equals one of them,
  or, for an array field, when one of its elements does). Content filters (``prefix``,
  ``anything-but``, ``numeric``, ``exists``, ...) raise ``UnsupportedPattern`` instead of
  being guessed at.
- ``render_input_template`` implements placeholder substitution: ``<$.a.b[0].c>`` JSON
  paths (dots and array indices, no wildcards) and the ``<aws.pipes.*>`` reserved
  variables the caller supplies. A placeholder inside a JSON string is replaced by the
  value as string content (escaped so the result stays valid JSON); outside a string by
  the value's JSON. A path that resolves to nothing becomes ``""`` inside a string and
  ``null`` outside: an assumption, AWS does not document it.

The local cloud's pipe runner (DESIGN.md section 7) needs the full rule language and
replaces neither function's narrowness with guesswork: it brings its own matcher.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["UnsupportedPattern", "matches", "render_input_template"]

_SCALARS = (str, int, float, bool, type(None))


class UnsupportedPattern(ValueError):
    """The pattern or template uses a feature this emulation does not implement."""


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """Whether ``event`` matches an exact-value EventBridge ``pattern``."""
    for name, expected in pattern.items():
        if name not in event:
            return False
        actual = event[name]
        if isinstance(expected, Mapping):
            if not isinstance(actual, Mapping) or not matches(expected, actual):
                return False
        elif isinstance(expected, list) and expected:
            allowed = [_exact(value) for value in expected]
            candidates = actual if isinstance(actual, list) else [actual]
            if not any(_equal(candidate, value) for candidate in candidates for value in allowed):
                return False
        else:
            raise UnsupportedPattern(f"{name}: a pattern leaf must be a non-empty array")
    return True


def _exact(value: Any) -> Any:
    if not isinstance(value, _SCALARS):
        raise UnsupportedPattern(f"content filter {value!r}: only exact values are supported")
    return value


def _equal(actual: Any, expected: Any) -> bool:
    # JSON equality: true is not 1, "1" is not 1 (Python's == says otherwise for the first).
    return type(actual) is type(expected) and bool(actual == expected)


_PLACEHOLDER = re.compile(r"<(\$[^<>\s]*|aws\.pipes\.[^<>\s]+)>")
_PATH = re.compile(r"(?:\.[A-Za-z0-9_\-/]+|\[\d+\])*")
_PATH_STEP = re.compile(r"\.([A-Za-z0-9_\-/]+)|\[(\d+)\]")
_MISSING = object()


def render_input_template(
    template: str, payload: Mapping[str, Any], reserved: Mapping[str, str] | None = None
) -> str:
    """Apply an input template to one (JSON-compatible) source record."""
    reserved = reserved or {}
    output: list[str] = []
    in_string = escaped = False
    position = 0
    while position < len(template):
        placeholder = _PLACEHOLDER.match(template, position)
        if placeholder:
            value = _resolve(placeholder.group(1), payload, reserved)
            output.append(_substitute(value, quoted=in_string))
            position = placeholder.end()
            continue
        char = template[position]
        if escaped:
            escaped = False
        elif char == "\\" and in_string:
            escaped = True
        elif char == '"':
            in_string = not in_string
        output.append(char)
        position += 1
    return "".join(output)


def _resolve(reference: str, payload: Mapping[str, Any], reserved: Mapping[str, str]) -> Any:
    if not reference.startswith("$"):
        if reference not in reserved:
            raise UnsupportedPattern(f"reserved variable <{reference}> was not supplied")
        return reserved[reference]
    if not _PATH.fullmatch(reference[1:]):
        raise UnsupportedPattern(f"<{reference}>: only dots and array indices are supported")
    node: Any = payload
    for name, index in _PATH_STEP.findall(reference[1:]):
        if name and isinstance(node, Mapping) and name in node:
            node = node[name]
        elif index and isinstance(node, list) and int(index) < len(node):
            node = node[int(index)]
        else:
            return _MISSING
    return node


def _substitute(value: Any, *, quoted: bool) -> str:
    if value is _MISSING:
        return "" if quoted else "null"
    if not quoted:
        return json.dumps(value)
    text = value if isinstance(value, str) else json.dumps(value)
    return json.dumps(text)[1:-1]  # the string's content, escaped, without its quotes

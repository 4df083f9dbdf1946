"""EventBridge event patterns: check them as ``PutRule`` does, match them as rules and pipes do.

The local cloud routes events on its bus (rules) and filters DynamoDB stream records in its
pipe runner (``FilterCriteria``) with this one module, so a pattern behaves the same in
both places and the same as in AWS.

Usage::

    from localcloud.event_pattern import EventPattern, matches, matches_any, validate

    validate({"detail": {"state": [{"prefix": 123}]}})  # raises InvalidEventPattern
    matches({"detail": {"state": [{"anything-but": "initializing"}]}}, event)  # -> bool

    rule = EventPattern({"source": ["booking"], "detail": {"amount": [{"numeric": [">", 0]}]}})
    targets = [target for event in events if rule.matches(event)]  # validate once, match many

    # Pipes: FilterCriteria.Filters[].Pattern are JSON strings; any filter may let a record in.
    matches_any([f["Pattern"] for f in filters], stream_record)

The language (AWS "Content filtering in Amazon EventBridge event patterns"):

- A pattern is a JSON object mirroring the event. A field holds either a nested object or a
  non-empty array of alternatives; the event must satisfy every field (AND) and, per field,
  one alternative (OR). ``"$or": [{...}, {...}]`` ORs whole sub-patterns at one level.
- An alternative is an exact JSON value (string, number, ``true``/``false``, ``null``) or a
  one-key match expression: ``prefix``/``suffix`` (a string, or ``{"equals-ignore-case": s}``),
  ``equals-ignore-case``, ``wildcard`` (``*``; ``\\*`` and ``\\\\`` escape), ``anything-but`` (a
  string or number, a list of only strings or only numbers, or one of ``{"prefix"|"suffix"|
  "equals-ignore-case"|"wildcard": string-or-list}``), ``numeric`` (``["<", 5]``, ``["=", 5]``,
  ``[">", 0, "<=", 5]``), ``exists`` (``true``/``false``) and ``cidr`` (IPv4 or IPv6).
- Values are compared as JSON: ``5`` equals ``5.0`` but not ``"5"``; ``true`` is not ``1``;
  ``null`` is not ``""``. String operators never match numbers, ``numeric`` never matches strings.
- An array in the event matches when one of its elements does; an object pattern over an array
  of objects must be satisfied by one element (array-consistent, as EventBridge does).
- ``exists`` looks at leaves only: a field whose value is an object, or an empty array, does not
  exist; a field whose value is ``null`` does. Operators other than ``exists: false`` need a
  leaf value, so a missing field fails ``anything-but`` too, while ``null`` passes it.

Deliberately not emulated: the wildcard "rule is too complex" limit, numeric precision limits
(six decimals, +/-5e9), and dotted keys standing for nesting (``{"a.b": [...]}``), which AWS
itself says not to rely on.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

__all__ = ["EventPattern", "InvalidEventPattern", "matches", "matches_any", "validate"]


class InvalidEventPattern(ValueError):
    """A pattern EventBridge would reject (``InvalidEventPatternException``).

    ``reason`` is worded as AWS words it; the message adds where in the pattern it was found.
    """

    def __init__(self, reason: str, where: str = "") -> None:
        self.reason = reason
        self.where = where
        location = f" (at {where})" if where else ""
        super().__init__(f"Event pattern is not valid. Reason: {reason}{location}")


class _Missing:
    """The value of a field the event does not have (distinct from JSON ``null``)."""

    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Final = _Missing()

_OPERATORS: Final = frozenset(
    {
        "prefix",
        "suffix",
        "equals-ignore-case",
        "wildcard",
        "anything-but",
        "numeric",
        "exists",
        "cidr",
    }
)
_ANYTHING_BUT_NESTED: Final = ("prefix", "suffix", "equals-ignore-case", "wildcard")
_NUMERIC_OPERATORS: Final = frozenset({"<", "<=", "=", ">", ">="})
_BAD_ANYTHING_BUT: Final = "Value of anything-but must be an array or single string/number value."


def _is_number(value: Any) -> bool:
    # bool is an int subclass in Python, but JSON true is not the number 1.
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _fold(text: str) -> str:
    # casefold, not lower: "Straße" and "STRASSE" are equal ignoring case.
    return text.casefold()


# --- matchers: one per alternative in a field's array -------------------------------------


class _Matcher:
    """One alternative of a leaf: decides for a single leaf value of the event."""

    def test(self, value: Any) -> bool:
        raise NotImplementedError


@dataclass(frozen=True)
class _Exact(_Matcher):
    expected: Any

    def test(self, value: Any) -> bool:
        return _json_equal(value, self.expected)


def _json_equal(value: Any, expected: Any) -> bool:
    if _is_number(expected):
        return _is_number(value) and bool(value == expected)
    return type(value) is type(expected) and bool(value == expected)


@dataclass(frozen=True)
class _Prefix(_Matcher):
    prefix: str
    ignore_case: bool

    def test(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        if self.ignore_case:
            return _fold(value).startswith(_fold(self.prefix))
        return value.startswith(self.prefix)


@dataclass(frozen=True)
class _Suffix(_Matcher):
    suffix: str
    ignore_case: bool

    def test(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        if self.ignore_case:
            return _fold(value).endswith(_fold(self.suffix))
        return value.endswith(self.suffix)


@dataclass(frozen=True)
class _EqualsIgnoreCase(_Matcher):
    expected: str

    def test(self, value: Any) -> bool:
        return isinstance(value, str) and _fold(value) == _fold(self.expected)


@dataclass(frozen=True)
class _Wildcard(_Matcher):
    regex: re.Pattern[str]

    def test(self, value: Any) -> bool:
        return isinstance(value, str) and self.regex.fullmatch(value) is not None


@dataclass(frozen=True)
class _Not(_Matcher):
    """``anything-but``: true for any leaf value none of the excluded matchers accepts.

    A value of another type than the excluded ones (a number against excluded strings, or
    ``null``) is "anything but" them, so it passes.
    """

    excluded: tuple[_Matcher, ...]

    def test(self, value: Any) -> bool:
        return not any(matcher.test(value) for matcher in self.excluded)


@dataclass(frozen=True)
class _Numeric(_Matcher):
    comparisons: tuple[tuple[str, int | float | Decimal], ...]

    def test(self, value: Any) -> bool:
        return _is_number(value) and all(
            _compare(value, operator, operand) for operator, operand in self.comparisons
        )


def _compare(value: Any, operator: str, operand: int | float | Decimal) -> bool:
    if operator == "<":
        return bool(value < operand)
    if operator == "<=":
        return bool(value <= operand)
    if operator == ">":
        return bool(value > operand)
    if operator == ">=":
        return bool(value >= operand)
    return bool(value == operand)


@dataclass(frozen=True)
class _Cidr(_Matcher):
    network: ipaddress.IPv4Network | ipaddress.IPv6Network

    def test(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return False
        return address.version == self.network.version and address in self.network


@dataclass(frozen=True)
class _Exists(_Matcher):
    present: bool

    def test(self, value: Any) -> bool:  # pragma: no cover - _Leaf decides exists itself
        return self.present


# --- compiled pattern tree ------------------------------------------------------------------


@dataclass(frozen=True)
class _Leaf:
    """A field's array of alternatives."""

    matchers: tuple[_Matcher, ...]

    def matches(self, values: list[Any]) -> bool:
        # `values` are the field's leaf values: [] when the field is missing, is an object,
        # or is an empty array (all "does not exist" for EventBridge).
        for matcher in self.matchers:
            if isinstance(matcher, _Exists):
                if matcher.present == bool(values):
                    return True
            elif any(matcher.test(value) for value in values):
                return True
        return False


@dataclass(frozen=True)
class _Object:
    """A (sub-)pattern object: every field must match, and one branch of every ``$or``."""

    fields: tuple[tuple[str, _Object | _Leaf], ...]
    alternatives: tuple[tuple[_Object, ...], ...]

    def matches(self, node: Any) -> bool:
        if isinstance(node, list):
            elements = _flatten(node)
            if elements:
                # Array consistency: the whole sub-pattern must hold within one element.
                return any(self.matches(element) for element in elements)
            node = _MISSING  # an empty array is an absent value
        for key, child in self.fields:
            value = node.get(key, _MISSING) if isinstance(node, Mapping) else _MISSING
            if isinstance(child, _Leaf):
                if not child.matches(_leaf_values(value)):
                    return False
            elif not child.matches(value):
                return False
        return all(any(branch.matches(node) for branch in group) for group in self.alternatives)


def _flatten(items: list[Any]) -> list[Any]:
    flat: list[Any] = []
    for item in items:
        if isinstance(item, list):
            flat.extend(_flatten(item))
        else:
            flat.append(item)
    return flat


def _leaf_values(node: Any) -> list[Any]:
    if isinstance(node, _Missing | Mapping):
        return []
    if isinstance(node, list):
        return [value for value in _flatten(node) if not isinstance(value, Mapping)]
    return [node]


# --- compiling (and so validating) ----------------------------------------------------------


def _compile_object(raw: Mapping[str, Any], where: str, for_pipes: bool) -> _Object:
    fields: list[tuple[str, _Object | _Leaf]] = []
    alternatives: list[tuple[_Object, ...]] = []
    for key, value in raw.items():
        if not isinstance(key, str):
            raise InvalidEventPattern("field names must be strings", where)
        path = f"{where}.{key}" if where else key
        if key == "$or" and _is_or(value, path):
            alternatives.append(
                tuple(
                    _compile_object(branch, f"{path}[{index}]", for_pipes)
                    for index, branch in enumerate(value)
                )
            )
        elif isinstance(value, Mapping):
            fields.append((key, _compile_object(value, path, for_pipes)))
        elif isinstance(value, list):
            if not value:
                raise InvalidEventPattern("Empty arrays are not allowed", path)
            fields.append(
                (key, _Leaf(tuple(_compile_alternative(v, path, for_pipes) for v in value)))
            )
        else:
            raise InvalidEventPattern(f'"{key}" must be an object or an array', path)
    return _Object(tuple(fields), tuple(alternatives))


def _is_or(value: Any, where: str) -> bool:
    # As EventBridge: "$or" is an operator only when it holds an array of objects; otherwise
    # it is an ordinary field name (kept for patterns written before "$or" existed).
    if not isinstance(value, list) or not value:
        return False
    if not all(isinstance(branch, Mapping) for branch in value):
        return False
    if any(key in _OPERATORS for branch in value for key in branch):
        return False  # [{"prefix": ...}]: match expressions, so "$or" is a field
    if len(value) < 2:
        raise InvalidEventPattern("$or needs at least two alternatives", where)
    return True


def _compile_alternative(value: Any, where: str, for_pipes: bool) -> _Matcher:
    if value is None or isinstance(value, str | bool) or _is_number(value):
        return _Exact(value)
    if not isinstance(value, Mapping):
        raise InvalidEventPattern("Match value must be String, number, true, false, or null", where)
    if len(value) != 1:
        raise InvalidEventPattern("Only one key allowed in match expression", where)
    ((operator, operand),) = value.items()
    if operator == "prefix":
        return _compile_affix(operand, where, suffix=False)
    if operator == "suffix":
        return _compile_affix(operand, where, suffix=True)
    if operator == "equals-ignore-case":
        if not isinstance(operand, str):
            raise InvalidEventPattern("equals-ignore-case match pattern must be a string", where)
        return _EqualsIgnoreCase(operand)
    if operator == "wildcard":
        if not isinstance(operand, str):
            raise InvalidEventPattern("wildcard match pattern must be a string", where)
        return _Wildcard(_wildcard_regex(operand, where))
    if operator == "anything-but":
        return _compile_anything_but(operand, where, for_pipes)
    if operator == "numeric":
        return _Numeric(_compile_numeric(operand, where))
    if operator == "exists":
        if not isinstance(operand, bool):
            raise InvalidEventPattern("exists match pattern must be either true or false.", where)
        return _Exists(operand)
    if operator == "cidr":
        return _Cidr(_compile_cidr(operand, where))
    # Operator names are case-sensitive: {"EXISTS": true} is rejected, not read as exists.
    raise InvalidEventPattern(f"Unrecognized match type {operator}", where)


def _compile_affix(operand: Any, where: str, *, suffix: bool) -> _Matcher:
    name = "suffix" if suffix else "prefix"
    ignore_case = False
    if isinstance(operand, Mapping) and len(operand) == 1 and "equals-ignore-case" in operand:
        operand = operand["equals-ignore-case"]
        ignore_case = True
    if not isinstance(operand, str):
        raise InvalidEventPattern(f"{name} match pattern must be a string", where)
    return _Suffix(operand, ignore_case) if suffix else _Prefix(operand, ignore_case)


def _compile_anything_but(operand: Any, where: str, for_pipes: bool) -> _Matcher:
    if isinstance(operand, str) or _is_number(operand):
        return _Not((_Exact(operand),))
    if isinstance(operand, list):
        if not operand or any(v is None or isinstance(v, bool | list | Mapping) for v in operand):
            raise InvalidEventPattern(
                "Inside anything but list, start|null|boolean is not supported.", where
            )
        strings = sum(isinstance(v, str) for v in operand)
        if strings not in (0, len(operand)):
            raise InvalidEventPattern(
                "Inside anything but list, either all values are number or string, "
                "mixed type is not supported",
                where,
            )
        return _Not(tuple(_Exact(v) for v in operand))
    if not isinstance(operand, Mapping):
        raise InvalidEventPattern(_BAD_ANYTHING_BUT, where)
    if len(operand) != 1:
        raise InvalidEventPattern("Only one key allowed in match expression", where)
    ((operator, inner),) = operand.items()
    if operator not in _ANYTHING_BUT_NESTED:
        raise InvalidEventPattern(f"Unsupported anything-but pattern: {operator}", where)
    if for_pipes:
        # AWS's operator table lists these four forms as event-bus only, not for pipes.
        raise InvalidEventPattern(
            f"anything-but with {operator} is not supported by EventBridge Pipes filters", where
        )
    if isinstance(inner, Mapping):
        raise InvalidEventPattern(_BAD_ANYTHING_BUT, where)
    values = inner if isinstance(inner, list) else [inner]
    if not values or not all(isinstance(v, str) for v in values):
        raise InvalidEventPattern(_ANYTHING_BUT_TYPE_ERRORS[operator], where)
    if operator in ("prefix", "suffix") and any(v == "" for v in values):
        raise InvalidEventPattern("Null prefix/suffix not allowed", where)
    excluded: list[_Matcher] = []
    for text in values:
        if operator == "prefix":
            excluded.append(_Prefix(text, ignore_case=False))
        elif operator == "suffix":
            excluded.append(_Suffix(text, ignore_case=False))
        elif operator == "equals-ignore-case":
            excluded.append(_EqualsIgnoreCase(text))
        else:
            excluded.append(_Wildcard(_wildcard_regex(text, where)))
    return _Not(tuple(excluded))


_ANYTHING_BUT_TYPE_ERRORS: Final = {
    "prefix": "prefix/suffix match pattern must be a string",
    "suffix": "prefix/suffix match pattern must be a string",
    "equals-ignore-case": (
        "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."
    ),
    "wildcard": "wildcard match pattern must be a string",
}


def _wildcard_regex(text: str, where: str) -> re.Pattern[str]:
    parts: list[str] = []
    position = 0
    previous_was_star = False
    while position < len(text):
        char = text[position]
        if char == "\\":
            escaped = text[position + 1 : position + 2]
            if escaped not in ("*", "\\"):
                raise InvalidEventPattern(
                    f"Invalid use of backslash escape character at pos {position}", where
                )
            parts.append(re.escape(escaped))
            position += 2
            previous_was_star = False
            continue
        if char == "*":
            if previous_was_star:
                raise InvalidEventPattern(
                    f"Consecutive wildcard characters at pos {position}", where
                )
            parts.append(".*")
            previous_was_star = True
        else:
            parts.append(re.escape(char))
            previous_was_star = False
        position += 1
    return re.compile("".join(parts), re.DOTALL)


def _compile_numeric(operand: Any, where: str) -> tuple[tuple[str, int | float | Decimal], ...]:
    # The grammar AWS accepts: OP N, or a range (">" | ">=") N ("<" | "<=") M with N < M.
    if not isinstance(operand, list):
        raise InvalidEventPattern("Value of numeric must be an array.", where)
    if not operand:
        raise InvalidEventPattern("Invalid member in numeric match: ]", where)
    first = operand[0]
    if not isinstance(first, str):
        raise InvalidEventPattern(f"Invalid member in numeric match: {first}", where)
    if first not in _NUMERIC_OPERATORS:
        raise InvalidEventPattern(f"Unrecognized numeric range operator: {first}", where)
    if len(operand) < 2 or not _is_number(operand[1]):
        name = "equals" if first == "=" else first
        raise InvalidEventPattern(f"Value of {name} must be numeric", where)
    comparisons: list[tuple[str, int | float | Decimal]] = [(first, operand[1])]
    if len(operand) == 2:
        return tuple(comparisons)
    if first not in (">", ">="):
        raise InvalidEventPattern("Too many elements in numeric expression", where)
    second = operand[2]
    if not isinstance(second, str):
        raise InvalidEventPattern(f"Bad value in numeric range: {second}", where)
    if second not in ("<", "<="):
        raise InvalidEventPattern(f"Bad numeric range operator: {second}", where)
    if len(operand) < 4 or not _is_number(operand[3]):
        raise InvalidEventPattern(f"Value of {second} must be numeric", where)
    if operand[3] <= operand[1]:
        raise InvalidEventPattern("Bottom must be less than top", where)
    if len(operand) > 4:
        raise InvalidEventPattern("Too many terms in numeric range expression", where)
    comparisons.append((second, operand[3]))
    return tuple(comparisons)


def _compile_cidr(operand: Any, where: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    if not isinstance(operand, str):
        # AWS words this error as for prefix: cidr is implemented as a prefix match there.
        raise InvalidEventPattern("prefix match pattern must be a string", where)
    if operand.count("/") != 1:
        raise InvalidEventPattern("Malformed CIDR, one '/' required", where)
    address, bits = operand.split("/")
    if not bits.isdigit():
        raise InvalidEventPattern("Malformed CIDR, mask bits must be an integer", where)
    try:
        # strict=False: "10.0.0.1/24" means 10.0.0.0/24, host bits are ignored.
        return ipaddress.ip_network(operand, strict=False)
    except ValueError:
        raise InvalidEventPattern(f"Nonstandard IP address: {address}", where) from None


def _load(pattern: Mapping[str, Any] | str) -> Mapping[str, Any]:
    if isinstance(pattern, str):
        try:
            loaded = json.loads(pattern)
        except json.JSONDecodeError as error:
            raise InvalidEventPattern(f"Filter is not valid JSON: {error}") from None
        pattern = loaded
    if not isinstance(pattern, Mapping):
        raise InvalidEventPattern("Filter is not an object")
    return pattern


# --- public API -----------------------------------------------------------------------------


class EventPattern:
    """A validated pattern, to match many events against.

    >>> rule = EventPattern('{"detail": {"state": [{"anything-but": "initializing"}]}}')
    >>> rule.matches({"detail": {"state": "running"}})
    True

    ``for_pipes=True`` also rejects what AWS documents as unsupported in Pipes filters.
    """

    def __init__(self, pattern: Mapping[str, Any] | str, *, for_pipes: bool = False) -> None:
        self.pattern: Mapping[str, Any] = _load(pattern)
        self._root = _compile_object(self.pattern, "", for_pipes)

    def matches(self, event: Any) -> bool:
        """Whether ``event`` (a decoded JSON object) matches. A non-object never does."""
        return isinstance(event, Mapping) and self._root.matches(event)

    def __repr__(self) -> str:
        return f"EventPattern({json.dumps(self.pattern, default=str)})"


def validate(pattern: Mapping[str, Any] | str, *, for_pipes: bool = False) -> None:
    """Raise ``InvalidEventPattern`` if EventBridge would reject ``pattern``.

    ``pattern`` is the decoded object or its JSON text (as ``PutRule``'s ``EventPattern``).

    >>> validate({"detail": {"count": [{"numeric": [">", 0, "<=", 5]}]}})
    >>> try:
    ...     validate({"count": [{"numeric": ["<", 5, ">", 0]}]})
    ... except InvalidEventPattern as error:
    ...     print(error.reason)
    Too many elements in numeric expression
    """
    EventPattern(pattern, for_pipes=for_pipes)


def matches(pattern: Mapping[str, Any] | str, event: Mapping[str, Any]) -> bool:
    """Whether ``event`` matches ``pattern`` (validated first, like ``TestEventPattern``).

    >>> matches({"detail": {"n": [5]}}, {"source": "booking", "detail": {"n": 5.0}})
    True
    """
    return EventPattern(pattern).matches(event)


def matches_any(filters: Sequence[str | Mapping[str, Any]], record: Any) -> bool:
    """Whether a Pipes (or Lambda event source mapping) filter lets ``record`` through.

    ``filters`` are ``FilterCriteria.Filters[].Pattern`` values (JSON text or decoded), or the
    ``{"Pattern": "..."}`` items themselves. A record passes if any filter matches it, and
    every record passes when there are no filters. Records are matched as delivered: a
    DynamoDB stream record keeps its ``{"S": ...}`` attribute values. Filters are validated
    as Pipes filters on every call; for many records, build ``EventPattern(p, for_pipes=True)``
    once per filter instead.

    >>> matches_any(['{"eventName": ["MODIFY"]}'], {"eventName": "MODIFY", "dynamodb": {}})
    True
    >>> matches_any([], {"anything": 1})
    True
    """
    if not filters:
        return True
    patterns = [EventPattern(_pattern_of(item), for_pipes=True) for item in filters]
    return any(pattern.matches(record) for pattern in patterns)


def _pattern_of(item: str | Mapping[str, Any]) -> Mapping[str, Any] | str:
    if isinstance(item, Mapping) and set(item) == {"Pattern"} and isinstance(item["Pattern"], str):
        return item["Pattern"]
    return item

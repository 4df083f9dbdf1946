"""AppSync's built-in scalars and directives, which its SDL uses without declaring them.

AppSync accepts a schema that names `AWSDate`, `@aws_api_key`, ... without declarations;
graphql-core refuses undeclared names. `with_appsync_prelude` adds the declarations the
document lacks, and `install_aws_scalars` gives the declared scalars AppSync's validation
and serialization, as its scalar reference describes them (extended ISO 8601 dates and
times with optional offsets, RFC 822 e-mail, RFC 1738 URL, NANP or international phone
numbers, epoch seconds, JSON strings loaded into values, IPv4/IPv6 addresses).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import urlsplit

from graphql import (
    DirectiveDefinitionNode,
    GraphQLError,
    GraphQLScalarType,
    GraphQLSchema,
    IntValueNode,
    ScalarTypeDefinitionNode,
    StringValueNode,
    ValueNode,
    parse,
    print_ast,
)

__all__ = [
    "APPSYNC_DIRECTIVES",
    "AWS_SCALARS",
    "install_aws_scalars",
    "with_appsync_prelude",
]

# AppSync's authorization and subscription directives, declared so graphql-core can build
# the schema. Only their presence and `cognito_groups` matter to the emulator.
APPSYNC_DIRECTIVES: Final[dict[str, str]] = {
    "aws_api_key": "directive @aws_api_key on OBJECT | FIELD_DEFINITION",
    "aws_iam": "directive @aws_iam on OBJECT | FIELD_DEFINITION",
    "aws_oidc": "directive @aws_oidc on OBJECT | FIELD_DEFINITION",
    "aws_lambda": "directive @aws_lambda on OBJECT | FIELD_DEFINITION",
    "aws_cognito_user_pools": (
        "directive @aws_cognito_user_pools(cognito_groups: [String]) on OBJECT | FIELD_DEFINITION"
    ),
    "aws_auth": "directive @aws_auth(cognito_groups: [String]) on OBJECT | FIELD_DEFINITION",
    "aws_subscribe": "directive @aws_subscribe(mutations: [String]) on FIELD_DEFINITION",
}

# --- date and time -----------------------------------------------------------------------

# AppSync: an offset is `Z` or `±hh:mm`, optionally `:ss` (not ISO 8601, but accepted);
# the colon is required (AppSync rejects `+0530`).
_OFFSET = r"(?P<offset>Z|[+-](?P<oh>\d{2}):(?P<om>\d{2})(?::(?P<os>\d{2}))?)"
_DATE = r"(?P<year>-?\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
# Seconds are optional, and a fraction (1 to 9 digits, "nanoseconds") needs seconds.
_TIME = r"(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.\d{1,9})?)?"

_DATE_RE = re.compile(rf"{_DATE}{_OFFSET}?")
_TIME_RE = re.compile(rf"{_TIME}{_OFFSET}?")
# AWSDateTime is the one of the three whose offset is compulsory.
_DATETIME_RE = re.compile(rf"{_DATE}T{_TIME}{_OFFSET}")


def _check_offset(match: re.Match[str]) -> bool:
    if match.group("offset") in (None, "Z"):
        return True
    hours, minutes = int(match.group("oh")), int(match.group("om"))
    seconds = int(match.group("os") or 0)
    return hours <= 23 and minutes <= 59 and seconds <= 59


def _check_date(match: re.Match[str]) -> bool:
    year, month, day = int(match.group("year")), int(match.group("month")), int(match.group("day"))
    # Python's date has no year 0 or negative years; AppSync allows them, so check the
    # month and day against a leap year (2000), the most permissive calendar year.
    try:
        dt.date(year if 1 <= year <= 9999 else 2000, month, day)
    except ValueError:
        return False
    return True


def _check_time(match: re.Match[str]) -> bool:
    hour, minute = int(match.group("hour")), int(match.group("minute"))
    second = int(match.group("second") or 0)
    return hour <= 23 and minute <= 59 and second <= 59


def _valid_date(value: str) -> bool:
    match = _DATE_RE.fullmatch(value)
    return bool(match and _check_date(match) and _check_offset(match))


def _valid_time(value: str) -> bool:
    match = _TIME_RE.fullmatch(value)
    return bool(match and _check_time(match) and _check_offset(match))


def _valid_datetime(value: str) -> bool:
    match = _DATETIME_RE.fullmatch(value)
    return bool(match and _check_date(match) and _check_time(match) and _check_offset(match))


def _date_out(value: Any) -> Any:
    # Resolvers may hand back date objects; AppSync would see their JSON string form.
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def _time_out(value: Any) -> Any:
    if isinstance(value, dt.time):
        return value.isoformat().replace("+00:00", "Z")
    return value


def _datetime_out(value: Any) -> Any:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.isoformat().replace("+00:00", "Z")
    return value


# --- other string scalars ----------------------------------------------------------------

# RFC 822's addr-spec in its common dot-atom form: local-part@domain.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL_RE = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})*")


def _valid_email(value: str) -> bool:
    return len(value) <= 254 and _EMAIL_RE.fullmatch(value) is not None


_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")


def _valid_url(value: str) -> bool:
    # AppSync: a URL must have a scheme (http, mailto, ...) and no `//` in its path.
    if any(ch.isspace() for ch in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    if not parts.scheme or not _SCHEME_RE.fullmatch(parts.scheme):
        return False
    if "//" in parts.path:
        return False
    if value[len(parts.scheme) + 1 :].startswith("//"):
        return bool(parts.hostname)  # hierarchical (http://...) needs a host
    return bool(parts.path)  # opaque (mailto:..., urn:...) needs something after ':'


_PHONE_RE = re.compile(r"\+?\d+(?:[ -]\d+)*")


def _valid_phone(value: str) -> bool:
    # AppSync: digit groups separated by spaces or hyphens; without a country code the
    # number is taken as a US/North American (NANP) one.
    if _PHONE_RE.fullmatch(value) is None:
        return False
    digits = re.sub(r"\D", "", value)
    if value.startswith("+"):
        return 7 <= len(digits) <= 15 and digits[0] != "0"  # E.164 length, no 0 country code
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    # NANP: NXX-NXX-XXXX, area code and exchange do not start with 0 or 1.
    return len(digits) == 10 and digits[0] in "23456789" and digits[3] in "23456789"


def _valid_ip(value: str) -> bool:
    try:
        ipaddress.ip_interface(value)  # an address, optionally with a CIDR prefix
    except ValueError:
        return False
    return True


# --- scalar construction -----------------------------------------------------------------


def _string_scalar(
    name: str,
    valid: Callable[[str], bool],
    description: str,
    to_output: Callable[[Any], Any] = lambda value: value,
) -> GraphQLScalarType:
    """A scalar carried as a JSON string that must pass `valid` both ways."""

    def check(value: Any, direction: str) -> str:
        if not isinstance(value, str) or not valid(value):
            raise GraphQLError(
                f"Can't {direction} value as {name}: {value!r} is not a valid {name}."
            )
        return value

    def serialize(value: Any) -> str:
        return check(to_output(value), "serialize")

    def parse_value(value: Any) -> str:
        return check(value, "parse")

    def parse_literal(node: ValueNode, _variables: Any = None) -> str:
        if not isinstance(node, StringValueNode):
            raise GraphQLError(f"{name} must be a string, got {print_ast(node)}.", node)
        return check(node.value, "parse")

    return GraphQLScalarType(
        name,
        serialize=serialize,
        parse_value=parse_value,
        parse_literal=parse_literal,
        description=description,
    )


def _timestamp_scalar() -> GraphQLScalarType:
    def to_int(value: Any, direction: str) -> int:
        # bool is an int subclass in Python but not a number in JSON.
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer() and direction == "serialize":
                return int(value)
            raise GraphQLError(
                f"Can't {direction} value as AWSTimestamp: {value!r} is not an integer number "
                "of seconds."
            )
        return value

    def parse_literal(node: ValueNode, _variables: Any = None) -> int:
        if not isinstance(node, IntValueNode):
            raise GraphQLError(f"AWSTimestamp must be an integer, got {print_ast(node)}.", node)
        return int(node.value)

    return GraphQLScalarType(
        "AWSTimestamp",
        serialize=lambda value: to_int(value, "serialize"),
        parse_value=lambda value: to_int(value, "parse"),
        parse_literal=parse_literal,
        description="Seconds before or after 1970-01-01T00:00Z.",
    )


def _json_scalar() -> GraphQLScalarType:
    # AppSync loads an AWSJSON input into maps, lists or scalars before the resolver sees
    # it, and writes a resolver's value back out as a JSON string.
    def load(value: Any) -> Any:
        if not isinstance(value, str):
            raise GraphQLError(f"AWSJSON must be a JSON string, got {value!r}.")
        try:
            return json.loads(value)
        except ValueError as error:
            raise GraphQLError(f"AWSJSON value is not valid JSON: {error}.") from None

    def serialize(value: Any) -> str:
        if isinstance(value, str):
            try:
                json.loads(value)
            except ValueError:
                return json.dumps(value)
            return value  # already JSON text
        try:
            return json.dumps(value, separators=(",", ":"))
        except (TypeError, ValueError) as error:
            raise GraphQLError(f"Can't serialize value as AWSJSON: {error}.") from None

    def parse_literal(node: ValueNode, _variables: Any = None) -> Any:
        if not isinstance(node, StringValueNode):
            raise GraphQLError(f"AWSJSON must be a JSON string, got {print_ast(node)}.", node)
        return load(node.value)

    return GraphQLScalarType(
        "AWSJSON",
        serialize=serialize,
        parse_value=load,
        parse_literal=parse_literal,
        description="A JSON string, loaded into a value for resolvers.",
    )


def _build_scalars() -> dict[str, GraphQLScalarType]:
    scalars = [
        _string_scalar(
            "AWSDate", _valid_date, "Extended ISO 8601 date YYYY-MM-DD[offset].", _date_out
        ),
        _string_scalar(
            "AWSTime", _valid_time, "Extended ISO 8601 time hh:mm[:ss[.sss]][offset].", _time_out
        ),
        _string_scalar(
            "AWSDateTime",
            _valid_datetime,
            "Extended ISO 8601 date and time with a compulsory offset.",
            _datetime_out,
        ),
        _string_scalar("AWSEmail", _valid_email, "An e-mail address local-part@domain (RFC 822)."),
        _string_scalar("AWSURL", _valid_url, "A URL with a scheme (RFC 1738)."),
        _string_scalar("AWSPhone", _valid_phone, "A phone number; NANP without a country code."),
        _string_scalar("AWSIPAddress", _valid_ip, "An IPv4 or IPv6 address, optionally CIDR."),
        _timestamp_scalar(),
        _json_scalar(),
    ]
    return {scalar.name: scalar for scalar in scalars}


AWS_SCALARS: Final[dict[str, GraphQLScalarType]] = _build_scalars()

# Everything graphql-core reads from a scalar when coercing or serializing; copied from our
# implementation onto the scalar that build_schema created, so every reference to the
# type inside the schema sees the AppSync behaviour.
_SCALAR_BEHAVIOUR = (
    "serialize",
    "parse_value",
    "parse_literal",
    "coerce_output_value",
    "coerce_input_value",
    "coerce_input_literal",
    "value_to_literal",
)


def with_appsync_prelude(sdl: str) -> str:
    """`sdl` preceded by declarations of the AWS scalars and AppSync directives it lacks."""
    document = parse(sdl)
    declared_scalars = {
        node.name.value
        for node in document.definitions
        if isinstance(node, ScalarTypeDefinitionNode)
    }
    declared_directives = {
        node.name.value
        for node in document.definitions
        if isinstance(node, DirectiveDefinitionNode)
    }
    prelude = [f"scalar {name}" for name in AWS_SCALARS if name not in declared_scalars]
    prelude += [
        declaration
        for name, declaration in APPSYNC_DIRECTIVES.items()
        if name not in declared_directives
    ]
    return "\n".join([*prelude, sdl])


def install_aws_scalars(schema: GraphQLSchema) -> None:
    """Give the schema's AWS scalars AppSync's validation and serialization, in place."""
    for name, implementation in AWS_SCALARS.items():
        built = schema.type_map.get(name)
        if not isinstance(built, GraphQLScalarType):
            continue
        for attribute in _SCALAR_BEHAVIOUR:
            setattr(built, attribute, getattr(implementation, attribute))
        built.description = built.description or implementation.description

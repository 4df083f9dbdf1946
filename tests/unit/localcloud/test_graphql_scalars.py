"""AppSync's AWS scalars: what each accepts and refuses, in and out, as its docs describe."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from graphql import GraphQLError, GraphQLScalarType, parse_value

from localcloud.appsync.scalars import with_appsync_prelude
from localcloud.graphql_endpoint import build_appsync_schema
from stacks.constants import SCHEMA_FILE

SCHEMA = build_appsync_schema("type Query { ok: String }")


def scalar(name: str) -> GraphQLScalarType:
    type_ = SCHEMA.type_map[name]
    assert isinstance(type_, GraphQLScalarType)
    return type_


VALID = [
    ("AWSDate", "2024-02-29"),
    ("AWSDate", "1970-01-01Z"),
    ("AWSDate", "1970-01-01-07:00"),
    ("AWSDate", "1970-01-01+05:30"),
    ("AWSDate", "1970-01-01+05:30:15"),  # seconds in the offset: AppSync accepts them
    ("AWSTime", "12:30"),
    ("AWSTime", "12:30:24"),
    ("AWSTime", "12:30:24.5"),
    ("AWSTime", "12:30:24.123456789"),
    ("AWSTime", "12:30Z"),
    ("AWSTime", "23:59:59.999+05:30"),
    ("AWSDateTime", "2024-01-01T12:00Z"),
    ("AWSDateTime", "2024-01-01T12:00:00.000Z"),
    ("AWSDateTime", "2024-01-01T12:00:00+05:30"),
    ("AWSDateTime", "1970-01-01T00:00:00.123456789-07:00:00"),
    ("AWSEmail", "ann@example.com"),
    ("AWSEmail", "ann.b+tag@mail.example.co.uk"),
    ("AWSEmail", "root@localhost"),
    ("AWSURL", "https://www.amazon.com/dp/B000NZW3KC/"),
    ("AWSURL", "mailto:example@example.com"),
    ("AWSURL", "http://127.0.0.1:4000/graphql?x=1#top"),
    ("AWSPhone", "+1 206 555 0100"),
    ("AWSPhone", "206-555-0100"),
    ("AWSPhone", "2065550100"),
    ("AWSPhone", "1 206 555 0100"),
    ("AWSPhone", "+44 20 7946 0958"),
    ("AWSPhone", "+33-1-23-45-67-89"),
    ("AWSIPAddress", "127.0.0.1"),
    ("AWSIPAddress", "10.0.0.0/8"),
    ("AWSIPAddress", "::1"),
    ("AWSIPAddress", "2001:db8::/32"),
]

INVALID = [
    ("AWSDate", "2023-02-29"),  # not a leap year
    ("AWSDate", "2024-13-01"),
    ("AWSDate", "2024-01-32"),
    ("AWSDate", "2024-1-01"),
    ("AWSDate", "20240101"),
    ("AWSDate", "1970-01-01+0530"),  # AppSync wants the colon
    ("AWSDate", "2024-01-01T00:00Z"),
    ("AWSDate", ""),
    ("AWSTime", "24:00"),
    ("AWSTime", "12:60"),
    ("AWSTime", "12:30:60"),
    ("AWSTime", "12:30.5"),  # a fraction needs seconds
    ("AWSTime", "1230"),
    ("AWSTime", "12:30:24.1234567890"),  # ten fraction digits
    ("AWSTime", "12:30:24+0700"),
    ("AWSDateTime", "2024-01-01T12:00:00"),  # the offset is compulsory
    ("AWSDateTime", "2024-01-01 12:00:00Z"),
    ("AWSDateTime", "2024-01-01"),
    ("AWSDateTime", "2024-02-30T00:00Z"),
    ("AWSEmail", "ann"),
    ("AWSEmail", "ann@"),
    ("AWSEmail", "@example.com"),
    ("AWSEmail", "ann@@example.com"),
    ("AWSEmail", "ann @example.com"),
    ("AWSEmail", "ann@-example.com"),
    ("AWSURL", "www.amazon.com"),
    ("AWSURL", "https://"),
    ("AWSURL", "https://example.com//double"),  # AppSync: no // in the path
    ("AWSURL", "not a url"),
    ("AWSURL", "/relative/path"),
    ("AWSPhone", "555-0100"),
    ("AWSPhone", "+0 123 4567"),
    ("AWSPhone", "(206) 555-0100"),
    ("AWSPhone", "206--555-0100"),
    ("AWSPhone", "123-555-0100"),  # NANP area codes do not start with 1
    ("AWSPhone", "+1234567890123456"),  # longer than E.164
    ("AWSPhone", "phone"),
    ("AWSIPAddress", "256.0.0.1"),
    ("AWSIPAddress", "1.2.3"),
    ("AWSIPAddress", "example.com"),
]


@pytest.mark.parametrize(("name", "value"), VALID)
def test_accepts_valid_values_from_variables_literals_and_resolvers(name: str, value: str) -> None:
    type_ = scalar(name)
    assert type_.parse_value(value) == value
    assert type_.parse_literal(parse_value(f'"{value}"')) == value
    assert type_.serialize(value) == value


@pytest.mark.parametrize(("name", "value"), INVALID)
def test_refuses_invalid_values_in_and_out(name: str, value: str) -> None:
    type_ = scalar(name)
    with pytest.raises(GraphQLError, match=name):
        type_.parse_value(value)
    with pytest.raises(GraphQLError, match=name):
        type_.parse_literal(parse_value(f'"{value}"'))
    with pytest.raises(GraphQLError, match=name):
        type_.serialize(value)


@pytest.mark.parametrize("name", ["AWSDate", "AWSEmail", "AWSURL", "AWSPhone", "AWSDateTime"])
def test_string_scalars_refuse_non_string_literals_and_values(name: str) -> None:
    with pytest.raises(GraphQLError):
        scalar(name).parse_literal(parse_value("20240101"))
    with pytest.raises(GraphQLError):
        scalar(name).parse_value(20240101)


@pytest.mark.parametrize("value", [0, -1, 1_700_000_000, 2**40])
def test_timestamp_is_an_integer_number_of_seconds(value: int) -> None:
    type_ = scalar("AWSTimestamp")
    assert type_.parse_value(value) == value
    assert type_.parse_literal(parse_value(str(value))) == value
    assert type_.serialize(value) == value


@pytest.mark.parametrize("value", ["1700000000", 1.5, True, None])
def test_timestamp_refuses_anything_else(value: Any) -> None:
    with pytest.raises(GraphQLError, match="AWSTimestamp"):
        scalar("AWSTimestamp").parse_value(value)


def test_timestamp_serializes_integral_floats_and_refuses_string_literals() -> None:
    assert scalar("AWSTimestamp").serialize(1_700_000_000.0) == 1_700_000_000
    with pytest.raises(GraphQLError):
        scalar("AWSTimestamp").parse_literal(parse_value('"1700000000"'))


def test_json_input_is_loaded_into_values_for_resolvers() -> None:
    type_ = scalar("AWSJSON")
    assert type_.parse_literal(parse_value(r'"{\"a\": [1, 2]}"')) == {"a": [1, 2]}
    assert type_.parse_value('"text"') == "text"
    assert type_.parse_value("[1, null]") == [1, None]


@pytest.mark.parametrize("literal", [r'"{a: 1}"', "{a: 1}", "42"])
def test_json_input_must_be_a_string_holding_valid_json(literal: str) -> None:
    with pytest.raises(GraphQLError, match="AWSJSON"):
        scalar("AWSJSON").parse_literal(parse_value(literal))


def test_json_output_is_a_json_string() -> None:
    type_ = scalar("AWSJSON")
    assert type_.serialize({"a": 1}) == '{"a":1}'
    assert type_.serialize('{"already": "json"}') == '{"already": "json"}'
    assert type_.serialize("plain text") == '"plain text"'


def test_date_and_time_objects_from_resolvers_serialize_in_iso_form() -> None:
    assert scalar("AWSDate").serialize(dt.date(2024, 5, 1)) == "2024-05-01"
    assert scalar("AWSTime").serialize(dt.time(9, 30)) == "09:30:00"
    moment = dt.datetime(2024, 5, 1, 9, 30, tzinfo=dt.UTC)
    assert scalar("AWSDateTime").serialize(moment) == "2024-05-01T09:30:00Z"
    with pytest.raises(GraphQLError):  # a naive datetime has no offset
        scalar("AWSDateTime").serialize(dt.datetime(2024, 5, 1, 9, 30))


def test_prelude_declares_only_what_the_document_lacks() -> None:
    sdl = (
        "scalar AWSDate\n"
        "directive @aws_api_key on OBJECT | FIELD_DEFINITION\n"
        "type Query { d: AWSDate }"
    )
    prelude = with_appsync_prelude(sdl)
    assert len(re.findall(r"scalar AWSDate\b", prelude)) == 1
    assert prelude.count("directive @aws_api_key") == 1
    assert "scalar AWSEmail" in prelude
    assert "directive @aws_cognito_user_pools(cognito_groups: [String])" in prelude
    # And the result builds, with AppSync's AWSDate behaviour on the declared scalar.
    declared = build_appsync_schema(sdl).type_map["AWSDate"]
    assert isinstance(declared, GraphQLScalarType)
    with pytest.raises(GraphQLError):
        declared.parse_value("2024-02-30")


def test_the_project_schema_builds_with_every_scalar_it_uses_implemented() -> None:
    schema = build_appsync_schema(SCHEMA_FILE.read_text())
    for name in ("AWSDate", "AWSTime", "AWSDateTime", "AWSEmail", "AWSURL", "AWSPhone"):
        type_ = schema.type_map[name]
        assert isinstance(type_, GraphQLScalarType)
        with pytest.raises(GraphQLError):
            type_.parse_value("definitely not valid")

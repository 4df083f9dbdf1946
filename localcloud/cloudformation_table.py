"""Create a DynamoDB table from an `AWS::DynamoDB::Table` resource of a CloudFormation template.

    resource = template["Resources"]["BookingsTable1A2B3C4D"]
    notes = ensure_table(ddb.client(), resource["Properties"], "bookings")

The properties come from a synthesized template, so values the conversion does not use may
still be unresolved intrinsics (`{"Ref": ...}`, `{"Fn::GetAtt": ...}`): those are fine. Every
value that is used must be a literal, or `UnresolvedIntrinsicError` says which one is not.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import ClientError

__all__ = [
    "TableConversionError",
    "TableMismatchError",
    "UnresolvedIntrinsicError",
    "create_table_request",
    "ensure_table",
    "time_to_live_request",
]

_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")

# Properties DynamoDB Local cannot apply, and why: they become notes, never silent drops.
_NOT_APPLIED = {
    "SSESpecification": "not applied: DynamoDB Local does not emulate encryption at rest "
    "(any KMS key is ignored)",
    "PointInTimeRecoverySpecification": "not applied: DynamoDB Local has no continuous "
    "backups or point-in-time recovery",
    "ContributorInsightsSpecification": "not applied: DynamoDB Local has no Contributor Insights",
    "KinesisStreamSpecification": "not applied: no Kinesis data stream receives the changes "
    "locally (the DynamoDB stream, if specified, does)",
    "ResourcePolicy": "not applied: DynamoDB Local does not evaluate IAM or resource policies",
    "Tags": "not applied: DynamoDB Local does not support tagging",
    "ImportSourceSpecification": "not applied: the table is created empty, nothing is "
    "imported from S3",
    "WarmThroughput": "not applied: DynamoDB Local has no throughput limits to pre-warm",
}

_NOT_ENFORCED = "passed on, but not enforced: DynamoDB Local never throttles"


class TableConversionError(ValueError):
    """The resource's properties cannot be turned into a CreateTable request."""


class UnresolvedIntrinsicError(TableConversionError):
    """A value the conversion needs is still a CloudFormation intrinsic function."""


class TableMismatchError(RuntimeError):
    """A table of that name exists with a different key schema than the template's."""


def create_table_request(
    properties: Mapping[str, Any], table_name: str
) -> tuple[dict[str, Any], list[str]]:
    """Convert a table resource's `Properties` into boto3 `create_table` kwargs.

    Returns the kwargs and human-readable notes about properties that are not emulated
    locally, applied differently (TimeToLiveSpecification: see `time_to_live_request`),
    or not recognised.

    Raises:
        UnresolvedIntrinsicError: a used value is an intrinsic function.
        TableConversionError: a required property is missing or malformed.
    """
    if not _TABLE_NAME.fullmatch(table_name):
        raise TableConversionError(
            f"Invalid table name {table_name!r}: 3 to 255 characters from a-z, A-Z, 0-9, "
            "'_', '-' and '.' (DynamoDB rejects anything else)"
        )
    props = _mapping(properties, "Properties")
    notes: list[str] = []
    request: dict[str, Any] = {
        "TableName": table_name,
        "KeySchema": _key_schema(_required(props, "KeySchema", "Properties"), "KeySchema"),
        "AttributeDefinitions": _attribute_definitions(
            _required(props, "AttributeDefinitions", "Properties"), "AttributeDefinitions"
        ),
        # CloudFormation's default, like the API's.
        "BillingMode": _str(props.get("BillingMode", "PROVISIONED"), "BillingMode"),
    }

    for name, value in props.items():
        match name:
            case "KeySchema" | "AttributeDefinitions" | "BillingMode":
                pass  # converted above
            case "ProvisionedThroughput":
                request[name] = _provisioned_throughput(value, name)
                notes.append(f"{name}: {_NOT_ENFORCED}")
            case "OnDemandThroughput":
                request[name] = _on_demand_throughput(value, name)
                notes.append(f"{name}: {_NOT_ENFORCED}")
            case "GlobalSecondaryIndexes":
                request[name] = [
                    _global_index(index, f"{name}[{i}]", notes)
                    for i, index in enumerate(_list(value, name))
                ]
            case "LocalSecondaryIndexes":
                request[name] = [
                    _local_index(index, f"{name}[{i}]", notes)
                    for i, index in enumerate(_list(value, name))
                ]
            case "StreamSpecification":
                request[name] = _stream_specification(value, name, notes)
            case "DeletionProtectionEnabled":
                request[name] = _bool(value, name)
            case "TableClass":
                request[name] = _str(value, name)
                notes.append(
                    f"{name}: passed on, but DynamoDB Local has one storage class and does not "
                    "report it in DescribeTable"
                )
            case "TableName":
                # The caller picks the physical name (tests use unique ones); the template's
                # may be an intrinsic, which is fine as it is not used.
                if not _is_intrinsic(value) and value != table_name:
                    notes.append(f"TableName: {value!r} in the template, created as {table_name!r}")
            case "TimeToLiveSpecification":
                ttl = _time_to_live(value, name)
                if ttl["Enabled"]:
                    notes.append(
                        f"{name}: enabled on {ttl['AttributeName']!r} by a separate "
                        "UpdateTimeToLive call after CreateTable (see time_to_live_request); "
                        "DynamoDB Local deletes expired items within seconds, AWS within days"
                    )
            case _ if name in _NOT_APPLIED:
                notes.append(f"{name}: {_NOT_APPLIED[name]}")
            case _:
                notes.append(f"{name}: unknown property, ignored")
    return request, notes


def time_to_live_request(properties: Mapping[str, Any], table_name: str) -> dict[str, Any] | None:
    """The `update_time_to_live` kwargs the table needs after creation, or None without TTL.

    CreateTable has no TTL parameter; CloudFormation makes this second call itself.
    """
    value = _mapping(properties, "Properties").get("TimeToLiveSpecification")
    if value is None:
        return None
    return {
        "TableName": table_name,
        "TimeToLiveSpecification": _time_to_live(value, "TimeToLiveSpecification"),
    }


def ensure_table(
    client: Any,
    properties: Mapping[str, Any],
    table_name: str,
    *,
    timeout: float = 60.0,
) -> list[str]:
    """Create the table if missing, wait until it and its indexes are ACTIVE, apply TTL.

    An existing table with the same key schema is kept as it is (its data too); differences
    in indexes or stream are reported in the returned notes, not changed.

    Returns:
        The notes of `create_table_request`, plus any about an existing table.

    Raises:
        TableMismatchError: the existing table's key schema differs from the template's.
        TimeoutError: the table did not become ACTIVE within `timeout` seconds.
    """
    request, notes = create_table_request(properties, table_name)
    ttl = time_to_live_request(properties, table_name)
    try:
        client.create_table(**request)
    except ClientError as err:
        # Asking first would race with another process creating the same table.
        if _error_code(err) != "ResourceInUseException":
            raise
        existing = client.describe_table(TableName=table_name)["Table"]
        notes.extend(_compare_existing(existing, request))
    _wait_until_active(client, table_name, timeout)
    if ttl is not None:
        _apply_time_to_live(client, ttl)
    return notes


# -- conversion of the parts ------------------------------------------------------------------


def _key_schema(value: Any, where: str) -> list[dict[str, str]]:
    return [
        {
            "AttributeName": _str(
                _required(element, "AttributeName", f"{where}[{i}]"), f"{where}[{i}].AttributeName"
            ),
            "KeyType": _str(
                _required(element, "KeyType", f"{where}[{i}]"), f"{where}[{i}].KeyType"
            ),
        }
        for i, element in enumerate(_list(value, where))
    ]


def _attribute_definitions(value: Any, where: str) -> list[dict[str, str]]:
    definitions = []
    for i, element in enumerate(_list(value, where)):
        at = f"{where}[{i}]"
        definitions.append(
            {
                "AttributeName": _str(
                    _required(element, "AttributeName", at), f"{at}.AttributeName"
                ),
                "AttributeType": _str(
                    _required(element, "AttributeType", at), f"{at}.AttributeType"
                ),
            }
        )
    return definitions


def _provisioned_throughput(value: Any, where: str) -> dict[str, int]:
    return {
        key: _int(_required(value, key, where), f"{where}.{key}")
        for key in ("ReadCapacityUnits", "WriteCapacityUnits")
    }


def _on_demand_throughput(value: Any, where: str) -> dict[str, int]:
    # Either limit may be omitted: unlimited.
    props = _mapping(value, where)
    return {
        key: _int(props[key], f"{where}.{key}")
        for key in ("MaxReadRequestUnits", "MaxWriteRequestUnits")
        if key in props
    }


def _projection(value: Any, where: str) -> dict[str, Any]:
    props = _mapping(value, where)
    projection: dict[str, Any] = {}
    if "ProjectionType" in props:
        projection["ProjectionType"] = _str(props["ProjectionType"], f"{where}.ProjectionType")
    if "NonKeyAttributes" in props:
        projection["NonKeyAttributes"] = [
            _str(attribute, f"{where}.NonKeyAttributes[{i}]")
            for i, attribute in enumerate(
                _list(props["NonKeyAttributes"], f"{where}.NonKeyAttributes")
            )
        ]
    return projection


_INDEX_BASICS = ("IndexName", "KeySchema", "Projection")


def _local_index(value: Any, where: str, notes: list[str]) -> dict[str, Any]:
    return _index(value, where, notes, is_global=False)


def _global_index(value: Any, where: str, notes: list[str]) -> dict[str, Any]:
    return _index(value, where, notes, is_global=True)


def _index(value: Any, where: str, notes: list[str], *, is_global: bool) -> dict[str, Any]:
    props = _mapping(value, where)
    index: dict[str, Any] = {
        "IndexName": _str(_required(props, "IndexName", where), f"{where}.IndexName"),
        "KeySchema": _key_schema(_required(props, "KeySchema", where), f"{where}.KeySchema"),
        "Projection": _projection(_required(props, "Projection", where), f"{where}.Projection"),
    }
    for name, item in props.items():
        at = f"{where}.{name}"
        if name in _INDEX_BASICS:
            continue
        if is_global and name == "ProvisionedThroughput":
            index[name] = _provisioned_throughput(item, at)
        elif is_global and name == "OnDemandThroughput":
            index[name] = _on_demand_throughput(item, at)
        elif is_global and name in ("ContributorInsightsSpecification", "WarmThroughput"):
            notes.append(f"{at}: {_NOT_APPLIED[name]}")
        else:
            notes.append(f"{at}: unknown property, ignored")
    return index


def _stream_specification(value: Any, where: str, notes: list[str]) -> dict[str, Any]:
    props = _mapping(value, where)
    # CloudFormation has no StreamEnabled: the specification's presence enables the stream.
    spec = {
        "StreamEnabled": True,
        "StreamViewType": _str(
            _required(props, "StreamViewType", where), f"{where}.StreamViewType"
        ),
    }
    for name in props:
        if name == "ResourcePolicy":
            notes.append(f"{where}.ResourcePolicy: {_NOT_APPLIED['ResourcePolicy']}")
        elif name != "StreamViewType":
            notes.append(f"{where}.{name}: unknown property, ignored")
    return spec


def _time_to_live(value: Any, where: str) -> dict[str, Any]:
    props = _mapping(value, where)
    return {
        "Enabled": _bool(_required(props, "Enabled", where), f"{where}.Enabled"),
        "AttributeName": _str(_required(props, "AttributeName", where), f"{where}.AttributeName"),
    }


# -- literal values ---------------------------------------------------------------------------


def _is_intrinsic(value: Any) -> bool:
    # Intrinsics are single-key objects: {"Ref": ...}, {"Fn::GetAtt": ...}, {"Fn::If": ...}.
    if not isinstance(value, Mapping) or len(value) != 1:
        return False
    (key,) = value
    return key == "Ref" or (isinstance(key, str) and key.startswith("Fn::"))


def _literal(value: Any, where: str) -> Any:
    if _is_intrinsic(value):
        raise UnresolvedIntrinsicError(
            f"{where} is an unresolved CloudFormation intrinsic ({value!r}); it must be a "
            "literal value to create the table locally"
        )
    return value


def _expect(value: Any, where: str, kind: type | tuple[type, ...], description: str) -> Any:
    value = _literal(value, where)
    if not isinstance(value, kind):
        raise TableConversionError(f"{where} must be {description}, not {value!r}")
    return value


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    result: Mapping[str, Any] = _expect(value, where, Mapping, "an object")
    return result


def _list(value: Any, where: str) -> list[Any]:
    result: list[Any] = _expect(value, where, list, "a list")
    return result


def _str(value: Any, where: str) -> str:
    result: str = _expect(value, where, str, "a string")
    return result


def _int(value: Any, where: str) -> int:
    # CloudFormation accepts numbers written as strings ("5"); the API needs integers.
    value = _literal(value, where)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise TableConversionError(f"{where} must be an integer, not {value!r}")


def _bool(value: Any, where: str) -> bool:
    # CloudFormation accepts "true"/"false" strings for booleans.
    value = _literal(value, where)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise TableConversionError(f"{where} must be a boolean, not {value!r}")


def _required(value: Any, key: str, where: str) -> Any:
    props = _mapping(value, where)
    if key not in props:
        raise TableConversionError(f"{where}.{key} is required")
    return props[key]


# -- talking to DynamoDB ----------------------------------------------------------------------


def _error_code(err: ClientError) -> str:
    code: str = err.response.get("Error", {}).get("Code", "")
    return code


def _compare_existing(table: Mapping[str, Any], request: Mapping[str, Any]) -> list[str]:
    name = request["TableName"]
    wanted_keys = _typed_keys(request["KeySchema"], request["AttributeDefinitions"])
    actual_keys = _typed_keys(table["KeySchema"], table.get("AttributeDefinitions", []))
    if wanted_keys != actual_keys:
        raise TableMismatchError(
            f"Table {name!r} already exists with key schema {actual_keys}, but the template "
            f"declares {wanted_keys}. Delete the table (or the local database) to recreate it."
        )
    notes = [f"{name}: already existed with the same key schema; kept as it is"]
    for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        wanted = _index_keys(request.get(kind, []))
        actual = _index_keys(table.get(kind, []))
        if wanted != actual:
            notes.append(
                f"{name}: existing {kind} {sorted(actual)} differ from the template's "
                f"{sorted(wanted)}; not updated"
            )
    wanted_stream = request.get("StreamSpecification", {}).get("StreamViewType")
    actual_stream = table.get("StreamSpecification", {}).get("StreamViewType")
    if table.get("StreamSpecification", {}).get("StreamEnabled") is False:
        actual_stream = None
    if wanted_stream != actual_stream:
        notes.append(
            f"{name}: existing stream view type {actual_stream} differs from the template's "
            f"{wanted_stream}; not updated"
        )
    return notes


def _typed_keys(
    key_schema: list[Mapping[str, str]], definitions: list[Mapping[str, str]]
) -> list[tuple[str, str, str | None]]:
    types = {d["AttributeName"]: d["AttributeType"] for d in definitions}
    return [(k["AttributeName"], k["KeyType"], types.get(k["AttributeName"])) for k in key_schema]


def _index_keys(indexes: list[Mapping[str, Any]]) -> dict[str, list[tuple[str, str]]]:
    return {
        index["IndexName"]: [(k["AttributeName"], k["KeyType"]) for k in index["KeySchema"]]
        for index in indexes
    }


def _wait_until_active(client: Any, table_name: str, timeout: float) -> Mapping[str, Any]:
    # Not the boto3 `table_exists` waiter: it polls every 20 s, and ignores index status.
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        table: Mapping[str, Any] = client.describe_table(TableName=table_name)["Table"]
        indexes = table.get("GlobalSecondaryIndexes", [])
        if table["TableStatus"] == "ACTIVE" and all(
            index.get("IndexStatus", "ACTIVE") == "ACTIVE" for index in indexes
        ):
            return table
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"Table {table_name!r} is still {table['TableStatus']} after {timeout:g}s"
            )
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def _apply_time_to_live(client: Any, request: Mapping[str, Any]) -> None:
    table_name = request["TableName"]
    wanted = request["TimeToLiveSpecification"]
    current = client.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
    enabled = current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
    if not enabled and not wanted["Enabled"]:
        return
    if enabled and wanted["Enabled"] and current.get("AttributeName") == wanted["AttributeName"]:
        return  # enabling twice is a ValidationException
    update: Callable[..., Any] = client.update_time_to_live
    if enabled:  # on another attribute, or to be disabled: TTL must be switched off first
        update(
            TableName=table_name,
            TimeToLiveSpecification={"Enabled": False, "AttributeName": current["AttributeName"]},
        )
    if wanted["Enabled"]:
        update(**request)

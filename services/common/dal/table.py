"""Typed access to the single table: the only module that builds DynamoDB requests.

Repositories describe *what* to read or write (keys, conditions, updates); this module
owns the wire format (AttributeValues, numbers as Decimal), pagination tokens and the
translation of DynamoDB's condition failures into exceptions the repositories map to
domain errors::

    table = Table.from_environment()
    table.put({"PK": "USER#ann", "SK": "USER#ann", "entity": "USER"},
              condition="attribute_not_exists(PK)")
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import ClientError

from services.common.errors import Conflict, ValidationError

Item = dict[str, Any]
Action = dict[str, Any]

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

# Bounded retries with jitter: a resolver must answer well inside AppSync's 30 s.
_CLIENT_CONFIG = Config(
    retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=2, read_timeout=5
)

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


class ConditionFailed(Exception):
    """A single conditional write was refused."""


class TransactionCancelled(Exception):
    """A transaction was refused; ``reasons[i]`` is DynamoDB's code for action ``i``."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(f"transaction cancelled: {reasons}")
        self.reasons = reasons

    def failed(self, index: int) -> bool:
        return self.reasons[index] == "ConditionalCheckFailed"


@dataclass(frozen=True)
class PageRequest:
    limit: int = DEFAULT_PAGE_SIZE
    next_token: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_PAGE_SIZE:
            raise ValidationError(f"limit must be between 1 and {MAX_PAGE_SIZE}.")


def to_attribute_values(item: Mapping[str, Any]) -> dict[str, Any]:
    """Plain values to AttributeValues. None is not stored: an absent attribute is null."""
    # A JSON round trip turns floats into Decimals (DynamoDB refuses floats) and enums,
    # dates and times into the strings the models already dump them as.
    plain = json.loads(json.dumps(item, default=str), parse_float=Decimal)
    return {
        name: _serializer.serialize(value) for name, value in plain.items() if value is not None
    }


def from_attribute_values(item: Mapping[str, Any]) -> Item:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def _encode_token(last_key: Mapping[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(last_key, sort_keys=True).encode()).decode()


def _decode_token(token: str, partition: tuple[str, str]) -> dict[str, Any]:
    """Decode a token and check it continues *this* list, not another partition."""
    invalid = ValidationError("nextToken does not belong to this list.")
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise invalid from None
    if not isinstance(decoded, dict) or not all(
        isinstance(value, dict) and set(value) == {"S"} and isinstance(value["S"], str)
        for value in decoded.values()
    ):
        raise invalid
    name, value = partition
    if decoded.get(name) != {"S": value}:
        raise invalid
    return decoded


class Table:
    def __init__(self, name: str, client: Any | None = None) -> None:
        self.name = name
        self.client = client or boto3.client("dynamodb", config=_CLIENT_CONFIG)

    @classmethod
    def from_environment(cls) -> Table:
        return cls(os.environ["TABLE_NAME"])

    # -- single-item operations -------------------------------------------------------

    def get(self, key: Mapping[str, str]) -> Item | None:
        response = self.client.get_item(
            TableName=self.name, Key=to_attribute_values(key), ConsistentRead=True
        )
        return from_attribute_values(response["Item"]) if "Item" in response else None

    def put(self, item: Mapping[str, Any], *, condition: str | None = None) -> None:
        self._conditional(self.client.put_item, self.put_action(item, condition=condition)["Put"])

    def update(
        self,
        key: Mapping[str, str],
        *,
        update: str,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
        condition: str | None = None,
    ) -> Item:
        """Apply an update expression and return the item as it is afterwards."""
        request = self.update_action(
            key, update=update, names=names, values=values, condition=condition
        )["Update"]
        response = self._conditional(
            self.client.update_item, {**request, "ReturnValues": "ALL_NEW"}
        )
        return from_attribute_values(response["Attributes"])

    @staticmethod
    def _conditional(operation: Any, request: Mapping[str, Any]) -> Any:
        """One single-item write, built like a transaction's action (same shapes)."""
        try:
            return operation(**request)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            raise ConditionFailed("conditional check failed") from None

    # -- transactions ------------------------------------------------------------------

    def put_action(self, item: Mapping[str, Any], *, condition: str | None = None) -> Action:
        action: dict[str, Any] = {"TableName": self.name, "Item": to_attribute_values(item)}
        _add_expressions(action, condition, None, None)
        return {"Put": action}

    def update_action(
        self,
        key: Mapping[str, str],
        *,
        update: str,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
        condition: str | None = None,
    ) -> Action:
        action: dict[str, Any] = {
            "TableName": self.name,
            "Key": to_attribute_values(key),
            "UpdateExpression": update,
        }
        _add_expressions(action, condition, names, values)
        return {"Update": action}

    def delete_action(
        self,
        key: Mapping[str, str],
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> Action:
        action: dict[str, Any] = {"TableName": self.name, "Key": to_attribute_values(key)}
        _add_expressions(action, condition, names, values)
        return {"Delete": action}

    def condition_check(
        self,
        key: Mapping[str, str],
        *,
        condition: str,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> Action:
        action: dict[str, Any] = {"TableName": self.name, "Key": to_attribute_values(key)}
        _add_expressions(action, condition, names, values)
        return {"ConditionCheck": action}

    def transact(self, actions: Sequence[Action]) -> None:
        """Write all actions or none. A refused condition raises TransactionCancelled; a
        concurrent transaction on the same items, Conflict."""
        try:
            self.client.transact_write_items(TransactItems=list(actions))
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = error.response.get("CancellationReasons") or []
            codes = [reason.get("Code", "None") for reason in reasons]
            if "ConditionalCheckFailed" in codes:
                raise TransactionCancelled(codes) from None
            if "TransactionConflict" in codes:
                raise Conflict("Another request changed the same data; try again.") from None
            raise

    # -- queries -----------------------------------------------------------------------

    def query(
        self,
        *,
        partition: tuple[str, str],
        sort_prefix: tuple[str, str] | None = None,
        sort_equals: tuple[str, str] | None = None,
        index: str | None = None,
        page: PageRequest | None = None,
        newest_first: bool = False,
    ) -> tuple[list[Item], str | None]:
        """One page of a partition, optionally narrowed by its sort key."""
        page = page or PageRequest()
        names = {"#pk": partition[0]}
        values: dict[str, Any] = {":pk": partition[1]}
        condition = "#pk = :pk"
        if sort_prefix:
            names["#sk"], values[":sk"] = sort_prefix
            condition += " AND begins_with(#sk, :sk)"
        elif sort_equals:
            names["#sk"], values[":sk"] = sort_equals
            condition += " AND #sk = :sk"
        request: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": to_attribute_values(values),
            "Limit": page.limit,
            "ScanIndexForward": not newest_first,
        }
        if index:
            request["IndexName"] = index
        if page.next_token:
            request["ExclusiveStartKey"] = _decode_token(page.next_token, partition)
        try:
            response = self.client.query(**request)
        except ClientError as error:
            if page.next_token and error.response["Error"]["Code"] == "ValidationException":
                raise ValidationError("nextToken does not belong to this list.") from None
            raise
        items = [from_attribute_values(item) for item in response.get("Items", [])]
        last_key = response.get("LastEvaluatedKey")
        return items, _encode_token(last_key) if last_key else None


def _add_expressions(
    request: dict[str, Any],
    condition: str | None,
    names: Mapping[str, str] | None,
    values: Mapping[str, Any] | None,
) -> None:
    if condition:
        request["ConditionExpression"] = condition
    if names:
        request["ExpressionAttributeNames"] = dict(names)
    if values:
        request["ExpressionAttributeValues"] = to_attribute_values(values)

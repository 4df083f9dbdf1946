"""Request accounting: what the local cloud was asked to do, by service and operation.

Every AWS call of the local cloud comes through the edge router (clients, Lambda
workers, event source mappings, Step Functions tasks, the pipe's ``PutEvents``), so the
router is where a benchmark can count them the way a bill would. ``RequestAccounting``
keeps, from the router's start:

- ``requests``: every request served, by service and operation (failed ones included:
  AWS bills most of those too);
- ``emptyPolls``: of those, the polls that returned nothing (an SQS ``ReceiveMessage``
  without messages, a streams ``GetRecords`` without records). Idle pollers make them
  at a steady rate whatever the traffic, so a per-operation figure leaves them out;
- ``deliveries``: the calls the router makes itself as EventBridge, delivering an event
  to a rule's target (an SQS ``SendMessage``, an SNS ``Publish``, a Lambda ``Invoke``):
  in AWS these are requests to the target's service too;
- ``consumedCapacity``: DynamoDB capacity units by table and operation, with the
  table's and each index's share, while ``consumed_capacity`` is on. The router asks
  DynamoDB Local for ``ReturnConsumedCapacity: INDEXES`` on each data-plane call whose
  caller did not ask, and takes the figures out of the answer again, so the caller sees
  exactly what it would have seen. Off by default: the answer has to be read, parsed and
  written back, which the usual streaming path does not pay.

DynamoDB Local's figures follow DynamoDB's published rules (item size rounded up per
KB or 4 KB, index writes counted, transactional writes doubled); a refused conditional
write answers with an error that carries no capacity, although AWS bills it.

The router serves a snapshot on ``GET /_localcloud/requests``; ``POST`` with
``{"consumedCapacity": true|false}`` switches capacity accounting, ``{"reset": true}``
starts every count again. Usage::

    accounting = RequestAccounting()
    accounting.count("dynamodb", "GetItem")
    accounting.snapshot()["requests"]  # {"dynamodb": {"GetItem": 1}}
"""

from __future__ import annotations

import json
import threading
import zlib
from collections.abc import Mapping
from typing import Any, Final

__all__ = [
    "CAPACITY_OPERATIONS",
    "RequestAccounting",
    "ask_for_capacity",
    "crc32_header",
    "is_poll",
    "polled_nothing",
    "take_capacity",
]

# Data-plane operations that take ReturnConsumedCapacity (DynamoDB API reference).
CAPACITY_OPERATIONS: Final = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
        "ExecuteStatement",
        "BatchExecuteStatement",
        "ExecuteTransaction",
    }
)
_INJECTED_MODE: Final = "INDEXES"

# (service, operation) -> the answer's list of what was polled.
_POLLS: Final[Mapping[tuple[str, str], str]] = {
    ("sqs", "ReceiveMessage"): "Messages",
    ("dynamodbstreams", "GetRecords"): "Records",
}
UNKNOWN: Final = "unknown"


def is_poll(service: str | None, operation: str | None) -> bool:
    """Whether the answer to this request says if the poll found anything."""
    return (service or "", operation or "") in _POLLS


def polled_nothing(service: str, operation: str, body: bytes) -> bool | None:
    """Whether a poll's answer is empty; None if this answer cannot tell.

    JSON protocols list what was found under one key; SQS's older query protocol
    answers in XML with one ``<Message>`` element per message.
    """
    key = _POLLS.get((service, operation))
    if key is None:
        return None
    text = body.lstrip()
    if text.startswith(b"<"):
        return b"<Message>" not in body
    try:
        document = json.loads(body or b"{}")
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    return not document.get(key)


def _json_object(body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or None when it is not one."""
    try:
        document = json.loads(body or b"{}")
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def ask_for_capacity(body: bytes) -> tuple[bytes, bool]:
    """The request body asking for consumed capacity, and whether it had to be added.

    A caller that asked (``TOTAL`` or ``INDEXES``) is left alone; ``NONE`` or nothing
    becomes ``INDEXES``. A body that is not a JSON object is left alone too (DynamoDB
    Local will refuse it as it would have).
    """
    request = _json_object(body)
    if request is None:
        return body, False
    if request.get("ReturnConsumedCapacity") in ("TOTAL", "INDEXES"):
        return body, False
    request["ReturnConsumedCapacity"] = _INJECTED_MODE
    return json.dumps(request).encode(), True


def take_capacity(body: bytes, *, injected: bool) -> tuple[bytes, Any]:
    """The answer's ``ConsumedCapacity``, and the body the caller gets.

    When the router asked on the caller's behalf (``injected``), the figures come out of
    the body again; the body is then written anew, so its ``x-amz-crc32`` header must be
    too (:func:`crc32_header`). A body that is not a JSON object passes unchanged.
    """
    answer = _json_object(body)
    if answer is None:
        return body, None
    consumed = answer.get("ConsumedCapacity")
    if not injected or "ConsumedCapacity" not in answer:
        return body, consumed
    del answer["ConsumedCapacity"]
    return json.dumps(answer, separators=(",", ":")).encode(), consumed


def crc32_header(body: bytes) -> str:
    """DynamoDB's ``x-amz-crc32`` of ``body``, which botocore checks."""
    return str(zlib.crc32(body) & 0xFFFFFFFF)


def _bump(table: dict[str, dict[str, int]], service: str | None, operation: str | None) -> None:
    by_operation = table.setdefault(service or UNKNOWN, {})
    key = operation or UNKNOWN
    by_operation[key] = by_operation.get(key, 0) + 1


class RequestAccounting:
    """Thread-safe counters of the router's requests; see the module docstring.

    Args:
        consumed_capacity: start with DynamoDB capacity accounting on.
    """

    def __init__(self, *, consumed_capacity: bool = False) -> None:
        self._lock = threading.Lock()
        self._consumed_capacity = consumed_capacity
        self._requests: dict[str, dict[str, int]] = {}
        self._empty: dict[str, dict[str, int]] = {}
        self._deliveries: dict[str, dict[str, int]] = {}
        self._capacity: dict[str, dict[str, dict[str, Any]]] = {}

    @property
    def consumed_capacity(self) -> bool:
        """Whether DynamoDB calls are asked for, and tallied by, their consumed capacity."""
        return self._consumed_capacity

    @consumed_capacity.setter
    def consumed_capacity(self, enabled: bool) -> None:
        self._consumed_capacity = bool(enabled)

    def count(
        self, service: str | None, operation: str | None, *, empty: bool | None = None
    ) -> None:
        """One request served; ``empty``: it was a poll that found nothing."""
        with self._lock:
            _bump(self._requests, service, operation)
            if empty:
                _bump(self._empty, service, operation)

    def count_delivery(self, service: str, operation: str) -> None:
        """One call the router made as EventBridge, delivering to a target."""
        with self._lock:
            _bump(self._deliveries, service, operation)

    def add_capacity(self, operation: str, consumed: Any) -> None:
        """Tally a ``ConsumedCapacity`` answer (one object, or a list for batches and
        transactions) under its tables and ``operation``."""
        entries = consumed if isinstance(consumed, list) else [consumed]
        with self._lock:
            for entry in entries:
                if not isinstance(entry, dict) or "CapacityUnits" not in entry:
                    continue
                table = str(entry.get("TableName", UNKNOWN))
                tally = self._capacity.setdefault(table, {}).setdefault(
                    operation, {"capacityUnits": 0.0, "table": 0.0, "indexes": {}}
                )
                tally["capacityUnits"] += float(entry["CapacityUnits"])
                tally["table"] += float((entry.get("Table") or {}).get("CapacityUnits", 0.0))
                for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
                    for index, units in (entry.get(kind) or {}).items():
                        indexes = tally["indexes"]
                        indexes[index] = indexes.get(index, 0.0) + float(
                            units.get("CapacityUnits", 0.0)
                        )

    def snapshot(self) -> dict[str, Any]:
        """Every count so far, as the router serves it (a JSON document)."""
        with self._lock:  # a deep copy, taken while nothing changes
            copy: dict[str, Any] = json.loads(
                json.dumps(
                    {
                        "consumedCapacityAccounting": self._consumed_capacity,
                        "requests": self._requests,
                        "emptyPolls": self._empty,
                        "deliveries": self._deliveries,
                        "consumedCapacity": self._capacity,
                    }
                )
            )
        return copy

    def reset(self) -> None:
        """Start every count again (the capacity switch stays as it is)."""
        with self._lock:
            self._requests = {}
            self._empty = {}
            self._deliveries = {}
            self._capacity = {}

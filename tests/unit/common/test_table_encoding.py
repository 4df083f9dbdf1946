from __future__ import annotations

import base64
import json
import uuid
from decimal import Decimal

import pytest
from botocore.exceptions import ClientError

from services.common.dal.table import (
    PageRequest,
    Table,
    TransactionCancelled,
    _decode_token,
    _encode_token,
    from_attribute_values,
    to_attribute_values,
)
from services.common.errors import Conflict, ValidationError
from services.common.ids import new_id


def test_floats_become_decimals_and_nulls_are_not_stored() -> None:
    encoded = to_attribute_values({"cost": 18.5, "kids": 2, "about": None, "tags": ["a"]})
    assert encoded == {"cost": {"N": "18.5"}, "kids": {"N": "2"}, "tags": {"L": [{"S": "a"}]}}
    assert from_attribute_values(encoded)["cost"] == Decimal("18.5")


def test_a_token_round_trips_for_its_own_partition() -> None:
    last_key = {"PK": {"S": "USER#ann"}, "SK": {"S": "JOB#1"}}
    assert _decode_token(_encode_token(last_key), ("PK", "USER#ann")) == last_key


@pytest.mark.parametrize(
    "token",
    [
        "!!!",
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
        base64.urlsafe_b64encode(json.dumps({"PK": {"N": "1"}}).encode()).decode(),
        _encode_token({"PK": {"S": "USER#bob"}, "SK": {"S": "JOB#1"}}),
    ],
)
def test_foreign_or_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(ValidationError, match="nextToken"):
        _decode_token(token, ("PK", "USER#ann"))


@pytest.mark.parametrize("limit", [0, 101])
def test_page_size_is_bounded(limit: int) -> None:
    with pytest.raises(ValidationError):
        PageRequest(limit=limit)


def test_ids_are_uuid7_and_sort_by_creation_time() -> None:
    ids = [new_id() for _ in range(50)]
    assert all(uuid.UUID(i).version == 7 for i in ids)
    assert [i[:13] for i in ids] == sorted(i[:13] for i in ids)


class _RefusingClient:
    def __init__(self, codes: list[str]) -> None:
        self.codes = codes

    def transact_write_items(self, **_: object) -> None:
        raise ClientError(
            {
                "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                "CancellationReasons": [{"Code": code} for code in self.codes],
            },
            "TransactWriteItems",
        )


@pytest.mark.parametrize(
    ("codes", "raised"),
    [
        (["ConditionalCheckFailed", "None"], TransactionCancelled),
        (["None", "TransactionConflict"], Conflict),
        (["ThrottlingError", "None"], ClientError),
    ],
)
def test_a_cancelled_transaction_says_why(codes: list[str], raised: type[Exception]) -> None:
    with pytest.raises(raised):
        Table("t", client=_RefusingClient(codes)).transact([])

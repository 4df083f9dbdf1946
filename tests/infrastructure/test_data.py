"""The single table: keys, indexes, stream, backups, encryption, retention."""

from typing import Any

import pytest

from stacks.constants import GSIS
from tests.infrastructure.helpers import Resources, only


@pytest.fixture(scope="module")
def table(resources: Resources) -> tuple[str, dict[str, Any]]:
    return only(resources, "AWS::DynamoDB::Table")


def key_schema(schema: list[dict[str, str]]) -> tuple[str, str]:
    keys = {entry["KeyType"]: entry["AttributeName"] for entry in schema}
    return keys["HASH"], keys["RANGE"]


def test_table_keys_are_pk_and_sk_strings(table: tuple[str, dict[str, Any]]) -> None:
    _, props = table
    assert key_schema(props["KeySchema"]) == ("PK", "SK")
    types = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
    assert types["PK"] == types["SK"] == "S"


def test_table_name_is_generated_by_cloudformation(table: tuple[str, dict[str, Any]]) -> None:
    assert "TableName" not in table[1]


def test_three_gsis_with_their_keys_and_all_projection(table: tuple[str, dict[str, Any]]) -> None:
    _, props = table
    indexes = {
        gsi["IndexName"]: (key_schema(gsi["KeySchema"]), gsi["Projection"]["ProjectionType"])
        for gsi in props["GlobalSecondaryIndexes"]
    }
    assert indexes == {
        "jobApplications": (("GSI1PK", "GSI1SK"), "ALL"),
        "jobsAppliedTo": (("GSI2PK", "GSI2SK"), "ALL"),
        "getJobsByStatus": (("jobStatus", "SK"), "ALL"),
    }
    # The services read these names from stacks.constants: both must agree.
    assert {gsi.name for gsi in GSIS} == set(indexes)
    types = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
    assert all(types[name] == "S" for name in ("GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "jobStatus"))


def test_on_demand_billing_and_stream_with_both_images(table: tuple[str, dict[str, Any]]) -> None:
    _, props = table
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_point_in_time_recovery_and_encryption_at_rest(table: tuple[str, dict[str, Any]]) -> None:
    _, props = table
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    # SSEEnabled without a key id: the AWS-managed key aws/dynamodb.
    assert props["SSESpecification"] == {"SSEEnabled": True}


def test_table_survives_stack_deletion(resources: Resources) -> None:
    logical_id, props = only(resources, "AWS::DynamoDB::Table")
    assert resources[logical_id]["DeletionPolicy"] == "Retain"
    assert resources[logical_id]["UpdateReplacePolicy"] == "Retain"
    assert props["DeletionProtectionEnabled"] is True

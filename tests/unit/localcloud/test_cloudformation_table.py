"""AWS::DynamoDB::Table properties -> boto3 create_table kwargs, without DynamoDB."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from localcloud.cloudformation_table import (
    TableConversionError,
    UnresolvedIntrinsicError,
    create_table_request,
    time_to_live_request,
)


def _key(hash_key: str, range_key: str | None = None) -> list[dict[str, str]]:
    schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key is not None:
        schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
    return schema


def _strings(*names: str) -> list[dict[str, str]]:
    return [{"AttributeName": name, "AttributeType": "S"} for name in names]


def _gsi(name: str, hash_key: str, range_key: str | None = None) -> dict[str, Any]:
    return {
        "IndexName": name,
        "KeySchema": _key(hash_key, range_key),
        "Projection": {"ProjectionType": "ALL"},
    }


# As `cdk synth` writes the stack's table, plus what a customer-managed key, tags and TTL
# add: intrinsics in places the conversion does not use.
CDK_TABLE: dict[str, Any] = {
    "AttributeDefinitions": _strings(
        "PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "jobStatus"
    ),
    "BillingMode": "PAY_PER_REQUEST",
    "DeletionProtectionEnabled": True,
    "GlobalSecondaryIndexes": [
        _gsi("jobApplications", "GSI1PK", "GSI1SK"),
        _gsi("jobsAppliedTo", "GSI2PK", "GSI2SK"),
        _gsi("getJobsByStatus", "jobStatus", "SK"),
    ],
    "KeySchema": _key("PK", "SK"),
    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
    "SSESpecification": {
        "KMSMasterKeyId": {"Fn::GetAtt": ["TableKey1A2B3C4D", "Arn"]},
        "SSEEnabled": True,
        "SSEType": "KMS",
    },
    "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
    "Tags": [{"Key": "stage", "Value": {"Ref": "Stage"}}],
    "TimeToLiveSpecification": {"AttributeName": "expiresAt", "Enabled": True},
}


def _with(**changes: Any) -> dict[str, Any]:
    properties = copy.deepcopy(CDK_TABLE)
    properties.update(changes)
    return {name: value for name, value in properties.items() if value is not None}


def test_cdk_table_converts_to_create_table_kwargs() -> None:
    request, _ = create_table_request(CDK_TABLE, "nanny-table")

    assert request == {
        "TableName": "nanny-table",
        "KeySchema": _key("PK", "SK"),
        "AttributeDefinitions": CDK_TABLE["AttributeDefinitions"],
        "BillingMode": "PAY_PER_REQUEST",
        "DeletionProtectionEnabled": True,
        "GlobalSecondaryIndexes": CDK_TABLE["GlobalSecondaryIndexes"],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    }


def test_cdk_table_notes_what_dynamodb_local_does_not_apply() -> None:
    _, notes = create_table_request(CDK_TABLE, "nanny-table")

    noted = sorted(note.split(":")[0] for note in notes)
    assert noted == [
        "PointInTimeRecoverySpecification",
        "SSESpecification",
        "Tags",
        "TimeToLiveSpecification",
    ]
    assert not any("unknown" in note for note in notes)


def test_conversion_does_not_modify_the_template() -> None:
    before = copy.deepcopy(CDK_TABLE)
    request, _ = create_table_request(CDK_TABLE, "nanny-table")
    request["GlobalSecondaryIndexes"][0]["Projection"]["ProjectionType"] = "KEYS_ONLY"

    assert before == CDK_TABLE


def test_provisioned_table_keeps_its_throughput_and_that_of_each_index() -> None:
    properties = _with(
        BillingMode=None,  # CloudFormation's default is PROVISIONED
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": "2"},
        GlobalSecondaryIndexes=[
            {
                "IndexName": "byStatus",
                "KeySchema": _key("jobStatus", "SK"),
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["title"]},
                "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
            }
        ],
    )

    request, notes = create_table_request(properties, "nanny-table")

    assert request["BillingMode"] == "PROVISIONED"
    assert request["ProvisionedThroughput"] == {"ReadCapacityUnits": 5, "WriteCapacityUnits": 2}
    assert request["GlobalSecondaryIndexes"] == [
        {
            "IndexName": "byStatus",
            "KeySchema": _key("jobStatus", "SK"),
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["title"]},
            "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
        }
    ]
    assert any(note.startswith("ProvisionedThroughput: ") for note in notes)


def test_on_demand_table_has_no_provisioned_throughput() -> None:
    properties = _with(OnDemandThroughput={"MaxReadRequestUnits": 100})

    request, notes = create_table_request(properties, "nanny-table")

    assert request["BillingMode"] == "PAY_PER_REQUEST"
    assert "ProvisionedThroughput" not in request
    assert all("ProvisionedThroughput" not in index for index in request["GlobalSecondaryIndexes"])
    assert request["OnDemandThroughput"] == {"MaxReadRequestUnits": 100}
    assert any(note.startswith("OnDemandThroughput: ") for note in notes)


def test_local_secondary_indexes_are_converted() -> None:
    lsi = {
        "IndexName": "byCreatedAt",
        "KeySchema": _key("PK", "createdAt"),
        "Projection": {"ProjectionType": "KEYS_ONLY"},
    }
    properties = _with(
        AttributeDefinitions=[*CDK_TABLE["AttributeDefinitions"], *_strings("createdAt")],
        LocalSecondaryIndexes=[lsi],
    )

    request, _ = create_table_request(properties, "nanny-table")

    assert request["LocalSecondaryIndexes"] == [lsi]


def test_table_without_stream_specification_has_no_stream() -> None:
    request, _ = create_table_request(_with(StreamSpecification=None), "nanny-table")

    assert "StreamSpecification" not in request


_JOINED_NAME = {"Fn::Join": ["-", ["by", "status"]]}


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        (
            {"KeySchema": [{"AttributeName": {"Ref": "KeyName"}, "KeyType": "HASH"}]},
            "KeySchema[0].AttributeName",
        ),
        (
            {
                "StreamSpecification": {
                    "StreamViewType": {"Fn::If": ["Img", "NEW_IMAGE", "KEYS_ONLY"]}
                }
            },
            "StreamSpecification.StreamViewType",
        ),
        (
            {"GlobalSecondaryIndexes": [{**_gsi("x", "jobStatus"), "IndexName": _JOINED_NAME}]},
            "GlobalSecondaryIndexes[0].IndexName",
        ),
        (
            {
                "BillingMode": "PROVISIONED",
                "ProvisionedThroughput": {
                    "ReadCapacityUnits": {"Ref": "R"},
                    "WriteCapacityUnits": 1,
                },
            },
            "ProvisionedThroughput.ReadCapacityUnits",
        ),
        (
            {"DeletionProtectionEnabled": {"Fn::If": ["IsProd", True, False]}},
            "DeletionProtectionEnabled",
        ),
        (
            {"TimeToLiveSpecification": {"AttributeName": {"Ref": "Ttl"}, "Enabled": True}},
            "TimeToLiveSpecification.AttributeName",
        ),
        (
            {"AttributeDefinitions": {"Fn::GetAtt": ["Elsewhere", "Definitions"]}},
            "AttributeDefinitions",
        ),
    ],
)
def test_intrinsic_in_a_used_value_is_an_error_naming_it(
    changes: dict[str, Any], where: str
) -> None:
    with pytest.raises(UnresolvedIntrinsicError, match=f"^{re.escape(where)} is an unresolved"):
        create_table_request(_with(**changes), "nanny-table")


def test_intrinsics_in_unused_values_are_fine() -> None:
    properties = _with(TableName={"Fn::Sub": "${AWS::StackName}-table"})

    request, notes = create_table_request(properties, "nanny-table")

    assert request["TableName"] == "nanny-table"
    assert not any(note.startswith("TableName") for note in notes)


def test_literal_table_name_from_the_template_is_replaced_with_a_note() -> None:
    _, notes = create_table_request(_with(TableName="nanny-prod"), "nanny-test")

    assert "TableName: 'nanny-prod' in the template, created as 'nanny-test'" in notes


def test_unknown_properties_are_noted_never_dropped_silently() -> None:
    properties = _with(FancyNewFeature={"Enabled": True})
    properties["GlobalSecondaryIndexes"][0]["MaxShards"] = 4
    properties["StreamSpecification"]["Filter"] = "x"

    _, notes = create_table_request(properties, "nanny-table")

    assert "FancyNewFeature: unknown property, ignored" in notes
    assert "GlobalSecondaryIndexes[0].MaxShards: unknown property, ignored" in notes
    assert "StreamSpecification.Filter: unknown property, ignored" in notes


def test_not_emulated_index_settings_are_noted() -> None:
    properties = _with()
    properties["GlobalSecondaryIndexes"][1]["ContributorInsightsSpecification"] = {"Enabled": True}

    _, notes = create_table_request(properties, "nanny-table")

    assert any(
        note.startswith("GlobalSecondaryIndexes[1].ContributorInsightsSpecification: not applied")
        for note in notes
    )


def test_time_to_live_is_a_follow_up_request() -> None:
    assert time_to_live_request(CDK_TABLE, "nanny-table") == {
        "TableName": "nanny-table",
        "TimeToLiveSpecification": {"AttributeName": "expiresAt", "Enabled": True},
    }
    assert time_to_live_request(_with(TimeToLiveSpecification=None), "nanny-table") is None


def test_time_to_live_accepts_cloudformation_string_booleans() -> None:
    properties = _with(TimeToLiveSpecification={"AttributeName": "ttl", "Enabled": "false"})

    request = time_to_live_request(properties, "nanny-table")

    assert request is not None
    assert request["TimeToLiveSpecification"]["Enabled"] is False


@pytest.mark.parametrize("name", ["ab", "has space", "x" * 256, "slash/name"])
def test_invalid_table_name_is_rejected_before_dynamodb_sees_it(name: str) -> None:
    with pytest.raises(TableConversionError, match="Invalid table name"):
        create_table_request(CDK_TABLE, name)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"KeySchema": None}, r"^Properties\.KeySchema is required"),
        ({"KeySchema": [{"KeyType": "HASH"}]}, r"^KeySchema\[0\]\.AttributeName is required"),
        ({"GlobalSecondaryIndexes": {"IndexName": "x"}}, "^GlobalSecondaryIndexes must be a list"),
        (
            {
                "BillingMode": "PROVISIONED",
                "ProvisionedThroughput": {"ReadCapacityUnits": 1.5, "WriteCapacityUnits": 1},
            },
            r"ReadCapacityUnits must be an integer",
        ),
        ({"DeletionProtectionEnabled": "yes"}, "^DeletionProtectionEnabled must be a boolean"),
    ],
)
def test_malformed_properties_are_errors(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(TableConversionError, match=message):
        create_table_request(_with(**changes), "nanny-table")

"""DynamoDB Local started by the launcher, with the table created from template properties."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from localcloud.cloudformation_table import TableMismatchError, ensure_table
from localcloud.dynamodb_local import DynamoDBLocal, DynamoDBLocalStartError

pytestmark = pytest.mark.dynamodb


def _key(hash_key: str, range_key: str) -> list[dict[str, str]]:
    return [
        {"AttributeName": hash_key, "KeyType": "HASH"},
        {"AttributeName": range_key, "KeyType": "RANGE"},
    ]


def _gsi(name: str, hash_key: str, range_key: str) -> dict[str, Any]:
    return {
        "IndexName": name,
        "KeySchema": _key(hash_key, range_key),
        "Projection": {"ProjectionType": "ALL"},
    }


# The stack's table as `cdk synth` writes it, with a customer-managed key and TTL added.
TABLE_PROPERTIES: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": name, "AttributeType": "S"}
        for name in ("PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "jobStatus")
    ],
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
    "TimeToLiveSpecification": {"AttributeName": "expiresAt", "Enabled": True},
}


@pytest.fixture(scope="module")
def ddb() -> Iterator[DynamoDBLocal]:
    with DynamoDBLocal() as server:
        yield server


@pytest.fixture(scope="module")
def client(ddb: DynamoDBLocal) -> Any:
    return ddb.client()


@pytest.fixture(scope="module")
def table(client: Any) -> str:
    ensure_table(client, TABLE_PROPERTIES, "bookings")
    return "bookings"


def _item(pk: str, sk: str, **attributes: str) -> dict[str, Any]:
    values = {"PK": pk, "SK": sk, **attributes}
    return {name: {"S": value} for name, value in values.items()}


def test_server_answers_on_a_free_local_port(ddb: DynamoDBLocal) -> None:
    assert ddb.running
    assert ddb.endpoint_url == f"http://127.0.0.1:{ddb.port}"
    assert ddb.startup_seconds is not None
    assert ddb.startup_seconds < 30


def test_any_region_and_credentials_see_the_same_tables(ddb: DynamoDBLocal, table: str) -> None:
    other = boto3.client(
        "dynamodb",
        endpoint_url=ddb.endpoint_url,
        region_name="eu-west-1",
        aws_access_key_id="someoneelse",
        aws_secret_access_key="other",
    )

    assert table in other.list_tables()["TableNames"]


def test_table_is_created_as_the_template_declares(client: Any, table: str) -> None:
    described = client.describe_table(TableName=table)["Table"]

    assert described["TableStatus"] == "ACTIVE"
    assert described["KeySchema"] == _key("PK", "SK")
    indexes = {index["IndexName"]: index for index in described["GlobalSecondaryIndexes"]}
    assert {name: index["KeySchema"] for name, index in indexes.items()} == {
        "jobApplications": _key("GSI1PK", "GSI1SK"),
        "jobsAppliedTo": _key("GSI2PK", "GSI2SK"),
        "getJobsByStatus": _key("jobStatus", "SK"),
    }
    assert all(index["Projection"] == {"ProjectionType": "ALL"} for index in indexes.values())
    assert all(index["IndexStatus"] == "ACTIVE" for index in indexes.values())
    assert described["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    # DynamoDB Local's ARNs carry a fake region and account, whatever the client's.
    assert described["LatestStreamArn"] == (
        f"arn:aws:dynamodb:ddblocal:000000000000:table/{table}/stream/"
        f"{described['LatestStreamLabel']}"
    )
    assert described["DeletionProtectionEnabled"] is True
    ttl = client.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiresAt"}


def test_ensure_table_again_keeps_the_existing_table_and_its_data(client: Any, table: str) -> None:
    client.put_item(TableName=table, Item=_item("USER#kept", "PROFILE"))

    notes = ensure_table(client, TABLE_PROPERTIES, table)

    assert f"{table}: already existed with the same key schema; kept as it is" in notes
    assert "Item" in client.get_item(TableName=table, Key=_item("USER#kept", "PROFILE"))


def test_ensure_table_refuses_a_table_with_another_key_schema(client: Any, table: str) -> None:
    reversed_keys = {**TABLE_PROPERTIES, "KeySchema": _key("SK", "PK")}

    with pytest.raises(TableMismatchError, match="already exists with key schema"):
        ensure_table(client, reversed_keys, table)


def test_failed_transaction_reports_a_reason_per_action(client: Any, table: str) -> None:
    client.put_item(TableName=table, Item=_item("JOB#1", "META", jobStatus="OPEN"))

    with pytest.raises(ClientError) as cancelled:
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": _item("JOB#1", "APPLICATION#7")}},
                {
                    "Update": {
                        "TableName": table,
                        "Key": _item("JOB#1", "META"),
                        "UpdateExpression": "SET jobStatus = :closed",
                        "ConditionExpression": "jobStatus = :booked",
                        "ExpressionAttributeValues": {
                            ":closed": {"S": "CLOSED"},
                            ":booked": {"S": "BOOKED"},
                        },
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
            ]
        )

    response = cancelled.value.response
    assert response["Error"]["Code"] == "TransactionCanceledException"
    assert response["CancellationReasons"] == [
        {"Code": "None"},
        {
            "Code": "ConditionalCheckFailed",
            "Message": "The conditional request failed",
            "Item": _item("JOB#1", "META", jobStatus="OPEN"),
        },
    ]
    # All or nothing: the first action's item was not written either.
    assert "Item" not in client.get_item(TableName=table, Key=_item("JOB#1", "APPLICATION#7"))


def test_start_on_a_taken_port_fails_at_once(ddb: DynamoDBLocal) -> None:
    started = time.monotonic()

    with pytest.raises(DynamoDBLocalStartError, match=f"port {ddb.port} is already in use"):
        DynamoDBLocal(port=ddb.port).start()

    assert time.monotonic() - started < 1


def test_start_fails_fast_with_the_log_when_the_server_exits() -> None:
    server = DynamoDBLocal(jvm_args=["-XX:+NoSuchOption"])
    started = time.monotonic()

    with pytest.raises(DynamoDBLocalStartError, match="exited with code 1") as failed:
        server.start()

    assert "Unrecognized VM option 'NoSuchOption'" in str(failed.value)
    assert time.monotonic() - started < 15
    assert server.pid is None


def test_data_on_disk_survives_a_restart_and_stop_leaves_no_process(tmp_path: Path) -> None:
    server = DynamoDBLocal(db_path=tmp_path / "dynamodb")
    try:
        server.start()
        ensure_table(server.client(), TABLE_PROPERTIES, "persisted")
        server.client().put_item(TableName="persisted", Item=_item("USER#1", "PROFILE"))
        pid = server.pid
        assert pid is not None

        server.stop()

        assert not server.running
        with pytest.raises(ProcessLookupError):
            os.killpg(pid, 0)  # neither the JVM nor anything else in its process group
        assert (tmp_path / "dynamodb" / "shared-local-instance.db").is_file()

        server.start()
        item = server.client().get_item(TableName="persisted", Key=_item("USER#1", "PROFILE"))
        assert item["Item"] == _item("USER#1", "PROFILE")
    finally:
        server.stop()
        server.stop()
    assert server.pid is None


def test_exiting_python_without_stop_leaves_no_process(tmp_path: Path) -> None:
    crashing = (
        "from localcloud.dynamodb_local import DynamoDBLocal\n"
        "server = DynamoDBLocal().start()\n"
        "print(server.pid, flush=True)\n"
        "raise RuntimeError('a test run that crashes before stop()')\n"
    )
    repo_root = Path(__file__).resolve().parents[3]
    result = subprocess.run(
        [sys.executable, "-c", crashing],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=repo_root,
        env={**os.environ, "PYTHONPATH": str(repo_root)},
        check=False,
    )

    assert "a test run that crashes" in result.stderr
    pid = int(result.stdout.strip())
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)

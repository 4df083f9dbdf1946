"""The edge router's request accounting: counts by service and operation, empty polls,
EventBridge's deliveries, and DynamoDB's consumed capacity without changing any answer.

Real servers: DynamoDB Local, moto in server mode, a router of its own per test (counts
start at zero); boto3 clients on the router, as every local client is.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config

from localcloud.dynamodb_local import DynamoDBLocal, local_client
from localcloud.edge.accounting import (
    RequestAccounting,
    ask_for_capacity,
    polled_nothing,
    take_capacity,
)
from localcloud.edge_router import REQUESTS_PATH, EdgeRouter

pytestmark = pytest.mark.dynamodb


@pytest.fixture
def router(dynamodb_local: DynamoDBLocal, moto_endpoint: str) -> Iterator[EdgeRouter]:
    with EdgeRouter(dynamodb_local.endpoint_url, moto_endpoint, port=0) as running:
        yield running


def client(service: str, router: EdgeRouter) -> Any:
    return local_client(router.endpoint_url, service, Config(retries={"total_max_attempts": 1}))


def accounting(router: EdgeRouter, change: dict[str, Any] | None = None) -> dict[str, Any]:
    """GET the counts, or POST ``change`` first."""
    request = urllib.request.Request(  # noqa: S310 - the router under test, on 127.0.0.1
        router.endpoint_url + REQUESTS_PATH,
        data=None if change is None else json.dumps(change).encode(),
        method="GET" if change is None else "POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - as above
        document: dict[str, Any] = json.loads(answer.read())
    return document


def indexed_table(dynamodb: Any) -> str:
    name = f"accounting-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "kind", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "byKind",
                "KeySchema": [{"AttributeName": "kind", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def test_requests_are_counted_by_service_and_operation(router: EdgeRouter) -> None:
    dynamodb, sqs = client("dynamodb", router), client("sqs", router)
    table = indexed_table(dynamodb)
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}, "kind": {"S": "job"}})
    dynamodb.get_item(TableName=table, Key={"pk": {"S": "a"}})
    sqs.list_queues()

    counts = accounting(router)

    assert counts["requests"]["dynamodb"] == {"CreateTable": 1, "PutItem": 1, "GetItem": 1}
    assert counts["requests"]["sqs"] == {"ListQueues": 1}
    assert counts["consumedCapacityAccounting"] is False
    assert counts["consumedCapacity"] == {}


def test_reset_starts_the_counts_again(router: EdgeRouter) -> None:
    client("sqs", router).list_queues()

    reset = accounting(router, {"reset": True})

    assert reset["requests"] == {}


def test_capacity_is_tallied_and_taken_out_of_answers_that_did_not_ask(
    router: EdgeRouter,
) -> None:
    dynamodb = client("dynamodb", router)
    table = indexed_table(dynamodb)
    assert accounting(router, {"consumedCapacity": True})["consumedCapacityAccounting"]
    item = {"pk": {"S": "a"}, "kind": {"S": "job"}}

    put = dynamodb.put_item(TableName=table, Item=item)
    got = dynamodb.get_item(TableName=table, Key={"pk": {"S": "a"}}, ConsistentRead=True)
    asked = dynamodb.query(
        TableName=table,
        IndexName="byKind",
        KeyConditionExpression="kind = :k",
        ExpressionAttributeValues={":k": {"S": "job"}},
        ReturnConsumedCapacity="TOTAL",
    )
    dynamodb.transact_write_items(
        TransactItems=[{"Put": {"TableName": table, "Item": {**item, "pk": {"S": "b"}}}}]
    )

    # botocore checked each answer's x-amz-crc32: a stripped body carries a new one.
    assert "ConsumedCapacity" not in put
    assert got["Item"] == item
    assert "ConsumedCapacity" not in got
    assert asked["ConsumedCapacity"] == {"TableName": table, "CapacityUnits": 0.5}
    tallied = accounting(router)["consumedCapacity"][table]
    assert tallied["PutItem"] == {"capacityUnits": 2.0, "table": 1.0, "indexes": {"byKind": 1.0}}
    assert tallied["GetItem"]["capacityUnits"] == 1.0
    assert tallied["Query"] == {"capacityUnits": 0.5, "table": 0.0, "indexes": {}}
    assert tallied["TransactWriteItems"]["capacityUnits"] == 4.0  # transactional: doubled


def test_without_capacity_accounting_answers_stream_through_unread(router: EdgeRouter) -> None:
    dynamodb = client("dynamodb", router)
    table = indexed_table(dynamodb)
    accounting(router, {"consumedCapacity": False})

    dynamodb.put_item(TableName=table, Item={"pk": {"S": "a"}, "kind": {"S": "job"}})

    assert accounting(router)["consumedCapacity"] == {}


def test_sqs_polls_that_find_nothing_are_counted_apart(router: EdgeRouter) -> None:
    sqs = client("sqs", router)
    url = sqs.create_queue(QueueName=f"accounting-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    received = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)

    counts = accounting(router)

    assert [m["Body"] for m in received["Messages"]] == ["hello"]
    assert counts["requests"]["sqs"]["ReceiveMessage"] == 2
    assert counts["emptyPolls"] == {"sqs": {"ReceiveMessage": 1}}


def test_eventbridge_deliveries_to_targets_are_counted_as_deliveries(router: EdgeRouter) -> None:
    events, sqs = client("events", router), client("sqs", router)
    name = f"accounting-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.create_event_bus(Name=name)
    events.put_rule(Name=name, EventBusName=name, EventPattern=json.dumps({"source": ["bench"]}))
    events.put_targets(Rule=name, EventBusName=name, Targets=[{"Id": "q", "Arn": arn}])
    accounting(router, {"reset": True})

    events.put_events(
        Entries=[{"Source": "bench", "DetailType": "Tick", "Detail": "{}", "EventBusName": name}]
    )

    counts = accounting(router)
    assert counts["requests"] == {"events": {"PutEvents": 1}}
    assert counts["deliveries"] == {"sqs": {"SendMessage": 1}}


# -- the pure parts ----------------------------------------------------------------------


def test_a_caller_that_asked_for_capacity_keeps_its_request_and_answer() -> None:
    body = json.dumps({"TableName": "t", "ReturnConsumedCapacity": "TOTAL"}).encode()
    answer = json.dumps({"ConsumedCapacity": {"CapacityUnits": 1.0}}).encode()

    assert ask_for_capacity(body) == (body, False)
    assert take_capacity(answer, injected=False) == (answer, {"CapacityUnits": 1.0})


def test_a_caller_that_did_not_ask_gets_its_answer_without_capacity() -> None:
    body, injected = ask_for_capacity(b'{"TableName": "t", "ReturnConsumedCapacity": "NONE"}')
    answer, consumed = take_capacity(
        b'{"Item": {}, "ConsumedCapacity": {"CapacityUnits": 1.0}}', injected=injected
    )

    assert injected
    assert json.loads(body)["ReturnConsumedCapacity"] == "INDEXES"
    assert json.loads(answer) == {"Item": {}}
    assert consumed == {"CapacityUnits": 1.0}


@pytest.mark.parametrize(
    ("service", "operation", "body", "empty"),
    [
        ("sqs", "ReceiveMessage", b"{}", True),
        ("sqs", "ReceiveMessage", b'{"Messages": []}', True),
        ("sqs", "ReceiveMessage", b'{"Messages": [{"Body": "x"}]}', False),
        ("sqs", "ReceiveMessage", b"<ReceiveMessageResult/>", True),
        ("sqs", "ReceiveMessage", b"<R><Message><Body>x</Body></Message></R>", False),
        ("dynamodbstreams", "GetRecords", b'{"Records": [], "NextShardIterator": "i"}', True),
        ("sqs", "ReceiveMessage", b"not json", None),
        ("sqs", "SendMessage", b"{}", None),
    ],
)
def test_which_polls_found_nothing(
    service: str, operation: str, body: bytes, empty: bool | None
) -> None:
    assert polled_nothing(service, operation, body) is empty


def test_batch_capacity_is_tallied_by_table_and_index() -> None:
    counts = RequestAccounting()
    counts.add_capacity(
        "TransactWriteItems",
        [
            {"TableName": "a", "CapacityUnits": 6.0, "Table": {"CapacityUnits": 2.0},
             "GlobalSecondaryIndexes": {"i": {"CapacityUnits": 4.0}}},
            {"TableName": "b", "CapacityUnits": 2.0},
        ],
    )  # fmt: skip

    tallied = counts.snapshot()["consumedCapacity"]

    assert tallied["a"]["TransactWriteItems"] == {
        "capacityUnits": 6.0,
        "table": 2.0,
        "indexes": {"i": 4.0},
    }
    assert tallied["b"]["TransactWriteItems"]["capacityUnits"] == 2.0


@pytest.mark.parametrize("change", [{"consumedCapacity": "false"}, ["reset"]])
def test_a_malformed_change_is_refused_and_changes_nothing(router: EdgeRouter, change: Any) -> None:
    before = accounting(router)["consumedCapacityAccounting"]
    with pytest.raises(urllib.error.HTTPError) as refused:
        accounting(router, change)
    assert refused.value.code == 400
    assert accounting(router)["consumedCapacityAccounting"] is before

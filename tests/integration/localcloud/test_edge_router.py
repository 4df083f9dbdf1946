"""The edge router as every client's one endpoint: each service reaches its backend.

Real servers: DynamoDB Local, moto in server mode, the router on a free port; boto3
clients (and the aws CLI, when installed) with ``endpoint_url`` set to the router.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
import urllib3
from botocore import UNSIGNED
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from localcloud.dynamodb_local import DynamoDBLocal, local_client
from localcloud.edge.http_server import HttpServer, Response
from localcloud.edge_router import EdgeRouter

pytestmark = pytest.mark.dynamodb

REGION = "us-east-1"


def client(service: str, endpoint: str, **config: Any) -> Any:
    return local_client(
        endpoint, service, Config(**{"retries": {"total_max_attempts": 1}, **config})
    )


@pytest.fixture(scope="module")
def router(dynamodb_local: DynamoDBLocal, moto_endpoint: str) -> Iterator[EdgeRouter]:
    with EdgeRouter(dynamodb_local.endpoint_url, moto_endpoint, port=0) as running:
        yield running


@pytest.fixture(scope="module")
def endpoint(router: EdgeRouter) -> str:
    return router.endpoint_url


def new_table(dynamodb: Any, **extra: Any) -> str:
    name = f"edge-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )
    return name


def test_dynamodb_items_and_transactions_reach_dynamodb_local(
    endpoint: str, dynamodb_local: DynamoDBLocal
) -> None:
    dynamodb = client("dynamodb", endpoint)
    table = new_table(dynamodb)

    dynamodb.put_item(TableName=table, Item={"pk": {"S": "job-1"}, "status": {"S": "OPEN"}})
    dynamodb.transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": table,
                    "Key": {"pk": {"S": "job-1"}},
                    "UpdateExpression": "SET #s = :closed",
                    "ConditionExpression": "#s = :open",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {
                        ":open": {"S": "OPEN"},
                        ":closed": {"S": "CLOSED"},
                    },
                }
            },
            {"Put": {"TableName": table, "Item": {"pk": {"S": "app-1"}}}},
        ]
    )
    with pytest.raises(ClientError) as cancelled:
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": {"pk": {"S": "job-1"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            ]
        )

    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    direct = dynamodb_local.client()  # the same data, seen without the router
    item = direct.get_item(TableName=table, Key={"pk": {"S": "job-1"}})["Item"]
    assert item["status"] == {"S": "CLOSED"}


def test_dynamodb_streams_reach_dynamodb_local(endpoint: str) -> None:
    dynamodb = client("dynamodb", endpoint)
    table = new_table(
        dynamodb, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    )
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "job-2"}})
    streams = client("dynamodbstreams", endpoint)

    stream_arn = streams.list_streams(TableName=table)["Streams"][0]["StreamArn"]
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]

    assert [r["dynamodb"]["NewImage"]["pk"] for r in records] == [{"S": "job-2"}]


def test_sqs_json_protocol_hands_out_queue_urls_on_the_router(endpoint: str) -> None:
    sqs = client("sqs", endpoint)
    url = sqs.create_queue(QueueName=f"edge-{uuid.uuid4().hex[:8]}")["QueueUrl"]

    sqs.send_message(QueueUrl=url, MessageBody="json protocol")

    assert url.startswith(endpoint + "/")  # later calls come back through the router
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "json protocol"


def signed(endpoint: str, service: str, body: dict[str, str]) -> urllib3.BaseHTTPResponse:
    """A SigV4-signed query-protocol POST, as older SDKs and the CLI v1 send it."""
    request = AWSRequest(
        method="POST",
        url=endpoint + "/",
        data=urllib.parse.urlencode(body),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(Credentials("testing", "testing"), service, REGION).add_auth(request)
    return urllib3.request(
        "POST", request.url, body=request.body, headers=dict(request.headers.items())
    )


def test_sqs_query_protocol_reaches_moto(endpoint: str) -> None:
    sqs = client("sqs", endpoint)
    url = sqs.create_queue(QueueName=f"edge-{uuid.uuid4().hex[:8]}")["QueueUrl"]

    answer = signed(
        endpoint,
        "sqs",
        {"Action": "SendMessage", "Version": "2012-11-05", "QueueUrl": url, "MessageBody": "q"},
    )

    assert answer.status == 200
    assert b"<MessageId>" in answer.data
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "q"


def test_sns_publishes_to_its_subscribers(endpoint: str) -> None:
    sns, sqs = client("sns", endpoint), client("sqs", endpoint)
    topic = sns.create_topic(Name=f"edge-{uuid.uuid4().hex[:8]}")["TopicArn"]
    url = sqs.create_queue(QueueName=f"edge-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)

    sns.publish(TopicArn=topic, Message="booked")

    body = json.loads(sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"])
    assert body["Message"] == "booked"


def test_eventbridge_control_plane_passes_through(endpoint: str) -> None:
    events = client("events", endpoint)
    bus = f"edge-{uuid.uuid4().hex[:8]}"
    events.create_event_bus(Name=bus)
    events.put_rule(Name="r", EventBusName=bus, EventPattern='{"source": ["x"]}')

    assert [rule["Name"] for rule in events.list_rules(EventBusName=bus)["Rules"]] == ["r"]


def test_cognito_unauthenticated_initiate_auth(endpoint: str) -> None:
    cognito = client("cognito-idp", endpoint)
    pool = cognito.create_user_pool(PoolName=f"edge-{uuid.uuid4().hex[:8]}")["UserPool"]["Id"]
    app = cognito.create_user_pool_client(
        UserPoolId=pool, ClientName="app", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    cognito.admin_create_user(UserPoolId=pool, Username="ann", MessageAction="SUPPRESS")
    cognito.admin_set_user_password(
        UserPoolId=pool, Username="ann", Password="Passw0rd!x", Permanent=True
    )
    # An app signing in has no AWS credentials: no Authorization header at all.
    anonymous = boto3.client(
        "cognito-idp",
        endpoint_url=endpoint,
        region_name=REGION,
        config=Config(signature_version=UNSIGNED, proxies={}),
    )

    answer = anonymous.initiate_auth(
        ClientId=app,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "ann", "PASSWORD": "Passw0rd!x"},
    )

    assert answer["AuthenticationResult"]["IdToken"].count(".") == 2


def test_s3_presigned_urls_and_large_bodies_stream_through(endpoint: str) -> None:
    s3 = client("s3", endpoint, s3={"addressing_style": "path"}, signature_version="s3v4")
    bucket = f"edge-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    payload = os.urandom(3 * 1024 * 1024)  # above the router's single-write limit
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "blob"})
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "blob"})

    assert "X-Amz-Credential" in put_url  # routed by the presigned credential scope
    assert urllib3.request("PUT", put_url, body=payload).status == 200
    fetched = urllib3.request("GET", get_url)

    assert fetched.status == 200
    assert fetched.data == payload


def test_raw_http_keep_alive_chunked_bodies_and_health(router: EdgeRouter) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", router.port, timeout=5)
    try:
        connection.request("GET", "/_localcloud/health")
        health = connection.getresponse()
        assert (health.status, json.loads(health.read())) == (200, {"status": "running"})

        # Same connection, chunked request body (no Content-Length), a JSON-protocol call.
        connection.request(
            "POST",
            "/",
            body=iter([b'{"TableName": ', b'"nope"}']),
            headers={
                "X-Amz-Target": "DynamoDB_20120810.DescribeTable",
                "Content-Type": "application/x-amz-json-1.0",
                "Authorization": "AWS4-HMAC-SHA256 Credential=local/20240101/us-east-1/"
                "dynamodb/aws4_request, SignedHeaders=host, Signature=0",
            },
            encode_chunked=True,
        )
        missing = connection.getresponse()
        assert missing.status == 400
        assert b"ResourceNotFoundException" in missing.read()
    finally:
        connection.close()


def test_an_unreachable_backend_answers_502(dynamodb_local: DynamoDBLocal) -> None:
    with (
        EdgeRouter(dynamodb_local.endpoint_url, "http://127.0.0.1:9", port=0) as broken,
        pytest.raises(ClientError) as unreachable,
    ):
        client("sqs", broken.endpoint_url).list_queues()
    assert unreachable.value.response["ResponseMetadata"]["HTTPStatusCode"] == 502


def test_stop_ends_idle_keep_alive_connections_and_leaves_no_threads(
    dynamodb_local: DynamoDBLocal, moto_endpoint: str
) -> None:
    before = {thread.ident for thread in threading.enumerate()}
    router = EdgeRouter(dynamodb_local.endpoint_url, moto_endpoint, port=0).start()
    dynamodb = client("dynamodb", router.endpoint_url)
    for _ in range(3):  # botocore keeps its connection open afterwards
        dynamodb.list_tables(Limit=1)

    started = time.monotonic()
    router.stop()

    assert time.monotonic() - started < 2
    leftover = [t.name for t in threading.enumerate() if t.ident not in before]
    assert leftover == []
    router.stop()  # twice is fine


def _overhead_ms(direct: Callable[[], object], routed: Callable[[], object]) -> tuple[float, float]:
    """Median milliseconds of each, sampled alternately so warm-up and noise hit both alike."""
    for _ in range(50):
        direct()
        routed()
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(300):
        for call, times in zip((direct, routed), samples, strict=True):
            started = time.perf_counter()
            call()
            times.append(time.perf_counter() - started)
    return statistics.median(samples[0]) * 1000, statistics.median(samples[1]) * 1000


def test_proxy_overhead_per_request_is_small(
    endpoint: str, dynamodb_local: DynamoDBLocal, capsys: pytest.CaptureFixture[str]
) -> None:
    pool = urllib3.PoolManager()
    body = json.dumps({"Limit": 1}).encode()
    headers = {
        "X-Amz-Target": "DynamoDB_20120810.ListTables",
        "Content-Type": "application/x-amz-json-1.0",
        "Authorization": "AWS4-HMAC-SHA256 Credential=local/20240101/us-east-1/dynamodb/"
        "aws4_request, SignedHeaders=host, Signature=0",
    }

    def via(base: str) -> Callable[[], object]:
        return lambda: pool.request("POST", base + "/", body=body, headers=headers)

    # The router's own cost, against a backend that answers at once (no JVM, no work).
    stub = HttpServer("127.0.0.1", 0, lambda request: Response(200, [], b'{"TableNames":[]}'))
    stub.start()
    try:
        with EdgeRouter(f"http://127.0.0.1:{stub.port}", "http://127.0.0.1:9", port=0) as bare:
            stub_direct, stub_routed = _overhead_ms(
                via(f"http://127.0.0.1:{stub.port}"), via(bare.endpoint_url)
            )
    finally:
        stub.stop()
    ddb_direct, ddb_routed = _overhead_ms(via(dynamodb_local.endpoint_url), via(endpoint))

    with capsys.disabled():
        print(
            f"\nper-request medians: stub backend direct {stub_direct:.2f} ms, routed "
            f"{stub_routed:.2f} ms (+{stub_routed - stub_direct:.2f}); DynamoDB Local "
            f"ListTables direct {ddb_direct:.2f} ms, routed {ddb_routed:.2f} ms "
            f"({ddb_routed - ddb_direct:+.2f})"
        )
    # Generous bounds: the point is a pooled pass-through, not a connection per request.
    assert stub_routed - stub_direct < 2.0
    assert ddb_routed - ddb_direct < 3.0

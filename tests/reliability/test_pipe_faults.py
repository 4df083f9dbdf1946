"""The JobClosed pipe against a bus that fails for a while: nothing lost, nothing doubled.

In-process DynamoDB Local (its stream) and moto (bus, queues), the stack's own pipe
properties (``stacks.constants``: batch size 10, 10 retries, bisect, DLQ) with fast
backoff, and ``BusProxy`` (tests/support), a proxy in front of moto that answers
PutEvents with HTTP 500 while told to. tests/integration/localcloud/test_pipe_runner.py
already proves a single booking's path (retries exhausted -> one DLQ message; an
unreachable bus; a restart); this adds many bookings across a short and a long outage,
and counts them.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from events_schema.job_closed_pipe import DETAIL_TYPE, FILTER_PATTERN, INPUT_TEMPLATE, SOURCE
from localcloud.dynamodb_local import DynamoDBLocal, local_client
from localcloud.pipe_runner import Backoff, PipeConfig, PipeRunner
from stacks.constants import (
    PIPE_BATCH_SIZE,
    PIPE_MAXIMUM_RECORD_AGE_SECONDS,
    PIPE_MAXIMUM_RETRY_ATTEMPTS,
    PIPE_STARTING_POSITION,
)
from tests.support.bus_proxy import BusProxy
from tests.unit.events import stream_records as items

pytestmark = pytest.mark.dynamodb

REGION = "us-east-1"
SHORT_OUTAGE_CALLS = 6  # fewer failed PutEvents in a row than 1 + MaximumRetryAttempts
BOOKINGS = 10


def aws(service: str, endpoint: str) -> Any:
    return local_client(endpoint, service)


@dataclass
class Rig:
    dynamodb: Any
    sqs: Any
    table: str
    delivered_url: str
    dlq_url: str
    runner: PipeRunner
    bus: BusProxy

    def book(self) -> str:
        """A job posted then booked: an INSERT and one OPEN -> CLOSED MODIFY record."""
        job = items.job()
        self.dynamodb.put_item(TableName=self.table, Item=items.job_image(job))
        application = items.application(job, "nanny-bea")
        closed = items.closed_job_image(job, application, f"corr-{uuid.uuid4().hex[:6]}")
        self.dynamodb.put_item(TableName=self.table, Item=closed)
        return str(job.id)

    def drain(self, url: str) -> list[dict[str, Any]]:
        bodies: list[dict[str, Any]] = []
        while True:
            answer = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
            messages = answer.get("Messages", [])
            if not messages:
                return bodies
            for message in messages:
                bodies.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    moto_url = f"http://{host}:{port}"
    bus = BusProxy(moto_url)
    with DynamoDBLocal() as database:
        dynamodb = database.client()
        table = f"pipe-faults-{uuid.uuid4().hex[:8]}"
        dynamodb.create_table(
            TableName=table,
            AttributeDefinitions=[
                {"AttributeName": "PK", "AttributeType": "S"},
                {"AttributeName": "SK", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "PK", "KeyType": "HASH"},
                {"AttributeName": "SK", "KeyType": "RANGE"},
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        stream_arn = dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
        sqs, events = aws("sqs", moto_url), aws("events", moto_url)
        suffix = uuid.uuid4().hex[:8]
        queues = {}
        for kind in ("delivered", "dlq"):
            url = sqs.create_queue(QueueName=f"{kind}-{suffix}")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
            queues[kind] = (url, arn["Attributes"]["QueueArn"])
        bus_name = f"bus-{suffix}"
        bus_arn = events.create_event_bus(Name=bus_name)["EventBusArn"]
        events.put_rule(
            Name="everything",
            EventBusName=bus_name,
            EventPattern=json.dumps({"account": [{"exists": True}]}),
        )
        events.put_targets(
            Rule="everything",
            EventBusName=bus_name,
            Targets=[{"Id": "queue", "Arn": queues["delivered"][1]}],
        )
        properties = {
            "Source": stream_arn,
            "Target": bus_arn,
            "DesiredState": "RUNNING",
            "SourceParameters": {
                "DynamoDBStreamParameters": {
                    "StartingPosition": PIPE_STARTING_POSITION,
                    "BatchSize": PIPE_BATCH_SIZE,
                    "MaximumRetryAttempts": PIPE_MAXIMUM_RETRY_ATTEMPTS,
                    "MaximumRecordAgeInSeconds": PIPE_MAXIMUM_RECORD_AGE_SECONDS,
                    "OnPartialBatchItemFailure": "AUTOMATIC_BISECT",
                    "DeadLetterConfig": {"Arn": queues["dlq"][1]},
                },
                "FilterCriteria": {"Filters": [{"Pattern": json.dumps(FILTER_PATTERN)}]},
            },
            "TargetParameters": {
                "InputTemplate": INPUT_TEMPLATE,
                "EventBridgeEventBusParameters": {"Source": SOURCE, "DetailType": DETAIL_TYPE},
            },
        }
        config = PipeConfig.from_properties("JobClosed", properties, lambda arn: queues["dlq"][0])
        runner = PipeRunner(
            config,
            dynamodb_endpoint=database.endpoint_url,
            events_endpoint=bus.endpoint,
            sqs_endpoint=moto_url,
            state_dir=tmp_path / "pipes",
            backoff=Backoff(initial=0.01, maximum=0.05),
            poll_interval=0.02,
        ).start()
        try:
            yield Rig(dynamodb, sqs, table, queues["delivered"][0], queues["dlq"][0], runner, bus)
        finally:
            runner.stop()
            bus.close()
            moto.stop()


def settle(rig: Rig, records: int, seconds: float = 30.0) -> None:
    """Wait until the runner has read ``records`` records and dealt with each of them."""
    deadline = time.monotonic() + seconds
    while True:
        stats = rig.runner.stats
        dealt = stats.records_filtered_out + stats.records_delivered + stats.records_sent_to_dlq
        if stats.records_read == records and dealt == records:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the pipe did not settle on {records} records: {stats}")
        time.sleep(0.05)


def test_a_bus_outage_loses_no_job_closed_and_doubles_none(rig: Rig) -> None:
    """Phase 1: the bus fails the next 6 PutEvents (fewer than 1 + 10 retries) while 10
    bookings are written. Phase 2: the bus is down for good while 10 more are written,
    until the pipe gives them up; then it is back for 10 more.

    Proves: every booking's JobClosed is on the bus exactly once, or (phase 2's outage
    only) counted in a DLQ message's ``batchSize``; delivered + dead-lettered = bookings,
    and no event arrives twice. Reports the PutEvents calls that failed and passed, the
    pipe's retries and DLQ messages.
    """
    rig.bus.fail_next = SHORT_OUTAGE_CALLS
    short = [rig.book() for _ in range(BOOKINGS)]
    settle(rig, 2 * BOOKINGS)
    phase1 = Counter(e["detail"]["data"]["jobId"] for e in rig.drain(rig.delivered_url))
    phase1_dlq = rig.drain(rig.dlq_url)
    stats1 = rig.runner.stats

    rig.bus.mode = "error"  # down
    lost = [rig.book() for _ in range(BOOKINGS)]
    settle(rig, 4 * BOOKINGS)
    rig.bus.mode = "pass"  # back
    later = [rig.book() for _ in range(BOOKINGS)]
    settle(rig, 6 * BOOKINGS)
    time.sleep(0.5)  # room for a duplicate, were one coming
    phase2 = Counter(e["detail"]["data"]["jobId"] for e in rig.drain(rig.delivered_url))
    dead = rig.drain(rig.dlq_url)
    dead_records = sum(m["DDBStreamBatchInfo"]["batchSize"] for m in dead)
    stats = rig.runner.stats
    figures = (
        f"short outage: {len(phase1)}/{BOOKINGS} delivered once, max copies "
        f"{max(phase1.values(), default=0)}, DLQ {len(phase1_dlq)}, retries {stats1.retries}; "
        f"long outage: delivered {len(phase2)} (of {2 * BOOKINGS}), max copies "
        f"{max(phase2.values(), default=0)}, DLQ messages {len(dead)} holding {dead_records} "
        f"records; PutEvents calls {dict(rig.bus.calls)}; pipe retries {stats.retries}, "
        f"records delivered {stats.records_delivered}, to DLQ {stats.records_sent_to_dlq}"
    )
    print(f"\nflaky bus: {figures}")
    assert phase1 == dict.fromkeys(short, 1), figures
    assert phase1_dlq == [], figures
    assert stats1.retries >= 1, figures
    assert phase2 == dict.fromkeys(later, 1), figures
    assert not set(phase2) & set(lost), figures
    assert dead_records == len(lost) == stats.records_sent_to_dlq, figures
    assert stats.records_delivered + stats.records_sent_to_dlq == 3 * BOOKINGS, figures

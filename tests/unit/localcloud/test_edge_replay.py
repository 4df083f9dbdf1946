"""Replay states: cancelling a running replay, and a replay cut short by a restart."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any, cast

from localcloud.edge.archive import ArchivedEvent, ArchiveKey, ArchiveStore
from localcloud.edge.backend import CallContext
from localcloud.edge.event_bus import ArchiveConfig, Bus
from localcloud.edge.replay import ReplayService
from localcloud.edge.targets import Rule
from localcloud.event_pattern import EventPattern

CONTEXT = CallContext("us-east-1", "local")
BUS_ARN = "arn:aws:events:us-east-1:123456789012:event-bus/jobs"
ARCHIVE_ARN = "arn:aws:events:us-east-1:123456789012:archive/jobs-archive"
KEY = ArchiveKey("us-east-1", "123456789012", "jobs-archive")
RULE = Rule(
    "Notify",
    "arn:aws:events:us-east-1:123456789012:rule/jobs/Notify",
    "jobs",
    "ENABLED",
    EventPattern({"source": ["booking"]}),
)


class GatedDelivery:
    """Blocks each delivery until the test lets it through."""

    def __init__(self) -> None:
        self.gate = threading.Semaphore(0)
        self.delivered: list[dict[str, Any]] = []
        self.waiting = threading.Event()

    def deliver(self, context: Any, rule: Any, target: Any, event: Any, **_: Any) -> None:
        self.waiting.set()
        self.gate.acquire(timeout=5)
        self.delivered.append(event)


class FakeEvents:
    def __init__(self) -> None:
        self.delivery = GatedDelivery()

    def read_archive(self, context: CallContext, name: str) -> ArchiveConfig:
        return ArchiveConfig(KEY, ARCHIVE_ARN, BUS_ARN, "ENABLED", 0, None)

    def read_bus(self, context: CallContext, name: str, *, with_archives: bool = True) -> Bus:
        return Bus("jobs", BUS_ARN, "123456789012", "us-east-1", [RULE], [])

    def targets(self, context: CallContext, bus: Bus, rule: Rule) -> list[dict[str, Any]]:
        return [{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:123456789012:q"}]


def state_of(service: ReplayService, name: str) -> str:
    return str(service.describe_replay(CONTEXT, {"ReplayName": name})["State"])


def wait_for(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_running_replay_can_be_cancelled(tmp_path: Path) -> None:
    store = ArchiveStore(tmp_path)
    store.append(
        KEY,
        [
            ArchivedEvent.of(
                {"id": f"e-{n}", "source": "booking", "time": "2024-05-01T12:00:00Z"},
                ingestion_time=time.time(),
                bus_arn=BUS_ARN,
            )
            for n in range(3)
        ],
    )
    events = FakeEvents()
    service = ReplayService(cast(Any, events), store, tmp_path)
    started = service.start_replay(
        CONTEXT,
        {
            "ReplayName": "r1",
            "EventSourceArn": ARCHIVE_ARN,
            "Destination": {"Arn": BUS_ARN},
            "EventStartTime": 0,
            "EventEndTime": time.time(),
        },
    )
    assert started["State"] == "STARTING"
    assert events.delivery.waiting.wait(5)
    assert state_of(service, "r1") == "RUNNING"

    cancelling = service.cancel_replay(CONTEXT, {"ReplayName": "r1"})
    events.delivery.gate.release()
    wait_for(lambda: state_of(service, "r1") == "CANCELLED")

    assert cancelling["State"] == "CANCELLING"
    assert state_of(service, "r1") == "CANCELLED"
    assert [event["id"] for event in events.delivery.delivered] == ["e-0"]
    assert events.delivery.delivered[0]["replay-name"] == "r1"
    assert service.stop() == []


def test_a_replay_running_when_the_router_stopped_is_failed_after_restart(
    tmp_path: Path,
) -> None:
    record = {
        "name": "r2",
        "arn": "arn:aws:events:us-east-1:123456789012:replay/r2",
        "region": "us-east-1",
        "access_key": "local",
        "event_source_arn": ARCHIVE_ARN,
        "destination": {"Arn": BUS_ARN},
        "event_start_time": 0.0,
        "event_end_time": 10.0,
        "replay_start_time": 5.0,
        "state": "RUNNING",
    }
    (tmp_path / "replays.json").write_text(json.dumps({"replays": [record]}))

    service = ReplayService(cast(Any, FakeEvents()), ArchiveStore(tmp_path), tmp_path)

    described = service.describe_replay(CONTEXT, {"ReplayName": "r2"})
    assert described["State"] == "FAILED"
    assert "stopped" in described["StateReason"]
    listed = service.list_replays(CONTEXT, {"State": "FAILED"})["Replays"]
    assert [replay["ReplayName"] for replay in listed] == ["r2"]

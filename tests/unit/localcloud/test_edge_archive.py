"""The edge router's archive store: JSON lines per archive, read back after a restart."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from localcloud.edge.archive import ArchivedEvent, ArchiveKey, ArchiveStore, event_time_seconds

KEY = ArchiveKey("us-east-1", "123456789012", "jobs-archive")
BUS = "arn:aws:events:us-east-1:123456789012:event-bus/jobs"


def event(number: int, at: str = "2024-05-01T12:00:00Z") -> dict[str, Any]:
    return {"id": f"e-{number}", "time": at, "source": "booking", "detail": {"n": number}}


def archived(number: int, ingested: float = 1000.0) -> ArchivedEvent:
    return ArchivedEvent.of(event(number), ingestion_time=ingested, bus_arn=BUS)


def test_events_survive_a_new_store_on_the_same_directory(tmp_path: Path) -> None:
    ArchiveStore(tmp_path).append(KEY, [archived(1), archived(2)])

    again = ArchiveStore(tmp_path)

    assert [item.event["id"] for item in again.events(KEY)] == ["e-1", "e-2"]
    assert (tmp_path / "archives" / "us-east-1" / "123456789012" / "jobs-archive.jsonl").exists()


def test_without_a_directory_events_live_in_memory() -> None:
    store = ArchiveStore(None)
    store.append(KEY, [archived(1)])

    assert len(store.events(KEY)) == 1
    assert store.events(ArchiveKey("us-east-1", "123456789012", "other")) == []


def test_stats_count_events_and_their_bytes(tmp_path: Path) -> None:
    store = ArchiveStore(tmp_path)
    store.append(KEY, [archived(1), archived(2)])

    count, size = store.stats(KEY)

    assert count == 2
    assert size == archived(1).size + archived(2).size > 0


def test_retention_drops_events_ingested_too_long_ago(tmp_path: Path) -> None:
    now = time.time()
    store = ArchiveStore(tmp_path)
    store.append(KEY, [archived(1, ingested=now - 3 * 86400), archived(2, ingested=now - 3600)])

    assert [item.event["id"] for item in store.events(KEY, retention_days=2)] == ["e-2"]
    assert len(store.events(KEY, retention_days=0)) == 2  # 0: kept forever


def test_a_line_cut_short_is_skipped(tmp_path: Path) -> None:
    ArchiveStore(tmp_path).append(KEY, [archived(1)])
    path = tmp_path / "archives" / "us-east-1" / "123456789012" / "jobs-archive.jsonl"
    with path.open("a") as file:
        file.write('{"eventTime": 1, "event": {"id"')

    assert [item.event["id"] for item in ArchiveStore(tmp_path).events(KEY)] == ["e-1"]


def test_delete_forgets_the_archive_and_its_file(tmp_path: Path) -> None:
    store = ArchiveStore(tmp_path)
    store.append(KEY, [archived(1)])

    store.delete(KEY)

    assert store.events(KEY) == []
    assert ArchiveStore(tmp_path).events(KEY) == []


def test_odd_archive_names_make_safe_file_names(tmp_path: Path) -> None:
    odd = ArchiveKey("us-east-1", "123456789012", "..")
    ArchiveStore(tmp_path).append(odd, [archived(1)])

    assert len(ArchiveStore(tmp_path).events(odd)) == 1
    assert all(tmp_path in path.parents for path in tmp_path.rglob("*.jsonl"))


def test_event_time_is_read_as_utc() -> None:
    assert event_time_seconds(event(1, "1970-01-02T00:00:00Z")) == 86400.0

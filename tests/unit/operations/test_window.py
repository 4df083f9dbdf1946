"""The replay window: parsing times, and the checks made before any AWS call."""

from __future__ import annotations

import datetime as dt

import pytest

from operations.replay import Window, parse_time, replay_window
from operations.stack import OperationsError

NOW = dt.datetime(2026, 5, 1, 12, 0, 30, 700000, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("30m", NOW - dt.timedelta(minutes=30)),
        ("-2h", NOW - dt.timedelta(hours=2)),
        ("1d", NOW - dt.timedelta(days=1)),
        ("45s", NOW - dt.timedelta(seconds=45)),
        ("2026-05-01T11:00:00Z", dt.datetime(2026, 5, 1, 11, tzinfo=dt.UTC)),
        ("2026-05-01T13:00:00+02:00", dt.datetime(2026, 5, 1, 11, tzinfo=dt.UTC)),
        ("2026-05-01 11:00", dt.datetime(2026, 5, 1, 11, tzinfo=dt.UTC)),  # naive: UTC
    ],
)
def test_times(text: str, expected: dt.datetime) -> None:
    assert parse_time(text, NOW) == expected


def test_a_time_that_is_not_one() -> None:
    with pytest.raises(OperationsError, match="not a time: 'yesterday'"):
        parse_time("yesterday", NOW)


def test_the_window_is_whole_seconds_and_ends_now_by_default() -> None:
    start = dt.datetime(2026, 5, 1, 11, 0, 0, 900000, tzinfo=dt.UTC)
    window, warnings = replay_window(start, None, now=NOW)
    assert window == Window(
        dt.datetime(2026, 5, 1, 11, tzinfo=dt.UTC),
        dt.datetime(2026, 5, 1, 12, 0, 30, tzinfo=dt.UTC),
    )
    assert warnings == []


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (NOW + dt.timedelta(minutes=1), None, "starts in the future"),
        (NOW - dt.timedelta(hours=1), NOW + dt.timedelta(minutes=5), "--to .* is in the future"),
        (NOW - dt.timedelta(hours=1), NOW - dt.timedelta(hours=2), "must be before --to"),
        (NOW - dt.timedelta(seconds=5), NOW - dt.timedelta(seconds=5), "must be before --to"),
    ],
    ids=["future-start", "future-end", "reversed", "empty"],
)
def test_wrong_windows_are_refused(
    start: dt.datetime, end: dt.datetime | None, message: str
) -> None:
    with pytest.raises(OperationsError, match=message):
        replay_window(start, end, now=NOW)


def test_warnings_past_retention_and_for_the_archive_delay_on_aws() -> None:
    start = NOW - dt.timedelta(days=40)
    _, local = replay_window(start, None, now=NOW, retention_days=30)
    assert len(local) == 1
    assert "keeps events 30 days" in local[0]
    _, aws = replay_window(NOW - dt.timedelta(hours=1), None, now=NOW, on_aws=True)
    assert len(aws) == 1
    assert "10 minutes" in aws[0]
    _, old_enough = replay_window(
        NOW - dt.timedelta(hours=1), NOW - dt.timedelta(minutes=11), now=NOW, on_aws=True
    )
    assert old_enough == []

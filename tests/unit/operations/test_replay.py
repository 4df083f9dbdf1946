"""StartReplay from the stack's archive, scoped to the chosen consumers' rules."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from operations.replay import ReplayRequest, run_replay
from operations.stack import OperationsError, StackOutputs
from tests.unit.operations.stubs import ARCHIVE, ARCHIVE_ARN, BUS_ARN, Stubs, rule_arn

NOW = dt.datetime(2026, 5, 1, 12, 0, 30, tzinfo=dt.UTC)
START = dt.datetime(2026, 5, 1, 11, 0, 0, 500000, tzinfo=dt.UTC)
END = dt.datetime(2026, 5, 1, 11, 30, tzinfo=dt.UTC)
WHOLE_START = START.replace(microsecond=0)


class Clock:
    """A monotonic clock that sleeping moves forward."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def archive(stubs: Stubs, **changes: Any) -> None:
    answer = {
        "ArchiveArn": ARCHIVE_ARN,
        "ArchiveName": ARCHIVE,
        "EventSourceArn": BUS_ARN,
        "State": "ENABLED",
        "RetentionDays": 30,
        "EventCount": 42,
        **changes,
    }
    stubs.events_stub.add_response("describe_archive", answer, {"ArchiveName": ARCHIVE})


def start(stubs: Stubs, name: str, filter_arns: list[str], description: str) -> None:
    stubs.events_stub.add_response(
        "start_replay",
        {"ReplayArn": f"arn:aws:events:us-east-1:123456789012:replay/{name}", "State": "STARTING"},
        {
            "ReplayName": name,
            "Description": description,
            "EventSourceArn": ARCHIVE_ARN,
            "EventStartTime": WHOLE_START,
            "EventEndTime": END,
            "Destination": {"Arn": BUS_ARN, "FilterArns": filter_arns},
        },
    )


def described(stubs: Stubs, name: str, state: str, **extra: Any) -> None:
    stubs.events_stub.add_response(
        "describe_replay", {"ReplayName": name, "State": state, **extra}, {"ReplayName": name}
    )


def test_a_replay_to_one_consumer_goes_to_its_rule_only(
    stubs: Stubs, outputs: StackOutputs
) -> None:
    archive(stubs)
    stubs.routing()
    start(stubs, "r1", [rule_arn("DeclineRule")], "operations replay to DeclineOtherApplications")
    described(stubs, "r1", "RUNNING")
    last = dt.datetime(2026, 5, 1, 11, 20, tzinfo=dt.UTC)
    described(stubs, "r1", "COMPLETED", StateReason="done", EventLastReplayedTime=last)
    clock = Clock()

    report = run_replay(
        stubs.clients(),
        outputs,
        ReplayRequest(START, END, consumers=["DeclineOtherApplications"], name="r1"),
        now=NOW,
        sleep=clock.sleep,
        clock=clock,
    )

    stubs.assert_done()
    assert report.succeeded
    assert clock.sleeps == [1.0]
    shown = report.as_dict()
    assert shown["state"] == "COMPLETED"
    assert shown["stateReason"] == "done"
    assert shown["eventStartTime"] == "2026-05-01T11:00:00Z"  # whole seconds
    assert shown["eventEndTime"] == "2026-05-01T11:30:00Z"
    assert shown["eventLastReplayedTime"] == "2026-05-01T11:20:00Z"
    assert shown["consumers"] == ["DeclineOtherApplications"]
    assert shown["filterArns"] == [rule_arn("DeclineRule")]
    assert shown["archive"]["eventCount"] == 42
    assert shown["warnings"] == []


def test_by_default_every_consumer_and_no_waiting(stubs: Stubs, outputs: StackOutputs) -> None:
    archive(stubs)
    stubs.routing()
    start(
        stubs,
        "r2",
        sorted([rule_arn("DeclineRule"), rule_arn("NotifyRule")]),
        "operations replay to DeclineOtherApplications, NotifyAcceptedApplicant",
    )
    report = run_replay(
        stubs.clients(), outputs, ReplayRequest(START, END, wait=False, name="r2"), now=NOW
    )
    stubs.assert_done()
    assert report.succeeded
    assert (report.state, report.waited) == ("STARTING", False)


def test_a_wait_that_runs_out_says_so(stubs: Stubs, outputs: StackOutputs) -> None:
    archive(stubs)
    stubs.routing()
    start(stubs, "r3", [rule_arn("NotifyRule")], "operations replay to NotifyAcceptedApplicant")
    for _ in range(3):
        described(stubs, "r3", "RUNNING")
    clock = Clock()
    report = run_replay(
        stubs.clients(),
        outputs,
        ReplayRequest(START, END, ["NotifyAcceptedApplicant"], timeout_seconds=2, name="r3"),
        now=NOW,
        sleep=clock.sleep,
        clock=clock,
    )
    assert (report.state, report.timed_out, report.succeeded) == ("RUNNING", True, False)


def test_a_failed_replay_is_not_a_success(stubs: Stubs, outputs: StackOutputs) -> None:
    archive(stubs)
    stubs.routing()
    start(stubs, "r4", [rule_arn("NotifyRule")], "operations replay to NotifyAcceptedApplicant")
    described(stubs, "r4", "FAILED", StateReason="boom")
    report = run_replay(
        stubs.clients(),
        outputs,
        ReplayRequest(START, END, ["NotifyAcceptedApplicant"], name="r4"),
        now=NOW,
    )
    assert (report.state, report.state_reason, report.succeeded) == ("FAILED", "boom", False)


def test_an_unknown_consumer_costs_no_call(stubs: Stubs, outputs: StackOutputs) -> None:
    with pytest.raises(OperationsError, match="valid: DeclineOtherApplications, NotifyAccepted"):
        run_replay(stubs.clients(), outputs, ReplayRequest(START, END, ["Decline"]), now=NOW)


def test_a_missing_archive(stubs: Stubs, outputs: StackOutputs) -> None:
    stubs.events_stub.add_client_error(
        "describe_archive", "ResourceNotFoundException", "Archive does not exist."
    )
    with pytest.raises(OperationsError, match=f"the archive {ARCHIVE} does not exist"):
        run_replay(stubs.clients(), outputs, ReplayRequest(START, END), now=NOW)


def test_an_archive_of_another_bus(stubs: Stubs, outputs: StackOutputs) -> None:
    archive(stubs, EventSourceArn="arn:aws:events:us-east-1:123456789012:event-bus/other")
    with pytest.raises(OperationsError, match="does not match the deployment"):
        run_replay(stubs.clients(), outputs, ReplayRequest(START, END), now=NOW)


def test_a_window_in_the_future_costs_only_the_archive_lookup(
    stubs: Stubs, outputs: StackOutputs
) -> None:
    archive(stubs)
    with pytest.raises(OperationsError, match="starts in the future"):
        run_replay(
            stubs.clients(),
            outputs,
            ReplayRequest(NOW + dt.timedelta(hours=1)),
            now=NOW,
        )
    stubs.assert_done()


def test_a_consumer_whose_rule_lost_its_target(stubs: Stubs, outputs: StackOutputs) -> None:
    archive(stubs)
    stubs.routing(decline_target=False)
    with pytest.raises(OperationsError, match="put it back first"):
        run_replay(
            stubs.clients(),
            outputs,
            ReplayRequest(START, END, ["DeclineOtherApplications"]),
            now=NOW,
        )


def test_on_aws_a_recent_window_and_a_disabled_archive_warn(
    stubs: Stubs, outputs: StackOutputs
) -> None:
    archive(stubs, State="DISABLED")
    stubs.routing()
    recent_end = NOW - dt.timedelta(minutes=1)
    stubs.events_stub.add_response(
        "start_replay",
        {"ReplayArn": "arn:aws:events:us-east-1:123456789012:replay/r5", "State": "STARTING"},
        {
            "ReplayName": "r5",
            "Description": "operations replay to NotifyAcceptedApplicant",
            "EventSourceArn": ARCHIVE_ARN,
            "EventStartTime": WHOLE_START,
            "EventEndTime": recent_end,
            "Destination": {"Arn": BUS_ARN, "FilterArns": [rule_arn("NotifyRule")]},
        },
    )
    report = run_replay(
        stubs.clients(endpoint_url=None),
        outputs,
        ReplayRequest(START, recent_end, ["NotifyAcceptedApplicant"], wait=False, name="r5"),
        now=NOW,
    )
    assert len(report.warnings) == 2
    assert "10 minutes" in report.warnings[0]
    assert "DISABLED" in report.warnings[1]

"""The command line: options, output, exit statuses and error messages."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from operations import cli
from operations.stack import Clients
from tests.unit.operations.stubs import OUTPUTS, Stubs, queue_url


@pytest.fixture
def outputs_file(tmp_path: Path) -> Path:
    path = tmp_path / "cdk-outputs.json"
    path.write_text(json.dumps({"NannyBooking": OUTPUTS}))
    return path


@pytest.fixture
def connected(stubs: Stubs, monkeypatch: pytest.MonkeyPatch) -> Stubs:
    """The command line gets the stubbed clients; the endpoint it asked for is recorded."""
    asked: list[str | None] = []

    def connect(endpoint_url: str | None, region: str | None) -> Clients:
        asked.append(endpoint_url)
        return stubs.clients(endpoint_url)

    monkeypatch.setattr(Clients, "connect", connect)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    stubs.asked = asked  # type: ignore[attr-defined]
    return stubs


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return cli.main(list(argv), stdout=out), out.getvalue()


def list_calls(stubs: Stubs) -> None:
    stubs.routing(with_target_dlqs=True)
    for name in ("DeclineQueueTargetDLQ", "NotifyQueueTargetDLQ"):
        stubs.sqs_stub.add_response(
            "get_queue_url",
            {"QueueUrl": queue_url(name)},
            {"QueueName": name, "QueueOwnerAWSAccountId": "123456789012"},
        )
    for name, visible in (
        ("DeclineDLQ", 2),
        ("DeclineQueueTargetDLQ", 0),
        ("NotifyDLQ", 0),
        ("NotifyQueueTargetDLQ", 0),
        ("PipeDLQ", 1),
    ):
        stubs.counts(name, visible=visible)


def test_dlq_list_as_a_table(connected: Stubs, outputs_file: Path) -> None:
    list_calls(connected)
    status, text = run("dlq", "list", "--outputs", str(outputs_file))
    assert status == 0
    lines = text.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "MESSAGES", "IN", "FLIGHT", "REDRIVE"]
    assert lines[1].split() == [
        "DeclineOtherApplicationsDeadLetterQueue", "consumer", "2", "0", "DeclineQueue"
    ]  # fmt: skip
    assert lines[5].split()[:4] == ["PipeDeadLetterQueue", "pipe", "1", "0"]
    assert connected.asked == [None]  # type: ignore[attr-defined]  # AWS outputs: AWS


def test_options_before_the_command_and_json(connected: Stubs, outputs_file: Path) -> None:
    list_calls(connected)
    status, text = run(
        "--outputs", str(outputs_file), "--endpoint-url", "http://127.0.0.1:4566", "--json",
        "dlq", "list",
    )  # fmt: skip
    assert status == 0
    listed = json.loads(text)["deadLetterQueues"]
    assert [q["name"] for q in listed] == [
        "DeclineOtherApplicationsDeadLetterQueue",
        "DeclineOtherApplicationsTargetDeadLetterQueue",
        "NotifyAcceptedApplicantDeadLetterQueue",
        "NotifyAcceptedApplicantTargetDeadLetterQueue",
        "PipeDeadLetterQueue",
    ]
    assert connected.asked == ["http://127.0.0.1:4566"]  # type: ignore[attr-defined]


def test_an_unknown_consumer_is_an_error_with_the_valid_ones(
    connected: Stubs, outputs_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, text = run(
        "replay", "--from", "1h", "--consumer", "Nope", "--outputs", str(outputs_file)
    )
    assert (status, text) == (1, "")
    assert "valid: DeclineOtherApplications, NotifyAcceptedApplicant" in capsys.readouterr().err


def test_redriving_the_pipe_dlq_points_to_the_runbook(
    connected: Stubs, outputs_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _ = run("dlq", "redrive", "Pipe", "--outputs", str(outputs_file))
    assert status == 1
    assert "runbook 'A stuck pipe'" in capsys.readouterr().err


def test_aws_errors_are_reported_without_a_traceback(
    connected: Stubs, outputs_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    connected.events_stub.add_client_error("describe_archive", "AccessDeniedException", "nope")
    status, _ = run("replay", "--from", "1h", "--outputs", str(outputs_file))
    assert status == 1
    assert "AWS refused DescribeArchive: AccessDeniedException: nope" in capsys.readouterr().err


def test_a_missing_outputs_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _ = run("dlq", "list", "--outputs", str(tmp_path / "none.json"))
    assert status == 1
    assert "make deploy" in capsys.readouterr().err


def test_a_redrive_with_failures_exits_3(connected: Stubs, outputs_file: Path) -> None:
    connected.sqs_stub.add_response(
        "receive_message",
        {"Messages": [{"MessageId": "m1", "ReceiptHandle": "h1", "Body": "x"}]},
    )
    connected.sqs_stub.add_response(
        "send_message_batch",
        {"Successful": [], "Failed": [{"Id": "0", "SenderFault": True, "Code": "Bad"}]},
    )
    connected.sqs_stub.add_response(
        "receive_message",
        {"Messages": [{"MessageId": "m1", "ReceiptHandle": "h2", "Body": "x"}]},
    )
    connected.counts("DeclineDLQ", visible=1)
    status, text = run(
        "dlq", "redrive", "DeclineOtherApplications", "--method", "copy",
        "--outputs", str(outputs_file),
    )  # fmt: skip
    assert status == 3
    assert "moved 0, failed 1, left in the DLQ 1" in text
    assert "failed: m1: Bad: no message" in text

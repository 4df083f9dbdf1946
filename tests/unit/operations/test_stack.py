"""Finding the stack: the outputs file, its consumers, the endpoint, the clients."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from operations.stack import (
    Clients,
    Consumer,
    OperationsError,
    StackOutputs,
    consumers_of,
    default_outputs_file,
    resolve_endpoint,
)
from tests.unit.operations.stubs import OUTPUTS, queue_url

LOCAL_URLS = {
    "Region": "us-east-1",
    "PipeDeadLetterQueueUrl": "http://127.0.0.1:41585/123456789012/PipeDLQ",
    "DeclineOtherApplicationsQueueUrl": "http://127.0.0.1:41585/123456789012/Q",
    "DeclineOtherApplicationsDeadLetterQueueUrl": "http://127.0.0.1:41585/123456789012/D",
}


def test_consumers_are_found_from_the_output_keys() -> None:
    assert consumers_of(OUTPUTS) == [
        Consumer("DeclineOtherApplications", queue_url("DeclineQueue"), queue_url("DeclineDLQ")),
        Consumer("NotifyAcceptedApplicant", queue_url("NotifyQueue"), queue_url("NotifyDLQ")),
    ]


def test_a_new_consumer_is_found_without_any_code_change() -> None:
    outputs = {**OUTPUTS, "AuditTrailQueueUrl": "q", "AuditTrailDeadLetterQueueUrl": "d"}
    assert [c.name for c in consumers_of(outputs)] == [
        "AuditTrail",
        "DeclineOtherApplications",
        "NotifyAcceptedApplicant",
    ]


def test_an_unknown_consumer_lists_the_valid_ones() -> None:
    with pytest.raises(OperationsError, match="valid: DeclineOtherApplications, Notify"):
        StackOutputs(OUTPUTS).consumer("Decline")


@pytest.mark.parametrize(
    "document",
    [
        {"NannyBooking": OUTPUTS},
        {"Other": {"Region": "eu-west-1"}, "NannyBooking": OUTPUTS},
        {"Renamed": OUTPUTS},
        OUTPUTS,
    ],
    ids=["cdk", "several-stacks", "one-stack", "flat"],
)
def test_outputs_files_as_cdk_and_the_local_cloud_write_them(
    tmp_path: Path, document: dict[str, object]
) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(document))
    loaded = StackOutputs.load(path)
    assert (loaded.values, loaded.path, loaded.region) == (OUTPUTS, path, "us-east-1")


def test_outputs_file_errors_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(OperationsError, match="make deploy"):
        StackOutputs.load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(OperationsError, match="not JSON"):
        StackOutputs.load(tmp_path / "bad.json")
    (tmp_path / "two.json").write_text(json.dumps({"A": {}, "B": {}}))
    with pytest.raises(OperationsError, match="none of them NannyBooking"):
        StackOutputs.load(tmp_path / "two.json")
    with pytest.raises(OperationsError, match="no output ArchiveName"):
        StackOutputs({}).require("ArchiveName")


def test_default_outputs_file_prefers_the_local_cloud(tmp_path: Path) -> None:
    assert default_outputs_file(tmp_path) == tmp_path / "cdk-outputs.json"
    (tmp_path / ".localcloud").mkdir()
    (tmp_path / ".localcloud" / "outputs.json").write_text("{}")
    assert default_outputs_file(tmp_path) == tmp_path / ".localcloud" / "outputs.json"


def test_endpoint_explicit_then_environment_then_aws() -> None:
    aws = StackOutputs(OUTPUTS)
    assert (
        resolve_endpoint("http://x:1", aws, {"AWS_ENDPOINT_URL": "http://y:2"}).url == "http://x:1"
    )
    assert resolve_endpoint(None, aws, {"AWS_ENDPOINT_URL": "http://y:2"}).url == "http://y:2"
    assert resolve_endpoint(None, aws, {}).url is None


def test_local_outputs_use_the_running_local_cloud(tmp_path: Path) -> None:
    path = tmp_path / "outputs.json"
    local = StackOutputs(LOCAL_URLS, path)
    assert local.is_local
    assert not StackOutputs(OUTPUTS).is_local
    with pytest.raises(OperationsError, match="not running: start it with `make up`"):
        resolve_endpoint(None, local, {})
    (tmp_path / "localcloud.json").write_text(json.dumps({"edge_url": "http://127.0.0.1:4566"}))
    endpoint = resolve_endpoint(None, local, {})
    assert endpoint.url == "http://127.0.0.1:4566"
    assert "running local cloud" in endpoint.source


def test_clients_for_an_endpoint_work_without_credentials(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    clients = Clients.connect("http://127.0.0.1:4566", "us-east-1")
    assert clients.sqs.meta.endpoint_url == "http://127.0.0.1:4566"
    assert clients.events._request_signer._credentials.access_key == "local"


def test_clients_need_a_region(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(OperationsError, match="no region"):
        Clients.connect(None, None)

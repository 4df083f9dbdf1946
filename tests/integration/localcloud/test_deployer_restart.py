"""Deploying again after the backends restart: moto forgets everything, DynamoDB Local
keeps its tables on disk.

moto runs in a process of its own here (an in-process server shares its state with every
other test of the session), on a fixed port that the restarted server takes again, as the
orchestrator's moto does.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from localcloud.deployer import Deployment, deploy, write_outputs
from localcloud.dynamodb_local import DynamoDBLocal

pytestmark = pytest.mark.dynamodb

HASH_IDS = {
    "MOTO_COGNITO_IDP_USER_POOL_ID_STRATEGY": "HASH",
    "MOTO_COGNITO_IDP_USER_POOL_CLIENT_ID_STRATEGY": "HASH",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class MotoProcess:
    """`python -m moto.server` on a fixed port; `restart()` loses all its state."""

    def __init__(self, port: int, environment: dict[str, str], log: Path) -> None:
        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}"
        self._environment = {**os.environ, **environment}
        self._log = log
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self._log.open("ab") as output:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                env=self._environment,
            )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1):  # noqa: S310
                    return
            except (urllib.error.URLError, ConnectionError):
                if self._process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto did not start: {self._log.read_text()}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def moto_process(tmp_path: Path) -> Iterator[MotoProcess]:
    """moto with hash-derived Cognito ids, as the orchestrator should run it."""
    process = MotoProcess(_free_port(), HASH_IDS, tmp_path / "moto.log")
    process.start()
    yield process
    process.stop()


@pytest.fixture
def moto_random_ids(tmp_path: Path) -> Iterator[MotoProcess]:
    """moto with its default, random Cognito ids."""
    process = MotoProcess(_free_port(), {}, tmp_path / "moto.log")
    process.start()
    yield process
    process.stop()


def _client(endpoint: str, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(proxies={}),
    )


def _moto_inventory(endpoint: str) -> dict[str, Any]:
    events = _client(endpoint, "events")
    buses = [bus["Name"] for bus in events.list_event_buses()["EventBuses"]]
    return {
        "queues": sorted(_client(endpoint, "sqs").list_queues().get("QueueUrls", [])),
        "topics": sorted(t["TopicArn"] for t in _client(endpoint, "sns").list_topics()["Topics"]),
        "rules": sorted(
            r["Arn"] for b in buses for r in events.list_rules(EventBusName=b)["Rules"]
        ),
        "archives": sorted(a["ArchiveName"] for a in events.list_archives()["Archives"]),
        "machines": sorted(
            m["name"]
            for m in _client(endpoint, "stepfunctions").list_state_machines()["stateMachines"]
        ),
        "pools": len(_client(endpoint, "cognito-idp").list_user_pools(MaxResults=60)["UserPools"]),
        "pipes": sorted(p["Name"] for p in _client(endpoint, "pipes").list_pipes()["Pipes"]),
    }


def test_redeploy_after_both_backends_restart(
    template: dict[str, Any], moto_process: MotoProcess, tmp_path: Path
) -> None:
    state = tmp_path / ".localcloud"
    database = DynamoDBLocal(db_path=state / "dynamodb").start()
    try:
        first = deploy(
            template, moto_endpoint=moto_process.endpoint, dynamodb_endpoint=database.endpoint_url
        )
        first.save(state / "deployment.json")
        write_outputs(first, state / "outputs.json")
        table = first.outputs["NannyBooking"]["TableName"]
        database.client().put_item(
            TableName=table, Item={"PK": {"S": "JOB#1"}, "SK": {"S": "JOB#1"}}
        )
        before = _moto_inventory(moto_process.endpoint)
    finally:
        database.stop()

    moto_process.restart()
    assert _moto_inventory(moto_process.endpoint)["queues"] == []  # moto forgot everything

    database = DynamoDBLocal(db_path=state / "dynamodb").start()
    try:
        started = time.perf_counter()
        second = deploy(
            template,
            moto_endpoint=moto_process.endpoint,
            dynamodb_endpoint=database.endpoint_url,
            previous=Deployment.load(state / "deployment.json"),
        )
        redeploy_seconds = time.perf_counter() - started
        item = database.client().get_item(
            TableName=table, Key={"PK": {"S": "JOB#1"}, "SK": {"S": "JOB#1"}}
        )
        after = _moto_inventory(moto_process.endpoint)
        # Once more, against the running backends: nothing is duplicated.
        third = deploy(
            template,
            moto_endpoint=moto_process.endpoint,
            dynamodb_endpoint=database.endpoint_url,
            previous=second,
        )
        assert _moto_inventory(moto_process.endpoint) == after
        assert third.outputs == second.outputs
    finally:
        database.stop()

    assert "Item" in item  # the data survived in DynamoDB Local
    assert redeploy_seconds < 30
    assert after == before  # the same queues, topics, rules, archives, machines, pipes
    # Same names, same URLs (same moto port), same table and stream, the API key kept
    # from the previous deployment, and the same Cognito ids (hash-derived).
    assert second.outputs == first.outputs
    assert second.physical_ids == first.physical_ids
    assert [note for note in second.notes if "id changed" in note] == []


def test_changed_user_pool_ids_are_reported_and_outputs_follow(
    template: dict[str, Any],
    moto_random_ids: MotoProcess,
    dynamodb_local: DynamoDBLocal,
    tmp_path: Path,
) -> None:
    endpoint = moto_random_ids.endpoint
    first = deploy(template, moto_endpoint=endpoint, dynamodb_endpoint=dynamodb_local.endpoint_url)
    moto_random_ids.restart()
    second = deploy(
        template,
        moto_endpoint=endpoint,
        dynamodb_endpoint=dynamodb_local.endpoint_url,
        previous=first,
    )
    before, after = first.outputs["NannyBooking"], second.outputs["NannyBooking"]
    pool_keys = {"UserPoolId", "UserPoolClientId"}
    assert {k: v for k, v in after.items() if k not in pool_keys} == {
        k: v for k, v in before.items() if k not in pool_keys
    }
    assert after["UserPoolId"] != before["UserPoolId"]
    assert after["UserPoolClientId"] != before["UserPoolClientId"]
    changed = [note for note in second.notes if "id changed" in note]
    assert len(changed) == 2
    assert all("MOTO_COGNITO_IDP_USER_POOL_ID_STRATEGY=HASH" in note for note in changed)
    # Everything that refers to the pool follows it.
    api = second.function(after["ApiFunctionName"])
    assert api.environment["USER_POOL_ID"] == after["UserPoolId"]
    assert second.graphql.auth_modes[0].user_pool_id == after["UserPoolId"]
    assert second.graphql.auth_modes[0].client_ids == [after["UserPoolClientId"]]
    outputs = write_outputs(second, tmp_path / "outputs.json")
    assert outputs.read_text().count(after["UserPoolId"]) == 1

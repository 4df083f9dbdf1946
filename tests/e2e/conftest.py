"""Which stack the end-to-end suite drives.

- ``NANNY_OUTPUTS_FILE=cdk-outputs.json`` (written by ``make deploy``): a deployed stack in
  AWS, with the credentials in your environment.
- otherwise: the local cloud, started here exactly as ``make up`` runs it
  (``python -m localcloud up``, in its own process, on free ports), and stopped with
  Ctrl-C's signal when the session ends.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.client import Stack
from tests.support.template import synthesize_to_file

START_DEADLINE_SECONDS = 120.0


def _outputs(path: Path) -> dict[str, str]:
    (outputs,) = json.loads(path.read_text()).values()
    return dict(outputs)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    outputs_file = os.environ.get("NANNY_OUTPUTS_FILE")
    if outputs_file:
        yield Stack(_outputs(Path(outputs_file)))
        return
    yield from _local_cloud(tmp_path_factory.mktemp("localcloud"))


def _local_cloud(state_dir: Path) -> Iterator[Stack]:
    template = synthesize_to_file(state_dir / "NannyBooking.template.json")
    log = (state_dir / "localcloud.log").open("w")
    command = [sys.executable, "-m", "localcloud", "--state-dir", str(state_dir), "up",
               "--template", str(template), "--edge-port", "0", "--graphql-port", "0"]  # fmt: skip
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    status_file = state_dir / "localcloud.json"
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    try:
        while not status_file.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the local cloud did not start:\n{_tail(state_dir)}")
            time.sleep(0.2)
        edge_url = json.loads(status_file.read_text())["edge_url"]
        yield Stack(_outputs(state_dir / "outputs.json"), endpoint_url=edge_url)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        finally:
            log.close()
    assert process.returncode == 0, _tail(state_dir)
    assert not status_file.exists(), "a clean stop removes the status file"


def _tail(state_dir: Path, lines: int = 60) -> str:
    text = (state_dir / "localcloud.log").read_text(errors="replace")
    return "\n".join(text.splitlines()[-lines:])

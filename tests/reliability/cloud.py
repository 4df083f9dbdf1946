"""A local cloud in its own ``python -m localcloud up`` process, for the reliability suite.

A subprocess (as tests/e2e/conftest.py does) because ``LocalCloud`` sets process-global
environment (``MOTO_PORT``) and another local cloud or moto may run in this pytest
process. The template is edited before the deploy (``reliability_template``): the decline
queue's visibility timeout is lowered so a redelivery takes seconds, not six minutes, and
the pipe gets a batching window so a test can stop the cloud before a booking's JobClosed
leaves the pipe.

``CloudProcess`` can stop the cloud with Ctrl-C's signal and start it again on the same
state directory, and find its Lambda workers' pids through ``/proc`` (only workers whose
parent is this cloud's process: other sessions' clouds are never touched).
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Any

from tests.e2e.client import Stack

START_DEADLINE_SECONDS = 120.0
DECLINE = "ConsumersDeclineOtherApplications"  # the consumer construct's logical id prefix
NOTIFY = "ConsumersNotifyAcceptedApplicant"
DECLINE_HANDLER = "services.decline_applications.handler.handler"
PIPE = "EventsJobClosedPipe"

Template = dict[str, Any]


def resource(template: Template, prefix: str, kind: str) -> dict[str, Any]:
    """The properties of the one ``kind`` whose logical id starts with ``prefix``."""
    (found,) = [
        body
        for logical_id, body in template["Resources"].items()
        if logical_id.startswith(prefix) and body["Type"] == kind
    ]
    properties: dict[str, Any] = found["Properties"]
    return properties


def consumer_function(template: Template, consumer: str) -> dict[str, Any]:
    """The properties of ``consumer``'s Lambda function (``DECLINE`` or ``NOTIFY``)."""
    return resource(template, f"{consumer}Function", "AWS::Lambda::Function")


def fast_redelivery(
    template: Template, consumer: str = DECLINE, *, visibility: int = 6, timeout: int = 5
) -> None:
    """``consumer``'s queue visibility (360 s for declines, 180 s for notifications) ->
    ``visibility``; its function's timeout -> ``timeout`` (Lambda refuses a function
    timeout above the queue's visibility)."""
    resource(template, f"{consumer}Queue", "AWS::SQS::Queue")["VisibilityTimeout"] = visibility
    consumer_function(template, consumer)["Timeout"] = timeout


#: The pipe's batching window in the reliability template (0 in the stack): stream records
#: wait this long in the pipe before JobClosed goes to the bus, which leaves time to stop
#: the cloud before a booking's event is delivered.
PIPE_WINDOW = 4


def reliability_template(template: Template) -> None:
    """``fast_redelivery`` plus a PIPE_WINDOW-second batching window on the JobClosed pipe."""
    fast_redelivery(template)
    stream = resource(template, PIPE, "AWS::Pipes::Pipe")["SourceParameters"]
    stream["DynamoDBStreamParameters"]["MaximumBatchingWindowInSeconds"] = PIPE_WINDOW


class CloudProcess:
    """``python -m localcloud up`` on one state directory; start, SIGINT, start again."""

    def __init__(self, state_dir: Path, template: Template) -> None:
        self.state_dir = state_dir
        self.template_path = state_dir / "NannyBooking.template.json"
        self.template_path.write_text(json.dumps(template), encoding="utf-8")
        self.process: subprocess.Popen[bytes] | None = None
        self.stack: Stack | None = None
        self.starts = 0

    @property
    def log_path(self) -> Path:
        return self.state_dir / f"localcloud-{self.starts}.log"

    def start(self) -> Stack:
        self.starts += 1
        status_file = self.state_dir / "localcloud.json"
        command = [sys.executable, "-m", "localcloud", "--state-dir", str(self.state_dir), "up",
                   "--template", str(self.template_path), "--edge-port", "0",
                   "--graphql-port", "0"]  # fmt: skip
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        while not status_file.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the local cloud did not start:\n{self.tail()}")
            time.sleep(0.1)
        edge_url = json.loads(status_file.read_text())["edge_url"]
        (outputs,) = json.loads((self.state_dir / "outputs.json").read_text()).values()
        self.stack = Stack(dict(outputs), endpoint_url=edge_url)
        return self.stack

    def running(self) -> Stack:
        """The stack of the cloud as it runs now (ports change across a restart)."""
        assert self.process is not None, "the cloud is stopped"
        assert self.stack is not None
        return self.stack

    def interrupt(self, timeout: float = 30.0) -> int:
        """Ctrl-C's signal; the exit code once every part has stopped."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise
        self.process = None
        return code

    def worker_pids(self, handler: str) -> list[int]:
        """Running Lambda workers of ``handler`` whose parent is this cloud's process."""
        assert self.process is not None
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if (
                parent == self.process.pid
                and any(arg.endswith(b"lambda_worker_main.py") for arg in argv)
                and handler.encode() in argv
            ):
                found.append(int(entry.name))
        return found

    def tail(self, lines: int = 60) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def close(self) -> None:
        if self.process is not None:
            self.interrupt()


def pending_request_bytes(pid: int) -> int:
    """Bytes written to a Lambda worker's request pipe that it has not read yet (FIONREAD
    on the pipe named by its ``--requests`` argument): > 0 means an invocation waits."""
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    fd = argv[argv.index(b"--requests") + 1].decode()
    pipe = os.open(f"/proc/{pid}/fd/{fd}", os.O_RDONLY | os.O_NONBLOCK)
    try:
        answer = fcntl.ioctl(pipe, termios.FIONREAD, b"\0\0\0\0")
    finally:
        os.close(pipe)
    return int.from_bytes(answer, sys.byteorder)


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, killed but not yet reaped by its parent, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"

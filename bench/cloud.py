"""The local cloud a benchmark run measures, and the clients the suites call it with.

The cloud runs exactly as ``make up`` runs it (``python -m localcloud up`` in its own
process, deployed from the synthesized template, on free ports), through the reliability
suite's ``CloudProcess``. ``BenchCloud`` adds what every suite needs: boto3 clients on the
cloud's endpoint, the data layer on its table, and signed-in app users.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from services.common.dal.table import Table
from tests.e2e.client import AppUser, Stack
from tests.e2e.test_booking_scenario import sign_up
from tests.reliability.cloud import CloudProcess
from tests.support.template import template_dict


@dataclass
class BenchCloud:
    process: CloudProcess

    @property
    def stack(self) -> Stack:
        return self.process.running()

    def client(self, service: str) -> Any:
        return self.stack.client(service)

    @cached_property
    def table(self) -> Table:
        """The stack's table through the data layer the Lambda functions use."""
        return Table(self.stack.outputs["TableName"], self.client("dynamodb"))

    def user(self, user_type: str) -> AppUser:
        """A new, signed-in user of ``user_type`` (PARENT or NANNY) with a profile."""
        return sign_up(self.stack, user_type, [])


@contextmanager
def running_cloud(state_dir: Path) -> Iterator[BenchCloud]:
    """A local cloud on ``state_dir`` for the ``with`` block; stopped with Ctrl-C's signal."""
    state_dir.mkdir(parents=True, exist_ok=True)
    process = CloudProcess(state_dir, json.loads(json.dumps(template_dict())))
    process.start()
    try:
        yield BenchCloud(process)
    finally:
        process.close()

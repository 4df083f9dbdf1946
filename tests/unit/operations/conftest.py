"""Fixtures for the operator tools' unit tests: stubbed clients, a stack's outputs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from operations.stack import StackOutputs
from tests.unit.operations.stubs import OUTPUTS, Stubs


@pytest.fixture
def stubs() -> Iterator[Stubs]:
    stubs = Stubs()
    with stubs.events_stub, stubs.sqs_stub:
        yield stubs


@pytest.fixture
def outputs() -> StackOutputs:
    return StackOutputs(dict(OUTPUTS))

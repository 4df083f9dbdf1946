"""The NannyBooking stack synthesized once per test session, as `cdk synth` makes it.

`Template.from_stack` on a bare `App()` ignores cdk.json, so the feature flags there
would not apply and tests would check a different template from the one deployed.
This module loads cdk.json's context, builds the app through the same `build()` as
app.py (cdk-nag included) and synthesizes it once. Suites that only need the template
(the local cloud, DynamoDB Local fixtures) call `template_dict()`.
"""

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Template

from stacks.constants import CDK_JSON
from stacks.nanny_stack import NannyBookingStack, build


@dataclass(frozen=True)
class Synthesized:
    app: cdk.App
    stack: NannyBookingStack
    template: Template
    assembly_dir: Path

    @property
    def template_dict(self) -> dict[str, Any]:
        return dict(self.template.to_json())

    @property
    def validation_report(self) -> dict[str, Any]:
        """cdk.out/validation-report.json: every validation plugin's findings."""
        path = self.assembly_dir / "validation-report.json"
        report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return report


def cdk_context() -> dict[str, Any]:
    """The context `cdk synth` gives app.py: cdk.json's, plus what the CLI adds itself."""
    context: dict[str, Any] = json.loads(CDK_JSON.read_text(encoding="utf-8"))["context"]
    return {
        **context,
        "aws:cdk:enable-path-metadata": True,
        "aws:cdk:enable-asset-metadata": True,
        "aws:cdk:disable-version-reporting": True,
        # Like the CLI, let the validation report decide: synth writes
        # validation-report.json instead of raising, and the cdk-nag tests read it.
        "@aws-cdk/core:failSynthOnValidationErrors": False,
        # Bundle no stack: tests never run asset bundling (Docker or build commands).
        "aws:cdk:bundling-stacks": [],
    }


_result: Synthesized | Exception | None = None


def synthesize() -> Synthesized:
    """Synthesize once per process. A failed synth is remembered and re-raised to every
    caller, so each test shows the error at once instead of synthesizing again."""
    global _result
    if _result is None:
        try:
            _result = _synthesize()
        except Exception as error:
            _result = error
    if isinstance(_result, Exception):
        raise _result
    return _result


def _synthesize() -> Synthesized:
    assembly_dir = Path(tempfile.mkdtemp(prefix="nanny-booking-cdk-"))
    app = cdk.App(context=cdk_context(), outdir=str(assembly_dir))
    stack = build(app)
    # Runs the policy-validation plugins (cdk-nag) as `cdk synth` does; Template.from_stack
    # then reuses this assembly instead of synthesizing again.
    app.synth()
    return Synthesized(app, stack, Template.from_stack(stack), assembly_dir)


def template() -> Template:
    return synthesize().template


def template_dict() -> dict[str, Any]:
    """The synthesized CloudFormation template as plain JSON data."""
    return synthesize().template_dict


def synthesize_to_file(path: Path) -> Path:
    """The synthesized template written where a process that deploys it can read it."""
    path.write_text(json.dumps(template_dict()), encoding="utf-8")
    return path

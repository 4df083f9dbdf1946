"""cdk-nag v3 wiring, shared by app.py and the tests so both see the same findings.

cdk-nag v3 is a CDK policy-validation plugin: `Validations.of(app).add_plugins(pack)` runs
the pack on the construct tree during synthesis and writes its findings to
cdk.out/validation-report.json. `Validations.of(construct).acknowledge(...)` acknowledges
a finding on a construct and everything below it.

Acknowledgment ids carry the plugin's namespace (`AwsSolutions::AwsSolutions-IAM5[...]`,
the form `cdk synth` prints): CDK itself then matches them, and the validation report
lists every acknowledged finding with its reason and where it was acknowledged, which is
the audit trail. (A bare `AwsSolutions-IAM5[...]` would also silence the finding, but
inside cdk-nag, leaving no trace in the report.)

`cdk synth` fails on an unacknowledged finding of level error; `cdk synth --strict` on
warnings too (cdk-nag rates e.g. DDB3 and COG2 as warnings). The infrastructure tests
fail on both.
"""

from aws_cdk import Acknowledgment, App, CfnElement, Stack, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

# The validation namespace of AwsSolutionsChecks (its plugin name).
NAMESPACE = "AwsSolutions"
# A reason must say why this finding is acceptable here, which no one-liner does.
MIN_REASON_LENGTH = 80


def apply_nag(app: App) -> AwsSolutionsChecks:
    """Register the AwsSolutions pack on the app and return it."""
    # verbose: a new finding prints the rule's explanation, not only its title.
    checks = AwsSolutionsChecks(app, verbose=True)
    Validations.of(app).add_plugins(checks)
    return checks


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one finding (as cdk-nag names it, e.g. `AwsSolutions-IAM5[Resource::*]`)
    on `scope` and everything below it."""
    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise ValueError(f"{rule_id} on {scope.node.path}: give a specific reason")
    Validations.of(scope).acknowledge(Acknowledgment(id=f"{NAMESPACE}::{rule_id}", reason=reason))


def cfn_reference(construct: IConstruct, attribute: str) -> str:
    """How cdk-nag spells `Fn::GetAtt` of an L2's resource in a finding id: <LogicalId.Attr>."""
    element = construct.node.default_child
    if not isinstance(element, CfnElement):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource")
    return f"<{Stack.of(element).get_logical_id(element)}.{attribute}>"

"""cfn-lint on the synthesized template: no errors, no warnings, nothing ignored."""

import json

from cfnlint.api import lint

from tests.support.template import Synthesized

# Checked in a few regions because resource types and properties differ by region.
REGIONS = ["us-east-1", "eu-west-1", "eu-central-1"]


def test_template_passes_cfn_lint(synthesized: Synthesized) -> None:
    matches = lint(json.dumps(synthesized.template_dict), regions=REGIONS)
    assert not matches, "\n".join(f"{m.rule.id} {m.path_string}: {m.message}" for m in matches)

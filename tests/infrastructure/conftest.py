"""Session fixtures: every test here reads the one synthesized template."""

from typing import Any

import pytest
from aws_cdk.assertions import Template

from tests.support.template import Synthesized, synthesize


@pytest.fixture(scope="session")
def synthesized() -> Synthesized:
    return synthesize()


@pytest.fixture(scope="session")
def template(synthesized: Synthesized) -> Template:
    return synthesized.template


@pytest.fixture(scope="session")
def resources(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    """Logical id -> resource, straight from the template JSON."""
    result: dict[str, dict[str, Any]] = synthesized.template_dict["Resources"]
    return result

"""The BookNanny state machine definition, with its deploy-time values filled in.

``book_nanny.asl.json`` names the table as ``${TableName}``. In AWS, CloudFormation fills it
in from the state machine's ``DefinitionSubstitutions`` (CDK: ``DefinitionBody.from_file``
or ``from_string`` plus ``definition_substitutions={TABLE_NAME: table.table_name}``); tests
and the local cloud call :func:`render`, which follows the same rules::

    definition = render(table_name="nanny-1234")       # a JSON string for CreateStateMachine
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

__all__ = ["DEFINITION_PATH", "TABLE_NAME", "placeholders", "render", "substitute", "template"]

DEFINITION_PATH = Path(__file__).with_name("book_nanny.asl.json")

#: The substitution key of the single table's name.
TABLE_NAME = "TableName"

# CloudFormation's DefinitionSubstitutions syntax; ASL itself never uses "${", so any
# occurrence is a placeholder.
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


def template() -> str:
    """The definition as committed, placeholders included (what CDK deploys)."""
    return DEFINITION_PATH.read_text(encoding="utf-8")


def placeholders(text: str) -> set[str]:
    """The substitution keys ``text`` still contains."""
    return set(_PLACEHOLDER.findall(text))


def substitute(text: str, values: Mapping[str, str]) -> str:
    """Replace each ``${Key}`` by ``values[Key]``, as CloudFormation does.

    Raises:
        KeyError: a placeholder has no value, so the result would not be deployable.
        ValueError: the result is not JSON (a value broke the document's quoting).
    """
    missing = placeholders(text) - values.keys()
    if missing:
        raise KeyError(f"no value for the placeholders {sorted(missing)}")
    rendered = _PLACEHOLDER.sub(lambda match: values[match[1]], text)
    try:
        json.loads(rendered)
    except json.JSONDecodeError as error:
        raise ValueError(f"the substituted definition is not JSON: {error}") from error
    return rendered


def render(*, table_name: str) -> str:
    """The definition ready for CreateStateMachine, writing to ``table_name``."""
    return substitute(template(), {TABLE_NAME: table_name})

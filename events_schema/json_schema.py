"""The JSON Schemas committed beside the models, generated from them and only from them.

The schemas are what other teams and tools read (the event catalog, EventBridge's schema
registry, code generators for other languages), so they must never drift from the models
the code runs: ``python -m events_schema`` rewrites them, ``python -m events_schema
--check`` (and a unit test) fails while one is stale.

They are JSON Schema draft-04, the dialect EventBridge's schema registry accepts for
``JSONSchemaDraft4`` schemas: ``definitions`` instead of ``$defs``, ``enum`` instead of
``const``. They describe what a producer sends (every field present, defaults included);
consumers are more lenient than that, they ignore unknown fields.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from events_schema.envelope import EventModel
from events_schema.job_closed import DETAIL_TYPE, SOURCE, JobClosed

DIRECTORY: Final = Path(__file__).resolve().parent
DRAFT_04: Final = "http://json-schema.org/draft-04/schema#"


@dataclass(frozen=True)
class EventSchema:
    """One event type on the bus: who sends it, what its detail looks like, where its
    schema is committed."""

    source: str
    detail_type: str
    model: type[EventModel]
    file_name: str

    @property
    def path(self) -> Path:
        return DIRECTORY / self.file_name


# Every event on the bus: a new event is a new module and one line here.
CATALOG: Final = (EventSchema(SOURCE, DETAIL_TYPE, JobClosed, "job_closed.schema.json"),)


def render(event: EventSchema) -> str:
    """The schema file's exact text (stable: same model, same bytes)."""
    generated = event.model.model_json_schema(
        by_alias=True, ref_template="#/definitions/{model}", mode="serialization"
    )
    definitions = generated.pop("$defs", {})
    schema: dict[str, Any] = {
        "$schema": DRAFT_04,
        **generated,
        # The registry's own names for the two fields that route an event on a bus.
        "x-amazon-events-source": event.source,
        "x-amazon-events-detail-type": event.detail_type,
    }
    if definitions:
        schema["definitions"] = definitions
    return json.dumps(_to_draft_04(schema), indent=2, ensure_ascii=False) + "\n"


def _to_draft_04(node: Any, *, in_properties: bool = False) -> Any:
    """Rewrite pydantic's draft 2020-12 output into draft-04, recursively."""
    if isinstance(node, list):
        return [_to_draft_04(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted: dict[str, Any] = {}
    for name, value in node.items():
        if in_properties:  # keys are property names here, not keywords
            converted[name] = _to_draft_04(value)
        elif name == "const":  # draft-06 and later
            converted["enum"] = [value]
        elif name == "title" and "properties" not in node:
            # pydantic titles every field after its Python name ("Jobid"): noise. Objects
            # keep theirs, it names the model.
            continue
        else:
            converted[name] = _to_draft_04(
                value, in_properties=name in ("properties", "definitions")
            )
    return converted


def stale() -> list[Path]:
    """The committed schema files that differ from what the models generate now."""
    return [
        event.path
        for event in CATALOG
        if not event.path.exists() or event.path.read_text(encoding="utf-8") != render(event)
    ]


def write() -> list[Path]:
    """Regenerate every stale schema file; return the ones written."""
    written = stale()
    for event in CATALOG:
        if event.path in written:
            event.path.write_text(render(event), encoding="utf-8")
    return written

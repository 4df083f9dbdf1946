"""The envelope every event detail shares: ``{"metadata": {...}, "data": {...}}``.

``metadata`` says which version of the event this is, which request caused it (the
correlation id, so one booking can be followed from the API through every consumer's
logs) and when the event was made; ``data`` is the event's own payload.

Compatibility rules, enforced by the models' configuration:

- consumers ignore fields they do not know (``extra="ignore"``), so a producer may add
  fields to a version at any time;
- removing, renaming or retyping a field is a breaking change: it ships as a new
  ``version``, which the old consumers refuse (see ``JobClosedMetadata.version``) rather
  than misread.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class EventModel(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown fields ignored; immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        extra="ignore",
        # The committed JSON Schema describes what producers send, defaults included.
        json_schema_serialization_defaults_required=True,
    )


class EventMetadata(EventModel):
    version: str = Field(description="The event's schema version; a breaking change bumps it.")
    correlation_id: str = Field(
        default="",
        description="The id of the request that caused the event, for tracing it across "
        "services. Empty when the writer recorded none.",
    )
    created_at: dt.datetime = Field(description="When the event was made (ISO 8601).")

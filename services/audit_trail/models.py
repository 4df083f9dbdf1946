"""An event as the audit trail reads it: the EventBridge envelope and the ids of its detail.

Lenient on purpose: the audit trail records every event of the bus, of any source, type
or version, so a detail that is not in the ``{"metadata": ..., "data": ...}`` envelope (or
a field of an unexpected type) leaves the corresponding attributes out instead of refusing
the event. Only what identifies the event itself is required: ``id``, ``source``,
``detail-type`` and ``time``; a message without them is not an EventBridge event.

What is read of the detail is an allow-list, never the whole of it: usernames
(``parentUsername``, ``acceptedApplicant``) are personal data and are not even parsed::

    event = AuditedEvent.model_validate_json(sqs_record.body)
    event.detail.data.ids  # {"jobId": "...", "acceptedApplicationId": "..."}
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# The ids an audit item keeps, by their name in an event's `data`. Opaque, generated ids
# only: a username is a name people choose (and see), so it is personal data; an id leads
# to it only through the table, under the table's access control.
AUDITED_IDS: Final = ("jobId", "applicationId", "acceptedApplicationId", "reviewId")
# Longer text is not an id or a correlation id this system makes: left out, so an odd
# event can never push an item past DynamoDB's limits.
MAX_TEXT_LENGTH: Final = 256


def _text(value: Any) -> str | None:
    """A non-empty string of reasonable length, else None."""
    if isinstance(value, str) and 0 < len(value) <= MAX_TEXT_LENGTH:
        return value
    return None


def _only_objects(values: Any, *names: str) -> Any:
    """Drop the named fields unless they are JSON objects, so a model defaults them."""
    if not isinstance(values, dict):
        return {}
    return {k: v for k, v in values.items() if k not in names or isinstance(v, dict)}


class _Lenient(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class EventMetadata(_Lenient):
    version: str | None = None
    correlation_id: str | None = Field(default=None, alias="correlationId")

    @field_validator("version", "correlation_id", mode="before")
    @classmethod
    def _short_text(cls, value: Any) -> str | None:
        return _text(value)


class EventData(_Lenient):
    """The allow-listed ids of an event's ``data``; everything else is not even read."""

    ids: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _pick_ids(cls, values: Any) -> dict[str, Any]:
        if not isinstance(values, dict):
            return {}
        picked = {name: _text(values.get(name)) for name in AUDITED_IDS}
        return {"ids": {name: value for name, value in picked.items() if value is not None}}

    @property
    def job_id(self) -> str | None:
        return self.ids.get("jobId")


class EventDetail(_Lenient):
    metadata: EventMetadata = Field(default_factory=EventMetadata)
    data: EventData = Field(default_factory=EventData)

    @model_validator(mode="before")
    @classmethod
    def _objects_only(cls, values: Any) -> Any:
        return _only_objects(values, "metadata", "data")


class AuditedEvent(_Lenient):
    """An EventBridge event, as a rule delivers it to an SQS queue."""

    id: str = Field(min_length=1, max_length=MAX_TEXT_LENGTH)
    source: str = Field(min_length=1, max_length=MAX_TEXT_LENGTH)
    detail_type: str = Field(alias="detail-type", min_length=1, max_length=MAX_TEXT_LENGTH)
    time: dt.datetime
    replay_name: str | None = Field(default=None, alias="replay-name", max_length=MAX_TEXT_LENGTH)
    detail: EventDetail = Field(default_factory=EventDetail)

    @property
    def correlation_id(self) -> str | None:
        return self.detail.metadata.correlation_id

    @property
    def job_id(self) -> str | None:
        return self.detail.data.job_id

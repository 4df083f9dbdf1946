"""The events on the bus, as pydantic models shared by their producer and their consumers.

One module per event, each with its generated JSON Schema committed beside it
(``python -m events_schema`` regenerates them; a unit test fails when one is stale)::

    from events_schema import JobClosed

    detail = JobClosed.model_validate(event["detail"])  # unknown fields are ignored
    detail.data.job_id

This package depends on pydantic only, so the functions, the CDK app, the local cloud and
the tests can all import it.
"""

from events_schema.envelope import EventMetadata, EventModel
from events_schema.job_closed import (
    DETAIL_TYPE,
    SOURCE,
    JobClosed,
    JobClosedData,
    JobClosedMetadata,
)

__all__ = [
    "DETAIL_TYPE",
    "SOURCE",
    "EventMetadata",
    "EventModel",
    "JobClosed",
    "JobClosedData",
    "JobClosedMetadata",
]

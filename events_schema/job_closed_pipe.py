"""How the EventBridge Pipe turns the table's stream into ``JobClosed`` events.

One definition for the two places that need it: the CDK construct that creates the pipe
(``FilterCriteria.Filters[0].Pattern = json.dumps(FILTER_PATTERN)``,
``TargetParameters.InputTemplate = INPUT_TEMPLATE``, and the event bus target's
``Source = SOURCE``, ``DetailType = DETAIL_TYPE``), and the contract tests that run real
stream records through both and parse the result with the consumers' models.

Why the job item alone: the booking transaction writes the job (OPEN -> CLOSED) and the
accepted application in one transaction, but stream records of one transaction are
neither atomic nor ordered across items. So the job item carries the whole payload
(``acceptedApplicationId``, ``acceptedApplicant``, ``closedAt``, ``correlationId``) and one
record of it is enough to make the event. Filtering on the OLD *and* NEW image's status
means only the transition fires: a later edit of a closed job (CLOSED -> CLOSED), the
job's creation (INSERT, no old image) and its deletion (REMOVE, no new image) do not.
"""

from __future__ import annotations

import json
from typing import Any, Final

from events_schema.job_closed import DETAIL_TYPE, SOURCE, VERSION

__all__ = ["DETAIL_TYPE", "FILTER_PATTERN", "INPUT_TEMPLATE", "SOURCE"]

# Attribute values as the data access layer writes them: `entity` is
# services.common.dal.keys.EntityName.JOB, `jobStatus` a services.common.models.JobStatus
# (a unit test keeps them equal). Repeated rather than imported so this package depends on
# pydantic only.
_JOB = "JOB"
_OPEN = "OPEN"
_CLOSED = "CLOSED"

# An EventBridge event pattern over the DynamoDB stream record as the pipe receives it.
FILTER_PATTERN: Final[dict[str, Any]] = {
    "eventName": ["MODIFY"],
    "dynamodb": {
        "OldImage": {"entity": {"S": [_JOB]}, "jobStatus": {"S": [_OPEN]}},
        "NewImage": {"entity": {"S": [_JOB]}, "jobStatus": {"S": [_CLOSED]}},
    },
}


def _new_image(attribute: str) -> str:
    """A placeholder for a string attribute of the item after the change."""
    return f"<$.dynamodb.NewImage.{attribute}.S>"


# The detail of the event the pipe puts on the bus, in Pipes' input transformer syntax.
# Built with json.dumps, so the template is valid JSON and every placeholder sits inside
# quotes: Pipes substitutes a quoted placeholder as a string (escaped to stay valid JSON).
# The job item's id attribute is `id` (services.common.dal.jobs); it becomes `jobId`.
INPUT_TEMPLATE: Final[str] = json.dumps(
    {
        "metadata": {
            "version": VERSION,
            "correlationId": _new_image("correlationId"),
            # When the pipe made the event; `closedAt` in data is when the booking happened.
            "createdAt": "<aws.pipes.event.ingestion-time>",
        },
        "data": {
            "jobId": _new_image("id"),
            "parentUsername": _new_image("parentUsername"),
            "acceptedApplicationId": _new_image("acceptedApplicationId"),
            "acceptedApplicant": _new_image("acceptedApplicant"),
            "closedAt": _new_image("closedAt"),
        },
    },
    indent=None,
    separators=(", ", ": "),
)

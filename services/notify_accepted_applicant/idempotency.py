"""Notify once per job, however often JobClosed arrives: Powertools Idempotency.

JobClosed reaches this function more than once for the same job: SQS delivers at least
once, a failed batch is retried, and archived events are replayed for recovery. The nanny
must still get one notification. SNS cannot take part in a DynamoDB transaction, so
"exactly once" is really a choice of which failure to risk; the options weighed:

- **A "notification sent" marker written before publishing** (conditional put): never a
  duplicate, but a crash or timeout between the marker and the publish loses the
  notification for good, and a retry cannot tell that case from "sent".
- **A marker written after publishing**: never lost, but two deliveries processed at the
  same time (two containers, one batch holding a duplicate) both publish, and so does a
  retry after a crash anywhere between publish and marker.
- **Powertools Idempotency** (chosen): a claim, then the publish, then the result. It
  first puts an INPROGRESS record keyed by the job id (conditional: none, or an expired
  one, exists), publishes, then marks the record COMPLETED with the SNS message id.

  - A concurrent duplicate finds INPROGRESS and fails its record
    (IdempotencyAlreadyInProgressError); the queue retries it later, when it finds
    COMPLETED and returns the saved message id without publishing.
  - The publish fails (SNS throttled, topic gone): the INPROGRESS record is deleted and the
    record fails, so the retry publishes.
  - The function dies (crash, timeout) while INPROGRESS: the claim expires with the
    invocation's remaining time (``register_lambda_context``), and a redelivery after
    the queue's visibility timeout (which is longer than the function's timeout) runs
    again: not lost.
  - The one duplicate left: the function dies, or the COMPLETED write fails, *after* SNS
    accepted the message. That window is one DynamoDB write long; at-least-once with a
    window of milliseconds is the trade, instead of at-most-once with a window as long as
    the publish.

  It is also the tested, maintained form of the claim-lease-complete protocol that a
  hand-written marker would have to reimplement.

Storage: the records live in the single table (no second table to provision and secure),
under their own partition ``IDEMPOTENCY#notify_accepted_applicant``, sort key
``NotifyAcceptedApplicant#JobClosed#<md5 of the job id>``. They carry no ``entity`` and
no GSI attributes, so no index and no stream filter (which wants ``entity = JOB``) ever
sees them. The prefix is fixed, not derived from the function's name, so a renamed or
redeployed function still recognises the jobs it notified. One partition takes every
record: two writes per booking, far below a partition's 1,000 writes per second.

Expiry: a record older than ``DEDUPLICATION_WINDOW`` no longer counts, so **the event
archive's retention must not exceed it**, or replaying an old archive would notify again.
The table's TTL attribute (``expiration``, epoch seconds) deletes expired records.
"""

from __future__ import annotations

import os
from typing import Any, Final

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
)
from aws_lambda_powertools.utilities.idempotency.hook import IdempotentHookFunction

DEDUPLICATION_WINDOW: Final = 90 * 24 * 60 * 60  # seconds; >= the archive's retention
PARTITION: Final = "IDEMPOTENCY#notify_accepted_applicant"
KEY_PREFIX: Final = "NotifyAcceptedApplicant#JobClosed"
EXPIRY_ATTRIBUTE: Final = "expiration"


def idempotency_config(
    *,
    on_duplicate: IdempotentHookFunction | None = None,
    expires_after_seconds: int = DEDUPLICATION_WINDOW,
) -> IdempotencyConfig:
    """Key on the job id alone: a replayed event (new event id, same job) is a duplicate."""
    return IdempotencyConfig(
        event_key_jmespath="job_id",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=expires_after_seconds,
        response_hook=on_duplicate,
    )


def persistence_layer(dynamodb_client: Any | None = None) -> DynamoDBPersistenceLayer:
    """Records in the table named by ``TABLE_NAME``, through the given client if any."""
    return DynamoDBPersistenceLayer(
        table_name=os.environ["TABLE_NAME"],
        key_attr="PK",
        sort_key_attr="SK",
        static_pk_value=PARTITION,
        expiry_attr=EXPIRY_ATTRIBUTE,
        boto3_client=dynamodb_client,
    )

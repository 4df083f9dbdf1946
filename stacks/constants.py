"""Names shared by the stack, its tests and the local cloud.

Several of these are contracts: services read the GSI names, the local cloud and the
end-to-end tests read the output keys, and the Cognito group names appear in
schema.graphql's auth directives. Change them together or not at all.
"""

from pathlib import Path
from typing import Final, NamedTuple

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
SCHEMA_FILE: Final = REPO_ROOT / "schema.graphql"
RESOLVER_CODE_FILE: Final = Path(__file__).resolve().parent / "appsync" / "invoke_api_function.js"
CDK_JSON: Final = REPO_ROOT / "cdk.json"

STACK_ID: Final = "NannyBooking"
STACK_DESCRIPTION: Final = (
    "Nanny booking backend: AppSync API, Cognito, DynamoDB single table, Step Functions "
    "booking workflow, EventBridge pipe, bus and consumers."
)
# The Powertools metrics namespace; dashboards and alarms look metrics up by it.
METRICS_NAMESPACE: Final = "NannyBooking"

# --- data -------------------------------------------------------------------------
PARTITION_KEY: Final = "PK"
SORT_KEY: Final = "SK"


class GsiSpec(NamedTuple):
    name: str
    partition_key: str
    sort_key: str


GSI_JOB_APPLICATIONS: Final = GsiSpec("jobApplications", "GSI1PK", "GSI1SK")
GSI_JOBS_APPLIED_TO: Final = GsiSpec("jobsAppliedTo", "GSI2PK", "GSI2SK")
# Two partition values only (OPEN/CLOSED), a hot partition at scale: kept for the seed's
# clients; DESIGN.md section 3 documents the sharded alternative.
GSI_JOBS_BY_STATUS: Final = GsiSpec("getJobsByStatus", "jobStatus", SORT_KEY)
GSIS: Final = (GSI_JOB_APPLICATIONS, GSI_JOBS_APPLIED_TO, GSI_JOBS_BY_STATUS)


# --- auth -------------------------------------------------------------------------
GROUP_ADMIN: Final = "admin"
GROUP_PARENT: Final = "parent"
GROUP_NANNY: Final = "nanny"
USER_GROUPS: Final = (GROUP_ADMIN, GROUP_PARENT, GROUP_NANNY)
PASSWORD_MIN_LENGTH: Final = 12

# --- api --------------------------------------------------------------------------
API_KEY_VALIDITY_DAYS: Final = 365  # AppSync's maximum; each deploy pushes the expiry out
# The AppSync operation types that get one direct Lambda resolver per field.
RESOLVED_OPERATION_TYPES: Final = ("query", "mutation")
API_FUNCTION_HANDLER: Final = "services.api.handler.handler"
API_FUNCTION_SERVICE_NAME: Final = "api"
# bookNanny waits for the BookNanny execution (it stops itself after 8 s) and may retry it
# once; AppSync gives up on a resolver after 30 s, so the function ends just before that.
API_FUNCTION_TIMEOUT_SECONDS: Final = 25
API_FUNCTION_MEMORY_MB: Final = 512
# Only this top-level directory of the repo is packaged into Lambda code assets.
LAMBDA_CODE_DIR: Final = "services"
# AWS publishes the Powertools layer ARN under this public SSM parameter in every region;
# it is resolved by CloudFormation at deploy time, so synth needs no network. Keep the
# version equal to aws-lambda-powertools in pyproject.toml.
POWERTOOLS_VERSION: Final = "3.37.0"
POWERTOOLS_LAYER_PARAMETER: Final = (
    f"/aws/service/powertools/python/arm64/python3.13/{POWERTOOLS_VERSION}"
)

# --- booking workflow -------------------------------------------------------------
BOOKING_STATE_MACHINE_NAME: Final = "BookNanny"  # deployed as <stack name>-BookNanny
# The api function finds the workflow by this variable (services.api.booking_workflow).
BOOKING_STATE_MACHINE_ARN_VARIABLE: Final = "BOOKING_STATE_MACHINE_ARN"

# --- events -----------------------------------------------------------------------
# How long the bus keeps every event for replay. A replay must change nothing twice, and
# the notifier remembers a job for services.notify_accepted_applicant.idempotency's
# DEDUPLICATION_WINDOW (90 days): the archive must never keep events longer than that.
# 30 days is time to notice a broken consumer (its DLQ alarms at once) and replay, while
# the usernames events carry are not kept longer than recovery needs.
ARCHIVE_RETENTION_DAYS: Final = 30
# Dead-letter queues keep a message 14 days, the most SQS allows.
DEAD_LETTER_RETENTION_DAYS: Final = 14

# The JobClosed pipe (stream -> bus, stacks/events.py).
# TRIM_HORIZON: a new or replaced pipe starts at the oldest record still in the stream
# (24 hours), so no job closed while it was being (re)created is missed. What it sends
# twice, the consumers ignore (conditional declines, idempotent notifications).
PIPE_STARTING_POSITION: Final = "TRIM_HORIZON"
# Up to 10 records per PutEvents call (the bus target's maximum). Only records that pass
# the filter count, and bookings are rare, so most batches hold one event.
PIPE_BATCH_SIZE: Final = 10
# Pipes default to retrying forever, which would stop the shard behind one bad record.
# A failure that outlasts 10 retries or an hour is not transient: the batch goes to the
# DLQ, whose message holds only the batch's shard and sequence numbers, so the hour also
# leaves most of the stream's 24-hour retention to read the records back from it.
PIPE_MAXIMUM_RETRY_ATTEMPTS: Final = 10
PIPE_MAXIMUM_RECORD_AGE_SECONDS: Final = 3600

# --- consumers --------------------------------------------------------------------
# One rule -> queue (+DLQ) -> function per consumer of the bus (stacks/consumers.py).
CONSUMER_DECLINE_OTHER_APPLICATIONS: Final = "DeclineOtherApplications"
CONSUMER_NOTIFY_ACCEPTED_APPLICANT: Final = "NotifyAcceptedApplicant"
# Not a JobClosed consumer: every event of the system's producers (sources babysitter.*).
CONSUMER_AUDIT_TRAIL: Final = "AuditTrail"
CONSUMERS: Final = (
    CONSUMER_DECLINE_OTHER_APPLICATIONS,
    CONSUMER_NOTIFY_ACCEPTED_APPLICANT,
    CONSUMER_AUDIT_TRAIL,
)
# What the audit trail subscribes to: the prefix every producer of this system names its
# events' source with (babysitter.jobs, ...), so a new kind of event is audited with no
# change here, while nothing else that may reach the bus is.
AUDITED_SOURCE_PREFIX: Final = "babysitter."

# --- observability ----------------------------------------------------------------
# The period alarms and dashboard graphs aggregate over. Alarms fire on one breaching
# period: every failure they watch (an error, a failed delivery, a message in a DLQ) is a
# booking's event that did not settle, and bookings are few enough for each to matter.
OBSERVABILITY_PERIOD_MINUTES: Final = 5


def _queue_url(consumer: str) -> str:
    return f"{consumer}QueueUrl"


def _dead_letter_queue_url(consumer: str) -> str:
    return f"{consumer}DeadLetterQueueUrl"


class Output:
    """CloudFormation output keys; `cdk deploy --outputs-file` and the local cloud write
    the same keys, and tests find the endpoints by them."""

    GRAPHQL_URL: Final = "GraphQLUrl"
    GRAPHQL_API_ID: Final = "GraphQLApiId"
    GRAPHQL_API_KEY: Final = "GraphQLApiKey"
    USER_POOL_ID: Final = "UserPoolId"
    USER_POOL_CLIENT_ID: Final = "UserPoolClientId"
    TABLE_NAME: Final = "TableName"
    TABLE_STREAM_ARN: Final = "TableStreamArn"
    API_FUNCTION_NAME: Final = "ApiFunctionName"
    REGION: Final = "Region"
    EVENT_BUS_NAME: Final = "EventBusName"
    EVENT_BUS_ARN: Final = "EventBusArn"
    ARCHIVE_NAME: Final = "ArchiveName"
    BOOKING_STATE_MACHINE_ARN: Final = "BookingStateMachineArn"
    JOB_CLOSED_PIPE_NAME: Final = "JobClosedPipeName"
    PIPE_DEAD_LETTER_QUEUE_URL: Final = "PipeDeadLetterQueueUrl"
    NOTIFICATION_TOPIC_ARN: Final = "NotificationTopicArn"
    # Every alarm notifies this topic: subscribe the on-call email, chat or pager to it.
    OPS_TOPIC_ARN: Final = "OpsTopicArn"
    DASHBOARD_NAME: Final = "DashboardName"
    EVENT_LOG_GROUP_NAME: Final = "EventLogGroupName"

    # Per consumer: <Name>QueueUrl and <Name>DeadLetterQueueUrl.
    queue_url: Final = staticmethod(_queue_url)
    dead_letter_queue_url: Final = staticmethod(_dead_letter_queue_url)

    ALL: Final = (
        GRAPHQL_URL,
        GRAPHQL_API_ID,
        GRAPHQL_API_KEY,
        USER_POOL_ID,
        USER_POOL_CLIENT_ID,
        TABLE_NAME,
        TABLE_STREAM_ARN,
        API_FUNCTION_NAME,
        REGION,
        EVENT_BUS_NAME,
        EVENT_BUS_ARN,
        ARCHIVE_NAME,
        BOOKING_STATE_MACHINE_ARN,
        JOB_CLOSED_PIPE_NAME,
        PIPE_DEAD_LETTER_QUEUE_URL,
        NOTIFICATION_TOPIC_ARN,
        OPS_TOPIC_ARN,
        DASHBOARD_NAME,
        EVENT_LOG_GROUP_NAME,
        *(key for c in CONSUMERS for key in (_queue_url(c), _dead_letter_queue_url(c))),
    )

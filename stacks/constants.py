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
STACK_DESCRIPTION: Final = "Nanny booking backend: AppSync API, Cognito, DynamoDB single table."
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
API_FUNCTION_TIMEOUT_SECONDS: Final = 10
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
    )

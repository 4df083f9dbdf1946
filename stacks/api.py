"""The GraphQL API: AppSync, schema-first, with one Lambda behind every operation."""

from aws_cdk import Duration, Expiration, RemovalPolicy, Stack
from aws_cdk import aws_appsync as appsync
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.constants import (
    API_FUNCTION_HANDLER,
    API_FUNCTION_MEMORY_MB,
    API_FUNCTION_SERVICE_NAME,
    API_FUNCTION_TIMEOUT_SECONDS,
    API_KEY_VALIDITY_DAYS,
    BOOKING_STATE_MACHINE_ARN_VARIABLE,
    RESOLVED_OPERATION_TYPES,
    RESOLVER_CODE_FILE,
    SCHEMA_FILE,
)
from stacks.nag import acknowledge, cfn_reference
from stacks.schema_fields import operation_fields
from stacks.service_function import LOG_RETENTION, ServiceFunction

# Item-level actions the data access layer uses. Transactions need no action of their
# own: TransactWriteItems is authorised per item as Put/Update/Delete/ConditionCheckItem.
_ITEM_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
)
_QUERY_ACTIONS = ("dynamodb:Query",)
# services/api/accounts.py: group membership, the verified email, signing a user out.
_ACCOUNT_ACTIONS = (
    "cognito-idp:AdminAddUserToGroup",
    "cognito-idp:AdminRemoveUserFromGroup",
    "cognito-idp:AdminGetUser",
    "cognito-idp:AdminUserGlobalSignOut",
)


class Api(Construct):
    """AppSync API with a Lambda data source "api" and a direct resolver per field."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        table: dynamodb.ITable,
        user_pool: cognito.IUserPool,
        booking_workflow: sfn.IStateMachine,
    ) -> None:
        super().__init__(scope, construct_id)

        self.graphql_api = self._graphql_api(user_pool)
        self.handler = ServiceFunction(
            self,
            "Function",
            handler=API_FUNCTION_HANDLER,
            service_name=API_FUNCTION_SERVICE_NAME,
            timeout=Duration.seconds(API_FUNCTION_TIMEOUT_SECONDS),
            memory_size=API_FUNCTION_MEMORY_MB,
            environment={
                "TABLE_NAME": table.table_name,
                "USER_POOL_ID": user_pool.user_pool_id,
                BOOKING_STATE_MACHINE_ARN_VARIABLE: booking_workflow.state_machine_arn,
            },
            description="AppSync resolvers of every Query and Mutation field",
        )
        self.function = self.handler.function
        self._grant(self.handler.role, table, user_pool)
        # bookNanny waits for the Express workflow: StartSyncExecution on it, nothing else.
        booking_workflow.grant_start_sync_execution(self.handler.role)
        self._resolvers()

    def _graphql_api(self, user_pool: cognito.IUserPool) -> appsync.GraphqlApi:
        # A role of our own: CDK's default one carries the AWS-managed policy
        # AWSAppSyncPushToCloudWatchLogs (logs:* on every log group of the account).
        logs_role = iam.Role(
            self,
            "LogsRole",
            assumed_by=iam.ServicePrincipal("appsync.amazonaws.com"),
            description="Lets AppSync write to the API's log group only",
        )
        api = appsync.GraphqlApi(
            self,
            "GraphqlApi",
            name=f"{Stack.of(self).stack_name}-api",
            # Read at synth and inlined into the template, so the local cloud and AWS
            # serve exactly the schema in the repo.
            definition=appsync.Definition.from_file(str(SCHEMA_FILE)),
            authorization_config=appsync.AuthorizationConfig(
                default_authorization=appsync.AuthorizationMode(
                    authorization_type=appsync.AuthorizationType.USER_POOL,
                    user_pool_config=appsync.UserPoolConfig(user_pool=user_pool),
                ),
                additional_authorization_modes=[
                    appsync.AuthorizationMode(
                        authorization_type=appsync.AuthorizationType.API_KEY,
                        api_key_config=appsync.ApiKeyConfig(
                            description="Public profile and review reads (@aws_api_key)",
                            # Explicit, so the key does not silently lapse after AppSync's
                            # 7-day default; computed at synth, so each deploy renews it.
                            expires=Expiration.after(Duration.days(API_KEY_VALIDITY_DAYS)),
                        ),
                    )
                ],
            ),
            xray_enabled=True,
        )
        # Set on the L1 resource: the L2's log_config always adds a LogRetention custom
        # resource (one more Lambda with AWS-managed policies) even when a log group with
        # a retention is created here instead.
        cfn_api = api.node.default_child
        if not isinstance(cfn_api, appsync.CfnGraphQLApi):
            raise TypeError("GraphqlApi no longer renders a CfnGraphQLApi")
        cfn_api.log_config = appsync.CfnGraphQLApi.LogConfigProperty(
            cloud_watch_logs_role_arn=logs_role.role_arn,
            # Errors only, and never request/response bodies, headers or resolver
            # context: those carry personal data (names, addresses, birth dates, tokens).
            field_log_level=appsync.FieldLogLevel.ERROR.value,
            exclude_verbose_content=True,
        )
        # AppSync writes to this fixed name; creating it here gives it a retention.
        log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=f"/aws/appsync/apis/{api.api_id}",
            retention=LOG_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
        )
        log_group.grant_write(logs_role)

        acknowledge(
            api,
            "AwsSolutions-ASC3",
            "Request logging is on (CloudWatch role set, field log level ERROR) but verbose "
            "content is excluded on purpose: it would log full requests, responses and "
            "headers, i.e. users' personal data and tokens (DESIGN.md section 8).",
        )
        return api

    def _grant(self, role: iam.IRole, table: dynamodb.ITable, user_pool: cognito.IUserPool) -> None:
        indexes = f"{table.table_arn}/index/*"
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=list(_ITEM_ACTIONS), resources=[table.table_arn])
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=list(_QUERY_ACTIONS), resources=[table.table_arn, indexes])
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=list(_ACCOUNT_ACTIONS), resources=[user_pool.user_pool_arn])
        )
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::{cfn_reference(table, 'Arn')}/index/*]",
            "dynamodb:Query only, on the indexes of this one table: the API queries all "
            "three GSIs (jobApplications, jobsAppliedTo, getJobsByStatus) and a new index "
            "should not need an IAM change. No item write is granted on indexes.",
        )

    def _resolvers(self) -> None:
        data_source = self.graphql_api.add_lambda_data_source(
            "ApiDataSource",
            self.function,
            name=API_FUNCTION_SERVICE_NAME,
            description="The api Lambda (Powertools AppSyncResolver)",
        )
        acknowledge(
            data_source,
            f"AwsSolutions-IAM5[Resource::{cfn_reference(self.function, 'Arn')}:*]",
            "CDK's grantInvoke adds the function's qualified ARNs (versions and aliases) "
            "next to the unqualified one; the wildcard stays within this single function, "
            "and AppSync's service role can invoke nothing else.",
        )
        # APPSYNC_JS, not a direct resolver: it raises the Lambda's domain-error envelope
        # with its own errorType (see the file). Inlined so the template is self-contained.
        code = appsync.Code.from_inline(RESOLVER_CODE_FILE.read_text())
        for type_name, field_name in operation_fields(SCHEMA_FILE, RESOLVED_OPERATION_TYPES):
            data_source.create_resolver(
                f"{type_name}{field_name[0].upper()}{field_name[1:]}Resolver",
                type_name=type_name,
                field_name=field_name,
                runtime=appsync.FunctionRuntime.JS_1_0_0,
                code=code,
            )

"""The one stack: composes the capabilities and publishes the outputs clients look up."""

from aws_cdk import App, Aws, CfnOutput, Stack
from constructs import Construct

from stacks.api import Api
from stacks.auth import Auth
from stacks.constants import STACK_DESCRIPTION, STACK_ID, Output
from stacks.data import Data
from stacks.nag import apply_nag


class NannyBookingStack(Stack):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id, description=STACK_DESCRIPTION)

        self.data = Data(self, "Data")
        self.auth = Auth(self, "Auth")
        self.api = Api(self, "Api", table=self.data.table, user_pool=self.auth.user_pool)

        graphql_api = self.api.graphql_api
        outputs = {
            Output.GRAPHQL_URL: graphql_api.graphql_url,
            Output.GRAPHQL_API_ID: graphql_api.api_id,
            # Not a secret: it ships inside the mobile apps and only opens @aws_api_key fields.
            Output.GRAPHQL_API_KEY: _present(graphql_api.api_key, "the API key"),
            Output.USER_POOL_ID: self.auth.user_pool.user_pool_id,
            Output.USER_POOL_CLIENT_ID: self.auth.client.user_pool_client_id,
            Output.TABLE_NAME: self.data.table.table_name,
            Output.TABLE_STREAM_ARN: _present(self.data.table.table_stream_arn, "the stream"),
            Output.API_FUNCTION_NAME: self.api.function.function_name,
            Output.REGION: Aws.REGION,
        }
        for key, value in outputs.items():
            CfnOutput(self, key, value=value)


def _present(value: str | None, what: str) -> str:
    if value is None:
        raise ValueError(f"{what} is not configured, yet it is a stack output")
    return value


def build(app: App) -> NannyBookingStack:
    """The whole app as `cdk synth` sees it: the stack plus the cdk-nag checks. app.py
    and the test fixture both call this, so tests check exactly what synth produces."""
    stack = NannyBookingStack(app, STACK_ID)
    apply_nag(app)
    return stack

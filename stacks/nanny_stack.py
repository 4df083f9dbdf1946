"""The one stack: composes the capabilities and publishes the outputs clients look up."""

from aws_cdk import App, Aws, CfnOutput, Stack
from constructs import Construct

from stacks.api import Api
from stacks.auth import Auth
from stacks.booking import Booking
from stacks.constants import STACK_DESCRIPTION, STACK_ID, Output
from stacks.consumers import Consumers
from stacks.data import Data
from stacks.events import Events
from stacks.nag import apply_nag
from stacks.observability import Observability


class NannyBookingStack(Stack):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id, description=STACK_DESCRIPTION)

        self.data = Data(self, "Data")
        self.auth = Auth(self, "Auth")
        self.booking = Booking(self, "Booking", table=self.data.table)
        self.api = Api(
            self,
            "Api",
            table=self.data.table,
            user_pool=self.auth.user_pool,
            booking_workflow=self.booking.state_machine,
        )
        self.events = Events(self, "Events", table=self.data.table)
        self.consumers = Consumers(self, "Consumers", bus=self.events.bus, table=self.data.table)
        # Last: it watches what the others built, and notifies ops of every alarm.
        self.observability = Observability(
            self,
            "Observability",
            bus=self.events.bus,
            graphql_api=self.api.graphql_api,
            pipe=self.events.pipe,
            functions={
                "Api": self.api.function,
                **{consumer.name: consumer.function for consumer in self.consumers.all},
            },
            rule_arns={consumer.name: consumer.rule.rule_arn for consumer in self.consumers.all},
            dead_letter_queues={
                "Pipe": self.events.pipe_dead_letter_queue,
                **{consumer.name: consumer.dead_letter_queue for consumer in self.consumers.all},
                **{
                    f"{consumer.name}Rule": consumer.target_dead_letter_queue
                    for consumer in self.consumers.all
                },
            },
        )

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
            Output.EVENT_BUS_NAME: self.events.bus.event_bus_name,
            Output.EVENT_BUS_ARN: self.events.bus.event_bus_arn,
            Output.ARCHIVE_NAME: self.events.archive.ref,
            Output.BOOKING_STATE_MACHINE_ARN: self.booking.state_machine.state_machine_arn,
            Output.JOB_CLOSED_PIPE_NAME: self.events.pipe.ref,
            Output.PIPE_DEAD_LETTER_QUEUE_URL: self.events.pipe_dead_letter_queue.queue_url,
            Output.NOTIFICATION_TOPIC_ARN: self.consumers.topic.topic_arn,
            Output.OPS_TOPIC_ARN: self.observability.topic.topic_arn,
            Output.DASHBOARD_NAME: self.observability.dashboard.dashboard_name,
            Output.EVENT_LOG_GROUP_NAME: self.observability.event_log_group.log_group_name,
        }
        for consumer in self.consumers.all:
            outputs[Output.queue_url(consumer.name)] = consumer.queue.queue_url
            outputs[Output.dead_letter_queue_url(consumer.name)] = (
                consumer.dead_letter_queue.queue_url
            )
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

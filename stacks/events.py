"""Event choreography: the bus, its archive and schemas, and the pipe that feeds it.

DynamoDB stream -> EventBridge Pipe (filter job items OPEN -> CLOSED, input template)
-> custom bus `JobClosed` -> one rule per consumer (stacks/consumers.py). What the filter
matches and what the event looks like is defined once, in events_schema/, and read
from there: this module only wires it up.
"""

import json

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_eventschemas as eventschemas
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_pipes as pipes
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from events_schema.job_closed_pipe import DETAIL_TYPE, FILTER_PATTERN, INPUT_TEMPLATE, SOURCE
from events_schema.json_schema import CATALOG
from stacks.constants import (
    ARCHIVE_RETENTION_DAYS,
    DEAD_LETTER_RETENTION_DAYS,
    PIPE_BATCH_SIZE,
    PIPE_MAXIMUM_RECORD_AGE_SECONDS,
    PIPE_MAXIMUM_RETRY_ATTEMPTS,
    PIPE_STARTING_POSITION,
)
from stacks.nag import acknowledge
from stacks.service_function import LOG_RETENTION

# What a pipe needs to read a DynamoDB stream (EventBridge user guide, "DynamoDB
# execution role permissions"). ListStreams is granted separately: it has no resource
# type, so it can only be allowed on "*".
_STREAM_READ_ACTIONS = (
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
)
_LIST_STREAMS = "dynamodb:ListStreams"
_SCHEMA_TYPE = "JSONSchemaDraft4"


def dead_letter_queue(scope: Construct, construct_id: str) -> sqs.Queue:
    """A queue that holds what could not be delivered, for an operator to look at and
    redrive: SQS-managed encryption, TLS only, and the longest retention SQS allows."""
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(DEAD_LETTER_RETENTION_DAYS),
        removal_policy=RemovalPolicy.DESTROY,
    )


def messages_waiting_alarm(scope: Construct, construct_id: str, queue: sqs.IQueue) -> None:
    """Alarm as soon as one message waits in a dead-letter queue: each one is a lost
    event until someone redrives it."""
    queue.metric_approximate_number_of_messages_visible(
        period=Duration.minutes(5), statistic=cloudwatch.Stats.MAXIMUM
    ).create_alarm(
        scope,
        construct_id,
        alarm_description=f"Messages are waiting in the dead-letter queue {queue.node.path}.",
        threshold=0,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluation_periods=1,
        # SQS stops sending metrics for a queue that stays empty: that is "OK".
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )


class Events(Construct):
    """The custom bus with its archive and schema registry, and the JobClosed pipe."""

    def __init__(self, scope: Construct, construct_id: str, *, table: dynamodb.ITable) -> None:
        super().__init__(scope, construct_id)

        self.bus = events.EventBus(
            self, "Bus", description="Domain events of the nanny booking backend"
        )
        self.archive = events.CfnArchive(
            self,
            "Archive",
            source_arn=self.bus.event_bus_arn,
            # No EventPattern: every event that reaches the bus is archived.
            description="Every event on the bus, for replay after a consumer failure",
            retention_days=ARCHIVE_RETENTION_DAYS,
        )
        self._schemas()
        self._pipe(table)

    def _schemas(self) -> None:
        registry = eventschemas.CfnRegistry(
            self, "SchemaRegistry", description="Schemas of the events on the bus"
        )
        # One schema per event in the events_schema catalog, as committed beside its
        # model (JSON Schema draft-04, the dialect the registry's JSONSchemaDraft4 takes).
        for event in CATALOG:
            eventschemas.CfnSchema(
                self,
                f"{event.detail_type}Schema",
                registry_name=registry.attr_registry_name,
                # The registry's own naming for event schemas: <source>@<detail-type>.
                schema_name=f"{event.source}@{event.detail_type}",
                type=_SCHEMA_TYPE,
                content=event.path.read_text(encoding="utf-8"),
                description=f"The detail of {event.detail_type} events from {event.source}",
            )
        self.registry = registry

    def _pipe(self, table: dynamodb.ITable) -> None:
        stream_arn = table.table_stream_arn
        if stream_arn is None:
            raise ValueError("the table has no stream for the pipe to read")

        self.pipe_dead_letter_queue = dead_letter_queue(self, "PipeDeadLetterQueue")
        messages_waiting_alarm(self, "PipeDeadLetterAlarm", self.pipe_dead_letter_queue)
        acknowledge(
            self.pipe_dead_letter_queue,
            "AwsSolutions-SQS3",
            "This queue is itself a dead-letter queue: the pipe's DeadLetterConfig sends it "
            "the stream position of every batch it gave up on. cdk-nag recognises only "
            "queue redrive policies and Lambda DLQs as DLQ uses, not a pipe's.",
        )
        log_group = logs.LogGroup(
            self,
            "PipeLogGroup",
            retention=LOG_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
        )

        role = iam.Role(
            self,
            "PipeRole",
            assumed_by=iam.ServicePrincipal(
                "pipes.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            ),
            description="Runs the JobClosed pipe: reads the table stream, puts on the bus",
        )
        # A policy of its own, not the role's default policy, so the pipe can depend on it.
        policy = iam.Policy(
            self,
            "PipePolicy",
            roles=[role],
            statements=[
                iam.PolicyStatement(actions=list(_STREAM_READ_ACTIONS), resources=[stream_arn]),
                iam.PolicyStatement(actions=[_LIST_STREAMS], resources=["*"]),
                iam.PolicyStatement(
                    actions=["events:PutEvents"], resources=[self.bus.event_bus_arn]
                ),
                iam.PolicyStatement(
                    actions=["sqs:SendMessage"],
                    resources=[self.pipe_dead_letter_queue.queue_arn],
                ),
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[log_group.log_group_arn],
                ),
            ],
        )
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::*]",
            "dynamodb:ListStreams has no resource type in IAM, so it can only be allowed on "
            "'*'; Pipes documents it as required for a DynamoDB stream source. It lists "
            "stream ARNs, no data: reading records is allowed on this table's stream only.",
        )

        self.pipe = pipes.CfnPipe(
            self,
            "JobClosedPipe",
            description="Job items OPEN -> CLOSED from the table stream, as JobClosed events",
            role_arn=role.role_arn,
            source=stream_arn,
            source_parameters=pipes.CfnPipe.PipeSourceParametersProperty(
                dynamo_db_stream_parameters=pipes.CfnPipe.PipeSourceDynamoDBStreamParametersProperty(
                    starting_position=PIPE_STARTING_POSITION,
                    batch_size=PIPE_BATCH_SIZE,
                    # Pipes retry a failing batch forever by default, and a stream shard
                    # stops behind it. Both limits are finite; what they stop ends in the DLQ.
                    maximum_retry_attempts=PIPE_MAXIMUM_RETRY_ATTEMPTS,
                    maximum_record_age_in_seconds=PIPE_MAXIMUM_RECORD_AGE_SECONDS,
                    # Halve a failing batch until the one record that fails is alone, so it
                    # alone goes to the DLQ and its neighbours are delivered.
                    on_partial_batch_item_failure="AUTOMATIC_BISECT",
                    dead_letter_config=pipes.CfnPipe.DeadLetterConfigProperty(
                        arn=self.pipe_dead_letter_queue.queue_arn
                    ),
                ),
                filter_criteria=pipes.CfnPipe.FilterCriteriaProperty(
                    filters=[pipes.CfnPipe.FilterProperty(pattern=json.dumps(FILTER_PATTERN))]
                ),
            ),
            target=self.bus.event_bus_arn,
            target_parameters=pipes.CfnPipe.PipeTargetParametersProperty(
                input_template=INPUT_TEMPLATE,
                event_bridge_event_bus_parameters=pipes.CfnPipe.PipeTargetEventBridgeEventBusParametersProperty(
                    source=SOURCE, detail_type=DETAIL_TYPE
                ),
            ),
            log_configuration=pipes.CfnPipe.PipeLogConfigurationProperty(
                cloudwatch_logs_log_destination=pipes.CfnPipe.CloudwatchLogsLogDestinationProperty(
                    log_group_arn=log_group.log_group_arn
                ),
                # Errors only, and no IncludeExecutionData: payloads hold usernames.
                level="ERROR",
            ),
            desired_state="RUNNING",
        )
        # Pipes checks the role's permissions when the pipe is created: without this, the
        # first deployment races the policy (the role alone is ordered by RoleArn).
        self.pipe.node.add_dependency(policy)
        self.pipe_role = role

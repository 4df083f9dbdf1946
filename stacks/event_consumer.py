"""One consumer of the bus: rule -> SQS queue (+DLQ) -> Lambda function.

Every consumer gets the same shape (DESIGN.md section 2), so a new one is one call and
touches nothing that exists::

    EventConsumer(
        self, "WelcomeNewParent", bus=events.bus, pattern=events.EventPattern(...),
        handler="services.welcome.handler.handler", service_name="welcome",
        description="Sends the welcome email", environment={"TABLE_NAME": table.table_name},
    ).grant(iam.PolicyStatement(actions=["dynamodb:GetItem"], resources=[table.table_arn]))

Why a queue between rule and function: the queue owns the retries (visibility timeout,
maxReceiveCount), the dead-letter queue, the function's concurrency and partial batch
failures, so one consumer can be redriven or replayed without touching the others.
"""

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.events import dead_letter_queue, messages_waiting_alarm
from stacks.nag import acknowledge
from stacks.service_function import ServiceFunction

# AWS: "set the source queue's visibility timeout to at least six times the timeout
# that you configure on your function", so a message is not redelivered while a
# (retried, throttled) invocation may still be working on it.
VISIBILITY_TIMEOUT_FACTOR = 6
# A message fails this many receives before it moves to the dead-letter queue: enough
# to ride out throttling and short outages, few enough to stop a poison message soon.
MAX_RECEIVE_COUNT = 5
# The queue keeps a message 4 days (SQS's default), well under the dead-letter queue's
# 14: SQS keeps a message's original enqueue time when it moves it to the DLQ.
QUEUE_RETENTION = Duration.days(4)
# The rule's own delivery to the queue: EventBridge retries 185 times over 24 hours by
# default. Delivering to SQS only fails if the queue or its policy is broken, which no
# retry fixes: give up sooner and keep the event in the rule's DLQ (and the archive).
RULE_TARGET_RETRY_ATTEMPTS = 10
RULE_TARGET_MAX_EVENT_AGE = Duration.hours(1)

DEFAULT_TIMEOUT = Duration.seconds(30)
DEFAULT_MEMORY_MB = 256
DEFAULT_BATCH_SIZE = 10
DEFAULT_MAX_CONCURRENCY = 5


class EventConsumer(Construct):
    """A rule on `bus` matching `pattern`, delivering to this consumer's own queue, which
    a `ServiceFunction` reads in batches, reporting the messages that failed.

    The construct id names the consumer: its rule, queues, function and stack outputs
    (<id>QueueUrl, <id>DeadLetterQueueUrl). Grant the function what it needs with
    `grant(...)` or through `role`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bus: events.IEventBus,
        pattern: events.EventPattern,
        handler: str,
        service_name: str,
        description: str,
        environment: Mapping[str, str] | None = None,
        timeout: Duration = DEFAULT_TIMEOUT,
        memory_size: int = DEFAULT_MEMORY_MB,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_concurrency: int | None = DEFAULT_MAX_CONCURRENCY,
    ) -> None:
        super().__init__(scope, construct_id)
        self.name = construct_id

        # -- queue and its dead-letter queue ----------------------------------------
        self.dead_letter_queue = dead_letter_queue(self, "DeadLetterQueue")
        messages_waiting_alarm(self, "DeadLetterAlarm", self.dead_letter_queue)
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=Duration.seconds(
                VISIBILITY_TIMEOUT_FACTOR * int(timeout.to_seconds())
            ),
            retention_period=QUEUE_RETENTION,
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letter_queue, max_receive_count=MAX_RECEIVE_COUNT
            ),
            removal_policy=RemovalPolicy.DESTROY,
        )

        # -- rule ---------------------------------------------------------------------
        # Events the rule could not deliver to the queue land here, not in the queue's DLQ
        # (which holds messages the function could not process).
        self.target_dead_letter_queue = dead_letter_queue(self, "TargetDeadLetterQueue")
        messages_waiting_alarm(self, "TargetDeadLetterAlarm", self.target_dead_letter_queue)
        acknowledge(
            self.target_dead_letter_queue,
            "AwsSolutions-SQS3",
            "This queue is itself a dead-letter queue: the rule's SQS target sends it the "
            "events it could not deliver to the consumer's queue (the target's "
            "DeadLetterConfig), which cdk-nag does not recognise as a DLQ use.",
        )
        self.rule = events.Rule(
            self,
            "Rule",
            event_bus=bus,
            event_pattern=pattern,
            description=f"{construct_id}: {description}",
            # The queue policy CDK writes lets events.amazonaws.com send only on behalf of
            # this rule (aws:SourceArn), and denies every request without TLS.
            targets=[
                targets.SqsQueue(
                    self.queue,
                    dead_letter_queue=self.target_dead_letter_queue,
                    retry_attempts=RULE_TARGET_RETRY_ATTEMPTS,
                    max_event_age=RULE_TARGET_MAX_EVENT_AGE,
                )
            ],
        )

        # -- function -------------------------------------------------------------------
        self.handler = ServiceFunction(
            self,
            "Function",
            handler=handler,
            service_name=service_name,
            timeout=timeout,
            memory_size=memory_size,
            environment=environment or {},
            description=description,
        )
        self.function = self.handler.function
        self.role = self.handler.role
        self.function.add_event_source(
            event_sources.SqsEventSource(
                self.queue,
                batch_size=batch_size,
                # The function answers the records to retry; the others are deleted.
                report_batch_item_failures=True,
                max_concurrency=max_concurrency,
            )
        )

    def grant(self, *statements: iam.PolicyStatement) -> "EventConsumer":
        """Allow the function what it needs, statement by statement."""
        for statement in statements:
            self.role.add_to_principal_policy(statement)
        return self

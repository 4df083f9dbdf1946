"""Operations: the dashboard, the alarms and who they call, and a log of the bus.

Composed last by the stack, from what the other constructs built:

- **ops topic** (SNS, KMS-encrypted, TLS only): the action of every alarm in the stack,
  including the dead-letter-queue alarms the other constructs made themselves
  (``NotifyOps``, an aspect, so an alarm added later is covered too). Subscribe the
  on-call channel to its ARN (output ``OpsTopicArn``).
- **alarms**: each Lambda function's ``Errors``; AppSync ``5XXError``; the pipe's failed,
  partially failed and timed-out executions; each rule's ``FailedInvocations``; every
  dead-letter queue's depth (made beside each queue, by ``stacks.events``).
- **dashboard**: the business metrics the functions publish (Powertools, namespace
  ``NannyBooking``), the API, the pipe, the rules, the dead-letter queues and, per
  function, errors, throttles and duration.
- **event log**: a rule matching every event on the bus, delivering one line per event to a
  log group: the envelope only (source, detail-type, id, time, correlation id, job id,
  replay name), never the detail, which holds usernames (DESIGN.md section 8). The archive
  keeps whole events for replay; this log answers "what went over the bus, and when" with
  CloudWatch Logs Insights, joined to the functions' logs by correlation id.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Final

import jsii
from aws_cdk import (
    ArnFormat,
    Aspects,
    Duration,
    Fn,
    IAspect,
    RemovalPolicy,
    Stack,
)
from aws_cdk import aws_appsync as appsync
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_pipes as pipes
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IConstruct

from stacks.constants import (
    API_FUNCTION_SERVICE_NAME,
    METRICS_NAMESPACE,
    OBSERVABILITY_PERIOD_MINUTES,
)
from stacks.event_consumer import RULE_TARGET_MAX_EVENT_AGE, RULE_TARGET_RETRY_ATTEMPTS
from stacks.events import dead_letter_queue, messages_waiting_alarm
from stacks.nag import acknowledge
from stacks.service_function import LOG_RETENTION

PERIOD: Final = Duration.minutes(OBSERVABILITY_PERIOD_MINUTES)

# --- the event log ------------------------------------------------------------------
# Every event on the bus: EventBridge's documented "match everything" pattern (every event
# has a source, and every string starts with "").
EVENT_LOG_PATTERN: Final = {"source": [{"prefix": ""}]}
# What one log line holds: the envelope, and the two ids that join it to the rest (the
# correlation id to the functions' logs, the job id to the table). Fields an event lacks
# are empty.
EVENT_LOG_FIELDS: Final = {
    "source": "$.source",
    "detailType": "$.detail-type",
    "id": "$.id",
    "time": "$.time",
    "correlationId": "$.detail.metadata.correlationId",
    "jobId": "$.detail.data.jobId",
    "replayName": "$.replay-name",
}
# A CloudWatch Logs target takes exactly {"timestamp": ..., "message": <string>}. The
# message is itself JSON (escaped inside the string), so Logs Insights discovers its
# fields: `fields source, detailType, correlationId | filter jobId = "..."`.
EVENT_LOG_INPUT_TEMPLATE: Final = json.dumps(
    {
        "timestamp": "<time>",
        "message": json.dumps(
            {name: f"<{name}>" for name in EVENT_LOG_FIELDS}, separators=(",", ":")
        ),
    }
)

# --- the business metrics (Powertools, namespace NannyBooking, dimension "service") ----
# (title, service, metric names): what each function counts.
BUSINESS_METRICS: Final = (
    ("Bookings and activity", API_FUNCTION_SERVICE_NAME,
     ("Booking", "JobPosted", "Application", "SignUp", "Review")),
    ("Declines", "decline_applications", ("ApplicationsDeclined",)),
    ("Notifications", "notify_accepted_applicant",
     ("AcceptedApplicantsNotified", "NotificationsSkipped", "DuplicateNotificationsSuppressed")),
    ("Audit trail", "audit_trail",
     ("EventsAudited", "ReplayedEventsAudited", "DuplicateEventsIgnored")),
)  # fmt: skip
# Booking to settled (decline_applications): milliseconds, one sample per booking.
SETTLE_LATENCY: Final = ("decline_applications", "SettleLatency")

# --- the pipe (namespace AWS/EventBridge/Pipes, dimension PipeName) -------------------
PIPES_NAMESPACE: Final = "AWS/EventBridge/Pipes"
# Every way an execution ends without the whole batch on the bus, and the target stage
# (PutEvents on the bus) failing. Each alarms: a record that fails every retry reaches the
# pipe's DLQ (alarmed too), but a failing pipe is worth knowing about before then, when a
# closed job's declines and notification are only late.
PIPE_FAILURE_ALARMS: Final = (
    "ExecutionFailed",
    "ExecutionPartiallyFailed",
    "ExecutionTimeout",
    "TargetStageFailed",
)
# Shown, not alarmed: a throttled execution is retried, and nothing is lost by it.
PIPE_DASHBOARD_ONLY: Final = ("ExecutionThrottled",)


@jsii.implements(IAspect)
class NotifyOps:
    """Every CloudWatch alarm below the scope notifies the topic when it fires and when it
    recovers (an aspect: alarms added by any construct, at any time, are covered)."""

    def __init__(self, topic: sns.ITopic) -> None:
        self.action = cloudwatch_actions.SnsAction(topic)

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, cloudwatch.Alarm):
            node.add_alarm_action(self.action)
            node.add_ok_action(self.action)


class Observability(Construct):
    """The ops topic, the alarms, the dashboard and the event log (see the module).

    Args:
        bus: the event bus to log.
        graphql_api: the AppSync API.
        pipe: the JobClosed pipe.
        functions: every Lambda function, by the name the dashboard shows.
        rule_arns: every rule of the bus, by name (the event log's rule is added here).
        dead_letter_queues: every dead-letter queue, by name (their alarms exist already;
            the event log's DLQ is added here).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bus: events.IEventBus,
        graphql_api: appsync.IGraphqlApi,
        pipe: pipes.CfnPipe,
        functions: Mapping[str, lambda_.IFunction],
        rule_arns: Mapping[str, str],
        dead_letter_queues: Mapping[str, sqs.IQueue],
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = self._ops_topic()
        Aspects.of(Stack.of(self)).add(NotifyOps(self.topic))

        self._event_log(bus)
        self.rule_arns = {**rule_arns, "EventLog": self.event_log_rule.attr_arn}
        self.dead_letter_queues = {**dead_letter_queues, "EventLog": self.event_log_dead_letters}

        self.alarms: list[cloudwatch.Alarm] = []
        for name, function in functions.items():
            self._alarm(
                f"{name}Errors",
                function.metric_errors(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                f"The {name} function failed (an unhandled error or a timeout). Its log "
                "group holds the error with the correlation id; a queue consumer retries the "
                "batch, then dead-letters it.",
            )
        self._alarm(
            "ApiServerErrors",
            _appsync_metric(graphql_api, "5XXError", cloudwatch.Stats.SUM),
            "AppSync answered a request with a server error (5XX). Look at the api "
            "function's errors and AppSync's log group (field errors only, no content).",
        )
        for metric_name in PIPE_FAILURE_ALARMS:
            self._alarm(
                f"Pipe{metric_name}",
                _pipe_metric(pipe, metric_name),
                f"The JobClosed pipe reported {metric_name}: a closed job's event may be "
                "late. The pipe retries, then sends the batch's stream position to its "
                "dead-letter queue; its log group holds the error (no payload).",
            )
        for name, rule_arn in self.rule_arns.items():
            self._alarm(
                f"{name}RuleFailedInvocations",
                _rule_metric(bus, rule_arn, "FailedInvocations"),
                f"The {name} rule could not deliver events to its target. Each such event "
                "waits in the rule target's dead-letter queue (and in the archive).",
            )

        self.dashboard = self._dashboard(
            graphql_api=graphql_api, pipe=pipe, bus=bus, functions=functions
        )

    # -- ops topic ------------------------------------------------------------------------

    def _ops_topic(self) -> sns.Topic:
        self.topic_key = kms.Key(
            self,
            "OpsTopicKey",
            description="Encrypts the ops topic's alarm notifications at rest",
            enable_key_rotation=True,
            # Only in-flight notifications are encrypted with it; SNS keeps no messages.
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(30),
        )
        # CloudWatch publishes alarm notifications itself, so it needs the key (an
        # AWS-managed aws/sns key cannot grant this, which is why the key is our own).
        self.topic_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsEncryptNotifications",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=["*"],  # in a key policy: this key
            )
        )
        topic = sns.Topic(
            self,
            "OpsTopic",
            display_name="Nanny booking operations",
            master_key=self.topic_key,
            enforce_ssl=True,
        )
        stack = Stack.of(self)
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsOfThisAccountPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="cloudwatch",
                            resource="alarm",
                            resource_name="*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    },
                    "StringEquals": {"aws:SourceAccount": stack.account},
                },
            )
        )
        return topic

    # -- event log -------------------------------------------------------------------------

    def _event_log(self, bus: events.IEventBus) -> None:
        stack = Stack.of(self)
        self.event_log_group = logs.LogGroup(
            self,
            "EventLogGroup",
            # /aws/events/: where the EventBridge console looks for its log group targets.
            log_group_name=f"/aws/events/{stack.stack_name}/bus",
            # Envelopes only, no personal data; as long as the functions' logs they join.
            retention=LOG_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.event_log_dead_letters = dead_letter_queue(self, "EventLogDeadLetterQueue")
        messages_waiting_alarm(self, "EventLogDeadLetterAlarm", self.event_log_dead_letters)
        acknowledge(
            self.event_log_dead_letters,
            "AwsSolutions-SQS3",
            "This queue is itself a dead-letter queue: the event log rule's target sends it "
            "the events it could not write to the log group (the target's DeadLetterConfig), "
            "which cdk-nag does not recognise as a DLQ use.",
        )
        self.event_log_rule = events.CfnRule(
            self,
            "EventLogRule",
            event_bus_name=bus.event_bus_name,
            description="EventLog: one envelope-only line per event on the bus",
            event_pattern=EVENT_LOG_PATTERN,
            state="ENABLED",
            targets=[
                events.CfnRule.TargetProperty(
                    id="EventLogGroup",
                    # The log group's ARN without the ":*" that GetAtt Arn ends with: a
                    # target with it deploys but delivers nothing.
                    arn=stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name=self.event_log_group.log_group_name,
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    ),
                    input_transformer=events.CfnRule.InputTransformerProperty(
                        input_paths_map=dict(EVENT_LOG_FIELDS),
                        input_template=EVENT_LOG_INPUT_TEMPLATE,
                    ),
                    retry_policy=events.CfnRule.RetryPolicyProperty(
                        maximum_retry_attempts=RULE_TARGET_RETRY_ATTEMPTS,
                        maximum_event_age_in_seconds=int(RULE_TARGET_MAX_EVENT_AGE.to_seconds()),
                    ),
                    dead_letter_config=events.CfnRule.DeadLetterConfigProperty(
                        arn=self.event_log_dead_letters.queue_arn
                    ),
                )
            ],
        )
        rule_arn = self.event_log_rule.attr_arn
        # EventBridge writes to CloudWatch Logs under the log group's resource policy (there
        # is no role for this target): this rule only, to this log group only.
        logs.ResourcePolicy(
            self,
            "EventLogPolicy",
            policy_statements=[
                iam.PolicyStatement(
                    sid="EventBridgeCreatesLogStreams",
                    principals=[iam.ServicePrincipal("events.amazonaws.com")],
                    actions=["logs:CreateLogStream"],
                    resources=[self.event_log_group.log_group_arn],
                ),
                # CloudWatch Logs sees the rule's ARN on PutLogEvents only (AWS's own
                # example scopes that action alone by aws:SourceArn).
                iam.PolicyStatement(
                    sid="TheEventLogRulePutsLogEvents",
                    principals=[iam.ServicePrincipal("events.amazonaws.com")],
                    actions=["logs:PutLogEvents"],
                    resources=[self.event_log_group.log_group_arn],
                    conditions={"ArnEquals": {"aws:SourceArn": rule_arn}},
                ),
            ],
        )
        self.event_log_dead_letters.add_to_resource_policy(
            iam.PolicyStatement(
                sid="TheEventLogRuleDeadLetters",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[self.event_log_dead_letters.queue_arn],
                conditions={"ArnEquals": {"aws:SourceArn": rule_arn}},
            )
        )

    # -- alarms and dashboard -------------------------------------------------------------

    def _alarm(self, name: str, metric: cloudwatch.Metric, description: str) -> None:
        alarm = metric.create_alarm(
            self,
            f"{name}Alarm",
            alarm_description=description,
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            # These metrics are absent while nothing fails (EventBridge and Pipes send
            # failure counts only when they are not zero): that is "OK".
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.alarms.append(alarm)

    def _dashboard(
        self,
        *,
        graphql_api: appsync.IGraphqlApi,
        pipe: pipes.CfnPipe,
        bus: events.IEventBus,
        functions: Mapping[str, lambda_.IFunction],
    ) -> cloudwatch.Dashboard:
        dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"{Stack.of(self).stack_name}-operations",
            default_interval=Duration.hours(24),
        )
        dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown=(
                    "# Nanny booking operations\n"
                    "Business counts (Powertools, namespace `NannyBooking`), then the API, "
                    "the JobClosed choreography (pipe, rules, dead-letter queues) and each "
                    "function. Every alarm notifies the ops topic (output `OpsTopicArn`)."
                ),
                width=24,
                height=2,
            )
        )
        business: list[cloudwatch.IWidget] = [
            _graph(title, [_business_metric(service, name) for name in names], width=6)
            for title, service, names in BUSINESS_METRICS
        ]
        dashboard.add_widgets(*business)
        service, name = SETTLE_LATENCY
        dashboard.add_widgets(
            _graph(
                "Booking to settled (ms)",
                [
                    _business_metric(service, name, statistic=statistic, label=statistic)
                    for statistic in ("p50", "p90", "Maximum")
                ],
                width=8,
            ),
            _graph(
                "API errors",
                [
                    _appsync_metric(graphql_api, metric, cloudwatch.Stats.SUM)
                    for metric in ("5XXError", "4XXError")
                ],
                width=8,
            ),
            _graph(
                "API latency (ms)",
                [
                    _appsync_metric(graphql_api, "Latency", statistic, label=statistic)
                    for statistic in ("p50", "p90", "p99")
                ],
                width=8,
            ),
        )
        dashboard.add_widgets(
            _graph(
                "JobClosed pipe: events",
                [_pipe_metric(pipe, name) for name in ("Invocations", "EventCount")],
                width=8,
            ),
            _graph(
                "JobClosed pipe: failures",
                [_pipe_metric(pipe, name) for name in PIPE_FAILURE_ALARMS + PIPE_DASHBOARD_ONLY],
                width=8,
            ),
            _graph(
                "Rules: failed deliveries",
                [
                    _rule_metric(bus, arn, "FailedInvocations", label=name)
                    for name, arn in self.rule_arns.items()
                ],
                width=8,
            ),
        )
        dashboard.add_widgets(
            _graph(
                "Rules: deliveries",
                [
                    _rule_metric(bus, arn, "Invocations", label=name)
                    for name, arn in self.rule_arns.items()
                ],
                width=12,
            ),
            _graph(
                "Dead-letter queues: messages waiting",
                [
                    queue.metric_approximate_number_of_messages_visible(
                        period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM, label=name
                    )
                    for name, queue in self.dead_letter_queues.items()
                ],
                width=12,
            ),
        )
        for name, function in functions.items():
            dashboard.add_widgets(
                _graph(
                    f"{name}: errors and throttles",
                    [
                        function.metric_errors(
                            period=PERIOD, statistic=cloudwatch.Stats.SUM, label="Errors"
                        ),
                        function.metric_throttles(
                            period=PERIOD, statistic=cloudwatch.Stats.SUM, label="Throttles"
                        ),
                        function.metric_invocations(
                            period=PERIOD, statistic=cloudwatch.Stats.SUM, label="Invocations"
                        ),
                    ],
                    width=12,
                ),
                _graph(
                    f"{name}: duration (ms)",
                    [
                        function.metric_duration(
                            period=PERIOD, statistic=statistic, label=statistic
                        )
                        for statistic in ("p50", "p90", "Maximum")
                    ],
                    width=12,
                ),
            )
        return dashboard


def _graph(
    title: str, metrics: Sequence[cloudwatch.IMetric], *, width: int
) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(title=title, left=list(metrics), width=width, height=6)


def _business_metric(
    service: str, name: str, *, statistic: str = cloudwatch.Stats.SUM, label: str | None = None
) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        # Powertools' default dimension: the function's POWERTOOLS_SERVICE_NAME.
        dimensions_map={"service": service},
        statistic=statistic,
        period=PERIOD,
        label=label,
    )


def _appsync_metric(
    api: appsync.IGraphqlApi, name: str, statistic: str, *, label: str | None = None
) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace="AWS/AppSync",
        metric_name=name,
        dimensions_map={"GraphQLAPIId": api.api_id},
        statistic=statistic,
        period=PERIOD,
        label=label,
    )


def _pipe_metric(pipe: pipes.CfnPipe, name: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=PIPES_NAMESPACE,
        metric_name=name,
        dimensions_map={"PipeName": pipe.ref},
        statistic=cloudwatch.Stats.SUM,
        period=PERIOD,
    )


def rule_name_of(rule_arn: str) -> str:
    """The name of a rule on a custom bus, from its ARN (``…:rule/<bus>/<rule>``).

    Not the rule's Ref: for a rule on a custom bus CloudFormation answers
    ``<bus>|<rule>``, while its metrics carry the plain name (and the bus's)."""
    return Fn.select(2, Fn.split("/", rule_arn))


def _rule_metric(
    bus: events.IEventBus, rule_arn: str, name: str, *, label: str | None = None
) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace="AWS/Events",
        metric_name=name,
        # A custom bus's rules publish with both dimensions (EventBridge user guide).
        dimensions_map={"EventBusName": bus.event_bus_name, "RuleName": rule_name_of(rule_arn)},
        statistic=cloudwatch.Stats.SUM,
        period=PERIOD,
        label=label,
    )

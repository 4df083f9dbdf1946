"""Operations: the ops topic, the alarms (every one notifies it), the dashboard and the
envelope-only event log of the bus."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from localcloud.event_pattern import matches
from localcloud.input_template import render_text
from stacks.constants import REPO_ROOT
from stacks.observability import BUSINESS_METRICS, EVENT_LOG_FIELDS, SETTLE_LATENCY
from tests.infrastructure.helpers import (
    CONSUMER_HANDLERS,
    Resources,
    api_function,
    as_list,
    consumer_queues,
    get_att,
    notification_topic,
    of_type,
    only,
)
from tests.infrastructure.test_consumers import dead_letter_targets
from tests.support.events import eventbridge_event, job_closed_detail

USERNAMES = {"parentUsername": "secret-parent", "acceptedApplicant": "secret-nanny"}


@pytest.fixture(scope="module")
def ops_topic_id(resources: Resources) -> str:
    notifications, _ = notification_topic(resources)
    (topic_id,) = set(of_type(resources, "AWS::SNS::Topic")) - {notifications}
    return topic_id


@pytest.fixture(scope="module")
def alarms(resources: Resources) -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in of_type(resources, "AWS::CloudWatch::Alarm").items()}


@pytest.fixture(scope="module")
def event_log_rule(resources: Resources) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (rule_id, rule["Properties"])
        for rule_id, rule in of_type(resources, "AWS::Events::Rule").items()
        if rule["Properties"]["EventPattern"] == {"source": [{"prefix": ""}]}
    ]
    return found


def alarms_on(alarms: dict[str, dict[str, Any]], namespace: str, metric: str) -> list[Any]:
    return [a for a in alarms.values() if (a["Namespace"], a["MetricName"]) == (namespace, metric)]


def dimension(alarm: dict[str, Any], name: str) -> Any:
    (value,) = [d["Value"] for d in alarm["Dimensions"] if d["Name"] == name]
    return value


def fires_on_the_first(alarm: dict[str, Any]) -> bool:
    return bool(
        alarm["ComparisonOperator"] == "GreaterThanThreshold"
        and alarm["Threshold"] == 0
        and alarm["EvaluationPeriods"] == 1
        and alarm["TreatMissingData"] == "notBreaching"
    )


# -- the ops topic ---------------------------------------------------------------------


def test_ops_topic_is_encrypted_with_its_own_key_and_tls_only(
    resources: Resources, ops_topic_id: str
) -> None:
    topic = resources[ops_topic_id]["Properties"]
    key_id = topic["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key = resources[key_id]["Properties"]
    assert key["EnableKeyRotation"] is True
    notifications, _ = notification_topic(resources)
    assert key_id != resources[notifications]["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    # CloudWatch publishes alarm notifications itself: it must be able to use the key...
    (cloudwatch,) = [
        s
        for s in key["KeyPolicy"]["Statement"]
        if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert sorted(as_list(cloudwatch["Action"])) == ["kms:Decrypt", "kms:GenerateDataKey"]
    # ...and to publish, for this account's alarms only; nobody without TLS.
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in of_type(resources, "AWS::SNS::TopicPolicy").values()
        if p["Properties"]["Topics"] == [{"Ref": ops_topic_id}]
    ]
    (deny,) = [s for s in policy if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    (allow,) = [s for s in policy if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert allow["Action"] == "sns:Publish"
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert json.dumps(allow["Condition"]["ArnLike"]["aws:SourceArn"]).endswith(':alarm:*"]]}')


# -- alarms ---------------------------------------------------------------------------


def test_every_alarm_notifies_the_ops_topic_when_it_fires_and_recovers(
    alarms: dict[str, dict[str, Any]], ops_topic_id: str
) -> None:
    assert len(alarms) >= 20
    for alarm_id, alarm in alarms.items():
        assert alarm["AlarmActions"] == [{"Ref": ops_topic_id}], alarm_id
        assert alarm["OKActions"] == [{"Ref": ops_topic_id}], alarm_id
        assert len(alarm.get("AlarmDescription", "")) > 40, alarm_id


def test_every_dead_letter_queue_has_one_alarm_and_no_other_is_duplicated(
    resources: Resources, alarms: dict[str, dict[str, Any]]
) -> None:
    depth = alarms_on(alarms, "AWS/SQS", "ApproximateNumberOfMessagesVisible")
    watched = [dimension(a, "QueueName")["Fn::GetAtt"][0] for a in depth]
    assert sorted(watched) == sorted(dead_letter_targets(resources))
    assert all(fires_on_the_first(a) for a in depth)


def test_every_function_has_an_errors_alarm(
    resources: Resources, alarms: dict[str, dict[str, Any]]
) -> None:
    errors = alarms_on(alarms, "AWS/Lambda", "Errors")
    watched = sorted(dimension(a, "FunctionName")["Ref"] for a in errors)
    assert watched == sorted(of_type(resources, "AWS::Lambda::Function"))
    assert all(fires_on_the_first(a) and a["Statistic"] == "Sum" for a in errors)


def test_every_rule_has_a_failed_invocations_alarm(
    resources: Resources, alarms: dict[str, dict[str, Any]]
) -> None:
    bus_id, _ = only(resources, "AWS::Events::EventBus")
    failed = alarms_on(alarms, "AWS/Events", "FailedInvocations")
    rules = of_type(resources, "AWS::Events::Rule")
    watched = []
    for alarm in failed:
        assert dimension(alarm, "EventBusName") == {"Ref": bus_id}
        # The rule's plain name, from its ARN (arn:…:rule/<bus>/<rule>): a custom bus's
        # rules publish metrics by bus and rule name, not by the rule's Ref (<bus>|<rule>).
        name = dimension(alarm, "RuleName")["Fn::Select"]
        assert name[0] == 2
        assert name[1]["Fn::Split"][0] == "/"
        watched.append(name[1]["Fn::Split"][1]["Fn::GetAtt"])
        assert fires_on_the_first(alarm)
    assert sorted(watched) == sorted([rule_id, "Arn"] for rule_id in rules)
    assert all(r["Properties"]["EventBusName"] == {"Ref": bus_id} for r in rules.values())


def test_appsync_server_errors_alarm(
    resources: Resources, alarms: dict[str, dict[str, Any]]
) -> None:
    api_id, _ = only(resources, "AWS::AppSync::GraphQLApi")
    (alarm,) = alarms_on(alarms, "AWS/AppSync", "5XXError")
    assert dimension(alarm, "GraphQLAPIId") == get_att(api_id, "ApiId")
    assert fires_on_the_first(alarm)
    assert alarm["Statistic"] == "Sum"


def test_pipe_failures_alarm(resources: Resources, alarms: dict[str, dict[str, Any]]) -> None:
    pipe_id, _ = only(resources, "AWS::Pipes::Pipe")
    pipe_alarms = [a for a in alarms.values() if a["Namespace"] == "AWS/EventBridge/Pipes"]
    assert sorted(a["MetricName"] for a in pipe_alarms) == [
        "ExecutionFailed",
        "ExecutionPartiallyFailed",
        "ExecutionTimeout",
        "TargetStageFailed",
    ]
    for alarm in pipe_alarms:
        assert alarm["Dimensions"] == [{"Name": "PipeName", "Value": {"Ref": pipe_id}}]
        assert fires_on_the_first(alarm)
    assert alarm["Statistic"] == "Sum"


# -- dashboard ------------------------------------------------------------------------


def dashboard_references(resources: Resources) -> tuple[str, list[Any]]:
    """The dashboard body's text and the references (Ref, GetAtt, ...) spliced into it."""
    _, dashboard = only(resources, "AWS::CloudWatch::Dashboard")
    parts = dashboard["DashboardBody"]["Fn::Join"][1]
    text = "".join(p for p in parts if isinstance(p, str))
    return text, [p for p in parts if not isinstance(p, str)]


def test_dashboard_names_every_function_queue_rule_the_api_and_the_pipe(
    resources: Resources,
) -> None:
    text, references = dashboard_references(resources)
    for function_id in of_type(resources, "AWS::Lambda::Function"):
        assert {"Ref": function_id} in references, function_id
    for queue_id in dead_letter_targets(resources):
        assert get_att(queue_id, "QueueName") in references, queue_id
    rule_names = [r for r in references if "Fn::Select" in r]
    for rule_id in of_type(resources, "AWS::Events::Rule"):
        assert any(get_att(rule_id, "Arn") in r["Fn::Select"][1]["Fn::Split"] for r in rule_names)
    api_id, _ = only(resources, "AWS::AppSync::GraphQLApi")
    assert get_att(api_id, "ApiId") in references
    pipe_id, _ = only(resources, "AWS::Pipes::Pipe")
    assert {"Ref": pipe_id} in references
    for metric in ("Errors", "Duration", "Throttles", "5XXError", "Latency", "FailedInvocations"):
        assert f'"{metric}"' in text, metric
    for metric in ("ExecutionFailed", "ExecutionThrottled", "TargetStageFailed", "EventCount"):
        assert f'"AWS/EventBridge/Pipes","{metric}"' in text, metric


def test_dashboard_shows_business_metrics_the_functions_really_emit(
    resources: Resources,
) -> None:
    text, _ = dashboard_references(resources)
    services = {
        f["Properties"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]: f["Properties"]
        for f in of_type(resources, "AWS::Lambda::Function").values()
    }
    shown = [(s, name) for _, s, names in BUSINESS_METRICS for name in names] + [SETTLE_LATENCY]
    assert ("api", "Booking") in shown
    assert ("decline_applications", "SettleLatency") in shown
    for service, name in shown:
        function = services[service]  # a function of that service name exists
        assert function["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"] == (
            "NannyBooking"
        )
        package = REPO_ROOT / "services" / function["Handler"].split(".")[1]
        code = "\n".join(p.read_text() for p in package.rglob("*.py"))
        # add_metric(name="X", ...), count("X") (the api) or the audit trail's table.
        assert re.search(rf'(name=|count\(|: )"{name}"', code), (service, name)
        assert f'"NannyBooking","{name}","service","{service}"' in text, (service, name)


# -- the event log --------------------------------------------------------------------


def test_event_log_takes_every_event_on_the_bus(
    resources: Resources, event_log_rule: tuple[str, dict[str, Any]]
) -> None:
    _, rule = event_log_rule
    bus_id, _ = only(resources, "AWS::Events::EventBus")
    assert rule["EventBusName"] == {"Ref": bus_id}
    assert rule["State"] == "ENABLED"
    job_closed = eventbridge_event(job_closed_detail())
    for event in (
        job_closed,
        {**job_closed, "source": "anyone", "detail": {}},
        {**job_closed, "replay-name": "recovery"},
    ):
        assert matches(rule["EventPattern"], event)


def test_event_log_writes_the_envelope_only_to_a_log_group_with_retention(
    resources: Resources, event_log_rule: tuple[str, dict[str, Any]]
) -> None:
    _, rule = event_log_rule
    (target,) = rule["Targets"]
    # The log group's ARN, without the ":*" of its GetAtt Arn (which delivers nothing).
    parts = target["Arn"]["Fn::Join"][1]
    assert parts[-2:-1] == [":log-group:"]
    log_group_id = parts[-1]["Ref"]
    log_group = resources[log_group_id]["Properties"]
    assert log_group["LogGroupName"].startswith("/aws/events/")
    assert log_group["RetentionInDays"] == 30
    # Failed deliveries: finite retries, then the rule's own (alarmed) dead-letter queue.
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 10, "MaximumEventAgeInSeconds": 3600}
    assert target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0] in dead_letter_targets(resources)

    transformer = target["InputTransformer"]
    assert transformer["InputPathsMap"] == EVENT_LOG_FIELDS
    assert set(transformer["InputPathsMap"].values()) == {
        "$.source",
        "$.detail-type",
        "$.id",
        "$.time",
        "$.detail.metadata.correlationId",
        "$.detail.data.jobId",
        "$.replay-name",
    }
    event = eventbridge_event(job_closed_detail(**USERNAMES), replay_name="recovery-1")
    text = render_text(
        transformer["InputTemplate"], event, input_paths=transformer["InputPathsMap"]
    )
    line = json.loads(text)
    # What a CloudWatch Logs target accepts: a timestamp and a string message.
    assert set(line) == {"timestamp", "message"}
    assert line["timestamp"] == event["time"]
    assert json.loads(line["message"]) == {
        "source": "babysitter.jobs",
        "detailType": "JobClosed",
        "id": event["id"],
        "time": event["time"],
        "correlationId": event["detail"]["metadata"]["correlationId"],
        "jobId": event["detail"]["data"]["jobId"],
        "replayName": "recovery-1",
    }
    assert not any(name in text for name in USERNAMES.values())


def test_only_the_event_log_rule_may_write_to_its_log_group(
    resources: Resources, event_log_rule: tuple[str, dict[str, Any]]
) -> None:
    rule_id, rule = event_log_rule
    log_group_id = rule["Targets"][0]["Arn"]["Fn::Join"][1][-1]["Ref"]
    (policy,) = of_type(resources, "AWS::Logs::ResourcePolicy").values()
    # The document is JSON text with GetAtts spliced in: read those as "<logical id>.<attr>".
    document = json.loads(
        "".join(
            part if isinstance(part, str) else ".".join(part["Fn::GetAtt"])
            for part in policy["Properties"]["PolicyDocument"]["Fn::Join"][1]
        )
    )
    log_group_arn, rule_arn = f"{log_group_id}.Arn", f"{rule_id}.Arn"
    statements = {tuple(as_list(s["Action"])): s for s in document["Statement"]}
    assert set(statements) == {("logs:CreateLogStream",), ("logs:PutLogEvents",)}
    for statement in statements.values():
        assert statement["Effect"] == "Allow"
        assert statement["Principal"] == {"Service": "events.amazonaws.com"}
        assert statement["Resource"] == log_group_arn
    assert statements[("logs:PutLogEvents",)]["Condition"] == {
        "ArnEquals": {"aws:SourceArn": rule_arn}
    }


def test_the_consumers_queues_are_all_on_the_dashboard(resources: Resources) -> None:
    _, references = dashboard_references(resources)
    for consumer in CONSUMER_HANDLERS:
        _, dead_letter_id = consumer_queues(resources, consumer)
        assert get_att(dead_letter_id, "QueueName") in references
    function_id, _ = api_function(resources)
    assert {"Ref": function_id} in references

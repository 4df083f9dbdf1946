"""The stack outputs: tests and tools find every endpoint by these keys."""

from typing import Any

from stacks.constants import Output
from tests.infrastructure.helpers import (
    CONSUMER_HANDLERS,
    Resources,
    api_function,
    consumer_queues,
    get_att,
    notification_topic,
    of_type,
    only,
)
from tests.support.template import Synthesized


def test_every_output_exists_and_points_at_its_resource(
    synthesized: Synthesized, resources: Resources
) -> None:
    outputs: dict[str, Any] = {
        key: value["Value"] for key, value in synthesized.template_dict["Outputs"].items()
    }
    api_id, _ = only(resources, "AWS::AppSync::GraphQLApi")
    key_id, _ = only(resources, "AWS::AppSync::ApiKey")
    pool_id, _ = only(resources, "AWS::Cognito::UserPool")
    client_id, _ = only(resources, "AWS::Cognito::UserPoolClient")
    table_id, _ = only(resources, "AWS::DynamoDB::Table")
    function_id, _ = api_function(resources)
    expected = {
        "GraphQLUrl": get_att(api_id, "GraphQLUrl"),
        "GraphQLApiId": get_att(api_id, "ApiId"),
        "GraphQLApiKey": get_att(key_id, "ApiKey"),
        "UserPoolId": {"Ref": pool_id},
        "UserPoolClientId": {"Ref": client_id},
        "TableName": {"Ref": table_id},
        "TableStreamArn": get_att(table_id, "StreamArn"),
        "ApiFunctionName": {"Ref": function_id},
        "Region": {"Ref": "AWS::Region"},
    }
    bus_id, _ = only(resources, "AWS::Events::EventBus")
    archive_id, _ = only(resources, "AWS::Events::Archive")
    state_machine_id, _ = only(resources, "AWS::StepFunctions::StateMachine")
    pipe_id, pipe = only(resources, "AWS::Pipes::Pipe")
    topic_id, _ = notification_topic(resources)
    (ops_topic_id,) = set(of_type(resources, "AWS::SNS::Topic")) - {topic_id}
    dashboard_id, _ = only(resources, "AWS::CloudWatch::Dashboard")
    (event_log_id,) = [
        logical_id
        for logical_id, group in of_type(resources, "AWS::Logs::LogGroup").items()
        if str(group["Properties"].get("LogGroupName", "")).startswith("/aws/events/")
    ]
    pipe_dlq_arn = pipe["SourceParameters"]["DynamoDBStreamParameters"]["DeadLetterConfig"]["Arn"]
    expected |= {
        "EventBusName": {"Ref": bus_id},
        "EventBusArn": get_att(bus_id, "Arn"),
        "ArchiveName": {"Ref": archive_id},
        "BookingStateMachineArn": {"Ref": state_machine_id},
        "JobClosedPipeName": {"Ref": pipe_id},
        "PipeDeadLetterQueueUrl": {"Ref": pipe_dlq_arn["Fn::GetAtt"][0]},
        "NotificationTopicArn": {"Ref": topic_id},
        "OpsTopicArn": {"Ref": ops_topic_id},
        "DashboardName": {"Ref": dashboard_id},
        "EventLogGroupName": {"Ref": event_log_id},
    }
    for consumer in CONSUMER_HANDLERS:
        queue_id, dead_letter_id = consumer_queues(resources, consumer)
        expected[f"{consumer}QueueUrl"] = {"Ref": queue_id}
        expected[f"{consumer}DeadLetterQueueUrl"] = {"Ref": dead_letter_id}
    assert set(Output.ALL) == set(expected)
    assert {key: outputs.get(key) for key in expected} == expected

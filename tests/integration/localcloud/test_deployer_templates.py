"""Small hand-written templates on moto (server mode) and DynamoDB Local: the resource types
the stack is growing into, deployed by type rather than by what NannyBooking has today."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config

from localcloud.deployer import Deployment, deploy
from localcloud.dynamodb_local import DynamoDBLocal

pytestmark = pytest.mark.dynamodb

Clients = Callable[[str], Any]

TEMPLATE: dict[str, Any] = {
    "Parameters": {"Stage": {"Type": "String", "Default": "dev"}},
    "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}},
    "Resources": {
        "Table": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "PK", "AttributeType": "S"}],
                "BillingMode": "PAY_PER_REQUEST",
            },
        },
        "DeadLetterQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"MessageRetentionPeriod": 1209600, "SqsManagedSseEnabled": True},
        },
        "WorkQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "VisibilityTimeout": "45",
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]},
                    "maxReceiveCount": "3",
                },
            },
        },
        "OrderedQueue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"FifoQueue": True, "ContentBasedDeduplication": True},
        },
        "ProdOnlyQueue": {"Type": "AWS::SQS::Queue", "Condition": "IsProd"},
        "NotificationsQueue": {"Type": "AWS::SQS::Queue"},
        "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {}}},
        "Topic": {
            "Type": "AWS::SNS::Topic",
            "Properties": {
                "TopicName": {"Fn::Sub": "${AWS::StackName}-alerts"},
                "DisplayName": "Alerts",
                "KmsMasterKeyId": {"Fn::GetAtt": ["Key", "Arn"]},
            },
        },
        "QueueSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "TopicArn": {"Ref": "Topic"},
                "Protocol": "sqs",
                "Endpoint": {"Fn::GetAtt": ["NotificationsQueue", "Arn"]},
                "RawMessageDelivery": True,
                "FilterPolicy": {"kind": ["urgent"]},
            },
        },
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
        "Function": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Handler": "services.api.handler.handler",
                "Runtime": "python3.13",
                "Code": {"ZipFile": "def handler(event, context):\n    return event\n"},
                "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                "Environment": {"Variables": {"QUEUE_URL": {"Ref": "WorkQueue"}}},
            },
        },
        "FunctionSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "TopicArn": {"Ref": "Topic"},
                "Protocol": "lambda",
                "Endpoint": {"Fn::GetAtt": ["Function", "Arn"]},
            },
        },
        "Bus": {
            "Type": "AWS::Events::EventBus",
            "Properties": {"Name": {"Fn::Sub": "${AWS::StackName}-bus"}},
        },
        "Archive": {
            "Type": "AWS::Events::Archive",
            "Properties": {
                "SourceArn": {"Fn::GetAtt": ["Bus", "Arn"]},
                "EventPattern": {"source": ["shop.orders"]},
                "RetentionDays": 7,
            },
        },
        "OrderRule": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "EventBusName": {"Ref": "Bus"},
                # Some templates carry the pattern as a JSON string.
                "EventPattern": json.dumps(
                    {"source": ["shop.orders"], "detail-type": ["OrderPlaced"]}
                ),
                "Targets": [
                    {
                        "Id": "Work",
                        "Arn": {"Fn::GetAtt": ["WorkQueue", "Arn"]},
                        "InputTransformer": {
                            "InputPathsMap": {"order": "$.detail.orderId"},
                            "InputTemplate": '{"order": <order>}',
                        },
                        "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}},
                        "RetryPolicy": {
                            "MaximumRetryAttempts": "4",
                            "MaximumEventAgeInSeconds": 600,
                        },
                    }
                ],
            },
        },
        "FunctionRule": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "EventBusName": {"Fn::GetAtt": ["Bus", "Arn"]},
                "EventPattern": {"source": ["shop.payments"]},
                "Targets": [{"Id": "Fn", "Arn": {"Fn::GetAtt": ["Function", "Arn"]}}],
            },
        },
        "Workflow": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "Definition": {
                    "StartAt": "Send",
                    "States": {
                        "Send": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::sqs:sendMessage",
                            "Parameters": {
                                "QueueUrl": "${QueueUrl}",
                                "MessageBody": "${Stage}-${Count}",
                            },
                            "End": True,
                        }
                    },
                },
                "DefinitionSubstitutions": {
                    "QueueUrl": {"Ref": "WorkQueue"},
                    "Stage": {"Ref": "Stage"},
                    "Count": 3,
                },
                "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
            },
        },
        "ExpressWorkflow": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "StateMachineName": {"Fn::Sub": "${AWS::StackName}-express"},
                "StateMachineType": "EXPRESS",
                "DefinitionString": {
                    "Fn::Join": [
                        "",
                        [
                            '{"StartAt":"P","States":{"P":{"Type":"Pass","Result":"',
                            {"Ref": "Table"},
                            '","End":true}}}',
                        ],
                    ]
                },
                "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
            },
        },
    },
    "Outputs": {
        "WorkQueueUrl": {"Value": {"Ref": "WorkQueue"}},
        "DeadLetterQueueArn": {"Value": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}},
        "TopicArn": {"Value": {"Ref": "Topic"}},
        "BusArn": {"Value": {"Fn::GetAtt": ["Bus", "Arn"]}},
        "ArchiveName": {"Value": {"Ref": "Archive"}},
        "WorkflowArn": {"Value": {"Ref": "Workflow"}},
        "Summary": {
            "Value": {
                "Fn::Join": [" ", [{"Ref": "Stage"}, {"Fn::GetAtt": ["OrderedQueue", "QueueName"]}]]
            }
        },
        "ProdQueueUrl": {"Condition": "IsProd", "Value": {"Ref": "ProdOnlyQueue"}},
    },
}


@pytest.fixture
def clients(moto_endpoint: str) -> Clients:
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    return lambda service: session.client(
        service, endpoint_url=moto_endpoint, config=Config(proxies={})
    )


@pytest.fixture
def stack_name() -> str:
    return f"Shop{uuid.uuid4().hex[:8]}"


@pytest.fixture
def deploy_template(
    moto_endpoint: str, dynamodb_local: DynamoDBLocal, stack_name: str
) -> Callable[..., Deployment]:
    def run(template: dict[str, Any], **kwargs: Any) -> Deployment:
        return deploy(
            template,
            moto_endpoint=moto_endpoint,
            dynamodb_endpoint=dynamodb_local.endpoint_url,
            stack_name=stack_name,
            **kwargs,
        )

    return run


def test_queues_redrive_fifo_and_conditions(
    deploy_template: Callable[..., Deployment], clients: Clients, stack_name: str
) -> None:
    deployment = deploy_template(TEMPLATE)
    sqs = clients("sqs")
    work = sqs.get_queue_attributes(
        QueueUrl=deployment.physical_ids["WorkQueue"], AttributeNames=["All"]
    )
    redrive = json.loads(work["Attributes"]["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == deployment.outputs[stack_name]["DeadLetterQueueArn"]
    assert int(redrive["maxReceiveCount"]) == 3
    assert work["Attributes"]["VisibilityTimeout"] == "45"
    (record,) = [q for q in deployment.queues if q.logical_id == "WorkQueue"]
    assert (record.visibility_timeout, record.max_receive_count) == (45, 3)

    ordered = deployment.attributes["OrderedQueue"]
    assert ordered["QueueName"].endswith(".fifo")
    attributes = sqs.get_queue_attributes(QueueUrl=ordered["QueueUrl"], AttributeNames=["All"])
    assert attributes["Attributes"]["FifoQueue"] == "true"
    assert attributes["Attributes"]["ContentBasedDeduplication"] == "true"

    assert [(s.logical_id, s.condition) for s in deployment.skipped] == [
        ("ProdOnlyQueue", "IsProd")
    ]
    assert "ProdOnlyQueue" not in deployment.physical_ids
    assert "ProdQueueUrl" not in deployment.outputs[stack_name]
    assert deployment.outputs[stack_name]["Summary"] == f"dev {ordered['QueueName']}"
    assert any("SqsManagedSseEnabled" in n for n in deployment.resource_notes["DeadLetterQueue"])
    assert {n.logical_id for n in deployment.not_emulated} == {"Key", "Role"}

    prod = deploy_template(TEMPLATE, parameters={"Stage": "prod"})
    assert prod.outputs[stack_name]["ProdQueueUrl"] == prod.physical_ids["ProdOnlyQueue"]
    assert sqs.get_queue_url(QueueName=prod.attributes["ProdOnlyQueue"]["QueueName"])


def test_topic_and_subscriptions(
    deploy_template: Callable[..., Deployment], clients: Clients, stack_name: str
) -> None:
    deployment = deploy_template(TEMPLATE)
    sns, sqs = clients("sns"), clients("sqs")
    topic_arn = deployment.outputs[stack_name]["TopicArn"]
    assert topic_arn.endswith(f":{stack_name}-alerts")
    assert sns.get_topic_attributes(TopicArn=topic_arn)["Attributes"]["DisplayName"] == "Alerts"
    assert any("KmsMasterKeyId" in n for n in deployment.resource_notes["Topic"])

    (subscription,) = sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]
    assert subscription["Protocol"] == "sqs"
    assert subscription["SubscriptionArn"] == deployment.physical_ids["QueueSubscription"]
    (topic,) = deployment.topics
    assert [(s.protocol, s.delivered_by) for s in topic.subscriptions] == [
        ("sqs", "moto"),
        ("lambda", "local"),
    ]

    sns.publish(
        TopicArn=topic_arn,
        Message="ignored",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "routine"}},
    )
    sns.publish(
        TopicArn=topic_arn,
        Message="wake up",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "urgent"}},
    )
    queue_url = deployment.physical_ids["NotificationsQueue"]
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)[
        "Messages"
    ]
    assert [m["Body"] for m in messages] == ["wake up"]  # raw delivery, filter policy applied


def test_bus_rules_targets_and_archive(
    deploy_template: Callable[..., Deployment], clients: Clients, stack_name: str
) -> None:
    deployment = deploy_template(TEMPLATE)
    events, sqs = clients("events"), clients("sqs")
    bus_name = f"{stack_name}-bus"
    assert deployment.physical_ids["Bus"] == bus_name
    assert deployment.physical_ids["OrderRule"].startswith(f"{bus_name}|{stack_name}-OrderRule-")

    bus = deployment.event_bus(bus_name)
    rules = {rule.logical_id: rule for rule in bus.rules}
    (work,) = rules["OrderRule"].targets
    assert rules["OrderRule"].event_pattern == {
        "source": ["shop.orders"],
        "detail-type": ["OrderPlaced"],
    }
    assert (work.kind, work.delivered_by, work.queue_url) == (
        "sqs",
        "moto",
        deployment.physical_ids["WorkQueue"],
    )
    assert work.retry_policy == {"MaximumRetryAttempts": 4, "MaximumEventAgeInSeconds": 600}
    assert work.dead_letter_arn == deployment.outputs[stack_name]["DeadLetterQueueArn"]
    (function_target,) = rules["FunctionRule"].targets
    assert (function_target.kind, function_target.delivered_by) == ("lambda", "local")
    assert function_target.function_name == deployment.physical_ids["Function"]
    # Registered in moto all the same: the edge router reads targets from there.
    rule_name = rules["FunctionRule"].name
    (registered,) = events.list_targets_by_rule(Rule=rule_name, EventBusName=bus_name)["Targets"]
    assert registered["Arn"] == deployment.attributes["Function"]["Arn"]

    archive = events.describe_archive(ArchiveName=deployment.outputs[stack_name]["ArchiveName"])
    assert json.loads(archive["EventPattern"]) == {"source": ["shop.orders"]}
    assert archive["RetentionDays"] == 7
    assert len(deployment.physical_ids["Archive"]) <= 48

    entry = {
        "EventBusName": bus_name,
        "Source": "shop.orders",
        "DetailType": "OrderPlaced",
        "Detail": json.dumps({"orderId": 42}),
    }
    assert events.put_events(Entries=[entry])["FailedEntryCount"] == 0
    (message,) = sqs.receive_message(QueueUrl=work.queue_url, WaitTimeSeconds=1)["Messages"]
    assert json.loads(message["Body"]) == {"order": 42}


def test_state_machines_with_substitutions(
    deploy_template: Callable[..., Deployment], clients: Clients, stack_name: str
) -> None:
    deployment = deploy_template(TEMPLATE)
    sfn = clients("stepfunctions")
    workflow = sfn.describe_state_machine(
        stateMachineArn=deployment.outputs[stack_name]["WorkflowArn"]
    )
    definition = json.loads(workflow["definition"])
    assert definition["States"]["Send"]["Parameters"] == {
        "QueueUrl": deployment.physical_ids["WorkQueue"],
        "MessageBody": "dev-3",
    }
    assert workflow["type"] == "STANDARD"
    assert workflow["roleArn"] == deployment.attributes["Role"]["Arn"]
    assert workflow["name"].startswith("Workflow-")

    express = sfn.describe_state_machine(stateMachineArn=deployment.physical_ids["ExpressWorkflow"])
    assert express["name"] == f"{stack_name}-express"
    assert express["type"] == "EXPRESS"
    assert (
        json.loads(express["definition"])["States"]["P"]["Result"]
        == deployment.physical_ids["Table"]
    )
    assert {m.name for m in deployment.state_machines} == {workflow["name"], express["name"]}


def test_function_record_with_inline_code(deploy_template: Callable[..., Deployment]) -> None:
    deployment = deploy_template(TEMPLATE)
    function = deployment.function("Function")
    assert function.inline_code == "def handler(event, context):\n    return event\n"
    assert function.environment == {"QUEUE_URL": deployment.physical_ids["WorkQueue"]}
    assert (function.timeout, function.memory_size) == (3, 128)  # Lambda's defaults


def test_changes_and_removals_on_redeploy(
    deploy_template: Callable[..., Deployment], clients: Clients, stack_name: str
) -> None:
    first = deploy_template(TEMPLATE)
    changed = copy.deepcopy(TEMPLATE)
    for logical_id in ("OrderedQueue", "FunctionRule", "Archive", "QueueSubscription"):
        del changed["Resources"][logical_id]
    changed["Outputs"].pop("ArchiveName")
    changed["Outputs"].pop("Summary")
    changed["Resources"]["WorkQueue"]["Properties"]["VisibilityTimeout"] = 90
    workflow = changed["Resources"]["Workflow"]["Properties"]
    workflow["DefinitionSubstitutions"]["Count"] = 4
    second = deploy_template(changed, previous=first)

    sqs, events, sfn = clients("sqs"), clients("events"), clients("stepfunctions")
    urls = sqs.list_queues(QueueNamePrefix=stack_name)["QueueUrls"]
    assert first.physical_ids["OrderedQueue"] not in urls
    assert second.physical_ids["WorkQueue"] == first.physical_ids["WorkQueue"]
    attributes = sqs.get_queue_attributes(
        QueueUrl=second.physical_ids["WorkQueue"], AttributeNames=["VisibilityTimeout"]
    )
    assert attributes["Attributes"]["VisibilityTimeout"] == "90"
    bus = f"{stack_name}-bus"
    names = {rule["Name"] for rule in events.list_rules(EventBusName=bus)["Rules"]}
    assert first.event_bus(bus).rules[1].name not in names
    assert second.event_bus(bus).rules[0].name in names
    assert all(
        a["ArchiveName"] != first.physical_ids["Archive"]
        for a in events.list_archives()["Archives"]
    )
    subscriptions = clients("sns").list_subscriptions_by_topic(TopicArn=first.physical_ids["Topic"])
    assert subscriptions["Subscriptions"] == []
    definition = sfn.describe_state_machine(stateMachineArn=second.physical_ids["Workflow"])[
        "definition"
    ]
    assert json.loads(definition)["States"]["Send"]["Parameters"]["MessageBody"] == "dev-4"
    removed = [note for note in second.notes if "no longer in the template" in note]
    assert len(removed) == 4
    assert all("deleted" in note for note in removed)

    # And back: the same names again.
    third = deploy_template(TEMPLATE, previous=second)
    assert third.physical_ids == first.physical_ids | {
        key: third.physical_ids[key] for key in ("QueueSubscription",)
    }

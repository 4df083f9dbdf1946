"""The deployer's parts that need no backend: names, parameter conversion, the record, and
templates whose resources are all config-only or not emulated (no request is made)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from localcloud.deploy.api_params import ParameterError, api_parameters
from localcloud.deploy.model import Deployment
from localcloud.deploy.names import generated_name, parse_arn, stable_token
from localcloud.deploy.not_emulated import reason_for
from localcloud.deployer import HANDLERS, DeployError, deploy, write_outputs

# Nothing listens here: a request would fail the test with a connection error.
UNREACHABLE = "http://127.0.0.1:9"

# -- names ------------------------------------------------------------------------------------


def test_generated_names_are_stable_bounded_and_keep_their_suffix() -> None:
    name = generated_name("NannyBooking", "ConsumersDeclineOtherApplicationsQueueD75EA3AA", 80)
    assert name == generated_name(
        "NannyBooking", "ConsumersDeclineOtherApplicationsQueueD75EA3AA", 80
    )
    assert len(name) <= 80
    assert re.fullmatch(r"NannyBooking-ConsumersDecline[A-Za-z0-9]*-[A-Z0-9]{12}", name)
    fifo = generated_name("S", "Queue" * 30, 80, suffix=".fifo")
    assert len(fifo) == 80
    assert fifo.endswith(".fifo")
    assert generated_name("S", "A", 80) != generated_name("S", "B", 80)
    assert generated_name("S", "A", 80) != generated_name("T", "A", 80)
    assert generated_name("Stack", "Archive", 48, with_stack=False).startswith("Archive-")
    assert stable_token("a", length=26, lower=True).islower()


def test_parse_arn() -> None:
    bus = parse_arn("arn:aws:events:us-east-1:123456789012:event-bus/jobs")
    assert bus is not None
    assert (bus.service, bus.resource_type, bus.resource_id) == ("events", "event-bus", "jobs")
    function = parse_arn("arn:aws:lambda:us-east-1:123456789012:function:api:live")
    assert function is not None
    assert (function.resource_type, function.resource_id) == ("function", "api:live")
    assert parse_arn("https://sqs/queue") is None


# -- CloudFormation properties -> API parameters ----------------------------------------------


def test_properties_convert_along_the_api_model() -> None:
    params, notes = api_parameters(
        "cognito-idp",
        "CreateUserPool",
        {
            "UserPoolName": "pool",
            "Policies": {"PasswordPolicy": {"MinimumLength": "12", "RequireSymbols": "true"}},
            "Schema": [{"Name": "email", "Mutable": True, "Required": "false"}],
            "UserPoolTags": {"team": 7},
            "Madeup": 1,
            "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": False, "Extra": 2},
        },
        where="Resources.Pool.Properties",
        renames={"UserPoolName": "PoolName"},
    )
    assert params == {
        "PoolName": "pool",
        "Policies": {"PasswordPolicy": {"MinimumLength": 12, "RequireSymbols": True}},
        "Schema": [{"Name": "email", "Mutable": True, "Required": False}],
        "UserPoolTags": {"team": "7"},
        "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": False},
    }
    assert notes == [
        "Madeup: not applied locally (not a parameter of CreateUserPool)",
        "AdminCreateUserConfig.Extra: not applied locally (not a parameter of CreateUserPool)",
    ]


def test_objects_become_json_strings_and_case_is_matched() -> None:
    params, _ = api_parameters(
        "stepfunctions",
        "CreateStateMachine",
        {"Name": "m", "LoggingConfiguration": {"Level": "ALL", "IncludeExecutionData": "false"}},
        where="x",
    )
    assert params == {
        "name": "m",
        "loggingConfiguration": {"level": "ALL", "includeExecutionData": False},
    }
    rule, _ = api_parameters(
        "events", "PutRule", {"Name": "r", "EventPattern": {"source": ["a"]}}, where="x"
    )
    assert json.loads(rule["EventPattern"]) == {"source": ["a"]}


def test_conversion_errors_name_the_location() -> None:
    with pytest.raises(
        ParameterError,
        match=r"Resources\.P\.Properties\.Policies\.PasswordPolicy\.MinimumLength: expected a "
        "number",
    ):
        api_parameters(
            "cognito-idp",
            "CreateUserPool",
            {"Policies": {"PasswordPolicy": {"MinimumLength": "long"}}},
            where="Resources.P.Properties",
        )
    with pytest.raises(ParameterError, match=r"Properties\.Schema: expected a list"):
        api_parameters("cognito-idp", "CreateUserPool", {"Schema": {}}, where="Properties")


def test_not_emulated_reasons() -> None:
    assert "IAM is not enforced" in reason_for("AWS::IAM::Role")
    assert "EventBridge Schemas" in reason_for("AWS::EventSchemas::Registry")
    assert "any local caller may invoke" in reason_for("AWS::Lambda::Permission")
    assert "does not run this resource type" in reason_for("AWS::EC2::VPC")
    assert "custom resources" in reason_for("Custom::Thing")
    assert not set(HANDLERS) & {"AWS::IAM::Role", "AWS::KMS::Key", "AWS::Logs::LogGroup"}


# -- config-only templates --------------------------------------------------------------------


def _function(**properties: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Handler": "services.api.handler.handler",
            "Runtime": "python3.13",
            "Code": {"S3Bucket": {"Fn::Sub": "assets-${AWS::AccountId}"}, "S3Key": "x.zip"},
            "Role": {"Fn::GetAtt": ["Role", "Arn"]},
            **properties,
        },
        "Metadata": {"aws:asset:path": "asset.abc"},
    }


CONFIG_ONLY: dict[str, Any] = {
    "Parameters": {
        "Layer": {
            "Type": "AWS::SSM::Parameter::Value<String>",
            "Default": "/aws/service/powertools/x",
        },
        "Stage": {"Type": "String", "Default": "dev"},
    },
    "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}},
    "Resources": {
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
        "Logs": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": {
                    "Fn::Join": ["", ["/aws/appsync/apis/", {"Fn::GetAtt": ["Api", "ApiId"]}]]
                }
            },
        },
        "Key": {
            "Type": "AWS::KMS::Key",
            "Properties": {"KeyPolicy": {"Fn::ImportValue": "NeverResolved"}},
        },
        "Function": _function(
            Timeout=10,
            MemorySize="512",
            Layers=[{"Ref": "Layer"}],
            Environment={
                "Variables": {
                    "STAGE": {"Ref": "Stage"},
                    "ROLE": {"Fn::GetAtt": ["Role", "Arn"]},
                    "KEY": {"Fn::GetAtt": ["Key", "Arn"]},
                    "LOGS": {"Ref": "Logs"},
                    "DEBUG": True,
                    "PROD_ONLY": {"Fn::If": ["IsProd", "yes", {"Ref": "AWS::NoValue"}]},
                }
            },
        ),
        "ProdFunction": {**_function(), "Condition": "IsProd"},
        "Api": {
            "Type": "AWS::AppSync::GraphQLApi",
            "Properties": {"Name": "api", "AuthenticationType": "API_KEY", "XrayEnabled": True},
        },
        "Schema": {
            "Type": "AWS::AppSync::GraphQLSchema",
            "Properties": {
                "ApiId": {"Fn::GetAtt": ["Api", "ApiId"]},
                "Definition": "type Query { a: String }",
            },
        },
        "Key1": {
            "Type": "AWS::AppSync::ApiKey",
            "Properties": {"ApiId": {"Fn::GetAtt": ["Api", "ApiId"]}, "Expires": 1900000000},
        },
        "Source": {
            "Type": "AWS::AppSync::DataSource",
            "Properties": {
                "ApiId": {"Fn::GetAtt": ["Api", "ApiId"]},
                "Name": "fn",
                "Type": "AWS_LAMBDA",
                "LambdaConfig": {"LambdaFunctionArn": {"Fn::GetAtt": ["Function", "Arn"]}},
            },
        },
        "Resolver": {
            "Type": "AWS::AppSync::Resolver",
            "DependsOn": ["Source", "Schema"],
            "Properties": {
                "ApiId": {"Fn::GetAtt": ["Api", "ApiId"]},
                "TypeName": "Query",
                "FieldName": "a",
                "DataSourceName": "fn",
                "Kind": "UNIT",
                "Runtime": {"Name": "APPSYNC_JS", "RuntimeVersion": "1.0.0"},
                "Code": "export function request(ctx) {}",
            },
        },
        "Permission": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {"FunctionName": {"Ref": "Function"}, "Action": "lambda:InvokeFunction"},
        },
    },
    "Outputs": {
        "Url": {"Value": {"Fn::GetAtt": ["Api", "GraphQLUrl"]}},
        "ApiKey": {"Value": {"Fn::GetAtt": ["Key1", "ApiKey"]}},
        "FunctionName": {"Value": {"Ref": "Function"}},
        "Memory": {"Value": 512},
        "ProdFunctionName": {"Condition": "IsProd", "Value": {"Ref": "ProdFunction"}},
    },
}


def _deploy(template: dict[str, Any], **kwargs: Any) -> Deployment:
    return deploy(
        template,
        moto_endpoint=UNREACHABLE,
        dynamodb_endpoint=UNREACHABLE,
        stack_name="Shop",
        **kwargs,
    )


def test_config_only_template(tmp_path: Path) -> None:
    deployment = _deploy(CONFIG_ONLY, code_root=tmp_path)

    (function,) = deployment.functions
    assert function.name == deployment.physical_ids["Function"]
    assert function.name.startswith("Shop-Function-")
    assert function.arn == f"arn:aws:lambda:us-east-1:123456789012:function:{function.name}"
    assert (function.handler, function.runtime, function.timeout, function.memory_size) == (
        "services.api.handler.handler",
        "python3.13",
        10,
        512,
    )
    role_arn = deployment.attributes["Role"]["Arn"]
    assert role_arn.startswith("arn:aws:iam::123456789012:role/Shop-Role-")
    api_id = deployment.graphql.api_id
    assert function.environment == {
        "STAGE": "dev",
        "ROLE": role_arn,
        "KEY": deployment.attributes["Key"]["Arn"],
        "LOGS": f"/aws/appsync/apis/{api_id}",
        "DEBUG": "true",
    }
    assert function.code_path == str(tmp_path.resolve())
    assert function.asset_path == "asset.abc"
    assert function.role_arn == role_arn
    assert function.layers[0].startswith("arn:aws:lambda:us-east-1:123456789012:layer:")

    api = deployment.graphql
    assert re.fullmatch(r"[a-z0-9]{26}", api.api_id)
    assert api.url == "http://127.0.0.1:4000/graphql"
    assert api.schema == "type Query { a: String }"
    assert [mode.type for mode in api.auth_modes] == ["API_KEY"]
    (key,) = api.api_keys
    assert re.fullmatch(r"da2-[a-z0-9]{26}", key.value)
    assert key.expires == 1900000000
    assert api.resolver_functions() == {("Query", "a"): function.name}
    assert api.resolvers[0].code == "export function request(ctx) {}"

    assert deployment.outputs == {
        "Shop": {
            "Url": "http://127.0.0.1:4000/graphql",
            "ApiKey": key.value,
            "FunctionName": function.name,
            "Memory": "512",
        }
    }
    assert {(n.logical_id, n.type) for n in deployment.not_emulated} == {
        ("Role", "AWS::IAM::Role"),
        ("Logs", "AWS::Logs::LogGroup"),
        ("Key", "AWS::KMS::Key"),
        ("Permission", "AWS::Lambda::Permission"),
    }
    assert all(n.reason for n in deployment.not_emulated)
    assert [(s.logical_id, s.condition) for s in deployment.skipped] == [("ProdFunction", "IsProd")]
    assert any("/aws/service/powertools/x" in note for note in deployment.notes)
    assert "Layers" in " ".join(deployment.resource_notes["Function"])
    assert "XrayEnabled" in " ".join(deployment.resource_notes["Api"])


def test_redeploy_keeps_names_and_the_api_key_value() -> None:
    first = _deploy(CONFIG_ONLY)
    again = _deploy(CONFIG_ONLY, previous=first)
    fresh = _deploy(CONFIG_ONLY)
    assert again.physical_ids == first.physical_ids
    assert again.outputs == first.outputs
    # Without the previous record only the API key value differs: it is a secret.
    assert fresh.outputs["Shop"]["ApiKey"] != first.outputs["Shop"]["ApiKey"]
    assert {k: v for k, v in fresh.physical_ids.items() if k != "Key1"} == {
        k: v for k, v in first.physical_ids.items() if k != "Key1"
    }


def test_deployment_json_round_trip_and_outputs_file(tmp_path: Path) -> None:
    deployment = _deploy(CONFIG_ONLY)
    saved = deployment.save(tmp_path / ".localcloud" / "deployment.json")
    assert Deployment.load(saved) == deployment
    assert json.loads(saved.read_text())["stack_name"] == "Shop"
    outputs = write_outputs(deployment, tmp_path / ".localcloud" / "outputs.json")
    assert json.loads(outputs.read_text()) == deployment.outputs
    # Written through a temporary file and renamed: nothing else is left behind.
    assert {path.name for path in saved.parent.iterdir()} == {"deployment.json", "outputs.json"}


def test_lookups() -> None:
    deployment = _deploy(CONFIG_ONLY)
    assert deployment.function("Function") is deployment.functions[0]
    assert deployment.stack_outputs["Memory"] == "512"
    with pytest.raises(LookupError, match="no function 'nope'"):
        deployment.function("nope")
    with pytest.raises(LookupError, match="expected one user pool"):
        _ = deployment.user_pool


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"Environment": {"Variables": {"X": {"Fn::GetAtt": ["Role", "Nope"]}}}},
            r"^Function \(AWS::Lambda::Function\): Resources\.Function\.Properties\.Environment"
            r"\.Variables\.X\.Fn::GetAtt: Role \(AWS::IAM::Role\) has no attribute 'Nope'",
        ),
        (
            {"Environment": {"Variables": {"X": {"Fn::ImportValue": "Other"}}}},
            r"^Function \(AWS::Lambda::Function\): .*Fn::ImportValue",
        ),
        (
            {"Code": {"ImageUri": "repo:tag"}},
            r"^Function \(AWS::Lambda::Function\): Code\.ImageUri",
        ),
    ],
)
def test_errors_name_the_resource(change: dict[str, Any], message: str) -> None:
    template = {
        "Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
            "Function": _function(**change),
        }
    }
    with pytest.raises(DeployError, match=message):
        _deploy(template)


def test_template_level_errors() -> None:
    with pytest.raises(DeployError, match="circular dependency A -> B -> A"):
        _deploy(
            {
                "Resources": {
                    "A": {"Type": "X", "DependsOn": "B"},
                    "B": {"Type": "X", "DependsOn": "A"},
                }
            }
        )
    with pytest.raises(DeployError, match="Transform 'AWS::Serverless-2016-10-31'"):
        _deploy({"Transform": "AWS::Serverless-2016-10-31", "Resources": {}})
    with pytest.raises(DeployError, match=r"Parameters: \['Nope'\] given"):
        _deploy({"Resources": {}}, parameters={"Nope": "1"})
    with pytest.raises(DeployError, match=r"Outputs\.L\.Value: an output must be a string"):
        _deploy({"Resources": {}, "Outputs": {"L": {"Value": {"Fn::GetAZs": ""}}}})


def test_records_of_removed_config_only_resources_just_go() -> None:
    first = _deploy(CONFIG_ONLY)
    smaller = {
        **CONFIG_ONLY,
        "Resources": {k: v for k, v in CONFIG_ONLY["Resources"].items() if k != "Permission"},
    }
    second = _deploy(smaller, previous=first)
    assert "Permission" not in second.physical_ids
    assert [note for note in second.notes if "no longer in the template" in note] == [
        "Permission (AWS::Lambda::Permission) is no longer in the template: nothing to delete"
    ]


def test_a_previous_deployment_of_another_stack_is_not_used() -> None:
    other = deploy(
        CONFIG_ONLY, moto_endpoint=UNREACHABLE, dynamodb_endpoint=UNREACHABLE, stack_name="Other"
    )
    deployment = _deploy({"Resources": {}}, previous=other)
    assert deployment.physical_ids == {}
    assert any("previous deployment is of another stack" in note for note in deployment.notes)
    assert not any("no longer in the template" in note for note in deployment.notes)

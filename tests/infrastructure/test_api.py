"""AppSync: auth modes, tracing, logging, the schema and one resolver per operation."""

import time
from typing import Any

import pytest
from graphql import ObjectTypeDefinitionNode, parse

from stacks.constants import RESOLVER_CODE_FILE, SCHEMA_FILE
from tests.infrastructure.helpers import Resources, get_att, of_type, only

DAY = 24 * 3600


@pytest.fixture(scope="module")
def api(resources: Resources) -> tuple[str, dict[str, Any]]:
    return only(resources, "AWS::AppSync::GraphQLApi")


def test_default_auth_is_the_user_pool_with_api_key_as_extra(
    resources: Resources, api: tuple[str, dict[str, Any]]
) -> None:
    _, props = api
    pool_id, _ = only(resources, "AWS::Cognito::UserPool")
    assert props["AuthenticationType"] == "AMAZON_COGNITO_USER_POOLS"
    assert props["UserPoolConfig"]["UserPoolId"] == {"Ref": pool_id}
    # ALLOW: the schema's auth directives decide, not a blanket deny.
    assert props["UserPoolConfig"]["DefaultAction"] == "ALLOW"
    assert props["AdditionalAuthenticationProviders"] == [{"AuthenticationType": "API_KEY"}]


def test_api_key_has_an_explicit_expiry_about_a_year_out(
    resources: Resources, api: tuple[str, dict[str, Any]]
) -> None:
    _, key = only(resources, "AWS::AppSync::ApiKey")
    assert key["ApiId"] == get_att(api[0], "ApiId")
    # Computed at synth: about 365 days from now (AppSync's maximum; CDK rounds to the
    # second, hence the one second of slack).
    assert time.time() + 364 * DAY < key["Expires"] <= time.time() + 365 * DAY + 1


def test_xray_and_error_only_logging_without_verbose_content(
    resources: Resources, api: tuple[str, dict[str, Any]]
) -> None:
    _, props = api
    assert props["XrayEnabled"] is True
    log_config = props["LogConfig"]
    assert log_config["FieldLogLevel"] == "ERROR"
    assert log_config["ExcludeVerboseContent"] is True
    role_id = log_config["CloudWatchLogsRoleArn"]["Fn::GetAtt"][0]
    assert resources[role_id]["Type"] == "AWS::IAM::Role"
    assert "ManagedPolicyArns" not in resources[role_id]["Properties"]


def test_api_log_group_has_the_name_appsync_writes_to_and_a_retention(
    resources: Resources, api: tuple[str, dict[str, Any]]
) -> None:
    # Other services' log groups are named too (the state machine's /aws/vendedlogs/...).
    named = [
        g["Properties"]
        for g in of_type(resources, "AWS::Logs::LogGroup").values()
        if "/aws/appsync/" in str(g["Properties"].get("LogGroupName"))
    ]
    assert len(named) == 1
    assert named[0]["LogGroupName"] == {
        "Fn::Join": ["", ["/aws/appsync/apis/", get_att(api[0], "ApiId")]]
    }
    assert named[0]["RetentionInDays"] == 30
    # No LogRetention custom resource (an extra Lambda) sneaks in through the L2.
    assert not of_type(resources, "Custom::LogRetention")


def test_schema_is_the_repo_schema_inline(resources: Resources) -> None:
    _, schema = only(resources, "AWS::AppSync::GraphQLSchema")
    assert schema["Definition"] == SCHEMA_FILE.read_text(encoding="utf-8")


def schema_operations() -> set[tuple[str, str]]:
    """Every Query and Mutation field, read independently of the stack's own parser."""
    document = parse(SCHEMA_FILE.read_text(encoding="utf-8"))
    return {
        (definition.name.value, field.name.value)
        for definition in document.definitions
        if isinstance(definition, ObjectTypeDefinitionNode)
        and definition.name.value in {"Query", "Mutation"}
        for field in definition.fields or ()
    }


def test_every_query_and_mutation_field_has_exactly_one_lambda_resolver(
    resources: Resources,
) -> None:
    _, data_source = only(resources, "AWS::AppSync::DataSource")
    assert data_source["Type"] == "AWS_LAMBDA"
    api_functions = [
        function_id
        for function_id, function in of_type(resources, "AWS::Lambda::Function").items()
        if function["Properties"]["Handler"] == "services.api.handler.handler"
    ]
    assert len(api_functions) == 1
    assert data_source["LambdaConfig"]["LambdaFunctionArn"] == get_att(api_functions[0], "Arn")

    resolvers = [r["Properties"] for r in of_type(resources, "AWS::AppSync::Resolver").values()]
    fields = [(r["TypeName"], r["FieldName"]) for r in resolvers]
    operations = schema_operations()
    assert len(operations) >= 15  # the schema's 7 queries and 8 mutations, at least
    assert ("Mutation", "bookNanny") in operations
    assert sorted(fields) == sorted(operations)  # one each: no field missing, none twice
    for resolver in resolvers:
        assert resolver["DataSourceName"] == data_source["Name"]
        assert resolver["Kind"] == "UNIT"
        # The error-envelope handler, inline: no VTL, no S3 code asset.
        assert resolver["Runtime"] == {"Name": "APPSYNC_JS", "RuntimeVersion": "1.0.0"}
        assert resolver["Code"] == RESOLVER_CODE_FILE.read_text()
        assert not {"RequestMappingTemplate", "ResponseMappingTemplate", "CodeS3Location"} & set(
            resolver
        )

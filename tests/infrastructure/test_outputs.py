"""The stack outputs: tests and tools find every endpoint by these keys."""

from typing import Any

from stacks.constants import Output
from tests.infrastructure.helpers import Resources, get_att, only
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
    function_id, _ = only(resources, "AWS::Lambda::Function")
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
    assert set(Output.ALL) == set(expected)
    assert {key: outputs.get(key) for key in expected} == expected

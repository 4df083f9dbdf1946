"""Which backend the edge router sends a request to, from what the request says."""

from __future__ import annotations

import pytest

from localcloud.edge.routing import identify


def sigv4(service: str, region: str = "eu-west-1", key: str = "AKID") -> str:
    return (
        f"AWS4-HMAC-SHA256 Credential={key}/20240101/{region}/{service}/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=abc"
    )


@pytest.mark.parametrize(
    ("target", "backend", "service", "operation"),
    [
        ("DynamoDB_20120810.GetItem", "dynamodb", "dynamodb", "GetItem"),
        ("DynamoDBStreams_20120810.GetRecords", "dynamodb", "dynamodbstreams", "GetRecords"),
        ("AWSStepFunctions.StartSyncExecution", "moto", "states", "StartSyncExecution"),
        ("AWSEvents.PutEvents", "moto", "events", "PutEvents"),
        ("AmazonSQS.SendMessage", "moto", "sqs", "SendMessage"),
        ("AWSCognitoIdentityProviderService.InitiateAuth", "moto", "cognito-idp", "InitiateAuth"),
    ],
)
def test_x_amz_target_names_service_and_operation(
    target: str, backend: str, service: str, operation: str
) -> None:
    route = identify("POST", "/", "", {"X-Amz-Target": target})

    assert (route.backend, route.service, route.operation) == (backend, service, operation)


def test_streams_signing_as_dynamodb_are_told_apart_by_their_target() -> None:
    route = identify(
        "POST",
        "/",
        "",
        {
            "authorization": sigv4("dynamodb"),
            "x-amz-target": "DynamoDBStreams_20120810.ListStreams",
        },
    )

    assert (route.backend, route.service) == ("dynamodb", "dynamodbstreams")


def test_the_credential_scope_gives_service_region_and_access_key() -> None:
    form = b"Action=Publish&TopicArn=arn%3Aaws%3Asns%3Ax&Message=hi"
    route = identify(
        "POST",
        "/",
        "",
        {
            "Authorization": sigv4("sns", "eu-west-1", "KEY1"),
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        },
        form,
    )

    assert (route.backend, route.service, route.operation) == ("moto", "sns", "Publish")
    assert (route.region, route.access_key) == ("eu-west-1", "KEY1")


def test_a_presigned_url_is_routed_by_its_query_credential() -> None:
    query = (
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=KEY2%2F20240101%2Fus-west-2%2Fs3"
        "%2Faws4_request&X-Amz-Signature=abc"
    )

    route = identify("GET", "/bucket/key", query, {"Host": "127.0.0.1:4566"})

    assert (route.service, route.region, route.access_key) == ("s3", "us-west-2", "KEY2")


def test_an_unsigned_cognito_call_has_default_region_and_key() -> None:
    route = identify(
        "POST", "/", "", {"X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth"}
    )

    assert (route.region, route.access_key) == ("us-east-1", "local")


@pytest.mark.parametrize("host", ["sync-127.0.0.1:4566", "sync-localhost:4566"])
def test_the_sync_host_prefix_means_step_functions(host: str) -> None:
    route = identify("POST", "/", "", {"Host": host})

    assert (route.service, route.sync_host) == ("states", True)


@pytest.mark.parametrize(
    ("host", "service", "backend"),
    [
        ("sqs.us-east-2.amazonaws.com", "sqs", "moto"),
        ("streams.dynamodb.eu-west-1.amazonaws.com", "dynamodbstreams", "dynamodb"),
        ("dynamodb.eu-west-1.amazonaws.com:443", "dynamodb", "dynamodb"),
    ],
)
def test_aws_host_names_name_the_service(host: str, service: str, backend: str) -> None:
    route = identify("GET", "/", "", {"Host": host})

    assert (route.service, route.backend) == (service, backend)


def test_a_query_action_in_the_url_is_read() -> None:
    route = identify("GET", "/", "Action=ListQueues&Version=2012-11-05", {})

    assert route.operation == "ListQueues"


def test_an_anonymous_request_goes_to_moto() -> None:
    route = identify("GET", "/moto-api/config", "", {"Host": "127.0.0.1:4566"})

    assert (route.backend, route.service, route.operation) == ("moto", None, None)

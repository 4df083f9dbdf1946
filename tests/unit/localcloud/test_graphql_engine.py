"""Executing requests like AppSync: the Lambda event, the JS resolver's error contract, the
field-level Unauthorized errors, AppSync's response and error shapes, the HTTP layer."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from graphql import print_ast, validate

from localcloud.graphql_endpoint import (
    AppSyncApi,
    Authenticator,
    AuthMode,
    Principal,
    ResolverInvocationError,
    TemplateError,
    resolver_functions_from_template,
    schema_from_template,
)
from stacks.constants import SCHEMA_FILE

SCHEMA_SDL = SCHEMA_FILE.read_text()
OPERATIONS = [
    ("Query", name)
    for name in (
        "getUser",
        "listUser",
        "listAllJobs",
        "listJobsPerParent",
        "listApplicationsPerJob",
        "listJobsAppliedTo",
        "listReviews",
    )
] + [
    ("Mutation", name)
    for name in (
        "createUser",
        "updateUser",
        "updateUserStatus",
        "deleteUser",
        "createJob",
        "applyToJob",
        "bookNanny",
        "rateUser",
    )
]

ANN = {
    "username": "ann",
    "type": "PARENT",
    "firstName": "Ann",
    "lastName": "Lee",
    "email": "ann@example.com",
    "city": "Oslo",
    "ratingCount": 0,
    "createdOn": "2024-01-01T10:00:00Z",
    "status": "VERIFIED",
}
JOB = {
    "id": "j1",
    "parentUsername": "ann",
    "jobType": "DAILY",
    "jobStatus": "CLOSED",
    "title": "Afternoons",
    "numberOfKids": 2,
    "startDate": "2024-06-01",
    "endDate": "2024-06-30",
    "startTime": "14:00",
    "endTime": "18:00",
    "city": "Oslo",
    "cost": 120.5,
    "createdOn": "2024-05-01T09:00:00Z",
}


class FakeLambda:
    """Records every invocation; answers per field name (a value, or a callable)."""

    def __init__(self, answers: dict[str, Any] | None = None) -> None:
        self.answers = answers or {}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, function: str, event: dict[str, Any]) -> Any:
        self.calls.append((function, event))
        answer = self.answers.get(event["info"]["fieldName"])
        return answer(event) if callable(answer) else answer

    @property
    def fields(self) -> list[str]:
        return [event["info"]["fieldName"] for _, event in self.calls]


def make_api(invoke: Callable[[str, dict[str, Any]], Any]) -> AppSyncApi:
    return AppSyncApi(
        SCHEMA_SDL,
        invoke=invoke,
        resolvers=dict.fromkeys(OPERATIONS, "ApiFunction"),
        authenticator=Authenticator(api_keys=["da2-key"]),
    )


API_KEY = Principal(AuthMode.API_KEY)


def user(*groups: str, username: str = "ann") -> Principal:
    claims: dict[str, Any] = {
        "sub": "sub-1",
        "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x",
        "token_use": "id",
        "cognito:username": username,
    }
    if groups:
        claims["cognito:groups"] = list(groups)
    return Principal(AuthMode.AMAZON_COGNITO_USER_POOLS, claims)


PROFILE_QUERY = "query($u: String!) { getUser(username: $u) { username firstName email status } }"

# --- field authorization in responses -----------------------------------------------------


def test_api_key_reads_public_fields_and_gets_null_with_an_error_for_private_ones() -> None:
    fake = FakeLambda({"getUser": ANN})
    body = make_api(fake).execute(PROFILE_QUERY, principal=API_KEY, variables={"u": "ann"})
    assert body["data"] == {
        "getUser": {"username": "ann", "firstName": "Ann", "email": None, "status": None}
    }
    assert body["errors"] == [
        {
            "path": ["getUser", field],
            "data": None,
            "errorType": "Unauthorized",
            "errorInfo": None,
            "locations": [{"line": 1, "column": column, "sourceName": None}],
            "message": f"Not Authorized to access {field} on type User",
        }
        for field, column in ((f, PROFILE_QUERY.index(f) + 1) for f in ("email", "status"))
    ]
    assert fake.fields == ["getUser"]


def test_a_signed_in_user_reads_every_field() -> None:
    body = make_api(FakeLambda({"getUser": ANN})).execute(
        PROFILE_QUERY, principal=user(), variables={"u": "ann"}
    )
    assert "errors" not in body
    assert body["data"]["getUser"]["email"] == "ann@example.com"


def test_a_refused_root_field_never_reaches_the_function() -> None:
    fake = FakeLambda({"listUser": {"items": [], "nextToken": None}})
    body = make_api(fake).execute(
        "{ listUser(type: NANNY) { nextToken } }", principal=user("nanny")
    )
    # listUser is non-null, so its null takes `data` with it, as GraphQL (and AppSync) do.
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["errorType"] == "Unauthorized"
    assert error["message"] == "Not Authorized to access listUser on type Query"
    assert error["path"] == ["listUser"]
    assert fake.calls == []


@pytest.mark.parametrize(
    ("principal", "allowed"),
    [(user("parent"), True), (user("nanny"), False), (user(), False), (API_KEY, False)],
)
def test_group_restricted_mutation(principal: Principal, allowed: bool) -> None:
    fake = FakeLambda({"createJob": JOB})
    job = (
        '{jobType: DAILY, title: "t", numberOfKids: 1, startDate: "2024-06-01", '
        'endDate: "2024-06-02", startTime: "09:00", endTime: "17:00", city: "Oslo", cost: 10}'
    )
    body = make_api(fake).execute(
        f"mutation {{ createJob(job: {job}) {{ id }} }}", principal=principal
    )
    assert (body["data"] == {"createJob": {"id": "j1"}}) is allowed
    assert bool(fake.calls) is allowed


def test_nested_type_rules_apply_to_what_the_function_returned() -> None:
    # Job is Cognito-only: a connection item read by a nanny is fine, its fields resolve
    # from the Lambda's value by name.
    fake = FakeLambda({"listAllJobs": {"items": [JOB], "nextToken": "t2"}})
    body = make_api(fake).execute(
        "{ listAllJobs(jobStatus: OPEN) { items { id title startTime } nextToken } }",
        principal=user("nanny"),
    )
    assert body == {
        "data": {
            "listAllJobs": {
                "items": [{"id": "j1", "title": "Afternoons", "startTime": "14:00"}],
                "nextToken": "t2",
            }
        }
    }


def test_typename_and_introspection_are_open_to_any_authenticated_caller() -> None:
    body = make_api(FakeLambda()).execute(
        "{ __typename __schema { queryType { name } } }", principal=API_KEY
    )
    assert body == {"data": {"__typename": "Query", "__schema": {"queryType": {"name": "Query"}}}}


# --- the resolver contract (stacks/appsync/invoke_api_function.js) ---------------------------


def test_a_refusal_envelope_becomes_an_error_of_its_type_with_its_info() -> None:
    envelope = {
        "errorType": "ValidationError",
        "errorMessage": "Invalid input.",
        "errorInfo": {"fields": [{"field": "title", "problem": "too long"}]},
    }
    body = make_api(FakeLambda({"getUser": envelope})).execute(
        '{ getUser(username: "ann") { username } }', principal=user()
    )
    assert body["data"] == {"getUser": None}
    assert body["errors"] == [
        {
            "path": ["getUser"],
            "data": None,
            "errorType": "ValidationError",
            "errorInfo": {"fields": [{"field": "title", "problem": "too long"}]},
            "locations": [{"line": 1, "column": 3, "sourceName": None}],
            "message": "Invalid input.",
        }
    ]


def test_a_refusal_of_a_non_null_mutation_nulls_data() -> None:
    envelope = {"errorType": "AlreadyApplied", "errorMessage": "You already applied to this job."}
    body = make_api(FakeLambda({"applyToJob": envelope})).execute(
        'mutation { applyToJob(application: {jobId: "j1"}) { id } }', principal=user("nanny")
    )
    assert body["data"] is None
    (error,) = body["errors"]
    assert (error["errorType"], error["message"], error["path"]) == (
        "AlreadyApplied",
        "You already applied to this job.",
        ["applyToJob"],
    )


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (None, None),
        ({**ANN, "errorType": None}, {"username": "ann"}),
        ({**ANN, "errorType": ""}, {"username": "ann"}),
    ],
)
def test_anything_without_a_truthy_error_type_is_the_fields_value(
    answer: Any, expected: Any
) -> None:
    body = make_api(FakeLambda({"getUser": answer})).execute(
        '{ getUser(username: "ann") { username } }', principal=user()
    )
    assert body == {"data": {"getUser": expected}}


def test_a_failed_invocation_is_lambda_unhandled() -> None:
    def crash(function: str, event: dict[str, Any]) -> Any:
        raise RuntimeError("KeyError: 'TABLE_NAME'")

    body = make_api(crash).execute('{ getUser(username: "ann") { username } }', principal=user())
    assert body["data"] == {"getUser": None}
    (error,) = body["errors"]
    assert error["errorType"] == "Lambda:Unhandled"
    assert error["message"] == "KeyError: 'TABLE_NAME'"


def test_an_invoker_can_name_the_error_type() -> None:
    def time_out(function: str, event: dict[str, Any]) -> Any:
        raise ResolverInvocationError("Task timed out after 10.00 seconds", "Lambda:Unhandled")

    body = make_api(time_out).execute('{ getUser(username: "ann") { username } }', principal=user())
    assert body["errors"][0]["message"] == "Task timed out after 10.00 seconds"


def test_an_invalid_value_from_the_function_is_a_field_error() -> None:
    bad = {**ANN, "createdOn": "yesterday"}
    body = make_api(FakeLambda({"getUser": bad})).execute(
        '{ getUser(username: "ann") { username createdOn } }', principal=user()
    )
    assert body["data"] == {"getUser": None}  # createdOn is non-null
    assert body["errors"][0]["path"] == ["getUser", "createdOn"]
    assert "AWSDateTime" in body["errors"][0]["message"]


def test_mutations_run_one_after_the_other_in_document_order() -> None:
    fake = FakeLambda({"deleteUser": ANN, "updateUserStatus": ANN})
    make_api(fake).execute(
        'mutation { a: updateUserStatus(username: "x", status: VERIFIED) { username } '
        'b: deleteUser(username: "x") { username } '
        'c: updateUserStatus(username: "y", status: DEACTIVATED) { username } }',
        principal=user("admin"),
    )
    assert fake.fields == ["updateUserStatus", "deleteUser", "updateUserStatus"]


# --- the Lambda event -------------------------------------------------------------------------


def test_the_event_has_appsyncs_shape_for_a_cognito_caller() -> None:
    fake = FakeLambda({"listJobsPerParent": {"items": [], "nextToken": None}})
    query = """
    query Mine($limit: Int) {
      listJobsPerParent(limit: $limit) {
        items { jobId: id ...JobBits ... on Job { city } }
        nextToken
      }
    }
    fragment JobBits on Job { title }
    """
    make_api(fake).execute(
        query,
        principal=user("parent"),
        variables={"limit": 5},
        headers={"authorization": "token", "x-amzn-requestid": "r-1"},
        source_ips=["10.0.0.9", "127.0.0.1"],
    )
    ((function, event),) = fake.calls
    assert function == "ApiFunction"
    assert set(event) == {"arguments", "identity", "source", "request", "info", "prev", "stash"}
    assert event["arguments"] == {"limit": 5}  # omitted arguments stay absent
    assert event["source"] is None
    assert event["prev"] is None
    assert event["stash"] == {}
    assert event["request"] == {
        "headers": {"authorization": "token", "x-amzn-requestid": "r-1"},
        "domainName": None,
    }
    identity = event["identity"]
    assert identity["username"] == "ann"
    assert identity["groups"] == ["parent"]
    assert identity["sourceIp"] == ["10.0.0.9", "127.0.0.1"]
    assert identity["issuer"] == "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x"
    info = event["info"]
    assert info["fieldName"] == "listJobsPerParent"
    assert info["parentTypeName"] == "Query"
    assert info["variables"] == {"limit": 5}
    # Aliases by alias, fragments flattened.
    assert info["selectionSetList"] == [
        "items",
        "items/jobId",
        "items/title",
        "items/city",
        "nextToken",
    ]
    assert info["selectionSetGraphQL"] == (
        "{\n  items {\n    jobId: id\n    ... on Job {\n      title\n    }\n"
        "    ... on Job {\n      city\n    }\n  }\n  nextToken\n}"
    )
    json.dumps(event)  # what a Lambda worker receives must be plain JSON


def test_input_objects_enums_and_aws_scalars_reach_the_function_as_json() -> None:
    fake = FakeLambda({"createUser": ANN})
    make_api(fake).execute(
        "mutation($u: CreateUserInput!) { createUser(user: $u) { username } }",
        principal=user(),
        variables={
            "u": {
                "type": "NANNY",
                "firstName": "Nina",
                "lastName": "N",
                "dateOfBirth": "1990-02-03",
                "phoneNumber": "+47 912 34 567",
                "profilePicUrl": "https://example.com/nina.png",
            }
        },
    )
    assert fake.calls[0][1]["arguments"] == {
        "user": {
            "type": "NANNY",
            "firstName": "Nina",
            "lastName": "N",
            "dateOfBirth": "1990-02-03",
            "phoneNumber": "+47 912 34 567",
            "profilePicUrl": "https://example.com/nina.png",
        }
    }


def test_an_api_key_caller_has_a_null_identity() -> None:
    fake = FakeLambda({"listReviews": {"items": [], "nextToken": None}})
    make_api(fake).execute('{ listReviews(username: "ann") { nextToken } }', principal=API_KEY)
    assert fake.calls[0][1]["identity"] is None


def test_nested_resolvers_get_their_parent_as_source() -> None:
    calls: list[dict[str, Any]] = []

    def invoke(function: str, event: dict[str, Any]) -> Any:
        calls.append(event)
        return {"name": "root"} if function == "root" else f"child of {event['source']['name']}"

    api = AppSyncApi(
        "type Query { thing: Thing }\ntype Thing { name: String  child: String }",
        invoke=invoke,
        resolvers={("Query", "thing"): "root", ("Thing", "child"): "child"},
        authenticator=Authenticator(),
    )
    body = api.execute("{ thing { name child } }", principal=user())
    assert body == {"data": {"thing": {"name": "root", "child": "child of root"}}}
    assert calls[1]["source"] == {"name": "root"}
    assert calls[1]["info"]["parentTypeName"] == "Thing"


def test_resolvers_must_name_fields_of_the_schema() -> None:
    with pytest.raises(ValueError, match=r"Query.*nope"):
        AppSyncApi(
            SCHEMA_SDL,
            invoke=FakeLambda(),
            resolvers={("Query", "nope"): "ApiFunction"},
            authenticator=Authenticator(),
        )


# --- request-level errors ---------------------------------------------------------------------


def test_validation_errors_have_no_path_and_invoke_nothing() -> None:
    fake = FakeLambda()
    body = make_api(fake).execute("{ getUser(username: 1) { nope } }", principal=user())
    assert body["data"] is None
    assert body["errors"]
    assert all(error["path"] is None for error in body["errors"])
    assert all(error["locations"][0]["sourceName"] is None for error in body["errors"])
    assert fake.calls == []


def test_syntax_errors() -> None:
    body = make_api(FakeLambda()).execute("{ getUser(", principal=user())
    assert body["data"] is None
    assert body["errors"][0]["path"] is None
    assert "Syntax Error" in body["errors"][0]["message"]


def test_an_invalid_aws_scalar_variable_is_refused_before_any_invocation() -> None:
    fake = FakeLambda()
    body = make_api(fake).execute(
        "mutation($u: CreateUserInput!) { createUser(user: $u) { username } }",
        principal=user(),
        variables={
            "u": {"type": "NANNY", "dateOfBirth": "3 Feb 1990", "firstName": "N", "lastName": "N"}
        },
    )
    assert body["data"] is None
    assert "AWSDate" in body["errors"][0]["message"]
    assert fake.calls == []


def test_each_query_text_is_parsed_and_validated_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Apps send a few fixed texts; validating one is the costliest step of a request here.
    Variables change nothing, and refused texts are refused again the same way."""
    validated: list[str] = []

    def counting_validate(schema: Any, document: Any) -> Any:
        validated.append(print_ast(document))
        return validate(schema, document)

    monkeypatch.setattr("localcloud.appsync.engine.validate", counting_validate)
    fake = FakeLambda(
        {"getUser": lambda event: {**ANN, "username": event["arguments"]["username"]}}
    )
    api = make_api(fake)
    for username in ("ann", "bob", "ann"):
        body = api.execute(PROFILE_QUERY, principal=user(), variables={"u": username})
        assert body["data"]["getUser"]["username"] == username
    invalid = "{ getUser(username: 1) { nope } }"
    refusals = [api.execute(invalid, principal=user()) for _ in range(2)]
    assert refusals[0] == refusals[1]
    assert refusals[0]["errors"]
    assert len(validated) == 2
    assert [event["arguments"]["username"] for _, event in fake.calls] == ["ann", "bob", "ann"]


# --- HTTP -------------------------------------------------------------------------------------


def post(api: AppSyncApi, payload: Any, **headers: str) -> tuple[int, dict[str, Any]]:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    response = api.handle_http(raw, headers, client_ip="127.0.0.1")
    return response.status, response.body


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Valid authorization header not provided."),
        ({"X-Api-Key": "da2-nope"}, "You are not authorized to make this call."),
    ],
)
def test_unauthenticated_requests_get_401_unauthorized_exception(
    headers: dict[str, str], message: str
) -> None:
    status, body = post(make_api(FakeLambda()), {"query": "{ __typename }"}, **headers)
    assert status == 401
    assert body == {"errors": [{"errorType": "UnauthorizedException", "message": message}]}


@pytest.mark.parametrize(
    "payload",
    [b"{not json", b"[]", {"variables": {}}, {"query": ""}, {"query": "{ a }", "variables": [1]}],
)
def test_malformed_bodies_get_400(payload: Any) -> None:
    status, body = post(make_api(FakeLambda()), payload, **{"x-api-key": "da2-key"})
    assert status == 400
    assert body["errors"][0]["errorType"] == "MalformedHttpRequestException"


def test_a_good_request_gets_200_and_header_names_in_lower_case() -> None:
    fake = FakeLambda({"getUser": ANN})
    status, body = post(
        make_api(fake),
        {"query": PROFILE_QUERY, "variables": json.dumps({"u": "ann"}), "operationName": None},
        **{"X-Api-Key": "da2-key", "X-Forwarded-For": "203.0.113.7"},
    )
    assert status == 200
    assert body["data"]["getUser"]["username"] == "ann"
    headers = fake.calls[0][1]["request"]["headers"]
    assert headers["x-api-key"] == "da2-key"
    assert headers["x-amzn-requestid"]


def test_the_source_ip_lists_forwarded_addresses_then_the_peer() -> None:
    fake = FakeLambda({"getUser": ANN})
    api = AppSyncApi(
        SCHEMA_SDL,
        invoke=fake,
        resolvers={("Query", "getUser"): "f"},
        authenticator=Authenticator(api_keys=["k"]),
    )
    api.authenticator.authenticate = lambda headers: user()  # type: ignore[method-assign]
    api.handle_http(
        json.dumps({"query": '{ getUser(username: "a") { username } }'}).encode(),
        {"x-forwarded-for": "203.0.113.7, 10.0.0.1"},
        client_ip="127.0.0.1",
    )
    assert fake.calls[0][1]["identity"]["sourceIp"] == ["203.0.113.7", "10.0.0.1", "127.0.0.1"]


# --- the template ----------------------------------------------------------------------------

TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {}},
        "Schema": {"Type": "AWS::AppSync::GraphQLSchema", "Properties": {"Definition": SCHEMA_SDL}},
        "Ds": {
            "Type": "AWS::AppSync::DataSource",
            "Properties": {
                "Name": "api",
                "Type": "AWS_LAMBDA",
                "LambdaConfig": {"LambdaFunctionArn": {"Fn::GetAtt": ["Fn", "Arn"]}},
            },
        },
        "R1": {
            "Type": "AWS::AppSync::Resolver",
            "Properties": {
                "TypeName": "Query",
                "FieldName": "getUser",
                "DataSourceName": "api",
                "Kind": "UNIT",
            },
        },
        "R2": {
            "Type": "AWS::AppSync::Resolver",
            "Properties": {
                "TypeName": "Mutation",
                "FieldName": "bookNanny",
                "DataSourceName": {"Fn::GetAtt": ["Ds", "Name"]},
            },
        },
    }
}


def test_resolver_functions_and_schema_come_from_the_template() -> None:
    assert resolver_functions_from_template(TEMPLATE) == {
        ("Query", "getUser"): "Fn",
        ("Mutation", "bookNanny"): "Fn",
    }
    assert schema_from_template(TEMPLATE) == SCHEMA_SDL


def test_pipeline_resolvers_and_other_data_sources_are_not_run_locally() -> None:
    pipeline = json.loads(json.dumps(TEMPLATE))
    pipeline["Resources"]["R1"]["Properties"]["Kind"] = "PIPELINE"
    with pytest.raises(TemplateError, match="UNIT"):
        resolver_functions_from_template(pipeline)
    dynamo = json.loads(json.dumps(TEMPLATE))
    dynamo["Resources"]["Ds"]["Properties"]["Type"] = "AMAZON_DYNAMODB"
    with pytest.raises(TemplateError, match="AWS_LAMBDA"):
        resolver_functions_from_template(dynamo)

"""The local cloud's AppSync: `schema.graphql` served on http://127.0.0.1:4000/graphql.

How the local cloud wires it (everything else comes from the synthesized template):

    template = json.loads(Path("cdk.out/NannyBooking.template.json").read_text())
    server = start_graphql_endpoint(
        schema_sdl=schema_from_template(template),
        resolvers=resolver_functions_from_template(template),  # (type, field) -> function id
        invoke=lambda function_id, event: workers[function_id].invoke(event),
        user_pool=CognitoUserPool.from_jwks_url(
            pool_id, f"{moto_endpoint}/{pool_id}/.well-known/jwks.json", [app_client_id]
        ),
        api_keys=[api_key],
        port=4000,
    )
    ...
    server.stop()

`invoke(function_id, event)` returns the function's answer (any JSON value, or the
`{errorType, errorMessage, errorInfo}` envelope of a refused request) and raises when the
invocation itself fails (`ResolverInvocationError`, or any exception): that becomes a
`Lambda:Unhandled` error, as AppSync reports a function error.

Tokens are verified as AppSync verifies them: RS256 signature against the pool's JWKS
(fetched once and cached), expiry, issuer `https://cognito-idp.<region>.amazonaws.com/
<pool id>` (moto issues exactly that), `token_use` id or access, and - when app client ids
are given - `aud` (ID token) or `client_id` (access token).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from localcloud.appsync.auth import (
    AuthenticationError,
    Authenticator,
    AuthMode,
    AuthRule,
    CognitoUserPool,
    FieldAuthorization,
    JsonWebKeySet,
    Principal,
)
from localcloud.appsync.engine import (
    LAMBDA_UNHANDLED,
    AppSyncApi,
    HttpResponse,
    Invoker,
    ResolverInvocationError,
    build_appsync_schema,
)
from localcloud.appsync.server import DEFAULT_PORT, PROJECT_ROOT, GraphQLServer

__all__ = [
    "DEFAULT_PORT",
    "LAMBDA_UNHANDLED",
    "AppSyncApi",
    "AuthMode",
    "AuthRule",
    "AuthenticationError",
    "Authenticator",
    "CognitoUserPool",
    "FieldAuthorization",
    "GraphQLServer",
    "HttpResponse",
    "Invoker",
    "JsonWebKeySet",
    "Principal",
    "ResolverInvocationError",
    "TemplateError",
    "build_appsync_schema",
    "resolver_functions_from_template",
    "schema_from_template",
    "start_graphql_endpoint",
]


class TemplateError(ValueError):
    """The template declares an AppSync feature the local endpoint does not run."""


def _resources(template: Mapping[str, Any], resource_type: str) -> dict[str, Mapping[str, Any]]:
    return {
        logical_id: resource.get("Properties", {})
        for logical_id, resource in template.get("Resources", {}).items()
        if resource.get("Type") == resource_type
    }


def schema_from_template(template: Mapping[str, Any]) -> str:
    """The SDL of the template's one AWS::AppSync::GraphQLSchema (inlined by the stack)."""
    schemas = _resources(template, "AWS::AppSync::GraphQLSchema")
    if len(schemas) != 1:
        raise TemplateError(f"expected one AWS::AppSync::GraphQLSchema, found {len(schemas)}")
    (properties,) = schemas.values()
    definition = properties.get("Definition")
    if not isinstance(definition, str):
        raise TemplateError("the schema must be inlined as Definition (no S3 location)")
    return definition


def _data_source_name(value: Any, data_sources: Mapping[str, Mapping[str, Any]]) -> str:
    # A plain name, or {"Fn::GetAtt": [<data source logical id>, "Name"]}.
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and "Fn::GetAtt" in value:
        logical_id, attribute = value["Fn::GetAtt"]
        if attribute == "Name" and logical_id in data_sources:
            return str(data_sources[logical_id]["Name"])
    raise TemplateError(f"cannot resolve DataSourceName {value!r}")


def _function_id(arn: Any) -> str:
    # {"Fn::GetAtt": [<function logical id>, "Arn"]} -> the logical id; a literal ARN as is.
    if isinstance(arn, Mapping) and "Fn::GetAtt" in arn:
        logical_id, attribute = arn["Fn::GetAtt"]
        if attribute == "Arn":
            return str(logical_id)
    if isinstance(arn, str):
        return arn
    raise TemplateError(f"cannot resolve LambdaFunctionArn {arn!r}")


def resolver_functions_from_template(template: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    """(type name, field name) -> logical id of the Lambda function behind its resolver.

    Unit resolvers on Lambda data sources only (what the stack declares); their code is
    `stacks/appsync/invoke_api_function.js`, whose request/response contract
    `AppSyncApi` applies natively.
    """
    data_sources = _resources(template, "AWS::AppSync::DataSource")
    by_name = {str(props["Name"]): props for props in data_sources.values()}
    mapping: dict[tuple[str, str], str] = {}
    for logical_id, props in _resources(template, "AWS::AppSync::Resolver").items():
        if props.get("Kind", "UNIT") != "UNIT":
            raise TemplateError(f"{logical_id}: only UNIT resolvers run locally")
        name = _data_source_name(props.get("DataSourceName"), data_sources)
        source = by_name.get(name)
        if source is None or source.get("Type") != "AWS_LAMBDA":
            raise TemplateError(f"{logical_id}: data source {name!r} is not an AWS_LAMBDA one")
        function = _function_id(source.get("LambdaConfig", {}).get("LambdaFunctionArn"))
        mapping[str(props["TypeName"]), str(props["FieldName"])] = function
    return mapping


def start_graphql_endpoint(
    *,
    schema_sdl: str,
    resolvers: Mapping[tuple[str, str], str],
    invoke: Invoker,
    user_pool: CognitoUserPool | None,
    api_keys: Iterable[str] = (),
    port: int = DEFAULT_PORT,
    host: str = "127.0.0.1",
    node_modules: Path | None = PROJECT_ROOT / "node_modules",
) -> GraphQLServer:
    """Build the API (default mode: the user pool; API key as an additional mode) and
    serve it in a background thread. `port=0` picks a free port (see `server.port`)."""
    api = AppSyncApi(
        schema_sdl,
        invoke=invoke,
        resolvers=resolvers,
        authenticator=Authenticator(user_pool=user_pool, api_keys=api_keys),
    )
    return GraphQLServer(api, host=host, port=port, node_modules=node_modules).start()

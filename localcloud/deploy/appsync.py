"""AWS::AppSync::* -> config records for the local GraphQL endpoint.

Nothing is created in moto: the local endpoint serves the schema itself. The API id is
derived from the stack and logical id (stable), the URL is the local endpoint's, and an
API key's value is generated once and then kept from the previous deployment, so clients
holding it keep working across restarts.
"""

from __future__ import annotations

import secrets
import string
from typing import Any

from localcloud.deploy.context import Created, DeployContext, Resource
from localcloud.deploy.model import (
    ApiKeyRecord,
    AppSyncFunctionRecord,
    AuthModeRecord,
    DataSourceRecord,
    GraphQLApiRecord,
    ResolverRecord,
)
from localcloud.deploy.names import stable_id

__all__ = [
    "deploy_api_key",
    "deploy_data_source",
    "deploy_function_configuration",
    "deploy_graphql_api",
    "deploy_graphql_schema",
    "deploy_resolver",
    "finish_auth_modes",
]

_API_KEY_ALPHABET = string.ascii_lowercase + string.digits
_API_NOT_APPLIED = {
    "LogConfig": "not applied, there is no CloudWatch Logs locally",
    "XrayEnabled": "not applied, there is no X-Ray locally",
    "Tags": "not applied",
}


def deploy_graphql_api(ctx: DeployContext, resource: Resource) -> Created:
    props = resource.properties
    api_id = stable_id(ctx.stack_name, resource.logical_id)
    arn = ctx.arn("appsync", f"apis/{api_id}")
    url = ctx.graphql_url
    host = url.split("://", 1)[-1].split("/", 1)[0]
    default = _auth_mode(ctx, props.get("AuthenticationType"), props)
    extra = [
        _auth_mode(ctx, provider.get("AuthenticationType"), provider)
        for provider in props.get("AdditionalAuthenticationProviders", [])
    ]
    notes = [f"{key}: {text}" for key, text in _API_NOT_APPLIED.items() if key in props]
    ctx.deployment.graphql_apis.append(
        GraphQLApiRecord(
            logical_id=resource.logical_id,
            api_id=api_id,
            name=str(props.get("Name", resource.logical_id)),
            arn=arn,
            url=url,
            auth_modes=[default, *extra],
        )
    )
    realtime = url.replace("https://", "wss://").replace("http://", "ws://")
    attributes = {
        "ApiId": api_id,
        "Arn": arn,
        "GraphQLUrl": url,
        "GraphQLDns": host,
        "RealtimeUrl": realtime,
        "RealtimeDns": host,
        "GraphQLEndpointArn": arn,
    }
    return Created(arn, attributes, notes)


def deploy_graphql_schema(ctx: DeployContext, resource: Resource) -> Created:
    api = _api(ctx, resource)
    if "Definition" not in resource.properties:
        raise resource.error("DefinitionS3Location: there is no S3 locally; use Definition")
    api.schema = str(resource.properties["Definition"])
    return Created(f"{api.api_id}GraphQLSchema", {})


def deploy_api_key(ctx: DeployContext, resource: Resource) -> Created:
    api = _api(ctx, resource)
    props = resource.properties
    value = _previous_key(ctx, resource, api.api_id) or _new_api_key()
    arn = f"{api.arn}/apikeys/{value}"
    expires = props.get("Expires")
    api.api_keys.append(
        ApiKeyRecord(
            logical_id=resource.logical_id,
            id=value,
            value=value,
            expires=int(expires) if expires is not None else None,
            description=props.get("Description"),
        )
    )
    return Created(arn, {"ApiKey": value, "ApiKeyId": value, "Arn": arn})


def deploy_data_source(ctx: DeployContext, resource: Resource) -> Created:
    api = _api(ctx, resource)
    props = resource.properties
    name = str(props["Name"])
    lambda_config = props.get("LambdaConfig", {})
    function_arn = lambda_config.get("LambdaFunctionArn")
    table = props.get("DynamoDBConfig", {})
    http = props.get("HttpConfig", {})
    config = {
        key: value
        for key, value in props.items()
        if key not in ("ApiId", "Name", "Type", "Description", "ServiceRoleArn")
    }
    api.data_sources.append(
        DataSourceRecord(
            logical_id=resource.logical_id,
            name=name,
            type=str(props["Type"]),
            function_name=ctx.function_name(function_arn) if function_arn else None,
            function_arn=function_arn,
            table_name=table.get("TableName"),
            endpoint=http.get("Endpoint"),
            config=config,
        )
    )
    arn = f"{api.arn}/datasources/{name}"
    return Created(arn, {"DataSourceArn": arn, "Name": name})


def deploy_function_configuration(ctx: DeployContext, resource: Resource) -> Created:
    api = _api(ctx, resource)
    props = resource.properties
    function_id = stable_id(ctx.stack_name, resource.logical_id)
    data_source = str(props["DataSourceName"])
    name = str(props.get("Name", resource.logical_id))
    api.functions.append(
        AppSyncFunctionRecord(
            logical_id=resource.logical_id,
            id=function_id,
            name=name,
            data_source=data_source,
            function_name=_lambda_of(api, data_source),
            runtime=_runtime(props),
            code=_code(resource),
            request_mapping_template=props.get("RequestMappingTemplate"),
            response_mapping_template=props.get("ResponseMappingTemplate"),
        )
    )
    arn = f"{api.arn}/functions/{function_id}"
    attributes = {
        "FunctionArn": arn,
        "FunctionId": function_id,
        "DataSourceName": data_source,
        "Name": name,
    }
    return Created(arn, attributes)


def deploy_resolver(ctx: DeployContext, resource: Resource) -> Created:
    api = _api(ctx, resource)
    props = resource.properties
    type_name, field_name = str(props["TypeName"]), str(props["FieldName"])
    kind = str(props.get("Kind", "UNIT"))
    data_source = props.get("DataSourceName")
    notes = [
        f"{key}: not applied locally"
        for key in ("CachingConfig", "SyncConfig", "MetricsConfig")
        if key in props
    ]
    api.resolvers.append(
        ResolverRecord(
            logical_id=resource.logical_id,
            type_name=type_name,
            field_name=field_name,
            kind=kind,
            data_source=data_source,
            function_name=(
                _lambda_of(api, str(data_source)) if kind == "UNIT" and data_source else None
            ),
            runtime=_runtime(props),
            code=_code(resource),
            request_mapping_template=props.get("RequestMappingTemplate"),
            response_mapping_template=props.get("ResponseMappingTemplate"),
            pipeline_functions=[
                str(item) for item in props.get("PipelineConfig", {}).get("Functions", [])
            ],
            max_batch_size=props.get("MaxBatchSize"),
        )
    )
    arn = f"{api.arn}/types/{type_name}/resolvers/{field_name}"
    attributes = {"ResolverArn": arn, "TypeName": type_name, "FieldName": field_name}
    return Created(arn, attributes, notes)


def finish_auth_modes(ctx: DeployContext) -> None:
    """Give each Cognito auth mode its pool's app clients (deployed after the API)."""
    for api in ctx.deployment.graphql_apis:
        for mode in api.auth_modes:
            pool = ctx.user_pool(mode.user_pool_id) if mode.user_pool_id else None
            if pool is not None:
                mode.client_ids = pool.client_ids
                mode.jwks_url = pool.jwks_url


def _auth_mode(ctx: DeployContext, kind: Any, props: dict[str, Any]) -> AuthModeRecord:
    mode = AuthModeRecord(type=str(kind))
    pool = props.get("UserPoolConfig")
    if mode.type == "AMAZON_COGNITO_USER_POOLS" and pool:
        region = str(pool.get("AwsRegion") or ctx.pseudo.region)
        mode.user_pool_id = str(pool["UserPoolId"])
        mode.user_pool_region = region
        mode.issuer = f"https://cognito-idp.{region}.{ctx.pseudo.url_suffix}/{mode.user_pool_id}"
        mode.app_id_client_regex = pool.get("AppIdClientRegex")
        mode.default_action = pool.get("DefaultAction")
    mode.openid_connect = props.get("OpenIDConnectConfig")
    mode.lambda_authorizer = props.get("LambdaAuthorizerConfig")
    return mode


def _api(ctx: DeployContext, resource: Resource) -> GraphQLApiRecord:
    api_id = resource.properties.get("ApiId")
    for api in ctx.deployment.graphql_apis:
        if api.api_id == api_id:
            return api
    raise resource.error(f"ApiId {api_id!r}: not a GraphQL API of this deployment")


def _lambda_of(api: GraphQLApiRecord, data_source: str) -> str | None:
    for source in api.data_sources:
        if source.name == data_source:
            return source.function_name
    return None


def _runtime(props: dict[str, Any]) -> dict[str, str] | None:
    runtime = props.get("Runtime")
    return {str(key): str(value) for key, value in runtime.items()} if runtime else None


def _code(resource: Resource) -> str | None:
    if "CodeS3Location" in resource.properties:
        raise resource.error("CodeS3Location: there is no S3 locally; use Code")
    code = resource.properties.get("Code")
    return None if code is None else str(code)


def _previous_key(ctx: DeployContext, resource: Resource, api_id: str) -> str | None:
    if ctx.previous is None:
        return None
    for api in ctx.previous.graphql_apis:
        if api.api_id != api_id:
            continue
        for key in api.api_keys:
            if key.logical_id == resource.logical_id:
                return key.value
    return None


def _new_api_key() -> str:
    # AppSync's shape: "da2-" and 26 lowercase letters and digits.
    return "da2-" + "".join(secrets.choice(_API_KEY_ALPHABET) for _ in range(26))

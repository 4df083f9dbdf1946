"""AWS::Cognito::UserPool, UserPoolGroup and UserPoolClient -> moto's Cognito.

Pool and client ids are made by moto. A redeployment while moto runs finds the pool again
(by the previous deployment's id, else by name) and updates it, so users and their tokens
stay valid. After a moto restart the pool is created again, empty, and its id is new,
unless moto runs with ``MOTO_COGNITO_IDP_USER_POOL_ID_STRATEGY=HASH`` and
``MOTO_COGNITO_IDP_USER_POOL_CLIENT_ID_STRATEGY=HASH``: then the ids are hashes of the
pool's (client's) settings and come back the same. A changed id is reported in the
deployment's notes; outputs.json is written from the new deployment, so it always holds
the current ids.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from localcloud.deploy.api_params import api_parameters
from localcloud.deploy.context import Created, DeployContext, Resource
from localcloud.deploy.model import UserPoolClientRecord, UserPoolGroupRecord, UserPoolRecord

__all__ = ["deploy_user_pool", "deploy_user_pool_client", "deploy_user_pool_group"]

_MAX_POOL_NAME = 128
_MAX_CLIENT_NAME = 128
_MAX_GROUP_NAME = 128
_POOL_NOT_APPLIED = {
    "LambdaConfig": "not applied, moto does not invoke Cognito Lambda triggers",
    "EnabledMfas": "not applied, set through SetUserPoolMfaConfig in AWS; moto skips it",
    "WebAuthnRelyingPartyID": "not applied, moto has no passkeys",
    "WebAuthnUserVerification": "not applied, moto has no passkeys",
}


def deploy_user_pool(ctx: DeployContext, resource: Resource) -> Created:
    props = resource.properties
    name = str(props.get("UserPoolName") or ctx.name(resource, _MAX_POOL_NAME))
    create, notes = api_parameters(
        "cognito-idp",
        "CreateUserPool",
        {**props, "UserPoolName": name},
        where=resource.where,
        renames={"UserPoolName": "PoolName"},
        skip=set(_POOL_NOT_APPLIED),
    )
    notes += [f"{key}: {text}" for key, text in _POOL_NOT_APPLIED.items() if key in props]
    cognito = ctx.moto("cognito-idp")
    pool = _find_pool(ctx, resource.logical_id, name)
    if pool is None:
        pool = cognito.create_user_pool(**create)["UserPool"]
    else:
        # Updatable settings only; the rest (Schema, UsernameConfiguration, ...) is fixed
        # at creation in AWS too.
        update, _ = api_parameters("cognito-idp", "UpdateUserPool", create, where=resource.where)
        cognito.update_user_pool(UserPoolId=pool["Id"], **update)
    pool_id: str = pool["Id"]
    _report_changed_id(ctx, resource, pool_id)
    provider_name = f"cognito-idp.{ctx.pseudo.region}.{ctx.pseudo.url_suffix}/{pool_id}"
    ctx.deployment.user_pools.append(
        UserPoolRecord(
            logical_id=resource.logical_id,
            id=pool_id,
            arn=pool["Arn"],
            name=name,
            issuer=f"https://{provider_name}",
            jwks_url=f"{ctx.moto_endpoint}/{pool_id}/.well-known/jwks.json",
        )
    )
    attributes = {
        "Arn": pool["Arn"],
        "ProviderName": provider_name,
        "ProviderURL": f"https://{provider_name}",
        "UserPoolId": pool_id,
    }
    return Created(pool_id, attributes, notes)


def deploy_user_pool_group(ctx: DeployContext, resource: Resource) -> Created:
    props = resource.properties
    pool_id = str(props["UserPoolId"])
    name = str(props.get("GroupName") or ctx.name(resource, _MAX_GROUP_NAME))
    params, notes = api_parameters(
        "cognito-idp", "CreateGroup", {**props, "GroupName": name}, where=resource.where
    )
    cognito = ctx.moto("cognito-idp")
    try:
        cognito.create_group(**params)
    except ClientError as error:
        if error.response["Error"]["Code"] != "GroupExistsException":
            raise resource.error(f"CreateGroup {name!r}: {error}") from error
        cognito.update_group(**params)
    pool = ctx.user_pool(pool_id)
    if pool is not None:
        pool.groups.append(
            UserPoolGroupRecord(
                logical_id=resource.logical_id,
                name=name,
                description=params.get("Description"),
                precedence=params.get("Precedence"),
            )
        )
    return Created(name, {}, notes)


def deploy_user_pool_client(ctx: DeployContext, resource: Resource) -> Created:
    props = resource.properties
    pool_id = str(props["UserPoolId"])
    name = str(props.get("ClientName") or ctx.name(resource, _MAX_CLIENT_NAME))
    create, notes = api_parameters(
        "cognito-idp",
        "CreateUserPoolClient",
        {**props, "ClientName": name},
        where=resource.where,
    )
    cognito = ctx.moto("cognito-idp")
    client_id = _find_client(cognito, pool_id, name)
    if client_id is None:
        client = cognito.create_user_pool_client(**create)["UserPoolClient"]
    else:
        update, _ = api_parameters(
            "cognito-idp", "UpdateUserPoolClient", create, where=resource.where
        )
        cognito.update_user_pool_client(ClientId=client_id, **update)
        client = cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)[
            "UserPoolClient"
        ]
    _report_changed_id(ctx, resource, client["ClientId"])
    secret = client.get("ClientSecret") if create.get("GenerateSecret") else None
    pool = ctx.user_pool(pool_id)
    if pool is not None:
        pool.clients.append(
            UserPoolClientRecord(
                logical_id=resource.logical_id,
                id=client["ClientId"],
                name=name,
                explicit_auth_flows=list(create.get("ExplicitAuthFlows", [])),
                secret=secret,
            )
        )
    attributes: dict[str, Any] = {"ClientId": client["ClientId"], "Name": name}
    if secret is not None:
        attributes["ClientSecret"] = secret
    return Created(client["ClientId"], attributes, notes)


def _find_pool(ctx: DeployContext, logical_id: str, name: str) -> dict[str, Any] | None:
    cognito = ctx.moto("cognito-idp")
    previous_id = ctx.previous.physical_ids.get(logical_id) if ctx.previous else None
    if previous_id is not None:
        try:
            pool: dict[str, Any] = cognito.describe_user_pool(UserPoolId=previous_id)["UserPool"]
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
        else:
            if pool.get("Name") == name:
                return pool
    for page in cognito.get_paginator("list_user_pools").paginate(MaxResults=60):
        for summary in page["UserPools"]:
            if summary["Name"] == name:
                found: dict[str, Any] = cognito.describe_user_pool(UserPoolId=summary["Id"])[
                    "UserPool"
                ]
                return found
    return None


def _find_client(cognito: Any, pool_id: str, name: str) -> str | None:
    for page in cognito.get_paginator("list_user_pool_clients").paginate(
        UserPoolId=pool_id, MaxResults=60
    ):
        for client in page["UserPoolClients"]:
            if client["ClientName"] == name:
                client_id: str = client["ClientId"]
                return client_id
    return None


def _report_changed_id(ctx: DeployContext, resource: Resource, new_id: str) -> None:
    if ctx.previous is None:
        return
    old_id = ctx.previous.physical_ids.get(resource.logical_id)
    if old_id is not None and old_id != new_id:
        ctx.deployment.notes.append(
            f"{resource.logical_id} ({resource.type}): id changed from {old_id} to {new_id} "
            "(moto was restarted, so its users are gone too); outputs.json has the new id. "
            "Run moto with MOTO_COGNITO_IDP_USER_POOL_ID_STRATEGY=HASH and "
            "MOTO_COGNITO_IDP_USER_POOL_CLIENT_ID_STRATEGY=HASH to keep ids across restarts."
        )

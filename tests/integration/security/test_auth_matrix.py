"""The authorization matrix: every operation of schema.graphql x every kind of caller.

Requests go over real HTTP to the local AppSync (`start_graphql_endpoint`): real
directive checks, real JWT verification against moto's JWKS, and the real resolver Lambda
invoked in-process against DynamoDB Local and moto's Cognito. Callers hold real Cognito
tokens from moto's USER_PASSWORD_AUTH; the bad tokens are a moto token re-signed with
moto's own key but expired, a genuine token of another user pool, and a moto token whose
payload was changed with its signature kept.

Outcomes: "ok" - HTTP 200, no error, the field has a value; "401" - the request was
refused before any GraphQL ran (HTTP 401, UnauthorizedException); any other word - the
field's GraphQL errorType ("Unauthorized" from a directive or from the Lambda's own check;
domain errors like "NotJobOwner" mean the caller got through authorization to a rule that
only data can decide).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Final

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from moto.utilities.utils import load_resource

from localcloud.appsync.auth import EXPIRED_JWT
from localcloud.graphql_endpoint import (
    AuthMode,
    CognitoUserPool,
    FieldAuthorization,
    GraphQLServer,
    Principal,
    start_graphql_endpoint,
)
from stacks.constants import SCHEMA_FILE
from tests.integration.security.schema_ops import document, operation_fields, schema
from tests.support.api import Api
from tests.support.appsync_events import Identity, LambdaContext

pytestmark = pytest.mark.dynamodb

PASSWORD: Final = "Correct-Horse-9-Battery"
API_KEY: Final = "da2-securitysuitekey"

# The columns of the matrix, in order.
KINDS: Final = (
    "none",  # no Authorization, no x-api-key
    "api_key",
    "expired",  # a moto token of the owning parent, re-signed with moto's key, expired
    "other_pool",  # a genuine token of another user pool (its user is even an admin there)
    "tampered",  # the owning parent's token with cognito:groups changed to admin
    "admin",
    "owner",  # the parent who owns the target job / profile
    "other_parent",
    "nanny",  # the nanny who applied to (and, for the closed job, was booked for) the job
    "other_nanny",
)
SIGNED_IN: Final = ("admin", "owner", "other_parent", "nanny", "other_nanny")

# Columns: KINDS (no credentials, API key, expired, other pool, tampered, admin, ...).
# Cells: '-' = 401 UnauthorizedException (no GraphQL ran), 'U' = errorType Unauthorized,
# 'ok' = resolved without error, anything else = that errorType.
# fmt: off
MATRIX_TEXT: Final = {
    #                         no key exp oth tam admin    owner other_par   nanny          other_nan
    "getUser":                "-  ok  -   -   -   ok       ok    ok          ok             ok",
    "listUser":               "-  U   -   -   -   ok       ok    ok          U              U",
    "listAllJobs":            "-  U   -   -   -   ok       U     U           ok             ok",
    "listJobsPerParent":      "-  U   -   -   -   ok       ok    U           U              U",
    "listApplicationsPerJob": "-  U   -   -   -   ok       ok    NotJobOwner U              U",
    "listJobsAppliedTo":      "-  U   -   -   -   ok       U     U           ok             U",
    "listReviews":            "-  ok  -   -   -   ok       ok    ok          ok             ok",
    "createUser":             "-  U   -   -   -   ok       ok    ok          ok             ok",
    "updateUser":             "-  U   -   -   -   NotFound ok    ok          ok             ok",
    "updateUserStatus":       "-  U   -   -   -   ok       U     U           U              U",
    "deleteUser":             "-  U   -   -   -   ok       ok    U           U              U",
    "createJob":              "-  U   -   -   -   U        ok    ok          U              U",
    "applyToJob":             "-  U   -   -   -   U        U     U           AlreadyApplied ok",
    "bookNanny":              "-  U   -   -   -   U        ok    NotJobOwner U              U",
    "rateUser":               "-  U   -   -   -   U        ok    NotJobParty ok             NotJobParty",  # noqa: E501
}
# fmt: on
_WORDS: Final = {"-": "401", "U": "Unauthorized"}
MATRIX: Final[dict[str, tuple[str, ...]]] = {
    field: tuple(_WORDS.get(cell, cell) for cell in cells.split())
    for field, cells in MATRIX_TEXT.items()
}

# Rows whose allowed calls change what other rows read get a new world per signed-in caller.
FRESH_WORLD: Final = frozenset({"createUser", "deleteUser", "bookNanny"})


class World:
    """The callers and the data they target, each made on first use (so a fresh world for
    one row costs only what that row reads)."""

    def __init__(self, api: Api, cognito: Any, pool_id: str, client_id: str) -> None:
        self.api = api
        self.cognito = cognito
        self.pool_id = pool_id
        self.client_id = client_id

    def token(self, identity: Identity) -> str:
        """A real ID token of the account, issued now (so it carries its current groups)."""
        self.cognito.admin_set_user_password(
            UserPoolId=self.pool_id, Username=identity.username, Password=PASSWORD, Permanent=True
        )
        result = self.cognito.initiate_auth(
            ClientId=self.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": identity.username, "PASSWORD": PASSWORD},
        )
        return str(result["AuthenticationResult"]["IdToken"])

    @cached_property
    def admin(self) -> Identity:
        return self.api.admin()

    @cached_property
    def owner(self) -> Identity:
        return self.api.sign_up("PARENT")

    @cached_property
    def other_parent(self) -> Identity:
        return self.api.sign_up("PARENT")

    @cached_property
    def nanny(self) -> Identity:
        return self.api.sign_up("NANNY")

    @cached_property
    def other_nanny(self) -> Identity:
        return self.api.sign_up("NANNY")

    @cached_property
    def job(self) -> dict[str, Any]:
        return self.api.post_job(self.owner)

    @cached_property
    def application(self) -> dict[str, Any]:
        return self.api.apply(self.nanny, self.job["id"])

    @cached_property
    def closed_job(self) -> dict[str, Any]:
        """Another job of the owner, on which the nanny applied and was booked."""
        job = self.api.post_job(self.owner)
        return self.api.book(self.owner, self.api.apply(self.nanny, job["id"]))

    def caller(self, kind: str) -> Identity:
        identity: Identity = getattr(self, kind)
        return identity


# The arguments of each operation, targeting the world's data (keys must match the schema).
ARGUMENTS: Final[dict[str, Callable[[World, str], dict[str, Any]]]] = {
    "getUser": lambda w, _: {"username": w.owner.username},
    "listUser": lambda w, _: {"type": "NANNY"},
    "listAllJobs": lambda w, _: {"jobStatus": "OPEN"},
    "listJobsPerParent": lambda w, _: {"username": w.owner.username},
    "listApplicationsPerJob": lambda w, _: {"jobId": w.application["jobId"]},
    "listJobsAppliedTo": lambda w, _: {"username": w.application["applicantUsername"]},
    "listReviews": lambda w, _: {"username": w.owner.username},
    # Each caller creates its own profile, of its own type (admins have none yet).
    "createUser": lambda w, kind: {
        "user": {
            "type": "NANNY" if kind.endswith("nanny") else "PARENT",
            "firstName": "Ada",
            "lastName": "Lovelace",
        }
    },
    "updateUser": lambda w, _: {"user": {"about": "Updated by the security suite."}},
    "updateUserStatus": lambda w, _: {"username": w.owner.username, "status": "VERIFIED"},
    "deleteUser": lambda w, _: {"username": w.owner.username},
    "createJob": lambda w, _: {"job": job_fields()},
    "applyToJob": lambda w, _: {"application": {"jobId": w.application["jobId"], "message": "Hi"}},
    "bookNanny": lambda w, _: {
        "jobId": w.application["jobId"],
        "applicationId": w.application["id"],
    },
    "rateUser": lambda w, _: {"jobId": w.closed_job["id"], "rating": 5, "review": "Great"},
}


def job_fields() -> dict[str, Any]:
    from tests.support.api import job_input

    return job_input()


# --- the endpoint ------------------------------------------------------------------------


def urlopen(request: urllib.request.Request) -> Any:
    return urllib.request.urlopen(request, timeout=30)  # noqa: S310 - a 127.0.0.1 URL


@dataclass
class Endpoint:
    server: GraphQLServer
    invoked: list[str] = dataclasses.field(
        default_factory=list
    )  # fieldName of each Lambda invocation

    def post(
        self, query: str, variables: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        body = json.dumps({"query": query, "variables": variables}).encode()
        request = urllib.request.Request(  # noqa: S310 - a 127.0.0.1 URL
            self.server.graphql_url,
            data=body,
            headers={"Content-Type": "application/json", **headers},
            method="POST",
        )
        try:
            with urlopen(request) as response:
                return int(response.status), json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())


@pytest.fixture(scope="module")
def client_id(cognito: Any, user_pool_id: str) -> str:
    """An app client of the session's pool that allows password sign-in."""
    client = cognito.create_user_pool_client(
        UserPoolId=user_pool_id,
        ClientName=f"security-{uuid.uuid4().hex[:6]}",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )
    return str(client["UserPoolClient"]["ClientId"])


@pytest.fixture(scope="module")
def endpoint(
    api: Api, moto_endpoint: str, user_pool_id: str, client_id: str, tmp_path_factory: Any
) -> Iterator[Endpoint]:
    """The local AppSync on a free port; its resolver Lambda runs in-process."""
    from services.api.handler import handler

    invoked: list[str] = []

    def invoke(function_id: str, event: dict[str, Any]) -> Any:
        invoked.append(event["info"]["fieldName"])
        return handler(json.loads(json.dumps(event)), LambdaContext())

    resolvers = {(root, name): "ApiFunction" for name, (root, _) in operation_fields().items()}
    pool = CognitoUserPool.from_jwks_url(
        user_pool_id, f"{moto_endpoint}/{user_pool_id}/.well-known/jwks.json", [client_id]
    )
    server = start_graphql_endpoint(
        schema_sdl=SCHEMA_FILE.read_text(),
        resolvers=resolvers,
        invoke=invoke,
        user_pool=pool,
        api_keys=[API_KEY],
        port=0,
        node_modules=Path(tmp_path_factory.mktemp("no-node-modules")),
    )
    yield Endpoint(server, invoked)
    server.stop()


@pytest.fixture(scope="module")
def world(api: Api, cognito: Any, user_pool_id: str, client_id: str) -> World:
    return World(api, cognito, user_pool_id, client_id)


@pytest.fixture(scope="module")
def tokens(world: World) -> dict[str, str]:
    """A token for each signed-in kind of the shared world."""
    return {kind: world.token(world.caller(kind)) for kind in SIGNED_IN}


def moto_signing_key() -> rsa.RSAPrivateKey:
    """The private key moto signs every user pool's tokens with (shipped with moto)."""
    key = jwt.algorithms.RSAAlgorithm.from_jwk(
        json.dumps(load_resource("cognitoidp/resources/jwks-private.json"))
    )
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def bad_tokens(tokens: dict[str, str], cognito: Any) -> dict[str, str]:
    """Tokens the endpoint must refuse, each one way off the owner's genuine token."""
    genuine = tokens["owner"]
    claims = jwt.decode(genuine, options={"verify_signature": False})
    header = jwt.get_unverified_header(genuine)
    private = moto_signing_key()
    past = int(time.time()) - 7200
    expired = jwt.encode(
        {**claims, "iat": past, "auth_time": past, "exp": past + 3600},
        private,
        algorithm="RS256",
        headers={"kid": header["kid"]},
    )
    assert jwt.get_unverified_header(expired)["kid"] == header["kid"]
    head, _, signature = genuine.split(".")
    forged = _b64(json.dumps({**claims, "cognito:groups": ["admin"]}).encode())
    tampered = f"{head}.{forged}.{signature}"

    other_pool = cognito.create_user_pool(PoolName="security-other")["UserPool"]["Id"]
    other_client = cognito.create_user_pool_client(
        UserPoolId=other_pool, ClientName="app", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
    )["UserPoolClient"]["ClientId"]
    cognito.create_group(UserPoolId=other_pool, GroupName="admin")
    cognito.admin_create_user(UserPoolId=other_pool, Username="eve", MessageAction="SUPPRESS")
    cognito.admin_set_user_password(
        UserPoolId=other_pool, Username="eve", Password=PASSWORD, Permanent=True
    )
    cognito.admin_add_user_to_group(UserPoolId=other_pool, Username="eve", GroupName="admin")
    foreign = cognito.initiate_auth(
        ClientId=other_client,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "eve", "PASSWORD": PASSWORD},
    )["AuthenticationResult"]["IdToken"]
    return {"expired": expired, "tampered": tampered, "other_pool": str(foreign)}


def outcome(field: str, status: int, body: dict[str, Any]) -> str:
    """The matrix's word for one response (see the module docstring)."""
    if status == 401:
        (error,) = body["errors"]
        assert error["errorType"] == "UnauthorizedException", body
        return "401"
    assert status == 200, body
    errors = [e for e in body.get("errors", []) if e.get("path", [None])[0] == field]
    assert len(errors) == len(body.get("errors", [])), body  # no error outside the field
    if errors:
        return str(errors[0]["errorType"])
    assert body["data"][field] is not None, body
    return "ok"


# --- the tests ---------------------------------------------------------------------------


def test_the_matrix_has_a_row_for_every_operation_and_a_column_for_every_caller() -> None:
    """Adding a Query or Mutation field to schema.graphql without deciding who may call it
    fails here; so does a row with a missing caller kind or stale arguments."""
    fields = operation_fields()
    assert set(MATRIX) == set(fields)
    assert set(ARGUMENTS) == set(fields)
    for name, row in MATRIX.items():
        assert len(row) == len(KINDS), name
        assert set(fields) >= FRESH_WORLD


def _cases() -> list[Any]:
    return [
        pytest.param(field, kind, expected, id=f"{field}-{kind}")
        for field, row in MATRIX.items()
        for kind, expected in zip(KINDS, row, strict=True)
    ]


@pytest.mark.parametrize(("field", "kind", "expected"), _cases())
def test_caller_gets_the_matrix_outcome(
    field: str,
    kind: str,
    expected: str,
    endpoint: Endpoint,
    world: World,
    tokens: dict[str, str],
    bad_tokens: dict[str, str],
    api: Api,
    cognito: Any,
    user_pool_id: str,
    client_id: str,
) -> None:
    """One cell of MATRIX: this kind of caller calling this operation over HTTP, with real
    targets (its job, its application, its profile), gets exactly this outcome."""
    target = world
    if kind in SIGNED_IN and field in FRESH_WORLD:
        target = World(api, cognito, user_pool_id, client_id)
    if kind == "none":
        headers: dict[str, str] = {}
    elif kind == "api_key":
        headers = {"x-api-key": API_KEY}
    elif kind in bad_tokens:
        headers = {"Authorization": bad_tokens[kind]}
    elif target is world:
        headers = {"Authorization": tokens[kind]}
    else:
        headers = {"Authorization": target.token(target.caller(kind))}
    variables = ARGUMENTS[field](target, kind)
    endpoint.invoked.clear()
    status, body = endpoint.post(document(field), variables, headers)
    assert outcome(field, status, body) == expected, body
    if kind == "expired":  # re-signed with moto's key: the expiry, and only it, is refused
        assert body["errors"][0]["message"] == EXPIRED_JWT, body
    # Which layer decided: the schema's directive refuses before the Lambda is invoked;
    # every call the directive admits reaches the Lambda, which may still refuse it.
    assert endpoint.invoked == ([field] if directive_admits(field, kind) else []), body


def directive_admits(field_name: str, kind: str) -> bool:
    """What the schema's auth directives alone say about this kind of caller."""
    if kind == "api_key":
        principal = Principal(AuthMode.API_KEY)
    elif kind in SIGNED_IN:
        group = {"admin": "admin", "owner": "parent", "other_parent": "parent"}.get(kind, "nanny")
        principal = Principal(AuthMode.AMAZON_COGNITO_USER_POOLS, {"cognito:groups": [group]})
    else:
        return False  # refused at authentication
    root, _ = operation_fields()[field_name]
    return FieldAuthorization(schema()).allows(principal, root, field_name)


FORGERIES: Final = (
    "alg_none",
    "hs256_keyed_with_the_public_key",
    "attacker_key_with_the_pools_kid",
    "attacker_key_with_its_own_kid",
    "another_app_client",
    "no_expiry",
)


def forge(kind: str, genuine: str) -> str:
    """A token claiming the admin group, made one way an attacker might."""
    header = jwt.get_unverified_header(genuine)
    claims = {**jwt.decode(genuine, options={"verify_signature": False})}
    claims["cognito:groups"] = ["admin"]
    kid = header["kid"]
    if kind == "alg_none":
        head = _b64(json.dumps({"alg": "none", "kid": kid, "typ": "JWT"}).encode())
        return f"{head}.{_b64(json.dumps(claims).encode())}."
    if kind == "hs256_keyed_with_the_public_key":
        secret = (
            moto_signing_key()
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        head = _b64(json.dumps({"alg": "HS256", "kid": kid, "typ": "JWT"}).encode())
        signing_input = f"{head}.{_b64(json.dumps(claims).encode())}"
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(mac)}"
    if kind.startswith("attacker_key"):
        attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        own_kid = kid if kind == "attacker_key_with_the_pools_kid" else "attacker-key"
        return jwt.encode(claims, attacker, algorithm="RS256", headers={"kid": own_kid})
    if kind == "another_app_client":
        claims["aud"] = "another-app-client"
    else:
        assert kind == "no_expiry"
        del claims["exp"]
    return jwt.encode(claims, moto_signing_key(), algorithm="RS256", headers={"kid": kid})


@pytest.mark.parametrize("forgery", FORGERIES)
def test_forged_tokens_are_refused_before_any_graphql_runs(
    forgery: str, endpoint: Endpoint, tokens: dict[str, str]
) -> None:
    """Tokens claiming the admin group - unsigned, HMAC-signed with the pool's public key,
    signed with another key (under the pool's key id or its own), or signed with the pool's
    real key but for another app client or without an expiry - get HTTP 401 and never reach
    the Lambda."""
    endpoint.invoked.clear()
    headers = {"Authorization": forge(forgery, tokens["other_parent"])}
    status, body = endpoint.post(document("listUser"), {"type": "PARENT"}, headers)
    assert outcome("listUser", status, body) == "401", body
    assert endpoint.invoked == []

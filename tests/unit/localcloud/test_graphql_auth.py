"""AppSync's authorization decisions and Cognito/API-key authentication, table-driven.

Rules: a field's auth directives replace its type's; no directive on field or type means
the default mode (the user pool) only; `cognito_groups` admits members of any listed group.
Authentication: one mode per request, JWTs checked against the pool's keys.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from localcloud.graphql_endpoint import (
    AuthenticationError,
    Authenticator,
    AuthMode,
    CognitoUserPool,
    FieldAuthorization,
    JsonWebKeySet,
    Principal,
    build_appsync_schema,
)
from stacks.constants import SCHEMA_FILE

# --- callers -----------------------------------------------------------------------------

API_KEY = Principal(AuthMode.API_KEY)


def cognito(*groups: str, username: str = "ann", kind: str = "id") -> Principal:
    name_claim = "cognito:username" if kind == "id" else "username"
    claims: dict[str, Any] = {"sub": "s-1", "token_use": kind, name_claim: username}
    if groups:
        claims["cognito:groups"] = list(groups)
    return Principal(AuthMode.AMAZON_COGNITO_USER_POOLS, claims)


CALLERS = {
    "api_key": API_KEY,
    "user": cognito(),
    "parent": cognito("parent"),
    "nanny": cognito("nanny"),
    "admin": cognito("admin"),
}

# --- rules on a schema that has every combination ------------------------------------------

RULES_SDL = """
type Query {
  open: String
  public: String @aws_api_key
  both: String @aws_api_key @aws_cognito_user_pools
  parents: String @aws_cognito_user_pools(cognito_groups: ["parent"])
  staff: String @aws_cognito_user_pools(cognito_groups: ["admin", "parent"])
  legacy: String @aws_auth(cognito_groups: ["admin"])
  iamOnly: String @aws_iam
  thing: Thing
}
type Thing @aws_api_key @aws_cognito_user_pools {
  inherited: String
  private: String @aws_cognito_user_pools
  adminOnly: String @aws_cognito_user_pools(cognito_groups: ["admin"])
}
type Plain { x: String }
type Grouped @aws_cognito_user_pools(cognito_groups: ["nanny"]) {
  y: String
  z: String @aws_api_key
}
"""

RULES = FieldAuthorization(build_appsync_schema(RULES_SDL))

# (type, field) -> the callers admitted; every other caller is refused.
RULE_TABLE: list[tuple[str, str, set[str]]] = [
    # No directive on the field nor on its type: default mode (Cognito), any user.
    ("Query", "open", {"user", "parent", "nanny", "admin"}),
    ("Plain", "x", {"user", "parent", "nanny", "admin"}),
    # API key only: Cognito users are NOT admitted, the default mode is not implied.
    ("Query", "public", {"api_key"}),
    ("Query", "both", {"api_key", "user", "parent", "nanny", "admin"}),
    ("Query", "parents", {"parent"}),
    ("Query", "staff", {"parent", "admin"}),
    ("Query", "legacy", {"admin"}),
    ("Query", "iamOnly", set()),  # IAM is no mode of this API
    ("Query", "thing", {"user", "parent", "nanny", "admin"}),
    # Fields without directives take their type's.
    ("Thing", "inherited", {"api_key", "user", "parent", "nanny", "admin"}),
    # A field's directive replaces the type's: API key out.
    ("Thing", "private", {"user", "parent", "nanny", "admin"}),
    ("Thing", "adminOnly", {"admin"}),
    ("Grouped", "y", {"nanny"}),
    ("Grouped", "z", {"api_key"}),
]


@pytest.mark.parametrize(("type_name", "field_name", "admitted"), RULE_TABLE)
@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_field_rules(type_name: str, field_name: str, admitted: set[str], caller: str) -> None:
    allowed = RULES.allows(CALLERS[caller], type_name, field_name)
    assert allowed is (caller in admitted)


# --- the project's schema: the rules docs/api.md promises ------------------------------------

PROJECT = FieldAuthorization(build_appsync_schema(SCHEMA_FILE.read_text()))

PROJECT_TABLE: list[tuple[str, str, set[str]]] = [
    ("Query", "getUser", set(CALLERS)),
    ("Query", "listReviews", set(CALLERS)),
    ("Query", "listUser", {"admin", "parent"}),
    ("Query", "listAllJobs", {"admin", "nanny"}),
    ("Mutation", "createUser", {"user", "parent", "nanny", "admin"}),
    ("Mutation", "createJob", {"parent"}),
    ("Mutation", "applyToJob", {"nanny"}),
    ("Mutation", "bookNanny", {"parent"}),
    ("Mutation", "updateUserStatus", {"admin"}),
    ("Mutation", "rateUser", {"parent", "nanny"}),
    ("User", "firstName", set(CALLERS)),  # public profile field
    ("User", "email", {"user", "parent", "nanny", "admin"}),  # private: no API key
    ("User", "dateOfBirth", {"user", "parent", "nanny", "admin"}),
    ("UserConnection", "items", {"user", "parent", "nanny", "admin"}),
    ("Job", "title", {"user", "parent", "nanny", "admin"}),
    ("Review", "rating", set(CALLERS)),
    ("ReviewConnection", "items", set(CALLERS)),
]


@pytest.mark.parametrize(("type_name", "field_name", "admitted"), PROJECT_TABLE)
def test_project_schema_rules(type_name: str, field_name: str, admitted: set[str]) -> None:
    allowed = {
        name for name, caller in CALLERS.items() if PROJECT.allows(caller, type_name, field_name)
    }
    assert allowed == admitted


# --- principals ----------------------------------------------------------------------------


def test_username_comes_from_the_claim_of_the_token_kind() -> None:
    assert cognito(username="ann", kind="id").username == "ann"
    assert cognito(username="bob", kind="access").username == "bob"
    # An access token's cognito:username (it has none) is not read, nor the reverse.
    mixed = Principal(
        AuthMode.AMAZON_COGNITO_USER_POOLS,
        {"token_use": "access", "cognito:username": "eve", "username": "bob"},
    )
    assert mixed.username == "bob"
    assert API_KEY.username is None


def test_identity_is_null_for_api_key_and_appsync_shaped_for_cognito() -> None:
    assert API_KEY.appsync_identity(["127.0.0.1"]) is None
    identity = cognito("parent").appsync_identity(["10.1.1.1", "127.0.0.1"])
    assert identity is not None
    assert identity["username"] == "ann"
    assert identity["groups"] == ["parent"]
    assert identity["sub"] == "s-1"
    assert identity["sourceIp"] == ["10.1.1.1", "127.0.0.1"]
    assert identity["defaultAuthStrategy"] == "ALLOW"
    assert identity["claims"]["cognito:username"] == "ann"
    assert set(identity) == {
        "sub",
        "issuer",
        "username",
        "claims",
        "sourceIp",
        "defaultAuthStrategy",
        "groups",
    }
    ungrouped = cognito().appsync_identity([])
    assert ungrouped is not None
    assert ungrouped["groups"] is None  # AppSync sends null, not []


# --- authentication ------------------------------------------------------------------------

POOL_ID = "us-east-1_TestPool"
OTHER_POOL_ID = "us-east-1_OtherPool"
CLIENT_ID = "client-app"
ISSUER = f"https://cognito-idp.us-east-1.amazonaws.com/{POOL_ID}"
OTHER_ISSUER = f"https://cognito-idp.us-east-1.amazonaws.com/{OTHER_POOL_ID}"


class KeyPair:
    """An RSA key with a kid, as a user pool signs with."""

    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(
            jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key())
        )
        return {**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}

    def sign(self, claims: Mapping[str, Any], **header: Any) -> str:
        headers = {"kid": self.kid, **header}
        return jwt.encode(dict(claims), self.private, algorithm="RS256", headers=headers)


POOL_KEY = KeyPair("pool-key")
OTHER_KEY = KeyPair("other-key")


def claims(kind: str = "id", **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "sub": "3f1c-sub",
        "iss": ISSUER,
        "token_use": kind,
        "iat": now,
        "auth_time": now,
        "exp": now + 3600,
        "cognito:groups": ["parent"],
    }
    if kind == "id":
        base |= {"aud": CLIENT_ID, "cognito:username": "ann"}
    else:
        base |= {
            "client_id": CLIENT_ID,
            "username": "ann",
            "scope": "aws.cognito.signin.user.admin",
        }
    return base | overrides


def tamper(token: str) -> str:
    header, payload, signature = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body["cognito:groups"] = ["admin"]
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def authenticator(app_client_ids: frozenset[str] | None = frozenset({CLIENT_ID})) -> Authenticator:
    pool = CognitoUserPool(
        POOL_ID, JsonWebKeySet(keys={"keys": [POOL_KEY.jwk()]}), app_client_ids=app_client_ids
    )
    return Authenticator(user_pool=pool, api_keys=["da2-right-key"])


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_forgery() -> str:
    """The classic key-confusion forgery: HMAC keyed with the pool's PUBLIC key."""
    public_pem = POOL_KEY.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": POOL_KEY.kid}).encode())
    payload = b64url(json.dumps(claims("id")).encode())
    signature = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(signature)}"


def unsigned() -> str:
    header = b64url(json.dumps({"alg": "none", "typ": "JWT", "kid": POOL_KEY.kid}).encode())
    return f"{header}.{b64url(json.dumps(claims('id')).encode())}."


INVALID = "Valid authorization header not provided."
REFUSED: list[tuple[str, dict[str, str], str]] = [
    ("no credentials", {}, "Valid authorization header not provided."),
    (
        "expired",
        {"authorization": POOL_KEY.sign(claims("id", exp=int(time.time()) - 10))},
        "Token has expired.",
    ),
    ("not a JWT", {"authorization": "not-a-jwt"}, "Unable to parse JWT token."),
    ("tampered payload", {"authorization": tamper(POOL_KEY.sign(claims("id")))}, INVALID),
    (
        "signed by another key under the pool's kid",
        {"authorization": OTHER_KEY.sign(claims("id"), kid=POOL_KEY.kid)},
        INVALID,
    ),
    ("unknown kid", {"authorization": OTHER_KEY.sign(claims("id"))}, INVALID),
    (
        "another pool's issuer",
        {"authorization": POOL_KEY.sign(claims("id", iss=OTHER_ISSUER))},
        INVALID,
    ),
    (
        "id token of another client",
        {"authorization": POOL_KEY.sign(claims("id", aud="other-client"))},
        INVALID,
    ),
    (
        "access token of another client",
        {"authorization": POOL_KEY.sign(claims("access", client_id="other-client"))},
        INVALID,
    ),
    (
        "refresh token_use",
        {"authorization": POOL_KEY.sign(claims("id", token_use="refresh"))},
        INVALID,
    ),
    (
        "no token_use",
        {
            "authorization": POOL_KEY.sign(
                {k: v for k, v in claims("id").items() if k != "token_use"}
            )
        },
        INVALID,
    ),
    ("alg none", {"authorization": unsigned()}, INVALID),
    ("HS256 keyed with the public key", {"authorization": hs256_forgery()}, INVALID),
    ("wrong api key", {"x-api-key": "da2-wrong-key"}, "You are not authorized to make this call."),
]


@pytest.mark.parametrize(("case", "headers", "message"), REFUSED, ids=[c[0] for c in REFUSED])
def test_invalid_credentials_are_refused_with_appsync_messages(
    case: str, headers: dict[str, str], message: str
) -> None:
    with pytest.raises(AuthenticationError) as refused:
        authenticator().authenticate(headers)
    assert refused.value.message == message


def test_api_key_authenticates_with_no_identity() -> None:
    principal = authenticator().authenticate({"x-api-key": "da2-right-key"})
    assert principal.mode is AuthMode.API_KEY
    assert principal.appsync_identity(["127.0.0.1"]) is None


def test_any_client_of_the_pool_is_accepted_without_configured_client_ids() -> None:
    # What the stack configures: no AppIdClientRegex on the API's user pool config.
    token = POOL_KEY.sign(claims("id", aud="some-other-client"))
    principal = authenticator(app_client_ids=None).authenticate({"authorization": token})
    assert principal.username == "ann"


def test_a_token_without_user_pool_or_a_key_without_api_keys_is_refused() -> None:
    bare = Authenticator()
    with pytest.raises(AuthenticationError):
        bare.authenticate({"authorization": POOL_KEY.sign(claims("id"))})
    with pytest.raises(AuthenticationError):
        bare.authenticate({"x-api-key": "da2-right-key"})


def test_issuer_is_derived_from_the_pool_id() -> None:
    pool = CognitoUserPool("eu-west-1_Abc", JsonWebKeySet(keys={"keys": [POOL_KEY.jwk()]}))
    assert pool.issuer == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Abc"


# --- the key set ---------------------------------------------------------------------------


class CountingKeySet(JsonWebKeySet):
    """A URL-backed key set whose fetches are counted instead of sent."""

    def __init__(self, document: dict[str, Any], **options: Any) -> None:
        super().__init__(url="http://127.0.0.1:1/jwks.json", **options)
        self.document = document
        self.fetches = 0
        self.fail = False

    def _fetch(self, url: str) -> None:
        self.fetches += 1
        if self.fail:
            raise OSError("connection refused")
        self._keys = self._parse(self.document)
        self._fetched_at = time.monotonic()


def test_keys_are_fetched_once_and_cached() -> None:
    keys = CountingKeySet({"keys": [POOL_KEY.jwk()]})
    for _ in range(5):
        assert keys.signing_key(POOL_KEY.kid).key_id == POOL_KEY.kid
    assert keys.fetches == 1


def test_an_unknown_kid_refetches_at_most_once_per_interval() -> None:
    keys = CountingKeySet({"keys": [POOL_KEY.jwk()]}, min_refresh_interval=3600)
    keys.signing_key(POOL_KEY.kid)
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            keys.signing_key("forged-kid")
    assert keys.fetches == 1  # a stream of forged kids does not hammer the endpoint


def test_a_rotated_key_is_picked_up_by_refetching() -> None:
    keys = CountingKeySet({"keys": [POOL_KEY.jwk()]}, min_refresh_interval=0)
    keys.signing_key(POOL_KEY.kid)
    keys.document = {"keys": [POOL_KEY.jwk(), OTHER_KEY.jwk()]}
    assert keys.signing_key(OTHER_KEY.kid).key_id == OTHER_KEY.kid
    assert keys.fetches == 2


def test_stale_keys_are_refetched_and_kept_when_the_endpoint_fails() -> None:
    keys = CountingKeySet({"keys": [POOL_KEY.jwk()]}, max_age=0)
    keys.signing_key(POOL_KEY.kid)
    keys.fail = True
    assert keys.signing_key(POOL_KEY.kid).key_id == POOL_KEY.kid  # served from the cache
    assert keys.fetches == 2


def test_no_keys_at_all_refuses_the_token() -> None:
    keys = CountingKeySet({"keys": [POOL_KEY.jwk()]})
    keys.fail = True
    with pytest.raises(AuthenticationError):
        keys.signing_key(POOL_KEY.kid)


def test_a_key_set_has_exactly_one_source() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        JsonWebKeySet()
    with pytest.raises(ValueError, match="exactly one"):
        JsonWebKeySet(url="http://127.0.0.1:1/", keys={"keys": []})

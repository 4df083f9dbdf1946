"""Who is calling (authentication) and what each caller may read (authorization), as AppSync.

Authentication picks ONE mode per request from its headers: an `Authorization` header
carries a Cognito user pool ID or access token (the API's default mode), an `x-api-key`
header an API key (an additional mode). A request whose credentials fail is refused as a
whole with HTTP 401 and an `UnauthorizedException`, before any GraphQL runs.

Authorization is per field, from the schema's directives: a field's own auth directives
replace its type's; a field and type with none are open to the default mode only;
`@aws_cognito_user_pools(cognito_groups: [...])` admits members of one of the groups
(`cognito:groups` claim). A refused field reads as null with an `Unauthorized` error.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
import time
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

import jwt
from graphql import (
    DirectiveNode,
    GraphQLObjectType,
    GraphQLSchema,
    value_from_ast_untyped,
)

__all__ = [
    "DEFAULT_RULES",
    "AuthMode",
    "AuthRule",
    "AuthenticationError",
    "Authenticator",
    "CognitoUserPool",
    "FieldAuthorization",
    "JsonWebKeySet",
    "Principal",
    "rules_from_directives",
]

log = logging.getLogger(__name__)


class AuthMode(StrEnum):
    """AppSync's authorization types, named as in its API and CloudFormation."""

    API_KEY = "API_KEY"
    AMAZON_COGNITO_USER_POOLS = "AMAZON_COGNITO_USER_POOLS"
    AWS_IAM = "AWS_IAM"
    OPENID_CONNECT = "OPENID_CONNECT"
    AWS_LAMBDA = "AWS_LAMBDA"


# The directive that opens a type or field to each mode. `@aws_auth` is the older
# default-mode-only Cognito directive; it is handled apart (see rules_from_directives).
_DIRECTIVE_MODES: Final = {
    "aws_api_key": AuthMode.API_KEY,
    "aws_cognito_user_pools": AuthMode.AMAZON_COGNITO_USER_POOLS,
    "aws_iam": AuthMode.AWS_IAM,
    "aws_oidc": AuthMode.OPENID_CONNECT,
    "aws_lambda": AuthMode.AWS_LAMBDA,
}


# --- principals and rules ----------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: the mode it used and, for Cognito, the token's claims."""

    mode: AuthMode
    claims: Mapping[str, Any] = field(default_factory=dict)

    @property
    def username(self) -> str | None:
        """`cognito:username` in ID tokens, `username` in access tokens (as AppSync)."""
        if self.mode is not AuthMode.AMAZON_COGNITO_USER_POOLS:
            return None
        key = "cognito:username" if self.claims.get("token_use") == "id" else "username"
        value = self.claims.get(key)
        return str(value) if value is not None else None

    @property
    def groups(self) -> tuple[str, ...]:
        groups = self.claims.get("cognito:groups") or ()
        if isinstance(groups, str):  # Cognito sends a list; be lenient with hand-made tokens
            groups = (groups,)
        return tuple(str(group) for group in groups)

    def appsync_identity(self, source_ips: Sequence[str]) -> dict[str, Any] | None:
        """`ctx.identity` as AppSync builds it: null for API key callers."""
        if self.mode is not AuthMode.AMAZON_COGNITO_USER_POOLS:
            return None
        return {
            "sub": self.claims.get("sub"),
            "issuer": self.claims.get("iss"),
            "username": self.username,
            "claims": dict(self.claims),
            "sourceIp": list(source_ips),
            # The user pool's DefaultAction; the stack sets ALLOW, the only one emulated.
            "defaultAuthStrategy": "ALLOW",
            # AppSync sends null, not [], for a user in no group.
            "groups": list(self.groups) or None,
        }


@dataclass(frozen=True)
class AuthRule:
    """One way into a field: a mode and, for Cognito, the groups admitted (None: all)."""

    mode: AuthMode
    groups: frozenset[str] | None = None

    def admits(self, principal: Principal) -> bool:
        if principal.mode is not self.mode:
            return False
        return self.groups is None or not self.groups.isdisjoint(principal.groups)


# No directive on a field or its type: the default mode (the user pool), any user.
DEFAULT_RULES: Final = (AuthRule(AuthMode.AMAZON_COGNITO_USER_POOLS),)


def _groups_argument(directive: DirectiveNode) -> frozenset[str] | None:
    for argument in directive.arguments or ():
        if argument.name.value == "cognito_groups":
            value = value_from_ast_untyped(argument.value)
            if value is None:
                return None
            return frozenset(str(group) for group in value)
    return None


def rules_from_directives(
    directives: Iterable[DirectiveNode], default_mode: AuthMode = AuthMode.AMAZON_COGNITO_USER_POOLS
) -> tuple[AuthRule, ...]:
    """The rules a set of directives declares; empty when none of them is an auth directive."""
    rules: list[AuthRule] = []
    for directive in directives:
        name = directive.name.value
        if name in _DIRECTIVE_MODES:
            rules.append(AuthRule(_DIRECTIVE_MODES[name], _groups_argument(directive)))
        elif name == "aws_auth" and default_mode is AuthMode.AMAZON_COGNITO_USER_POOLS:
            rules.append(AuthRule(default_mode, _groups_argument(directive)))
    return tuple(rules)


class FieldAuthorization:
    """Which callers may resolve each object field of a schema, computed once up front."""

    def __init__(
        self,
        schema: GraphQLSchema,
        default_mode: AuthMode = AuthMode.AMAZON_COGNITO_USER_POOLS,
    ) -> None:
        self.default_rules: tuple[AuthRule, ...] = (AuthRule(default_mode),)
        self._rules: dict[tuple[str, str], tuple[AuthRule, ...]] = {}
        for type_name, type_ in schema.type_map.items():
            if type_name.startswith("__") or not isinstance(type_, GraphQLObjectType):
                continue
            type_nodes = [type_.ast_node, *type_.extension_ast_nodes]
            type_rules = rules_from_directives(
                (d for node in type_nodes if node for d in node.directives or ()), default_mode
            )
            for field_name, field_ in type_.fields.items():
                node = field_.ast_node
                field_rules = rules_from_directives(
                    node.directives or () if node else (), default_mode
                )
                # A field's directives replace its type's, they do not add to them.
                self._rules[type_name, field_name] = field_rules or type_rules or self.default_rules

    def rules(self, type_name: str, field_name: str) -> tuple[AuthRule, ...]:
        return self._rules.get((type_name, field_name), self.default_rules)

    def allows(self, principal: Principal, type_name: str, field_name: str) -> bool:
        return any(rule.admits(principal) for rule in self.rules(type_name, field_name))


# --- authentication ----------------------------------------------------------------------


class AuthenticationError(Exception):
    """The request's credentials are missing or invalid: HTTP 401 UnauthorizedException."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# AppSync's words for a refused request (HTTP 401, errorType UnauthorizedException).
NO_CREDENTIALS: Final = "Valid authorization header not provided."
EXPIRED_JWT: Final = "Token has expired."
UNPARSABLE_JWT: Final = "Unable to parse JWT token."
INVALID_JWT: Final = "Valid authorization header not provided."
API_KEY_INVALID: Final = "You are not authorized to make this call."


class JsonWebKeySet:
    """A user pool's signing keys: given, or fetched from its JWKS URL and cached.

    Keys are fetched on first use and again after `max_age` seconds; a token signed with
    an unknown `kid` triggers one early refetch (key rotation), at most every
    `min_refresh_interval` seconds so a stream of forged kids cannot hammer the endpoint.
    """

    def __init__(
        self,
        *,
        url: str | None = None,
        keys: Mapping[str, Any] | None = None,
        max_age: float = 3600.0,
        min_refresh_interval: float = 5.0,
        timeout: float = 5.0,
    ) -> None:
        if (url is None) == (keys is None):
            raise ValueError("give exactly one of url (a JWKS endpoint) or keys (a JWKS document)")
        self.url = url
        self.max_age = max_age
        self.min_refresh_interval = min_refresh_interval
        self.timeout = timeout
        self._lock = threading.Lock()
        self._keys: dict[str, jwt.PyJWK] = self._parse(keys) if keys is not None else {}
        self._fetched_at: float | None = None

    @staticmethod
    def _parse(document: Mapping[str, Any]) -> dict[str, jwt.PyJWK]:
        keys = jwt.PyJWKSet.from_dict(dict(document)).keys
        return {key.key_id: key for key in keys if key.key_id is not None}

    def _fetch(self, url: str) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"JWKS URL must be http(s): {url}")
        request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 - scheme checked above
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            document = json.loads(response.read())
        self._keys = self._parse(document)
        self._fetched_at = time.monotonic()

    def signing_key(self, kid: str) -> jwt.PyJWK:
        """The key with this id; AuthenticationError when the pool has no such key."""
        with self._lock:
            if self.url is not None:
                now = time.monotonic()
                age = None if self._fetched_at is None else now - self._fetched_at
                stale = age is None or age >= self.max_age
                unknown = kid not in self._keys and (
                    age is None or age >= self.min_refresh_interval
                )
                if stale or unknown:
                    try:
                        self._fetch(self.url)
                    except (OSError, ValueError, jwt.PyJWTError) as error:
                        # Keep serving cached keys; without any, no token can be verified.
                        log.warning("cannot fetch JWKS from %s: %s", self.url, error)
                        if not self._keys:
                            raise AuthenticationError(INVALID_JWT) from error
            key = self._keys.get(kid)
        if key is None:
            raise AuthenticationError(INVALID_JWT)
        return key


@dataclass(frozen=True)
class CognitoUserPool:
    """The user pool an API trusts: its issuer, signing keys and (optionally) app clients.

    `app_client_ids` plays AppSync's `AppIdClientRegex`: when given, an ID token's `aud`
    or an access token's `client_id` must be one of them; when None, any client of the
    pool is accepted (what the stack configures: no AppIdClientRegex).
    """

    user_pool_id: str
    jwks: JsonWebKeySet
    app_client_ids: frozenset[str] | None = None
    region: str | None = None
    issuer_url: str | None = None
    leeway_seconds: float = 0.0

    @property
    def issuer(self) -> str:
        """Cognito's issuer URL, which every token of the pool carries as `iss`."""
        if self.issuer_url is not None:
            return self.issuer_url
        # Pool ids are "<region>_<id>", e.g. us-east-1_AbC123.
        region = self.region or self.user_pool_id.split("_", 1)[0]
        return f"https://cognito-idp.{region}.amazonaws.com/{self.user_pool_id}"

    @classmethod
    def from_jwks_url(
        cls, user_pool_id: str, jwks_url: str, app_client_ids: Iterable[str] | None = None
    ) -> CognitoUserPool:
        """A pool whose keys are served at `jwks_url`.

        moto serves them at `<endpoint>/<pool id>/.well-known/jwks.json`.
        """
        clients = frozenset(app_client_ids) if app_client_ids is not None else None
        return cls(user_pool_id, JsonWebKeySet(url=jwks_url), clients)

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a valid ID or access token of this pool; AuthenticationError else."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise AuthenticationError(UNPARSABLE_JWT) from error
        kid = header.get("kid")
        # RS256 only: Cognito signs with it, and pinning the algorithm shuts out `none`
        # and HMAC-with-the-public-key forgeries.
        if header.get("alg") != "RS256" or not isinstance(kid, str):
            raise AuthenticationError(INVALID_JWT)
        key = self.jwks.signing_key(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                issuer=self.issuer,
                leeway=self.leeway_seconds,
                # Cognito ID tokens carry `aud`, access tokens `client_id`: checked below.
                options={"require": ["exp", "iss", "sub", "token_use"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError as error:
            raise AuthenticationError(EXPIRED_JWT) from error
        except jwt.PyJWTError as error:
            raise AuthenticationError(INVALID_JWT) from error
        kind = claims.get("token_use")
        if kind not in ("id", "access"):
            raise AuthenticationError(INVALID_JWT)
        if self.app_client_ids is not None:
            client = claims.get("aud") if kind == "id" else claims.get("client_id")
            if client not in self.app_client_ids:
                raise AuthenticationError(INVALID_JWT)
        return claims


class Authenticator:
    """Turns a request's headers into a Principal, or refuses it (AuthenticationError)."""

    def __init__(
        self,
        *,
        user_pool: CognitoUserPool | None = None,
        api_keys: Iterable[str] = (),
    ) -> None:
        self.user_pool = user_pool
        self.api_keys = tuple(api_keys)

    def authenticate(self, headers: Mapping[str, str]) -> Principal:
        """`headers` with lower-case names. Authorization wins over x-api-key when both
        are present: it is the API's default mode."""
        authorization = headers.get("authorization", "").strip()
        if authorization:
            if self.user_pool is None:
                raise AuthenticationError(NO_CREDENTIALS)
            scheme, _, rest = authorization.partition(" ")
            # AppSync wants the bare token; clients that add "Bearer " are accepted too.
            token = rest.strip() if scheme.lower() == "bearer" and rest else authorization
            claims = self.user_pool.verify(token)
            return Principal(AuthMode.AMAZON_COGNITO_USER_POOLS, claims)
        api_key = headers.get("x-api-key", "").strip()
        if api_key:
            # Constant-time comparison: the key is a bearer secret.
            presented = api_key.encode()
            if not any(hmac.compare_digest(presented, known.encode()) for known in self.api_keys):
                raise AuthenticationError(API_KEY_INVALID)
            return Principal(AuthMode.API_KEY)
        raise AuthenticationError(NO_CREDENTIALS)

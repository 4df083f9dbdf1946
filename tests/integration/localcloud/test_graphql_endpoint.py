"""The local AppSync over real HTTP: tokens signed with keys generated here and served from
a JWKS endpoint, an API key, a fake resolver Lambda; and once with moto's Cognito tokens."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from localcloud.appsync import server as server_module
from localcloud.graphql_endpoint import (
    AppSyncApi,
    Authenticator,
    CognitoUserPool,
    GraphQLServer,
    JsonWebKeySet,
    start_graphql_endpoint,
)
from stacks.constants import REPO_ROOT, SCHEMA_FILE

REGION = "us-east-1"
POOL_ID = f"{REGION}_LocalPool"
OTHER_POOL_ID = f"{REGION}_OtherPool"
CLIENT_ID = "local-app-client"
API_KEY = "da2-localtestkey"

PROFILE = {
    "username": "ann",
    "type": "PARENT",
    "firstName": "Ann",
    "lastName": "Lee",
    "email": "ann@example.com",
    "ratingCount": 0,
    "createdOn": "2024-01-01T10:00:00Z",
}


def issuer(pool_id: str) -> str:
    return f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}"


class UserPoolKeys:
    """A user pool's signing key, minting Cognito-shaped ID and access tokens."""

    def __init__(self, pool_id: str, kid: str) -> None:
        self.pool_id = pool_id
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        return {"keys": [{**jwk, "kid": self.kid, "alg": "RS256", "use": "sig"}]}

    def token(self, kind: str = "id", groups: tuple[str, ...] = (), **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": "5d0c1a4e-sub",
            "iss": issuer(self.pool_id),
            "token_use": kind,
            "iat": now,
            "auth_time": now,
            "exp": now + 3600,
        }
        if kind == "id":
            claims |= {"aud": CLIENT_ID, "cognito:username": "ann", "email": "ann@example.com"}
        else:
            claims |= {"client_id": CLIENT_ID, "username": "ann"}
        if groups:
            claims["cognito:groups"] = list(groups)
        claims |= overrides
        return jwt.encode(claims, self.private, algorithm="RS256", headers={"kid": self.kid})


POOL = UserPoolKeys(POOL_ID, "local-key-1")
OTHER_POOL = UserPoolKeys(OTHER_POOL_ID, "other-key-1")


class JwksServer:
    """Serves a JWKS document on 127.0.0.1 and counts the fetches."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        body = json.dumps(document).encode()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.hits += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.hits = 0
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{POOL_ID}/.well-known/jwks.json"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class FakeLambda:
    """The resolver Lambda, in-process: canned answers, every event recorded."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def __call__(self, function: str, event: dict[str, Any]) -> Any:
        with self.lock:
            self.events.append(json.loads(json.dumps(event)))  # as a Lambda receives it
        field = event["info"]["fieldName"]
        if field == "getUser":
            return PROFILE
        if field == "listUser":
            return {"items": [PROFILE], "nextToken": None}
        if field == "bookNanny":
            return {"errorType": "JobNotOpen", "errorMessage": "The job is closed."}
        if field == "deleteUser":
            raise RuntimeError("worker crashed")
        return None


@pytest.fixture(scope="module")
def jwks_server() -> Iterator[JwksServer]:
    server = JwksServer(POOL.jwks())
    yield server
    server.stop()


@pytest.fixture(scope="module")
def fake_lambda() -> FakeLambda:
    return FakeLambda()


@pytest.fixture(scope="module")
def endpoint(
    jwks_server: JwksServer, fake_lambda: FakeLambda, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GraphQLServer]:
    resolvers = {
        ("Query", "getUser"): "ApiFunction",
        ("Query", "listUser"): "ApiFunction",
        ("Mutation", "bookNanny"): "ApiFunction",
        ("Mutation", "deleteUser"): "ApiFunction",
    }
    pool = CognitoUserPool(POOL_ID, JsonWebKeySet(url=jwks_server.url), frozenset({CLIENT_ID}))
    server = start_graphql_endpoint(
        schema_sdl=SCHEMA_FILE.read_text(),
        resolvers=resolvers,
        invoke=fake_lambda,
        user_pool=pool,
        api_keys=[API_KEY],
        port=0,
        node_modules=tmp_path_factory.mktemp("no-node-modules"),
    )
    yield server
    server.stop()


def urlopen(request: urllib.request.Request | str, timeout: float = 10) -> Any:
    """urllib's urlopen, for http://127.0.0.1 URLs this module builds itself."""
    return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310


def post(
    url: str, query: str, headers: Mapping[str, str], variables: Mapping[str, Any] | None = None
) -> tuple[int, dict[str, Any], Mapping[str, str]]:
    body = json.dumps({"query": query, "variables": variables}).encode()
    request = urllib.request.Request(  # noqa: S310 - a 127.0.0.1 URL
        url, data=body, headers={"Content-Type": "application/json", **headers}, method="POST"
    )
    try:
        with urlopen(request) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), dict(error.headers)


GET_USER = '{ getUser(username: "ann") { username firstName lastName email } }'
LIST_USER = "{ listUser(type: NANNY) { items { username email } nextToken } }"


# --- Cognito tokens ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["id", "access"])
def test_a_valid_token_reads_everything_and_reaches_the_lambda_as_identity(
    endpoint: GraphQLServer, fake_lambda: FakeLambda, kind: str
) -> None:
    token = POOL.token(kind, groups=("parent",))
    status, body, headers = post(endpoint.graphql_url, GET_USER, {"Authorization": token})
    assert status == 200
    assert body == {
        "data": {
            "getUser": {
                "username": "ann",
                "firstName": "Ann",
                "lastName": "Lee",
                "email": "ann@example.com",
            }
        }
    }
    assert headers["x-amzn-RequestId"]
    identity = fake_lambda.events[-1]["identity"]
    assert identity["username"] == "ann"
    assert identity["groups"] == ["parent"]
    assert identity["issuer"] == issuer(POOL_ID)
    assert identity["claims"]["token_use"] == kind
    assert identity["sourceIp"] == ["127.0.0.1"]
    assert fake_lambda.events[-1]["request"]["headers"]["authorization"] == token


def test_bearer_prefixed_tokens_are_accepted(endpoint: GraphQLServer) -> None:
    status, body, _ = post(
        endpoint.graphql_url, GET_USER, {"Authorization": f"Bearer {POOL.token()}"}
    )
    assert (status, body["data"]["getUser"]["username"]) == (200, "ann")


REFUSED = [
    ("expired", POOL.token(exp=int(time.time()) - 60), "Token has expired."),
    (
        "tampered signature",
        POOL.token()[:-6] + ("AAAAAA" if not POOL.token().endswith("AAAAAA") else "BBBBBB"),
        "Valid authorization header not provided.",
    ),
    # Another pool's token, signed by that pool's own key.
    ("another pool", OTHER_POOL.token(), "Valid authorization header not provided."),
    # Signed with this pool's key but issued for another pool (moto signs every pool with
    # one key, so only the issuer tells them apart there).
    (
        "another pool's issuer",
        POOL.token(iss=issuer(OTHER_POOL_ID)),
        "Valid authorization header not provided.",
    ),
    (
        "another client",
        POOL.token(aud="someone-elses-client"),
        "Valid authorization header not provided.",
    ),
    (
        "another client (access)",
        POOL.token("access", client_id="someone-elses-client"),
        "Valid authorization header not provided.",
    ),
]


@pytest.mark.parametrize(("case", "token", "message"), REFUSED, ids=[c[0] for c in REFUSED])
def test_invalid_tokens_get_401(
    endpoint: GraphQLServer, fake_lambda: FakeLambda, case: str, token: str, message: str
) -> None:
    before = len(fake_lambda.events)
    status, body, _ = post(endpoint.graphql_url, GET_USER, {"Authorization": token})
    assert status == 401
    assert body == {"errors": [{"errorType": "UnauthorizedException", "message": message}]}
    assert len(fake_lambda.events) == before


def test_the_pools_keys_are_fetched_once(endpoint: GraphQLServer, jwks_server: JwksServer) -> None:
    for _ in range(5):
        post(endpoint.graphql_url, GET_USER, {"Authorization": POOL.token()})
    assert jwks_server.hits == 1


# --- groups and field rules ----------------------------------------------------------------


def test_a_group_restricted_field_refuses_other_groups(
    endpoint: GraphQLServer, fake_lambda: FakeLambda
) -> None:
    before = len(fake_lambda.events)
    status, body, _ = post(
        endpoint.graphql_url, LIST_USER, {"Authorization": POOL.token(groups=("nanny",))}
    )
    assert status == 200  # a field refusal is a GraphQL error, not an HTTP one
    assert body["data"] is None
    assert body["errors"] == [
        {
            "path": ["listUser"],
            "data": None,
            "errorType": "Unauthorized",
            "errorInfo": None,
            "locations": [{"line": 1, "column": 3, "sourceName": None}],
            "message": "Not Authorized to access listUser on type Query",
        }
    ]
    assert len(fake_lambda.events) == before

    status, body, _ = post(
        endpoint.graphql_url, LIST_USER, {"Authorization": POOL.token(groups=("parent",))}
    )
    assert body == {
        "data": {
            "listUser": {
                "items": [{"username": "ann", "email": "ann@example.com"}],
                "nextToken": None,
            }
        }
    }


# --- API key -------------------------------------------------------------------------------


def test_api_key_reads_public_fields_and_private_ones_are_null_with_errors(
    endpoint: GraphQLServer, fake_lambda: FakeLambda
) -> None:
    status, body, _ = post(endpoint.graphql_url, GET_USER, {"x-api-key": API_KEY})
    assert status == 200
    assert body["data"] == {
        "getUser": {"username": "ann", "firstName": "Ann", "lastName": None, "email": None}
    }
    assert [(e["path"], e["errorType"], e["message"]) for e in body["errors"]] == [
        (["getUser", "lastName"], "Unauthorized", "Not Authorized to access lastName on type User"),
        (["getUser", "email"], "Unauthorized", "Not Authorized to access email on type User"),
    ]
    assert fake_lambda.events[-1]["identity"] is None


def test_api_key_cannot_call_user_pool_operations(endpoint: GraphQLServer) -> None:
    status, body, _ = post(endpoint.graphql_url, LIST_USER, {"x-api-key": API_KEY})
    assert status == 200
    assert body["errors"][0]["message"] == "Not Authorized to access listUser on type Query"


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"x-api-key": "da2-wrong"}, "You are not authorized to make this call."),
        ({}, "Valid authorization header not provided."),
    ],
)
def test_wrong_or_missing_credentials_get_401(
    endpoint: GraphQLServer, headers: dict[str, str], message: str
) -> None:
    status, body, _ = post(endpoint.graphql_url, GET_USER, headers)
    assert status == 401
    assert body == {"errors": [{"errorType": "UnauthorizedException", "message": message}]}


# --- the resolver contract -----------------------------------------------------------------


def test_domain_errors_and_lambda_failures_reach_the_client_typed(endpoint: GraphQLServer) -> None:
    parent = {"Authorization": POOL.token(groups=("parent",))}
    _, body, _ = post(
        endpoint.graphql_url,
        'mutation { bookNanny(jobId: "j", applicationId: "a") { id } }',
        parent,
    )
    assert body["data"] is None
    assert (body["errors"][0]["errorType"], body["errors"][0]["message"]) == (
        "JobNotOpen",
        "The job is closed.",
    )
    _, body, _ = post(
        endpoint.graphql_url, 'mutation { deleteUser(username: "ann") { username } }', parent
    )
    assert (body["errors"][0]["errorType"], body["errors"][0]["message"]) == (
        "Lambda:Unhandled",
        "worker crashed",
    )


# --- HTTP and the page ---------------------------------------------------------------------


def get(url: str) -> tuple[int, bytes, Mapping[str, str]]:
    try:
        with urlopen(url) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def test_cors_preflight_allows_the_auth_headers(endpoint: GraphQLServer) -> None:
    request = urllib.request.Request(  # noqa: S310 - a 127.0.0.1 URL
        endpoint.graphql_url,
        method="OPTIONS",
        headers={
            "Origin": "http://localhost:3000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, x-api-key, content-type",
        },
    )
    with urlopen(request) as response:
        assert response.status == 204
        allowed = response.headers["Access-Control-Allow-Headers"].lower()
        assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert {"authorization", "x-api-key", "content-type"} <= {
        name.strip() for name in allowed.split(",")
    }


def test_a_chunked_body_is_refused_and_the_connection_closed(endpoint: GraphQLServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", endpoint.port, timeout=10)
    try:
        connection.request(
            "POST",
            "/graphql",
            body=iter([b'{"query": "{ __typename }"}']),
            headers={"x-api-key": API_KEY, "Transfer-Encoding": "chunked"},
        )
        response = connection.getresponse()
        assert response.status == 411
        assert response.getheader("Connection") == "close"
    finally:
        connection.close()


def test_graphql_takes_post_only(endpoint: GraphQLServer) -> None:
    status, _, headers = get(endpoint.graphql_url)
    assert status == 405
    assert headers["Allow"] == "POST, OPTIONS"


def test_the_page_and_its_own_assets_are_served_from_this_server(endpoint: GraphQLServer) -> None:
    status, html, headers = get(endpoint.url + "/")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    # The browser may load nothing from elsewhere: no CDN.
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    page = html.decode()
    assert "https://" not in page
    assert "http://" not in page
    for asset in ("/graphiql/app.js", "/graphiql/app.css"):
        assert get(endpoint.url + asset)[0] == 200
    status, schema, _ = get(endpoint.url + "/graphiql/introspection.json")
    assert status == 200
    assert json.loads(schema)["__schema"]["queryType"]["name"] == "Query"


def test_missing_npm_assets_are_404_and_paths_cannot_escape(endpoint: GraphQLServer) -> None:
    # This endpoint points at an empty node_modules: the page falls back to its plain editor.
    assert get(endpoint.url + "/vendor/graphiql.js")[0] == 404
    assert get(endpoint.url + "/vendor/../../pyproject.toml")[0] == 404
    assert get(endpoint.url + "/graphiql/../graphql_endpoint.py")[0] == 404


def test_graphiql_assets_come_from_node_modules() -> None:
    api = AppSyncApi(
        SCHEMA_FILE.read_text(), invoke=FakeLambda(), resolvers={}, authenticator=Authenticator()
    )
    with GraphQLServer(api, port=0, node_modules=REPO_ROOT / "node_modules") as server:
        for asset in ("react.js", "react-dom.js", "graphiql.js", "graphiql.css"):
            status, content, _ = get(f"{server.url}/vendor/{asset}")
            assert status == 200
            assert content


def test_the_server_binds_loopback_only_and_stops_cleanly() -> None:
    api = AppSyncApi(
        SCHEMA_FILE.read_text(), invoke=FakeLambda(), resolvers={}, authenticator=Authenticator()
    )
    with pytest.raises(ValueError, match="loopback"):
        GraphQLServer(api, host="0.0.0.0", port=0)  # noqa: S104 - the refusal under test
    server = GraphQLServer(api, port=0).start()
    url = server.url + "/health"
    assert get(url)[0] == 200
    server.stop()
    server.stop()  # idempotent
    with pytest.raises(urllib.error.URLError):
        urlopen(url, timeout=2)


def test_answers_are_sent_with_nagles_algorithm_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """The head and the body leave in two writes: with Nagle on, the body would wait for
    the client's delayed ACK, up to 40 ms per request on a keep-alive connection."""
    delays: list[int] = []
    setup = server_module._Handler.setup

    def recording_setup(handler: Any) -> None:
        setup(handler)
        delays.append(handler.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    monkeypatch.setattr(server_module._Handler, "setup", recording_setup)
    api = AppSyncApi(
        SCHEMA_FILE.read_text(), invoke=FakeLambda(), resolvers={}, authenticator=Authenticator()
    )
    server = GraphQLServer(api, port=0).start()
    try:
        assert get(server.url + "/health")[0] == 200
    finally:
        server.stop()
    assert delays
    assert all(delays)


# --- moto's Cognito: real tokens, real JWKS ---------------------------------------------------


def test_moto_cognito_tokens_authenticate_against_its_jwks(
    cognito: Any, moto_endpoint: str, tmp_path: Path
) -> None:
    pool_id = cognito.create_user_pool(PoolName="graphql-endpoint")["UserPool"]["Id"]
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="app",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    cognito.create_group(UserPoolId=pool_id, GroupName="parent")
    password = "Correct-Horse-9-Battery"
    cognito.sign_up(
        ClientId=client_id,
        Username="maria",
        Password=password,
        UserAttributes=[{"Name": "email", "Value": "maria@example.com"}],
    )
    cognito.admin_confirm_sign_up(UserPoolId=pool_id, Username="maria")
    cognito.admin_add_user_to_group(UserPoolId=pool_id, Username="maria", GroupName="parent")
    tokens = cognito.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "maria", "PASSWORD": password},
    )["AuthenticationResult"]
    # moto issues RS256 tokens with AWS's issuer URL, whatever its own endpoint.
    assert jwt.decode(tokens["IdToken"], options={"verify_signature": False})["iss"] == (
        f"https://cognito-idp.{pool_id.split('_')[0]}.amazonaws.com/{pool_id}"
    )

    fake = FakeLambda()
    pool = CognitoUserPool.from_jwks_url(
        pool_id, f"{moto_endpoint}/{pool_id}/.well-known/jwks.json", [client_id]
    )
    server = start_graphql_endpoint(
        schema_sdl=SCHEMA_FILE.read_text(),
        resolvers={("Query", "listUser"): "ApiFunction"},
        invoke=fake,
        user_pool=pool,
        port=0,
        node_modules=tmp_path,
    )
    try:
        for token in (tokens["IdToken"], tokens["AccessToken"]):
            status, body, _ = post(server.graphql_url, LIST_USER, {"Authorization": token})
            assert status == 200, body
            assert body["data"]["listUser"]["items"][0]["username"] == "ann"
            assert fake.events[-1]["identity"]["username"] == "maria"
            assert fake.events[-1]["identity"]["groups"] == ["parent"]
        # A token of another moto pool is signed with the same key: the issuer refuses it.
        other_pool = cognito.create_user_pool(PoolName="another")["UserPool"]["Id"]
        other_client = cognito.create_user_pool_client(
            UserPoolId=other_pool, ClientName="app", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
        )["UserPoolClient"]["ClientId"]
        cognito.admin_create_user(UserPoolId=other_pool, Username="eve", TemporaryPassword=password)
        cognito.admin_set_user_password(
            UserPoolId=other_pool, Username="eve", Password=password, Permanent=True
        )
        foreign = cognito.initiate_auth(
            ClientId=other_client,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "eve", "PASSWORD": password},
        )["AuthenticationResult"]["IdToken"]
        status, body, _ = post(server.graphql_url, LIST_USER, {"Authorization": foreign})
        assert status == 401
    finally:
        server.stop()

"""The local AppSync over HTTP: `POST /graphql`, and a GraphiQL page at `/`.

    with GraphQLServer(api, port=0) as server:      # 0: any free port
        urllib.request.urlopen(server.graphql_url, data=b'{"query": "{ __typename }"}')

Binds a loopback address only (the endpoint is for this machine). The page's assets are
served from this server: our own files in `localcloud/graphiql/`, and the UMD builds of
the npm packages graphiql, react and react-dom from `node_modules`. Without those packages
the page falls back to a plain query editor.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
from collections.abc import Mapping
from functools import cached_property
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final, Self

from graphql import introspection_from_schema

from localcloud.appsync.engine import MAX_BODY_BYTES, AppSyncApi, HttpResponse
from localcloud.service import Service

__all__ = ["DEFAULT_PORT", "GRAPHIQL_ASSETS", "PAGE_DIR", "GraphQLServer"]

log = logging.getLogger(__name__)

DEFAULT_PORT: Final = 4000
PROJECT_ROOT: Final = Path(__file__).resolve().parents[2]
PAGE_DIR: Final = PROJECT_ROOT / "localcloud" / "graphiql"

# URL path -> file inside node_modules. A fixed table, so no request path ever reaches the
# file system: nothing outside these files can be read through the server.
GRAPHIQL_ASSETS: Final[Mapping[str, str]] = {
    "/vendor/react.js": "react/umd/react.production.min.js",
    "/vendor/react-dom.js": "react-dom/umd/react-dom.production.min.js",
    "/vendor/graphiql.js": "graphiql/graphiql.min.js",
    "/vendor/graphiql.css": "graphiql/graphiql.min.css",
}
_PAGE_FILES: Final[Mapping[str, str]] = {
    "/": "index.html",
    "/index.html": "index.html",
    "/graphiql/app.js": "app.js",
    "/graphiql/app.css": "app.css",
}
_CONTENT_TYPES: Final = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
# The page may load nothing from elsewhere; GraphiQL's CSS inlines its fonts as data: URLs
# and React sets inline styles.
_PAGE_CSP: Final = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; font-src 'self' data:; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
# What browsers may send cross-origin: AppSync's auth headers and the SDKs' extras.
_CORS_HEADERS: Final = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, GET, OPTIONS",
    "Access-Control-Allow-Headers": (
        "Content-Type, Authorization, X-Api-Key, X-Amz-Date, X-Amz-Security-Token, X-Amz-User-Agent"
    ),
    "Access-Control-Expose-Headers": "x-amzn-RequestId",
    "Access-Control-Max-Age": "86400",
}


class _Handler(BaseHTTPRequestHandler):
    """One request. The server object carries the API and the asset locations."""

    server: _HTTPServer
    protocol_version = "HTTP/1.1"  # keep-alive, as browsers and SDKs expect
    server_version = "LocalAppSync"
    # The head and the body leave in two writes: with Nagle's algorithm on, the body waits
    # for the ACK of the head, which a keep-alive client delays by up to 40 ms.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        # The access log goes to logging (debug), not stderr: tests and `make up` stay quiet.
        log.debug("%s %s", self.address_string(), format % args)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in {**_CORS_HEADERS, **(extra_headers or {})}.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")  # tell the client not to reuse it
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, body: Any, extra: Mapping[str, str] | None = None) -> None:
        payload = json.dumps(body, separators=(",", ":")).encode()
        self._send(status, payload, "application/json; charset=UTF-8", extra)

    def do_OPTIONS(self) -> None:
        """CORS preflight: browsers ask before POSTing JSON with auth headers."""
        self.send_response(HTTPStatus.NO_CONTENT)
        for name, value in _CORS_HEADERS.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        if path != "/graphql":
            self._send_json(HTTPStatus.NOT_FOUND, {"errors": [{"message": "Not found."}]})
            return
        if self.headers.get("Transfer-Encoding"):
            # Chunked bodies are not read here; browsers and SDKs send a Content-Length.
            self.close_connection = True
            self._send_json(
                HTTPStatus.LENGTH_REQUIRED,
                {"errors": [{"errorType": "BadRequestException", "message": "Length required."}]},
            )
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            self.close_connection = True  # the body was not read: the stream is unusable
            self._send_json(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE if length > 0 else HTTPStatus.BAD_REQUEST,
                {"errors": [{"errorType": "BadRequestException", "message": "Bad body length."}]},
            )
            return
        body = self.rfile.read(length)
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            response: HttpResponse = self.server.api.handle_http(
                body, headers, self.client_address[0]
            )
        except Exception:
            # A bug here must still answer the client (and keep serving others).
            log.exception("POST /graphql failed")
            self._send_json(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                {"errors": [{"errorType": "InternalFailure", "message": "Internal failure."}]},
            )
            return
        self._send_json(response.status, response.body, {"x-amzn-RequestId": response.request_id})

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/graphql":
            # AppSync's endpoint takes POST only.
            self._send_json(
                HTTPStatus.METHOD_NOT_ALLOWED,
                {"errors": [{"message": "Use POST with a JSON body."}]},
                {"Allow": "POST, OPTIONS"},
            )
        elif path == "/health":
            self._send_json(HTTPStatus.OK, {"status": "ok"})
        elif path == "/graphiql/introspection.json":
            self._send(HTTPStatus.OK, self.server.introspection, "application/json")
        elif path in _PAGE_FILES:
            self._send_file(PAGE_DIR / _PAGE_FILES[path])
        elif path in GRAPHIQL_ASSETS and self.server.node_modules is not None:
            self._send_file(self.server.node_modules / GRAPHIQL_ASSETS[path])
        else:
            self._send_json(HTTPStatus.NOT_FOUND, {"errors": [{"message": "Not found."}]})

    def do_HEAD(self) -> None:
        self.do_GET()  # _send leaves the body out for HEAD

    def _send_file(self, file: Path) -> None:
        try:
            content = file.read_bytes()
        except OSError:
            self._send_json(HTTPStatus.NOT_FOUND, {"errors": [{"message": "Not installed."}]})
            return
        headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
        if file.suffix == ".html":
            headers["Content-Security-Policy"] = _PAGE_CSP
        content_type = _CONTENT_TYPES.get(file.suffix, "application/octet-stream")
        self._send(HTTPStatus.OK, content, content_type, headers)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # a hung client must not keep the process alive on shutdown
    allow_reuse_address = True
    # socketserver's default backlog of 5 resets connections under a burst of clients.
    request_queue_size = 128

    def __init__(
        self, address: tuple[str, int], api: AppSyncApi, node_modules: Path | None
    ) -> None:
        super().__init__(address, _Handler)
        self.api = api
        self.node_modules = node_modules

    @cached_property
    def introspection(self) -> bytes:
        # The schema is public in the repository; serving it lets the page's explorer and
        # autocompletion work before the user has pasted a credential.
        return json.dumps(introspection_from_schema(self.api.schema)).encode()


class GraphQLServer(Service):
    """Serves an AppSyncApi on http://HOST:PORT/graphql in a background thread."""

    def __init__(
        self,
        api: AppSyncApi,
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        node_modules: Path | None = PROJECT_ROOT / "node_modules",
    ) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the local AppSync binds a loopback address only, not {host}")
        self._httpd = _HTTPServer((host, port), api, node_modules)
        self._thread: threading.Thread | None = None
        self._serving = False

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def graphql_url(self) -> str:
        return f"{self.url}/graphql"

    def start(self) -> Self:
        """Serve in a daemon thread; returns at once, the socket already listening."""
        if self._thread is None:
            self._serving = True
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, name=f"appsync-{self.port}", daemon=True
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until stop() is called from another (or Ctrl-C)."""
        self._serving = True
        self._httpd.serve_forever()

    def stop(self) -> None:
        """Stop accepting requests and close the socket; idempotent."""
        if self._serving:
            self._serving = False
            self._httpd.shutdown()  # waits for the serve_forever loop to exit
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._httpd.server_close()

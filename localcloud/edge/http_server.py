"""A threaded HTTP/1.1 server that can be stopped cleanly, with keep-alive connections open.

The standard library's ``ThreadingHTTPServer`` gives a thread per connection, but
``shutdown()`` only stops accepting: a thread waiting on an idle keep-alive connection
(botocore keeps them for minutes) waits on. :class:`HttpServer` tracks its connections
and, when stopped, shuts their sockets so every thread sees end-of-file and returns.

The application is one callable, ``handle(request) -> Response | StreamingResponse``.

Usage::

    server = HttpServer("127.0.0.1", 0, handle)
    server.start()
    ...  # server.port
    server.stop()
"""

from __future__ import annotations

import contextlib
import http.server
import logging
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Final
from urllib.parse import urlsplit

__all__ = ["HttpServer", "Request", "Response", "StreamingResponse"]

log = logging.getLogger(__name__)

# Bodies up to this size are sent in the same write as the headers: one segment, so
# Nagle and delayed ACKs cannot add 40 ms between the two.
_SINGLE_WRITE_LIMIT: Final = 1 << 20
_MAX_CHUNK_LINE: Final = 1024


@dataclass
class Request:
    """One HTTP request as received.

    ``target`` is the path with its query (``/?Action=…``); ``host`` comes from the
    absolute request URI when the client used the router as an HTTP proxy, else from
    the ``Host`` header.
    """

    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes
    host: str

    @property
    def path(self) -> str:
        """The target without its query."""
        return self.target.partition("?")[0]

    @property
    def query(self) -> str:
        """The raw query string, without ``?``."""
        return self.target.partition("?")[2]

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (case-insensitive), or None."""
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    def header_map(self) -> dict[str, str]:
        """Headers by lower-cased name (the first of repeated ones)."""
        mapping: dict[str, str] = {}
        for key, value in self.headers:
            mapping.setdefault(key.lower(), value)
        return mapping


@dataclass
class Response:
    """A complete answer."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


@dataclass
class StreamingResponse:
    """An answer whose body arrives in chunks (a proxied backend's).

    ``length`` is the body's Content-Length if known; without it the body is sent
    chunked. ``close`` runs once the body is sent or abandoned.
    """

    status: int
    headers: list[tuple[str, str]]
    chunks: Iterator[bytes]
    length: int | None
    close: Callable[[], None]


Handler = Callable[[Request], "Response | StreamingResponse"]


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    # Threads are tracked and joined by HttpServer itself, with a deadline.
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], owner: HttpServer) -> None:
        self.owner = owner
        super().__init__(address, _RequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name=f"edge-connection-{client_address[1]}",
            daemon=True,
        )
        if not self.owner.track(request, thread):
            self.shutdown_request(request)  # stopping: no new connections
            return
        thread.start()

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.owner.untrack(request)


class _RequestHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "localcloud-edge"
    sys_version = ""
    disable_nagle_algorithm = True
    server: _Server

    def handle_one_request(self) -> None:
        # BaseHTTPRequestHandler dispatches to do_<METHOD>; every method is handled alike.
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if len(self.raw_requestline) > 65536:
                self.send_error(HTTPStatus.REQUEST_URI_TOO_LONG)
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():
                return
            self._serve()
            self.wfile.flush()
        except (TimeoutError, ConnectionError, OSError) as error:
            log.debug("connection ended: %s", error)
            self.close_connection = True
        except Exception:
            # A backend failing mid-body, after the headers went out: the only honest
            # signal left is to end the connection, which clients treat as retryable.
            log.exception("%s %s failed while answering", self.command, self.path)
            self.close_connection = True

    def _serve(self) -> None:
        target, host = self.path, self.headers.get("Host", "")
        if "://" in target[:10]:
            # Absolute form (RFC 9112 §3.2.2): the client uses us as its HTTP proxy, so
            # e.g. "http://sync-127.0.0.1:4566/" reaches us despite the prefix.
            parts = urlsplit(target)
            host = parts.netloc
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = [
            (name, host if name.lower() == "host" else value)
            for name, value in self.headers.items()
        ]
        if not any(name.lower() == "host" for name, _ in headers) and host:
            headers.append(("Host", host))
        try:
            body = self._read_body()
        except ValueError as error:
            self._write(Response(400, [("Content-Type", "text/plain")], str(error).encode()))
            self.close_connection = True
            return
        request = Request(self.command, target, headers, body, host)
        try:
            answer = self.server.owner.handler(request)
        except Exception as error:  # a bug in the handler must still answer the client
            log.exception("%s %s failed", self.command, target)
            answer = Response(
                500,
                [("Content-Type", "application/json")],
                b'{"__type": "InternalFailure", "message": "%s"}' % type(error).__name__.encode(),
            )
        if isinstance(answer, StreamingResponse):
            self._write_streaming(answer)
        else:
            self._write(answer)

    def _read_body(self) -> bytes:
        encoding = self.headers.get("Transfer-Encoding", "").lower()
        if "chunked" in encoding:
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            size = int(length)
        except ValueError:
            raise ValueError(f"bad Content-Length: {length!r}") from None
        if size < 0:
            raise ValueError(f"bad Content-Length: {length!r}")
        return self.rfile.read(size)

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            line = self.rfile.readline(_MAX_CHUNK_LINE)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise ValueError("bad chunked body") from None
            if size == 0:
                while self.rfile.readline(_MAX_CHUNK_LINE) not in (b"\r\n", b"\n", b""):
                    pass  # trailers: not forwarded
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline(_MAX_CHUNK_LINE)  # the CRLF after each chunk

    def _status_line(self, status: int) -> bytes:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
        return f"HTTP/1.1 {status} {reason}\r\n".encode("latin-1")

    def _head(self, status: int, headers: list[tuple[str, str]], extra: list[str]) -> bytes:
        lines = [f"{name}: {value}\r\n" for name, value in headers]
        lines.extend(extra)
        if self.close_connection:
            lines.append("Connection: close\r\n")
        return self._status_line(status) + "".join(lines).encode("latin-1") + b"\r\n"

    def _write(self, response: Response) -> None:
        body = b"" if self.command == "HEAD" else response.body
        extra = (
            []
            if _has(response.headers, "content-length")
            else [f"Content-Length: {len(response.body)}\r\n"]
        )
        head = self._head(response.status, response.headers, extra)
        if len(body) <= _SINGLE_WRITE_LIMIT:
            self.wfile.write(head + body)
        else:
            self.wfile.write(head)
            self.wfile.write(body)

    def _write_streaming(self, response: StreamingResponse) -> None:
        try:
            no_body = (
                self.command == "HEAD"
                or response.status in (204, 304)
                or (100 <= response.status < 200)
            )
            if no_body:
                extra = (
                    [] if response.length is None else [f"Content-Length: {response.length}\r\n"]
                )
                self.wfile.write(self._head(response.status, response.headers, extra))
                return
            if response.length is not None:
                self._write_known_length(response)
            elif self.request_version == "HTTP/1.1":
                self._write_chunked(response)
            else:  # an HTTP/1.0 client: the end of the connection ends the body
                self.close_connection = True
                self.wfile.write(self._head(response.status, response.headers, []))
                for chunk in response.chunks:
                    self.wfile.write(chunk)
        finally:
            response.close()

    def _write_known_length(self, response: StreamingResponse) -> None:
        head = self._head(
            response.status, response.headers, [f"Content-Length: {response.length}\r\n"]
        )
        length = response.length or 0
        if length <= _SINGLE_WRITE_LIMIT:
            self.wfile.write(head + b"".join(response.chunks))
            return
        self.wfile.write(head)
        for chunk in response.chunks:
            self.wfile.write(chunk)

    def _write_chunked(self, response: StreamingResponse) -> None:
        self.wfile.write(
            self._head(response.status, response.headers, ["Transfer-Encoding: chunked\r\n"])
        )
        for chunk in response.chunks:
            if chunk:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


def _has(headers: list[tuple[str, str]], name: str) -> bool:
    return any(key.lower() == name for key, _ in headers)


class HttpServer:
    """Serve ``handler`` on ``host:port`` (0: a free port) until :meth:`stop`."""

    def __init__(self, host: str, port: int, handler: Handler) -> None:
        self.handler = handler
        self._address = (host, port)
        self._server: _Server | None = None
        self._accept_thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._connections: dict[Any, threading.Thread] = {}
        self._stopping = False

    @property
    def port(self) -> int:
        """The port listened on (after :meth:`start`)."""
        if self._server is None:
            raise RuntimeError("the server is not running")
        port: int = self._server.server_address[1]
        return port

    def start(self) -> None:
        """Bind and start accepting in a background thread.

        Raises:
            OSError: the address is taken.
        """
        self._stopping = False
        server = self._server = _Server(self._address, self)
        self._accept_thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"edge-accept-{self.port}",
            daemon=True,
        )
        self._accept_thread.start()

    def track(self, connection: Any, thread: threading.Thread) -> bool:
        """Register a new connection's thread; False once stopping."""
        with self._lock:
            if self._stopping:
                return False
            self._connections[connection] = thread
            return True

    def untrack(self, connection: Any) -> None:
        """Forget a finished connection."""
        with self._lock:
            self._connections.pop(connection, None)

    def stop(self, timeout: float = 5.0) -> list[threading.Thread]:
        """Stop accepting, end every connection, and join the threads.

        Returns the connection threads still running after ``timeout`` seconds (a
        request still waiting on its backend); they are daemons and end with it.
        """
        server, self._server = self._server, None
        if server is None:
            return []
        with self._lock:
            self._stopping = True
        server.shutdown()  # returns once serve_forever has left its loop
        server.server_close()
        if self._accept_thread is not None:
            self._accept_thread.join(timeout)
        with self._lock:
            connections = dict(self._connections)
        for connection in connections:
            # Wakes a thread blocked reading the next request off an idle connection.
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for thread in connections.values():
            thread.join(max(0.0, deadline - time.monotonic()))
        return [thread for thread in connections.values() if thread.is_alive()]

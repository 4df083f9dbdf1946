"""The edge router's HTTP server: keep-alive, chunked bodies, proxy-form targets, clean stop."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from localcloud.edge.http_server import HttpServer, Request, Response, StreamingResponse


class Echo:
    """Answers with what it received; streams when the path is /stream."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.closed = threading.Event()

    def __call__(self, request: Request) -> Response | StreamingResponse:
        self.requests.append(request)
        if request.path == "/stream":
            return StreamingResponse(
                200,
                [("Content-Type", "text/plain")],
                iter([b"ab", b"", b"cd"]),
                None,
                self.closed.set,
            )
        return Response(200, [("Content-Type", "text/plain")], request.body)


@pytest.fixture
def echo() -> Echo:
    return Echo()


@pytest.fixture
def server(echo: Echo) -> Iterator[HttpServer]:
    running = HttpServer("127.0.0.1", 0, echo)
    running.start()
    yield running
    running.stop()


def test_requests_share_one_keep_alive_connection(server: HttpServer, echo: Echo) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        for body in (b"one", b"two"):
            connection.request("POST", "/?x=1", body=body)
            answer = connection.getresponse()
            assert (answer.status, answer.read()) == (200, body)
    finally:
        connection.close()

    assert [request.query for request in echo.requests] == ["x=1", "x=1"]


def test_a_chunked_request_body_is_read_whole(server: HttpServer) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        connection.request("POST", "/", body=iter([b"abc", b"def"]), encode_chunked=True)
        assert connection.getresponse().read() == b"abcdef"
    finally:
        connection.close()


def test_a_streamed_answer_without_length_is_sent_chunked(server: HttpServer, echo: Echo) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        connection.request("GET", "/stream")
        answer = connection.getresponse()
        assert answer.getheader("Transfer-Encoding") == "chunked"
        assert answer.read() == b"abcd"
    finally:
        connection.close()
    assert echo.closed.is_set()


def test_an_absolute_target_gives_path_and_host(server: HttpServer, echo: Echo) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        raw.sendall(
            b"POST http://sync-127.0.0.1:4566/a?b=c HTTP/1.1\r\nHost: sync-127.0.0.1:4566\r\n"
            b"Content-Length: 0\r\nConnection: close\r\n\r\n"
        )
        assert raw.recv(1024).startswith(b"HTTP/1.1 200")

    (request,) = echo.requests
    assert (request.target, request.host) == ("/a?b=c", "sync-127.0.0.1:4566")


def test_stop_ends_idle_connections_and_their_threads(echo: Echo) -> None:
    server = HttpServer("127.0.0.1", 0, echo)
    server.start()
    before = set(threading.enumerate())
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    connection.request("GET", "/")
    connection.getresponse().read()  # the connection stays open, its thread waiting

    started = time.monotonic()
    leftovers = server.stop()

    assert leftovers == []
    assert time.monotonic() - started < 1.0
    assert [t for t in threading.enumerate() if t not in before and t.is_alive()] == []
    connection.close()

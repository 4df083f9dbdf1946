"""The load generator (bench.load) against a small local HTTP server: every request is
accounted for, errors are counted by kind, and a request held up behind a slow one counts
its wait from its scheduled time (no coordinated omission). No timing assertions: only
what follows from the order in which things happen."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bench.load import Endpoint, Request, closed_loop, constant_rate, error_kind

OK: dict[str, Any] = {"data": {"listAllJobs": {"items": []}}}
REFUSED: dict[str, Any] = {
    "data": None,
    "errors": [{"errorType": "Conflict", "message": "Try again."}],
}


class Server:
    """Answers POSTs with OK, then REFUSED, then HTTP 502, in turn; can hold one back."""

    def __init__(self) -> None:
        self.answers = itertools.cycle([(200, OK), (200, REFUSED), (502, {"message": "down"})])
        self.lock = threading.Lock()
        self.hold_first = threading.Event()
        self.hold_first.set()
        self.served = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                with owner.lock:
                    first = owner.served == 0
                    owner.served += 1
                    status, body = next(owner.answers)
                if first:
                    owner.hold_first.wait(10)
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def endpoint(self) -> Endpoint:
        return Endpoint.from_url(f"http://127.0.0.1:{self.httpd.server_address[1]}/graphql")


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server()
    yield running
    running.hold_first.set()
    running.httpd.shutdown()
    running.httpd.server_close()


PING = Request.graphql("ping", "{ __typename }", headers={"x-api-key": "k"})


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (200, OK, None),
        (200, REFUSED, "GraphQL Conflict"),
        (200, {"data": None, "errors": [{"message": "Syntax Error"}]}, "GraphQL error"),
        (200, {"data": None}, "GraphQL no data"),
        (401, {"errors": [{"errorType": "UnauthorizedException"}]}, "HTTP 401"),
        (200, "not json", "unreadable body"),
    ],
)
def test_error_kinds(status: int, body: Any, kind: str | None) -> None:
    raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    assert error_kind(status, raw) == kind


def test_constant_rate_accounts_for_every_request_in_schedule_order(server: Server) -> None:
    records, start = constant_rate(server.endpoint, [PING] * 9, rate=50.0, max_in_flight=4)
    assert [record.scheduled - start for record in records] == pytest.approx(
        [index / 50.0 for index in range(9)]
    )
    assert all(record.done >= record.sent >= record.scheduled for record in records)
    kinds = sorted(str(record.error) for record in records)
    assert kinds == ["GraphQL Conflict"] * 3 + ["HTTP 502"] * 3 + ["None"] * 3


def test_a_request_stuck_behind_a_slow_one_counts_its_wait(server: Server) -> None:
    server.hold_first.clear()  # the first answer waits until released
    released_at: list[float] = []

    def release_later() -> None:
        time.sleep(0.5)
        released_at.append(time.monotonic())
        server.hold_first.set()

    threading.Thread(target=release_later).start()
    # One connection: the second request cannot leave before the first is answered.
    records, _ = constant_rate(server.endpoint, [PING] * 2, rate=100.0, max_in_flight=1)
    second = records[1]
    assert second.sent >= released_at[0] > second.scheduled
    assert second.latency_ms >= (released_at[0] - second.scheduled) * 1000
    assert second.send_lag_ms > 0


def test_closed_loop_keeps_only_what_the_window_answered(server: Server) -> None:
    records, window_start = closed_loop(
        server.endpoint, lambda _worker, _n: PING, concurrency=2, duration=0.3, warmup=0.2
    )
    assert records
    assert all(record.done >= window_start for record in records)
    assert any(record.sent >= window_start for record in records)
    assert server.served > len(records)  # the warm-up's requests were sent, not kept

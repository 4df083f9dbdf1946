"""A small HTTP load generator for a GraphQL endpoint: closed loop and constant rate.

There is no vegeta or locust on this machine's package mirror, so this module plays both:

    endpoint = Endpoint.from_url("http://127.0.0.1:4000/graphql")
    request = Request.graphql("read", "{ __typename }", headers={"Authorization": token})
    records = closed_loop(endpoint, lambda worker, n: request, concurrency=8,
                          duration=15.0, warmup=2.0)                  # as fast as it answers
    records = constant_rate(endpoint, [request] * 3000, rate=50.0)   # vegeta attack -rate 50

Every request is one ``Record`` (what, when scheduled, sent, answered, and the kind of
error if any), timed with ``time.monotonic`` (never the wall clock, which NTP may step).

**Closed loop** (``closed_loop``): ``concurrency`` workers, each on its own keep-alive
connection, send requests back to back: the next leaves when the previous is answered.
It measures the throughput the endpoint sustains at that concurrency and the latency of
each request; by construction it cannot measure latency under a load the endpoint does
not keep up with (each worker waits), which is what the open loop is for.

**Constant rate** (``constant_rate``): request ``i`` is *scheduled* at ``start + i/rate``
whatever happened before, as vegeta's attack does. Its latency is measured from that
scheduled time, not from when a thread got round to sending it, so a stalled endpoint
cannot hide its stall by slowing the sender down (Gil Tene's "coordinated omission"): a
request that had to wait for a free connection counts its wait. The requests are sent by
a pool of ``max_in_flight`` threads, each with its own connection; a thread takes the
next index, sleeps until its time and sends it. ``Record.send_lag_ms`` (sent minus
scheduled) shows when the generator itself fell behind (every thread busy, or this
process short of CPU); the latency still counts from the schedule.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

__all__ = [
    "Endpoint",
    "Record",
    "Request",
    "closed_loop",
    "constant_rate",
    "error_kind",
]

#: A request that takes longer than this is an error ("timeout"), as vegeta's -timeout.
REQUEST_TIMEOUT_SECONDS: Final = 30.0


@dataclass(frozen=True)
class Endpoint:
    """Where requests go: host, port and path of an ``http://`` URL."""

    host: str
    port: int
    path: str

    @classmethod
    def from_url(cls, url: str) -> Endpoint:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"an http:// URL is needed (the local endpoint), not {url!r}")
        return cls(parts.hostname, parts.port or 80, parts.path or "/")

    def connect(self) -> http.client.HTTPConnection:
        connection = http.client.HTTPConnection(
            self.host, self.port, timeout=REQUEST_TIMEOUT_SECONDS
        )
        connection.connect()
        # Small requests on a keep-alive connection: do not let Nagle hold them back.
        if connection.sock is not None:
            connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection


@dataclass(frozen=True)
class Request:
    """One prepared POST: the body is encoded once, before the clock starts."""

    operation: str
    body: bytes
    headers: Mapping[str, str]

    @classmethod
    def graphql(
        cls,
        operation: str,
        query: str,
        variables: Mapping[str, Any] | None = None,
        *,
        headers: Mapping[str, str],
    ) -> Request:
        body = json.dumps({"query": query, "variables": dict(variables or {})}).encode()
        return cls(
            operation,
            body,
            {"Content-Type": "application/json", **headers, "Content-Length": str(len(body))},
        )


@dataclass(frozen=True)
class Record:
    """One request's fate. Times are ``time.monotonic()`` seconds."""

    operation: str
    scheduled: float
    sent: float
    done: float
    error: str | None

    @property
    def latency_ms(self) -> float:
        """From the scheduled time (closed loop: scheduled == sent) to the answer."""
        return (self.done - self.scheduled) * 1000

    @property
    def send_lag_ms(self) -> float:
        return (self.sent - self.scheduled) * 1000


def error_kind(status: int, body: bytes) -> str | None:
    """None for a GraphQL success; else a short kind: ``HTTP 502``, ``GraphQL Conflict``."""
    if status != 200:
        return f"HTTP {status}"
    try:
        document = json.loads(body)
    except ValueError:
        return "unreadable body"
    if not isinstance(document, dict):
        return "unreadable body"
    errors = document.get("errors")
    if errors:
        first = errors[0] if isinstance(errors, list) and errors else {}
        kind = first.get("errorType") if isinstance(first, dict) else None
        return f"GraphQL {kind or 'error'}"
    if document.get("data") is None:
        return "GraphQL no data"
    return None


class _Connection:
    """A worker's keep-alive connection, opened again after any failure."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self._connection: http.client.HTTPConnection | None = None

    def send(self, request: Request) -> str | None:
        """Send ``request``, read the whole answer; the error kind or None."""
        try:
            if self._connection is None:
                self._connection = self.endpoint.connect()
            self._connection.request(
                "POST", self.endpoint.path, body=request.body, headers=dict(request.headers)
            )
            response = self._connection.getresponse()
            body = response.read()
            if response.will_close:
                self.close()
            return error_kind(response.status, body)
        except TimeoutError:
            self.close()
            return "timeout"
        except (OSError, http.client.HTTPException) as error:
            self.close()
            return f"connection {type(error).__name__}"

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def closed_loop(
    endpoint: Endpoint,
    next_request: Callable[[int, int], Request],
    *,
    concurrency: int,
    duration: float,
    warmup: float,
) -> tuple[list[Record], float]:
    """``concurrency`` workers sending back to back for ``warmup`` then ``duration`` seconds.

    ``next_request(worker, n)`` gives worker ``worker``'s ``n``-th request. Returns the
    records of requests answered after the measured window opened (after the warm-up),
    including those sent just before it, and the window's start: throughput counts the
    answers inside the window, latency the requests sent inside it. A request sent before
    the window closes is waited for, so a record's ``done`` may fall after it.
    """
    started = time.monotonic()
    window_start = started + warmup
    window_end = window_start + duration
    kept: list[list[Record]] = [[] for _ in range(concurrency)]

    def work(worker: int) -> None:
        connection = _Connection(endpoint)
        mine = kept[worker]
        n = 0
        try:
            while (sent := time.monotonic()) < window_end:
                request = next_request(worker, n)
                n += 1
                error = connection.send(request)
                if (done := time.monotonic()) >= window_start:
                    mine.append(Record(request.operation, sent, sent, done, error))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=work, args=(worker,), name=f"closed-loop-{worker}")
        for worker in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [record for records in kept for record in records], window_start


def constant_rate(
    endpoint: Endpoint,
    requests: Sequence[Request],
    *,
    rate: float,
    max_in_flight: int = 64,
) -> tuple[list[Record], float]:
    """Send ``requests[i]`` at ``start + i / rate``; latency counts from that schedule.

    Returns every request's record (in schedule order) and the schedule's start. See the
    module docstring for why no request's wait is ever left out.
    """
    if rate <= 0:
        raise ValueError("rate must be positive")
    records: list[Record | None] = [None] * len(requests)
    lock = threading.Lock()
    upcoming = iter(range(len(requests)))
    start = time.monotonic() + 0.2  # every thread is up before the first request is due

    def work() -> None:
        connection = _Connection(endpoint)
        try:
            while True:
                with lock:
                    index = next(upcoming, None)
                if index is None:
                    return
                scheduled = start + index / rate
                pause = scheduled - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                request = requests[index]
                sent = time.monotonic()
                error = connection.send(request)
                records[index] = Record(request.operation, scheduled, sent, time.monotonic(), error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=work, name=f"constant-rate-{n}")
        for n in range(min(max_in_flight, len(requests)))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [record for record in records if record is not None], start

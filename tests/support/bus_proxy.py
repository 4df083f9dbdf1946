"""An HTTP proxy in front of moto's EventBridge that counts PutEvents and fails them on
demand: how the pipe tests make "the bus" flaky or unreachable without touching the pipe."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import urlsplit

Mode = Literal["pass", "reject", "error"]


class BusProxy:
    """Forwards every request to ``upstream``; PutEvents obeys the failure settings.

    ``mode``: ``"pass"`` forwards, ``"reject"`` answers every entry as failed
    (``FailedEntryCount``), ``"error"`` answers HTTP 500 (the bus is down).
    ``fail_next``: the next N PutEvents calls answer HTTP 500 whatever the mode.
    ``put_events`` records (monotonic time, entries) of each PutEvents call; ``calls``
    counts them as "passed" or "failed".
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.mode: Mode = "pass"
        self.fail_next = 0
        self.put_events: list[tuple[float, int]] = []
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("X-Amz-Target") == "AWSEvents.PutEvents":
                    entries = len(json.loads(body)["Entries"])
                    failure = proxy._record(entries)
                    if failure == "reject":
                        failed = {"ErrorCode": "InternalFailure", "ErrorMessage": "stub"}
                        answer = {"FailedEntryCount": entries, "Entries": [failed] * entries}
                        return self._answer(200, json.dumps(answer).encode())
                    if failure == "error":
                        error = {"__type": "InternalException", "message": "stub"}
                        return self._answer(500, json.dumps(error).encode())
                connection = http.client.HTTPConnection(
                    proxy.upstream.hostname or "127.0.0.1", proxy.upstream.port, timeout=10
                )
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                connection.request("POST", self.path, body=body, headers=headers)
                response = connection.getresponse()
                self._answer(response.status, response.read())
                connection.close()

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        # A short poll interval: shutdown() waits for the server loop to notice.
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def _record(self, entries: int) -> Mode:
        """Record one PutEvents call; how it is to be answered."""
        with self._lock:
            self.put_events.append((time.monotonic(), entries))
            failure: Mode = self.mode
            if self.fail_next > 0:
                self.fail_next -= 1
                failure = "error"
            self.calls["passed" if failure == "pass" else "failed"] += 1
            return failure

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()

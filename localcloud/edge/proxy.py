"""Forward one HTTP request to a backend, unchanged, on pooled keep-alive connections.

The request keeps its method, path, query, body and headers, ``Host`` included: the
client signed that host, and moto builds URLs it hands out (an SQS ``QueueUrl``) from
it, so clients keep coming back through the router. Only hop-by-hop headers are dropped
and ``Content-Length`` is set for the (de-chunked) body.

Usage::

    forwarder = Forwarder()
    upstream = forwarder.forward("http://127.0.0.1:8000", "POST", "/", headers, body)
    for chunk in upstream.stream(65536, decode_content=False): ...
    upstream.release_conn()
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import urllib3

__all__ = ["HOP_BY_HOP", "Forwarder", "forwarded_headers"]

# RFC 9110 §7.6.1 connection-specific fields, plus Expect: the router answered
# "100-continue" itself and has the whole body already.
HOP_BY_HOP: Final = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "expect",
        "content-length",
    }
)


def forwarded_headers(
    headers: Iterable[tuple[str, str]], body_length: int
) -> list[tuple[str, str]]:
    """The end-to-end headers of ``headers``, with ``Content-Length`` for the body."""
    pairs = list(headers)
    # Headers named in Connection are hop-by-hop too.
    listed = {
        token.strip().lower()
        for name, value in pairs
        if name.lower() == "connection"
        for token in value.split(",")
    }
    kept = [
        (name, value)
        for name, value in pairs
        if name.lower() not in HOP_BY_HOP and name.lower() not in listed
    ]
    kept.append(("Content-Length", str(body_length)))
    return kept


class Forwarder:
    """A urllib3 pool per backend, shared by all of the router's threads.

    Args:
        maxsize: connections kept per backend; more concurrent requests open extra
            connections that are closed afterwards.
        connect_timeout: seconds to connect to a backend.
        read_timeout: seconds a backend may stay silent; above SQS's 20 s long polls
            and the 300 s an Express execution may take.
    """

    def __init__(
        self,
        *,
        maxsize: int = 64,
        connect_timeout: float = 5.0,
        read_timeout: float = 330.0,
    ) -> None:
        self.pool = urllib3.PoolManager(num_pools=8, maxsize=maxsize, block=False)
        self._timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        # One retry, on connecting only: a request is never sent twice, since a backend
        # may have acted on it, but a connection refused while it restarts is retried.
        self._retries = urllib3.Retry(
            total=1, connect=1, read=0, status=0, other=0, redirect=0, raise_on_status=False
        )

    def forward(
        self,
        base_url: str,
        method: str,
        target: str,
        headers: Iterable[tuple[str, str]],
        body: bytes,
    ) -> urllib3.BaseHTTPResponse:
        """Send the request to ``base_url`` + ``target`` (path and query).

        The answer is not read: stream it with ``stream(…, decode_content=False)`` (bodies
        pass through still compressed) and call ``release_conn()`` afterwards.

        Raises:
            urllib3.exceptions.HTTPError: the backend could not be reached or answered
                with something that is not HTTP.
        """
        header_dict = urllib3.HTTPHeaderDict()
        for name, value in forwarded_headers(headers, len(body)):
            header_dict.add(name, value)
        return self.pool.urlopen(
            method,
            base_url + target,
            body=body if body or method in ("POST", "PUT", "PATCH") else None,
            headers=header_dict,
            redirect=False,
            retries=self._retries,
            timeout=self._timeout,
            preload_content=False,
            decode_content=False,
            assert_same_host=False,
        )

    def close(self) -> None:
        """Close every pooled connection."""
        self.pool.clear()

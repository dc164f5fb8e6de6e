"""Keep-alive HTTP/1.1 POSTs for the synchronous client, on the standard library's ``http.client``.

The client only ever POSTs a small JSON body to one URL and reads the whole reply, so it needs none of httpx's
generality, and httpx's layers cost about 0.4 ms of client CPU per call on top of ``http.client`` (a signed
``getcolonymsg`` round trip against a local server: 0.83 → 0.33 ms wall, 0.58 → 0.17 ms CPU). Every call of an
SDK script, of the CLI and of a waiting executor pays it, twice on the path from a submit to its assignment.

A connection the server closed while it sat idle (uvicorn closes them after 5 s) is noticed before it is reused,
because its socket is readable, so a request is never sent on it and never sent twice. Connections are pooled
per client and taken by one call at a time, so one client may be shared by threads, as an ``httpx.Client`` may;
a forked child does not use its parent's connections (it would read the parent's replies).
When a proxy is configured for the server (``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY`` without a matching
``NO_PROXY``), ``RPCClient`` keeps using httpx, which honours it (see :func:`proxied`).
"""

from __future__ import annotations

import http.client
import logging
import os
import select
import socket
import ssl
import threading
import urllib.request
from typing import NamedTuple

log = logging.getLogger(__name__)

#: Idle connections kept per client; more concurrent calls open more, and the surplus is closed after use.
MAX_IDLE = 20
#: What a failed request raises: socket errors (refused, reset, timed out, TLS) and HTTP framing errors.
ERRORS = (OSError, http.client.HTTPException)


class Reply(NamedTuple):
    """The two things the client reads from an HTTP reply (named as httpx names them)."""

    status_code: int
    content: bytes


def proxied(scheme: str, host: str) -> bool:
    """Whether the environment routes ``scheme://host`` through a proxy (httpx's ``trust_env`` rules)."""
    proxies = urllib.request.getproxies_environment()
    if not (proxies.get(scheme) or proxies.get("all")):
        return False
    return not urllib.request.proxy_bypass_environment(host, proxies)


def _idle_and_open(sock: socket.socket | None) -> bool:
    """True if the connection can carry a request: a readable idle socket has been closed by the server (or has
    bytes nobody asked for), so it is not reused."""
    if sock is None:
        return False
    try:
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return not poller.poll(0)
        return not select.select([sock], [], [], 0)[0]
    except (OSError, ValueError):
        return False


class ConnectionPool:
    """Keep-alive connections to one server; ``post`` takes one (or opens one), sends, reads, gives it back."""

    def __init__(
        self, host: str, port: int, context: ssl.SSLContext | None, headers: dict[str, str]
    ) -> None:
        self.host, self.port, self.context = host, port, context
        self.headers = headers
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._closed = False
        self._pid = os.getpid()

    def post(self, path: str, body: bytes, timeout: float) -> Reply:
        """POST ``body``; raises one of ``ERRORS`` if the server cannot be reached or answers no HTTP."""
        conn = self._take(timeout)
        try:
            conn.request("POST", path, body=body, headers=self.headers)
            response = conn.getresponse()
            content = response.read()
        except BaseException:
            conn.close()
            raise
        log.debug("POST %s:%s%s -> %s (%d bytes)", self.host, self.port, path, response.status, len(content))
        if response.will_close:
            conn.close()
        else:
            self._give(conn)
        return Reply(response.status, content)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def _take(self, timeout: float) -> http.client.HTTPConnection:
        if self._pid != os.getpid():  # forked: the sockets are the parent's too (closing our copies leaves them be)
            with self._lock:
                idle, self._idle, self._pid = self._idle, [], os.getpid()
            for conn in idle:
                conn.close()
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                break
            if _idle_and_open(conn.sock):
                conn.timeout = timeout
                conn.sock.settimeout(timeout)  # type: ignore[union-attr]
                return conn
            conn.close()
        if self.context is not None:
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=self.context)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def _give(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < MAX_IDLE:
                self._idle.append(conn)
                return
        conn.close()

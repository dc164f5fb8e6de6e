"""Keep-alive HTTP/1.1 POSTs for the clients: ``http.client`` for the synchronous one, asyncio streams for the other.

The client only ever POSTs a small JSON body to one URL and reads the whole reply, so it needs none of httpx's
generality, and httpx's layers cost about 0.4 ms of client CPU per call on top of ``http.client`` (a signed
``getcolonymsg`` round trip against a local server: 0.83 → 0.33 ms wall, 0.58 → 0.17 ms CPU). Every call of an
SDK script, of the CLI and of a waiting executor pays it, twice on the path from a submit to its assignment.

A connection the server closed while it sat idle (uvicorn closes them after 5 s) is noticed before it is reused,
because its socket is readable, so a request is never sent on it and never sent twice. Connections are pooled
per client and taken by one call at a time, so one client may be shared by threads, as an ``httpx.Client`` may;
a forked child does not use its parent's connections (it would read the parent's replies).
When a proxy is configured for the server (``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY`` without a matching
``NO_PROXY``), the clients keep using httpx, which honours it (see :func:`proxied`).
"""

from __future__ import annotations

import asyncio
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


def _origin(pool: ConnectionPool | AsyncConnectionPool) -> str:
    """``scheme://host:port`` for the request log line (the same words as httpx's, which it replaces)."""
    return f"{'https' if pool.context is not None else 'http'}://{pool.host}:{pool.port}"


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
        log.debug("HTTP Request: POST %s%s -> %s (%d bytes)", _origin(self), path, response.status, len(content))
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


#: Header lines read per reply at most (as http.client's limit).
MAX_HEADERS = 100
#: Longest status or header line, and the stream buffer's limit.
MAX_LINE = 65536


class _Stream:
    """One asyncio connection, with the loop it belongs to (an idle stream is never handed to another loop)."""

    __slots__ = ("reader", "writer", "loop")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.loop = reader, writer, asyncio.get_running_loop()

    def usable(self) -> bool:
        return (self.loop is asyncio.get_running_loop() and not self.writer.is_closing()
                and not self.reader.at_eof())  # fmt: skip

    def close(self) -> None:
        try:
            self.writer.close()
        except RuntimeError:  # its loop is closed: nothing left to release
            pass


class AsyncConnectionPool:
    """The asyncio twin of :class:`ConnectionPool`, on asyncio streams (httpx.AsyncClient costs the same 0.4 ms
    per call as its synchronous client). Replies with a Content-Length, chunked ones, and ones that end with
    the connection; ``timeout`` bounds the whole exchange."""

    def __init__(
        self, host: str, port: int, context: ssl.SSLContext | None, headers: dict[str, str]
    ) -> None:
        self.host, self.port, self.context = host, port, context
        where = f"[{host}]" if ":" in host else host
        lines = [f"Host: {where}:{port}", *(f"{name}: {value}" for name, value in headers.items())]
        self._head = ("\r\n".join(lines) + "\r\nContent-Length: ").encode("latin-1")
        self._idle: list[_Stream] = []
        self._closed = False

    async def post(self, path: str, body: bytes, timeout: float) -> Reply:
        """POST ``body``; raises one of ``ERRORS`` if the server cannot be reached or answers no HTTP."""
        try:
            async with asyncio.timeout(timeout):
                stream = await self._take()
                try:
                    stream.writer.write(b"POST %s HTTP/1.1\r\n%s%d\r\n\r\n%s" % (
                        path.encode("latin-1"), self._head, len(body), body))  # fmt: skip
                    await stream.writer.drain()
                    status, content, keep = await _read_reply(stream.reader)
                except BaseException:
                    stream.close()
                    raise
        except TimeoutError:
            raise TimeoutError("timed out") from None
        log.debug("HTTP Request: POST %s%s -> %s (%d bytes)", _origin(self), path, status, len(content))
        if keep and not self._closed and len(self._idle) < MAX_IDLE:
            self._idle.append(stream)
        else:
            stream.close()
        return Reply(status, content)

    async def aclose(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for stream in idle:
            stream.close()

    async def _take(self) -> _Stream:
        while self._idle:
            stream = self._idle.pop()
            if stream.usable():
                return stream
            stream.close()
        reader, writer = await asyncio.open_connection(
            self.host, self.port, ssl=self.context, server_hostname=self.host if self.context else None,
            limit=MAX_LINE,
        )  # fmt: skip
        return _Stream(reader, writer)


async def _read_reply(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, whether the connection may be reused) of one HTTP/1.x reply."""
    try:
        while True:
            status, length, chunked, keep = await _read_head(reader)
            if status >= 200:
                break  # (a 1xx interim reply is followed by the real one)
        if status in (204, 304):
            return status, b"", keep
        if chunked:
            return status, await _read_chunks(reader), keep
        if length is not None:
            return status, await reader.readexactly(length), keep
        return status, await reader.read(), False  # the reply ends with the connection
    except asyncio.IncompleteReadError:
        raise http.client.RemoteDisconnected("Remote end closed the connection in the middle of a reply") from None
    except (asyncio.LimitOverrunError, ValueError) as exc:
        raise http.client.HTTPException(f"Malformed HTTP reply: {exc}") from None


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, int | None, bool, bool]:
    line = await reader.readline()
    if not line:
        raise http.client.RemoteDisconnected("Remote end closed connection without response")
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise http.client.BadStatusLine(repr(line[:100]))
    status, keep = int(parts[1]), parts[0] != b"HTTP/1.0"
    length: int | None = None
    chunked = False
    for _ in range(MAX_HEADERS):
        line = await reader.readline()
        if line in (b"\r\n", b"\n"):
            return status, length, chunked, keep
        if not line:
            raise http.client.RemoteDisconnected("Remote end closed connection in the reply's headers")
        name, _, value = line.partition(b":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == b"content-length":
            length = int(value)
            if length < 0:
                raise ValueError(f"negative content length {length}")
        elif name == b"transfer-encoding":
            chunked = value.endswith(b"chunked")
        elif name == b"connection":
            keep = b"close" not in value and (keep or b"keep-alive" in value)
    raise http.client.HTTPException(f"more than {MAX_HEADERS} header lines in a reply")


async def _read_chunks(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while True:
        size = int((await reader.readuntil(b"\n")).split(b";", 1)[0].strip(), 16)
        if size == 0:
            while (await reader.readuntil(b"\n")).strip():  # trailers, up to the blank line
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)  # the chunk's CRLF

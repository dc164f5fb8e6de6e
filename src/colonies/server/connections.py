"""Connection hygiene below the ASGI app: a client must send its request headers in time, and neither all
clients together nor one address may hold more than a configured number of sockets.

uvicorn times out idle keep-alive connections, but not a socket that never sends a request or trickles its headers;
a few hundred of those exhaust the file-descriptor limit. :func:`protocol_class` returns uvicorn's httptools
protocol with those checks added (it is given to ``uvicorn.Config(http=...)``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger(__name__)


class ConnectionLimits:
    """Open sockets, per client address. A WebSocket leaves the HTTP protocol when it upgrades, so closed
    transports are swept lazily (``is_closing``) instead of being counted down in ``connection_lost``."""

    def __init__(self, total: int, per_address: int) -> None:
        self.total = total
        self.per_address = per_address
        self.open: dict[str, set[asyncio.BaseTransport]] = {}
        self.count = 0

    def _sweep(self, address: str | None = None) -> None:
        for key in [address] if address is not None else list(self.open):
            live = {t for t in self.open.get(key, ()) if not t.is_closing()}
            self.count -= len(self.open.get(key, ())) - len(live)
            if live:
                self.open[key] = live
            else:
                self.open.pop(key, None)

    def admit(self, address: str, transport: asyncio.BaseTransport) -> bool:
        mine = self.open.get(address)
        if self.per_address and mine is not None and len(mine) >= self.per_address:
            self._sweep(address)
        if self.total and self.count >= self.total:
            self._sweep()
        mine = self.open.get(address, set())
        if (self.per_address and len(mine) >= self.per_address) or (self.total and self.count >= self.total):
            return False
        mine.add(transport)
        self.open[address] = mine
        self.count += 1
        return True

    def release(self, address: str, transport: asyncio.BaseTransport) -> None:
        mine = self.open.get(address)
        if mine is not None and transport in mine:
            mine.discard(transport)
            self.count -= 1
            if not mine:
                del self.open[address]


class Deadlines:
    """One timer for every connection's header and keep-alive deadline, instead of a timer armed and cancelled
    for each request (two per request, a tenth of the event loop's CPU per request under load). A deadline is
    kept to within ``tick`` seconds."""

    def __init__(self, tick: float) -> None:
        self.tick = tick
        self.watched: set[Any] = set()
        self._handle: asyncio.TimerHandle | None = None

    def watch(self, protocol: Any) -> None:
        self.watched.add(protocol)
        if self._handle is None:
            self._handle = protocol.loop.call_later(self.tick, self._sweep, protocol.loop)

    def forget(self, protocol: Any) -> None:
        self.watched.discard(protocol)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        for protocol in list(self.watched):
            transport = protocol.transport
            if transport.is_closing() or transport.get_protocol() is not protocol:  # closed, or a WebSocket now
                self.watched.discard(protocol)
            elif protocol.deadline and now >= protocol.deadline:
                protocol.deadline = 0.0
                transport.close()
        self._handle = loop.call_later(self.tick, self._sweep, loop) if self.watched else None


def protocol_class(header_timeout: float, limits: ConnectionLimits, api: Any = None) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol, plus: request headers within ``header_timeout`` seconds of the connection opening
    or of the request's first byte, ``limits`` on open sockets (over them, a new socket is closed at once), and
    ``POST /api`` answered directly by ``api`` (an ``APIEndpoint``; see ``direct.py``) when it is given."""
    from .direct import ApiCycle

    deadlines: Deadlines | None = None

    class GuardedHTTPProtocol(HttpToolsProtocol):
        _address = ""
        _admitted = False
        #: When this socket is closed unless what it waits for arrives first (0: nothing is timed now).
        deadline = 0.0
        #: Between requests (the keep-alive deadline runs) rather than within one.
        _idle = False

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            nonlocal deadlines
            peer: Any = transport.get_extra_info("peername")
            self._address = str(peer[0]) if isinstance(peer, tuple) and peer else ""
            if not limits.admit(self._address, transport):
                log.warning("connection from %s refused: too many open connections", self._address or "?")
                transport.abort()
                return
            self._admitted = True
            super().connection_made(transport)
            self.deadline = self.loop.time() + header_timeout
            if deadlines is None:
                shortest = min(header_timeout, float(self.timeout_keep_alive) or header_timeout)
                deadlines = Deadlines(min(1.0, max(0.05, shortest / 4)))
            deadlines.watch(self)

        def data_received(self, data: bytes) -> None:
            if self._idle:  # the first bytes of the next request: its headers must follow in time
                self._idle = False
                self.deadline = self.loop.time() + header_timeout
            super().data_received(data)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if not self.deadline:  # a pipelined request, parsed while the one before is being answered
                self.deadline = self.loop.time() + header_timeout

        def on_headers_complete(self) -> None:
            self.deadline = 0.0
            if api is not None and self.url == b"/api" and self.limit_concurrency is None:
                method = self.parser.get_method()
                if method == b"POST" and not self.parser.should_upgrade():
                    self._start_direct()
                    return
            super().on_headers_complete()

        def _start_direct(self) -> None:
            keep_alive = self.parser.get_http_version() != "1.0" and self.parser.should_keep_alive()
            cycle = ApiCycle(self, api, self.headers, keep_alive, self.expect_100_continue)
            existing = self.cycle
            self.cycle = cycle  # type: ignore[assignment]
            if existing is None or existing.response_complete:
                self._run(cycle, None)
            else:  # pipelined: answered in order, after the one before
                self.flow.pause_reading()
                self.pipeline.appendleft((cycle, None))  # type: ignore[arg-type]

        def _run(self, cycle: Any, app: Any) -> None:
            task = self.loop.create_task(cycle.run_asgi(app))
            if type(cycle) is ApiCycle:  # a long-poll is cancelled through its task when the client goes
                cycle.task = task
            task.add_done_callback(self.tasks.discard)
            self.tasks.add(task)

        def on_body(self, body: bytes) -> None:
            if type(self.cycle) is ApiCycle:
                self.cycle.feed(body)
            else:
                super().on_body(body)

        def on_message_complete(self) -> None:
            if type(self.cycle) is ApiCycle:
                self.cycle.finish()
            else:
                super().on_message_complete()

        def on_response_complete(self) -> None:
            """uvicorn's, with the keep-alive deadline in place of a timer per request."""
            self.server_state.total_requests += 1
            if self.transport.is_closing():
                return
            self.flow.resume_reading()
            if self.pipeline:
                cycle, app = self.pipeline.pop()
                self._run(cycle, app)
            else:
                self._idle = True
                self.deadline = self.loop.time() + self.timeout_keep_alive

        def connection_lost(self, exc: Exception | None) -> None:
            if not self._admitted:
                return
            self.deadline = 0.0
            if deadlines is not None:
                deadlines.forget(self)
            limits.release(self._address, self.transport)
            super().connection_lost(exc)

    return GuardedHTTPProtocol


def raise_fd_limit(wanted: int) -> None:
    """Raise the soft limit on open files towards ``wanted`` (within the hard limit), so the connection cap, not
    the descriptor limit, decides when new clients are turned away."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-file limit to %d: %s", target, exc)

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


def protocol_class(header_timeout: float, limits: ConnectionLimits) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol, plus: request headers within ``header_timeout`` seconds of the connection opening
    or of the request's first byte, and ``limits`` on open sockets (over them, a new socket is closed at once)."""

    class GuardedHTTPProtocol(HttpToolsProtocol):
        _address = ""
        _admitted = False
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            peer: Any = transport.get_extra_info("peername")
            self._address = str(peer[0]) if isinstance(peer, tuple) and peer else ""
            if not limits.admit(self._address, transport):
                log.warning("connection from %s refused: too many open connections", self._address or "?")
                transport.abort()
                return
            self._admitted = True
            super().connection_made(transport)
            self._arm()

        def _arm(self) -> None:
            self._disarm()
            self._header_timer = self.loop.call_later(header_timeout, self._headers_late)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_late(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing():
                self.transport.close()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            if self._header_timer is None:
                self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()  # then uvicorn's keep-alive timeout runs until the next request

        def connection_lost(self, exc: Exception | None) -> None:
            if not self._admitted:
                return
            self._disarm()
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

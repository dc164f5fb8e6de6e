"""``POST /api`` answered by the HTTP protocol itself, without the ASGI layer in between.

Every RPC is one POST of a small JSON body answered with one small JSON body. Through ASGI such a request also
pays for a scope, ``receive`` and ``send`` coroutines exchanging message dicts, a check of our own fixed reply
headers and a watcher task per long-poll: under load that was about a fifth of the event loop's CPU per request
(yappi, CPU clock, 8 submitting clients). :class:`ApiCycle` stands in for uvicorn's ``RequestResponseCycle`` for
these requests only: the protocol feeds it the body and tells it when the client has gone, and it answers with one
write. The same checks run as on the ASGI path (``APIEndpoint.screen``: origin, content type, declared size), and
the same ``dispatch``. Every other request (other paths or methods, a query string, upgrades) goes through ASGI.
"""

from __future__ import annotations

import asyncio
import http
import logging
import re
from typing import Any

from .. import envelope
from .api import APIEndpoint, body_limit_message, body_timeout_message, dispatch, is_long_poll

log = logging.getLogger(__name__)

STATUS_LINE = {s.value: b"HTTP/1.1 %d %s\r\n" % (s.value, s.phrase.encode()) for s in http.HTTPStatus}
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_JSON_HEAD = b"content-type: application/json\r\ncontent-length: %d\r\n"


class ApiCycle:
    """One ``POST /api`` request and its reply, on a keep-alive connection.

    uvicorn's protocol reads and sets a few attributes of its current cycle: ``response_complete``,
    ``disconnected`` and ``keep_alive`` (a graceful shutdown clears it), calls ``message_event.set()`` when the
    client has gone, and starts a queued (pipelined) cycle with ``run_asgi``. Our protocol (``connections.py``)
    feeds the body with :meth:`feed` and :meth:`finish`."""

    response_complete = False
    disconnected = False

    def __init__(self, protocol: Any, endpoint: APIEndpoint, headers: list[tuple[bytes, bytes]], keep_alive: bool,
                 expect_continue: bool) -> None:  # fmt: skip
        self.protocol = protocol
        self.endpoint = endpoint
        self.headers = headers
        self.keep_alive = keep_alive
        self.expect_continue = expect_continue
        self.message_event = self
        self.chunks: list[bytes] = []
        self.size = 0
        self.complete = False
        self.too_large = False
        self.cors = ""
        self.waiter: asyncio.Future[None] | None = None
        self.task: asyncio.Task[Any] | None = None
        #: Only a long-poll is abandoned when its client goes; any other request runs to its end.
        self.cancellable = False

    # -- from the protocol -----------------------------------------------------------------------------------------

    def feed(self, chunk: bytes) -> None:
        if self.response_complete or self.too_large:
            return  # the rest of a body already answered (refused) is read and dropped
        self.size += len(chunk)
        if self.size > self.endpoint.state.settings.max_body_bytes:
            self.too_large = True
            self.chunks = []
            self._wake()
            return
        self.chunks.append(chunk)

    def finish(self) -> None:
        self.complete = True
        self._wake()

    def set(self) -> None:
        """uvicorn's ``message_event.set()``: after ``disconnected`` is set, the client has gone."""
        if self.disconnected and self.cancellable and self.task is not None:
            self.task.cancel()
        self._wake()

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    # -- the request -----------------------------------------------------------------------------------------------

    async def run_asgi(self, app: Any = None) -> None:
        """The name uvicorn's protocol starts a (queued) cycle with; ``app`` is not used. The protocol sets
        ``task`` to the task running it."""
        try:
            answer = await self._answer()
        except asyncio.CancelledError:
            if self.disconnected:
                return  # a long-poll whose executor hung up: dispatch released what it held, nobody to answer
            raise
        except Exception:  # dispatch answers every error itself; this is a defect here, never a traceback out
            log.exception("unexpected error answering an RPC")
            self.keep_alive = False
            answer = 500, envelope.error_reply(500, "Internal server error")
        if answer is not None:
            self._respond(*answer)

    async def _answer(self) -> tuple[int, bytes] | None:
        endpoint = self.endpoint
        self.cors, refused = endpoint.screen(self.headers)
        if self.cors and _CONTROL.search(self.cors):
            self.cors = ""
        if refused is not None:
            status, message = refused
            return status, envelope.error_reply(status, message)
        if not (self.complete or self.too_large):
            seconds = endpoint.state.settings.read_timeout
            if self.expect_continue and not self.protocol.transport.is_closing():
                self.protocol.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            try:
                async with asyncio.timeout(seconds):
                    while not (self.complete or self.too_large or self.disconnected):
                        self.waiter = asyncio.get_running_loop().create_future()
                        await self.waiter
            except TimeoutError:
                return 408, envelope.error_reply(408, body_timeout_message(seconds))
            finally:
                self.waiter = None
        if self.disconnected:
            return None
        if self.too_large:
            limit = endpoint.state.settings.max_body_bytes
            return 413, envelope.error_reply(413, body_limit_message(limit))
        body = self.chunks[0] if len(self.chunks) == 1 else b"".join(self.chunks)
        self.chunks = []
        self.cancellable = is_long_poll(body)
        try:
            return await dispatch(endpoint.state, body)
        finally:
            self.cancellable = False

    def _respond(self, status: int, body: bytes) -> None:
        protocol = self.protocol
        transport = protocol.transport
        if self.disconnected or transport.is_closing():
            return
        parts = [STATUS_LINE[status]]
        for name, value in protocol.server_state.default_headers:  # date and server, as on every reply
            parts += (name, b": ", value, b"\r\n")
        parts.append(_JSON_HEAD % len(body))
        if self.cors:
            parts.append(b"access-control-allow-origin: %s\r\nvary: Origin\r\n" % self.cors.encode("latin-1"))
        if not self.keep_alive:
            parts.append(b"connection: close\r\n")
        parts += (b"\r\n", body)
        transport.write(b"".join(parts))
        self.response_complete = True
        if not self.keep_alive:
            transport.close()
        protocol.on_response_complete()

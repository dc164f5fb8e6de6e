"""POST /api: envelope → caller → message → HANDLERS[payloadtype] → reply envelope.

The only place (with pubsub.py) where errors become the error envelope. Nothing a client sends can produce a
traceback: unexpected exceptions are logged and answered 500 with a generic message.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any

from pydantic import ValidationError

from .. import crypto, envelope
from ..exceptions import BadRequest, ColoniesError, Forbidden, PayloadTooLarge
from ..storage import StorageError
from ..storage.sqlstore import PendingNonce, request_nonce
from .context import Context, ServerState
from .handlers import HANDLERS, REPLY_TYPES, UNSIGNED

log = logging.getLogger(__name__)

Scope = dict[str, Any]


_NONCE = re.compile(r"^([0-9]{1,19})-([0-9a-f]{16,64})$")


def check_nonce(caller: str, nonce: str, window: int) -> PendingNonce:
    """A well-formed nonce issued within ``window`` seconds of now → what the store records (caller, nonce,
    forget-after ns). A stale or future nonce is refused here, so the store only needs to remember one window."""
    found = _NONCE.match(nonce)
    if found is None:
        raise BadRequest("Invalid nonce: expected <unix time in ns>-<16 to 64 lowercase hex characters>")
    issued = int(found.group(1))
    now = time.time_ns()
    skew = (now - issued) / 1e9
    if abs(skew) > window:
        raise BadRequest(f"Stale request refused: its nonce was issued {skew:+.0f} s from the server's clock "
                         f"(window {window} s); resend it, and check the client's clock")  # fmt: skip
    return PendingNonce(caller, nonce, issued + 2 * window * 1_000_000_000)


def validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "payload"
        if err["type"] == "json_invalid":
            return f"Invalid JSON in payload: {err['msg']}"
        parts.append(f"{where}: {err['msg']}")
    return "Invalid message: " + "; ".join(parts)


async def dispatch(state: ServerState, body: bytes) -> tuple[int, bytes]:
    """Handle one RPC body; returns (HTTP status, reply body), and records it in the metrics."""
    started = time.perf_counter()
    seen: list[str] = [""]  # the payload type, once the envelope parses
    status, reply = await _dispatch(state, body, seen)
    if state.metrics is not None:
        state.metrics.observe(seen[0], status, started)
    return status, reply


async def _dispatch(state: ServerState, body: bytes, seen: list[str]) -> tuple[int, bytes]:
    try:
        env = envelope.Envelope.parse(body)
        seen[0] = env.payloadtype
        entry = HANDLERS.get(env.payloadtype)
        if env.payloadtype in UNSIGNED:
            caller = ""
        else:
            if entry is None:
                raise Forbidden(f"invalid rpcMsg.PayloadType: {env.payloadtype or '(empty)'}")
            if not env.signature:
                raise Forbidden("Missing signature")
            try:
                caller = crypto.recover_id(env.payload, env.signature)
            except crypto.CryptoError as exc:
                raise Forbidden(str(exc)) from None
        assert entry is not None
        model, handler = entry
        if env.payloadtype == "getserverinfomsg":
            msg = model()
        else:
            try:
                msg = model.model_validate_json(env.decode_payload())
            except ValidationError as exc:
                raise BadRequest(validation_message(exc)) from None
            if msg.msgtype != env.payloadtype:
                raise BadRequest(f"msgtype {msg.msgtype!r} does not match payloadtype {env.payloadtype!r}")
        nonce = check_nonce(caller, msg.nonce, state.settings.replay_window) if msg.nonce and caller else None
        token = request_nonce.set(nonce)
        try:
            result = await handler(Context(state, caller), msg)
        finally:
            request_nonce.reset(token)
        return 200, envelope.reply(REPLY_TYPES.get(env.payloadtype, env.payloadtype), result)
    except ColoniesError as exc:
        return exc.status, envelope.error_reply(exc.status, exc.message)
    except StorageError as exc:
        log.error("storage error: %s", exc)
        return 500, envelope.error_reply(500, "Internal storage error")
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("unexpected error handling an RPC")
        return 500, envelope.error_reply(500, "Internal server error")


class APIEndpoint:
    """Raw ASGI endpoint: reads the body with a size cap, and cancels a long-poll when the client disconnects."""

    def __init__(self, state: ServerState) -> None:
        self.state = state

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["method"] == "OPTIONS":  # CORS preflight: browsers (the dashboard) may call from any origin
            await send({"type": "http.response.start", "status": 204, "headers": _PREFLIGHT_HEADERS})
            await send({"type": "http.response.body", "body": b""})
            return
        if scope["method"] != "POST":
            await self._send(send, 405, envelope.error_reply(405, "Use POST /api"))
            return
        limit = self.state.settings.max_body_bytes
        read_timeout = self.state.settings.read_timeout
        try:
            async with asyncio.timeout(read_timeout):
                body = await self._read_body(scope, receive, limit)
        except PayloadTooLarge as exc:
            await self._send(send, 413, envelope.error_reply(413, exc.message))
            return
        except TimeoutError:
            message = f"Request body not received within {read_timeout:g} s"
            await self._send(send, 408, envelope.error_reply(408, message))
            return
        except _Disconnected:
            return
        if b"assignprocessmsg" not in body:
            status, reply = await dispatch(self.state, body)
            await self._send(send, status, reply)
            return
        # A long-poll: if the executor goes away, stop waiting (and release anything claimed meanwhile).
        work = asyncio.ensure_future(dispatch(self.state, body))
        watch = asyncio.ensure_future(_wait_disconnect(receive))
        done, _ = await asyncio.wait((work, watch), return_when=asyncio.FIRST_COMPLETED)
        if work not in done:
            work.cancel()
            try:
                await work
            except BaseException:  # noqa: BLE001 - the client is gone, nothing to answer
                pass
            return
        watch.cancel()
        status, reply = work.result()
        await self._send(send, status, reply)

    @staticmethod
    async def _read_body(scope: Scope, receive: Any, limit: int) -> bytes:
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    if int(value) > limit:
                        raise PayloadTooLarge(f"Request body exceeds the limit of {limit} bytes")
                except ValueError:
                    pass
        chunks = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"Request body exceeds the limit of {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)

    @staticmethod
    async def _send(send: Any, status: int, body: bytes) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"access-control-allow-origin", b"*"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


_PREFLIGHT_HEADERS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"POST, GET, OPTIONS"),
    (b"access-control-allow-headers", b"Origin, Content-Length, Content-Type"),
    (b"access-control-max-age", b"600"),
]


class _Disconnected(Exception):
    pass


async def _wait_disconnect(receive: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return

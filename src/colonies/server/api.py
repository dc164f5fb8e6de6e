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

import orjson
from pydantic import ValidationError

from .. import crypto, envelope
from ..exceptions import BadRequest, ColoniesError, Forbidden, PayloadTooLarge
from ..storage import StorageError
from ..storage.core import PendingNonce, request_nonce
from . import wire
from .context import Context, ServerState
from ..generations import unknown_type_message
from .generations import knows, read_message, shape_reply
from .handlers import HANDLERS, REPLY_TYPES, UNSIGNED
from .origins import OriginPolicy, header

log = logging.getLogger(__name__)

Scope = dict[str, Any]


_NONCE = re.compile(r"^([0-9]{1,19})-([0-9a-f]{16,64})$")

#: Messages that may be as large as ``max_body_bytes``; every other one is held to ``max_message_bytes``.
#: A channel entry may carry up to 10 MiB (COLONIES_CHANNEL_MAX_PAYLOAD_BYTES), more than any other message.
LARGE_MESSAGES = frozenset({"submitworkflowspecmsg", "channelappendmsg"})


def check_nonce(caller: str, nonce: str, window: int, skew: int = 30) -> PendingNonce:
    """A well-formed nonce issued within ``window`` seconds before now (and at most ``skew`` seconds after: a
    nonce from the future would otherwise stay replayable for longer than the window) → what the store records
    (caller, nonce, the time it was issued). Refused nonces are never stored, so the store only remembers one
    window (the leader forgets those issued before it, see ``timeouts``)."""
    found = _NONCE.match(nonce)
    if found is None:
        raise BadRequest("Invalid nonce: expected <unix time in ns>-<16 to 64 lowercase hex characters>")
    issued = int(found.group(1))
    now = time.time_ns()
    age = (now - issued) / 1e9
    if age > window or -age > skew:
        limit = f"window {window} s" if age > 0 else f"allowed clock skew {skew} s"
        raise BadRequest(f"Stale request refused: its nonce was issued {age:+.0f} s from the server's clock "
                         f"({limit}); resend it, and check the client's clock")  # fmt: skip
    return PendingNonce(caller, nonce, issued)


def check_audience(state: ServerState, audience: str) -> None:
    """A request signed for one server (``audience`` in the payload: the ``instanceid`` this server's database
    reports in ``getserverinfomsg``; replicas share it) is refused by every other server, so a request captured
    on one server cannot be replayed on another that knows the same key. Requests without it (Go clients) pass."""
    if audience and audience != state.instance_id:
        raise Forbidden("Request refused: it was signed for another server (its audience is not this server's "
                        "instanceid)")  # fmt: skip


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


def recover_caller(env: envelope.Envelope) -> str:
    if not env.signature:
        raise Forbidden("Missing signature")
    try:
        return crypto.recover_id(env.payload, env.signature)
    except crypto.CryptoError as exc:
        raise Forbidden(str(exc)) from None


def decode_message(model: Any, env: envelope.Envelope, settings: Any) -> Any:
    """Payload → validated message. For a workflow the nodes and edges are counted on the parsed JSON first, so
    an oversized graph is refused before the (costlier) validation of every spec."""
    payload = env.decode_payload()
    limit = settings.max_json_containers
    # An upper bound found at memchr speed (brackets inside strings count too); a payload with fewer bytes than
    # the limit cannot exceed it, so the common small request skips the count.
    containers = payload.count(b"{") + payload.count(b"[") if len(payload) > limit else 0
    if containers > limit:
        raise PayloadTooLarge(f"Payload has {containers} JSON objects and arrays, over the limit of "
                              f"{settings.max_json_containers} (COLONIES_MAX_JSON_CONTAINERS)")  # fmt: skip
    try:
        if env.payloadtype == "submitworkflowspecmsg" and len(payload) > SMALL_PAYLOAD:
            data = orjson.loads(payload)
            count_workflow(data, settings)
            return model.model_validate(data)
        return model.model_validate_json(payload)
    except ValidationError as exc:
        raise BadRequest(validation_message(exc)) from None
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"Invalid JSON in payload: {exc}") from None


def count_workflow(data: Any, settings: Any) -> None:
    """Refuse a workflow over the node or edge limit from its parsed JSON (before validating it)."""
    spec = data.get("spec") if isinstance(data, dict) else None
    specs = spec.get("functionspecs") if isinstance(spec, dict) else None
    if not isinstance(specs, list):
        return  # validation explains what is wrong
    if settings.max_workflow_nodes and len(specs) > settings.max_workflow_nodes:
        raise BadRequest(f"Invalid workflow: {len(specs)} nodes exceed the limit of {settings.max_workflow_nodes}")
    edges = 0
    for spec in specs:
        conditions = spec.get("conditions") if isinstance(spec, dict) else None
        deps = conditions.get("dependencies") if isinstance(conditions, dict) else None
        if isinstance(deps, list):
            edges += len(deps)
    if settings.max_workflow_edges and edges > settings.max_workflow_edges:
        raise BadRequest(f"Invalid workflow: {edges} dependencies (edges) exceed the limit of "
                         f"{settings.max_workflow_edges} (COLONIES_MAX_WORKFLOW_EDGES)")  # fmt: skip


#: Payloads up to this size are checked on the event loop (the common case, microseconds); larger ones are
#: hashed, checked against known identities and decoded in a worker thread.
SMALL_PAYLOAD = 64 * 1024


async def _dispatch(state: ServerState, body: bytes, seen: list[str]) -> tuple[int, bytes]:
    try:
        env = envelope.Envelope.parse(body)
        seen[0] = env.payloadtype
        entry = HANDLERS.get(env.payloadtype)
        settings = state.settings
        large = len(env.payload) > SMALL_PAYLOAD
        if large and len(body) > settings.max_message_bytes and env.payloadtype not in LARGE_MESSAGES:
            raise PayloadTooLarge(f"A {env.payloadtype or 'message'} body may have at most "
                                  f"{settings.max_message_bytes} bytes (COLONIES_MAX_MESSAGE_BYTES); "
                                  "only workflow submissions and channel appends may be larger")  # fmt: skip
        generation = settings.wire_generation
        if not knows(generation, env.payloadtype):
            recover_caller(env)  # the older server checks the signature before it looks at the type
            raise Forbidden(unknown_type_message(env.payloadtype))
        if env.payloadtype in UNSIGNED:
            caller = ""
        else:
            if entry is None:
                raise Forbidden(f"invalid rpcMsg.PayloadType: {env.payloadtype or '(empty)'}")
            if not large:
                caller = recover_caller(env)
            else:  # hashing megabytes releases the GIL; an unknown signer is refused before decoding anything
                caller = await asyncio.to_thread(recover_caller, env)
                if not await state.is_known(caller):
                    raise Forbidden("Access denied: the signer is not known to this server")
        assert entry is not None
        model, handler = entry
        if env.payloadtype == "getserverinfomsg":
            msg = model()
        else:
            if large:
                msg = await asyncio.to_thread(decode_message, model, env, settings)
            else:
                msg = decode_message(model, env, settings)
            if msg.msgtype != env.payloadtype:
                raise BadRequest(f"msgtype {msg.msgtype!r} does not match payloadtype {env.payloadtype!r}")
            msg = read_message(generation, env.payloadtype, msg)
        nonce = None
        if msg.nonce and caller:
            nonce = check_nonce(caller, msg.nonce, settings.replay_window, settings.max_clock_skew)
        if msg.audience:
            check_audience(state, msg.audience)
        token = request_nonce.set(nonce)
        try:
            ctx = Context(state, caller)
            result = await handler(ctx, msg)
        finally:
            request_nonce.reset(token)
        await wire.observe(ctx, msg)  # which Go wire generation the caller speaks, for executor replies
        result = shape_reply(generation, env.payloadtype, result)
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
    """Raw ASGI endpoint: checks what a browser could forge (origin, content type), reads the body with a size
    cap, and cancels a long-poll when the client disconnects."""

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.origins = OriginPolicy(state.settings.cors_origins, state.settings.host)

    def cors_origin(self, origin: str) -> str:
        """The origin to grant CORS to: the request's own, when the operator configured it; else ""."""
        return origin if origin and self.origins.configured(origin) else ""

    def screen(self, headers: Any) -> tuple[str, tuple[int, str] | None]:
        """(the origin to grant CORS to or "", (status, message) of a refusal or None) for a POST's headers: what
        a browser could forge, and a declared body over the size limit. Shared by both ways into ``dispatch``."""
        origin = header(headers, b"origin")
        cors = self.cors_origin(origin)
        refused = self._refuse_browser(headers, origin)
        if refused is None:
            limit = self.state.settings.max_body_bytes
            declared = header(headers, b"content-length")
            if declared.isdigit() and int(declared) > limit:
                refused = 413, body_limit_message(limit)
        return cors, refused

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        headers = scope.get("headers", ())
        if scope["method"] == "OPTIONS":  # CORS preflight: answered with allow headers for configured origins only
            cors = self.cors_origin(header(headers, b"origin"))
            extra = _preflight_headers(cors) if cors else []
            await send({"type": "http.response.start", "status": 204, "headers": extra})
            await send({"type": "http.response.body", "body": b""})
            return
        cors, refused = self.screen(headers)
        if scope["method"] != "POST":
            await self._send(send, 405, envelope.error_reply(405, "Use POST /api"), cors)
            return
        if refused is not None:
            status, message = refused
            await self._send(send, status, envelope.error_reply(status, message), cors)
            return
        limit = self.state.settings.max_body_bytes
        read_timeout = self.state.settings.read_timeout
        try:
            async with asyncio.timeout(read_timeout):
                body = await self._read_body(receive, limit)
        except PayloadTooLarge as exc:
            await self._send(send, 413, envelope.error_reply(413, exc.message), cors)
            return
        except TimeoutError:
            await self._send(send, 408, envelope.error_reply(408, body_timeout_message(read_timeout)), cors)
            return
        except _Disconnected:
            return
        if not is_long_poll(body):
            status, reply = await dispatch(self.state, body)
            await self._send(send, status, reply, cors)
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
        await self._send(send, status, reply, cors)

    def _refuse_browser(self, headers: Any, origin: str) -> tuple[int, str] | None:
        """(status, message) for a request a web page could have made on its own, else None.

        Browsers send ``Origin`` with every POST; a page on another origin is refused unless configured
        (``COLONIES_CORS_ORIGINS``). The body must be declared ``application/json``: a page can send
        ``text/plain`` or form bodies cross-origin without a preflight, never JSON. Clients that send no content
        type (pycolonies 1.x) are accepted only without an ``Origin``, i.e. not from a browser."""
        if origin and not self.origins.allows(origin, header(headers, b"host")):
            return 403, (f"Cross-origin request refused: {origin} may not call this server "
                         "(allow it with COLONIES_CORS_ORIGINS)")  # fmt: skip
        ctype = header(headers, b"content-type")
        if ctype:
            media = ctype.split(";", 1)[0].strip().lower()
            if media != "application/json":
                return 415, f"Unsupported content type {media or ctype!r}: send the envelope as application/json"
        elif origin:
            return 415, "Missing content type: send the envelope as application/json"
        return None

    @staticmethod
    async def _read_body(receive: Any, limit: int) -> bytes:
        chunks = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(body_limit_message(limit))
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)

    @staticmethod
    async def _send(send: Any, status: int, body: bytes, cors: str = "") -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if cors:
            headers += [(b"access-control-allow-origin", cors.encode("latin-1")), (b"vary", b"Origin")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def is_long_poll(body: bytes) -> bool:
    """An assign request (found at memchr speed, before parsing): abandoned when its client goes away."""
    return b"assignprocessmsg" in body


def body_limit_message(limit: int) -> str:
    return f"Request body exceeds the limit of {limit} bytes"


def body_timeout_message(seconds: float) -> str:
    return f"Request body not received within {seconds:g} s"


def _preflight_headers(origin: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-allow-methods", b"POST, GET, OPTIONS"),
        (b"access-control-allow-headers", b"Content-Type"),
        (b"access-control-max-age", b"600"),
        (b"vary", b"Origin"),
    ]


class _Disconnected(Exception):
    pass


async def _wait_disconnect(receive: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return

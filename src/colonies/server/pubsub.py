"""WebSocket /pubsub: ``subscribeprocessmsg`` (wait for one process to reach a state),
``subscribeprocessesmsg`` (be told when processes of a type reach a state), ``subscribechannelmsg`` (follow a
process's channel: handlers/channels.py) and, ours, ``subscribecolonymsg`` (every process event of a colony, in
batches: the dashboard's live view).

Each frame from the client is a signed RPC envelope; each frame to the client is a reply envelope whose payload is
the process. Unlike the Go server, the caller must be an approved member of the process's colony, and a timeout is
reported with an error frame (408) before the socket closes. A channel subscription sends batches of entries and
ends with an empty batch, as in the Go server.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pydantic import ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect

from .. import crypto, envelope
from .. import messages as m
from ..exceptions import BadRequest, ColoniesError, Forbidden, NotFound
from . import wire
from .api import check_audience, check_nonce, validation_message
from .auth import require_member, require_member_or_owner
from .context import Context, ServerState
from ..generations import unknown_type_message
from .events import ColonySubscription, Subscription, reached
from .generations import knows
from .handlers.channels import stream_channel
from .handlers.common import check_wait
from .origins import OriginPolicy, header
from .views import process_view

log = logging.getLogger(__name__)

#: An idle subscription re-checks that its caller is still a member this often (seconds).
MEMBERSHIP_RECHECK = 5.0

MODELS: dict[str, type[m.Msg]] = {
    "subscribeprocessmsg": m.SubscribeProcessMsg,
    "subscribeprocessesmsg": m.SubscribeProcessesMsg,
    "subscribecolonymsg": m.SubscribeColonyMsg,
    "subscribechannelmsg": m.SubscribeChannelMsg,
}

#: At most this many events go out in one ``subscribecolonymsg`` frame.
COLONY_BATCH = 500


def colony_event(row: dict[str, Any], member: bool = True) -> dict[str, Any]:
    """What a dashboard needs to recolour a row or a DAG node; it re-reads anything else it shows. A colony owner
    who is not a member may count states (as its statistics do) but not learn processes: it gets no ids."""
    if row.get("kind") == "log":
        return {"kind": "log", "processid": row["processid"]} if member else {"kind": "log"}
    if not member:
        return {"kind": "process", "state": row["state"]}
    return {"kind": "process", "processid": row["processid"], "state": row["state"], "executortype": row["executortype"],
            "processgraphid": row.get("processgraphid", "")}  # fmt: skip


def parse_subscription(body: bytes | str, generation: str = "current") -> tuple[str, m.Msg]:
    """Envelope → (caller, message); signature, type and shape checked. Nonce and audience: :func:`check_frame`."""
    env = envelope.Envelope.parse(body.encode() if isinstance(body, str) else body)
    model = MODELS.get(env.payloadtype)
    if model is None:
        raise Forbidden(f"invalid rpcMsg.PayloadType for /pubsub: {env.payloadtype or '(empty)'}")
    try:
        caller = crypto.recover_id(env.payload, env.signature)
    except crypto.CryptoError as exc:
        raise Forbidden(str(exc)) from None
    if not knows(generation, env.payloadtype):
        raise Forbidden(unknown_type_message(env.payloadtype))
    try:
        msg = model.model_validate_json(env.decode_payload())
    except ValidationError as exc:
        raise BadRequest(validation_message(exc)) from None
    if msg.msgtype != env.payloadtype:
        raise BadRequest(f"msgtype {msg.msgtype!r} does not match payloadtype {env.payloadtype!r}")
    return caller, msg


async def check_frame(state: ServerState, caller: str, msg: m.Msg) -> None:
    """A subscription frame is a signed request like any other: its nonce is used once (a captured frame cannot
    be replayed on another socket) and its audience, if any, must be this server."""
    if msg.audience:
        check_audience(state, msg.audience)
    if msg.nonce:
        settings = state.settings
        await state.storage.use_nonce(check_nonce(caller, msg.nonce, settings.replay_window, settings.max_clock_skew))


async def _executor_colony(ctx: Context) -> str:
    """The colony of a v1.7.8 ``subscribeprocessesmsg``, which names none: the one the caller is an approved
    executor of (the Go server only checked that the caller was an executor somewhere)."""
    colonies = await ctx.storage.get_executor_colonies(ctx.caller)
    if not colonies:
        raise Forbidden("Access denied, the caller is not an approved executor of any colony")
    if len(colonies) > 1:
        raise BadRequest("The caller is an executor of several colonies: name one in colonyname")
    return colonies[0]


class PubSubEndpoint:
    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.origins = OriginPolicy(state.settings.cors_origins, state.settings.host)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        ws = WebSocket(scope, receive, send)
        origin = header(scope.get("headers", ()), b"origin")
        if origin and not self.origins.allows(origin, header(scope.get("headers", ()), b"host")):
            await ws.close(code=1008)  # before accept: the browser's handshake fails with 403
            return
        await ws.accept()
        tasks: set[asyncio.Task[None]] = set()
        lock = asyncio.Lock()
        try:
            while True:
                frame = await ws.receive()
                if frame["type"] == "websocket.disconnect":
                    break
                data = frame.get("text") or frame.get("bytes") or b""
                if len(data) > self.state.settings.max_body_bytes:
                    await self._send(ws, lock, envelope.error_reply(413, "Frame too large"))
                    continue
                if len(tasks) >= self.state.settings.max_subscriptions_per_socket:
                    limit = self.state.settings.max_subscriptions_per_socket
                    await self._send(ws, lock, envelope.error_reply(429, f"Too many subscriptions on one socket "
                                                                        f"(limit {limit}); open another socket"))
                    continue
                try:
                    caller, msg = parse_subscription(data, self.state.settings.wire_generation)
                    await check_frame(self.state, caller, msg)
                except ColoniesError as exc:
                    await self._send(ws, lock, envelope.error_reply(exc.status, exc.message))
                    continue
                task = asyncio.create_task(self._serve(ws, lock, Context(self.state, caller), msg, tasks))
                tasks.add(task)
        except WebSocketDisconnect:
            pass
        finally:
            for task in tasks:
                task.cancel()

    async def _serve(
        self, ws: WebSocket, lock: asyncio.Lock, ctx: Context, msg: m.Msg, tasks: set[asyncio.Task[None]]
    ) -> None:
        sub: Subscription | None = None
        try:
            if isinstance(msg, m.SubscribeChannelMsg):  # its own loop: entries are read from the database
                await stream_channel(ctx, msg, lambda data: self._send(ws, lock, data))
                return
            timeout = max(0, check_wait(getattr(msg, "timeout", 0), self.state.settings.max_wait_timeout,
                                        "Subscription"))  # fmt: skip
            sub = await self._subscribe(ctx, msg)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            if isinstance(sub, ColonySubscription):
                await self._serve_colony(ws, lock, ctx, sub, deadline)
                return
            if isinstance(msg, m.SubscribeProcessMsg):
                row = await ctx.storage.get_process(msg.processid)
                if row is not None and reached(msg.state, row["state"]):
                    await self._send(ws, lock, envelope.reply("subscribeprocessmsg", process_view(row)))
                    return
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise TimeoutError
                try:
                    async with asyncio.timeout(min(remaining, MEMBERSHIP_RECHECK)):
                        event = await sub.queue.get()
                except TimeoutError:
                    await require_member(ctx, sub.colonyname)  # removed meanwhile: the subscription ends
                    continue
                await require_member(ctx, sub.colonyname)  # nothing is delivered to a removed user or executor
                row = await ctx.storage.get_process(event["processid"]) or event
                await self._send(ws, lock, envelope.reply("subscribeprocessmsg", process_view(row)))
                if isinstance(msg, m.SubscribeProcessMsg):
                    return
        except TimeoutError:
            await self._send(ws, lock, envelope.error_reply(408, "Subscription timed out"))
            if len(tasks) <= 1:
                await ws.close()
        except ColoniesError as exc:
            await self._send(ws, lock, envelope.error_reply(exc.status, exc.message))
        except (WebSocketDisconnect, RuntimeError, asyncio.CancelledError):
            pass
        finally:
            if sub is not None:
                self.state.events.unsubscribe(sub)
            tasks.discard(asyncio.current_task())  # type: ignore[arg-type]

    async def _serve_colony(
        self, ws: WebSocket, lock: asyncio.Lock, ctx: Context, sub: ColonySubscription, deadline: float
    ) -> None:
        """Batches of events until the deadline; a first empty frame confirms the subscription is live, so a page
        that reconnects knows when to re-read what it shows."""
        loop = asyncio.get_running_loop()
        await self._send(ws, lock, envelope.reply("subscribecolonymsg", {"colonyname": sub.colonyname,
                                                                         "events": [], "resync": True}))
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError
            try:
                async with asyncio.timeout(min(remaining, MEMBERSHIP_RECHECK)):
                    first = await sub.queue.get()
            except TimeoutError:
                await require_member_or_owner(ctx, sub.colonyname)
                continue
            member = (await require_member_or_owner(ctx, sub.colonyname))["kind"] != "owner"
            events = [colony_event(first, member)]
            while len(events) < COLONY_BATCH and not sub.queue.empty():
                events.append(colony_event(sub.queue.get_nowait(), member))
            resync, sub.overflowed = sub.overflowed, False
            await self._send(ws, lock, envelope.reply("subscribecolonymsg", {"colonyname": sub.colonyname,
                                                                             "events": events, "resync": resync}))

    async def _subscribe(self, ctx: Context, msg: m.Msg) -> Subscription:
        if isinstance(msg, m.SubscribeColonyMsg):
            await require_member_or_owner(ctx, msg.colonyname)
            sub: Subscription = ColonySubscription(msg.colonyname)
        elif isinstance(msg, m.SubscribeProcessMsg):
            row = await ctx.storage.get_process(msg.processid)
            if row is None:
                raise NotFound(f"Process with id {msg.processid} does not exist")
            await require_member(ctx, row["colonyname"])
            sub = Subscription(row["colonyname"], msg.processid, msg.executortype or row["executortype"], msg.state)
        else:
            assert isinstance(msg, m.SubscribeProcessesMsg)
            colonyname = msg.colonyname or await _executor_colony(ctx)
            await require_member(ctx, colonyname)
            sub = Subscription(colonyname, "", msg.executortype, msg.state)
        self.state.events.subscribe(sub)
        await wire.observe(ctx, msg, sub.colonyname)
        return sub

    @staticmethod
    async def _send(ws: WebSocket, lock: asyncio.Lock, data: bytes) -> None:
        async with lock:
            try:
                await ws.send_text(data.decode())
            except (WebSocketDisconnect, RuntimeError):
                pass

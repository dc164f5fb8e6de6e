"""Channel messages (v1.9): ``channelappendmsg``, ``channelreadmsg`` and the /pubsub stream of
``subscribechannelmsg``. Who may use a channel is decided by the store (``storage/channels.py``) in the same job
that reads or writes the log; these handlers decode, check sizes and wake subscribers."""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Any

from ... import envelope
from ... import messages as m
from ...exceptions import BadRequest, PayloadTooLarge
from ...storage.channels import ENDED, ChannelLimits
from ..context import Context
from ..events import ChannelWatch
from ..views import channel_entry_view
from .common import check_wait

#: ``payloadtype`` of an append → ``type`` of the entry (the Go server stores "" as "data").
ENTRY_TYPES = {"": "data", "data": "data", "end": "end", "error": "error"}
#: A subscription's timeout when the client gives 0 (the Go server's default).
DEFAULT_TIMEOUT = 30
#: A subscription re-reads the log this often without a wake-up (a lost notification costs at most this).
RECHECK = 5.0
#: Payloads larger than this are decoded in a worker thread.
LARGE = 64 * 1024


def decode_payload(payload: list[int] | str | None) -> bytes:
    if payload is None:
        return b""
    if isinstance(payload, list):
        return bytes(payload)
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("Invalid payload: expected base64 text or a list of byte values (0-255)") from None


def limits(ctx: Context) -> ChannelLimits:
    s = ctx.settings
    return ChannelLimits(s.channel_max_entries, s.channel_rate, s.channel_burst)


async def channel_append(ctx: Context, msg: m.ChannelAppendMsg) -> Any:
    """channelappendmsg — the process's submitter or its assigned executor (approved members of its colony), on
    a channel its spec declares, until the process ends."""
    kind = ENTRY_TYPES.get(msg.payloadtype)
    if kind is None:
        raise BadRequest(f"Invalid payloadtype {msg.payloadtype[:64]!r}: expected '', 'data', 'end' or 'error'")
    raw = msg.payload
    large = raw is not None and len(raw) > LARGE
    data = await asyncio.to_thread(decode_payload, raw) if large else decode_payload(raw)
    limit = ctx.settings.channel_max_payload_bytes
    if len(data) > limit:
        raise PayloadTooLarge(f"Channel payload of {len(data)} bytes exceeds the limit of {limit} bytes "
                              "(COLONIES_CHANNEL_MAX_PAYLOAD_BYTES)")  # fmt: skip
    entry = {"sequence": msg.sequence, "inreplyto": msg.inreplyto, "type": kind, "payload": data}
    await ctx.storage.append_channel_entry(msg.processid, msg.name, ctx.caller, entry, limits(ctx), ctx.now())
    ctx.events.publish_channel(msg.processid, msg.name)
    return {}


async def channel_read(ctx: Context, msg: m.ChannelReadMsg) -> Any:
    """channelreadmsg — same callers as channelappendmsg, also after the process ended. Entries after the first
    ``afterseq`` of the log, at most ``limit`` (0: all that fit in one reply)."""
    budget = ctx.settings.channel_max_payload_bytes
    _, rows = await ctx.storage.read_channel(msg.processid, msg.name, ctx.caller, msg.afterseq, msg.limit, budget)
    return [channel_entry_view(row) for row in rows]


async def stream_channel(
    ctx: Context, msg: m.SubscribeChannelMsg, send: Callable[[bytes], Awaitable[None]]
) -> None:
    """subscribechannelmsg (WebSocket) — same callers as channelreadmsg. Sends the entries after ``afterseq``, then
    each new batch as it is appended (on this replica or another), until ``timeout`` seconds (0: 30) pass or the
    process ends; a last frame holding ``[]`` says the stream is over (the Go server sends it on timeout)."""
    timeout = msg.timeout or DEFAULT_TIMEOUT
    timeout = max(0, check_wait(timeout, ctx.settings.max_wait_timeout, "Subscription"))
    budget = ctx.settings.channel_max_payload_bytes
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    after = max(msg.afterseq, 0)
    watch = ChannelWatch(msg.processid, msg.name)
    ctx.events.watch_channel(watch)  # before the first read: nothing appended after it goes unnoticed
    try:
        while True:
            watch.event.clear()
            process, rows = await ctx.storage.read_channel(msg.processid, msg.name, ctx.caller, after, 0, budget)
            if rows:
                await send(envelope.reply("subscribechannelmsg", [channel_entry_view(row) for row in rows]))
                after += len(rows)
            elif process["state"] in ENDED:
                break  # read after the process was seen ended: nothing more will come
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            if not rows:
                try:
                    async with asyncio.timeout(min(remaining, RECHECK)):
                        await watch.event.wait()
                except TimeoutError:
                    pass
        await send(envelope.reply("subscribechannelmsg", []))
    finally:
        ctx.events.unwatch_channel(watch)

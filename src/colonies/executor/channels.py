"""The channels of a running process as its function sees them (``ctx.channel_append``, ``ctx.channel_read``):
signed with the executor's own key, numbered per channel, retried while the server is away or asks to slow down.

Plain functions run in threads and call the blocking methods; ``async def`` functions await the ``_async`` twins
(a blocking call from the event loop would stall every process, so it is refused).
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from typing import Any

from ..client.calls import as_channel_entries
from ..client.channels import stream_entries_async, subscribe_channel_frame
from ..client.models import AttrDict
from ..envelope import new_nonce
from ..exceptions import ColoniesError
from .api import ExecutorAPI
from .retry import Backoff, is_transient, landed

#: How long an append keeps retrying a busy (429) or unreachable server before its error reaches the function.
RETRY_FOR = 30.0


class ProcessChannels:
    """Appends and reads on the channels of one process (the ones its spec declares)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, api: ExecutorAPI, processid: str) -> None:
        self._loop = loop
        self._api = api
        self._processid = processid
        self._sequences: dict[str, int] = {}
        self._lock = threading.Lock()

    def _next_sequence(self, channel: str) -> int:
        with self._lock:
            self._sequences[channel] = self._sequences.get(channel, 0) + 1
            return self._sequences[channel]

    async def append_async(self, channel: str, payload: bytes | str, payload_type: str = "",
                           in_reply_to: int = 0) -> int:  # fmt: skip
        """Append one entry; returns the sequence number it was sent with."""
        data = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
        sequence = self._next_sequence(channel)
        nonce = new_nonce()  # kept across retries: an append whose reply was lost is not stored twice
        backoff = Backoff(0.05, 1.0)
        deadline = time.monotonic() + RETRY_FOR
        attempt = 0
        while True:
            try:
                await self._api.channel_append(self._processid, channel, sequence, data, payload_type, in_reply_to,
                                               nonce)  # fmt: skip
                return sequence
            except ColoniesError as exc:
                if landed(exc, attempt):
                    return sequence
                if not (exc.status == 429 or is_transient(exc)) or time.monotonic() > deadline:
                    raise
            attempt += 1
            await asyncio.sleep(backoff.next())

    async def read_async(self, channel: str, after_seq: int = 0, limit: int = 0,
                         wait: float = 0.0) -> list[AttrDict]:  # fmt: skip
        """Entries after the first ``after_seq``; with ``wait`` > 0 and none there yet, the next ones appended
        within ``wait`` seconds ([] if none)."""
        entries = as_channel_entries(await self._api.channel_read(self._processid, channel, after_seq, limit))
        if entries or wait <= 0:
            return entries
        rpc = self._api.rpc
        timeout = max(1, math.ceil(wait))
        frame = subscribe_channel_frame(self._processid, channel, after_seq, timeout, self._api.prvkey)
        batches = stream_entries_async(rpc.ws_url, rpc.ssl, frame, timeout)
        try:
            async for batch in batches:
                return batch[:limit] if limit > 0 else batch
        finally:
            await batches.aclose()
        return []

    def append(self, channel: str, payload: bytes | str, payload_type: str = "", in_reply_to: int = 0) -> int:
        return self._blocking("channel_append", self.append_async(channel, payload, payload_type, in_reply_to))

    def read(self, channel: str, after_seq: int = 0, limit: int = 0, wait: float = 0.0) -> list[AttrDict]:
        entries: list[AttrDict] = self._blocking("channel_read", self.read_async(channel, after_seq, limit, wait))
        return entries

    def _blocking(self, name: str, call: Any) -> Any:
        try:
            on_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            call.close()
            raise RuntimeError(f"ctx.{name} blocks: in an async function use await ctx.{name}_async(...)")
        return asyncio.run_coroutine_threadsafe(call, self._loop).result()

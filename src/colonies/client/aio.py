"""``AsyncColonies``: the same SDK methods as ``Colonies``, as coroutines (for executors and asyncio apps)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Self, TypeVar

from ..exceptions import ColoniesConnectionError, ColoniesError
from .api import ColoniesAPI
from .calls import WAIT_MARGIN, AsyncSender, Call, falls_back, run_program_async, use_legacy
from .channels import stream_entries_async, subscribe_channel_frame
from .client import FINAL_STATES
from .frames import parse_frame, subscribe_frame
from .models import AttrDict, Process
from .transport import AsyncRPCClient, Verify

T = TypeVar("T")


class AsyncColonies(AsyncSender, ColoniesAPI):
    """An asyncio client: ``await client.assign(colonyname, 10, prvkey)``; arguments as on ``Colonies``.

    Use ``async with AsyncColonies(...) as client`` (or ``await client.aclose()``) to release connections.
    """

    def __init__(
        self, host: str, port: int | str, tls: bool = False, native_crypto: bool = False, timeout: float = 60,
        verify: Verify = True,
    ) -> None:  # fmt: skip
        super().__init__(host, port, tls, native_crypto, timeout, verify)
        self._rpc = AsyncRPCClient(host, self.port, tls, timeout, verify)

    async def _send(self, call: Call[T]) -> T:
        """As ``Colonies._send``: older servers get the call's fallback (Call.legacy)."""
        if call.legacy is not None:
            if call.when_legacy and call.prvkey:
                await self._rpc.probe()
            if use_legacy(call, self._rpc):
                return await run_program_async(self._send, call.legacy())
        try:
            return call.parse(await self._rpc.call(call.payloadtype, call.msg, call.prvkey, call.timeout))
        except ColoniesError as exc:
            if not falls_back(call, self._rpc, exc):
                raise
        assert call.legacy is not None
        return await run_program_async(self._send, call.legacy())

    async def server_generation(self) -> str:
        """As ``Colonies.server_generation``."""
        await self._rpc.probe()
        return self._rpc.generation

    async def aclose(self) -> None:
        await self._rpc.aclose()

    # -- ColonyFS: the byte transfers run the synchronous client's code in a thread (boto3 blocks) -----------------

    async def _fs(self, method: str, *args: Any, **kwargs: Any) -> Any:
        from .client import Colonies

        def run() -> Any:
            with Colonies(self.host, self.port, self.tls, timeout=self.timeout, verify=self.verify) as client:
                return getattr(client, method)(*args, **kwargs)

        return await asyncio.to_thread(run)

    async def upload_file(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """As ``Colonies.upload_file``."""
        return await self._fs("upload_file", *args, **kwargs)  # type: ignore[no-any-return]

    async def upload_data(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return await self._fs("upload_data", *args, **kwargs)  # type: ignore[no-any-return]

    async def download_file(self, *args: Any, **kwargs: Any) -> str:
        return await self._fs("download_file", *args, **kwargs)  # type: ignore[no-any-return]

    async def download_data(self, *args: Any, **kwargs: Any) -> bytes:
        return await self._fs("download_data", *args, **kwargs)  # type: ignore[no-any-return]

    async def delete_file(self, *args: Any, **kwargs: Any) -> None:
        await self._fs("delete_file", *args, **kwargs)

    async def sync(self, *args: Any, **kwargs: Any) -> Any:
        return await self._fs("sync", *args, **kwargs)

    async def download_snapshot(self, *args: Any, **kwargs: Any) -> list[str]:
        return await self._fs("download_snapshot", *args, **kwargs)  # type: ignore[no-any-return]

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def wait(
        self,
        process: Process | Mapping[str, Any] | str,
        timeout: int,
        prvkey: str,
        state: int = ColoniesAPI.SUCCESSFUL,
    ) -> Process:
        """Wait until ``process`` reaches ``state`` (default SUCCESSFUL); ColoniesError 408 on timeout."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

        frame = subscribe_frame(process, timeout, state, prvkey)
        where = f"{self.host}:{self.port}"
        limit = max(timeout, 0) + WAIT_MARGIN
        try:
            async with connect(self.ws_url, ssl=self._rpc.ssl, open_timeout=self.timeout) as ws:
                await ws.send(frame)
                reply = await asyncio.wait_for(ws.recv(), limit)
        except TimeoutError:
            raise ColoniesError(f"No reply from {where} within {limit} s", 408) from None
        except ConnectionClosed as exc:
            raise ColoniesConnectionError(f"The server at {where} closed the subscription: {exc}") from None
        except (OSError, InvalidHandshake, InvalidURI) as exc:
            raise self._rpc._unreachable(exc) from None
        return parse_frame(reply)

    async def subscribe_channel(
        self, processid: str, channel_name: str, prvkey: str, after_seq: int = 0, timeout: int = 30,
        callback: Callable[[list[AttrDict]], Any] | None = None,
    ) -> list[AttrDict] | None:  # fmt: skip
        """As ``Colonies.subscribe_channel``; the callback may also be a coroutine function."""
        frame = subscribe_channel_frame(processid, channel_name, after_seq, timeout, prvkey)
        received: list[AttrDict] = []
        batches = stream_entries_async(self.ws_url, self._rpc.ssl, frame, timeout, self.timeout)
        try:
            async for entries in batches:
                if callback is None:
                    received.extend(entries)
                    continue
                result = callback(entries)
                if inspect.isawaitable(result):
                    result = await result
                if result is False:
                    break
        finally:
            await batches.aclose()
        return received if callback is None else None

    async def follow_channel(
        self, processid: str, channel_name: str, prvkey: str, after_seq: int = 0, timeout: int = 30,
        reconnect_for: float = 60.0,
    ) -> AsyncIterator[AttrDict]:  # fmt: skip
        """As ``Colonies.follow_channel``, an async iterator: ``async for entry in client.follow_channel(...)``."""
        after = after_seq
        away_since: float | None = None
        while True:
            try:
                ended = (await self.get_process(processid, prvkey)).state in FINAL_STATES
                frame = subscribe_channel_frame(processid, channel_name, after, timeout, prvkey)
                batches = stream_entries_async(self.ws_url, self._rpc.ssl, frame, timeout, self.timeout)
                try:
                    async for batch in batches:
                        away_since = None
                        after += len(batch)
                        for entry in batch:
                            yield entry
                finally:
                    await batches.aclose()
            except ColoniesConnectionError:
                away_since = away_since or time.monotonic()
                if time.monotonic() - away_since > reconnect_for:
                    raise
                await asyncio.sleep(0.5)
                continue
            away_since = None
            if ended:
                return

    async def find_process(self, nodename: str, processids: list[str], prvkey: str) -> Process | None:
        """The first of ``processids`` whose ``spec.nodename`` is ``nodename``, else None."""
        for processid in processids:
            process = await self.get_process(processid, prvkey)
            if process.spec.nodename == nodename:
                return process
        return None

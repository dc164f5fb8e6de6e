"""``AsyncColonies``: the same SDK methods as ``Colonies``, as coroutines (for executors and asyncio apps)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Self, TypeVar

from ..exceptions import ColoniesConnectionError, ColoniesError
from .api import ColoniesAPI
from .calls import WAIT_MARGIN, AsyncSender, Call
from .frames import parse_frame, subscribe_frame
from .models import Process
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
        return call.parse(await self._rpc.call(call.payloadtype, call.msg, call.prvkey, call.timeout))

    async def aclose(self) -> None:
        await self._rpc.aclose()

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

    async def find_process(self, nodename: str, processids: list[str], prvkey: str) -> Process | None:
        """The first of ``processids`` whose ``spec.nodename`` is ``nodename``, else None."""
        for processid in processids:
            process = await self.get_process(processid, prvkey)
            if process.spec.nodename == nodename:
                return process
        return None

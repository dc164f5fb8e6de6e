"""Channels over /pubsub: the signed ``subscribechannelmsg`` frame and the batches of entries the server streams
back, for ``subscribe_channel`` (sync and async) and the executor's ``ctx.channel_read(..., wait=...)``.

The server sends each batch of entries as one frame and ends the stream with a frame holding ``[]`` (on timeout,
and, on this server, when the process has ended); an error arrives as an error frame.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator
from typing import Any

from .. import envelope
from ..exceptions import ColoniesConnectionError, ColoniesError, ServerTooOld
from ..generations import is_unknown_type, requirement
from .calls import WAIT_MARGIN, as_channel_entries
from .models import AttrDict
from .transport import connection_error


def subscribe_channel_frame(processid: str, channel_name: str, after_seq: int, timeout: int, prvkey: str) -> str:
    msg = {"processid": processid, "name": channel_name, "afterseq": after_seq, "timeout": timeout}
    return envelope.build_request("subscribechannelmsg", msg, prvkey).decode()


def parse_entries(frame: str | bytes) -> list[AttrDict]:
    """One frame → its entries (payloads as bytes); [] ends the stream; an error frame raises ColoniesError."""
    try:
        is_error, payload = envelope.decode_reply(frame.encode() if isinstance(frame, str) else frame)
    except ValueError:
        raise ColoniesError("Unexpected frame from the server", 502) from None
    if is_error:
        message, status = str(payload.get("message", "Channel subscription error")), int(payload.get("status") or 500)
        if is_unknown_type(status, message):  # a server of the v1.7.8 generation
            raise ServerTooOld("subscribechannelmsg", "the server", message, requirement("subscribechannelmsg"), status)
        raise ColoniesError(message, status)
    return as_channel_entries(payload)


def _where(url: str) -> tuple[str, int]:
    hostport = url.split("://", 1)[-1].split("/", 1)[0]
    host, _, port = hostport.rpartition(":")
    return host, int(port or 0)


def stream_entries(url: str, tls: ssl.SSLContext | None, frame: str, timeout: int,
                   open_timeout: float = 60) -> Iterator[list[AttrDict]]:  # fmt: skip
    """Each non-empty batch the server sends after ``frame`` until it ends the stream (blocking)."""
    from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
    from websockets.sync.client import connect

    limit = max(timeout, 0) + WAIT_MARGIN  # the server ends the stream at its timeout; this is the margin
    try:
        with connect(url, ssl=tls, open_timeout=open_timeout, max_size=None) as ws:
            ws.send(frame)
            while entries := parse_entries(ws.recv(timeout=limit)):
                yield entries
    except TimeoutError:
        raise ColoniesError(f"No reply from {url} within {limit} s", 408) from None
    except ConnectionClosed as exc:
        raise ColoniesConnectionError(f"The server at {url} closed the channel subscription: {exc}") from None
    except (OSError, InvalidHandshake, InvalidURI) as exc:
        raise connection_error(*_where(url), exc, tls is not None) from None


async def stream_entries_async(url: str, tls: ssl.SSLContext | None, frame: str, timeout: int,
                               open_timeout: float = 60) -> AsyncIterator[list[AttrDict]]:  # fmt: skip
    """The asyncio twin of :func:`stream_entries`."""
    import asyncio

    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

    limit = max(timeout, 0) + WAIT_MARGIN
    try:
        async with connect(url, ssl=tls, open_timeout=open_timeout, max_size=None) as ws:
            await ws.send(frame)
            while entries := parse_entries(await asyncio.wait_for(ws.recv(), limit)):
                yield entries
    except TimeoutError:
        raise ColoniesError(f"No reply from {url} within {limit} s", 408) from None
    except ConnectionClosed as exc:
        raise ColoniesConnectionError(f"The server at {url} closed the channel subscription: {exc}") from None
    except (OSError, InvalidHandshake, InvalidURI) as exc:
        raise connection_error(*_where(url), exc, tls is not None) from None


def collect(batches: Iterator[list[AttrDict]], callback: Any) -> list[AttrDict] | None:
    """pycolonies' contract: with a callback, call it per batch until it returns False (None is returned); without
    one, return every entry received."""
    received: list[AttrDict] = []
    try:
        for entries in batches:
            if callback is None:
                received.extend(entries)
            elif callback(entries) is False:
                break
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()  # leaves the subscription's socket now, not when the generator is collected
    return received if callback is None else None

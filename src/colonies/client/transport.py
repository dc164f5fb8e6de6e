"""Signed RPC over HTTP: build the envelope, POST it, turn error envelopes into ColoniesError."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from .. import envelope
from ..exceptions import ColoniesConnectionError, ColoniesError


def _decode(response: httpx.Response, host: str, port: int) -> Any:
    try:
        is_error, payload = envelope.decode_reply(response.content)
    except (orjson.JSONDecodeError, ValueError, TypeError, AttributeError):
        raise ColoniesConnectionError(f"Unexpected reply from {host}:{port} (HTTP {response.status_code})") from None
    if is_error:
        raise ColoniesError(str(payload.get("message", "")), int(payload.get("status") or response.status_code))
    return payload


def _unreachable(host: str, port: int, exc: Exception) -> ColoniesConnectionError:
    return ColoniesConnectionError(f"Cannot reach the Colonies server at {host}:{port}: {exc or type(exc).__name__}")


class _Endpoint:
    """Where a client talks to: the /api URL, the /pubsub URL and the default timeout."""

    def __init__(
        self, host: str = "localhost", port: int = 50080, tls: bool = False, timeout: float = 60.0,
        verify: bool | str = True,
    ) -> None:  # fmt: skip
        scheme = "https" if tls else "http"
        self.host, self.port, self.tls = host, port, tls
        self.url = f"{scheme}://{host}:{port}/api"
        self.ws_url = f"{'wss' if tls else 'ws'}://{host}:{port}/pubsub"
        self.timeout = timeout
        self.verify = verify


class RPCClient(_Endpoint):
    """One connection pool to one server; ``call`` sends a message signed with the given key."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._http = httpx.Client(timeout=self.timeout, verify=self.verify)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RPCClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send_raw(self, body: bytes, timeout: float | None = None) -> httpx.Response:
        try:
            return self._http.post(self.url, content=body, timeout=timeout or self.timeout)
        except httpx.HTTPError as exc:
            raise _unreachable(self.host, self.port, exc) from None

    def call(self, payloadtype: str, msg: dict[str, Any], prvkey: str | None, timeout: float | None = None) -> Any:
        """Send one RPC and return the decoded reply payload; raises ColoniesError(status, message)."""
        response = self.send_raw(envelope.build_request(payloadtype, msg, prvkey), timeout)
        return _decode(response, self.host, self.port)


class AsyncRPCClient(_Endpoint):
    """The asyncio twin of RPCClient (used by the executor framework and AsyncColonies)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._http = httpx.AsyncClient(timeout=self.timeout, verify=self.verify)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncRPCClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def call(
        self, payloadtype: str, msg: dict[str, Any], prvkey: str | None, timeout: float | None = None
    ) -> Any:
        body = envelope.build_request(payloadtype, msg, prvkey)
        try:
            response = await self._http.post(self.url, content=body, timeout=timeout or self.timeout)
        except httpx.HTTPError as exc:
            raise _unreachable(self.host, self.port, exc) from None
        return _decode(response, self.host, self.port)

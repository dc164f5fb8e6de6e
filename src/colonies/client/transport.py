"""Signed RPC over HTTP: build the envelope, POST it, turn error envelopes into ColoniesError.

Also the TLS trust settings every client connection shares (HTTP and the /pubsub WebSocket): one
``ssl.SSLContext`` per client, built from ``verify`` by :func:`tls_context`.
"""

from __future__ import annotations

import http.client
import os
import ssl
from typing import Any, Protocol, TypeAlias

import httpx
import orjson

from .. import envelope
from ..exceptions import ColoniesConnectionError, ColoniesError, ServerTooOld
from ..generations import is_unknown_type, requirement
from .pool import ERRORS, AsyncConnectionPool, ConnectionPool, proxied

#: What ``verify`` may be: True (system CA store), False (no check), a CA bundle file or directory, or a context.
Verify: TypeAlias = "bool | str | os.PathLike[str] | ssl.SSLContext"


class ColoniesConfigError(ColoniesError, ValueError):
    """A ``COLONIES_*`` environment variable or a client setting (e.g. the CA bundle) is missing or malformed."""

    status = 400


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def verify_from_env() -> bool | str:
    """``verify`` as the environment asks: False if ``COLONIES_TLS_INSECURE`` (or the CLI's older
    ``COLONIES_SKIP_TLS_VERIFY``) is true, else the CA bundle in ``COLONIES_TLS_CA``, else True."""
    if _env_flag("COLONIES_TLS_INSECURE") or _env_flag("COLONIES_SKIP_TLS_VERIFY"):
        return False
    return os.environ.get("COLONIES_TLS_CA", "").strip() or True


def tls_context(verify: Verify = True) -> ssl.SSLContext:
    """The client-side TLS context for ``verify``.

    * True: the system's CA store (OpenSSL's default paths, so ``SSL_CERT_FILE``/``SSL_CERT_DIR`` apply), plus
      certifi's bundle when it is installed (what httpx trusted on its own before).
    * a path: only the CA certificate(s) in that PEM file (or ``c_rehash``-ed directory); host names are checked.
    * False: no certificate or host name check at all (testing only).
    * an ``ssl.SSLContext``: used as it is.

    Raises ColoniesConfigError if the CA bundle cannot be read.
    """
    if isinstance(verify, ssl.SSLContext):
        return verify
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if verify is True:
        context = ssl.create_default_context()
        try:
            import certifi

            context.load_verify_locations(cafile=certifi.where())
        except (ImportError, OSError, ssl.SSLError):  # pragma: no cover - certifi comes with httpx
            pass
        return context
    path = os.fspath(verify)
    try:
        if os.path.isdir(path):
            return ssl.create_default_context(capath=path)
        return ssl.create_default_context(cafile=path)
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or str(exc)
        raise ColoniesConfigError(f"Cannot use {path!r} as the CA certificate bundle: {reason}") from None


class Reply(Protocol):
    """An HTTP reply as the client reads it: ``pool.Reply`` or an ``httpx.Response``."""

    @property
    def status_code(self) -> int: ...

    @property
    def content(self) -> bytes: ...


def _decode(response: Reply, host: str, port: int) -> Any:
    try:
        is_error, payload = envelope.decode_reply(response.content)
    except (orjson.JSONDecodeError, ValueError, TypeError, AttributeError):
        raise ColoniesConnectionError(f"Unexpected reply from {host}:{port} (HTTP {response.status_code})") from None
    if is_error:
        raise ColoniesError(str(payload.get("message", "")), int(payload.get("status") or response.status_code))
    return payload


def _ssl_error(exc: BaseException) -> ssl.SSLError | None:
    """The ssl error behind ``exc`` (httpx and httpcore wrap it as the cause of their ConnectError), if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _garbled(exc: BaseException) -> bool:
    """Whether the server answered something that is not HTTP, as a TLS port does to a plain request."""
    from websockets.exceptions import InvalidMessage

    return isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, InvalidMessage, http.client.BadStatusLine,
                            ConnectionResetError))  # fmt: skip


def connection_error(host: str, port: int, exc: BaseException, tls: bool = True) -> ColoniesConnectionError:
    """The ColoniesConnectionError for a failed HTTP request or WebSocket connection, saying what went wrong:
    an untrusted certificate, a failed TLS handshake, or an unreachable server."""
    where = f"{host}:{port}"
    err = _ssl_error(exc)
    if isinstance(err, ssl.SSLCertVerificationError):
        reason = (err.verify_message or err.reason or str(err)).rstrip(".")  # OpenSSL's own full stop, not two
        return ColoniesConnectionError(
            f"The TLS certificate of the Colonies server at {where} could not be verified: {reason}. Trust its CA "
            "with verify='ca.pem' (COLONIES_TLS_CA, CLI --ca-cert), or skip the check with verify=False "
            "(COLONIES_TLS_INSECURE=true, CLI --insecure)"
        )
    if err is not None:
        reason = err.reason.lower().replace("_", " ") if err.reason else str(err)  # WRONG_VERSION_NUMBER
        return ColoniesConnectionError(
            f"TLS handshake with the Colonies server at {where} failed: {reason} (does it serve TLS on that port?)"
        )
    hint = ""
    if not tls and _garbled(exc):
        hint = " (if the server uses TLS, connect with tls=True / COLONIES_SERVER_TLS=true)"
    return ColoniesConnectionError(f"Cannot reach the Colonies server at {where}: {exc or type(exc).__name__}{hint}")


class _Endpoint:
    """Where a client talks to: the /api URL, the /pubsub URL and the default timeout."""

    def __init__(
        self, host: str = "localhost", port: int = 50080, tls: bool = False, timeout: float = 60.0,
        verify: Verify = True,
    ) -> None:  # fmt: skip
        scheme = "https" if tls else "http"
        self.host, self.port, self.tls = host, port, tls
        self.url = f"{scheme}://{host}:{port}/api"
        self.ws_url = f"{'wss' if tls else 'ws'}://{host}:{port}/pubsub"
        self.timeout = timeout
        self.verify = verify
        #: The TLS context both the HTTP client and the WebSocket use (None without TLS).
        self.ssl: ssl.SSLContext | None = tls_context(verify) if tls else None
        #: Payload types this server refused as unknown → its answer; sent once, then refused here.
        self.refused: dict[str, str] = {}

    def _unreachable(self, exc: BaseException) -> ColoniesConnectionError:
        return connection_error(self.host, self.port, exc, self.tls)

    #: The server's ``instanceid`` (None until asked; "" if it has none, e.g. a Go server): every signed request
    #: names it as its ``audience``, so a captured request is refused by any other server that knows the key.
    _audience: str | None = None
    #: The server's generation, learned with the audience: True if it refused ``getserverinfomsg`` (403: the
    #: original v1.7.8 has no such message, and answers only ``versionmsg`` unsigned), False if it answered, None
    #: before the first signed call. Clients then use v1.7.8's shapes where a newer one is silently ignored.
    legacy: bool | None = None

    def _learn_audience(self, response: Reply) -> None:
        try:
            info = _decode(response, self.host, self.port)
            self.legacy = False
        except ColoniesError as exc:
            info = None
            self.legacy = exc.status == 403
        found = info.get("instanceid") if isinstance(info, dict) else None
        self._audience = found if isinstance(found, str) and len(found) <= 64 else ""

    def _bind(self, msg: dict[str, Any], prvkey: str | None) -> dict[str, Any]:
        return {"audience": self._audience, **msg} if prvkey and self._audience else msg

    @property
    def generation(self) -> str:
        """What the server is, as far as this client learned (after ``probe``): "1.7.8" (no ``getserverinfomsg``),
        "colonies-python" (its server info names an ``instanceid``), "1.9" (the newer original), or "" before."""
        if self.legacy is None:
            return ""
        if self.legacy:
            return "1.7.8"
        return "colonies-python" if self._audience else "1.9"

    def _known_refusal(self, payloadtype: str) -> None:
        """Refuse here, without a round trip, a message this server already refused as unknown."""
        if payloadtype in self.refused:
            raise ServerTooOld(payloadtype, f"{self.host}:{self.port}", self.refused[payloadtype],
                               requirement(payloadtype))  # fmt: skip

    def _classify(self, payloadtype: str, exc: ColoniesError) -> ColoniesError:
        """A refusal of the message itself (the server does not know it) → ServerTooOld, remembered; an unsigned
        message refused with 403 is one too (v1.7.8 checks the signature first). Anything else as it is."""
        unsigned = payloadtype in _UNSIGNED and exc.status == 403
        if not (unsigned or is_unknown_type(exc.status, exc.message)):
            return exc
        self.refused[payloadtype] = exc.message
        return ServerTooOld(payloadtype, f"{self.host}:{self.port}", exc.message, requirement(payloadtype),
                            exc.status)  # fmt: skip


def _wrong_audience(exc: ColoniesError) -> bool:
    return exc.status == 403 and "signed for another server" in str(exc)


_HEADERS = {"content-type": "application/json"}
_INFO = envelope.build_request("getserverinfomsg", {}, None)
#: Unsigned messages newer than v1.7.8 (a 403 for one of them is v1.7.8's signature check refusing it).
_UNSIGNED = frozenset({"getserverinfomsg"})


class RPCClient(_Endpoint):
    """One connection pool to one server; ``call`` sends a message signed with the given key.

    The pool is ``http.client``'s (``pool.py``: a third of httpx's CPU per call); httpx only when a proxy is
    configured for the server."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pool: ConnectionPool | None = None
        self._http: httpx.Client | None = None
        if proxied("https" if self.tls else "http", self.host):
            self._http = httpx.Client(timeout=self.timeout, verify=self.ssl if self.ssl is not None else True,
                                      headers=_HEADERS)  # fmt: skip
        else:
            self._pool = ConnectionPool(self.host, self.port, self.ssl, _HEADERS)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
        if self._http is not None:
            self._http.close()

    def __enter__(self) -> RPCClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send_raw(self, body: bytes, timeout: float | None = None) -> Reply:
        try:
            if self._pool is not None:
                return self._pool.post("/api", body, timeout or self.timeout)
            assert self._http is not None
            return self._http.post(self.url, content=body, timeout=timeout or self.timeout)
        except (httpx.HTTPError, *ERRORS) as exc:
            raise self._unreachable(exc) from None

    def probe(self) -> bool | None:
        """Learn the server's audience and generation (once); returns ``legacy``."""
        if self._audience is None:
            self._learn_audience(self.send_raw(_INFO))
        return self.legacy

    def call(self, payloadtype: str, msg: dict[str, Any], prvkey: str | None, timeout: float | None = None) -> Any:
        """Send one RPC and return the decoded reply payload; raises ColoniesError(status, message), ServerTooOld
        if the server does not know the message."""
        self._known_refusal(payloadtype)
        if prvkey:
            self.probe()
        try:
            response = self.send_raw(envelope.build_request(payloadtype, self._bind(msg, prvkey), prvkey), timeout)
            return _decode(response, self.host, self.port)
        except ColoniesError as exc:
            if not _wrong_audience(exc):
                raise self._classify(payloadtype, exc) from None
        self._learn_audience(self.send_raw(_INFO))  # the server's database was replaced: sign for the new one
        response = self.send_raw(envelope.build_request(payloadtype, self._bind(msg, prvkey), prvkey), timeout)
        return _decode(response, self.host, self.port)


class AsyncRPCClient(_Endpoint):
    """The asyncio twin of RPCClient (used by the executor framework and AsyncColonies): asyncio streams
    (``pool.AsyncConnectionPool``), httpx only when a proxy is configured for the server."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pool: AsyncConnectionPool | None = None
        self._http: httpx.AsyncClient | None = None
        if proxied("https" if self.tls else "http", self.host):
            self._http = httpx.AsyncClient(timeout=self.timeout, verify=self.ssl if self.ssl is not None else True,
                                           headers=_HEADERS)  # fmt: skip
        else:
            self._pool = AsyncConnectionPool(self.host, self.port, self.ssl, _HEADERS)

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
        if self._http is not None:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncRPCClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _post(self, body: bytes, timeout: float | None = None) -> Reply:
        try:
            if self._pool is not None:
                return await self._pool.post("/api", body, timeout or self.timeout)
            assert self._http is not None
            return await self._http.post(self.url, content=body, timeout=timeout or self.timeout)
        except (httpx.HTTPError, *ERRORS) as exc:
            raise self._unreachable(exc) from None

    async def probe(self) -> bool | None:
        """Learn the server's audience and generation (once); returns ``legacy``."""
        if self._audience is None:
            self._learn_audience(await self._post(_INFO))
        return self.legacy

    async def call(
        self, payloadtype: str, msg: dict[str, Any], prvkey: str | None, timeout: float | None = None
    ) -> Any:
        self._known_refusal(payloadtype)
        if prvkey:
            await self.probe()
        try:
            response = await self._post(envelope.build_request(payloadtype, self._bind(msg, prvkey), prvkey), timeout)
            return _decode(response, self.host, self.port)
        except ColoniesError as exc:
            if not _wrong_audience(exc):
                raise self._classify(payloadtype, exc) from None
        self._learn_audience(await self._post(_INFO))
        response = await self._post(envelope.build_request(payloadtype, self._bind(msg, prvkey), prvkey), timeout)
        return _decode(response, self.host, self.port)

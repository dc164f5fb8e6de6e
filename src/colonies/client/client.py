"""``Colonies``: the synchronous SDK (pycolonies-compatible), and ``colonies_client()`` from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Self, TypeVar

from ..exceptions import ColoniesConnectionError, ColoniesError
from .api import ColoniesAPI
from .calls import WAIT_MARGIN, Call, SyncSender
from .frames import parse_frame, subscribe_frame
from .models import Process
from .transport import ColoniesConfigError, RPCClient, Verify, _env_flag, verify_from_env

__all__ = ["Colonies", "ColoniesConfigError", "colonies_client"]

T = TypeVar("T")


class Colonies(SyncSender, ColoniesAPI):
    """A blocking client for one Colonies server; every RPC method is listed on ``ColoniesAPI``.

    Parameters
    ----------
    host, port:
        The server; requests go to ``http[s]://host:port/api``, ``wait`` uses ``ws[s]://host:port/pubsub``.
    tls:
        Use HTTPS and WSS; the server's certificate is verified (see ``verify``).
    native_crypto:
        Accepted for pycolonies compatibility and ignored (signing always uses libsecp256k1).
    timeout:
        Seconds per HTTP request; long-polls (``assign``) get their own timeout plus a margin.
    verify:
        How the server's TLS certificate is checked: True (default: the system's CA store), a path to a CA
        bundle (PEM) to trust instead, e.g. the CA of a self-signed server certificate, an ``ssl.SSLContext``, or
        False to skip the check (testing only). A certificate that fails the check raises
        ColoniesConnectionError saying so; an unreadable CA bundle raises ColoniesConfigError here.
    """

    def __init__(
        self, host: str, port: int | str, tls: bool = False, native_crypto: bool = False, timeout: float = 60,
        verify: Verify = True,
    ) -> None:  # fmt: skip
        super().__init__(host, port, tls, native_crypto, timeout, verify)
        self._rpc = RPCClient(host, self.port, tls, timeout, verify)

    def _send(self, call: Call[T]) -> T:
        return call.parse(self._rpc.call(call.payloadtype, call.msg, call.prvkey, call.timeout))

    def close_connection(self) -> None:
        """Close the HTTP connection pool (``close`` is taken: it closes a process, as in pycolonies)."""
        self._rpc.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close_connection()

    def wait(
        self,
        process: Process | Mapping[str, Any] | str,
        timeout: int,
        prvkey: str,
        state: int = ColoniesAPI.SUCCESSFUL,
    ) -> Process:
        """Block until ``process`` reaches ``state`` (default SUCCESSFUL) and return it as it is then.

        ``process`` may be a Process, a process dict or a process id. Raises ColoniesError with status 408 if
        ``timeout`` seconds pass first (also when the process ends in another state, e.g. FAILED while waiting
        for SUCCESSFUL).
        """
        from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
        from websockets.sync.client import connect

        frame = subscribe_frame(process, timeout, state, prvkey)
        where = f"{self.host}:{self.port}"
        try:
            with connect(self.ws_url, ssl=self._rpc.ssl, open_timeout=self.timeout) as ws:
                ws.send(frame)
                reply = ws.recv(timeout=max(timeout, 0) + WAIT_MARGIN)
        except TimeoutError:
            raise ColoniesError(
                f"No reply from {where} within {max(timeout, 0) + WAIT_MARGIN} s", 408
            ) from None
        except ConnectionClosed as exc:
            raise ColoniesConnectionError(f"The server at {where} closed the subscription: {exc}") from None
        except (OSError, InvalidHandshake, InvalidURI) as exc:
            raise self._rpc._unreachable(exc) from None
        return parse_frame(reply)

    def find_process(self, nodename: str, processids: list[str], prvkey: str) -> Process | None:
        """The first of ``processids`` whose ``spec.nodename`` is ``nodename``, else None."""
        for processid in processids:
            process = self.get_process(processid, prvkey)
            if process.spec.nodename == nodename:
                return process
        return None


def colonies_client(native_crypto: bool = False) -> tuple[Colonies, str, str, str, str]:
    """A client from the environment: ``(client, colonyname, colony_prvkey, executorname, prvkey)``.

    Reads COLONIES_SERVER_HOST, COLONIES_SERVER_PORT, COLONIES_SERVER_TLS (or COLONIES_TLS, which the Go tools
    use), COLONIES_COLONY_NAME, COLONIES_COLONY_PRVKEY, COLONIES_EXECUTOR_NAME and COLONIES_PRVKEY; with TLS also
    COLONIES_TLS_CA (a CA bundle to verify the server's certificate with, instead of the system's CA store) and
    COLONIES_TLS_INSECURE ("true": do not verify the certificate).

    Mandatory: COLONIES_SERVER_HOST, COLONIES_SERVER_PORT, COLONIES_COLONY_NAME, and at least one key,
    COLONIES_PRVKEY or COLONIES_COLONY_PRVKEY (an executor that registers itself has only the colony key). The
    others default to "" (TLS to off). Raises ColoniesConfigError naming the missing or malformed variable.
    """
    missing = [
        n
        for n in ("COLONIES_SERVER_HOST", "COLONIES_SERVER_PORT", "COLONIES_COLONY_NAME")
        if not os.environ.get(n)
    ]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise ColoniesConfigError(f"Environment variable{plural} not set: {', '.join(missing)}")
    if not os.environ.get("COLONIES_PRVKEY") and not os.environ.get("COLONIES_COLONY_PRVKEY"):
        raise ColoniesConfigError("Environment variable not set: COLONIES_PRVKEY (or COLONIES_COLONY_PRVKEY)")
    port_text = os.environ["COLONIES_SERVER_PORT"]
    try:
        port = int(port_text)
    except ValueError:
        raise ColoniesConfigError(
            f"Environment variable COLONIES_SERVER_PORT is not a port number: {port_text!r}"
        ) from None
    tls = (
        _env_flag("COLONIES_SERVER_TLS")
        if os.environ.get("COLONIES_SERVER_TLS")
        else _env_flag("COLONIES_TLS")
    )
    client = Colonies(os.environ["COLONIES_SERVER_HOST"], port, tls, native_crypto=native_crypto,
                      verify=verify_from_env())  # fmt: skip
    return (
        client,
        os.environ["COLONIES_COLONY_NAME"],
        os.environ.get("COLONIES_COLONY_PRVKEY", ""),
        os.environ.get("COLONIES_EXECUTOR_NAME", ""),
        os.environ.get("COLONIES_PRVKEY", ""),
    )

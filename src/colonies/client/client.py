"""``Colonies``: the synchronous SDK (pycolonies-compatible), and ``colonies_client()`` from the environment."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Self, TypeVar

from ..exceptions import ColoniesConnectionError, ColoniesError
from .api import ColoniesAPI
from .calls import WAIT_MARGIN, Call, SyncSender, falls_back, run_program, use_legacy
from .channels import collect, stream_entries, subscribe_channel_frame
from .frames import parse_frame, subscribe_frame
from .models import AttrDict, Process
from .transport import ColoniesConfigError, RPCClient, Verify, _env_flag, verify_from_env

__all__ = ["Colonies", "ColoniesConfigError", "colonies_client"]

T = TypeVar("T")
#: SUCCESSFUL, FAILED, CANCELLED: a process in one of them takes no more channel entries.
FINAL_STATES = frozenset({2, 3, 4})


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
        """Send ``call``; against an older server, do what it asks with that server's messages (Call.legacy)."""
        if call.legacy is not None:
            if call.when_legacy and call.prvkey:
                self._rpc.probe()
            if use_legacy(call, self._rpc):
                return run_program(self._send, call.legacy())
        try:
            return call.parse(self._rpc.call(call.payloadtype, call.msg, call.prvkey, call.timeout))
        except ColoniesError as exc:
            if not falls_back(call, self._rpc, exc):
                raise
        assert call.legacy is not None
        return run_program(self._send, call.legacy())

    # -- ColonyFS: bytes in S3 or COLONIES_FS_DIR, metadata on the server (pycolonies' names and argument order) ----

    def upload_file(self, colonyname: str, prvkey: str, filepath: str | None = None,
                    label: str | None = None) -> dict[str, Any]:  # fmt: skip
        """Upload a local file under ``label``; its metadata (a new revision if the name exists)."""
        from .. import fs

        return fs.upload_file(self, colonyname, prvkey, _given(filepath, "filepath"), label or "/")

    def upload_data(self, colonyname: str, prvkey: str, filename: str | None = None, data: bytes | None = None,
                    label: str | None = None) -> dict[str, Any]:  # fmt: skip
        from .. import fs

        return fs.upload_data(self, colonyname, prvkey, _given(filename, "filename"), data or b"", label or "/")

    def download_file(self, colonyname: str, prvkey: str, dst: str | None = None, label: str | None = None,
                      fileid: str | None = None, filename: str | None = None, latest: bool = True) -> str:  # fmt: skip
        """Download to ``dst``/name (checksum verified); the path written."""
        from .. import fs

        return fs.download_file(self, colonyname, prvkey, dst, label, fileid, filename, latest)

    def download_data(self, colonyname: str, prvkey: str, label: str | None = None, fileid: str | None = None,
                      filename: str | None = None, latest: bool = True) -> bytes:  # fmt: skip
        from .. import fs

        return fs.download_data(self, colonyname, prvkey, label, fileid, filename, latest)

    def delete_file(self, colonyname: str, prvkey: str, label: str | None = None, fileid: str | None = None,
                    filename: str | None = None) -> None:  # fmt: skip
        """Remove a revision (by id) or every revision of a name: bytes from the store, then the metadata."""
        from .. import fs

        fs.delete_file(self, colonyname, prvkey, label, fileid, filename)

    def sync(self, dir: str, label: str, keeplocal: bool, colonyname: str, prvkey: str,  # noqa: A002 - pycolonies
             dry: bool = False) -> Any:  # fmt: skip
        """Make ``dir`` and ``label`` the same (see colonies.fs.sync); returns the plan it carried out."""
        from .. import fs

        return fs.sync(self, colonyname, prvkey, dir, label, keeplocal, dry=dry)

    def download_snapshot(self, colonyname: str, prvkey: str, dir: str, snapshotid: str = "",  # noqa: A002
                          name: str = "") -> list[str]:  # fmt: skip
        from .. import fs

        return [str(p) for p in fs.download_snapshot(self, colonyname, prvkey, dir, snapshotid, name)]

    def server_generation(self) -> str:
        """Which server this is: "1.7.8" (the original's older generation), "1.9" (the newer original) or
        "colonies-python"; asked once per client (``getserverinfomsg``)."""
        self._rpc.probe()
        return self._rpc.generation

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

    def subscribe_channel(
        self, processid: str, channel_name: str, prvkey: str, after_seq: int = 0, timeout: int = 30,
        callback: Callable[[list[AttrDict]], Any] | None = None,
    ) -> list[AttrDict] | None:  # fmt: skip
        """Follow a process's channel over /pubsub (pycolonies' names and argument order).

        The server sends the entries after the first ``after_seq`` of the log, then new ones as they are
        appended, for ``timeout`` seconds (0: 30) or until the process ends. Each entry has ``sequence``,
        ``timestamp``, ``senderid``, ``payload`` (bytes), ``type`` and, when set, ``inreplyto``. With a
        ``callback`` it is called with each batch until it returns False (and None is returned); without one,
        every entry received is returned. Raises ColoniesError for a refusal (e.g. 403 for a caller that is
        neither the process's submitter nor its executor) and 408 if the server goes silent.
        """
        frame = subscribe_channel_frame(processid, channel_name, after_seq, timeout, prvkey)
        return collect(stream_entries(self.ws_url, self._rpc.ssl, frame, timeout, self.timeout), callback)

    def follow_channel(
        self, processid: str, channel_name: str, prvkey: str, after_seq: int = 0, timeout: int = 30,
        reconnect_for: float = 60.0,
    ) -> Iterator[AttrDict]:  # fmt: skip
        """Every entry of a channel from ``after_seq`` on, as it is appended, until the process has ended and
        its last entry was yielded. Subscribes again whenever a subscription of ``timeout`` seconds runs out, and
        when the server goes away (a restart, another replica behind the same address) for up to
        ``reconnect_for`` seconds; entries are counted, so none is missed or repeated."""
        after = after_seq
        away_since: float | None = None
        while True:
            try:
                ended = self.get_process(processid, prvkey).state in FINAL_STATES
                frame = subscribe_channel_frame(processid, channel_name, after, timeout, prvkey)
                for batch in stream_entries(self.ws_url, self._rpc.ssl, frame, timeout, self.timeout):
                    away_since = None
                    after += len(batch)
                    yield from batch
            except ColoniesConnectionError:
                away_since = away_since or time.monotonic()
                if time.monotonic() - away_since > reconnect_for:
                    raise
                time.sleep(0.5)
                continue
            away_since = None
            if ended:  # that subscription began after the end, so it held everything
                return

    def find_process(self, nodename: str, processids: list[str], prvkey: str) -> Process | None:
        """The first of ``processids`` whose ``spec.nodename`` is ``nodename``, else None."""
        for processid in processids:
            process = self.get_process(processid, prvkey)
            if process.spec.nodename == nodename:
                return process
        return None


def colonies_client(native_crypto: bool = False) -> tuple[Colonies, str, str, str, str]:
    """A client from the environment: ``(client, colonyname, colony_prvkey, executorname, prvkey)``.

    Reads COLONIES_SERVER_HOST, COLONIES_SERVER_PORT, COLONIES_SERVER_TLS or COLONIES_TLS (the precedence of
    :mod:`colonies.environment`, shared with the CLI and executors), COLONIES_COLONY_NAME, COLONIES_COLONY_PRVKEY, COLONIES_EXECUTOR_NAME and COLONIES_PRVKEY; with TLS also
    COLONIES_TLS_CA (a CA bundle to verify the server's certificate with, instead of the system's CA store) and
    COLONIES_TLS_INSECURE ("true": do not verify the certificate).

    Mandatory: COLONIES_SERVER_HOST, COLONIES_SERVER_PORT, COLONIES_COLONY_NAME, and at least one key,
    COLONIES_PRVKEY or COLONIES_COLONY_PRVKEY (an executor that registers itself has only the colony key). The
    others default to "" (TLS to off). Raises ColoniesConfigError naming the missing or malformed variable.
    """
    from .. import environment as env

    missing = [n for n in ("COLONIES_SERVER_HOST", "COLONIES_COLONY_NAME") if not os.environ.get(n)]
    if not any(os.environ.get(n) for n in env.PORT):
        missing.insert(1, "COLONIES_SERVER_PORT")
    if missing:
        plural = "s" if len(missing) > 1 else ""
        raise ColoniesConfigError(f"Environment variable{plural} not set: {', '.join(missing)}")
    if not os.environ.get("COLONIES_PRVKEY") and not os.environ.get("COLONIES_COLONY_PRVKEY"):
        raise ColoniesConfigError("Environment variable not set: COLONIES_PRVKEY (or COLONIES_COLONY_PRVKEY)")
    try:  # the same precedence as the CLI and executors (colonies.environment)
        port, tls = int(env.port().text), env.flag(env.tls())
    except env.BadEnvironment as exc:
        raise ColoniesConfigError(f"Environment variable {exc}") from None
    client = Colonies(os.environ["COLONIES_SERVER_HOST"], port, tls, native_crypto=native_crypto,
                      verify=verify_from_env())  # fmt: skip
    return (
        client,
        os.environ["COLONIES_COLONY_NAME"],
        os.environ.get("COLONIES_COLONY_PRVKEY", ""),
        os.environ.get("COLONIES_EXECUTOR_NAME", ""),
        os.environ.get("COLONIES_PRVKEY", ""),
    )


def _given(value: str | None, what: str) -> str:
    if not value:
        raise ValueError(f"{what} is required")
    return value

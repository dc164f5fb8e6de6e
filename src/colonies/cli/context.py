"""The CLI's effective configuration: the original's ``COLONIES_*`` environment, overridden by root flags.

Commands never read ``os.environ`` themselves: they ask :func:`get_config` for a value and get one clear
:class:`CLIError` naming the variable when it is missing, so every command fails the same way.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..crypto import CryptoError, id_from_prvkey
from ..keys import KeySourceError, peek_key, read_key_file

if TYPE_CHECKING:
    from ..client import Colonies

_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")

#: Which variable holds which key, so errors can name it.
KEY_VARS = {
    "prvkey": "COLONIES_PRVKEY",
    "colony_prvkey": "COLONIES_COLONY_PRVKEY",
    "server_prvkey": "COLONIES_SERVER_PRVKEY",
}


class CLIError(Exception):
    """A user mistake or an unusable environment: printed as one ``Error:`` line, exit code 1."""


def _env_bool(*names: str) -> bool | None:
    for name in names:
        value = os.environ.get(name, "").strip().lower()
        if value:
            return value in ("1", "true", "yes", "on")
    return None


def _env_port() -> int:
    for name in ("COLONIES_SERVER_HTTP_PORT", "COLONIES_SERVER_PORT"):
        value = os.environ.get(name, "").strip()
        if value:
            try:
                return int(value)
            except ValueError:
                raise CLIError(f"{name} must be a port number, not {value!r}") from None
    return 50080


def _key_from_stdin() -> str:
    try:
        return read_key_file("-")
    except KeySourceError as exc:
        raise CLIError(str(exc)) from None


def _key(name: str) -> str:
    """``name`` from ``name_FILE`` (a path, kept out of ``ps`` and of ``/proc/<pid>/environ``) or ``name``."""
    try:
        return peek_key(name)
    except KeySourceError as exc:
        raise CLIError(str(exc)) from None


@dataclass
class Config:
    """Everything a command needs to reach the server and sign; built once per invocation."""

    host: str = "localhost"
    port: int = 50080
    tls: bool = False
    skip_verify: bool = False
    #: CA bundle to verify the server's certificate with (``--ca-cert``, ``COLONIES_TLS_CA``); "" = system store.
    ca_cert: str = ""
    colonyname: str = ""
    prvkey: str = ""
    colony_prvkey: str = ""
    server_prvkey: str = ""
    verbose: bool = False
    json: bool = False
    #: Whether ``prvkey`` came from the root ``--prvkey`` flag (so errors name the flag, not the variable).
    prvkey_from_flag: bool = False
    _client: Any = field(default=None, repr=False)

    @classmethod
    def from_env(
        cls, host: str | None = None, port: int | None = None, insecure: bool = False,
        skip_verify: bool = False, prvkey: str | None = None, verbose: bool = False, json: bool = False,
        ca_cert: str | None = None,
    ) -> Config:  # fmt: skip
        """Env first, flags win. ``--insecure`` (alias ``--skip-tls-verify``) means "do not verify the server's
        certificate", as in curl; the Go CLI's meaning, plain HTTP, is ``COLONIES_TLS=false``."""
        tls = _env_bool("COLONIES_TLS", "COLONIES_SERVER_TLS") or False
        return cls(
            host=host or os.environ.get("COLONIES_SERVER_HOST") or "localhost",
            port=port if port is not None else _env_port(),
            tls=tls,
            skip_verify=insecure or skip_verify or bool(
                _env_bool("COLONIES_TLS_INSECURE") or _env_bool("COLONIES_SKIP_TLS_VERIFY")
            ),
            ca_cert=ca_cert or os.environ.get("COLONIES_TLS_CA", "").strip(),
            colonyname=os.environ.get("COLONIES_COLONY_NAME", ""),
            prvkey=prvkey or _key("COLONIES_PRVKEY"),
            colony_prvkey=_key("COLONIES_COLONY_PRVKEY"),
            server_prvkey=_key("COLONIES_SERVER_PRVKEY"),
            verbose=verbose,
            json=json,
            prvkey_from_flag=bool(prvkey),
        )

    # -- values that must be there ---------------------------------------------------------------------------
    def colony(self, override: str | None = None) -> str:
        name = override or self.colonyname
        if not name:
            raise CLIError("COLONIES_COLONY_NAME is not set (the colony to work in)")
        return name

    def key(self, which: str = "prvkey", override: str | None = None) -> str:
        """A private key by role (prvkey, colony_prvkey, server_prvkey), checked before any call."""
        var = KEY_VARS[which]
        if override == "-":
            override = _key_from_stdin()
        elif override:
            print("warning: a key given with --prvkey is visible to other users of this machine (ps, "
                  "/proc/<pid>/cmdline); use COLONIES_PRVKEY_FILE or --prvkey -", file=sys.stderr)  # fmt: skip
        value = override or getattr(self, which)
        if not value:
            raise CLIError(f"{var} is not set")
        where = "--prvkey" if override or (which == "prvkey" and self.prvkey_from_flag) else var
        if not _HEX64.match(value):
            raise CLIError(f"{where} is not a private key (expected 64 hex characters)")
        try:
            id_from_prvkey(value)
        except CryptoError as exc:
            raise CLIError(f"{where}: {exc}") from None
        return value

    # -- connections -----------------------------------------------------------------------------------------
    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def verify(self) -> bool | str:
        """The SDK's ``verify``: False under ``--insecure``, else the CA bundle if one is given, else True."""
        return False if self.skip_verify else (self.ca_cert or True)

    def client(self) -> Colonies:
        """The sync SDK, created on first use (commands that do not talk to a server never import it)."""
        if self._client is None:
            from ..client import Colonies

            self._client = Colonies(self.host, self.port, tls=self.tls, verify=self.verify)
        return self._client

    def close(self) -> None:
        """Close the connection pool (``Colonies.close`` closes a *process*, hence ``close_connection``)."""
        if self._client is not None:
            self._client.close_connection()


_current: Config | None = None


def set_config(cfg: Config) -> None:
    """Called once by the root callback; one CLI run is one process, so a module global is enough."""
    global _current
    _current = cfg


def get_config() -> Config:
    """The Config of this run (built from the environment alone if the root callback has not run)."""
    global _current
    if _current is None:
        _current = Config.from_env()
    return _current


def mask(value: str) -> str:
    """Show a secret's first 6 characters only, enough to tell keys apart."""
    return value[:6] + "…" if value else ""

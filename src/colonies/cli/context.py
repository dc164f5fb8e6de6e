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
from .. import environment as env
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
    #: Tables with whole ids and cells (``--wide``); also the case whenever stdout is not a terminal.
    wide: bool = False
    #: Whether ``prvkey`` came from the root ``--prvkey`` flag (so errors name the flag, not the variable).
    prvkey_from_flag: bool = False
    _client: Any = field(default=None, repr=False)

    @classmethod
    def from_env(
        cls, host: str | None = None, port: int | None = None, insecure: bool = False,
        skip_verify: bool = False, prvkey: str | None = None, verbose: bool = False, json: bool = False,
        ca_cert: str | None = None, wide: bool = False,
    ) -> Config:  # fmt: skip
        """Env first, flags win. ``--insecure`` (alias ``--skip-tls-verify``) means "do not verify the server's
        certificate", as in curl; the Go CLI's meaning, plain HTTP, is ``COLONIES_TLS=false``."""
        try:  # one precedence for the CLI, the SDK and executors: colonies.environment
            tls = env.flag(env.tls())
            env_port = int(env.port().text) if port is None else port
            env_insecure = env.flag(env.tls_insecure())
        except env.BadEnvironment as exc:
            raise CLIError(str(exc)) from None
        return cls(
            host=host or env.host().text,
            port=env_port,
            tls=tls,
            skip_verify=insecure or skip_verify or env_insecure,
            ca_cert=ca_cert or env.tls_ca().text,
            colonyname=env.colony().text,
            prvkey=prvkey or _key("COLONIES_PRVKEY"),
            colony_prvkey=_key("COLONIES_COLONY_PRVKEY"),
            server_prvkey=_key("COLONIES_SERVER_PRVKEY"),
            verbose=verbose,
            json=json,
            wide=wide,
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

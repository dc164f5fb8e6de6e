"""Where the server is, read from the ``COLONIES_*`` environment in one place for the CLI, the SDK and executors,
so that all three talk to the same server the same way.

The original tools disagree: the Go CLI and server read ``COLONIES_TLS``, pycolonies and the original executors
``COLONIES_SERVER_TLS``; ``colonies dev`` exports both. One precedence here, the same everywhere (the more specific
name, which pycolonies and the executors read, first):

========================  ===============================================================  ==============
setting                   variables, first one set wins                                    default
========================  ===============================================================  ==============
host                      ``COLONIES_SERVER_HOST``                                         ``localhost``
port                      ``COLONIES_SERVER_HTTP_PORT``, ``COLONIES_SERVER_PORT``           50080
TLS                       ``COLONIES_SERVER_TLS``, ``COLONIES_TLS``                         off
CA bundle                 ``COLONIES_TLS_CA``                                              system store
skip certificate check    ``COLONIES_TLS_INSECURE``, ``COLONIES_SKIP_TLS_VERIFY``           off
colony                    ``COLONIES_COLONY_NAME``                                         none
========================  ===============================================================  ==============

Flags and keyword arguments win over all of them. When two variables of one setting disagree, the winner is used
and a warning names both (``colonies config`` shows where each value came from).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

log = logging.getLogger("colonies.environment")

HOST = ("COLONIES_SERVER_HOST",)
PORT = ("COLONIES_SERVER_HTTP_PORT", "COLONIES_SERVER_PORT")
TLS = ("COLONIES_SERVER_TLS", "COLONIES_TLS")
TLS_CA = ("COLONIES_TLS_CA",)
TLS_INSECURE = ("COLONIES_TLS_INSECURE", "COLONIES_SKIP_TLS_VERIFY")
COLONY = ("COLONIES_COLONY_NAME",)
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
_warned: set[tuple[str, tuple[str, ...]]] = set()


class BadEnvironment(ValueError):
    """A variable holds something it cannot mean (a port that is not a number, TLS=maybe)."""


@dataclass(frozen=True)
class Value:
    """A setting's text and where it came from: a variable's name, or "default"."""

    text: str
    source: str
    #: Variables of the same setting that were set too but lost (``NAME=value``).
    ignored: tuple[str, ...] = ()


def lookup(names: tuple[str, ...], default: str = "") -> Value:
    found = [(name, os.environ[name].strip()) for name in names if os.environ.get(name, "").strip()]
    if not found:
        return Value(default, "default")
    (name, text), rest = found[0], found[1:]
    ignored = tuple(f"{other}={value}" for other, value in rest if _same(value) != _same(text))
    if ignored and (name, ignored) not in _warned:  # once per process, not at every read
        _warned.add((name, ignored))
        log.warning("%s=%s is used; %s is ignored (see colonies config)", name, text, ", ".join(ignored))
    return Value(text, name, ignored)


def _same(text: str) -> str:
    lowered = text.lower()
    return "true" if lowered in _TRUE else "false" if lowered in _FALSE else text


def flag(value: Value) -> bool:
    lowered = value.text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE or not lowered:
        return False
    raise BadEnvironment(f"{value.source} must be true or false, not {value.text!r}")


def host() -> Value:
    return lookup(HOST, "localhost")


def port() -> Value:
    value = lookup(PORT, "50080")
    if not value.text.isdigit() or not 0 < int(value.text) < 65536:
        raise BadEnvironment(f"{value.source} must be a port number, not {value.text!r}")
    return value


def tls() -> Value:
    return lookup(TLS, "false")


def tls_ca() -> Value:
    return lookup(TLS_CA)


def tls_insecure() -> Value:
    return lookup(TLS_INSECURE, "false")


def colony() -> Value:
    return lookup(COLONY)


__all__ = ["BadEnvironment", "Value", "colony", "flag", "host", "lookup", "port", "tls", "tls_ca",
           "tls_insecure"]

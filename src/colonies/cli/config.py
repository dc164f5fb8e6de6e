"""``config``: what the CLI would use right now, with keys masked (safe to paste into an issue)."""

from __future__ import annotations

from typing import Any

from .. import environment as env
from ..crypto import CryptoError, id_from_prvkey
from .context import get_config, mask
from .output import emit, kv_table


def _ident(key: str) -> str:
    if not key:
        return ""
    try:
        return id_from_prvkey(key)
    except CryptoError:
        return "(invalid key)"


def _source(value: env.Value, used: Any, parse: Any = str) -> str:
    """Where a setting came from: a variable (and those of the same setting it won over), the default, or a flag."""
    try:
        from_env = parse(value)
    except env.BadEnvironment:
        from_env = None
    if from_env != used:
        return "a command-line flag"
    ignored = f"; ignored: {', '.join(value.ignored)}" if value.ignored else ""
    return f"{value.source}{ignored}"


def show_config() -> None:
    """Print the effective configuration and where each server setting came from (colonies.environment's
    precedence, the same for the CLI, the SDK and executors)."""
    cfg = get_config()
    sources = {
        "host": _source(env.host(), cfg.host, lambda v: v.text),
        "port": _source(env.port(), cfg.port, lambda v: int(v.text)),
        "tls": _source(env.tls(), cfg.tls, env.flag),
        "skip_tls_verify": _source(env.tls_insecure(), cfg.skip_verify, env.flag),
        "ca_cert": _source(env.tls_ca(), cfg.ca_cert, lambda v: v.text),
        "colonyname": _source(env.colony(), cfg.colonyname, lambda v: v.text),
    }  # fmt: skip
    data: dict[str, Any] = {
        "host": cfg.host, "port": cfg.port, "tls": cfg.tls, "skip_tls_verify": cfg.skip_verify,
        "ca_cert": cfg.ca_cert,
        "colonyname": cfg.colonyname,
        "prvkey": mask(cfg.prvkey), "id": _ident(cfg.prvkey),
        "colony_prvkey": mask(cfg.colony_prvkey), "colony_id": _ident(cfg.colony_prvkey),
        "server_prvkey": mask(cfg.server_prvkey), "server_id": _ident(cfg.server_prvkey),
        "sources": sources,
    }  # fmt: skip
    emit(data, lambda d: kv_table("Configuration", [
        ("Server", f"{'https' if d['tls'] else 'http'}://{d['host']}:{d['port']}"),
        ("  host from", sources["host"]), ("  port from", sources["port"]),
        ("TLS", d["tls"]), ("  from", sources["tls"]),
        ("Skip TLS verify", d["skip_tls_verify"]), ("  from", sources["skip_tls_verify"]),
        ("CA certificate", d["ca_cert"] or "(system CA store)"),
        ("COLONIES_COLONY_NAME", d["colonyname"] or "(not set)"),
        ("COLONIES_PRVKEY", d["prvkey"] or "(not set)"), ("  id", d["id"]),
        ("COLONIES_COLONY_PRVKEY", d["colony_prvkey"] or "(not set)"), ("  colony id", d["colony_id"]),
        ("COLONIES_SERVER_PRVKEY", d["server_prvkey"] or "(not set)"), ("  server id", d["server_id"]),
    ]))  # fmt: skip

"""``config``: what the CLI would use right now, with keys masked (safe to paste into an issue)."""

from __future__ import annotations

from typing import Any

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


def show_config() -> None:
    """Print the effective configuration."""
    cfg = get_config()
    data: dict[str, Any] = {
        "host": cfg.host, "port": cfg.port, "tls": cfg.tls, "skip_tls_verify": cfg.skip_verify,
        "ca_cert": cfg.ca_cert,
        "colonyname": cfg.colonyname,
        "prvkey": mask(cfg.prvkey), "id": _ident(cfg.prvkey),
        "colony_prvkey": mask(cfg.colony_prvkey), "colony_id": _ident(cfg.colony_prvkey),
        "server_prvkey": mask(cfg.server_prvkey), "server_id": _ident(cfg.server_prvkey),
    }  # fmt: skip
    emit(data, lambda d: kv_table("Configuration", [
        ("Server", f"{'https' if d['tls'] else 'http'}://{d['host']}:{d['port']}"),
        ("TLS", d["tls"]), ("Skip TLS verify", d["skip_tls_verify"]),
        ("CA certificate", d["ca_cert"] or "(system CA store)"),
        ("COLONIES_COLONY_NAME", d["colonyname"] or "(not set)"),
        ("COLONIES_PRVKEY", d["prvkey"] or "(not set)"), ("  id", d["id"]),
        ("COLONIES_COLONY_PRVKEY", d["colony_prvkey"] or "(not set)"), ("  colony id", d["colony_id"]),
        ("COLONIES_SERVER_PRVKEY", d["server_prvkey"] or "(not set)"), ("  server id", d["server_id"]),
    ]))  # fmt: skip

"""``cluster info``: the server replicas sharing the database, and which one leads (server owner key)."""

from __future__ import annotations

from typing import Any

import typer

from .context import get_config
from .output import emit, plain, table

app = typer.Typer(no_args_is_help=True, help="The server replicas.")


def _nodes_table(data: Any) -> None:
    leader = (data.get("leader") or {}).get("name")
    table("Cluster", ["Name", "Host", "APIPort", "Leader"],
          ([n.get("name"), n.get("host"), n.get("apiport"), "yes" if n.get("name") == leader else ""]
           for n in data.get("nodes") or []), empty="No replicas found")  # fmt: skip


@app.command("info")
def cluster_info() -> None:
    """The live replicas and the leader (server owner key)."""
    cfg = get_config()
    emit(plain(cfg.client().get_cluster(cfg.key("server_prvkey"))), _nodes_table)

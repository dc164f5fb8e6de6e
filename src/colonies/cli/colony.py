"""``colony``: colonies are created and removed by the server owner (COLONIES_SERVER_PRVKEY)."""

from __future__ import annotations

from typing import Any

import typer

from .context import get_config
from .output import emit, info, kv_table, plain, table

app = typer.Typer(no_args_is_help=True, help="Manage colonies.")


def _colonies_table(colonies: Any) -> None:
    table(
        None,
        ["Name", "ColonyId"],
        ([c.get("name"), c.get("colonyid")] for c in colonies),
        empty="No colonies found",
    )


@app.command("add")
def add(
    name: str = typer.Option(..., "--name", help="Colony name."),
    colonyid: str = typer.Option(..., "--colonyid", help="Colony id (from `colonies key id`)."),
) -> None:
    """Add a colony (server owner key)."""
    cfg = get_config()
    colony = plain(cfg.client().add_colony({"colonyid": colonyid, "name": name}, cfg.key("server_prvkey")))
    emit(colony, lambda c: info(f"Colony {c.get('name')} added"))


@app.command("ls")
def ls() -> None:
    """List all colonies (server owner key)."""
    cfg = get_config()
    colonies = plain(cfg.client().list_colonies(cfg.key("server_prvkey"))) or []
    emit(colonies, _colonies_table)


@app.command("get")
def get(
    name: str | None = typer.Option(None, "--name", help="Colony name (default COLONIES_COLONY_NAME)."),
) -> None:
    """Show one colony (member key)."""
    cfg = get_config()
    colony = plain(cfg.client().get_colony(cfg.colony(name), cfg.key()))
    emit(colony, lambda c: kv_table("Colony", [("Name", c.get("name")), ("ColonyId", c.get("colonyid"))]))


@app.command("remove")
def remove(name: str = typer.Option(..., "--name", help="Colony name.")) -> None:
    """Remove a colony and everything in it (server owner key)."""
    cfg = get_config()
    cfg.client().del_colony(name, cfg.key("server_prvkey"))
    emit({"colonyname": name, "removed": True}, lambda _: info(f"Colony {name} removed"))


_STATS = [
    ("Executors", "executors"), ("Active executors", "activeexecutors"),
    ("Unregistered executors", "unregisteredexecutors"),
    ("Waiting processes", "waitingprocesses"), ("Running processes", "runningprocesses"),
    ("Successful processes", "successfulprocesses"), ("Failed processes", "failedprocesses"),
    ("Cancelled processes", "cancelledprocesses"),
    ("Waiting workflows", "waitingworkflows"), ("Running workflows", "runningworkflows"),
    ("Successful workflows", "successfulworkflows"), ("Failed workflows", "failedworkflows"),
    ("Cancelled workflows", "cancelledworkflows"),
]  # fmt: skip


@app.command("stats")
def stats(
    name: str | None = typer.Option(None, "--name", help="Colony name (default COLONIES_COLONY_NAME)."),
) -> None:
    """Executor, process and workflow counts of the colony (member key)."""
    cfg = get_config()
    colonyname = cfg.colony(name)
    data = plain(cfg.client().stats(colonyname, cfg.key())) or {}
    # Counts the server does not send (v1.7.8 has no active, unregistered or cancelled ones) are left out.
    emit(data, lambda d: kv_table(f"Colony {colonyname}", [(label, d[k]) for label, k in _STATS if k in d]))

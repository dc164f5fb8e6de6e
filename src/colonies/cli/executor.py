"""``executor``: registration is the colony owner's job (COLONIES_COLONY_PRVKEY); listing is for members."""

from __future__ import annotations

import os
from typing import Any

import typer

from .context import CLIError, get_config
from .output import EXECUTOR_STATES, emit, fmt_time, info, jsonish, kv_table, plain, state_name, table

app = typer.Typer(no_args_is_help=True, help="Manage executors of the colony.")

UNREGISTERED = 3


def _executors_table(executors: Any) -> None:
    table(None, ["Name", "Type", "Location", "State", "Last heard"],
          ([e.get("executorname"), e.get("executortype"), e.get("locationname", ""),
            state_name(e.get("state"), EXECUTOR_STATES), fmt_time(e.get("lastheardfromtime"))]
           for e in executors), empty="No executors found")  # fmt: skip


def _entries(value: Any) -> list[dict[str, Any]]:
    """Hardware or software as a list of non-empty entries: an object (v1.7.8 servers, ours) or a list (v1.9)."""
    items = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
    return [item for item in items
            if isinstance(item, dict) and any(v not in ("", 0, None, {}) for v in item.values())]  # fmt: skip


def _executor_tables(e: Any) -> None:
    kv_table("Executor", [
        ("Name", e.get("executorname")), ("Id", e.get("executorid")), ("Type", e.get("executortype")),
        ("Colony", e.get("colonyname")), ("State", state_name(e.get("state"), EXECUTOR_STATES)),
        ("Location", e.get("locationname", "")), ("RequireFuncRegistration", bool(e.get("requirefuncreg"))),
        ("Commission time", fmt_time(e.get("commissiontime"))),
        ("Last heard", fmt_time(e.get("lastheardfromtime"))),
    ])  # fmt: skip
    caps = e.get("capabilities") or {}
    hardware = _entries(caps.get("hardware"))
    if hardware:
        columns = ["Model", "Nodes", "CPU", "Cores", "Memory", "Storage", "GPU", "Platform", "Architecture"]
        table("Hardware", columns,
              ([h.get("model"), h.get("nodes"), h.get("cpu"), h.get("cores"), h.get("mem"), h.get("storage"),
                jsonish((h.get("gpu") or {}).get("name", "")), h.get("platform"), h.get("architecture")]
               for h in hardware))  # fmt: skip
    software = _entries(caps.get("software"))
    if software:
        table(
            "Software",
            ["Name", "Type", "Version"],
            ([s.get("name"), s.get("type"), s.get("version")] for s in software),
        )


@app.command("add")
def add(
    executorid: str = typer.Option(..., "--executorid", help="The executor's id (from `colonies key id`)."),
    name: str | None = typer.Option(None, "--name", help="Executor name (default COLONIES_EXECUTOR_NAME)."),
    executortype: str | None = typer.Option(
        None, "--type", help="Executor type (default COLONIES_EXECUTOR_TYPE)."
    ),
    location: str = typer.Option("", "--location", help="Location name."),
    approve: bool = typer.Option(False, "--approve", help="Approve it right away."),
) -> None:
    """Register an executor's id in the colony (colony owner key)."""
    cfg = get_config()
    name = name or os.environ.get("COLONIES_EXECUTOR_NAME", "")
    executortype = executortype or os.environ.get("COLONIES_EXECUTOR_TYPE", "")
    if not name:
        raise CLIError("missing --name (or COLONIES_EXECUTOR_NAME)")
    if not executortype:
        raise CLIError("missing --type (or COLONIES_EXECUTOR_TYPE)")
    colonyname, key = cfg.colony(), cfg.key("colony_prvkey")
    executor = {"executorid": executorid, "executorname": name, "executortype": executortype,
                "colonyname": colonyname, "locationname": location}  # fmt: skip
    added = plain(cfg.client().add_executor(executor, key))
    if approve:
        cfg.client().approve_executor(colonyname, name, key)
        added["state"] = 1
    emit(added, lambda _: info(f"Executor {name} added" + (" and approved" if approve else "")))


def _admin(verb: str, method: str, name: str) -> None:
    cfg = get_config()
    colonyname = cfg.colony()
    getattr(cfg.client(), method)(colonyname, name, cfg.key("colony_prvkey"))
    emit(
        {"colonyname": colonyname, "executorname": name, verb: True},
        lambda _: info(f"Executor {name} {verb}"),
    )


@app.command("approve")
def approve(name: str = typer.Option(..., "--name", help="Executor name.")) -> None:
    """Approve an executor so it may work in the colony (colony owner key)."""
    _admin("approved", "approve_executor", name)


@app.command("reject")
def reject(name: str = typer.Option(..., "--name", help="Executor name.")) -> None:
    """Reject an executor (colony owner key)."""
    _admin("rejected", "reject_executor", name)


@app.command("remove")
def remove(name: str = typer.Option(..., "--name", help="Executor name.")) -> None:
    """Unregister an executor; its running processes go back to the queue (colony owner key)."""
    _admin("removed", "remove_executor", name)


@app.command("ls")
def ls(
    all_: bool = typer.Option(False, "--all", help="Also removed executors, from servers that keep them (ours not)."),
) -> None:
    """List the colony's executors."""
    cfg = get_config()
    executors = plain(cfg.client().list_executors(cfg.colony(), cfg.key())) or []
    if not all_:
        executors = [e for e in executors if e.get("state") != UNREGISTERED]
    emit(executors, _executors_table)


@app.command("get")
def get(name: str = typer.Option(..., "--name", help="Executor name.")) -> None:
    """Show one executor with its capabilities."""
    cfg = get_config()
    executor = plain(cfg.client().get_executor(cfg.colony(), name, cfg.key()))
    emit(executor, _executor_tables)

"""``generator``: batch packed string arguments into workflows (protocol §6.1)."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer

from ..exceptions import ServerTooOld
from . import ids
from .context import CLIError, get_config
from .output import emit, emit_id, fmt_time, info, kv_table, plain, table
from .specs import load_json_file
from .workflow import workflow_spec

app = typer.Typer(no_args_is_help=True, help="Batch packed arguments into workflows.")

_GENID = typer.Option(..., "--generatorid", "-i", help="Generator id (or a unique prefix).",
                      callback=ids.option("generator"))


def _generators_table(generators: Any) -> None:
    table(None, ["ID", "Name", "Trigger", "Timeout", "Last run"],
          ([g.get("generatorid"), g.get("name"), g.get("trigger"), f"{g.get('timeout')} s",
            fmt_time(g.get("lastrun"))] for g in generators), empty="No generators found")  # fmt: skip


def _generator_tables(gen: Any) -> None:
    kv_table("Generator", [
        ("Id", gen.get("generatorid")), ("Name", gen.get("name")), ("Colony", gen.get("colonyname")),
        ("Trigger", gen.get("trigger")), ("Timeout", f"{gen.get('timeout')} s"),
        ("QueueSize", gen.get("queuesize")), ("FirstPack", fmt_time(gen.get("firstpack"))),
        ("LastRun", fmt_time(gen.get("lastrun"))), ("Initiator", gen.get("initiatorname")),
    ])  # fmt: skip
    table("Recent workflows", ["Workflow", "Args", "Started", "Why"],
          ([r.get("processgraphid"), r.get("args"), fmt_time(r.get("fired")), r.get("reason")]
           for r in gen.get("runs") or []), empty="No workflows started yet")  # fmt: skip


@app.command("add")
def add(
    name: str = typer.Option(..., "--name", help="Generator name, unique in the colony."),
    spec: str = typer.Option(..., "--spec", help="Workflow: JSON array of function specs or {functionspecs}."),
    trigger: int = typer.Option(..., "--trigger", help="Start a workflow for every this many packed args (≥ 1)."),
    timeout: int = typer.Option(
        0, "--timeout", help="Also start one with fewer args once they waited this many seconds (0 = never)."
    ),
) -> None:
    """Add a generator (any colony member)."""
    cfg = get_config()
    if trigger < 1:
        raise CLIError("--trigger must be at least 1")
    wf = workflow_spec(load_json_file(spec), cfg.colonyname, spec)
    generator = {"colonyname": cfg.colony(), "name": name, "workflowspec": json.dumps(wf), "trigger": trigger,
                 "timeout": timeout}  # fmt: skip
    added = plain(cfg.client().add_generator(generator, cfg.key()))
    emit_id(added, added.get("generatorid"), f"Generator {name} added")


@app.command("ls")
def ls(count: int = typer.Option(100, "--count", help="How many to show.")) -> None:
    """List the colony's generators."""
    cfg = get_config()
    emit(plain(cfg.client().get_generators(cfg.colony(), cfg.key(), count=count)) or [], _generators_table)


@app.command("get")
def get(
    generatorid: str = _GENID,
    runs: int = typer.Option(10, "--runs", help="How many recent workflows to show."),
) -> None:
    """Show a generator, its queue, and the workflows it started (how many args each took, and why)."""
    cfg = get_config()
    client, key = cfg.client(), cfg.key()
    found = plain(client.get_generator(generatorid, key))
    try:
        found["runs"] = plain(client.get_generator_runs(generatorid, key, count=runs)) if runs > 0 else []
    except ServerTooOld:  # an original server keeps no history: show the rest
        found["runs"] = []
    emit(found, _generator_tables)


@app.command("pack")
def pack(
    generatorid: str = _GENID,
    arg: list[str] = typer.Option([], "--arg", help="An argument to queue (repeatable)."),
    args_file: str | None = typer.Option(
        None, "--file", help="Queue every line of this file as an argument ('-' = standard input)."
    ),
) -> None:
    """Queue arguments, in order; every ``trigger`` of them become the args of one workflow."""
    cfg = get_config()
    values = list(arg)
    if args_file is not None:
        try:
            handle = sys.stdin if args_file == "-" else open(args_file, encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            raise CLIError(f"cannot read {args_file}: {exc.strerror or exc}") from None
        with handle:
            values += [line.rstrip("\n") for line in handle if line.strip()]
    if not values:
        raise CLIError("give --arg VALUE (repeatable) or --file PATH")
    client, key = cfg.client(), cfg.key()
    for value in values:
        client.pack_generator(generatorid, value, key)
    emit({"generatorid": generatorid, "packed": len(values)},
         lambda _: info(f"Packed {len(values)} argument(s) into generator {generatorid}"))  # fmt: skip


@app.command("remove")
def remove(generatorid: str = _GENID) -> None:
    """Remove a generator and its queued arguments (the workflows it started stay)."""
    cfg = get_config()
    cfg.client().remove_generator(generatorid, cfg.key())
    emit({"generatorid": generatorid, "removed": True}, lambda _: info(f"Generator {generatorid} removed"))

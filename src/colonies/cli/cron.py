"""``cron``: start a workflow on a schedule (protocol §6.2), and see when each run started and why."""

from __future__ import annotations

from typing import Any

import typer

from ..exceptions import ServerTooOld
from . import ids
from .context import CLIError, get_config
from .output import emit, emit_id, fmt_time, info, kv_table, plain, table
from .specs import load_json_file
from .workflow import workflow_spec

app = typer.Typer(no_args_is_help=True, help="Run workflows on a schedule.")

_CRONID = typer.Option(..., "--cronid", "-i", help="Cron id (or a unique prefix).", callback=ids.option("cron"))


def _schedule(cron: Any) -> str:
    interval = cron.get("interval")
    if interval and interval > 0:
        return f"every {interval} s" + (" (random time in each)" if cron.get("random") else "")
    return str(cron.get("cronexpression"))


def _crons_table(crons: Any) -> None:
    table(None, ["ID", "Name", "Schedule", "Next run", "Last run", "Wait prev", "Last workflow"],
          ([c.get("cronid"), c.get("name"), _schedule(c), fmt_time(c.get("nextrun")), fmt_time(c.get("lastrun")),
            "yes" if c.get("waitforprevprocessgraph") else "no", c.get("prevprocessgraphid") or "-"]
           for c in crons), empty="No crons found")  # fmt: skip


def _cron_tables(cron: Any) -> None:
    kv_table("Cron", [
        ("Id", cron.get("cronid")), ("Name", cron.get("name")), ("Colony", cron.get("colonyname")),
        ("Schedule", _schedule(cron)), ("NextRun", fmt_time(cron.get("nextrun"))),
        ("LastRun", fmt_time(cron.get("lastrun"))), ("WaitForPrevious", cron.get("waitforprevprocessgraph")),
        ("PreviousWorkflow", cron.get("prevprocessgraphid") or "-"), ("Initiator", cron.get("initiatorname")),
    ])  # fmt: skip
    runs = cron.get("runs") or []
    table("Recent runs", ["Workflow", "Scheduled", "Started", "Why"],
          ([r.get("processgraphid"), fmt_time(r.get("scheduled")), fmt_time(r.get("fired")), r.get("reason")]
           for r in runs), empty="No runs yet")  # fmt: skip


@app.command("add")
def add(
    name: str = typer.Option(..., "--name", help="Cron name, unique in the colony."),
    spec: str = typer.Option(..., "--spec", help="Workflow: JSON array of function specs or {functionspecs}."),
    cron: str | None = typer.Option(
        None, "--cron", help='Schedule "sec min hour day month weekday" (UTC unless the server sets '
        "COLONIES_CRON_TZ), or @daily, @hourly, @every 10m ..."),
    interval: int | None = typer.Option(None, "--interval", help="Instead of --cron: every this many seconds."),
    random: bool = typer.Option(False, "--random", help="With --interval: at a random time in each interval."),
    waitprevious: bool = typer.Option(
        False, "--waitprevious", "--waitprev", help="Hold a run until the previous workflow has ended."
    ),
) -> None:
    """Add a cron (any colony member)."""
    cfg = get_config()
    if (cron is None) == (interval is None):
        raise CLIError("give either --cron EXPRESSION or --interval SECONDS")
    if random and interval is None:
        raise CLIError("--random needs --interval (a random time within each interval)")
    wf = workflow_spec(load_json_file(spec), cfg.colonyname, spec)
    added = plain(cfg.client().add_cron(name, cron or "", waitprevious, wf, cfg.colony(), cfg.key(),
                                        interval=interval if interval is not None else -1, random=random))  # fmt: skip
    emit_id(added, added.get("cronid"), f"Cron {name} added, next run {fmt_time(added.get('nextrun'))}")


@app.command("ls")
def ls(count: int = typer.Option(100, "--count", help="How many to show.")) -> None:
    """List the colony's crons with their next and last runs."""
    cfg = get_config()
    emit(plain(cfg.client().get_crons(cfg.colony(), count, cfg.key())) or [], _crons_table)


@app.command("get")
def get(
    cronid: str = _CRONID,
    runs: int = typer.Option(10, "--runs", help="How many recent runs to show."),
) -> None:
    """Show a cron and its recent runs: the workflow each started, when, and why it waited."""
    cfg = get_config()
    client, key = cfg.client(), cfg.key()
    found = plain(client.get_cron(cronid, key))
    try:
        found["runs"] = plain(client.get_cron_runs(cronid, key, count=runs)) if runs > 0 else []
    except ServerTooOld:  # an original server keeps no history: show the rest
        found["runs"] = []
    emit(found, _cron_tables)


@app.command("run")
def run(cronid: str = _CRONID) -> None:
    """Start the cron's workflow now (unless it waits for the previous one); the schedule goes on from now."""
    cfg = get_config()
    client, key = cfg.client(), cfg.key()
    before = plain(client.get_cron(cronid, key))
    after = plain(client.run_cron(cronid, key))
    started = after.get("prevprocessgraphid") != before.get("prevprocessgraphid")

    def show(_: Any) -> None:
        if started:
            info(f"Cron {after.get('name')} started workflow {after.get('prevprocessgraphid')}")
        else:
            info(f"Cron {after.get('name')} is waiting for its previous workflow "
                 f"{before.get('prevprocessgraphid')} to end; it starts then")  # fmt: skip

    emit({**after, "started": started}, show)


@app.command("remove")
def remove(cronid: str = _CRONID) -> None:
    """Remove a cron (the workflows it started stay)."""
    cfg = get_config()
    cfg.client().del_cron(cronid, cfg.key())
    emit({"cronid": cronid, "removed": True}, lambda _: info(f"Cron {cronid} removed"))

"""``log``: read (and follow) what executors logged for a process; search recent logs."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import typer

from . import ids
from .context import CLIError, get_config
from .output import emit, fmt_time, info, line, plain, print_json, table
from .process import FINAL, fetch

app = typer.Typer(no_args_is_help=True, help="Process logs.")

MAX_LOG_COUNT = 500


def _write(logs: list[dict[str, Any]]) -> None:
    """Messages as they were logged (executors usually include the newline)."""
    for entry in logs:
        message = str(entry.get("message", ""))
        sys.stdout.write(message if message.endswith("\n") else message + "\n")
    sys.stdout.flush()


@app.command("get", epilog="Example: colonies log get -p 7c9e8d1f --follow")
def get(
    processid: str = typer.Option(..., "--processid", "-p", help="Process id (or a unique prefix).",
                                   callback=ids.option("process")),
    count: int = typer.Option(100, "--count", help=f"How many entries (at most {MAX_LOG_COUNT})."),
    since: int = typer.Option(0, "--since", help="Only entries after this timestamp (Unix ns)."),
    first: bool = typer.Option(False, "--first", help="The oldest entries rather than the newest."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Print new entries until the process ends."),
) -> None:
    """Print a process's log (the newest entries, oldest first, unless --first or --since)."""
    cfg = get_config()
    client, colonyname, key = cfg.client(), cfg.colony(), cfg.key()
    latest = not first and not since
    logs = plain(client.get_process_log(colonyname, processid, count, since, key, latest=latest)) or []
    if not follow:
        emit(logs, _write)
        return

    def show(batch: list[dict[str, Any]]) -> int:
        """Print one batch (JSON lines under --json) and return the newest timestamp in it."""
        if cfg.json:
            for entry in batch:
                line(json.dumps(entry, separators=(",", ":"), ensure_ascii=False))
        else:
            _write(batch)
        return max((int(e.get("timestamp") or 0) for e in batch), default=0)

    # Poll every second for entries newer than the last one seen, until the process is over; the read after
    # the process ended catches what was logged just before the close.
    since = max(since, show(logs))
    while True:
        done = fetch(cfg, processid).get("state") in FINAL
        if not done:
            time.sleep(1.0)
        batch = plain(client.get_process_log(colonyname, processid, MAX_LOG_COUNT, since, key)) or []
        since = max(since, show(batch))
        if done:
            return


@app.command("add")
def add(
    processid: str = typer.Option(..., "--processid", "-p", help="Process id (or a unique prefix).",
                                   callback=ids.option("process")),
    message: str = typer.Option(..., "--message", "-m", help="Log message."),
    prvkey: str | None = typer.Option(
        None, "--prvkey", help="Sign with this key instead of COLONIES_PRVKEY."
    ),
) -> None:
    """Add a log message to a running process (only its assigned executor may)."""
    cfg = get_config()
    cfg.client().add_log(processid, message, cfg.key(override=prvkey))
    emit({"processid": processid, "message": message}, lambda _: info("Log message added"))


@app.command("search")
def search(
    text: str = typer.Option(..., "--text", "-t", help="Text to look for."),
    days: int = typer.Option(1, "--days", "-d", help="How many days back (at most 30)."),
    count: int = typer.Option(10, "--count", help="How many matches (at most 100)."),
    show: bool = typer.Option(False, "--print", help="Print the messages only, not a table."),
) -> None:
    """Search the colony's logs of the last days for a text."""
    cfg = get_config()
    if not text:
        raise CLIError("--text must not be empty")
    logs = plain(cfg.client().search_logs(cfg.colony(), text, days, count, cfg.key())) or []
    if cfg.json:
        print_json(logs)
    elif show:
        _write(logs)
    else:
        rows = [[fmt_time(int(e.get("timestamp") or 0)), e.get("processid"), e.get("executorname"),
                 str(e.get("message", "")).rstrip("\n")] for e in logs]  # fmt: skip
        table(None, ["Time", "ProcessID", "Executor", "Message"], rows, empty="No matching log entries")

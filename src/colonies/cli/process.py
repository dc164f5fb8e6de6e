"""``process``: list, inspect, assign, close and clean up processes of the colony."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

import typer

from ..exceptions import ColoniesError
from ..generations import is_state_refusal
from ..timefmt import parse_time
from . import ids
from .context import CLIError, Config, get_config
from .output import (
    ATTRIBUTE_TYPES,
    emit,
    emit_id,
    fmt_time,
    info,
    joined,
    jsonish,
    kv_table,
    line,
    plain,
    print_json,
    state_name,
    table,
)
from .specs import split_list

app = typer.Typer(no_args_is_help=True, help="Manage processes of the colony.")

WAITING, RUNNING, SUCCESS, FAILED, CANCELLED = 0, 1, 2, 3, 4
FINAL = (SUCCESS, FAILED, CANCELLED)
_TIME_COLUMN = {WAITING: ("Submission time", "submissiontime"), RUNNING: ("Start time", "starttime")}


# -- rendering -----------------------------------------------------------------------------------------------
def processes_table(processes: Any, state: int) -> None:
    """The original's list shape; the time column follows the state (queued since, started, ended)."""
    title, key = _TIME_COLUMN.get(state, ("End time", "endtime"))
    rows = []
    for p in processes:
        spec = p.get("spec") or {}
        executortype = (spec.get("conditions") or {}).get("executortype", "")
        rows.append([p.get("processid"), spec.get("funcname"), joined(spec.get("args")),
                     joined(spec.get("kwargs")), state_name(p.get("state")), fmt_time(p.get(key)),
                     executortype, p.get("initiatorname")])  # fmt: skip
    columns = ["ID", "FuncName", "Args", "Kwargs", "State", title, "Executor type", "Initiator"]
    table(None, columns, rows, empty="No processes found")


def _seconds_between(start: Any, end: Any) -> str:
    """Elapsed time between two wire timestamps; an unset end means "until now"."""
    try:
        a, b = parse_time(str(start or "")), parse_time(str(end or ""))
    except (ValueError, TypeError):
        return ""
    if not a:
        return ""
    return f"{((b or time.time_ns()) - a) / 1e9:.3f} s"


def process_tables(p: Any) -> None:
    """``process get``: the process, its function spec, its conditions and its attributes."""
    spec = p.get("spec") or {}
    cond = spec.get("conditions") or {}
    kv_table("Process", [
        ("Id", p.get("processid")), ("State", state_name(p.get("state"))),
        ("IsAssigned", bool(p.get("isassigned"))), ("InitiatorId", p.get("initiatorid")),
        ("Initiator", p.get("initiatorname")), ("AssignedExecutorId", p.get("assignedexecutorid")),
        ("PriorityTime", p.get("prioritytime")), ("SubmissionTime", fmt_time(p.get("submissiontime"))),
        ("StartTime", fmt_time(p.get("starttime"))), ("EndTime", fmt_time(p.get("endtime"))),
        ("WaitDeadline", fmt_time(p.get("waitdeadline"))), ("ExecDeadline", fmt_time(p.get("execdeadline"))),
        ("WaitingTime", _seconds_between(p.get("submissiontime"), p.get("starttime"))),
        ("ProcessingTime", _seconds_between(p.get("starttime"), p.get("endtime"))),
        ("Retries", p.get("retries")), ("Input", joined(p.get("in"))), ("Output", joined(p.get("out"))),
        ("Errors", joined(p.get("errors"))), ("ProcessGraphId", p.get("processgraphid")),
    ])  # fmt: skip
    kv_table("Function specification", [
        ("NodeName", spec.get("nodename")), ("FuncName", spec.get("funcname")),
        ("Args", joined(spec.get("args"))), ("Kwargs", joined(spec.get("kwargs"))),
        ("Priority", spec.get("priority")), ("MaxWaitTime", spec.get("maxwaittime")),
        ("MaxExecTime", spec.get("maxexectime")), ("MaxRetries", spec.get("maxretries")),
        ("Label", spec.get("label")),
    ])  # fmt: skip
    kv_table("Conditions", [
        ("Colony", cond.get("colonyname")), ("ExecutorNames", joined(cond.get("executornames"))),
        ("ExecutorType", cond.get("executortype")), ("Location", cond.get("locationname", "")),
        ("Dependencies", joined(cond.get("dependencies"))), ("Nodes", cond.get("nodes")),
        ("CPU", cond.get("cpu")), ("Memory", cond.get("mem")), ("Storage", cond.get("storage")),
        ("Walltime", cond.get("walltime")),
    ])  # fmt: skip
    attributes = p.get("attributes") or []
    if attributes:
        table("Attributes", ["Id", "Key", "Value", "Type"],
              ([a.get("attributeid"), a.get("key"), a.get("value"),
                state_name(a.get("attributetype"), ATTRIBUTE_TYPES)] for a in attributes))  # fmt: skip


def print_output(process: Any) -> None:
    """``--out``: one output value per line (strings raw), what a shell pipeline wants."""
    for value in process.get("out") or []:
        line(jsonish(value))


# -- shared helpers ------------------------------------------------------------------------------------------
def fetch(cfg: Config, processid: str) -> dict[str, Any]:
    return plain(cfg.client().get_process(processid, cfg.key()))


def wait_for_process(cfg: Config, processid: str, timeout: float | None = None) -> dict[str, Any]:
    """Follow a process to its end: a live line in a terminal, a line per change of state otherwise."""
    from .watch import follow

    return follow(lambda: fetch(cfg, processid), lambda p: [p], f"Process {processid[:12]}",
                  f"process {processid}", timeout)  # fmt: skip


def finish(process: dict[str, Any], out: bool) -> None:
    """After a wait: the output (``--out``), the JSON, or a note; not successful is an error (exit 1)."""
    cfg = get_config()
    if cfg.json:
        print_json(process)
    processid, state = process.get("processid"), process.get("state")
    if state != SUCCESS:
        errors = joined(process.get("errors"))
        raise CLIError(f"process {processid} {state_name(state).lower()}" + (f": {errors}" if errors else ""))
    if out and not cfg.json:
        print_output(process)
    elif not cfg.json:
        info(f"Process {processid} successful")


# -- listing -------------------------------------------------------------------------------------------------
def state_refused(exc: ColoniesError, what: str, cfg: Config) -> CLIError | None:
    """The one-line error for a list the server cannot make in that state (the original servers list states 0-3
    only: no cancelled processes or workflows), else None."""
    if not is_state_refusal(exc.status, exc.message):
        return None
    return CLIError(f"listing {what} needs a Colonies for Python server (the server at {cfg.address} answered: "
                    f"{exc.message})")  # fmt: skip


def _list_command(name: str, state: int, what: str) -> None:
    """ps/psw/pss/psf/psc differ only in the state they list."""

    def command(
        count: int = typer.Option(20, "--count", help="How many to show (at most 100)."),
        executortype: str = typer.Option("", "--executortype", "--type", help="Only this executor type."),
        label: str = typer.Option("", "--label", help="Only processes with this label."),
        initiator: str = typer.Option("", "--initiator", help="Only processes submitted by this user."),
    ) -> None:
        cfg = get_config()
        try:
            found = cfg.client().list_processes(cfg.colony(), count, state, cfg.key(), executortype=executortype,
                                                label=label, initiator=initiator)  # fmt: skip
        except ColoniesError as exc:
            raise state_refused(exc, f"{what} processes", cfg) or exc from None
        processes = plain(found) or []
        emit(processes, lambda ps: processes_table(ps, state))

    command.__doc__ = f"List {what} processes."
    app.command(name)(command)


for _name, _state, _what in (
    ("ps", RUNNING, "running"), ("psw", WAITING, "waiting"), ("pss", SUCCESS, "successful"),
    ("psf", FAILED, "failed"), ("psc", CANCELLED, "cancelled"),
):  # fmt: skip
    _list_command(_name, _state, _what)


# -- single process ------------------------------------------------------------------------------------------
_PID = typer.Option(..., "--processid", "-p", help="Process id (or a unique prefix).", callback=ids.option("process"))
_PRVKEY = typer.Option(None, "--prvkey", help="Sign with this key instead of COLONIES_PRVKEY.")


@app.command("get", epilog="Example: colonies process get -p 7c9e8d1f   (a unique prefix of the id is enough)")
def get(
    processid: str = _PID, out: bool = typer.Option(False, "--out", help="Print only the output values.")
) -> None:
    """Show a process."""
    process = fetch(get_config(), processid)
    if out and not get_config().json:
        print_output(process)
        return
    emit(process, process_tables)


@app.command("wait")
def wait(
    processid: str = _PID,
    timeout: float | None = typer.Option(None, "--timeout", help="Give up after this many seconds."),
    out: bool = typer.Option(False, "--out", help="Print the output values when it succeeds."),
) -> None:
    """Wait for a process to finish; exit 1 if it fails or the timeout passes."""
    finish(wait_for_process(get_config(), processid, timeout), out)


app.command("watch", help="Follow a process submitted elsewhere until it ends (its state and time, live).")(wait)


@app.command("assign")
def assign(
    timeout: int = typer.Option(10, "--timeout", help="Seconds to wait for a process."),
    prvkey: str | None = _PRVKEY,
) -> None:
    """Assign a waiting process to this executor identity (COLONIES_PRVKEY must be an executor)."""
    cfg = get_config()
    process = plain(cfg.client().assign(cfg.colony(), timeout, cfg.key(override=prvkey)))
    processid, funcname = process.get("processid"), (process.get("spec") or {}).get("funcname")
    emit_id(process, processid, f"Process {processid} assigned ({funcname})")


@app.command("close")
def close(
    processid: str = _PID,
    out: str | None = typer.Option(None, "--out", help="Output values, comma separated."),
    prvkey: str | None = _PRVKEY,
) -> None:
    """Close a process as successful (only its assigned executor may)."""
    cfg = get_config()
    cfg.client().close(processid, split_list(out), cfg.key(override=prvkey))
    emit(
        {"processid": processid, "state": SUCCESS},
        lambda _: info(f"Process {processid} closed as successful"),
    )


@app.command("fail")
def fail(
    processid: str = _PID,
    errors: str | None = typer.Option(None, "--errors", help="Error messages, comma separated."),
    prvkey: str | None = _PRVKEY,
) -> None:
    """Close a process as failed (only its assigned executor may)."""
    cfg = get_config()
    cfg.client().fail(processid, split_list(errors) or ["No errors specified"], cfg.key(override=prvkey))
    emit({"processid": processid, "state": FAILED}, lambda _: info(f"Process {processid} closed as failed"))


@app.command("remove")
def remove(processid: str = _PID) -> None:
    """Remove a process that is not running and not part of a workflow."""
    cfg = get_config()
    cfg.client().remove_process(processid, cfg.key())
    emit({"processid": processid, "removed": True}, lambda _: info(f"Process {processid} removed"))


def confirm_all(what: str, colonyname: str, yes: bool) -> None:
    """Destructive bulk removals need the word YES, as in the original."""
    if yes:
        return
    sys.stderr.write(
        f"WARNING! Remove {what} in colony {colonyname}? This cannot be undone. Type YES to confirm: "
    )
    sys.stderr.flush()
    answer = sys.stdin.readline().strip()
    if not sys.stdin.isatty():  # a piped answer is not echoed: end the prompt line ourselves
        sys.stderr.write("\n")
    if answer != "YES":
        raise CLIError("aborted, nothing removed")


def removeall_state(waiting: bool, successful: bool, failed: bool, cancelled: bool) -> tuple[int, str]:
    """The state flags of ``removeall`` → (state, its name); none means every state but running (-1)."""
    flags = ((WAITING, "waiting", waiting), (SUCCESS, "successful", successful), (FAILED, "failed", failed),
             (CANCELLED, "cancelled", cancelled))  # fmt: skip
    chosen = [(state, name) for state, name, on in flags if on]
    if len(chosen) > 1:
        raise CLIError("give at most one of --waiting, --successful, --failed, --cancelled")
    return chosen[0] if chosen else (-1, "all")


@app.command("removeall")
def removeall(
    waiting: bool = typer.Option(False, "--waiting", help="Only waiting processes."),
    successful: bool = typer.Option(False, "--successful", help="Only successful processes."),
    failed: bool = typer.Option(False, "--failed", help="Only failed processes."),
    cancelled: bool = typer.Option(False, "--cancelled", help="Only cancelled processes."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Remove all processes (not in workflows) of the colony, or those in one state (colony owner key)."""
    cfg = get_config()
    state, label = removeall_state(waiting, successful, failed, cancelled)
    colonyname, key = cfg.colony(), cfg.key("colony_prvkey")
    confirm_all(f"{label} processes" if label != "all" else "all processes", colonyname, yes)
    cfg.client().remove_all_processes(colonyname, key, state)
    emit(
        {"colonyname": colonyname, "state": state, "removed": True},
        lambda _: info(f"Removed {label} processes in colony {colonyname}"),
    )


@app.command("cancel")
def cancel(processid: str = _PID) -> None:
    """Cancel a waiting or running process (not part of a workflow)."""
    cfg = get_config()
    cfg.client().cancel_process(processid, cfg.key())
    emit({"processid": processid, "state": CANCELLED}, lambda _: info(f"Process {processid} cancelled"))

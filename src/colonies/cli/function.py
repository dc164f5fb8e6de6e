"""``function``: submit work (from a spec file or built from flags) and list registered functions."""

from __future__ import annotations

import os
from typing import Any

import typer

from .context import CLIError, get_config
from .output import emit, emit_id, info, plain, table
from .process import finish, wait_for_process
from .specs import load_json_file, normalise_funcspec, split_list, split_pairs

app = typer.Typer(no_args_is_help=True, help="Submit functions and list registered ones.")

_WAIT = typer.Option(False, "--wait", help="Wait until the process has finished.")
_OUT = typer.Option(False, "--out", help="Print the output values when done (implies --wait).")
_TIMEOUT = typer.Option(None, "--timeout", help="With --wait: give up after this many seconds.")


def _submit(spec: dict[str, Any], wait: bool, out: bool, timeout: float | None) -> None:
    """Submit, then either print the id or wait and print the result."""
    cfg = get_config()
    process = plain(cfg.client().submit_func_spec(spec, cfg.key()))
    processid = process.get("processid")
    if not (wait or out):
        emit_id(process, processid, f"Process {processid} submitted")
        return
    info(f"Process {processid} submitted")
    finish(wait_for_process(cfg, processid, timeout), out)


@app.command("submit", epilog="Example: colonies function submit --spec echo.json --wait --out")
def submit(
    spec: str = typer.Option(..., "--spec", help="A FunctionSpec JSON file."),
    wait: bool = _WAIT,
    out: bool = _OUT,
    timeout: float | None = _TIMEOUT,
) -> None:
    """Submit a function spec from a file (conditions.colonyname defaults to COLONIES_COLONY_NAME)."""
    cfg = get_config()
    data = load_json_file(spec)
    if isinstance(data, list):
        raise CLIError(
            f"{spec} holds a JSON array: this looks like a workflow: use `colonies workflow submit`"
        )
    _submit(normalise_funcspec(data, cfg.colonyname, spec), wait, out, timeout)


@app.command("exec", epilog="Example: colonies function exec --func echo --args hello,world --targettype cli --out")
def exec_(
    func: str = typer.Option(..., "--func", help="Function name."),
    args: str | None = typer.Option(None, "--args", help="Positional arguments, comma separated."),
    kwargs: str | None = typer.Option(None, "--kwargs", help="Keyword arguments, k:v comma separated."),
    env: str | None = typer.Option(None, "--env", help="Environment, K=V comma separated."),
    targettype: str | None = typer.Option(
        None, "--targettype", help="Executor type (default COLONIES_EXECUTOR_TYPE)."
    ),
    targetname: str | None = typer.Option(
        None, "--targetname", help="Only this executor (by name) may run it."
    ),
    label: str = typer.Option("", "--label", help="Process label."),
    priority: int = typer.Option(0, "--priority", help="Higher runs sooner (-50000..50000)."),
    maxexectime: int = typer.Option(
        -1, "--maxexectime", help="Seconds running before requeue (-1 = no limit)."
    ),
    maxretries: int = typer.Option(-1, "--maxretries", help="Requeues allowed (-1 = unlimited)."),
    maxwaittime: int = typer.Option(
        -1, "--maxwaittime", help="Seconds queued before it fails (-1 = no limit)."
    ),
    wait: bool = _WAIT,
    out: bool = _OUT,
    timeout: float | None = _TIMEOUT,
) -> None:
    """Build a function spec from flags and submit it."""
    cfg = get_config()
    executortype = targettype or os.environ.get("COLONIES_EXECUTOR_TYPE", "")
    if not executortype:
        raise CLIError("missing --targettype (or COLONIES_EXECUTOR_TYPE): which executor type should run it")
    spec = {
        "funcname": func, "args": split_list(args), "kwargs": split_pairs(kwargs, ":", "--kwargs"),
        "priority": priority, "maxwaittime": maxwaittime, "maxexectime": maxexectime,
        "maxretries": maxretries, "label": label, "env": split_pairs(env, "=", "--env"),
        "conditions": {"colonyname": cfg.colony(), "executortype": executortype,
                       "executornames": [targetname] if targetname else []},
    }  # fmt: skip
    _submit(spec, wait, out, timeout)


def _functions_table(functions: Any) -> None:
    table(None, ["FuncName", "Executor", "Type", "Calls", "Min wait", "Max wait", "Avg wait",
                 "Min exec", "Max exec", "Avg exec"],
          ([f.get("funcname"), f.get("executorname"), f.get("executortype"), f.get("counter"),
            *(f"{float(f.get(k) or 0):.3f} s" for k in ("minwaittime", "maxwaittime", "avgwaittime",
                                                        "minexectime", "maxexectime", "avgexectime"))]
           for f in functions), empty="No functions found")  # fmt: skip


@app.command("ls")
def ls(
    executor: str | None = typer.Option(None, "--executor", help="Only this executor's functions."),
) -> None:
    """List functions registered in the colony, with call counts and timings."""
    cfg = get_config()
    client = cfg.client()
    if executor:
        functions = client.get_functions_by_executor(cfg.colony(), executor, cfg.key())
    else:
        functions = client.get_functions_by_colony(cfg.colony(), cfg.key())
    emit(plain(functions) or [], _functions_table)


@app.command("register")
def register(
    name: str = typer.Option(
        ..., "--name", help="The executor offering it (must be the caller, COLONIES_PRVKEY)."
    ),
    func: str = typer.Option(..., "--func", help="Function name."),
) -> None:
    """Register a function an executor offers (shown by `function ls`)."""
    cfg = get_config()
    function = plain(cfg.client().add_function(cfg.colony(), name, func, cfg.key()))
    emit(function, lambda f: info(f"Function {func} registered for executor {name}"))

"""``workflow``: submit a DAG of function specs and follow its process graph."""

from __future__ import annotations

from typing import Any

import typer

from ..exceptions import ColoniesError
from ..timefmt import parse_time
from ..types import ProcessState
from . import ids
from .context import CLIError, Config, get_config
from .output import PROCESS_STATES, emit, emit_id, fmt_time, info, joined, kv_table, plain, state_name, table
from .process import confirm_all, removeall_state, state_refused
from .specs import load_json_file, normalise_funcspec
from .watch import failure_summary, follow

app = typer.Typer(no_args_is_help=True, help="Submit and manage workflows (process graphs).")

_STATE_NAMES = {"waiting": ProcessState.WAITING, "running": ProcessState.RUNNING,
                "successful": ProcessState.SUCCESS, "success": ProcessState.SUCCESS,
                "failed": ProcessState.FAILED, "cancelled": ProcessState.CANCELLED}  # fmt: skip
_GID = typer.Option(..., "--workflowid", "-w", help="Workflow (process graph) id (or a unique prefix).",
                    callback=ids.option("workflow"))


def workflow_spec(data: Any, colonyname: str, path: str) -> dict[str, Any]:
    """A bare array of FunctionSpecs is wrapped as the original does; an object with functionspecs is kept."""
    if isinstance(data, list):
        data = {"colonyname": colonyname, "functionspecs": data}
    if not isinstance(data, dict) or not isinstance(data.get("functionspecs"), list):
        raise CLIError(f'{path}: expected a JSON array of function specs or an object with "functionspecs"')
    colonyname = data.get("colonyname") or colonyname
    if not colonyname:
        raise CLIError("COLONIES_COLONY_NAME is not set and the workflow has no colonyname")
    specs = [normalise_funcspec(s, colonyname, f"{path} [{i}]") for i, s in enumerate(data["functionspecs"])]
    return {**data, "colonyname": colonyname, "functionspecs": specs}


def _graphs_table(graphs: Any) -> None:
    table(None, ["ID", "Initiator", "Processes", "State", "Submission time", "End time"],
          ([g.get("processgraphid"), g.get("initiatorname"), len(g.get("processids") or []),
            state_name(g.get("state")), fmt_time(g.get("submissiontime")), fmt_time(g.get("endtime"))]
           for g in graphs), empty="No workflows found")  # fmt: skip


def _graph_tables(g: Any) -> None:
    kv_table("Workflow", [
        ("Id", g.get("processgraphid")), ("Colony", g.get("colonyname")),
        ("Initiator", g.get("initiatorname")), ("State", state_name(g.get("state"))),
        ("SubmissionTime", fmt_time(g.get("submissiontime"))),
        ("StartTime", fmt_time(g.get("starttime"))), ("EndTime", fmt_time(g.get("endtime"))),
        ("Roots", joined(g.get("rootprocessids"))),
    ])  # fmt: skip
    rows = []
    for p in g.get("processes") or []:
        spec = p.get("spec") or {}
        rows.append([spec.get("nodename"), p.get("processid"), spec.get("funcname"),
                     joined((spec.get("conditions") or {}).get("dependencies")), state_name(p.get("state")),
                     joined(p.get("out")), joined(p.get("errors"))])  # fmt: skip
    if rows:
        table("Processes", ["NodeName", "ID", "FuncName", "Dependencies", "State", "Output", "Errors"], rows)


def _fetch(cfg: Config, graphid: str) -> dict[str, Any]:
    return plain(cfg.client().get_processgraph(graphid, cfg.key()))


def _with_processes(cfg: Config, graph: dict[str, Any]) -> dict[str, Any]:
    """Attach the graph's processes (the graph itself only carries ids), in the graph's process order."""
    graphid, colonyname = str(graph.get("processgraphid")), str(graph.get("colonyname"))
    found = plain(cfg.client().get_processes_for_workflow(graphid, colonyname, cfg.key())) or []
    order = {pid: i for i, pid in enumerate(graph.get("processids") or [])}
    found.sort(key=lambda p: order.get(p.get("processid"), len(order)))
    return {**graph, "processes": found}


@app.command("submit", epilog="Example: colonies workflow submit --spec workflow.json --wait   (a JSON array of "
              "function specs; nodes name their parents in conditions.dependencies)")
def submit(
    spec: str = typer.Option(
        ..., "--spec", help="JSON array of function specs (or {colonyname, functionspecs})."
    ),
    wait: bool = typer.Option(False, "--wait", help="Wait until the workflow has finished."),
    timeout: float | None = typer.Option(
        None, "--timeout", help="With --wait: give up after this many seconds."
    ),
) -> None:
    """Submit a workflow; nodes depend on each other through conditions.dependencies."""
    cfg = get_config()
    wf = workflow_spec(load_json_file(spec), cfg.colonyname, spec)
    graph = plain(cfg.client().submit_workflow(wf, cfg.key()))
    graphid = graph.get("processgraphid")
    if not wait:
        emit_id(graph, graphid, f"Workflow {graphid} submitted")
        return
    info(f"Workflow {graphid} submitted")
    _watch(cfg, graphid, timeout)


def _watch(cfg: Config, graphid: str, timeout: float | None) -> None:
    """Follow a workflow to its end (live in a terminal); its tables after success, each failed node after not."""
    graph = follow(lambda: _with_processes(cfg, _fetch(cfg, graphid)), lambda g: g.get("processes") or [],
                   f"Workflow {graphid[:12]}", f"workflow {graphid}", timeout)  # fmt: skip
    state = graph.get("state")
    if cfg.json:
        emit(graph, lambda _: None)
    if state != ProcessState.SUCCESS:
        processes = graph.get("processes") or []
        summary = failure_summary(processes)
        for entry in summary:
            info(entry)
        failed = sum(1 for p in processes if p.get("state") == ProcessState.FAILED)
        detail = f": {failed} of {len(processes)} nodes failed" if failed else ""
        raise CLIError(f"workflow {graphid} {state_name(state).lower()}{detail}")
    if not cfg.json:
        _graph_tables(graph)


@app.command("watch")
def watch(
    workflowid: str = _GID,
    timeout: float | None = typer.Option(None, "--timeout", help="Give up after this many seconds."),
) -> None:
    """Follow a workflow submitted elsewhere until it ends: each node's state, retries and time."""
    _watch(get_config(), workflowid, timeout)


@app.command("ls")
def ls(
    state: str | None = typer.Option(
        None, "--state", help="waiting, running, successful, failed or cancelled."
    ),
    count: int = typer.Option(20, "--count", help="How many to show (at most 100)."),
) -> None:
    """List workflows, newest first (all states unless --state; the original servers list no cancelled ones)."""
    cfg = get_config()
    if state is not None and state.lower() not in _STATE_NAMES:
        names = ", ".join(PROCESS_STATES[s].lower() for s in sorted(PROCESS_STATES))
        raise CLIError(f"--state must be one of {names}")
    states = [int(_STATE_NAMES[state.lower()])] if state else list(PROCESS_STATES)
    client, colonyname, key = cfg.client(), cfg.colony(), cfg.key()
    if not state and client.server_generation() != "colonies-python":
        states.remove(ProcessState.CANCELLED)  # the original servers list no cancelled workflows
    graphs: list[dict[str, Any]] = []
    for s in states:
        try:
            graphs.extend(plain(client.get_processgraphs(colonyname, count, key, state=s)) or [])
        except ColoniesError as exc:
            refused = state_refused(exc, f"{PROCESS_STATES[s].lower()} workflows", cfg)
            if refused is None:
                raise
            if state:  # asked for that state: say why there is no answer
                raise refused from None
    graphs.sort(key=lambda g: parse_time(str(g.get("submissiontime") or "")), reverse=True)
    emit(graphs[:count], _graphs_table)


@app.command("get")
def get(workflowid: str = _GID) -> None:
    """Show a workflow and its processes."""
    cfg = get_config()
    emit(_with_processes(cfg, _fetch(cfg, workflowid)), _graph_tables)


@app.command("remove")
def remove(workflowid: str = _GID) -> None:
    """Remove a workflow that is not running, with its processes."""
    cfg = get_config()
    cfg.client().remove_processgraph(workflowid, cfg.key())
    emit({"processgraphid": workflowid, "removed": True}, lambda _: info(f"Workflow {workflowid} removed"))


@app.command("cancel")
def cancel(workflowid: str = _GID) -> None:
    """Cancel every waiting or running process of a workflow."""
    cfg = get_config()
    cfg.client().cancel_processgraph(workflowid, cfg.key())
    data = {"processgraphid": workflowid, "state": int(ProcessState.CANCELLED)}
    emit(data, lambda _: info(f"Workflow {workflowid} cancelled"))


@app.command("removeall")
def removeall(
    waiting: bool = typer.Option(False, "--waiting", help="Only waiting workflows."),
    successful: bool = typer.Option(False, "--successful", help="Only successful workflows."),
    failed: bool = typer.Option(False, "--failed", help="Only failed workflows."),
    cancelled: bool = typer.Option(False, "--cancelled", help="Only cancelled workflows."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Remove all workflows of the colony that are not running, or those in one state (colony owner key)."""
    cfg = get_config()
    state, label = removeall_state(waiting, successful, failed, cancelled)
    colonyname, key = cfg.colony(), cfg.key("colony_prvkey")
    confirm_all(f"{label} workflows" if label != "all" else "all workflows", colonyname, yes)
    cfg.client().remove_all_processgraphs(colonyname, key, state=state)
    emit(
        {"colonyname": colonyname, "state": state, "removed": True},
        lambda _: info(f"Removed {label} workflows in colony {colonyname}"),
    )

"""Workflow (process graph) messages."""

from __future__ import annotations

from typing import Any

import orjson

from ... import dag
from ... import messages as m
from ...exceptions import BadRequest, NotFound
from ...types import NOTSET, ProcessState
from ..auth import require_colony_owner, require_executor, require_member
from ..context import Context
from ..lifecycle import new_graph, new_process
from ..views import graph_view, process_view
from .common import check_count, check_offset, check_state


async def submit_workflow_spec(ctx: Context, msg: m.SubmitWorkflowSpecMsg) -> Any:
    """submitworkflowspecmsg — approved member; the DAG is checked before anything is stored."""
    wf = msg.spec
    member = await require_member(ctx, wf.colonyname)
    specs = wf.functionspecs
    dag.check_workflow([(s.nodename, s.conditions.dependencies) for s in specs], ctx.settings.max_workflow_nodes,
                       ctx.settings.max_workflow_edges)
    graph, processes, attributes = new_graph(wf, ctx.caller, member["name"], ctx.now())
    await ctx.storage.add_graph(graph, processes, attributes)
    ctx.events.publish(processes)
    return graph_view(graph, [p["processid"] for p in processes])


async def _load(ctx: Context, processgraphid: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    found = await ctx.storage.get_graph(processgraphid)
    if found is None:
        raise NotFound(f"Workflow with id {processgraphid} does not exist")
    return found


async def get_process_graph(ctx: Context, msg: m.ProcessGraphIDMsg) -> Any:
    """getprocessgraphmsg — approved member; includes the dashboard layout."""
    graph, procs = await _load(ctx, msg.processgraphid)
    await require_member(ctx, graph["colonyname"])
    shaped = [
        {"processid": p["processid"], "nodename": p["nodename"], "state": p["state"],
         "parents": orjson.loads(p["parents"]), "children": orjson.loads(p["children"])}
        for p in procs
    ]  # fmt: skip
    nodes, edges = dag.layout(shaped)
    return graph_view(graph, [p["processid"] for p in procs], nodes, edges)


async def get_process_graphs(ctx: Context, msg: m.GetProcessGraphsMsg) -> Any:
    """getprocessgraphsmsg — approved member; newest first."""
    await require_member(ctx, msg.colonyname)
    graphs = await ctx.storage.get_graphs(
        msg.colonyname, check_state(msg.state), check_count(msg.count), check_offset(msg.offset)
    )
    return [graph_view(g, ids) for g, ids in graphs]


async def remove_process_graph(ctx: Context, msg: m.ProcessGraphIDMsg) -> Any:
    """removeprocessgraphmsg — approved member; not while it runs."""
    graph, _ = await _load(ctx, msg.processgraphid)
    await require_member(ctx, graph["colonyname"])
    await ctx.storage.remove_graph(msg.processgraphid)
    return {}


async def remove_all_process_graphs(ctx: Context, msg: m.RemoveAllMsg) -> Any:
    """removeallprocessgraphsmsg — colony owner; state -1 = every graph that is not running."""
    await require_colony_owner(ctx, msg.colonyname)
    if msg.state == ProcessState.RUNNING:
        raise BadRequest("Not possible to remove running workflows")
    if msg.state != NOTSET:
        check_state(msg.state)
    await ctx.storage.remove_all_graphs(msg.colonyname, msg.state)
    return {}


async def cancel_process_graph(ctx: Context, msg: m.ProcessGraphIDMsg) -> Any:
    """cancelprocessgraphmsg — approved member; waiting and running processes become CANCELLED."""
    graph, _ = await _load(ctx, msg.processgraphid)
    await require_member(ctx, graph["colonyname"])
    ctx.events.publish(await ctx.storage.cancel_graph(msg.processgraphid, ctx.now()))
    return {}


async def add_child(ctx: Context, msg: m.AddChildMsg) -> Any:
    """addchildmsg — the executor running the parent splices a new process into its workflow."""
    parent = await ctx.storage.get_process(msg.parentprocessid)
    if parent is None:
        raise NotFound(f"Process with id {msg.parentprocessid} does not exist")
    member = await require_executor(ctx, parent["colonyname"])
    msg.spec.conditions.colonyname = msg.spec.conditions.colonyname or parent["colonyname"]
    if msg.spec.conditions.colonyname != parent["colonyname"]:
        raise BadRequest("The child must belong to the parent's colony")
    row, attrs = new_process(msg.spec, ctx.caller, member["name"], ctx.now(), msg.processgraphid, True)
    row = await ctx.storage.add_child(
        msg.parentprocessid, msg.childprocessid, msg.insert, ctx.caller, row, attrs,
        ctx.settings.max_workflow_nodes, ctx.settings.max_workflow_edges,
    )  # fmt: skip
    return process_view(row)

"""Executor messages: registration by the colony owner, approval, listing, removal, and the executor's own
capability and allocation reports."""

from __future__ import annotations

from typing import Any

from ... import messages as m
from ...exceptions import BadRequest, Forbidden, NotFound
from ...types import ExecutorState
from .. import wire
from ..auth import require_colony_owner, require_executor, require_member, require_member_or_owner
from ..context import Context
from ..lifecycle import to_json
from ..views import Row, executor_view
from .common import check_id, check_name


async def add_executor(ctx: Context, msg: m.AddExecutorMsg) -> Any:
    """addexecutormsg — colony owner; the executor starts PENDING until approved."""
    e = msg.executor
    await require_colony_owner(ctx, e.colonyname)
    check_id(e.executorid, "executor id")
    check_name(e.executorname, "executor name")
    check_name(e.executortype, "executor type")
    now = ctx.now()
    row = await ctx.storage.add_executor(
        {
            "colonyname": e.colonyname,
            "executorname": e.executorname,
            "executorid": e.executorid,
            "executortype": e.executortype,
            "state": ExecutorState.PENDING,
            "requirefuncreg": int(e.requirefuncreg),
            "commissiontime": now,
            "lastheardfromtime": 0,
            "locationname": e.locationname,
            "capabilities": _capabilities(e.capabilities),
            "allocations": to_json(e.allocations, "allocations"),
            "blueprintid": e.blueprintid,
            "blueprintgen": e.blueprintgen,
            "location": to_json(e.location.model_dump(), "location") if e.location is not None else "",
        }
    )
    return (await executor_views(ctx, msg, [row], wire.of_executor(e)))[0]


async def executor_views(ctx: Context, msg: m.Msg, rows: list[Row], own: str = wire.UNKNOWN) -> list[Any]:
    """Executors in the shape the caller's client parses (``server/wire.py``), with their named locations'
    coordinates as the v1.7.8 ``location``."""
    if not rows:
        return []
    colonyname = rows[0]["colonyname"]
    generation = await wire.reader(ctx, msg, colonyname, own)
    places: dict[str, Row] = {}
    if any(row["locationname"] and not row["location"] for row in rows):
        places = {loc["name"]: loc for loc in await ctx.storage.get_locations(colonyname)}
    return [executor_view(row, generation, places.get(row["locationname"])) for row in rows]


async def get_executors(ctx: Context, msg: m.ColonyNameMsg) -> Any:
    """getexecutorsmsg — approved member; removed executors are not listed (the Go server lists them, and its
    v1.7.8 CLI shows them as "Unknown"). The colony owner may list them too: it approves them."""
    await require_member_or_owner(ctx, msg.colonyname)
    return await executor_views(ctx, msg, await ctx.storage.get_executors(msg.colonyname))


async def get_executor(ctx: Context, msg: m.ExecutorNameMsg) -> Any:
    """getexecutormsg — approved member or the colony owner."""
    await require_member_or_owner(ctx, msg.colonyname)
    row = await ctx.storage.get_executor(msg.colonyname, msg.executorname)
    if row is None or row["state"] == ExecutorState.UNREGISTERED:
        raise NotFound(f"Executor with name {msg.executorname} does not exist in colony {msg.colonyname}")
    return (await executor_views(ctx, msg, [row]))[0]


async def get_executor_by_id(ctx: Context, msg: m.GetExecutorByIDMsg) -> Any:
    """getexecutorbyidmsg — approved member."""
    await require_member(ctx, msg.colonyname)
    row = await ctx.storage.get_executor_by_id(msg.colonyname, msg.executorid)
    if row is None or row["state"] == ExecutorState.UNREGISTERED:
        raise NotFound(f"Executor with id {msg.executorid} does not exist in colony {msg.colonyname}")
    return (await executor_views(ctx, msg, [row]))[0]


async def _itself(ctx: Context, colonyname: str, executorname: str, what: str) -> None:
    """The caller must be the approved executor it names (the Go server answers 400 to another member)."""
    member = await require_executor(ctx, colonyname)
    if member["name"] != executorname:
        raise Forbidden(f"Only an executor can {what} itself: the caller is not executor {executorname}")


async def update_executor(ctx: Context, msg: m.UpdateExecutorMsg) -> Any:
    """updateexecutormsg — the executor itself; replaces its capabilities (kept as sent: objects or arrays)."""
    await _itself(ctx, msg.colonyname, msg.executorname, "update the capabilities of")
    if msg.capabilities is None:
        raise BadRequest("Invalid updateexecutormsg: capabilities are missing")
    capabilities = _capabilities(msg.capabilities)
    await ctx.storage.set_executor_capabilities(msg.colonyname, msg.executorname, capabilities)
    return {}


def _capabilities(capabilities: dict[str, Any]) -> str:
    """Capabilities as JSON to store: hardware and software as objects (v1.7.8) or lists of objects (v1.9)."""
    for key in ("hardware", "software"):
        value = capabilities.get(key)
        if isinstance(value, list) and all(isinstance(item, dict) for item in value):
            continue
        if not isinstance(value, (dict, type(None))):
            raise BadRequest(f"Invalid capabilities.{key}: expected an object or an array of objects")
    return to_json(capabilities, "capabilities")


async def report_allocation(ctx: Context, msg: m.ReportAllocationMsg) -> Any:
    """reportallocationmsg — the executor itself; replaces its project allocations (Go's Project fields)."""
    await _itself(ctx, msg.colonyname, msg.executorname, "report the allocations of")
    for name in msg.allocations.projects:
        check_name(name, "project name")
    allocations = to_json(msg.allocations.model_dump(), "allocations")
    await ctx.storage.set_executor_allocations(msg.colonyname, msg.executorname, allocations)
    return {}


async def _set_state(ctx: Context, msg: m.ExecutorNameMsg, state: ExecutorState) -> Any:
    await require_colony_owner(ctx, msg.colonyname)
    row = await ctx.storage.get_executor(msg.colonyname, msg.executorname)
    if row is None or row["state"] == ExecutorState.UNREGISTERED:
        raise NotFound(f"Executor with name {msg.executorname} does not exist in colony {msg.colonyname}")
    # A rejected executor gives back what it runs, as a removed one does (the Go server leaves it RUNNING).
    ctx.events.publish(await ctx.storage.set_executor_state(msg.colonyname, msg.executorname, state, ctx.now()))
    return {}


async def approve_executor(ctx: Context, msg: m.ExecutorNameMsg) -> Any:
    """approveexecutormsg — colony owner."""
    return await _set_state(ctx, msg, ExecutorState.APPROVED)


async def reject_executor(ctx: Context, msg: m.ExecutorNameMsg) -> Any:
    """rejectexecutormsg — colony owner; its running processes go back to the queue."""
    return await _set_state(ctx, msg, ExecutorState.REJECTED)


async def remove_executor(ctx: Context, msg: m.ExecutorNameMsg) -> Any:
    """removeexecutormsg — colony owner, or the executor itself (ours: a self-registered executor drops the
    colony key once registered, and still removes itself when it stops); its running processes are requeued."""
    try:
        await require_colony_owner(ctx, msg.colonyname)
    except Forbidden:
        row = await ctx.storage.get_executor(msg.colonyname, msg.executorname)
        if row is None or not ctx.caller or row["executorid"] != ctx.caller:
            raise
    requeued = await ctx.storage.remove_executor(msg.colonyname, msg.executorname, ctx.now())
    ctx.events.publish(requeued)
    return {}


async def change_executor_id(ctx: Context, msg: m.ChangeExecutorIDMsg) -> Any:
    """changeexecutoridmsg — an executor of the colony replaces its own id (a key rotation); the processes it
    runs follow it, and the old key stops working."""
    await require_executor(ctx, msg.colonyname)
    check_id(msg.executorid, "executor id")
    await ctx.storage.change_executor_id(msg.colonyname, ctx.caller, msg.executorid)
    return {"colonyname": msg.colonyname, "executorid": msg.executorid, "msgtype": msg.msgtype}

"""Executor messages: registration by the colony owner, approval, listing, removal."""

from __future__ import annotations

from typing import Any

from ... import messages as m
from ...exceptions import Forbidden, NotFound
from ...types import ExecutorState
from ..auth import require_colony_owner, require_executor, require_member
from ..context import Context
from ..lifecycle import to_json
from ..views import executor_view
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
            "capabilities": to_json(e.capabilities, "capabilities"),
            "allocations": to_json(e.allocations, "allocations"),
            "blueprintid": e.blueprintid,
            "blueprintgen": e.blueprintgen,
        }
    )
    return executor_view(row)


async def get_executors(ctx: Context, msg: m.ColonyNameMsg) -> Any:
    """getexecutorsmsg — approved member; removed executors are not listed (the Go server lists them, and its
    v1.7.8 CLI shows them as "Unknown")."""
    await require_member(ctx, msg.colonyname)
    return [executor_view(e) for e in await ctx.storage.get_executors(msg.colonyname)]


async def get_executor(ctx: Context, msg: m.ExecutorNameMsg) -> Any:
    """getexecutormsg — approved member."""
    await require_member(ctx, msg.colonyname)
    row = await ctx.storage.get_executor(msg.colonyname, msg.executorname)
    if row is None or row["state"] == ExecutorState.UNREGISTERED:
        raise NotFound(f"Executor with name {msg.executorname} does not exist in colony {msg.colonyname}")
    return executor_view(row)


async def get_executor_by_id(ctx: Context, msg: m.GetExecutorByIDMsg) -> Any:
    """getexecutorbyidmsg — approved member."""
    await require_member(ctx, msg.colonyname)
    row = await ctx.storage.get_executor_by_id(msg.colonyname, msg.executorid)
    if row is None or row["state"] == ExecutorState.UNREGISTERED:
        raise NotFound(f"Executor with id {msg.executorid} does not exist in colony {msg.colonyname}")
    return executor_view(row)


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

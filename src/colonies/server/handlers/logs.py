"""Log messages."""

from __future__ import annotations

from typing import Any

from ... import messages as m
from ...exceptions import BadRequest, Forbidden, NotFound
from ...types import MAX_LOG_COUNT, MAX_LOG_DAYS
from ..auth import require_executor, require_member
from ..context import Context
from ..views import log_view
from .common import check_count, lease_of

DAY_NS = 86_400 * 1_000_000_000


async def add_log(ctx: Context, msg: m.AddLogMsg) -> Any:
    """addlogmsg — the assigned executor, while the process runs."""
    proc = await ctx.storage.get_process(msg.processid)
    if proc is None:
        raise NotFound(f"Process with id {msg.processid} does not exist")
    member = await require_executor(ctx, proc["colonyname"])
    _check_size(ctx, msg.message)
    log = {"processid": msg.processid, "colonyname": proc["colonyname"], "executorname": member["name"],
           "message": msg.message, "timestamp": ctx.now()}  # fmt: skip
    await ctx.storage.add_log(log, ctx.caller, lease_of(msg.lease))
    ctx.events.publish_log(proc["colonyname"], msg.processid)
    return {}


async def add_executor_log(ctx: Context, msg: m.AddExecutorLogMsg) -> Any:
    """addexecutorlogmsg — the executor itself; a log line not tied to a process."""
    member = await require_executor(ctx, msg.colonyname)
    if member["name"] != msg.executorname:
        raise Forbidden("Not allowed to add logs for another executor")
    _check_size(ctx, msg.message)
    log = {"processid": "", "colonyname": msg.colonyname, "executorname": msg.executorname,
           "message": msg.message, "timestamp": ctx.now()}  # fmt: skip
    await ctx.storage.add_log(log, None)
    return {}


def _check_size(ctx: Context, message: str) -> None:
    limit = ctx.settings.max_log_bytes
    if len(message) > limit // 4 and len(message.encode()) > limit:  # a char is at most 4 bytes of UTF-8
        raise BadRequest(f"Log message of {len(message.encode())} bytes exceeds the limit of {limit} bytes")


async def get_logs(ctx: Context, msg: m.GetLogsMsg) -> Any:
    """getlogsmsg — approved member; by process or by executor; latest, since a timestamp, or from the start."""
    count = check_count(msg.count, MAX_LOG_COUNT)
    if msg.executorname:
        await require_member(ctx, msg.colonyname)
        if await ctx.storage.get_executor(msg.colonyname, msg.executorname) is None:
            raise NotFound(f"Executor with name {msg.executorname} does not exist in colony {msg.colonyname}")
        colonyname = msg.colonyname
    else:
        proc = await ctx.storage.get_process(msg.processid)
        if proc is None:
            raise NotFound(f"Process with id {msg.processid} does not exist")
        colonyname = proc["colonyname"]
        await require_member(ctx, colonyname)
    rows = await ctx.storage.get_logs(colonyname, msg.processid, msg.executorname, count, msg.since, msg.latest)
    return [log_view(r) for r in rows]


async def search_logs(ctx: Context, msg: m.SearchLogsMsg) -> Any:
    """searchlogsmsg — approved member; substring search over the last ``days`` days."""
    await require_member(ctx, msg.colonyname)
    count = check_count(msg.count)
    if msg.days > MAX_LOG_DAYS:
        raise BadRequest(f"Days {msg.days} exceeds the limit of {MAX_LOG_DAYS}")
    if not msg.text:
        raise BadRequest("Search text is empty")
    since = ctx.now() - max(msg.days, 1) * DAY_NS
    rows = await ctx.storage.search_logs(msg.colonyname, msg.text, since, count)
    return [log_view(r) for r in rows]

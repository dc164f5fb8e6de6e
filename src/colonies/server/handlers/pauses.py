"""Assignment pauses (v1.9): the colony owner stops and restarts the hand-out of processes; submissions go on."""

from __future__ import annotations

from typing import Any

from ... import messages as m
from ..auth import require_colony_owner, require_member_or_owner
from ..context import Context


async def pause_assignments(ctx: Context, msg: m.ColonyNameMsg) -> Any:
    """pauseassignmentsmsg — colony owner. Assign answers 503 (timeout < 0) or 408 after its timeout until resumed;
    processes already running carry on."""
    await require_colony_owner(ctx, msg.colonyname)
    await ctx.storage.pause_assignments(msg.colonyname, ctx.now())
    return {}


async def resume_assignments(ctx: Context, msg: m.ColonyNameMsg) -> Any:
    """resumeassignmentsmsg — colony owner; wakes the colony's waiting long-polls on every replica."""
    await require_colony_owner(ctx, msg.colonyname)
    await ctx.storage.resume_assignments(msg.colonyname)
    ctx.events.publish_resume(msg.colonyname)
    return {}


async def get_pause_status(ctx: Context, msg: m.ColonyNameMsg) -> Any:
    """getpausestatusmsg — approved member, or the colony owner (who pauses; the Go server admits any member,
    pending executors too, and not the owner). Replied as ``pausestatusreplymsg``."""
    await require_member_or_owner(ctx, msg.colonyname)
    paused = await ctx.storage.is_paused(msg.colonyname)
    return {"msgtype": "pausestatusreplymsg", "colonyname": msg.colonyname, "ispaused": paused}

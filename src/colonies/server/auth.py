"""The role rules of protocol §2. Each check raises Forbidden (403) for the wrong caller."""

from __future__ import annotations

from typing import Any

from ..exceptions import Forbidden, approved_member
from .context import Context

Row = dict[str, Any]


async def require_server_owner(ctx: Context) -> None:
    if not ctx.caller or ctx.caller != await ctx.storage.get_server_id():
        raise Forbidden("Access denied, not server owner")


async def require_colony_owner(ctx: Context, colonyname: str) -> Row:
    colony = await ctx.storage.get_colony(colonyname)
    # An unknown colony is refused like a foreign one, so that names cannot be probed.
    if colony is None or colony["colonyid"] != ctx.caller:
        raise Forbidden(f"Access denied, not the owner of colony {colonyname} (or no such colony)")
    return colony


async def require_member(ctx: Context, colonyname: str) -> Row:
    """An approved executor or a user of the colony; returns who it is.

    Pending, rejected and removed executors get nothing at all (the Go server lets them list users and executors).
    """
    return approved_member(await ctx.storage.get_member(colonyname, ctx.caller), colonyname)


async def require_executor(ctx: Context, colonyname: str) -> Row:
    """An approved executor of the colony (users cannot take work)."""
    member = await require_member(ctx, colonyname)
    if member["kind"] != "executor":
        raise Forbidden(f"Access denied, caller is not an executor of colony {colonyname}")
    return member


async def require_member_or_owner(ctx: Context, colonyname: str) -> Row:
    """An approved member, or the colony's owner: what the owner manages (the colony, its executors, users and
    statistics, its live events) it may also see. Ours: the Go server refuses the owner these reads."""
    colony = await ctx.storage.get_colony(colonyname)
    if colony is not None and ctx.caller and colony["colonyid"] == ctx.caller:
        return {"kind": "owner", "colonyname": colonyname}
    return await require_member(ctx, colonyname)

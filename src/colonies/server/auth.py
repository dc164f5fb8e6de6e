"""The role rules of protocol §2. Each check raises Forbidden (403) for the wrong caller."""

from __future__ import annotations

from typing import Any

from ..exceptions import Forbidden, NotFound
from ..types import ExecutorState
from .context import Context

Row = dict[str, Any]


async def require_server_owner(ctx: Context) -> None:
    if not ctx.caller or ctx.caller != await ctx.storage.get_server_id():
        raise Forbidden("Access denied, not server owner")


async def require_colony_owner(ctx: Context, colonyname: str) -> Row:
    colony = await ctx.storage.get_colony(colonyname)
    if colony is None:
        raise NotFound(f"Colony with name {colonyname} does not exist")
    if colony["colonyid"] != ctx.caller:
        raise Forbidden(f"Access denied, not colony owner of colony {colonyname}")
    return colony


async def require_member(ctx: Context, colonyname: str, approved: bool = True) -> Row:
    """An executor (approved unless ``approved=False``) or a user of the colony; returns who it is."""
    member = await ctx.storage.get_member(colonyname, ctx.caller)
    if member is not None and (not approved or member["state"] == ExecutorState.APPROVED):
        return member
    if member is None and await ctx.storage.get_colony(colonyname) is None:
        raise NotFound(f"Colony with name {colonyname} does not exist")
    if member is not None:
        state = ExecutorState(member["state"]).name.lower()
        raise Forbidden(f"Access denied, executor {member['name']} is {state} in colony {colonyname}")
    raise Forbidden(f"Access denied, not a member of colony {colonyname}")


async def require_executor(ctx: Context, colonyname: str) -> Row:
    """An approved executor of the colony (users cannot take work)."""
    member = await require_member(ctx, colonyname)
    if member["kind"] != "executor":
        raise Forbidden(f"Access denied, caller is not an executor of colony {colonyname}")
    return member

"""Colony messages."""

from __future__ import annotations

from typing import Any

from ... import messages as m
from ...exceptions import NotFound
from ..auth import require_colony_owner, require_member, require_member_or_owner, require_server_owner
from ..context import Context
from ..views import colony_view
from .common import check_id, check_name


async def add_colony(ctx: Context, msg: m.AddColonyMsg) -> Any:
    """addcolonymsg — server owner."""
    await require_server_owner(ctx)
    check_id(msg.colony.colonyid, "colony id")
    check_name(msg.colony.name, "colony name")
    await ctx.storage.add_colony(msg.colony.name, msg.colony.colonyid)
    return {"colonyid": msg.colony.colonyid, "name": msg.colony.name}


async def remove_colony(ctx: Context, msg: m.ColonyNameMsg) -> Any:
    """removecolonymsg — server owner; removes everything the colony holds."""
    await require_server_owner(ctx)
    await ctx.storage.remove_colony(msg.colonyname)
    return {}


async def get_colonies(ctx: Context, msg: m.Msg) -> Any:
    """getcoloniesmsg — server owner."""
    await require_server_owner(ctx)
    return [colony_view(c) for c in await ctx.storage.get_colonies()]


async def get_colony(ctx: Context, msg: m.ColonyNameMsg) -> Any:
    """getcolonymsg — approved member or the colony owner."""
    await require_member_or_owner(ctx, msg.colonyname)
    colony = await ctx.storage.get_colony(msg.colonyname)
    if colony is None:
        raise NotFound(f"Colony with name {msg.colonyname} does not exist")
    return colony_view(colony)


async def get_colony_statistics(ctx: Context, msg: m.ColonyNameMsg) -> Any:
    """getcolonystatsmsg — approved member or the colony owner (the Go server answers an empty 200 to others; we
    answer 403)."""
    await require_member_or_owner(ctx, msg.colonyname)
    return await ctx.storage.get_statistics(msg.colonyname)


async def change_colony_id(ctx: Context, msg: m.ChangeColonyIDMsg) -> Any:
    """changecolonyidmsg — colony owner."""
    await require_colony_owner(ctx, msg.colonyname)
    check_id(msg.colonyid, "colony id")
    await ctx.storage.set_colony_id(msg.colonyname, msg.colonyid)
    return {"colonyname": msg.colonyname, "colonyid": msg.colonyid, "msgtype": msg.msgtype}




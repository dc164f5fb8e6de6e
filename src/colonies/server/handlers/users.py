"""User messages. Users are members that need no approval; they may submit and read but not take work."""

from __future__ import annotations

from typing import Any

from ... import messages as m
from ...exceptions import Forbidden, NotFound
from ..auth import require_colony_owner, require_member, require_member_or_owner
from ..context import Context
from ..views import user_view
from .common import check_id, check_name


async def add_user(ctx: Context, msg: m.AddUserMsg) -> Any:
    """addusermsg — colony owner."""
    user = msg.user
    await require_colony_owner(ctx, user.colonyname)
    check_id(user.userid, "user id")
    check_name(user.name, "user name")
    await ctx.storage.add_user(user.model_dump())
    return user_view(user.model_dump())


async def get_users(ctx: Context, msg: m.ColonyNameMsg) -> Any:
    """getusersmsg — approved member or the colony owner (who adds and removes them)."""
    await require_member_or_owner(ctx, msg.colonyname)
    return [user_view(u) for u in await ctx.storage.get_users(msg.colonyname)]


async def get_user(ctx: Context, msg: m.UserNameMsg) -> Any:
    """getusermsg — approved member."""
    await require_member(ctx, msg.colonyname)
    user = await ctx.storage.get_user(msg.colonyname, msg.name)
    if user is None:
        raise NotFound(f"User with name {msg.name} does not exist in colony {msg.colonyname}")
    return user_view(user)


async def get_user_by_id(ctx: Context, msg: m.GetUserByIDMsg) -> Any:
    """getuserbyidmsg — approved member."""
    await require_member(ctx, msg.colonyname)
    user = await ctx.storage.get_user_by_id(msg.colonyname, msg.userid)
    if user is None:
        raise NotFound(f"User with id {msg.userid} does not exist in colony {msg.colonyname}")
    return user_view(user)


async def remove_user(ctx: Context, msg: m.UserNameMsg) -> Any:
    """removeusermsg — colony owner."""
    await require_colony_owner(ctx, msg.colonyname)
    if not await ctx.storage.remove_user(msg.colonyname, msg.name):
        raise NotFound(f"User with name {msg.name} does not exist in colony {msg.colonyname}")
    return {}


async def change_user_id(ctx: Context, msg: m.ChangeUserIDMsg) -> Any:
    """changeuseridmsg — a user of the colony replaces its own id (a key rotation); the old key stops working."""
    await require_member(ctx, msg.colonyname)
    if await ctx.storage.get_user_by_id(msg.colonyname, ctx.caller) is None:  # a key may be executor and user
        raise Forbidden(f"Access denied, caller is not a user of colony {msg.colonyname}")
    check_id(msg.userid, "user id")
    await ctx.storage.change_user_id(msg.colonyname, ctx.caller, msg.userid)
    return {"colonyname": msg.colonyname, "userid": msg.userid, "msgtype": msg.msgtype}

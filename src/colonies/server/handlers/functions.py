"""Function registry messages (discovery and per-function statistics)."""

from __future__ import annotations

from typing import Any

from ... import messages as m
from ...crypto import random_id
from ...exceptions import Forbidden, NotFound
from ..auth import require_member, require_member_or_owner
from ..context import Context
from ..lifecycle import to_json
from ..views import function_view
from .common import check_name


async def add_function(ctx: Context, msg: m.AddFunctionMsg) -> Any:
    """addfunctionmsg — the approved executor itself."""
    fn = msg.fun
    member = await require_member(ctx, fn.colonyname)
    if member["kind"] != "executor" or member["name"] != fn.executorname:
        raise Forbidden("Not allowed to add a function to another executor")
    check_name(fn.funcname, "function name")
    row = await ctx.storage.add_function(
        {
            "functionid": fn.functionid or random_id(),
            "colonyname": fn.colonyname,
            "executorname": fn.executorname,
            "executortype": member["executortype"],
            "funcname": fn.funcname,
            "description": fn.description,
            "args": to_json(fn.args, "function args"),
            "locationname": member.get("locationname") or "",
        }
    )
    return function_view(row)


async def get_functions(ctx: Context, msg: m.GetFunctionsMsg) -> Any:
    """getfunctionsmsg — approved member or the colony owner; all functions of the colony or of one executor."""
    await require_member_or_owner(ctx, msg.colonyname)
    return [function_view(f) for f in await ctx.storage.get_functions(msg.colonyname, msg.executorname)]


async def remove_function(ctx: Context, msg: m.RemoveFunctionMsg) -> Any:
    """removefunctionmsg — the executor that registered it."""
    fn = await ctx.storage.get_function(msg.functionid)
    if fn is None:
        raise NotFound(f"Function with id {msg.functionid} does not exist")
    member = await require_member(ctx, fn["colonyname"])
    if member["kind"] != "executor" or member["name"] != fn["executorname"]:
        raise Forbidden("Not allowed to remove a function of another executor")
    await ctx.storage.remove_function(msg.functionid)
    return {}

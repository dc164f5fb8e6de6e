"""Attribute messages."""

from __future__ import annotations

from typing import Any

from ... import messages as m
from ...exceptions import BadRequest, NotFound
from ...types import AttributeType
from ..auth import require_member
from ..context import Context
from ..lifecycle import new_attribute
from ..views import attribute_view
from .common import lease_of


async def add_attribute(ctx: Context, msg: m.AddAttributeMsg) -> Any:
    """addattributemsg — the assigned executor, while the process runs."""
    a = msg.attribute
    if a.attributetype not in tuple(AttributeType):
        raise BadRequest(f"Invalid attribute type {a.attributetype}: expected 0 (in) to 3 (env)")
    if not a.key:
        raise BadRequest("Invalid attribute: key is empty")
    proc = await ctx.storage.get_process(a.targetid)
    if proc is None:
        raise NotFound(f"Process with id {a.targetid} does not exist")
    await require_member(ctx, proc["colonyname"])
    row = new_attribute(a.targetid, proc["colonyname"], proc["processgraphid"], a.attributetype, a.key, a.value,
                        ctx.now())  # fmt: skip
    return attribute_view(await ctx.storage.add_attribute(row, ctx.caller, lease_of(msg.lease)))


async def get_attribute(ctx: Context, msg: m.GetAttributeMsg) -> Any:
    """getattributemsg — approved member of the target's colony."""
    row = await ctx.storage.get_attribute(msg.attributeid)
    if row is None:
        raise NotFound(f"Attribute with id {msg.attributeid} does not exist")
    await require_member(ctx, row["targetcolonyname"])
    return attribute_view(row)

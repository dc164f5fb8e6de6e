"""Location messages (protocol §3.15): the colony owner adds and removes, approved members read.

An executor or a process may name a location that was never added, as in the original: the name alone decides
assignment (a process with a location goes only to executors at that location, case-insensitively)."""

from __future__ import annotations

import math
from typing import Any

from ... import messages as m
from ...crypto import random_id
from ...exceptions import BadRequest, NotFound
from ..auth import require_colony_owner, require_member_or_owner
from ..context import Context
from ..views import location_view
from .common import check_id, check_name


async def add_location(ctx: Context, msg: m.AddLocationMsg) -> Any:
    """addlocationmsg — colony owner; the id comes from the client (the CLI makes a random one), or is made here."""
    loc = msg.location
    await require_colony_owner(ctx, loc.colonyname)
    check_name(loc.name, "location name")
    if loc.locationid:
        check_id(loc.locationid, "location id")
    if not (math.isfinite(loc.long) and -180 <= loc.long <= 180 and math.isfinite(loc.lat) and -90 <= loc.lat <= 90):
        raise BadRequest(f"Invalid location: long {loc.long} must be in [-180, 180] and lat {loc.lat} in [-90, 90]")
    row = {"locationid": loc.locationid or random_id(), "colonyname": loc.colonyname, "name": loc.name,
           "description": loc.description, "longitude": loc.long, "latitude": loc.lat}  # fmt: skip
    return location_view(await ctx.storage.add_location(row))


async def get_locations(ctx: Context, msg: m.ColonyNameMsg) -> Any:
    """getlocationsmsg — approved member or the colony owner (who adds them; ours); by name."""
    await require_member_or_owner(ctx, msg.colonyname)
    return [location_view(row) for row in await ctx.storage.get_locations(msg.colonyname)]


async def get_location(ctx: Context, msg: m.LocationNameMsg) -> Any:
    """getlocationmsg — approved member or the colony owner (ours)."""
    await require_member_or_owner(ctx, msg.colonyname)
    row = await ctx.storage.get_location(msg.colonyname, msg.name)
    if row is None:
        raise NotFound(f"Location with name {msg.name} does not exist in colony {msg.colonyname}")
    return location_view(row)


async def remove_location(ctx: Context, msg: m.LocationNameMsg) -> Any:
    """removelocationmsg — colony owner; executors and processes that name it keep the name."""
    await require_colony_owner(ctx, msg.colonyname)
    if not await ctx.storage.remove_location(msg.colonyname, msg.name):
        raise NotFound(f"Location with name {msg.name} does not exist in colony {msg.colonyname}")
    return {}

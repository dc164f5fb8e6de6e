"""Generator messages (protocol §3.10): every one needs an approved member of the generator's colony."""

from __future__ import annotations

from typing import Any

import orjson

from ... import messages as m
from ...crypto import random_id
from ...exceptions import BadRequest, NotFound
from ..auth import require_member
from ..context import Context
from ..generators import make_graph
from ..views import generator_run_view, generator_view
from .common import check_count, check_name
from .crons import parse_workflow

Row = dict[str, Any]


async def _load(ctx: Context, generatorid: str, with_queue: bool = False) -> Row:
    generator = await ctx.storage.get_generator(generatorid, with_queue)
    if generator is None:
        raise NotFound(f"Generator with id {generatorid} does not exist")
    await require_member(ctx, generator["colonyname"])
    return generator


def _view(ctx: Context, row: Row) -> Any:
    return generator_view(row, ctx.settings.generator_checker_period)


async def add_generator(ctx: Context, msg: m.AddGeneratorMsg) -> Any:
    """addgeneratormsg — approved member; trigger ≥ 1 (the original divides by it)."""
    gen = msg.generator
    member = await require_member(ctx, gen.colonyname)
    check_name(gen.name, "generator name")
    parse_workflow(gen.workflowspec, gen.colonyname, ctx)
    if gen.trigger < 1:
        raise BadRequest(f"Invalid generator: trigger {gen.trigger} must be at least 1")
    if gen.timeout < 0:
        raise BadRequest(f"Invalid generator: timeout {gen.timeout} must not be negative")
    row: Row = {
        "generatorid": random_id(),
        "colonyname": gen.colonyname,
        "name": gen.name,
        "initiatorid": ctx.caller,
        "initiatorname": member["name"],
        "workflowspec": orjson.dumps(orjson.loads(gen.workflowspec)).decode(),
        "triggersize": gen.trigger,
        "timeoutsec": gen.timeout,
    }
    make_graph({**row, "firstpack": 0, "lastrun": 0}, ["probe"], ctx.now())  # every node makes a valid process
    return _view(ctx, await ctx.storage.add_generator(row))


async def get_generator(ctx: Context, msg: m.GeneratorIDMsg) -> Any:
    """getgeneratormsg — approved member; with ``queuesize`` and ``checkerperiod``."""
    return _view(ctx, await _load(ctx, msg.generatorid, with_queue=True))


async def resolve_generator(ctx: Context, msg: m.ResolveGeneratorMsg) -> Any:
    """resolvegeneratormsg — approved member; by colony and name."""
    await require_member(ctx, msg.colonyname)
    row = await ctx.storage.get_generator_by_name(msg.colonyname, msg.generatorname)
    if row is None:
        raise NotFound(f"Generator with name {msg.generatorname} does not exist in colony {msg.colonyname}")
    return _view(ctx, row)


async def get_generators(ctx: Context, msg: m.GetGeneratorsMsg) -> Any:
    """getgeneratorsmsg — approved member; by name."""
    await require_member(ctx, msg.colonyname)
    return [_view(ctx, r) for r in await ctx.storage.get_generators(msg.colonyname, check_count(msg.count))]


async def pack_generator(ctx: Context, msg: m.PackGeneratorMsg) -> Any:
    """packgeneratormsg — approved member; queues one arg (consumed in pack order)."""
    generator = await _load(ctx, msg.generatorid)
    await ctx.storage.pack_generator(generator, msg.arg, ctx.now())
    ctx.state.generator_wakeup.set()
    return {}


async def remove_generator(ctx: Context, msg: m.GeneratorIDMsg) -> Any:
    """removegeneratormsg — approved member; pending args go with it, started workflows stay."""
    await _load(ctx, msg.generatorid)
    await ctx.storage.remove_generator(msg.generatorid)
    return {}


async def get_generator_runs(ctx: Context, msg: m.GetGeneratorRunsMsg) -> Any:
    """getgeneratorrunsmsg (ours) — approved member; the workflows the generator started, newest first."""
    await _load(ctx, msg.generatorid)
    rows = await ctx.storage.get_generator_runs(msg.generatorid, check_count(msg.count))
    return [generator_run_view(r) for r in rows]

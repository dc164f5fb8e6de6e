"""Cron messages (protocol §3.11): every one needs an approved member of the cron's colony."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import ValidationError

from ... import dag, schedule
from ... import messages as m
from ...crypto import random_id
from ...exceptions import BadRequest, NotFound
from ...models import WorkflowSpec
from ..auth import require_member
from ..context import Context
from ..crons import next_run, start_run
from ..lifecycle import new_graph
from ..views import cron_run_view, cron_view
from .common import check_count, check_name

Row = dict[str, Any]


def parse_workflow(text: str, colonyname: str, ctx: Context) -> WorkflowSpec:
    """A cron's or generator's workflow spec (JSON text), checked as a submission would be."""
    try:
        wf = WorkflowSpec.model_validate_json(text or "{}")
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "workflowspec"
        raise BadRequest(f"Invalid workflowspec: {where}: {first['msg']}") from None
    if wf.colonyname and wf.colonyname != colonyname:
        raise BadRequest(f"Invalid workflowspec: its colony {wf.colonyname} is not {colonyname}")
    if not wf.functionspecs:
        raise BadRequest("Invalid workflowspec: no function specs")
    unnamed = [s.nodename or str(i) for i, s in enumerate(wf.functionspecs) if not s.funcname.strip()]
    if unnamed:  # caught now, not at every run
        raise BadRequest(f"Invalid workflowspec: function spec {unnamed[0]} has no funcname")
    dag.check_workflow([(s.nodename, s.conditions.dependencies) for s in wf.functionspecs],
                       ctx.settings.max_workflow_nodes, ctx.settings.max_workflow_edges)  # fmt: skip
    return wf


async def _load(ctx: Context, cronid: str) -> Row:
    cron = await ctx.storage.get_cron(cronid)
    if cron is None:
        raise NotFound(f"Cron with id {cronid} does not exist")
    await require_member(ctx, cron["colonyname"])
    return cron


def _view(ctx: Context, row: Row) -> Any:
    return cron_view(row, ctx.settings.cron_checker_period)


async def add_cron(ctx: Context, msg: m.AddCronMsg) -> Any:
    """addcronmsg — approved member; an expression (interval -1) or an interval in seconds."""
    cron = msg.cron
    member = await require_member(ctx, cron.colonyname)
    check_name(cron.name, "cron name")
    wf = parse_workflow(cron.workflowspec, cron.colonyname, ctx)
    wf.colonyname = cron.colonyname
    new_graph(wf, ctx.caller, member["name"], ctx.now())  # every node must make a valid process (priority, ...)
    if cron.interval == 0:
        raise BadRequest("Invalid cron: interval must be -1 (use cronexpression) or a number of seconds > 0")
    if cron.interval < -1:
        raise BadRequest(f"Invalid cron: interval {cron.interval} must be -1 or > 0")
    if cron.interval == -1:
        if cron.random:
            raise BadRequest("Random cron is only supported when specifying intervals")
        try:
            schedule.check_expression(cron.cronexpression)
        except schedule.ScheduleError as exc:
            raise BadRequest(f"Invalid cron: {exc}") from None
    now = ctx.now()
    row: Row = {
        "cronid": random_id(),
        "colonyname": cron.colonyname,
        "name": cron.name,
        "initiatorid": ctx.caller,
        "initiatorname": member["name"],
        "cronexpression": cron.cronexpression if cron.interval == -1 else "",
        "intervalsec": cron.interval,
        "randomised": int(cron.random),
        "anchor": now,
        "workflowspec": orjson.dumps(orjson.loads(cron.workflowspec)).decode(),
        "waitforprevprocessgraph": int(cron.waitforprevprocessgraph),
    }
    tz = schedule.time_zone(ctx.settings.cron_tz)
    try:
        row["nextrun"] = next_run(row, now, tz)
    except (schedule.ScheduleError, ValueError, OverflowError) as exc:
        raise BadRequest(f"Invalid cron: {exc}") from None
    stored = await ctx.storage.add_cron(row)
    ctx.state.cron_wakeup.set()
    return _view(ctx, stored)


async def get_cron(ctx: Context, msg: m.CronIDMsg) -> Any:
    """getcronmsg — approved member."""
    return _view(ctx, await _load(ctx, msg.cronid))


async def get_crons(ctx: Context, msg: m.GetCronsMsg) -> Any:
    """getcronsmsg — approved member; by name, never null."""
    await require_member(ctx, msg.colonyname)
    return [_view(ctx, row) for row in await ctx.storage.get_crons(msg.colonyname, check_count(msg.count))]


async def run_cron(ctx: Context, msg: m.CronIDMsg) -> Any:
    """runcronmsg — approved member (checked before anything runs, unlike the original); starts the workflow now
    unless it must wait for the previous one, and reschedules the next run from now."""
    cron = await _load(ctx, msg.cronid)
    await start_run(ctx.state, cron, ctx.now(), "run (runcronmsg)")
    ctx.state.cron_wakeup.set()
    return _view(ctx, await ctx.storage.get_cron(msg.cronid) or cron)


async def remove_cron(ctx: Context, msg: m.CronIDMsg) -> Any:
    """removecronmsg — approved member; the workflows it started stay."""
    await _load(ctx, msg.cronid)
    await ctx.storage.remove_cron(msg.cronid)
    ctx.state.cron_wakeup.set()
    return {}


async def get_cron_runs(ctx: Context, msg: m.GetCronRunsMsg) -> Any:
    """getcronrunsmsg (ours) — approved member; the cron's recent firings, newest first."""
    await _load(ctx, msg.cronid)
    return [cron_run_view(row) for row in await ctx.storage.get_cron_runs(msg.cronid, check_count(msg.count))]

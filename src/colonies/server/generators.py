"""The generator loop (protocol §6.1), on the leader only: turns packed args into workflows.

Each pass, for every generator with packed args: when ``trigger`` args or more are queued, one workflow per
``trigger`` args (in pack order); else, when its ``timeout`` (s) has passed since the last run (or since the first
pack if it never ran), one workflow with all of them. The root processes of each workflow get the args as their
``args`` (and no kwargs). Passes run every ``COLONIES_GENERATOR_CHECKER_PERIOD`` ms, and at most every 100 ms
sooner when args are packed on this server, so a full batch starts promptly.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from ..models import WorkflowSpec
from .context import ServerState
from .lifecycle import new_graph

log = logging.getLogger(__name__)

Row = dict[str, Any]
NS = 1_000_000_000
#: Workflows started in one transaction at most (a long queue is worked off in several).
BATCH = 100
#: Packs wake the loop, but passes are at least this far apart (s).
MIN_PASS_GAP = 0.1


def timeout_expired(generator: Row, oldest: int, now: int) -> bool:
    """``timeout`` s since the last run (the original's rule) and since the oldest queued arg was packed: the
    original counts from the last run only, so an arg packed long after it starts a workflow at once."""
    since = max(generator["lastrun"] or generator["firstpack"], oldest)
    return bool(since) and now - since >= generator["timeoutsec"] * NS


def plan(generator: Row, queued: int, oldest: int, now: int) -> list[tuple[int, str]]:
    """The workflows to start now, as (number of args, reason)."""
    trigger = generator["triggersize"]
    if queued >= trigger:
        return [(trigger, f"trigger: {trigger} args queued")] * min(queued // trigger, BATCH)
    if queued >= 1 and generator["timeoutsec"] > 0 and timeout_expired(generator, oldest, now):
        return [(queued, f"timeout: {queued} args waited {generator['timeoutsec']} s")]
    return []


def make_graph(generator: Row, args: list[str], now: int) -> tuple[Row, list[Row], list[Row]]:
    """The generator's workflow with the packed args as the root processes' args."""
    wf = WorkflowSpec.model_validate_json(generator["workflowspec"])
    wf.colonyname = generator["colonyname"]
    for spec in wf.functionspecs:
        if not spec.conditions.dependencies:
            spec.args = list(args)
            spec.kwargs = {}
    return new_graph(wf, generator["initiatorid"], generator["initiatorname"], now)


async def run_generators(state: ServerState) -> int:
    """One pass; returns the number of workflows started."""
    started = 0
    for generator in await state.storage.get_queued_generators():
        try:
            while True:
                now = time.time_ns()
                batch = await state.storage.run_generator(generator["generatorid"], now, plan, make_graph)
                for _, processes in batch:
                    state.events.publish(processes)
                started += len(batch)
                if len(batch) < BATCH:
                    break
        except Exception:  # one broken generator must not stop the others
            log.exception("generator %s (%s) failed", generator["name"], generator["generatorid"])
    return started


async def generator_loop(state: ServerState) -> None:
    period = max(state.settings.generator_checker_period, 10) / 1000
    wakeup = state.generator_wakeup
    while True:
        try:
            if state.leader:
                await run_generators(state)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("generator pass failed")
        try:
            async with asyncio.timeout(period):
                await wakeup.wait()
        except TimeoutError:
            pass
        wakeup.clear()
        await asyncio.sleep(MIN_PASS_GAP)

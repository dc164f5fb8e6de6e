"""The cron loop and what a firing does (protocol §6.2), on the leader only.

The loop sleeps until the earliest next run (at most ``cron_checker_period``; a cron added, run or removed on this
server wakes it), so a run starts within milliseconds of its time without polling. A firing is a compare-and-swap
on the cron row in the same transaction as the new graph (``storage/crons.py``): a tick fires once even when two
replicas briefly both lead, and a leader killed mid-firing either committed it or left it to its successor.

Decisions that differ from the original, documented in docs/crons.md:
* catch-up: a server that was down over one or more scheduled times fires once when it is back, then keeps to the
  schedule (next run computed from now), never a burst of the missed runs;
* ``waitforprevprocessgraph`` holds a due run while the previous workflow waits or runs; any end (successful,
  failed, cancelled, or the graph removed) releases it, and one run starts for all the ticks missed meanwhile;
* ``random`` interval crons run once per interval window, at a uniformly random time inside it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timezone
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from .. import schedule
from ..models import WorkflowSpec
from ..types import ProcessState
from .context import ServerState
from .lifecycle import new_graph

log = logging.getLogger(__name__)

Row = dict[str, Any]
NS = 1_000_000_000
#: How late a scheduled run must start to be labelled a catch-up (a server that was down or stalled).
CATCH_UP_AFTER = 2 * NS
#: A run held for its previous workflow is re-checked this often (s).
HELD_RECHECK = 0.1


def next_run(cron: Row, now: int, tz: ZoneInfo | timezone) -> int:
    """The cron's next scheduled time after ``now`` (ns)."""
    if cron["intervalsec"] > 0:
        return schedule.next_by_interval(cron["intervalsec"], cron["anchor"], now, bool(cron["randomised"]))
    return schedule.next_by_expression(cron["cronexpression"], now, tz)


async def start_run(state: ServerState, cron: Row, now: int, reason: str) -> str:
    """Start the cron's workflow now unless it must wait for the previous one; returns the new graph id, or ""
    when the run is held or another firing won the race. The previous run's leaf outputs become the input of
    every root process."""
    storage = state.storage
    prev = cron["prevprocessgraphid"]
    root_input: list[Any] = []
    if prev:
        found = await storage.get_graph(prev)
        if found is not None:
            graph, procs = found
            if cron["waitforprevprocessgraph"] and graph["state"] in (ProcessState.WAITING, ProcessState.RUNNING):
                if not cron["heldreason"]:
                    await storage.hold_cron(cron, f"waiting for the previous workflow {prev} to end", now)
                return ""
            leaves = [p for p in procs if p["children"] in ("[]", "")]
            root_input = [value for leaf in leaves for value in orjson.loads(leaf["output"])]
    if cron["heldreason"]:
        reason = f"released after waiting {(now - cron['heldsince']) / NS:.1f} s for the previous workflow {prev}"
    elif reason == "schedule" and now - cron["nextrun"] > CATCH_UP_AFTER:
        reason = "catch-up (one run for the scheduled times missed while no server ran)"
    wf = WorkflowSpec.model_validate_json(cron["workflowspec"])
    wf.colonyname = cron["colonyname"]
    graph, processes, attributes = new_graph(wf, cron["initiatorid"], cron["initiatorname"], now, root_input)
    tz = schedule.time_zone(state.settings.cron_tz)
    if not await storage.fire_cron(cron, graph, processes, attributes, next_run(cron, now, tz), now, reason):
        return ""
    state.events.publish(processes)
    return str(graph["processgraphid"])


async def run_due_crons(state: ServerState, now: int) -> None:
    for cron in await state.storage.get_due_crons(now):
        try:
            await start_run(state, cron, now, "schedule")
        except Exception:  # one broken cron must not stop the others
            log.exception("cron %s (%s) could not fire", cron["name"], cron["cronid"])


async def cron_loop(state: ServerState) -> None:
    """Fire due crons on the leader; sleep until the next one is due, or until woken."""
    wakeup = state.cron_wakeup
    ceiling = max(state.settings.cron_checker_period, 10) / 1000
    while True:
        delay = ceiling
        try:
            if state.leader:
                await run_due_crons(state, time.time_ns())
                nextrun, held = await state.storage.get_next_cron_time()
                if held:
                    delay = min(delay, HELD_RECHECK)
                if nextrun is not None:
                    ahead = (nextrun - time.time_ns()) / NS
                    # Due but not fired (it failed, see the log): retry soon, not in a busy loop.
                    delay = min(delay, ahead + 0.0005 if ahead > 0 else HELD_RECHECK)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("cron pass failed")
        try:
            async with asyncio.timeout(delay):
                await wakeup.wait()
        except TimeoutError:
            pass
        wakeup.clear()

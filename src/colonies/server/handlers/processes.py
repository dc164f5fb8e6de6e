"""Process messages: submit, assign (long-poll), read, close, cancel, remove."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ... import messages as m
from ...exceptions import BadRequest, Conflict, Forbidden, NotFound, RequestTimeout, Unavailable
from ...models import parse_cpu, parse_memory
from ...storage.core import request_nonce
from ...storage.processes import PAUSED, Claim
from ...types import NOTSET, ProcessState
from ..auth import require_colony_owner, require_executor, require_member
from ..context import Context
from ..events import Waiter
from ..lifecycle import new_process, to_json
from ..views import process_view
from .common import check_count, check_offset, check_state, check_wait, lease_of

UNLIMITED = 2**62


async def submit_func_spec(ctx: Context, msg: m.SubmitFuncSpecMsg) -> Any:
    """submitfuncspecmsg — approved member of the spec's colony."""
    member = await require_member(ctx, msg.spec.conditions.colonyname)
    row, attrs = new_process(msg.spec, ctx.caller, member["name"], ctx.now())
    waiter = ctx.events.reserve(row)
    if waiter is None:
        row = await ctx.storage.add_process(row, attrs)
        ctx.events.publish((row,))
        return process_view(row)
    return process_view(await _submit_handing(ctx, row, attrs, waiter))


async def _submit_handing(
    ctx: Context, row: dict[str, Any], attrs: list[Any], waiter: Waiter
) -> dict[str, Any]:
    """Submit with the hand-off to a parked long-poll (see ``Waiter``): one transaction instead of two, and no
    wake-up between them. Whatever happens, the waiter's offer is resolved and nothing claimed is left orphaned."""
    job = asyncio.ensure_future(ctx.storage.add_process_handing(row, attrs, waiter.claim, ctx.now()))
    try:
        try:
            row, claimed = await asyncio.shield(job)
        except asyncio.CancelledError:
            row, claimed = await job  # the submit commits anyway: hand over what it claimed, then stop
            await _hand_over(ctx, waiter, row, claimed)
            raise
    except BaseException:
        waiter.give(None)  # the waiter claims for itself
        raise
    await _hand_over(ctx, waiter, row, claimed)
    return row


async def _hand_over(ctx: Context, waiter: Waiter, row: dict[str, Any], claimed: dict[str, Any] | None) -> None:
    events = ctx.events
    if claimed is not None and claimed["processid"] == row["processid"]:
        if waiter.give(claimed):
            events.publish_handed(row, claimed)
        else:  # the waiter left: the process goes back to the queue (nobody saw it running)
            await _release(ctx, claimed["processid"])
        return
    events.publish((row,))
    if claimed is not None:  # an older process of higher priority
        events.publish((claimed,))
        if not waiter.give(claimed):
            await _release(ctx, claimed["processid"])
    else:
        waiter.give(None)


async def assign_process(ctx: Context, msg: m.AssignProcessMsg) -> Any:
    """assignprocessmsg — approved executor; long-polls up to ``timeout`` s (< 0: one attempt only). Membership is
    re-checked by every claim, so a long-poll that outlives its executor's removal or rejection ends with 403.
    While the colony's assignments are paused: 503 at once for timeout < 0, else 408 once the timeout passes
    paused (a resume wakes the long-poll, which then carries on until its deadline), as the Go server answers."""
    executor = await require_executor(ctx, msg.colonyname)
    if msg.timeout == 0:
        raise BadRequest("Invalid assign timeout 0: use a positive number of seconds, or -1 for a single attempt")
    cpu = parse_cpu(msg.availablecpu) if msg.availablecpu else UNLIMITED
    mem = parse_memory(msg.availablemem) if msg.availablemem else UNLIMITED
    events = ctx.events
    if msg.timeout < 0:
        try:
            row = await _claim(ctx, executor, cpu, mem)
        except Conflict:
            return await _replayed_assign(ctx, msg, executor)
        if row is None:
            raise NotFound("No process available for assignment")
        return process_view(row)
    deadline = time.monotonic() + check_wait(msg.timeout, ctx.settings.max_wait_timeout, "Assign")
    poll = ctx.settings.assign_poll_interval
    pending = request_nonce.get()
    claim = Claim(msg.colonyname, executor, ctx.caller, cpu, mem, pending.nonce if pending is not None else "")
    waiter = Waiter(claim)
    events.add_waiter(waiter)
    paused = False
    try:
        while True:
            waiter.event.clear()
            woken_for = waiter.take_wakeups()
            try:
                row = await _claim(ctx, executor, cpu, mem)
                paused = False
            except Forbidden:  # removed or rejected while it waited: another executor gets these wake-ups
                events.pass_on(woken_for)
                raise
            except Conflict:
                events.pass_on(woken_for)
                return await _replayed_assign(ctx, msg, executor)
            except Unavailable:
                # Paused: the wake-ups are dropped, not passed on (every waiter of the colony is paused too, and
                # a resume wakes them all).
                paused, row = True, None
            if row is not None:
                events.remove_waiter(waiter)
                unused = [r for r in woken_for + waiter.take_wakeups() if r["processid"] != row["processid"]]
                events.pass_on(unused)
                return process_view(row)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            waiter.parked = True
            try:  # not wait_for: it returns the event and drops a cancellation that arrives as the event is set
                async with asyncio.timeout(min(remaining, poll)):
                    await waiter.event.wait()
            except TimeoutError:
                pass
            finally:
                waiter.parked = False
            offer = waiter.offer
            if offer is not None:  # a submit is claiming for us: its transaction decides
                try:
                    handed = await asyncio.shield(offer)
                except asyncio.CancelledError:  # the caller hung up: what the submit claimed for it goes back
                    handed = await offer
                    if handed is not None:
                        await _release(ctx, handed["processid"])
                    raise
                if handed is not None:
                    return process_view(handed)  # (the finally below lets the waiter go)
    finally:
        waiter.gone = True
        events.remove_waiter(waiter)
        events.pass_on(waiter.take_wakeups())  # e.g. woken just before its caller hung up
    if paused:
        raise RequestTimeout("Assignment timeout: colony assignments are paused")
    raise NotFound("No process available for assignment")


async def _replayed_assign(ctx: Context, msg: m.AssignProcessMsg, executor: dict[str, Any]) -> Any:
    """A retry of an assign whose reply was lost (same nonce): the process it claimed, if it still runs and is
    ours; otherwise the first attempt found nothing. Either way nothing new is claimed."""
    row = await ctx.storage.get_claimed_by_nonce(ctx.caller, msg.nonce)
    if row is None or row["colonyname"] != executor["colonyname"]:
        raise NotFound("No process available for assignment (this request was answered before)")
    return process_view(row)


async def _claim(ctx: Context, executor: dict[str, Any], cpu: int, mem: int) -> dict[str, Any] | None:
    """One assignment attempt. If the caller goes away mid-claim, the claimed process goes back to the queue."""
    claim = asyncio.ensure_future(
        ctx.storage.assign_process(executor["colonyname"], executor, ctx.caller, cpu, mem, ctx.now())
    )
    try:
        row = await asyncio.shield(claim)
    except asyncio.CancelledError:
        row = await claim
        if row is not None and row is not PAUSED:
            await _release(ctx, row["processid"])
        raise
    if row is PAUSED:
        raise Unavailable("No processes available: colony assignments are paused")
    if row is not None:
        ctx.events.publish((row,))
    return row


async def _release(ctx: Context, processid: str) -> None:
    """Put a process claimed for a caller that went away back in the queue, and say so."""
    ctx.events.publish(await ctx.storage.release_process(processid, ctx.now()))


async def get_process(ctx: Context, msg: m.ProcessIDMsg) -> Any:
    """getprocessmsg — approved member of the process's colony."""
    row = await _load(ctx, msg.processid)
    await require_member(ctx, row["colonyname"])
    return process_view(row)


async def _load(ctx: Context, processid: str) -> dict[str, Any]:
    row = await ctx.storage.get_process(processid)
    if row is None:
        raise NotFound(f"Process with id {processid} does not exist")
    return row


async def get_processes(ctx: Context, msg: m.GetProcessesMsg) -> Any:
    """getprocessesmsg — approved member; the filters combine (ours: Go applies only the first set)."""
    await require_member(ctx, msg.colonyname)
    count = check_count(msg.count)
    if msg.processgraphid:
        return await _get_workflow_processes(ctx, msg, count)
    state = check_state(msg.state)
    if msg.initiator and not msg.executortype and await ctx.storage.get_user(msg.colonyname, msg.initiator) is None:
        if await ctx.storage.get_executor(msg.colonyname, msg.initiator) is None:
            raise BadRequest(f"User {msg.initiator} does not exist")
    rows = await ctx.storage.get_processes(
        msg.colonyname, state, count, msg.executortype, msg.initiator, msg.label, msg.funcname, check_offset(msg.offset)
    )
    return [process_view(r) for r in rows]


async def _get_workflow_processes(ctx: Context, msg: m.GetProcessesMsg, count: int) -> Any:
    found = await ctx.storage.get_graph(msg.processgraphid)
    if found is None or found[0]["colonyname"] != msg.colonyname:
        raise NotFound(f"Workflow with id {msg.processgraphid} does not exist in colony {msg.colonyname}")
    if msg.state != NOTSET:
        check_state(msg.state)
    offset = check_offset(msg.offset)
    ids = [p["processid"] for p in found[1] if msg.state == NOTSET or p["state"] == msg.state]
    ids = ids[offset : offset + count]
    rows = [await ctx.storage.get_process(pid) for pid in ids]
    return [process_view(r) for r in rows if r is not None]


async def get_process_hist(ctx: Context, msg: m.GetProcessHistMsg) -> Any:
    """getprocesshistmsg — approved member (the Go server answers an empty 200 to others; we answer 403)."""
    await require_member(ctx, msg.colonyname)
    since = ctx.now() - max(msg.seconds, 0) * 1_000_000_000
    rows = await ctx.storage.get_process_hist(msg.colonyname, msg.executorid, since, check_state(msg.state))
    return [process_view(r) for r in rows]


async def remove_process(ctx: Context, msg: m.ProcessIDMsg) -> Any:
    """removeprocessmsg — approved member; not for running or workflow processes."""
    row = await _load(ctx, msg.processid)
    await require_member(ctx, row["colonyname"])
    await ctx.storage.remove_process(msg.processid)
    return {}


async def remove_all_processes(ctx: Context, msg: m.RemoveAllMsg) -> Any:
    """removeallprocessesmsg — colony owner; state -1 = all but running; workflow processes are kept."""
    await require_colony_owner(ctx, msg.colonyname)
    if msg.state == ProcessState.RUNNING:
        raise BadRequest("Not possible to remove running processes")
    if msg.state != NOTSET:
        check_state(msg.state)
    await ctx.storage.remove_all_processes(msg.colonyname, msg.state)
    return {}


async def _close(ctx: Context, processid: str, success: bool, values: str, lease: str) -> Any:
    changed = await ctx.storage.close_process(processid, ctx.caller, success, values, ctx.now(), lease_of(lease))
    ctx.events.publish(changed)
    return {}


async def close_successful(ctx: Context, msg: m.CloseSuccessfulMsg) -> Any:
    """closesuccessfulmsg — the assigned executor, while the process runs."""
    return await _close(ctx, msg.processid, True, to_json(msg.out, "out"), msg.lease)


async def close_failed(ctx: Context, msg: m.CloseFailedMsg) -> Any:
    """closefailedmsg — the assigned executor, while the process runs."""
    return await _close(ctx, msg.processid, False, to_json([str(e) for e in msg.errors], "errors"), msg.lease)


async def set_output(ctx: Context, msg: m.SetOutputMsg) -> Any:
    """setoutputmsg — the assigned executor, while the process runs."""
    row = await _load(ctx, msg.processid)
    await require_member(ctx, row["colonyname"])
    await ctx.storage.set_output(msg.processid, ctx.caller, to_json(msg.out, "out"), lease_of(msg.lease))
    return {}


async def cancel_process(ctx: Context, msg: m.ProcessIDMsg) -> Any:
    """cancelprocessmsg — approved member; waiting or running processes outside workflows."""
    row = await _load(ctx, msg.processid)
    await require_member(ctx, row["colonyname"])
    ctx.events.publish(await ctx.storage.cancel_process(msg.processid, ctx.now()))
    return {}

"""Wire generations: the two shapes of the Go wire this server answers in, and how a caller's is recognised.

A v1.7.8 Go client parses an executor's ``capabilities.hardware`` and ``.software`` as objects; a v1.9 client
(v1.9.6 and later) parses arrays, and fails on the other shape ("cannot unmarshal array into Go struct field").
Every executor reply carries both ``location`` (v1.7.8) and ``locationname`` (v1.9), which each ignores when it is
not its own, so only the capabilities depend on who asks. The generation of the caller is, in order:

1. ours: a request with a ``nonce`` comes from this project's SDK, CLI or dashboard, which read both shapes; it
   gets objects (what it has always got);
2. the request itself: ``addexecutormsg`` and ``updateexecutormsg`` are answered in the shape they were sent in;
3. what the caller's requests showed before in the colony, remembered per signer and colony in the database
   (every replica answers alike): capabilities sent as arrays, or ``null`` (a v1.9 Go client's empty list), and
   ``processespernode`` in a spec are v1.9; capabilities sent as objects, a ``location`` object,
   ``processes-per-node`` in a spec and a subscription without ``colonyname`` are v1.7.8. A registration also marks
   the registered executor's id: a Go executor registers itself with the colony key from the same program, which
   then reads with the executor key;
4. unknown: ``null``, the one value every Go generation parses (into an empty list or a zero struct).
"""

from __future__ import annotations

import logging
from typing import Any

from .. import messages as m
from ..models import Executor
from ..storage import StorageError
from .context import Context

log = logging.getLogger(__name__)

V178 = "v1.7.8"
V19 = "v1.9"
UNKNOWN = ""


def of_capabilities(capabilities: Any) -> str:
    """The generation a capabilities object was sent in ("" when it does not tell)."""
    if not isinstance(capabilities, dict):
        return UNKNOWN
    values = [capabilities[key] for key in ("hardware", "software") if key in capabilities]
    if any(isinstance(value, list) for value in values):
        return V19
    if any(isinstance(value, dict) for value in values):
        return V178
    if values and all(value is None for value in values):
        return V19  # a v1.9 Go client's nil slices; a v1.7.8 struct is never null
    return UNKNOWN


def of_executor(executor: Executor) -> str:
    if "capabilities" in executor.model_fields_set:
        found = of_capabilities(executor.capabilities)
        if found:
            return found
    return V178 if executor.location is not None else UNKNOWN


def of_message(msg: m.Msg) -> tuple[str, str]:
    """The generation a handled request shows ("" for most messages), and the colony it was shown in."""
    if isinstance(msg, m.AddExecutorMsg):
        return of_executor(msg.executor), msg.executor.colonyname
    if isinstance(msg, m.UpdateExecutorMsg):
        return of_capabilities(msg.capabilities), msg.colonyname
    if isinstance(msg, m.SubmitFuncSpecMsg):
        return msg.spec.conditions.spelling, msg.spec.conditions.colonyname
    if isinstance(msg, m.SubmitWorkflowSpecMsg):
        spelt = (s.conditions.spelling for s in msg.spec.functionspecs if s.conditions.spelling)
        return next(spelt, UNKNOWN), msg.spec.colonyname
    if isinstance(msg, (m.SubscribeProcessMsg, m.SubscribeProcessesMsg)):
        return (V178 if not msg.colonyname else UNKNOWN), msg.colonyname  # colonyname arrived in v1.7.9
    return UNKNOWN, ""


async def observe(ctx: Context, msg: m.Msg, colonyname: str = "") -> None:
    """Remember the generation a Go-shaped request (no nonce) showed, once it was handled (so only callers the
    server let in leave a row). Per colony: a colony owner can tell nothing about how others read other colonies.
    ``colonyname``: the colony the handler found, for messages that do not name it (v1.7.8 subscriptions)."""
    if msg.nonce or not ctx.caller:
        return
    generation, named = of_message(msg)
    colonyname = colonyname or named
    if not generation or not colonyname:
        return
    identities = [ctx.caller]
    if isinstance(msg, m.AddExecutorMsg) and msg.executor.executorid != ctx.caller:
        identities.append(msg.executor.executorid)
    try:
        for identity in identities:
            if await ctx.storage.get_wire_generation(colonyname, identity) != generation:
                await ctx.storage.set_wire_generation(colonyname, identity, generation, ctx.now())
    except StorageError as exc:  # the request itself succeeded: only the hint is lost
        log.warning("could not record the wire generation of %s: %s", ctx.caller, exc)


async def reader(ctx: Context, msg: m.Msg, colonyname: str, own: str = UNKNOWN) -> str:
    """The generation to answer this request in (rules 1-4 of the module docstring)."""
    if msg.nonce:
        return V178
    if own:
        return own
    if not ctx.caller:
        return UNKNOWN
    return await ctx.storage.get_wire_generation(colonyname, ctx.caller)

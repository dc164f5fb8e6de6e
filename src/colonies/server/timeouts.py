"""The timeout loop: requeue processes past ``maxexectime`` (failing them once ``maxretries`` is used up) and fail
processes that waited past ``maxwaittime``. Runs every ``timeout_check_period`` seconds."""

from __future__ import annotations

import asyncio
import logging
import time

from .context import ServerState

log = logging.getLogger(__name__)


async def timeout_loop(state: ServerState) -> None:
    period = state.settings.timeout_check_period
    while True:
        try:
            # With replicas, only the leader (advisory lock holder) runs this; the others stand by.
            state.leader = await state.storage.is_leader()
            if state.leader:
                changed = await state.storage.expire_processes(time.time_ns())
                if changed:
                    state.events.publish(changed)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("timeout check failed")
        await asyncio.sleep(period)

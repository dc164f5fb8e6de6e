"""The timeout loop: requeue processes past ``maxexectime`` (failing them once ``maxretries`` is used up) and fail
processes that waited past ``maxwaittime``. Runs every ``timeout_check_period`` seconds; once a minute it also
forgets replay-protection nonces past their window."""

from __future__ import annotations

import asyncio
import logging
import time

from .context import ServerState

log = logging.getLogger(__name__)


async def timeout_loop(state: ServerState) -> None:
    period = state.settings.timeout_check_period
    next_purge = 0
    while True:
        try:
            # With replicas, only the leader (advisory lock holder) runs this; the others stand by.
            was_leader, state.leader = state.leader, await state.storage.is_leader()
            if state.leader and not was_leader:
                state.cron_wakeup.set()  # a new leader fires what is due at once
            if state.leader:
                now = time.time_ns()
                changed = await state.storage.expire_processes(now)
                if changed:
                    state.events.publish(changed)
                if now >= next_purge:
                    # refused as stale from here on: issued more than a window ago (a second's margin)
                    await state.storage.purge_nonces(now - (state.settings.replay_window + 1) * 1_000_000_000)
                    next_purge = now + 60 * 1_000_000_000
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("timeout check failed")
        await asyncio.sleep(period)

"""What every area of the store shares: the driver, the write path that records a request's nonce, and replicas.

Each area (``colonies.py``, ``processes.py``, ...) is a class over ``StoreBase`` whose public methods hand *jobs*
(``fn(tx, ...)``) to the driver; a job runs named queries only (``sql/*/<area>.sql``). Jobs that must be atomic
(assign, close, workflow resolution) do all their checks inside the write job, so two callers racing on one process
cannot both win. ``SQLStore`` (``sqlstore.py``) is all the areas together.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import orjson

from ..exceptions import Conflict
from ..types import ProcessState
from .base import Driver, Row, Tx


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


loads = orjson.loads

WAITING, RUNNING, SUCCESS, FAILED, CANCELLED = (int(s) for s in ProcessState)

#: A job that inserts more processes than this (a big workflow) is a long job (see ``Driver.write``).
LONG_JOB_ROWS = 256


@dataclass(slots=True)
class PendingNonce:
    """A request's replay-protection nonce, recorded by the request's first write."""

    caller: str
    nonce: str
    issued: int  # ns, as the nonce says: forgotten once a window older than the replay window
    used: bool = False


#: The nonce of the request being handled, set by the dispatcher. A context variable because it belongs to the
#: request's task (and the tasks it spawns), not to the shared store.
request_nonce: ContextVar[PendingNonce | None] = ContextVar("request_nonce", default=None)


def _with_nonce(tx: Tx, pending: PendingNonce, fn: Any, *args: Any) -> Any:
    """Record the nonce, then run the job; a nonce already used refuses the request (409) before the job runs,
    and the job's effect and the nonce commit (or roll back) together."""
    if tx.run("use_nonce", issued=pending.issued, caller=pending.caller, nonce=pending.nonce) == 0:
        raise _replayed()
    return fn(tx, *args)


def _replayed() -> Conflict:
    return Conflict("Replayed request refused: this nonce was already used")


class StoreBase:
    """The driver and the write path; every area's store derives from it."""

    def __init__(self, driver: Driver) -> None:
        self.driver = driver

    async def _write(self, fn: Any, *args: Any, long: bool = False) -> Any:
        """Run a write job; the first write of a request that carried a nonce also records the nonce, in the same
        transaction, so the effect and the nonce commit (or roll back) together and a replay finds it. ``long``:
        the job may take seconds (it removes many rows), see :meth:`Driver.write`."""
        pending = request_nonce.get()
        if pending is None or pending.used:
            return await self.driver.write(fn, *args, long=long)
        pending.used = True  # shared with tasks the request spawned (they copy the context, not the object)
        return await self.driver.write(_with_nonce, pending, fn, *args, long=long)

    async def use_nonce(self, pending: PendingNonce) -> None:
        """Record a nonce on its own (a /pubsub subscription writes nothing else); 409 if already used."""
        await self.driver.write(_with_nonce, pending, lambda tx: None)

    async def purge_nonces(self, before: int) -> int:
        """Forget nonces issued before ``before`` (ns): once past the replay window, their requests are refused
        as stale anyway."""
        return await self.driver.write(lambda tx: tx.run("purge_nonces", before=before), long=True)

    async def close(self) -> None:
        await self.driver.close()

    # -- replicas -----------------------------------------------------------------------------------------------

    @property
    def replicated(self) -> bool:
        """True when other server processes may share this database (PostgreSQL)."""
        return hasattr(self.driver, "notify")

    def start_events(self, on_remote: Any) -> None:
        if self.replicated:
            self.driver.start_events(asyncio.get_running_loop(), on_remote)  # type: ignore[attr-defined]

    def saw_peers(self) -> None:
        """Other replicas are alive (the replica set says so): keep relaying events to them."""
        if self.replicated:
            self.driver.saw_peers()  # type: ignore[attr-defined]

    def relay(self, rows: list[Row]) -> None:
        self.driver.notify(rows)  # type: ignore[attr-defined]

    async def is_leader(self) -> bool:
        """Whether this server runs the background duties; always true for a single-process database."""
        if not self.replicated:
            return True
        return await self.driver.is_leader()  # type: ignore[attr-defined, no-any-return]

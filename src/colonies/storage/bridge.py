"""Run a synchronous job on the event loop while its statements go to an asynchronous driver.

The storage logic is written once, as plain functions ``fn(tx, ...)`` (``storage/<area>.py``), and SQLite runs them
as they are. PostgreSQL's driver is asynchronous, so a job runs in a greenlet: each statement hands its awaitable
to the task that started the job (``wait``), which awaits it on the loop and switches back with the answer. No
thread, no GIL hand-off per job; a switch costs about a microsecond. SQLAlchemy's asyncio support works the same
way.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from greenlet import greenlet, getcurrent

T = TypeVar("T")


class _Job(greenlet):  # type: ignore[misc]
    """A job's greenlet: ``wait`` may switch out of it (and only out of it)."""

    __slots__ = ()


async def run_job(fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn(*args)`` in a greenlet, awaiting (here, in the calling task) whatever it passes to ``wait``.
    An exception of the awaited call, cancellation included, is raised inside the job at its ``wait``."""
    job = _Job(fn, getcurrent())
    result: Any = job.switch(*args)
    while not job.dead:
        try:
            value = await result
        except BaseException:  # noqa: BLE001 - handed to the job, which may handle it or let it out
            result = job.throw(*sys.exc_info())
        else:
            result = job.switch(value)
    return result  # type: ignore[no-any-return]


def wait(awaitable: Awaitable[T]) -> T:
    """From inside a job started by :func:`run_job`: the result of ``awaitable``, awaited by the job's task."""
    current = getcurrent()
    if not isinstance(current, _Job):
        raise RuntimeError("a database statement outside a job (storage jobs run through run_job)")
    return current.parent.switch(awaitable)  # type: ignore[no-any-return]

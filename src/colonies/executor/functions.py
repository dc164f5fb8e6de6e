"""Calling a registered function: how its arguments are built, where it runs (event loop or a thread), how long
it may take, and how its return value or exception becomes the process's output or error."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson

from ..client.models import AttrDict
from .context import ProcessContext
from .process import Process

T = TypeVar("T")


def to_output(value: Any) -> list[Any]:
    """A function's return value as a process output list."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    if isinstance(value, tuple):
        return list(value)
    return [value]


def error_text(exc: BaseException) -> str:
    """``"ValueError: bad input"`` – what a failed process's ``errors`` entry says."""
    message = str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


@dataclass(frozen=True)
class Function:
    """A registered function and how to call it."""

    name: str
    fn: Callable[..., Any]
    is_async: bool
    wants_process: bool
    wants_ctx: bool
    description: str = ""

    @classmethod
    def of(cls, name: str, fn: Callable[..., Any], description: str = "") -> Function:
        try:
            params = inspect.signature(fn).parameters
        except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
            params = {}  # type: ignore[assignment]
        named = {p.name for p in params.values() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(type(fn).__call__)
        doc = description or (inspect.getdoc(fn) or "").split("\n", 1)[0]
        return cls(name, fn, is_async, "process" in named, "ctx" in named, doc)


def run_in_thread(loop: asyncio.AbstractEventLoop, call: Callable[[], T], name: str) -> asyncio.Future[T]:
    """Run ``call`` in a new daemon thread; its result or exception lands in the returned future (unless the
    future was cancelled meanwhile, i.e. the run was given up)."""
    future: asyncio.Future[T] = loop.create_future()

    def deliver(value: Any, error: BaseException | None) -> None:
        if future.done():
            return
        if error is None:
            future.set_result(value)
        else:
            future.set_exception(error)

    def target() -> None:
        value: Any = None
        error: BaseException | None = None
        try:
            value = call()
        except StopIteration as exc:  # a future refuses to hold StopIteration
            error = RuntimeError(f"StopIteration: {exc}")
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine
            error = exc
        try:
            loop.call_soon_threadsafe(deliver, value, error)
        except RuntimeError:  # the executor already stopped: nobody waits for this result
            pass

    threading.Thread(target=target, name=name, daemon=True).start()
    return future


class Expired(Exception):
    """The process's maxexectime passed before the function returned."""


class Aborted(Exception):
    """The shutdown grace period ended before the function returned."""


class Failed(Exception):
    """The run failed; the message is the process's error text."""


class Detached(Exception):
    """Raised by a function whose work runs on another system (a Slurm or Kubernetes job) when the executor stops:
    the work goes on, the process stays RUNNING and is not closed, and the executor picks it up again when it is
    started with the same identity (``resume_running``)."""


async def call_function(
    func: Function | None, funcname: str, spec: dict[str, Any], process: Process | AttrDict, ctx: ProcessContext,
    abort: asyncio.Future[None],
) -> list[Any]:  # fmt: skip
    """Call the function; returns the output list or raises Failed, Expired, Aborted or Detached."""
    if func is None:
        raise Failed(f"Unsupported funcname {funcname}")
    args, kwargs = list(spec.get("args") or []), dict(spec.get("kwargs") or {})
    if func.wants_process:
        kwargs["process"] = process
    if func.wants_ctx:
        kwargs["ctx"] = ctx
    maxexectime = spec.get("maxexectime", -1)
    timeout = float(maxexectime) if isinstance(maxexectime, (int, float)) and maxexectime > 0 else None
    loop = asyncio.get_running_loop()
    work: asyncio.Future[Any]
    if func.is_async:
        try:
            work = asyncio.ensure_future(func.fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - wrong arguments fail at call time
            ctx.log("".join(traceback.format_exception(exc)))
            raise Failed(error_text(exc)) from None
    else:
        call = functools.partial(contextvars.copy_context().run, func.fn, *args, **kwargs)
        work = run_in_thread(loop, call, f"colonies-{funcname}-{ctx.processid[:8]}")
    try:
        done, _ = await asyncio.wait({work, abort}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        work.cancel()
        ctx._cancel()
        raise
    if work in done:
        try:
            value = work.result()
        except Detached:
            raise
        except BaseException as exc:  # noqa: BLE001 - whatever the function raised fails the process
            ctx.log("".join(traceback.format_exception(exc)))
            raise Failed(error_text(exc)) from None
        out = to_output(value)
        try:
            orjson.dumps(out)
        except TypeError as exc:
            raise Failed(f"Output is not JSON serializable: {exc}") from None
        return out
    work.cancel()  # an async function is cancelled; a thread cannot be, it sees ctx.cancelled
    ctx._cancel()
    if abort in done:
        raise Aborted
    raise Expired(maxexectime)

"""SIGINT/SIGTERM → a graceful stop: take no new work, finish what is running, then leave.

Handlers are installed only when the executor runs in the main thread (Python delivers signals there); an
executor run in another thread is stopped with ``Executor.stop()``.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)


def install_signal_handlers(
    loop: asyncio.AbstractEventLoop, on_signal: Callable[[int], None]
) -> Callable[[], None]:
    """Route the stop signals to ``on_signal(signum)`` on ``loop``; returns a function that restores the old
    handlers. Does nothing outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        log.debug("not in the main thread: no signal handlers installed; use Executor.stop()")
        return lambda: None
    previous: dict[signal.Signals, object] = {}
    for sig in STOP_SIGNALS:
        previous[sig] = signal.getsignal(sig)
        try:
            loop.add_signal_handler(sig, on_signal, int(sig))
        except (NotImplementedError, RuntimeError):  # pragma: no cover - Windows event loops
            signal.signal(sig, lambda signum, _frame: loop.call_soon_threadsafe(on_signal, signum))

    def restore() -> None:
        for sig, handler in previous.items():
            try:
                loop.remove_signal_handler(sig)
            except (NotImplementedError, RuntimeError):  # pragma: no cover
                pass
            if handler is not None:
                signal.signal(sig, handler)  # type: ignore[arg-type]

    return restore

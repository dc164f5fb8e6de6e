"""What a running function can reach besides its arguments: the process, a log that streams to the server, and a
cancellation flag.

Log lines go through one queue per process and one sender task, so they reach the server in order and the process
is closed only after its last line was stored (``addlogmsg`` is refused once the process is closed).
"""

from __future__ import annotations

import asyncio
import contextvars
import io
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TextIO

from ..client.models import AttrDict, Process
from .channels import ProcessChannels
from ..exceptions import ColoniesError
from ..envelope import new_nonce
from .retry import Backoff, is_transient, landed

log = logging.getLogger(__name__)

#: The log sink of the process whose function runs in this context (threads get a copy of the context).
current_sink: contextvars.ContextVar[LogSink | None] = contextvars.ContextVar(
    "colonies_log_sink", default=None
)


class LogSink:
    """Ordered, non-blocking forwarding of log messages to ``addlogmsg`` for one process.

    ``write`` may be called from any thread; messages are sent by one task on the executor's event loop.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, send: Callable[[str], Awaitable[Any]], processid: str,
                 max_attempts: int = 5) -> None:  # fmt: skip
        self._loop = loop
        self._send = send
        self._processid = processid
        self._max_attempts = max_attempts
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._partial = ""
        self._lock = threading.Lock()

    def start(self) -> None:
        self._task = self._loop.create_task(self._run(), name=f"logs-{self._processid[:12]}")

    def write(self, message: str) -> None:
        """Queue one log message (thread-safe; dropped once the process is no longer ours)."""
        if self._closed or not message:
            return
        self._loop.call_soon_threadsafe(self._put, message)

    def write_text(self, text: str) -> None:
        """Queue captured output, one message per complete line; the rest waits for its newline or the flush."""
        with self._lock:
            buffered = self._partial + text
            lines = buffered.splitlines(keepends=True)
            self._partial = lines.pop() if lines and not lines[-1].endswith("\n") else ""
        for line in lines:
            self.write(line)

    def _put(self, message: str | None) -> None:
        self._queue.put_nowait(message)

    async def _run(self) -> None:
        while (message := await self._queue.get()) is not None:
            backoff = Backoff(0.1, 1.0)
            nonce = new_nonce()  # the same for every attempt: a line whose reply was lost is not stored twice
            for attempt in range(self._max_attempts):
                try:
                    await self._send(message, nonce=nonce)
                    break
                except ColoniesError as exc:
                    if landed(exc, attempt):
                        break
                    if not is_transient(exc) or attempt == self._max_attempts - 1:
                        log.warning("dropped a log line of process %s: %s", self._processid, exc,
                                    extra={"action": "add_log", "processid": self._processid})  # fmt: skip
                        break
                    await asyncio.sleep(backoff.next())

    async def flush(self, timeout: float = 10.0) -> None:
        """Send what is queued (including a trailing partial line), then stop accepting messages."""
        with self._lock:
            rest, self._partial = self._partial, ""
        if rest:
            self.write(rest)
        self._loop.call_soon_threadsafe(self._put, None)
        self._closed = True
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout)
            except TimeoutError:
                self.discard()

    def discard(self) -> None:
        """Drop whatever is queued: the process is no longer assigned to us, so the server would refuse it."""
        self._closed = True
        if self._task is not None and not self._task.done():
            self._task.cancel()


class _SinkHandler(logging.Handler):
    def __init__(self, sink: LogSink) -> None:
        super().__init__(logging.DEBUG)
        self.sink = sink
        self.setFormatter(logging.Formatter("%(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.sink.write(self.format(record) + "\n")
        except Exception:  # noqa: BLE001  # pragma: no cover - logging must never break the function
            self.handleError(record)


class ProcessContext:
    """Handed to a function that declares a ``ctx`` parameter.

    Attributes
    ----------
    process:
        The assigned process (attribute and dict access; ``process["in"]`` holds the parents' outputs).
    processid, executorname, colonyname:
        Shortcuts.
    logger:
        A ``logging.Logger`` (level INFO) whose records become process log lines (``"INFO text"``).
    """

    def __init__(self, process: Process | AttrDict, processid: str, sink: LogSink, executorname: str,
                 colonyname: str, *, attribute: Callable[[str, str], None] | None = None,
                 stopping: threading.Event | None = None, resumed: bool = False,
                 channels: ProcessChannels | None = None) -> None:  # fmt: skip
        self.process = process
        self.processid = processid
        self.executorname = executorname
        self.colonyname = colonyname
        #: True when this run picks up a process that was already running when the executor (re)started: the work
        #: it started before may still be going on elsewhere (a Slurm or Kubernetes job).
        self.resumed = resumed
        self._sink = sink
        self._attribute = attribute
        self._channels = channels
        self._stopping = stopping or threading.Event()
        self._cancelled = threading.Event()
        self._revoked = threading.Event()
        # A logger outside the logging tree: per-process loggers must not pile up in logging's registry.
        self.logger = logging.Logger(f"colonies.process.{self.processid[:12]}", logging.INFO)  # noqa: LOG001
        self.logger.propagate = False
        self.logger.addHandler(_SinkHandler(sink))

    def log(self, message: str) -> None:
        """Add one line to the process log (thread-safe, non-blocking; sent in order before the process closes)."""
        self._sink.write(str(message))

    @property
    def cancelled(self) -> bool:
        """True once the executor gave up on this run (``maxexectime`` passed, or shutdown): a sync function
        that loops should check it and return, since its result will no longer be used."""
        return self._cancelled.is_set()

    def wait_cancelled(self, timeout: float | None = None) -> bool:
        """Sleep up to ``timeout`` s, waking early if the run is given up; returns ``cancelled``."""
        return self._cancelled.wait(timeout)

    @property
    def stopping(self) -> bool:
        """True once the executor was asked to stop: a function whose work outlives it (a job on another system)
        may raise :class:`~colonies.executor.Detached` and leave that work running for the next start."""
        return self._stopping.is_set()

    @property
    def revoked(self) -> bool:
        """True once the server no longer counts this run as ours: the process was cancelled (alone or with its
        workflow), closed, or handed to another executor. ``cancelled`` is set too; the result will be dropped."""
        return self._revoked.is_set()

    def set_attribute(self, key: str, value: str) -> None:
        """Record an ENV attribute of the process (for example where its job runs: ``SLURM-JOBID``). Waits for the
        server when called from a function's thread; from the event loop (async functions) it is sent in the
        background. Raises what the server answers (e.g. 403 once the process is no longer ours)."""
        if self._attribute is None:
            raise RuntimeError("this context cannot record attributes")
        self._attribute(str(key), str(value))

    # -- channels (v1.9): the process's message streams with its submitter -------------------------------------

    def channel_append(self, channel: str, payload: bytes | str, payload_type: str = "", in_reply_to: int = 0) -> int:
        """Append an entry to one of the process's channels (declared in its spec's ``channels``); returns its
        sequence number (1, 2, ... per channel). ``payload_type`` "end" marks the end of a stream, "error" an
        error. Waits for the server (retrying while it is away or rate-limits); raises what it refuses. From an
        ``async def`` function use :meth:`channel_append_async`."""
        return self._channel_helper().append(channel, payload, payload_type, in_reply_to)

    async def channel_append_async(self, channel: str, payload: bytes | str, payload_type: str = "",
                                   in_reply_to: int = 0) -> int:  # fmt: skip
        return await self._channel_helper().append_async(channel, payload, payload_type, in_reply_to)

    def channel_read(self, channel: str, after_seq: int = 0, limit: int = 0, wait: float = 0.0) -> list[AttrDict]:
        """Entries of a channel after its first ``after_seq`` (payloads as bytes; ``senderid`` tells the
        submitter's from this executor's). With ``wait`` seconds and nothing new yet, blocks until the submitter
        (or anyone allowed) appends, or the wait ends ([]). From an ``async def`` function use
        :meth:`channel_read_async`."""
        return self._channel_helper().read(channel, after_seq, limit, wait)

    async def channel_read_async(self, channel: str, after_seq: int = 0, limit: int = 0,
                                 wait: float = 0.0) -> list[AttrDict]:  # fmt: skip
        return await self._channel_helper().read_async(channel, after_seq, limit, wait)

    def _channel_helper(self) -> ProcessChannels:
        if self._channels is None:
            raise RuntimeError("this context has no channels")
        return self._channels

    def _cancel(self) -> None:
        self._cancelled.set()

    def _revoke(self) -> None:
        self._revoked.set()
        self._cancelled.set()


class StdoutRouter(io.TextIOBase):
    """Stands in for ``sys.stdout`` while ``capture_stdout`` is on: output written while a function runs goes to
    that process's log, anything else to the original stream."""

    def __init__(self, original: TextIO) -> None:
        self.original = original

    def write(self, text: str) -> int:
        sink = current_sink.get()
        if sink is None:
            return self.original.write(text)
        sink.write_text(text)
        return len(text)

    def flush(self) -> None:
        self.original.flush()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.original, "encoding", "utf-8")

    def isatty(self) -> bool:
        return False

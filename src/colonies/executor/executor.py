"""The executor framework: register Python functions, then take processes from a Colonies server and run them.

    executor = Executor.from_env(executortype="hello-executor")

    @executor.function("hello")
    def hello(name, *, process=None, ctx=None):
        ctx.log(f"greeting {name}")
        return f"hello {name}"

    executor.run()

How a function is called
------------------------
``fn(*spec.args, **spec.kwargs)``, plus two keyword arguments **if the function declares a parameter with that
name** (they are never pushed into a ``**kwargs`` catch-all, so user kwargs stay clean):

* ``process`` – the assigned process (:class:`colonies.executor.process.Process`: attribute and dict access;
  ``process["in"]`` / ``process.input`` holds the parents' outputs in a workflow);
* ``ctx`` – a :class:`ProcessContext`: ``ctx.log(text)``, ``ctx.logger`` (records become process log lines),
  ``ctx.cancelled`` (set when the run is given up), ``ctx.channel_append``/``ctx.channel_read`` (the process's
  channels: stream tokens to the submitter, take its input).

``async def`` functions run on the executor's event loop; plain functions each run in a daemon thread (at most
``concurrency`` at once, so the loop is never blocked; daemon, so a function that never returns cannot keep the
program from exiting after the shutdown grace period). The return value
becomes the process output: a list as-is, a tuple as a list, ``None`` as ``[]``, anything else as ``[value]``. An
exception closes the process as failed with ``"<ExceptionType>: <message>"`` (the traceback goes to the process
log).

Registration modes (protocol §3.4, user journeys §1.2)
------------------------------------------------------
* **private key** – the colony owner added and approved the executor; it holds only its own key
  (``COLONIES_PRVKEY``) and learns its name and type from the server.
* **self-registration** – it holds the colony owner key (``COLONIES_COLONY_PRVKEY``), makes a fresh key, adds and
  approves itself, and removes itself (state UNREGISTERED) when it stops.

Work loop (user journeys §1.3, protocol §5.2-5.3)
-------------------------------------------------
Register the functions (an existing registration is kept), long-poll ``assignprocessmsg``, run up to
``concurrency`` processes at once, stream their logs, close them. A process with ``maxexectime > 0`` is given up
after that many seconds without being closed (the server requeues or fails it; an async function is cancelled, a
thread sees ``ctx.cancelled``). Unreachable server or 5xx: retried with capped exponential backoff. 403 on assign
(not approved yet, removed): logged and retried every ``forbidden_retry`` seconds.

Stopping: SIGINT/SIGTERM (main thread) or :meth:`Executor.stop` – take no new work, let running processes finish
for up to ``shutdown_grace`` seconds, then fail the rest with "executor shutting down" so they do not wait out a
lease. A second signal (or ``stop(now=True)``) skips the rest of the grace period.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TextIO, TypeVar, overload


from .. import crypto, environment
from ..client.transport import AsyncRPCClient, verify_from_env
from ..envelope import new_nonce
from ..exceptions import ColoniesError, ServerTooOld
from ..keys import make_undumpable, scrub_initial_environment, take_key
from .api import ExecutorAPI
from .channels import ProcessChannels
from .context import LogSink, ProcessContext, StdoutRouter, current_sink
from .functions import Aborted, Detached, Expired, Failed, Function, call_function
from .process import to_process
from .registration import Registration
from .retry import Backoff, is_transient, landed, refusal_hint
from .signals import install_signal_handlers

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

#: The error a process gets when the executor stops before it finished (after the grace period).
SHUTDOWN_ERROR = "executor shutting down"


class _Stopped(Exception):
    """A stop was requested while waiting."""


@dataclass
class _Running:
    ctx: ProcessContext
    abort: asyncio.Future[None]
    #: The process's starttime when we got it: a different one on the server means it was handed out again.
    lease: str = ""



def _took(seconds: float | None) -> str:
    return "" if seconds is None else f" in {seconds:.2f} s"

class Executor(Registration):
    """Serves registered Python functions to a colony.

    Parameters
    ----------
    colonyname:
        The colony to serve.
    host, port, tls, verify:
        Where the server is; ``verify`` is the TLS trust (False, or a CA bundle path).
    prvkey:
        The executor's own private key (private-key mode; with ``self_register=True`` the key to register).
    colony_prvkey:
        The colony owner's private key (self-registration).
    executortype:
        Required for self-registration; in private-key mode the server's record wins (a mismatch is logged).
    executorname:
        Self-registration: the name to register (default ``<executortype>-<random>``). Private-key mode: looked up.
    self_register:
        ``None`` (default): self-register when ``colony_prvkey`` is given and ``prvkey`` is not.
    concurrency:
        How many processes run at once (a run given up after ``maxexectime`` frees its slot at once, even if its
        thread has not returned yet).
    assign_timeout:
        Seconds one assign long-poll waits on the server (the HTTP timeout is 10 s longer).
    shutdown_grace:
        Seconds running processes get to finish after a stop request.
    capture_stdout:
        Send what functions print to their process log instead of the executor's stdout.
    handle_signals:
        Install SIGINT/SIGTERM handlers when run in the main thread.
    locationname, capabilities:
        Advertised when self-registering.
    backoff_initial, backoff_cap:
        Retry delays while the server is unreachable or failing (5xx).
    forbidden_retry:
        Seconds between attempts while the server refuses us (403: not approved yet, or removed).
    result_retry_timeout:
        How long to keep retrying to close a finished process while the server is unreachable.
    resume_running:
        At start, pick up the processes the server still counts as RUNNING on this executor (it was restarted
        while they ran) and call their functions again with ``ctx.resumed`` set: for functions whose work runs
        elsewhere and outlives the executor (Slurm, Kubernetes), which find that work again instead of redoing it.
    revoke_poll:
        Seconds between checks that the running processes are still ours on the server; one that was cancelled
        (alone or with its workflow), closed or reassigned gets ``ctx.cancelled`` and ``ctx.revoked`` set, and its
        result is dropped. 0 = no checks.
    available:
        Resource admission: called before each assign (in a thread); returns what is free now as ("3500m",
        "7Gi") strings, or None for no limit. The server then only hands out processes that fit.
    """

    def __init__(
        self,
        *,
        colonyname: str,
        host: str = "localhost",
        port: int = 50080,
        tls: bool = False,
        prvkey: str | None = None,
        colony_prvkey: str | None = None,
        executortype: str = "",
        executorname: str = "",
        self_register: bool | None = None,
        concurrency: int = 1,
        assign_timeout: int = 10,
        shutdown_grace: float = 30.0,
        capture_stdout: bool = False,
        handle_signals: bool = True,
        locationname: str = "",
        capabilities: dict[str, Any] | None = None,
        verify: bool | str = True,
        backoff_initial: float = 0.2,
        backoff_cap: float = 5.0,
        forbidden_retry: float = 5.0,
        result_retry_timeout: float = 60.0,
        resume_running: bool = False,
        revoke_poll: float = 2.0,
        available: Callable[[], tuple[str, str] | None] | None = None,
    ) -> None:
        if not colonyname:
            raise ValueError("colonyname is required (COLONIES_COLONY_NAME)")
        if self_register is None:
            self_register = bool(colony_prvkey) and not prvkey
        if self_register:
            if not colony_prvkey:
                raise ValueError("self-registration needs the colony private key (COLONIES_COLONY_PRVKEY)")
            if not executortype:
                raise ValueError("self-registration needs an executortype")
            prvkey = prvkey or crypto.generate_prvkey()
            executorname = executorname or f"{executortype}-{uuid.uuid4().hex[:16]}"
        elif not prvkey:
            raise ValueError("give the executor's private key (COLONIES_PRVKEY) or the colony private key "
                             "(COLONIES_COLONY_PRVKEY) to self-register")  # fmt: skip
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if assign_timeout < 1:
            raise ValueError("assign_timeout must be at least 1 second")
        self.host, self.port, self.tls, self.verify = host, port, tls, verify
        self.colonyname = colonyname
        self.prvkey: str = prvkey
        self.colony_prvkey = colony_prvkey
        self.executorid = crypto.id_from_prvkey(self.prvkey)
        self.executortype = executortype
        self.executorname = executorname
        self.self_register = self_register
        self.concurrency = concurrency
        self.assign_timeout = assign_timeout
        self.shutdown_grace = shutdown_grace
        self.capture_stdout = capture_stdout
        self.handle_signals = handle_signals
        self.locationname = locationname
        self.capabilities = capabilities or {"hardware": [], "software": []}
        self.backoff_initial, self.backoff_cap = backoff_initial, backoff_cap
        self.forbidden_retry = forbidden_retry
        self.result_retry_timeout = result_retry_timeout
        self.resume_running = resume_running
        self.revoke_poll = revoke_poll
        self.available = available
        #: Set when a stop is requested: ProcessContext.stopping.
        self._stop_flag = threading.Event()
        #: Set once the executor is registered with its functions and polls for work; cleared when it stops.
        self.ready = threading.Event()
        self._functions: dict[str, Function] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_requested = False
        self._stop_now = False
        self._thread: threading.Thread | None = None
        self._thread_error: BaseException | None = None
        self._added = False
        self._add_attempted = False

    @classmethod
    def from_env(cls, executortype: str | None = None, **overrides: Any) -> Executor:
        """An executor configured like the Go executors and pycolonies.

        Reads ``COLONIES_SERVER_HOST`` (localhost), ``COLONIES_SERVER_PORT`` (50080), ``COLONIES_SERVER_TLS`` or
        ``COLONIES_TLS`` ("true" = TLS; the precedence of :mod:`colonies.environment`), ``COLONIES_COLONY_NAME``, ``COLONIES_PRVKEY``, ``COLONIES_COLONY_PRVKEY``,
        ``COLONIES_EXECUTOR_NAME``, ``COLONIES_EXECUTOR_TYPE`` / ``EXECUTOR_TYPE``, and ``COLONIES_TLS_CA`` /
        ``COLONIES_TLS_INSECURE`` (how the server's certificate is verified); keyword arguments win.
        With ``self_register=True`` the environment's ``COLONIES_PRVKEY`` is ignored (a fresh key is made).
        """
        env = os.environ
        params: dict[str, Any] = {  # host, port and TLS as the CLI and the SDK read them (colonies.environment)
            "host": environment.host().text,
            "port": int(environment.port().text),
            "tls": environment.flag(environment.tls()),
            "verify": verify_from_env(),  # COLONIES_TLS_CA, COLONIES_TLS_INSECURE
            "colonyname": env.get("COLONIES_COLONY_NAME", ""),
            # Read once, then gone from the environment (and from what /proc/<pid>/environ shows), so the jobs we
            # run cannot find them; each may also come from a file (COLONIES_PRVKEY_FILE) or a descriptor (_FD).
            "prvkey": take_key("COLONIES_PRVKEY") or None,
            "colony_prvkey": take_key("COLONIES_COLONY_PRVKEY") or None,
            "executorname": env.get("COLONIES_EXECUTOR_NAME", ""),
            "executortype": executortype
            or env.get("COLONIES_EXECUTOR_TYPE")
            or env.get("EXECUTOR_TYPE")
            or "",
        }
        take_key("COLONIES_SERVER_PRVKEY")  # an executor never needs the server owner's key
        scrub_initial_environment()
        if overrides.get("self_register") is True and "prvkey" not in overrides:
            params["prvkey"] = None
        params.update(overrides)
        return cls(**params)

    # -- function registry ------------------------------------------------------------------------------------------

    @overload
    def function(self, name: F) -> F: ...

    @overload
    def function(self, name: str | None = None, *, description: str = "") -> Callable[[F], F]: ...

    def function(self, name: str | F | None = None, *, description: str = "") -> Callable[[F], F] | F:
        """Decorator: serve this function under ``name`` (default: its ``__name__``)."""
        if callable(name):
            fn = name
            self.register(fn.__name__, fn)
            return fn

        def decorate(fn: F) -> F:
            self.register(name or fn.__name__, fn, description)
            return fn

        return decorate

    def register(self, name: str, fn: Callable[..., Any], description: str = "") -> None:
        """Serve ``fn`` under ``name`` (the funcname of the processes it takes)."""
        if not name:
            raise ValueError("a function name is required")
        self._functions[name] = Function.of(name, fn, description)

    @property
    def functions(self) -> list[str]:
        return sorted(self._functions)

    # -- running and stopping ---------------------------------------------------------------------------------------

    def run(self) -> None:
        """Serve until stopped (blocking); SIGINT/SIGTERM stop it gracefully when run in the main thread.

        The process becomes non-dumpable first: other processes of the same user (the jobs it runs) can then
        neither read its memory nor ptrace it."""
        make_undumpable()
        asyncio.run(self.run_async())

    def run_in_thread(self) -> threading.Thread:
        """Start :meth:`run` in a daemon thread (notebooks, tests); stop it with :meth:`stop` and :meth:`join`."""

        def target() -> None:
            try:
                self.run()
            except BaseException as exc:
                self._thread_error = exc
                log.exception("executor %s stopped with an error", self.executorname)

        self._thread = threading.Thread(
            target=target, name=f"executor-{self.executorname or 'new'}", daemon=True
        )
        self._thread.start()
        return self._thread

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread of :meth:`run_in_thread`; True if it ended. Re-raises the error it ended with."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        if self._thread.is_alive():
            return False
        if self._thread_error is not None:
            raise self._thread_error
        return True

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until registered and polling for work (True), or the timeout passed / the run ended (False)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.ready.wait(0.05):
            if self._thread is not None and not self._thread.is_alive():
                return False
            if deadline is not None and time.monotonic() >= deadline:
                return False
        return True

    def stop(self, now: bool = False) -> None:
        """Ask the executor to stop (thread-safe): no new work; running processes get ``shutdown_grace`` seconds
        (none with ``now=True``), then are failed with "executor shutting down"."""
        with self._lock:
            self._stop_requested = True
            self._stop_now = self._stop_now or now
            loop = self._loop
        if loop is not None:
            try:
                loop.call_soon_threadsafe(self._request_stop, now)
            except RuntimeError:  # the loop already closed
                pass

    @property
    def running(self) -> int:
        """How many processes are running now."""
        return len(getattr(self, "_tasks", ()))

    async def run_async(self) -> None:
        """Serve until stopped; the asyncio form of :meth:`run`."""
        if self._loop is not None:
            raise RuntimeError("this executor is already running")
        loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._hard_stop = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._running_procs: dict[str, _Running] = {}
        self._slots = asyncio.Semaphore(self.concurrency)
        self._stop_flag.clear()
        with self._lock:
            self._loop = loop
            requested, now = self._stop_requested, self._stop_now
        if requested:
            self._request_stop(now)
        restore_signals = (
            install_signal_handlers(loop, self._on_signal) if self.handle_signals else (lambda: None)
        )
        rpc = AsyncRPCClient(self.host, self.port, self.tls, timeout=30.0, verify=self.verify)
        self._api = ExecutorAPI(rpc, self.colonyname, self.prvkey, self.colony_prvkey)
        original_stdout: TextIO | None = None
        if self.capture_stdout:
            original_stdout, sys.stdout = sys.stdout, StdoutRouter(sys.stdout)
        if not self._functions:
            log.warning("executor has no functions: every process it takes will fail")
        try:
            if await self._register() and await self._register_functions():
                log.info("executor %s (%s) serving %s in colony %s", self.executorname, self.executortype,
                         ", ".join(self.functions), self.colonyname, extra={"action": "start"})  # fmt: skip
                if self.resume_running:
                    await self._resume()
                self.ready.set()
                if self.revoke_poll > 0:
                    watcher = asyncio.create_task(self._watch_revocations(), name="revocations")
                    self._tasks_aux = {watcher}
                await self._work_loop()
            await self._drain()
        finally:
            self.ready.clear()
            for task in [*self._tasks, *getattr(self, "_tasks_aux", ())]:
                task.cancel()
            try:
                if self.self_register and self._added:
                    await self._unregister()
            finally:
                if original_stdout is not None:
                    sys.stdout = original_stdout
                restore_signals()
                await self._api.aclose()
                with self._lock:
                    self._loop = None
                    self._stop_requested = self._stop_now = False
                log.info("executor %s stopped", self.label, extra={"action": "stop"})

    @property
    def label(self) -> str:
        """How log lines name this executor: its name, or its id's start before the name is known."""
        return self.executorname or f"{self.executorid[:12]}…"

    def _on_signal(self, signum: int) -> None:
        if self._stopping.is_set():
            log.warning("signal %d again: failing running processes now", signum)
            self._request_stop(now=True)
        else:
            log.info("signal %d: stopping (again to skip the grace period)", signum)
            self._request_stop(now=False)

    def _request_stop(self, now: bool) -> None:
        if not self._stopping.is_set():
            log.info("executor %s stopping: no new work, %d running", self.label, len(self._tasks),
                     extra={"action": "stop"})  # fmt: skip
            self._stopping.set()
            self._stop_flag.set()
        if now:
            self._hard_stop.set()

    async def _race_stop(self, aw: Awaitable[T]) -> T:
        """Await ``aw`` unless a stop comes first (then ``aw`` is cancelled and _Stopped raised). A result that is
        ready is taken even if the stop arrived at the same time."""
        task = asyncio.ensure_future(aw)
        stop = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            task.cancel()
            raise
        finally:
            stop.cancel()
        if task.done():
            return task.result()
        task.cancel()
        raise _Stopped

    async def _sleep_or_stop(self, delay: float) -> bool:
        """Sleep ``delay`` s; True (early) if a stop was requested."""
        try:
            await asyncio.wait_for(self._stopping.wait(), delay)
        except TimeoutError:
            return False
        return True

    async def _retrying(self, what: str, op: Callable[[], Awaitable[None]], retry_forbidden: bool) -> bool:
        """Run ``op`` until it succeeds (True) or a stop is requested (False); transient errors and, if allowed,
        403 are retried; other errors are raised (a configuration problem a person must fix)."""
        backoff = Backoff(self.backoff_initial, self.backoff_cap)
        while True:
            try:
                await self._race_stop(op())
                return True
            except _Stopped:
                return False
            except ServerTooOld:
                raise  # the server lacks what this needs: retrying cannot help
            except ColoniesError as exc:
                if is_transient(exc):
                    delay = backoff.next()
                    log.warning("%s: server unavailable (%s); retrying in %.1f s", what, exc, delay)
                elif exc.status == 403 and retry_forbidden:
                    delay = self.forbidden_retry
                    hint = refusal_hint(exc)
                    log.warning("%s: refused (%s);%s retrying in %.1f s", what, exc, f" {hint}" if hint else "",
                                delay)  # fmt: skip
                else:
                    raise
            if await self._sleep_or_stop(delay):
                return False

    # -- the work loop ----------------------------------------------------------------------------------------------

    async def _work_loop(self) -> None:
        backoff = Backoff(self.backoff_initial, self.backoff_cap)
        http_timeout = self.assign_timeout + 10.0
        outage = False
        # An assign whose reply was lost (timeout, reset, server restart) is retried with the same nonce: the
        # server then answers with the process it claimed for us, instead of leaving it RUNNING, unrun, until
        # maxexectime requeues it. A fresh nonce only once an answer arrived.
        nonce = new_nonce()
        while not self._stopping.is_set():
            try:
                await self._race_stop(self._slots.acquire())
            except _Stopped:
                break
            asking = False
            try:
                free = await self._race_stop(self._free_resources())
                asking = True
                raw = await self._race_stop(self._api.assign(self.assign_timeout, http_timeout, nonce, *free))
            except _Stopped:
                if not (asking and await self._recover_assign(nonce)):
                    self._slots.release()
                break
            except ColoniesError as exc:
                self._slots.release()
                if not is_transient(exc):
                    nonce = new_nonce()  # answered: the next assign is a new request
                if exc.status in (404, 408):  # nothing to do / colony paused: poll again
                    if outage:
                        log.info("server reachable again")
                        outage = False
                    backoff.reset()
                    continue
                if is_transient(exc):
                    outage = True
                    delay = backoff.next()
                    log.warning("assign: server unavailable (%s); retrying in %.1f s", exc, delay)
                elif exc.status == 403:
                    delay = self.forbidden_retry
                    hint = refusal_hint(exc)
                    log.warning("assign refused (%s);%s retrying in %.1f s", exc, f" {hint}" if hint else "",
                                delay)  # fmt: skip
                else:
                    delay = backoff.next()
                    log.error("assign failed (%s); retrying in %.1f s", exc, delay)
                if await self._sleep_or_stop(delay):
                    break
                continue
            except Exception:
                self._slots.release()
                log.exception("assign failed unexpectedly")
                if await self._sleep_or_stop(backoff.next()):
                    break
                continue
            nonce = new_nonce()
            if outage:
                log.info("server reachable again")
                outage = False
            backoff.reset()
            self._start(raw)

    async def _recover_assign(self, nonce: str) -> bool:
        """A stop cut an assign short. Had the server already claimed a process for it (its reply on the way), that
        process would stay RUNNING, unrun, until its maxexectime (for ever with -1): the same nonce, once more and
        without waiting, gets it back, and it runs under the shutdown grace period like any other. True if it did
        (the slot is then the process's). A process submitted in the milliseconds between the two requests may be
        taken instead; it is treated the same way."""
        try:
            raw = await asyncio.wait_for(self._api.assign(-1, 10.0, nonce), 10.0)
        except (ColoniesError, TimeoutError):
            return False  # nothing was claimed (404), or the server cannot say: nothing to run
        log.info("process %s: claimed as the executor stopped; running it within the grace period",
                 raw.get("processid"), extra={"action": "assign", "processid": raw.get("processid")})  # fmt: skip
        self._start(raw)
        return True

    async def _free_resources(self) -> tuple[str, str]:
        """("", "") without admission; else what ``available`` says is free (asked in a thread: it may call a
        cluster's API)."""
        if self.available is None:
            return "", ""
        try:
            free = await asyncio.to_thread(self.available)
        except Exception as exc:  # noqa: BLE001 - admission is an optimisation: assign without it
            log.warning("could not tell the free resources (%s); asking for work without a limit", exc)
            return "", ""
        return free if free else ("", "")

    def _start(self, raw: dict[str, Any], resumed: bool = False, slot: bool = True) -> None:
        pid = str(raw.get("processid", ""))
        task = asyncio.create_task(self._handle(raw, resumed), name=f"process-{pid[:12]}")
        self._tasks.add(task)
        task.add_done_callback(functools.partial(self._done, slot=slot))

    def _done(self, task: asyncio.Task[None], slot: bool = True) -> None:
        self._tasks.discard(task)
        if slot:
            self._slots.release()
        if not task.cancelled() and task.exception() is not None:
            log.error("process handler crashed", exc_info=task.exception())

    async def _resume(self) -> None:
        """Pick up the processes still RUNNING on this executor (see ``resume_running``). They take free slots
        first; beyond ``concurrency`` they run without one, so none is left behind."""
        mine: list[dict[str, Any]] = []
        offset = 0
        while True:
            try:
                page = await self._api.get_running(self.executortype, 100, offset)
            except ColoniesError as exc:
                log.warning("could not list running processes to resume: %s", exc)
                return
            mine += [p for p in page if p.get("assignedexecutorid") == self.executorid]
            if len(page) < 100 or self._api.rpc.legacy:  # v1.7.8 ignores offset: one page is all it gives
                break
            offset += 100
        for raw in mine:
            slot = not self._slots.locked()
            if slot:
                await self._slots.acquire()
            log.info("process %s: picked up again (it was running when this executor stopped)",
                     raw.get("processid"), extra={"action": "resume", "processid": raw.get("processid")})  # fmt: skip
            self._start(raw, resumed=True, slot=slot)

    async def _watch_revocations(self) -> None:
        """Every ``revoke_poll`` s (slower with many runs: at most 20 requests a second), ask the server whether
        each running process is still ours; revoke those that are not."""
        while not self._stopping.is_set():
            running = list(self._running_procs.items())
            delay = max(self.revoke_poll, len(running) / 20)
            if await self._sleep_or_stop(delay):
                return
            for pid, entry in running:
                if pid not in self._running_procs or entry.ctx.revoked:
                    continue
                try:
                    raw = await self._api.get_process(pid)
                except ColoniesError as exc:
                    if exc.status == 404:  # removed
                        raw = {}
                    else:
                        continue
                ours = (raw.get("state") == 1 and raw.get("assignedexecutorid") == self.executorid
                        and str(raw.get("starttime", "")) == entry.lease)  # fmt: skip
                if not ours:
                    log.info("process %s: no longer ours on the server (state %s); giving it up", pid,
                             raw.get("state", "removed"), extra={"action": "revoke", "processid": pid})  # fmt: skip
                    entry.ctx._revoke()

    async def _handle(self, raw: dict[str, Any], resumed: bool = False) -> None:
        """Run one assigned process and close it (or leave it to the server once maxexectime passed, or running
        when the function detached)."""
        loop = asyncio.get_running_loop()
        process = to_process(raw)
        pid = str(raw.get("processid", ""))
        spec = raw.get("spec") or {}
        funcname = str(spec.get("funcname", ""))
        lease = str(raw.get("starttime", ""))
        sink = LogSink(loop, functools.partial(self._api.add_log, pid, lease=lease), pid)
        sink.start()
        current_sink.set(sink)  # this task's context; copied into the function's task or thread
        ctx = ProcessContext(process, pid, sink, self.executorname, self.colonyname, stopping=self._stop_flag,
                             attribute=functools.partial(self._set_attribute, loop, pid, lease), resumed=resumed,
                             channels=ProcessChannels(loop, self._api, pid))  # fmt: skip
        running = _Running(ctx, loop.create_future(), lease)
        self._running_procs[pid] = running
        extra = {"action": "run", "processid": pid}
        log.info("process %s: %s %s", pid, funcname, "resumed" if resumed else "started", extra=extra)
        out: list[Any] = []
        started = time.monotonic()
        errors: list[str] | None = None
        try:
            out = await call_function(self._functions.get(funcname), funcname, spec, process, ctx, running.abort)
        except Expired as exc:
            sink.discard()
            message = (f"process {pid} ({funcname}) exceeded maxexectime {exc} s; not closed, the server retries "
                       "or fails it")  # fmt: skip
            log.warning(message, extra=extra)
            await self._executor_log(message)
            return
        except Detached:
            await sink.flush()
            log.info("process %s: left running; this executor picks it up again when it starts", pid, extra=extra)
            return
        except Aborted:
            errors = [SHUTDOWN_ERROR]
        except Failed as exc:
            errors = [str(exc)]
        finally:
            self._running_procs.pop(pid, None)
        if ctx.revoked:
            sink.discard()
            log.info("process %s: result dropped (cancelled, closed or reassigned on the server)", pid, extra=extra)
            return
        await sink.flush()
        await self._finish(pid, funcname, out, errors, lease, time.monotonic() - started)

    def _set_attribute(self, loop: asyncio.AbstractEventLoop, pid: str, lease: str, key: str, value: str) -> None:
        call = self._api.add_env_attribute(pid, key, value, lease)
        try:
            running_loop = asyncio.get_running_loop()
        except RuntimeError:
            running_loop = None
        if running_loop is loop:  # an async function: do not block the loop
            task = loop.create_task(call)
            task.add_done_callback(lambda t: t.cancelled() or t.exception() is None
                                   or log.warning("attribute %s of %s not stored: %s", key, pid, t.exception()))
            return
        asyncio.run_coroutine_threadsafe(call, loop).result(timeout=60)

    async def _finish(self, pid: str, funcname: str, out: list[Any], errors: list[str] | None, lease: str,
                      took: float | None = None) -> None:  # fmt: skip
        """Close the process, retrying while the server is away; give up on refusal (e.g. requeued meanwhile)."""
        extra = {"action": "close", "processid": pid}
        backoff = Backoff(self.backoff_initial, self.backoff_cap)
        deadline = time.monotonic() + self.result_retry_timeout
        nonce = new_nonce()  # one per close, kept across retries: a close whose reply was lost is not redone
        attempt = 0
        while True:
            try:
                if errors is None:
                    await self._api.close(pid, out, lease, nonce)
                    log.info("process %s: %s successful%s", pid, funcname, _took(took), extra=extra)
                else:
                    await self._api.fail(pid, errors, lease, nonce)
                    log.info("process %s: %s failed%s: %s", pid, funcname, _took(took), errors[0], extra=extra)
                return
            except ColoniesError as exc:
                attempt += 1
                if landed(exc, attempt - 1):
                    log.info("process %s: closed by an earlier attempt whose reply was lost", pid, extra=extra)
                    return
                if is_transient(exc) and time.monotonic() < deadline:
                    await asyncio.sleep(backoff.next())
                    continue
                log.warning("process %s: could not be closed: %s", pid, exc, extra=extra)
                return

    async def _executor_log(self, message: str) -> None:
        try:
            await self._api.add_executor_log(self.executorname, message)
        except ColoniesError as exc:
            log.debug("executor log not stored: %s", exc)

    async def _drain(self) -> None:
        """After a stop: wait up to the grace period, then fail what still runs."""
        if not self._tasks:
            return
        log.info("waiting up to %.1f s for %d running process(es)", self.shutdown_grace, len(self._tasks))
        finished = asyncio.ensure_future(asyncio.wait(set(self._tasks), timeout=self.shutdown_grace))
        hard = asyncio.ensure_future(self._hard_stop.wait())
        try:
            await asyncio.wait({finished, hard}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            finished.cancel()
            hard.cancel()
        if not self._tasks:
            return
        log.warning("failing %d running process(es): %s", len(self._tasks), SHUTDOWN_ERROR)
        for running in list(self._running_procs.values()):
            if not running.abort.done():
                running.abort.set_result(None)
        await asyncio.wait(set(self._tasks), timeout=self.result_retry_timeout + 5)

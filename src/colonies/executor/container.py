"""The container executor: serves the function ``execute`` (user journeys §1), which runs a command in a
container image.

    python -m colonies.executor.container --type lumi-small-hpcexecutor --backend docker --concurrency 8

What ``execute`` accepts (``spec.kwargs``)
------------------------------------------
``cmd`` (required, string)
    A shell command line, run as ``/bin/sh -c`` (the Go executors do the same, so pipes, ``&&`` and redirects work).
``args`` (list of strings/numbers)
    Appended to ``cmd``, each **shell-quoted** (the Go executors join them unquoted): they are data, not shell code.
``docker-image`` (string)
    Required by the docker and podman backends; the local backend records it in the log, with a WARNING.
``env`` (object)
    Environment variables, on top of the spec's own ``env``; ``COLONIES_PROCESS_ID`` is always set. The job gets a
    fresh environment: the executor's ``COLONIES_*`` keys never reach it.
``workdir`` or ``working-dir`` (absolute path)
    Created if missing. Default: the image's; for local, a fresh temporary directory removed afterwards.
``init-cmd`` (string)
    Run before ``cmd``; a failing init-cmd stops the run (``{ init } && { cmd }``, where Go used ``;``).
``rebuild-image`` (bool)
    Pull the image even if present. ``debug`` (bool) is accepted and ignored, as in Go.

``{processid}`` is replaced (every occurrence) in ``cmd``, ``args``, ``env`` values, the working directory and
``init-cmd``. Unknown kwargs, wrong types and positional ``spec.args`` fail the process before anything runs.

Conditions
----------
Refused (the process fails with the reason, nothing runs) when the executor cannot meet them: ``gpu.count`` above
``--gpus``, ``nodes`` above ``--nodes``, ``processespernode`` > 1, ``cpu``/``mem`` above what the executor
announces (checked per process: this is no admission control over concurrent processes). On docker and podman
``cpu`` and ``mem`` become the container's limits and ``gpu.count`` its GPUs; local enforces none.

The smaller positive one of ``conditions.walltime`` and ``maxexectime`` is a **hard limit**: the whole process group
or container is SIGKILLed when it passes. A walltime kill fails the process ("walltime of N s exceeded ...").
At a maxexectime kill the framework has already let the process go, so the server requeues it (``maxretries``) or
fails it, as ColonyOS does for maxexectime.

Logs and results
----------------
stdout and stderr lines go to the process log as they come, unchanged (at most every 0.1 s one ``addlogmsg`` with
the lines gathered meanwhile; lines over 4 KiB are cut; after 16 MiB per process further lines are only counted).
The executor's own lines start with ``ContainerExecutor:``. Exit code 0 closes the process with the output
``[{"exitcode": 0, "stdout_tail": [<last 10 stdout lines>]}]``; any other exit code fails it with
``"CommandFailed: command exited with code N; stderr (last 10 lines):\\n..."``.

Configuration (flags, else environment)
---------------------------------------
``--backend`` / ``COLONIES_CONTAINER_BACKEND`` (auto: docker if a daemon answers, else podman if installed, else
the executor refuses to start; ``local``, unsandboxed host processes, only when named, and then with a warning), ``--type``, ``--name``, ``--concurrency``, ``--gpus`` / ``EXECUTOR_HW_GPU_COUNT`` (default:
the GPUs ``nvidia-smi`` lists, else 0), ``--cpu`` / ``EXECUTOR_HW_CPU`` and ``--mem`` / ``EXECUTOR_HW_MEM``
(default: the machine's), ``--nodes`` / ``EXECUTOR_HW_NODES`` (1). Server and keys come from the usual ``COLONIES_*`` variables
(:meth:`Executor.from_env`). With ``--type`` and ``COLONIES_COLONY_PRVKEY`` the executor registers itself under
``--name`` (default ``<type>-<random>``) and removes itself on exit, so one machine can host several types, one
process each; ``--register key`` uses ``COLONIES_PRVKEY`` (a pre-registered executor) instead.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import queue
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .. import __version__
from ..client.client import Colonies
from ..exceptions import ColoniesError
from ..fs import FsError
from ..models import parse_cpu, parse_memory
from ..types import processes_per_node
from .container_backends import (
    Backend,
    BackendUnavailable,
    Job,
    LocalBackend,
    Run,
    StartFailed,
    choose_backend,
)
from .context import ProcessContext
from .executor import Executor
from .functions import Detached
from .jobfiles import FsSpec, FsSpecError, JobFiles, parse_fs

log = logging.getLogger("colonies.executor.container")  # not "__main__" under `python -m`

FUNCNAME = "execute"
#: The function that only moves files: the spec's ``fs`` section in, then out, with no job in between.
SYNC_FUNCNAME = "sync"
DEFAULT_TYPE = "container-executor"
KNOWN_KWARGS = frozenset({"cmd", "args", "docker-image", "env", "workdir", "working-dir", "init-cmd",
                          "rebuild-image", "debug"})  # fmt: skip
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
MIB = 1024 * 1024
#: Seconds our maxexectime kill waits for the framework's (see ContainerExecutor._supervise).
MAXEXECTIME_SLACK = 1.0


class InvalidSpec(Exception):
    """The spec asks for something this executor will not or cannot do; nothing was run."""


class CommandFailed(Exception):
    """The command ran and exited with a non-zero code."""


class TimeLimitExceeded(CommandFailed):
    """The command was killed at its walltime / maxexectime."""


@dataclass(frozen=True)
class Capacity:
    """What the executor can offer a job; 0 cpu/mem means unknown (not checked)."""

    nodes: int = 1
    cpu_millicores: int = 0
    mem_bytes: int = 0
    gpus: int = 0
    #: Most processes per node a job may ask for (Slurm tasks, containers per Kubernetes pod).
    processes_per_node: int = 1


@dataclass(frozen=True)
class Limit:
    seconds: float
    #: "walltime" or "maxexectime".
    reason: str


@dataclass(frozen=True)
class Plan:
    job: Job
    limit: Limit | None


# --- from spec to job ---------------------------------------------------------------------------------------------


def _scalar_text(value: Any, what: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise InvalidSpec(f"{what} must be a string or number, not {type(value).__name__}")


def _string(kwargs: Mapping[str, Any], key: str) -> str:
    value = kwargs.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidSpec(f"kwargs.{key} must be a string, not {type(value).__name__}")
    return value


def _flag(kwargs: Mapping[str, Any], key: str) -> bool:
    value = kwargs.get(key, False)
    if not isinstance(value, bool):
        raise InvalidSpec(f"kwargs.{key} must be true or false, not {value!r}")
    return value


def _environment(sources: list[tuple[str, Any]], processid: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for where, values in sources:
        if values is None:
            continue
        if not isinstance(values, Mapping):
            raise InvalidSpec(f"{where} must be an object of NAME: value, not {type(values).__name__}")
        for key, value in values.items():
            if not isinstance(key, str) or not _ENV_NAME.match(key):
                raise InvalidSpec(f"{where}: {key!r} is not a valid environment variable name")
            env[key] = _scalar_text(value, f"{where}.{key}").replace("{processid}", processid)
    env["COLONIES_PROCESS_ID"] = processid
    return env


def _int(conditions: Mapping[str, Any], key: str) -> int:
    value = conditions.get(key) or 0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidSpec(f"conditions.{key} must be a number, not {value!r}")
    return int(value)


def _quantity(parse: Callable[[str], int], text: Any, what: str) -> int:
    if text is None or text == "":
        return 0
    try:
        return parse(str(text))
    except ColoniesError as exc:  # BadRequest with the accepted forms
        raise InvalidSpec(f"conditions.{what}: {exc.message}") from None


@dataclass(frozen=True)
class Asked:
    """What a spec's conditions ask of a job (0 = not given)."""

    nodes: int = 1
    processes_per_node: int = 1
    cpu_millicores: int = 0
    mem_bytes: int = 0
    gpus: int = 0
    gpu_name: str = ""
    walltime: int = 0


def check_conditions(spec: Mapping[str, Any], capacity: Capacity) -> Asked:
    """The original executors' validation, with the reason in one line, then what this executor can offer. Unlike
    the original, conditions that are not given take defaults (1 node, 1 process per node, no cpu/mem/time limit)
    instead of failing the process."""
    conditions = spec.get("conditions") or {}
    nodes = _int(conditions, "nodes")
    per_node = _int(processes_per_node(conditions), "processespernode")
    walltime = _int(conditions, "walltime")
    for key, value in (("nodes", nodes), ("processespernode", per_node), ("walltime", walltime)):
        if value < 0:
            raise InvalidSpec(f"conditions.{key}={value} must not be negative")
    maxexectime = spec.get("maxexectime")
    if (walltime > 0 and isinstance(maxexectime, (int, float)) and not isinstance(maxexectime, bool)
            and maxexectime > walltime):  # fmt: skip
        raise InvalidSpec(f"conditions.walltime={walltime} s must be at least maxexectime={maxexectime:g} s: the "
                          "job would be killed before the server gives up on it")  # fmt: skip
    nodes, per_node = nodes or 1, per_node or 1
    if nodes > capacity.nodes:
        raise InvalidSpec(f"conditions.nodes={nodes} cannot be met: this executor offers at most {capacity.nodes} "
                          "node(s) per job")  # fmt: skip
    if per_node > capacity.processes_per_node:
        raise InvalidSpec(f"conditions.processespernode={per_node} cannot be met: this executor starts at most "
                          f"{capacity.processes_per_node} process(es) per node")  # fmt: skip
    gpu = conditions.get("gpu") or {}
    gpus = _int(gpu, "count") if isinstance(gpu, Mapping) else 0
    if gpus > capacity.gpus:
        raise InvalidSpec(f"conditions.gpu.count={gpus} cannot be met: this executor has {capacity.gpus} GPU(s) "
                          "(start it with --gpus N)")  # fmt: skip
    gpu_name = gpu.get("name") if isinstance(gpu, Mapping) else ""
    cpu = _quantity(parse_cpu, conditions.get("cpu"), "cpu")
    if capacity.cpu_millicores and cpu > capacity.cpu_millicores:
        raise InvalidSpec(f"conditions.cpu={cpu}m cannot be met: this executor has {capacity.cpu_millicores}m")
    mem = _quantity(parse_memory, conditions.get("mem"), "mem")
    if capacity.mem_bytes and mem > capacity.mem_bytes:
        raise InvalidSpec(f"conditions.mem={mem // MIB}Mi cannot be met: this executor has "
                          f"{capacity.mem_bytes // MIB}Mi")  # fmt: skip
    return Asked(nodes, per_node, cpu, mem, gpus, gpu_name if isinstance(gpu_name, str) else "", walltime)


def time_limit(spec: Mapping[str, Any]) -> Limit | None:
    """The smaller positive one of maxexectime and conditions.walltime (maxexectime on a tie: the server's
    requeue-or-fail then applies)."""
    conditions = spec.get("conditions") or {}
    candidates = [(spec.get("maxexectime"), "maxexectime"), (conditions.get("walltime"), "walltime")]
    valid = [(float(value), why) for value, why in candidates
             if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0]  # fmt: skip
    if not valid:
        return None
    seconds, reason = min(valid, key=lambda item: item[0])
    return Limit(seconds, reason)


def plan_job(args: Iterable[Any], kwargs: Mapping[str, Any], spec: Mapping[str, Any], processid: str,
             capacity: Capacity, backend: Backend) -> Plan:  # fmt: skip
    """Validate an ``execute`` call and turn it into a Job; raises InvalidSpec with the reason."""
    if list(args):
        raise InvalidSpec("execute takes no positional args (spec.args); put command arguments in kwargs.args")
    unknown = sorted(set(kwargs) - KNOWN_KWARGS)
    if unknown:
        known = ", ".join(sorted(KNOWN_KWARGS))
        raise InvalidSpec(f"execute does not know kwargs {', '.join(unknown)} (known: {known})")
    cmd = kwargs.get("cmd")
    if cmd is None or (isinstance(cmd, str) and not cmd.strip()):
        raise InvalidSpec("execute needs kwargs.cmd (a shell command line)")
    cmd = _string(kwargs, "cmd")
    extra = kwargs.get("args") or []
    if not isinstance(extra, list):
        raise InvalidSpec(f"kwargs.args must be a list, not {type(extra).__name__}")
    words = [_scalar_text(a, f"kwargs.args[{i}]").replace("{processid}", processid) for i, a in enumerate(extra)]
    image = _string(kwargs, "docker-image")
    if backend.needs_image and not image.strip():
        raise InvalidSpec(f"execute needs kwargs.docker-image on the {backend.name} backend")
    workdir, working_dir = _string(kwargs, "workdir"), _string(kwargs, "working-dir")
    if workdir and working_dir and workdir != working_dir:
        raise InvalidSpec("kwargs.workdir and kwargs.working-dir differ; give one")
    workdir = (workdir or working_dir).replace("{processid}", processid)
    if workdir and not workdir.startswith("/"):
        raise InvalidSpec(f"kwargs.workdir must be an absolute path, not {workdir!r}")
    init = _string(kwargs, "init-cmd").replace("{processid}", processid)
    pull_always = _flag(kwargs, "rebuild-image")
    _flag(kwargs, "debug")
    env = _environment([("spec.env", spec.get("env")), ("kwargs.env", kwargs.get("env"))], processid)
    asked = check_conditions(spec, capacity)
    script = " ".join([cmd.replace("{processid}", processid), *map(shlex.quote, words)])
    if init.strip():
        script = f"{{ {init}\n}} && {{ {script}\n}}"
    job = Job(processid=processid, image=image.strip(), script=script, env=env, workdir=workdir,
              cpus=asked.cpu_millicores / 1000 if backend.enforces_limits else 0.0,
              mem_bytes=asked.mem_bytes if backend.enforces_limits else 0, gpus=asked.gpus,
              pull_always=pull_always, nodes=asked.nodes, processes_per_node=asked.processes_per_node,
              walltime=asked.walltime, gpu_name=asked.gpu_name)  # fmt: skip
    return Plan(job, time_limit(spec))


# --- output -------------------------------------------------------------------------------------------------------


def split_lines(chunks: Iterable[bytes], max_line: int) -> Iterable[str]:
    """Byte chunks → text lines (without newline); a line longer than ``max_line`` bytes is cut and marked."""
    buffer = b""
    skipping = False  # inside an over-long line whose start was already given
    for chunk in chunks:
        buffer += chunk
        *complete, buffer = buffer.split(b"\n")
        for line in complete:
            if skipping:
                skipping = False
                continue
            yield _decode(line, max_line)
        if len(buffer) > max_line:
            if not skipping:
                yield _decode(buffer, max_line)
            skipping, buffer = True, b""
    if buffer and not skipping:
        yield _decode(buffer, max_line)


def _decode(line: bytes, max_line: int) -> str:
    if len(line) > max_line:
        return line[:max_line].decode("utf-8", "replace") + " [line cut]"
    return line.decode("utf-8", "replace")


class OutputPump:
    """Forwards a run's output to the process log as it comes: lines (capped at ``max_line`` bytes), batched into
    one message per ``interval`` so a chatty command costs a few requests a second rather than one per line, and
    at most ``max_bytes`` in total. Keeps the last ``tail`` lines of each stream for the result or error."""

    def __init__(self, send: Callable[[str], None], *, max_line: int = 4096, max_bytes: int = 16 * MIB,
                 tail: int = 10, interval: float = 0.1, max_batch: int = 64 * 1024) -> None:  # fmt: skip
        self.send = send
        self.max_line, self.max_bytes, self.tail = max_line, max_bytes, tail
        self.interval, self.max_batch = interval, max_batch
        #: The last lines of each stream ("stdout", "stderr").
        self.tails: dict[str, deque[str]] = {}
        #: Lines not logged because of ``max_bytes``.
        self.dropped = 0
        self._sent_bytes = 0
        self._lock = threading.Lock()
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._readers: list[threading.Thread] = []
        self._thread = threading.Thread(target=self._pump, name="container-log-pump", daemon=True)
        self._thread.start()

    def follow(self, stream: str, chunks: Iterable[bytes]) -> None:
        """Read ``chunks`` in a new thread until the stream ends."""
        self.tails[stream] = deque(maxlen=self.tail)
        thread = threading.Thread(target=self._read, args=(stream, chunks), name=f"container-{stream}", daemon=True)
        self._readers.append(thread)
        thread.start()

    def _read(self, stream: str, chunks: Iterable[bytes]) -> None:
        tail = self.tails[stream]
        try:
            for line in split_lines(chunks, self.max_line):
                tail.append(line)
                with self._lock:
                    if self._sent_bytes + len(line) + 1 > self.max_bytes:
                        self.dropped += 1
                        continue
                    self._sent_bytes += len(line) + 1
                self._queue.put(line + "\n")
        except (OSError, ValueError) as exc:  # the stream broke (daemon gone, pipe closed)
            log.debug("reading %s stopped: %s", stream, exc)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    def _pump(self) -> None:
        while (first := self._queue.get()) is not None:
            batch, size, done = [first], len(first), False
            deadline = time.monotonic() + self.interval
            while size < self.max_batch and (remaining := deadline - time.monotonic()) > 0:
                try:
                    item = self._queue.get(timeout=remaining)
                except queue.Empty:
                    break
                if item is None:
                    done = True
                    break
                batch.append(item)
                size += len(item)
            self.send("".join(batch))
            if done:
                return

    def close(self, timeout: float = 5.0) -> bool:
        """Wait for the streams to end (up to ``timeout`` s), then send what is left. False if a stream is still
        open (something outside the job holds it)."""
        deadline = time.monotonic() + timeout
        for reader in self._readers:
            reader.join(max(0.0, deadline - time.monotonic()))
        complete = not any(reader.is_alive() for reader in self._readers)
        self._queue.put(None)
        self._thread.join(timeout)
        if self.dropped:
            self.send(f"ContainerExecutor: {self.dropped} more output line(s) not logged (limit {self.max_bytes} "
                      "bytes per process)\n")  # fmt: skip
        return complete


# --- the executor -------------------------------------------------------------------------------------------------


def _spec_of(process: Any) -> dict[str, Any]:
    raw = process.to_dict() if hasattr(process, "to_dict") else dict(process)
    spec = raw.get("spec") or {}
    return dict(spec)


def _env_attributes(process: Any) -> dict[str, str]:
    """The process's ENV attributes (attributetype 3): where an earlier start put its job."""
    raw = process.to_dict() if hasattr(process, "to_dict") else dict(process)
    found: dict[str, str] = {}
    for attribute in raw.get("attributes") or []:
        if isinstance(attribute, Mapping) and attribute.get("attributetype") == 3:
            found[str(attribute.get("key", ""))] = str(attribute.get("value", ""))
    return found


def _tail_text(lines: Iterable[str], stream: str) -> str:
    lines = list(lines)
    if not lines:
        return ""
    last = "last line" if len(lines) == 1 else f"last {len(lines)} lines"
    return f"; {stream} ({last}):\n" + "\n".join(lines)


class ContainerExecutor:
    """The ``execute`` function over one backend. Register it with :meth:`attach`, or use :func:`build`."""

    def __init__(self, backend: Backend, capacity: Capacity, *, poll: float = 0.1,
                 output: Mapping[str, Any] | None = None, fs_dir: str | Path = "") -> None:  # fmt: skip
        self.backend = backend
        self.capacity = capacity
        self.poll = poll
        self.output_options = dict(output or {})
        self.hostname = socket.gethostname()
        self.detach_on_stop = False
        self.fs_dir = Path(fs_dir or os.environ.get("EXECUTOR_FS_DIR") or Path.home() / ".colonies" / "cfs")
        self.files: JobFiles | None = None

    def attach(self, executor: Executor) -> Executor:
        executor.register(FUNCNAME, self.execute, "runs kwargs.cmd in kwargs.docker-image")
        executor.register(SYNC_FUNCNAME, self.sync, "brings spec.fs in and sends it back, running nothing")
        self.files = JobFiles(self.fs_dir, lambda: Colonies(executor.host, executor.port, executor.tls,
                                                            verify=executor.verify),
                              executor.colonyname, executor.prvkey)  # fmt: skip
        # Jobs that outlive us are left running at a stop and followed again after a restart, when the restarted
        # executor can be us: the same key (not a self-registered one, which removes itself and whose processes
        # the server then requeues; its jobs are cancelled at a stop like any other backend's).
        self.detach_on_stop = self.backend.detachable and not executor.self_register
        executor.resume_running = executor.resume_running or self.detach_on_stop
        return executor

    def _start_or_reattach(self, job: Job, process: Any, ctx: ProcessContext, say: Callable[[str], None]) -> Run:
        """A new run; or, for a process picked up after a restart, the job its earlier start recorded."""
        if ctx.resumed and self.detach_on_stop:
            recorded = _env_attributes(process)
            if recorded:
                run = self.backend.reattach(job, recorded, say)
                if run is None:
                    where = ", ".join(f"{k}={v}" for k, v in sorted(recorded.items()))
                    raise CommandFailed(f"the job this executor started before it restarted ({where}) is no longer "
                                        f"known to {self.backend.name}; its outcome is lost")  # fmt: skip
                say(f"executor restarted: following job {', '.join(sorted(recorded.values()))} again")
                return run
            say("executor restarted before the job was recorded: starting it now")
        return self.backend.start(job, say)

    @staticmethod
    def _record(run: Run, recorded: dict[str, str], ctx: ProcessContext) -> None:
        """Store the run's new attributes (where the job lives) as process attributes, once each."""
        for key, value in list(run.attributes.items()):
            if recorded.get(key) == value:
                continue
            try:
                ctx.set_attribute(key, value)
                recorded[key] = value
            except (ColoniesError, RuntimeError, TimeoutError) as exc:
                log.warning("process %s: attribute %s not stored: %s", ctx.processid, key, exc)
                recorded[key] = value  # not again each poll

    def _fs(self, spec: Mapping[str, Any], processid: str) -> FsSpec:
        try:
            return parse_fs(spec, processid)
        except FsSpecError as exc:
            raise InvalidSpec(str(exc)) from None

    def _mover(self) -> JobFiles:
        if self.files is None:
            raise RuntimeError("attach the container executor to an Executor to move files")
        return self.files

    def sync(self, *args: Any, process: Any, ctx: ProcessContext, **kwargs: Any) -> dict[str, int]:
        """Bring the spec's ``fs`` section in (snapshots, labels) and send it back, with nothing run in between:
        data staged on this executor's disk for later processes (``keepfiles``). The output counts the files."""
        if args or kwargs:
            raise InvalidSpec("sync takes no args or kwargs: it carries out spec.fs")
        fs, files = self._fs(_spec_of(process), ctx.processid), self._mover()
        if not (fs.snapshots or fs.dirs):
            raise InvalidSpec("sync needs spec.fs.dirs or spec.fs.snapshots")

        def say(text: str) -> None:
            ctx.log(f"ContainerExecutor: {text}\n")

        try:
            came = files.before(fs, say)
            went = files.after(fs, say, upload=True)
        except (ColoniesError, FsError, OSError, FsSpecError) as exc:
            raise CommandFailed(f"fs sync failed: {exc}") from None
        return {"downloaded": came["downloaded"] + went["downloaded"], "uploaded": came["uploaded"] + went["uploaded"],
                "conflicts": came["conflicts"] + went["conflicts"]}  # fmt: skip

    def _with_files(self, job: Job, fs: FsSpec, files: JobFiles) -> Job:
        """The job with the executor's fs directory where it can see it, and COLONIES_FS_MOUNT naming the place."""
        seen_at = self.backend.fs_path(str(files.root), fs.mount)
        if seen_at is None:
            raise InvalidSpec(f"spec.fs.mount is set, but jobs on {self.backend.name} cannot see this executor's fs "
                              "directory (Kubernetes: configure --fs-volume)")  # fmt: skip
        mounts = ((str(files.root), fs.mount),) if seen_at == fs.mount else ()
        return replace(job, mounts=mounts, env={**job.env, "COLONIES_FS_MOUNT": seen_at})

    def execute(self, *args: Any, process: Any, ctx: ProcessContext, **kwargs: Any) -> dict[str, Any]:
        """Run kwargs.cmd; the output is ``{"exitcode": 0, "stdout_tail": [...]}``, a non-zero exit raises."""
        spec = _spec_of(process)
        plan = plan_job(args, kwargs, spec, ctx.processid, self.capacity, self.backend)
        fs = self._fs(spec, ctx.processid)
        files = self._mover() if fs.active else None
        job = self._with_files(plan.job, fs, files) if files is not None else plan.job

        def say(text: str) -> None:
            ctx.log(f"ContainerExecutor: {text}\n")

        shown = job.script if len(job.script) <= 2000 else job.script[:2000] + " [...]"
        say(f"{self.backend.describe(job)} on {self.hostname}: {shown}")
        if isinstance(self.backend, LocalBackend):
            say(f"WARNING backend local: the command runs as a host process; image {job.image or '(none)'} is not "
                "used and cpu/mem are not limited")  # fmt: skip
        if plan.limit:
            say(f"time limit {plan.limit.seconds:g} s ({plan.limit.reason}): the command is killed then")
        resuming = ctx.resumed and self.detach_on_stop and bool(_env_attributes(process))
        if files is not None and not resuming:  # a job followed again after a restart had its files brought in already
            try:
                files.before(fs, say)
            except (ColoniesError, FsError, OSError, FsSpecError) as exc:
                self._release(files, fs, say, upload=False, ran=False)
                raise CommandFailed(f"fs: the job's files could not be brought in: {exc}") from None
        started = time.monotonic()
        try:
            run = self._start_or_reattach(job, process, ctx, say)
        except BaseException:
            if files is not None:
                self._release(files, fs, say, upload=False, ran=False)
            raise
        recorded = _env_attributes(process) if ctx.resumed else {}
        pump = OutputPump(ctx.log, **self.output_options)
        detached = False
        try:
            self._record(run, recorded, ctx)
            for stream, chunks in run.streams.items():
                pump.follow(stream, chunks)
            code, stopped_by = self._supervise(run, ctx, plan.limit, recorded)
            if stopped_by == "detached":
                detached = True
                run.detach()
                pump.close(timeout=1.0)
                say(f"executor stopping: job left running on {self.backend.name}; picked up again at the next start")
                raise Detached
            run.kill_leftovers()
            if not pump.close(timeout=self.backend.output_wait):
                say("WARNING output still open after the command ended (a process escaped the job?)")
        finally:
            if not detached:
                run.close()
        say(f"exit code {code} after {time.monotonic() - started:.2f} s")
        # Results go back whatever the exit code (partial results help), not when the run was cancelled.
        fs_problem = self._release(files, fs, say, upload=stopped_by not in ("revoked", "cancelled")) \
            if files is not None else None
        notes = "".join(f" ({note})" for note in run.notes)
        # Backends with one merged stream per job (Kubernetes) have no stderr of its own: their tail is the output's.
        stderr = (_tail_text(pump.tails["stderr"], "stderr") if "stderr" in pump.tails
                  else _tail_text(pump.tails.get("stdout", ()), "output"))  # fmt: skip
        if stopped_by == "revoked":
            raise CommandFailed(f"process cancelled on the server; job stopped (exit code {code})")
        if stopped_by == "cancelled":
            raise CommandFailed(f"run given up by the executor; command killed (exit code {code})")
        if stopped_by and plan.limit:
            raise TimeLimitExceeded(f"{plan.limit.reason} of {plan.limit.seconds:g} s exceeded: command killed "
                                    f"(exit code {code}){notes}{stderr}")  # fmt: skip
        if code != 0:
            raise CommandFailed(f"command exited with code {code}{notes}{stderr}")
        if fs_problem is not None:
            raise CommandFailed(f"the command succeeded but its files were not synced back: {fs_problem}")
        return {"exitcode": 0, "stdout_tail": list(pump.tails.get("stdout", ()))}

    @staticmethod
    def _release(files: JobFiles, fs: FsSpec, say: Callable[[str], None], *, upload: bool,
                 ran: bool = True) -> Exception | None:  # fmt: skip
        """The fs section's after-part; what went wrong (already in the process log), if anything."""
        try:
            files.after(fs, say, upload=upload, ran=ran)
        except (ColoniesError, FsError, OSError, FsSpecError) as exc:
            return exc
        return None

    def _supervise(self, run: Run, ctx: ProcessContext, limit: Limit | None,
                   recorded: dict[str, str]) -> tuple[int, str | None]:  # fmt: skip
        """Wait for the exit; SIGKILL at the time limit, when the server no longer has the process as ours
        (cancelled), or when the framework gives the run up (maxexectime, shutdown); on a detachable backend a
        shutdown leaves the job running instead. Returns (exit code, None | "detached" | "revoked" | "cancelled" |
        the limit's reason).

        At maxexectime the framework gives up first (its clock started earlier) and the server requeues or fails
        the process; our own deadline for it is one second later, only a safety net, so that outcome does not
        depend on which timer fires first."""
        slack = MAXEXECTIME_SLACK if limit and limit.reason == "maxexectime" else 0.0
        if limit and limit.reason == "walltime":
            slack = self.backend.walltime_slack
        deadline = time.monotonic() + limit.seconds + slack if limit else None
        while True:
            code = run.wait(self.poll)
            if code is not None:
                self._record(run, recorded, ctx)
                return code, None
            if run.attributes.keys() - recorded.keys():
                self._record(run, recorded, ctx)
            if self.detach_on_stop and ctx.stopping and not ctx.revoked:
                return 0, "detached"
            if ctx.revoked:
                why = "revoked"
            elif ctx.cancelled:
                why = "cancelled"
            elif deadline is not None and time.monotonic() >= deadline:
                why = limit.reason if limit else "limit"
            else:
                continue
            run.kill()
            code = run.wait(10.0)
            return (137 if code is None else code), why


# --- building and running -----------------------------------------------------------------------------------------


def detect_gpus() -> int:
    """GPUs ``nvidia-smi -L`` lists (0 without it)."""
    if not shutil.which("nvidia-smi"):
        return 0
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return 0
    return sum(1 for line in out.splitlines() if line.startswith("GPU "))


def default_capacity(backend: Backend, *, cpu: str = "", mem: str = "", gpus: int | None = None,
                     nodes: int = 1) -> Capacity:  # fmt: skip
    """Given values win; else what the backend's machine has."""
    cores, mem_bytes = backend.resources()
    return Capacity(nodes=nodes, cpu_millicores=parse_cpu(cpu) if cpu else cores * 1000,
                    mem_bytes=parse_memory(mem) if mem else mem_bytes,
                    gpus=detect_gpus() if gpus is None else gpus)  # fmt: skip


def capabilities(backend: Backend, capacity: Capacity) -> dict[str, Any]:
    """What a self-registering executor announces (protocol §4.4)."""
    hardware = {
        "model": f"{backend.name} container executor on {socket.gethostname()}", "nodes": capacity.nodes,
        "cpu": f"{capacity.cpu_millicores}m", "cores": capacity.cpu_millicores // 1000,
        "mem": f"{capacity.mem_bytes // MIB}Mi", "storage": "",
        "gpu": {"name": "", "mem": "", "count": capacity.gpus, "nodecount": 1 if capacity.gpus else 0},
        "platform": sys.platform, "architecture": platform.machine(), "network": [],
    }  # fmt: skip
    software = {"name": "colonies-container-executor", "type": backend.name, "version": __version__}
    return {"hardware": [hardware], "software": [software]}


def build(*, backend: Backend | str = "auto", executortype: str = "", executorname: str = "",
          register: str = "auto", concurrency: int = 1, capacity: Capacity | None = None,
          output: Mapping[str, Any] | None = None, fs_dir: str | Path = "", **overrides: Any) -> Executor:  # fmt: skip
    """A container executor, not yet running; ``overrides`` go to :meth:`Executor.from_env` (host, port, keys...).

    ``register``: "self" registers with the colony key, "key" uses the executor's own key, "auto" registers itself
    when ``executortype`` is given and a colony key is at hand, else decides as :meth:`Executor.from_env`.
    Raises BackendUnavailable when the backend cannot work here.
    """
    if register not in ("auto", "self", "key"):
        raise ValueError(f"register must be auto, self or key, not {register!r}")
    if isinstance(backend, str):
        backend, warning = choose_backend(backend)
        if warning:
            log.warning(warning)
    else:
        backend.check()
    capacity = capacity or default_capacity(backend)
    colony_key = overrides.get("colony_prvkey") or any(
        os.environ.get("COLONIES_COLONY_PRVKEY" + suffix) for suffix in ("", "_FILE", "_FD"))
    self_register = register == "self" or (register == "auto" and bool(executortype) and bool(colony_key))
    env = os.environ
    etype = executortype or env.get("COLONIES_EXECUTOR_TYPE") or env.get("EXECUTOR_TYPE") or DEFAULT_TYPE
    params: dict[str, Any] = {"concurrency": concurrency, "capabilities": capabilities(backend, capacity)}
    if self_register:
        params.update(self_register=True, executorname=executorname)  # "" → <type>-<random>
    else:
        if register == "key":
            params["self_register"] = False
        if executorname:
            params["executorname"] = executorname
    params.update(overrides)
    executor = Executor.from_env(executortype=etype, **params)
    return ContainerExecutor(backend, capacity, output=output, fs_dir=fs_dir).attach(executor)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ
    parser = argparse.ArgumentParser(
        prog="python -m colonies.executor.container",
        description="Serve the ColonyOS function 'execute': run kwargs.cmd in kwargs.docker-image.",
    )
    parser.add_argument("--type", default="", help="executor type; with COLONIES_COLONY_PRVKEY it registers itself")
    parser.add_argument("--name", default="", help="executor name (self-registration default: <type>-<random>)")
    parser.add_argument("--concurrency", type=int, default=1, help="processes run at once (default 1)")
    parser.add_argument("--backend", choices=["auto", "docker", "podman", "local"],
                        default=env.get("COLONIES_CONTAINER_BACKEND") or "auto",
                        help="where commands run (env COLONIES_CONTAINER_BACKEND, default auto)")  # fmt: skip
    parser.add_argument("--register", choices=["auto", "self", "key"], default="auto",
                        help="self: register with COLONIES_COLONY_PRVKEY; key: use COLONIES_PRVKEY")  # fmt: skip
    parser.add_argument("--gpus", type=int, default=_env_int("EXECUTOR_HW_GPU_COUNT"),
                        help="GPUs offered (env EXECUTOR_HW_GPU_COUNT; default: nvidia-smi, else 0)")  # fmt: skip
    parser.add_argument("--cpu", default=env.get("EXECUTOR_HW_CPU", ""),
                        help="CPU offered, e.g. 4000m (env EXECUTOR_HW_CPU; default: the machine's)")  # fmt: skip
    parser.add_argument("--mem", default=env.get("EXECUTOR_HW_MEM", ""),
                        help="memory offered, e.g. 16Gi (env EXECUTOR_HW_MEM; default: the machine's)")  # fmt: skip
    parser.add_argument("--nodes", type=int, default=_env_int("EXECUTOR_HW_NODES") or 1,
                        help="nodes offered (env EXECUTOR_HW_NODES, default 1)")  # fmt: skip
    parser.add_argument("--location", default="", help="location name to register with")
    parser.add_argument("--fs-dir", default=env.get("EXECUTOR_FS_DIR", ""),
                        help="ColonyFS files of the jobs, seen at the spec's fs.mount (env EXECUTOR_FS_DIR, "
                             "default ~/.colonies/cfs)")  # fmt: skip
    parser.add_argument("--log-level", default=env.get("COLONIES_LOG_LEVEL", "INFO"))
    return parser.parse_args(argv)


def _env_int(name: str) -> int | None:
    text = os.environ.get(name, "").strip()
    return int(text) if text.isdigit() else None


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code (2: configuration error)."""
    options = parse_args(argv)
    logging.basicConfig(level=options.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if logging.getLogger().level > logging.DEBUG:
        logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request otherwise
    try:
        backend, warning = choose_backend(options.backend)
        if warning:
            log.warning(warning)
        capacity = default_capacity(backend, cpu=options.cpu, mem=options.mem, gpus=options.gpus,
                                    nodes=options.nodes)  # fmt: skip
        extra = {"locationname": options.location} if options.location else {}
        executor = build(backend=backend, executortype=options.type, executorname=options.name,
                         register=options.register, concurrency=options.concurrency, capacity=capacity,
                         fs_dir=options.fs_dir, **extra)  # fmt: skip
    except (BackendUnavailable, ValueError, ColoniesError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    log.info("container executor: type %s, backend %s, concurrency %d, gpus %d", executor.executortype,
             backend.name, executor.concurrency, capacity.gpus)  # fmt: skip
    try:
        executor.run()
    except ColoniesError as exc:  # e.g. a taken name or a wrong colony key: a person must fix it
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


__all__ = ["BackendUnavailable", "Capacity", "CommandFailed", "ContainerExecutor", "InvalidSpec", "Job", "Limit",
           "OutputPump", "Plan", "StartFailed", "TimeLimitExceeded", "build", "main", "plan_job", "split_lines",
           "time_limit"]  # fmt: skip

if __name__ == "__main__":
    sys.exit(main())

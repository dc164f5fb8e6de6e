"""Where the container executor's commands run: a Docker daemon (``docker`` SDK), podman (its CLI) or the host
itself (``local``).

A backend turns a :class:`Job` into a :class:`Run`: two byte streams (stdout, stderr), ``wait``, ``kill`` and
``close``. Time limits, log streaming and results are the executor's business (:mod:`.container`), so they behave
the same on every backend.

Every backend runs the job's script as ``/bin/sh -c <script>`` (inside a container: as the entrypoint, so an image's
own ENTRYPOINT does not swallow it, as Kubernetes' ``command`` does) and gives it a *fresh* environment: the job's
variables plus, for ``local`` only, a few harmless host ones (``PATH``, ``HOME``, locale). The executor's own
``COLONIES_*`` keys therefore never reach user code.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import IO, Any

log = logging.getLogger(__name__)

#: Host variables a ``local`` job inherits; everything else (keys, tokens, COLONIES_*) stays with the executor.
LOCAL_ENV_KEEP = ("PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ",
                  "TMPDIR")  # fmt: skip

SHELL = "/bin/sh"


class BackendUnavailable(Exception):
    """The chosen backend cannot work on this machine (no Docker daemon, no podman on PATH, no SDK)."""


class StartFailed(Exception):
    """The job could not be started (image pull failed, bad working directory...); nothing ran."""


@dataclass(frozen=True)
class Job:
    """One command to run, already validated and with ``{processid}`` substituted."""

    processid: str
    #: Image reference; "" only for the local backend.
    image: str
    #: Run as ``/bin/sh -c script``.
    script: str
    #: The job's own environment (user variables and COLONIES_PROCESS_ID).
    env: dict[str, str]
    #: Working directory ("" = the image's, or a fresh temporary directory for local).
    workdir: str = ""
    #: CPU limit in cores (0 = none).
    cpus: float = 0.0
    #: Memory limit in bytes (0 = none).
    mem_bytes: int = 0
    #: GPUs to give the container.
    gpus: int = 0
    #: Pull the image even if it is present (kwargs ``rebuild-image``).
    pull_always: bool = False
    #: conditions.nodes and conditions.processespernode (at least 1 each; above 1 only where the backend allows).
    nodes: int = 1
    processes_per_node: int = 1
    #: conditions.walltime in seconds, for the target system to enforce (0 = none). The executor's own kill at the
    #: time limit applies on every backend as well.
    walltime: int = 0
    #: conditions.gpu.name ("" = any model).
    gpu_name: str = ""
    #: (directory on this machine, path in the job): the executor's fs directory at the spec's ``fs.mount``.
    mounts: tuple[tuple[str, str], ...] = ()


def exit_status(returncode: int) -> int:
    """A shell-style exit code: death by signal N becomes 128+N (what docker and podman report too)."""
    return 128 - returncode if returncode < 0 else returncode


def _pipe_chunks(pipe: IO[bytes]) -> Iterator[bytes]:
    """What a pipe delivers, as it arrives (``read1`` returns whatever is available, not a full buffer). The pipe
    is closed by its reader at the end: closing it from another thread could block on the reader's buffer lock."""
    read = getattr(pipe, "read1", pipe.read)
    try:
        yield from iter(partial(read, 65536), b"")
    finally:
        pipe.close()


class Run:
    """A started job. ``streams`` maps "stdout"/"stderr" (or any other name) to iterables of byte chunks, each read
    in its own thread."""

    streams: dict[str, Iterable[bytes]]
    #: Remarks for the error text or log, e.g. "OOMKilled" (filled by ``wait``).
    notes: list[str]
    #: Where the job lives on the target system, e.g. {"SLURM-JOBID": "42"}: recorded as process attributes (ENV)
    #: once the job started, and what a restarted executor hands to :meth:`Backend.reattach`. A backend may add
    #: entries while the job runs (the executor records new ones as it sees them).
    attributes: dict[str, str] = {}  # noqa: RUF012 - replaced per instance by backends that use it

    def wait(self, timeout: float) -> int | None:
        """The exit code once the job ended, else None after ``timeout`` s."""
        raise NotImplementedError

    def kill(self) -> None:
        """SIGKILL the whole job (process group or container), at once."""
        raise NotImplementedError

    def kill_leftovers(self) -> None:
        """After the main command ended: kill what it left running in the background (a container's processes
        die with it; a host process group needs telling)."""

    def close(self) -> None:
        """Release what the run holds (temporary directory, container)."""

    def detach(self) -> None:
        """Stop following the job and leave it running on the target system (the executor stops; a restarted one
        reattaches). Only called on a :attr:`Backend.detachable` backend."""


class Backend:
    """Starts jobs. ``check`` runs at executor start-up and raises BackendUnavailable with a clear reason."""

    name = "backend"
    #: Whether kwargs ``docker-image`` must be given.
    needs_image = True
    #: Whether cpu and memory conditions become enforced limits.
    enforces_limits = True
    #: Jobs outlive the executor process (Slurm, Kubernetes): when the executor stops it detaches from them and
    #: leaves their processes RUNNING; restarted with the same identity it finds them again (:meth:`reattach`).
    detachable = False
    #: Seconds past conditions.walltime before the executor kills a job itself: a target system that enforces the
    #: walltime (Slurm, Kubernetes) ends it first and says why.
    walltime_slack = 0.0
    #: Seconds to wait, once the job ended, for the rest of its output. Local pipes and container daemons hand it
    #: over at once; a cluster's API (Kubernetes logs) may take longer on a busy control plane.
    output_wait = 5.0

    def fs_path(self, fs_dir: str, mount: str) -> str | None:
        """Where a job sees the executor's fs directory when the spec asks for it at ``mount``: ``mount`` itself
        when the backend binds it there (:attr:`Job.mounts`), the directory's own path when the job runs on this
        machine's filesystem without a container, None when the job cannot reach it at all."""
        return mount

    def check(self) -> None:
        pass

    def resources(self) -> tuple[int, int]:
        """(CPU cores, memory bytes) of the machine jobs run on; 0 = unknown."""
        return os.cpu_count() or 0, _host_memory()

    def describe(self, job: Job) -> str:
        raise NotImplementedError

    def start(self, job: Job, note: Callable[[str], None]) -> Run:
        """Start ``job``; ``note`` adds a line to the process log (e.g. "pulling image ...")."""
        raise NotImplementedError

    def reattach(self, job: Job, attributes: Mapping[str, str], note: Callable[[str], None]) -> Run | None:
        """The run of ``job`` started by an earlier executor process, found from the attributes its start recorded
        (:attr:`Run.attributes`); None when the target system no longer knows it."""
        return None


def _host_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 0


# --- local: a host process group ---------------------------------------------------------------------------------


class LocalRun(Run):
    def __init__(self, proc: subprocess.Popen[bytes], tmpdir: str | None) -> None:
        self.proc = proc
        self.tmpdir = tmpdir
        self.notes = []
        assert proc.stdout is not None and proc.stderr is not None
        self.streams = {"stdout": _pipe_chunks(proc.stdout), "stderr": _pipe_chunks(proc.stderr)}

    def wait(self, timeout: float) -> int | None:
        try:
            return exit_status(self.proc.wait(timeout))
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        # The shell leads its own session and process group (start_new_session), so one killpg reaches pipelines
        # and background children too. A process that starts yet another session escapes: use a container backend
        # when that matters.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def kill_leftovers(self) -> None:
        self.kill()

    def close(self) -> None:
        if self.proc.poll() is None:  # pragma: no cover - close() follows wait()
            self.kill()
            self.proc.wait(5)
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)


class LocalBackend(Backend):
    """Runs the script as a host process: no image, no isolation, no cpu/memory limits. Meant for development and
    tests; the executor logs a WARNING for every job, naming the image it did not use."""

    name = "local"
    needs_image = False
    enforces_limits = False

    def __init__(self, shell: str = SHELL) -> None:
        self.shell = shell

    def describe(self, job: Job) -> str:
        return "host process"

    def fs_path(self, fs_dir: str, mount: str) -> str | None:
        return fs_dir  # no container to bind it into: the job finds it through COLONIES_FS_MOUNT

    def environment(self, job: Job) -> dict[str, str]:
        base = {key: os.environ[key] for key in LOCAL_ENV_KEEP if key in os.environ}
        return {**base, **job.env}

    def start(self, job: Job, note: Callable[[str], None]) -> Run:
        tmpdir = None
        try:
            if job.workdir:
                os.makedirs(job.workdir, exist_ok=True)  # as `docker run -w` creates a missing directory
                cwd = job.workdir
            else:  # a fresh directory, like a container's filesystem; removed afterwards
                cwd = tmpdir = tempfile.mkdtemp(prefix=f"colonies-{job.processid[:12]}-")
            proc = subprocess.Popen([self.shell, "-c", job.script], cwd=cwd, env=self.environment(job),
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    start_new_session=True)  # fmt: skip
        except OSError as exc:
            if tmpdir:
                shutil.rmtree(tmpdir, ignore_errors=True)
            raise StartFailed(f"could not start the command: {exc}") from None
        return LocalRun(proc, tmpdir)


# --- podman: its CLI ---------------------------------------------------------------------------------------------


class PodmanRun(Run):
    def __init__(self, backend: PodmanBackend, name: str, proc: subprocess.Popen[bytes], env_file: str = "") -> None:
        self.backend = backend
        self.name = name
        self.proc = proc
        self.env_file = env_file
        self.killed = False
        self.notes = []
        assert proc.stdout is not None and proc.stderr is not None
        self.streams = {"stdout": _pipe_chunks(proc.stdout), "stderr": _pipe_chunks(proc.stderr)}

    def wait(self, timeout: float) -> int | None:
        try:
            code = exit_status(self.proc.wait(timeout))
        except subprocess.TimeoutExpired:
            return None
        if self.env_file:
            with contextlib.suppress(OSError):
                os.unlink(self.env_file)
        if code == 125 and not self.killed and not self.notes:  # podman's own failure, not the command's
            self.notes.append("podman could not run the container, e.g. the image could not be pulled")
        return code

    def kill(self) -> None:
        # Killing the CLI alone leaves the container running under conmon: kill the container, then the CLI.
        self.killed = True
        self.backend.podman_quietly("kill", "--signal", "KILL", self.name)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def close(self) -> None:
        if self.proc.poll() is None:  # only after an error: close() normally follows wait()
            self.kill()
            self.proc.wait(10)
        if self.killed:  # --rm is done by the CLI we may have killed
            self.backend.podman_quietly("rm", "--force", self.name)


class PodmanBackend(Backend):
    """``podman run --rm`` through the CLI (rootless friendly; no daemon needed)."""

    name = "podman"

    def __init__(self, podman: str = "podman") -> None:
        self.podman = podman

    def check(self) -> None:
        found = shutil.which(self.podman)
        if not found:
            raise BackendUnavailable(f"podman backend: {self.podman!r} is not on PATH; install podman, or choose "
                                     "--backend docker or --backend local")  # fmt: skip
        self.podman = found

    def describe(self, job: Job) -> str:
        return f"podman container ({job.image})"

    def command(self, job: Job, name: str, env_file: str = "") -> list[str]:
        """The ``podman run`` argument list. The job's variables go in ``env_file`` (mode 0600, removed once the
        container has started), so no value shows up in ``ps`` and none reaches the podman process itself."""
        check_image(job.image)
        cmd = [self.podman, "run", "--rm", "--quiet", "--name", name,
               "--label", f"colonies.processid={job.processid}",
               "--pull", "always" if job.pull_always else "missing",
               "--pids-limit", str(DEFAULT_PIDS_LIMIT), "--security-opt", "no-new-privileges"]  # fmt: skip
        if env_file:
            cmd += ["--env-file", env_file]
        if job.workdir:
            cmd += ["--workdir", job.workdir]
        for host, guest in job.mounts:
            cmd += ["--volume", f"{host}:{guest}"]
        if job.cpus > 0:
            cmd += ["--cpus", f"{job.cpus:g}"]
        cmd += ["--memory", f"{job.mem_bytes or default_memory()}b"]
        if job.gpus > 0:
            cmd += ["--device", "nvidia.com/gpu=all"]  # CDI; podman cannot pick a count
        cmd += ["--entrypoint", SHELL, "--", job.image, "-c", job.script]  # "--": the image is never an option
        return cmd

    def cli_environment(self, job: Job) -> dict[str, str]:
        """The podman process's own environment: the executor's, never the job's (a job could otherwise set
        ``LD_PRELOAD``, ``PATH`` or ``CONTAINER_HOST`` for a command that runs on the host)."""
        return {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}

    def start(self, job: Job, note: Callable[[str], None]) -> Run:
        check_image(job.image)
        name = f"colonies-{job.processid[:16]}-{uuid.uuid4().hex[:8]}"
        env_file = write_env_file(job.env)
        try:
            proc = subprocess.Popen(self.command(job, name, env_file), env=self.cli_environment(job),
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    start_new_session=True)  # fmt: skip
        except OSError as exc:
            os.unlink(env_file)
            raise StartFailed(f"could not run podman: {exc}") from None
        return PodmanRun(self, name, proc, env_file)

    def podman_quietly(self, *args: str) -> None:
        try:
            subprocess.run([self.podman, *args], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=30, check=False)  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("podman %s failed: %s", " ".join(args), exc)


# --- docker: the Docker Engine API through the docker SDK --------------------------------------------------------


class DockerRun(Run):
    def __init__(self, container: Any) -> None:
        self.container = container
        self.notes = []
        self._code: int | None = None
        self._ended = threading.Event()
        # Two followers, one per stream, so stdout and stderr stay apart.
        self.streams = {
            "stdout": container.logs(stream=True, follow=True, stdout=True, stderr=False),
            "stderr": container.logs(stream=True, follow=True, stdout=False, stderr=True),
        }
        threading.Thread(target=self._wait_forever, name=f"docker-wait-{container.short_id}", daemon=True).start()

    def _wait_forever(self) -> None:
        while True:
            try:
                reply = self.container.wait(timeout=60)
                self._code = int(reply.get("StatusCode", -1))
                break
            except Exception as exc:  # noqa: BLE001 - read timeout of a long run, or a daemon hiccup: ask again
                if "NotFound" in type(exc).__name__:
                    self._code = 137
                    break
                log.debug("waiting for container %s: %s", self.container.short_id, exc)
        try:
            self.container.reload()
            if self.container.attrs.get("State", {}).get("OOMKilled"):
                self.notes.append("OOMKilled (the memory limit from conditions.mem was exceeded)")
        except Exception as exc:  # noqa: BLE001 - only for the note
            log.debug("inspecting container %s: %s", self.container.short_id, exc)
        self._ended.set()

    def wait(self, timeout: float) -> int | None:
        return self._code if self._ended.wait(timeout) else None

    def kill(self) -> None:
        try:
            self.container.kill()
        except Exception as exc:  # noqa: BLE001 - already gone or stopped
            log.debug("kill %s: %s", self.container.short_id, exc)

    def close(self) -> None:
        try:  # the Go executor never removed finished containers
            self.container.remove(force=True)
        except Exception as exc:  # noqa: BLE001
            log.warning("could not remove container %s: %s", self.container.short_id, exc)


class DockerBackend(Backend):
    """Containers through the Docker Engine API (``DOCKER_HOST`` and friends, as the docker CLI)."""

    name = "docker"

    def __init__(self, client: Any = None, timeout: float = 30.0) -> None:
        self.client = client
        self.timeout = timeout

    def check(self) -> None:
        where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        if self.client is None:
            try:
                import docker  # type: ignore[import-untyped]
            except ImportError:
                raise BackendUnavailable("docker backend: the 'docker' Python package is missing "
                                         "(pip install docker)") from None  # fmt: skip
            try:
                self.client = docker.from_env(timeout=int(self.timeout))
            except Exception as exc:  # noqa: BLE001 - DockerException: no socket, bad DOCKER_HOST...
                raise BackendUnavailable(f"docker backend: no Docker daemon reachable at {where} ({exc}); start "
                                         "Docker, set DOCKER_HOST, or choose --backend podman or --backend local"
                                         ) from None  # fmt: skip
        try:
            self.client.ping()
        except Exception as exc:  # noqa: BLE001
            raise BackendUnavailable(f"docker backend: no Docker daemon reachable at {where} ({exc})") from None

    def resources(self) -> tuple[int, int]:
        try:  # the daemon may run elsewhere (DOCKER_HOST): ask it
            info = self.client.info()
            return int(info.get("NCPU") or 0), int(info.get("MemTotal") or 0)
        except Exception:  # noqa: BLE001
            return super().resources()

    def describe(self, job: Job) -> str:
        return f"docker container ({job.image})"

    def container_options(self, job: Job) -> dict[str, Any]:
        """Arguments of ``containers.create``."""
        check_image(job.image)
        options: dict[str, Any] = {
            "image": job.image, "entrypoint": [SHELL], "command": ["-c", job.script], "environment": job.env,
            "labels": {"colonies.processid": job.processid}, "detach": True,
            # Defaults a job cannot lift: bounded processes and memory, its own network namespace, no setuid gain.
            "pids_limit": DEFAULT_PIDS_LIMIT, "mem_limit": default_memory(), "network_mode": "bridge",
            "security_opt": ["no-new-privileges"],
        }  # fmt: skip
        if job.workdir:
            options["working_dir"] = job.workdir
        if job.mounts:
            options["volumes"] = {host: {"bind": guest, "mode": "rw"} for host, guest in job.mounts}
        if job.cpus > 0:
            options["nano_cpus"] = int(job.cpus * 1e9)
        if job.mem_bytes > 0:
            options["mem_limit"] = job.mem_bytes
        if job.gpus > 0:
            from docker.types import DeviceRequest  # type: ignore[import-untyped]

            options["device_requests"] = [DeviceRequest(count=job.gpus, capabilities=[["gpu"]])]
        return options

    def start(self, job: Job, note: Callable[[str], None]) -> Run:
        try:
            self._ensure_image(job, note)
            container = self.client.containers.create(**self.container_options(job))
            container.start()
        except StartFailed:
            raise
        except Exception as exc:  # noqa: BLE001 - APIError, ImageNotFound...
            raise StartFailed(f"could not start container: {exc}") from None
        return DockerRun(container)

    def _ensure_image(self, job: Job, note: Callable[[str], None]) -> None:
        """Pull only when missing (or asked to); one line each way instead of every pull status line."""
        if not job.pull_always:
            try:
                self.client.images.get(job.image)
                return
            except Exception as exc:  # noqa: BLE001 - ImageNotFound: pull it
                log.debug("image %s not present: %s", job.image, exc)
        note(f"pulling image {job.image}")
        try:
            image = self.client.images.pull(job.image)
        except Exception as exc:  # noqa: BLE001
            raise StartFailed(f"Failed to pull image {job.image}: {exc}") from None
        note(f"pulled image {job.image} ({getattr(image, 'id', '')[:19]})")


#: An image reference: ``[registry[:port]/]path[:tag][@digest]``; never starts with "-", so it cannot be read as an
#: option of the container CLI.
IMAGE_REFERENCE = re.compile(
    r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"
    r"(?:@sha256:[0-9a-f]{64})?$"
)
DEFAULT_PIDS_LIMIT = 4096


def check_image(image: str) -> None:
    if not IMAGE_REFERENCE.match(image) or len(image) > 512:
        raise StartFailed(f"invalid image reference {image[:80]!r}: expected [registry/]name[:tag][@sha256:digest]")


def default_memory() -> int:
    """Memory limit of a job whose spec names none: ``COLONIES_CONTAINER_DEFAULT_MEM`` bytes, default 4 GiB."""
    text = os.environ.get("COLONIES_CONTAINER_DEFAULT_MEM", "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else 4 * 1024**3


def write_env_file(env: dict[str, str]) -> str:
    """The job's variables as an env file (mode 0600) for ``--env-file``; values with a newline are refused."""
    fd, path = tempfile.mkstemp(prefix="colonies-env-", suffix=".env")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        for key, value in sorted(env.items()):
            if "\n" in value or "\r" in value:
                os.unlink(path)
                raise StartFailed(f"environment variable {key}: a value with a newline cannot be passed to podman")
            handle.write(f"{key}={value}\n")
    return path


BACKENDS: dict[str, Callable[[], Backend]] = {
    "local": LocalBackend, "podman": PodmanBackend, "docker": DockerBackend,
}  # fmt: skip


LOCAL_WARNING = ("backend local: jobs run UNSANDBOXED as host processes, as this executor's own user, with its "
                 "file and network access; images are NOT used. Anyone who may submit to this colony can run "
                 "commands on this machine")  # fmt: skip


def choose_backend(name: str) -> tuple[Backend, str]:
    """The backend called ``name`` (checked), or for "auto" docker if a daemon answers, else podman if installed.
    "auto" never falls back to running on the host: ``local`` must be chosen by name. Returns the backend and a
    warning to log at start ("" if none)."""
    if name != "auto":
        if name not in BACKENDS:
            raise BackendUnavailable(f"unknown backend {name!r}; choose one of auto, docker, podman, local")
        backend = BACKENDS[name]()
        backend.check()
        return backend, LOCAL_WARNING if name == "local" else ""
    reasons = []
    for candidate in ("docker", "podman"):
        backend = BACKENDS[candidate]()
        try:
            backend.check()
            return backend, ""
        except BackendUnavailable as exc:
            reasons.append(str(exc))
    raise BackendUnavailable("no container runtime: " + "; ".join(reasons) + ". To run jobs as unsandboxed host "
                             "processes instead, choose --backend local (COLONIES_CONTAINER_BACKEND=local)")

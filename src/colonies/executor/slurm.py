"""The HPC executor: serves ``execute`` by submitting one Slurm batch job per process.

    colonies-hpc-executor --type lumi-small-hpcexecutor --partition small --account project_465000 \\
        --runtime apptainer --image-dir /scratch/project/sif --work-dir /scratch/project/colonies

Each process becomes an sbatch script (kept, mode 0600, in ``<work-dir>/scripts``): ``conditions.nodes`` →
``--nodes``, ``processespernode`` → ``--ntasks-per-node``, ``cpu`` → ``--cpus-per-task`` (rounded up to whole
cores), ``mem`` → ``--mem`` (per node), ``walltime`` → ``--time``, ``gpu.count`` → ``--gres=gpu:N`` (or
``--gpus-per-node`` with ``--rocm``); partition, account, modules and extra directives come from the executor's
configuration. The command runs as ``srun <runtime> exec <image.sif> /bin/sh -c <cmd>`` with Apptainer or
Singularity (``docker://`` images pulled once into ``--image-dir``), or directly with ``--runtime none`` (the image
is then only recorded, with a warning in the process log).

The job's output files are tailed into the process log while it runs; its state comes from ``scontrol`` (then
``sacct``); cancelling the process ``scancel``s the job; a job Slurm ends (TIMEOUT, OUT_OF_MEMORY, NODE_FAIL,
CANCELLED) fails the process with that reason. ``SLURM-JOBID``, ``NODES`` and ``SLURM-OUTPUT`` are recorded as
process attributes, so an executor restarted with the same identity follows its jobs again instead of running them
twice (:mod:`.container`, ``resume_running``).
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..exceptions import ColoniesError
from ..models import parse_cpu, parse_memory
from .container import Capacity, build
from .container_backends import Backend, BackendUnavailable, Job, Run, StartFailed, check_image

log = logging.getLogger("colonies.executor.slurm")

#: Variables the job script unsets first, as the original HPC executor does: executor secrets stay out of jobs.
SECRET_PREFIXES = ("COLONIES_", "EXECUTOR_", "AWS_S3_")
#: Slurm states after which a job no longer runs, and what they mean for the process.
END_STATES = {
    "COMPLETED": "", "FAILED": "", "CANCELLED": "cancelled in Slurm", "TIMEOUT": "Slurm time limit reached",
    "OUT_OF_MEMORY": "out of memory (Slurm OUT_OF_MEMORY)", "NODE_FAIL": "a node of the job failed (NODE_FAIL)",
    "PREEMPTED": "preempted by Slurm", "BOOT_FAIL": "a node failed to boot (BOOT_FAIL)",
    "DEADLINE": "Slurm deadline reached", "SPECIAL_EXIT": "Slurm special exit",
}  # fmt: skip
#: Exit codes for ends that have none of their own (shell conventions: 124 timeout, 137 SIGKILL, 143 SIGTERM).
STATE_CODES = {"TIMEOUT": 124, "OUT_OF_MEMORY": 137, "CANCELLED": 143, "NODE_FAIL": 137, "PREEMPTED": 143,
               "BOOT_FAIL": 1, "DEADLINE": 124}  # fmt: skip


@dataclass
class SlurmConfig:
    """Where and how jobs are submitted; flags or the original executor's variables (see :func:`parse_args`)."""

    partition: str = ""
    account: str = ""
    #: ``module load`` lines before the command.
    modules: list[str] = field(default_factory=list)
    #: Extra sbatch options, each one ``--name=value`` (e.g. ``--qos=normal``).
    directives: list[str] = field(default_factory=list)
    #: "apptainer", "singularity", "none", or "auto" (the first of apptainer and singularity on PATH, else none).
    runtime: str = "auto"
    #: Where pulled images (.sif) are kept; shared with the compute nodes.
    image_dir: str = ""
    #: Scripts, output files and default working directories; shared with the compute nodes.
    work_dir: str = ""
    #: GPUs as ``--gpus-per-node`` and containers with ``--rocm`` (AMD), else ``--gres=gpu:N`` and ``--nv``.
    rocm: bool = False
    #: Leave out --cpus-per-task and --mem (small test clusters), as the original's EXECUTOR_DEVMODE.
    devmode: bool = False
    #: Seconds between state checks of a running job.
    poll: float = 1.0
    #: ``host:guest`` bind mounts for the container runtime.
    binds: list[str] = field(default_factory=list)


def walltime_text(seconds: int) -> str:
    """Slurm's ``--time`` as D-HH:MM:SS (Slurm rounds up to whole minutes)."""
    days, rest = divmod(max(int(seconds), 1), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{days}-{hours:02d}:{minutes:02d}:{secs:02d}"


def image_file(image: str) -> str:
    """The .sif file name of an image reference."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", image).strip("_") + ".sif"


def _quote_env(env: Mapping[str, str]) -> list[str]:
    return [f"export {key}={shlex.quote(value)}" for key, value in sorted(env.items())]


def sbatch_script(job: Job, config: SlurmConfig, runtime: str, paths: dict[str, str]) -> str:
    """The batch script for ``job`` (``paths``: stdout, stderr, workdir, sif)."""
    tasks = job.nodes * job.processes_per_node
    lines = ["#!/bin/sh", f"#SBATCH --job-name=colonies-{job.processid[:16]}",
             f"#SBATCH --output={paths['stdout']}", f"#SBATCH --error={paths['stderr']}",
             f"#SBATCH --nodes={job.nodes}", f"#SBATCH --ntasks-per-node={job.processes_per_node}"]  # fmt: skip
    if not config.devmode:
        if job.cpus > 0:
            lines.append(f"#SBATCH --cpus-per-task={math.ceil(job.cpus)}")
        if job.mem_bytes > 0:
            lines.append(f"#SBATCH --mem={math.ceil(job.mem_bytes / 1_000_000)}M")
    if job.walltime > 0:
        lines.append(f"#SBATCH --time={walltime_text(job.walltime)}")
    if job.gpus > 0:
        lines.append(f"#SBATCH --gpus-per-node={job.gpus}" if config.rocm else f"#SBATCH --gres=gpu:{job.gpus}")
    if config.partition:
        lines.append(f"#SBATCH --partition={config.partition}")
    if config.account:
        lines.append(f"#SBATCH --account={config.account}")
    lines += [f"#SBATCH {directive}" for directive in config.directives]
    lines.append("")
    lines.append("# The executor's own variables never reach the job.")
    lines.append('for name in $(env | sed -n "s/^\\(' + "\\|".join(SECRET_PREFIXES)
                 + '\\)\\([A-Za-z0-9_]*\\)=.*/\\1\\2/p"); do unset "$name"; done')  # fmt: skip
    lines += _quote_env(job.env)
    if runtime != "none":  # --cleanenv keeps only the runtime's own prefix: the job's variables must carry it
        prefix = "APPTAINERENV_" if runtime == "apptainer" else "SINGULARITYENV_"
        lines += _quote_env({prefix + key: value for key, value in job.env.items()})
    lines += [f"module load {shlex.quote(module)}" for module in config.modules]
    lines.append(f"mkdir -p {shlex.quote(paths['workdir'])} && cd {shlex.quote(paths['workdir'])} || exit 1")
    srun = ["srun", "--kill-on-bad-exit=1"] + (["--label"] if tasks > 1 else [])
    if runtime != "none":
        container = [runtime, "exec", "--cleanenv"]
        container += ["--rocm"] if config.rocm and job.gpus else ["--nv"] if job.gpus else []
        for bind in [*config.binds, *(f"{host}:{guest}" for host, guest in job.mounts)]:
            container += ["--bind", bind]
        container += ["--env", f"COLONIES_PROCESS_ID={job.processid}", paths["sif"]]
        srun += container
    lines.append(" ".join(map(shlex.quote, [*srun, "/bin/sh", "-c", job.script])))
    return "\n".join(lines) + "\n"


def _tail(path: Path, ended: threading.Event, stop: threading.Event, start_at_end: bool) -> Iterator[bytes]:
    """What is appended to ``path`` as it comes, until the job ``ended`` and the file is read to its end (or
    ``stop``: the executor detaches)."""
    handle = None
    try:
        while handle is None:
            try:
                handle = path.open("rb")
            except FileNotFoundError:
                if ended.is_set() or stop.is_set():
                    return
                time.sleep(0.2)
        if start_at_end:
            handle.seek(0, os.SEEK_END)
        while not stop.is_set():
            chunk = handle.read(65536)
            if chunk:
                yield chunk
                continue
            if ended.is_set():
                rest = handle.read()  # what was written between the last read and the end
                if rest:
                    yield rest
                return
            time.sleep(0.2)
    finally:
        if handle is not None:
            handle.close()


class SlurmRun(Run):
    """A batch job: its output files tailed, its state polled in a thread."""

    def __init__(self, backend: SlurmBackend, jobid: str, paths: dict[str, str], reattached: bool = False) -> None:
        self.backend = backend
        self.jobid = jobid
        self.paths = paths
        self.notes: list[str] = []
        self.attributes = {"SLURM-JOBID": jobid, "SLURM-OUTPUT": paths["stdout"]}
        self._ended = threading.Event()
        self._stop = threading.Event()
        self._code: int | None = None
        self.streams = {name: _tail(Path(paths[name]), self._ended, self._stop, reattached)
                        for name in ("stdout", "stderr")}  # fmt: skip
        threading.Thread(target=self._watch, name=f"slurm-{jobid}", daemon=True).start()

    def _watch(self) -> None:
        missing = 0
        while not self._stop.is_set():
            info = self.backend.job_info(self.jobid)
            if info is None:
                missing += 1
                if missing >= 3:  # neither scontrol nor sacct knows it (any more)
                    self.notes.append(f"Slurm job {self.jobid} vanished without a final state")
                    self._finish(1)
                    return
            else:
                missing = 0
                nodes = info.get("NodeList", "")
                if nodes and nodes != "(null)" and "NODES" not in self.attributes:
                    self.attributes["NODES"] = nodes
                state = info.get("JobState", "").split()[0] if info.get("JobState") else ""
                if state in END_STATES:
                    self._finish(self._exit_code(state, info))
                    return
            self._stop.wait(self.backend.config.poll)

    def _exit_code(self, state: str, info: Mapping[str, str]) -> int:
        code, _, signal = (info.get("ExitCode") or "0:0").partition(":")
        exit_code = int(code) if code.isdigit() else 1
        if signal.isdigit() and int(signal) and not exit_code:
            exit_code = 128 + int(signal)
        reason = END_STATES[state]
        if reason:
            detail = info.get("Reason", "")
            self.notes.append(f"Slurm job {self.jobid}: {state}, {reason}"
                              + (f" ({detail})" if detail and detail not in ("None", state) else ""))  # fmt: skip
            return exit_code or STATE_CODES.get(state, 1)
        if state == "FAILED" and not exit_code:
            exit_code = 1
        return exit_code

    def _finish(self, code: int) -> None:
        self._code = code
        self._ended.set()

    def wait(self, timeout: float) -> int | None:
        return self._code if self._ended.wait(timeout) else None

    def kill(self) -> None:
        self.backend.slurm("scancel", self.jobid)

    def close(self) -> None:
        self._stop.set()
        for name in ("stdout", "stderr"):  # the process log has them now
            try:
                os.unlink(self.paths[name])
            except OSError:
                pass

    def detach(self) -> None:
        self._stop.set()


class SlurmBackend(Backend):
    """Batch jobs through sbatch / scontrol / sacct / scancel on a Slurm login node."""

    name = "slurm"
    needs_image = True
    enforces_limits = True
    detachable = True
    #: Slurm kills at the time limit itself, at its own granularity (its checks run every 30 s or so), and says so
    #: (TIMEOUT): the executor's own kill waits this much longer.
    walltime_slack = 150.0

    def __init__(self, config: SlurmConfig | None = None) -> None:
        self.config = config or SlurmConfig()
        self.runtime = "none"
        self._pull_lock = threading.Lock()

    # -- set-up -----------------------------------------------------------------------------------------------------

    def check(self) -> None:
        for command in ("sbatch", "scontrol", "scancel", "srun"):
            if not shutil.which(command):
                raise BackendUnavailable(f"slurm backend: {command!r} is not on PATH; run the HPC executor on a "
                                         "Slurm login node")  # fmt: skip
        try:
            self.slurm("scontrol", "ping", check=True)
        except StartFailed as exc:
            raise BackendUnavailable(f"slurm backend: the Slurm controller does not answer ({exc})") from None
        runtime = self.config.runtime
        if runtime == "auto":
            runtime = next((name for name in ("apptainer", "singularity") if shutil.which(name)), "none")
        elif runtime != "none" and not shutil.which(runtime):
            raise BackendUnavailable(f"slurm backend: container runtime {runtime!r} is not on PATH; choose "
                                     "--runtime none to run commands without a container")  # fmt: skip
        if runtime not in ("apptainer", "singularity", "none"):
            raise BackendUnavailable(f"slurm backend: unknown runtime {runtime!r}: apptainer, singularity or none")
        self.runtime = runtime
        work = Path(self.config.work_dir or Path.home() / ".colonies-hpc").resolve()
        self.config.work_dir = str(work)
        self.config.image_dir = str(Path(self.config.image_dir or work / "images").resolve())
        for sub in ("scripts", "logs", "jobs"):
            (work / sub).mkdir(parents=True, exist_ok=True, mode=0o700)

    def slurm(self, command: str, *args: str, check: bool = False, timeout: float = 60) -> str:
        """Run a Slurm command with the executor's environment minus its secrets; its stdout."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(SECRET_PREFIXES)}
        try:
            done = subprocess.run([command, *args], capture_output=True, text=True, timeout=timeout, env=env,
                                  stdin=subprocess.DEVNULL, check=False)  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise StartFailed(f"{command} failed: {exc}") from None
        if check and done.returncode != 0:
            raise StartFailed(f"{command} {' '.join(args[:1])}: {(done.stderr or done.stdout).strip()[:500]}")
        return done.stdout

    def resources(self) -> tuple[int, int]:
        """(CPUs, memory) of the largest node of the partition, from sinfo."""
        nodes = self.partition_nodes()
        return (max((c for _, c, _ in nodes), default=0), max((m for _, _, m in nodes), default=0))

    def partition_nodes(self) -> list[tuple[int, int, int]]:
        """(node count, CPUs per node, memory bytes per node) per sinfo line of the partition."""
        args = ["-h", "-o", "%D %c %m"] + (["-p", self.config.partition] if self.config.partition else [])
        try:
            out = self.slurm("sinfo", *args)
        except StartFailed:
            return []
        rows = []
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0].isdigit():
                cpus = int(re.sub(r"\D.*", "", parts[1]) or 0)
                mem = int(re.sub(r"\D.*", "", parts[2]) or 0) * 1024 * 1024
                rows.append((int(parts[0]), cpus, mem))
        return rows

    def fs_path(self, fs_dir: str, mount: str) -> str | None:
        """Bound at ``mount`` by the container runtime; without one the job sees the executor's fs directory at
        its own path (it must be on a filesystem the compute nodes share, as the work directory is)."""
        return mount if self.runtime != "none" else fs_dir

    def describe(self, job: Job) -> str:
        where = f"partition {self.config.partition}" if self.config.partition else "the default partition"
        runtime = f"{self.runtime} ({job.image})" if self.runtime != "none" else "no container runtime"
        return f"Slurm batch job on {where}, {runtime}"

    # -- jobs -------------------------------------------------------------------------------------------------------

    def paths(self, job: Job) -> dict[str, str]:
        work = Path(self.config.work_dir)
        return {"stdout": str(work / "logs" / f"{job.processid}.out"),
                "stderr": str(work / "logs" / f"{job.processid}.err"),
                "script": str(work / "scripts" / f"{job.processid}.sh"),
                "workdir": job.workdir or str(work / "jobs" / job.processid),
                "sif": str(Path(self.config.image_dir) / image_file(job.image))}  # fmt: skip

    def start(self, job: Job, note: Callable[[str], None]) -> Run:
        check_image(job.image)
        paths = self.paths(job)
        if self.runtime == "none":
            note(f"WARNING no container runtime on this cluster: the command runs on the compute node directly; "
                 f"image {job.image} is not used")  # fmt: skip
        else:
            self._pull(job, paths["sif"], note)
        script = sbatch_script(job, self.config, self.runtime, paths)
        fd = os.open(paths["script"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(script)
        for name in ("stdout", "stderr"):  # a resubmitted process starts with empty files
            with open(paths[name], "wb"):
                pass
        out = self.slurm("sbatch", "--parsable", paths["script"], check=True)
        jobid = out.strip().split(";")[0]
        if not jobid.isdigit():
            raise StartFailed(f"sbatch answered {out.strip()[:200]!r}, not a job id")
        note(f"Slurm job {jobid} submitted ({job.nodes} node(s) x {job.processes_per_node} task(s)"
             + (f", time limit {walltime_text(job.walltime)}" if job.walltime else "") + ")")  # fmt: skip
        return SlurmRun(self, jobid, paths)

    def _pull(self, job: Job, sif: str, note: Callable[[str], None]) -> None:
        """docker://image → <image-dir>/<name>.sif, once (again with rebuild-image)."""
        with self._pull_lock:
            if os.path.exists(sif) and not job.pull_always:
                return
            note(f"pulling image {job.image} into {sif}")
            Path(sif).parent.mkdir(parents=True, exist_ok=True)
            done = subprocess.run([self.runtime, "pull", "--force", sif, f"docker://{job.image}"],
                                  capture_output=True, text=True, timeout=3600, check=False,
                                  stdin=subprocess.DEVNULL)  # fmt: skip
            if done.returncode != 0:
                raise StartFailed(f"Failed to pull image {job.image}: {(done.stderr or done.stdout).strip()[-500:]}")

    def job_info(self, jobid: str) -> dict[str, str] | None:
        """scontrol's view of a job (key=value fields), else sacct's (State, ExitCode), else None."""
        out = self.slurm("scontrol", "show", "job", "-o", jobid)
        if out.strip():
            return dict(re.findall(r"(\w+)=(\S*)", out))
        try:
            acct = self.slurm("sacct", "-n", "-P", "-X", "-j", jobid, "-o", "State,ExitCode,NodeList")
        except StartFailed:
            return None
        for line in acct.splitlines():
            state, code, nodes = (line.split("|") + ["", "", ""])[:3]
            if state:
                return {"JobState": state.split()[0], "ExitCode": code, "NodeList": nodes}
        return None

    def reattach(self, job: Job, attributes: Mapping[str, str], note: Callable[[str], None]) -> Run | None:
        jobid = attributes.get("SLURM-JOBID", "")
        if not jobid.isdigit() or self.job_info(jobid) is None:
            return None
        paths = self.paths(job)
        note(f"Slurm job {jobid}: followed again; output written while the executor was away is in "
             f"{paths['stdout']} (not repeated here)")  # fmt: skip
        run = SlurmRun(self, jobid, paths, reattached=True)
        if attributes.get("NODES"):
            run.attributes["NODES"] = attributes["NODES"]
        return run


# --- the command ----------------------------------------------------------------------------------------------------


def _env_list(name: str) -> list[str]:
    return [item for item in re.split(r"[\s,]+", os.environ.get(name, "")) if item]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ
    parser = argparse.ArgumentParser(prog="colonies-hpc-executor",
                                     description="Serve the ColonyOS function 'execute' as Slurm batch jobs.")
    parser.add_argument("--type", default="", help="executor type; with COLONIES_COLONY_PRVKEY it registers itself")
    parser.add_argument("--name", default="", help="executor name (self-registration default: <type>-<random>)")
    parser.add_argument("--register", choices=["auto", "self", "key"], default="auto",
                        help="self: register with COLONIES_COLONY_PRVKEY; key: use COLONIES_PRVKEY (needed to "
                             "follow jobs again after a restart)")  # fmt: skip
    parser.add_argument("--max-jobs", type=int, default=int(env.get("EXECUTOR_MAX_JOBS") or 50),
                        help="Slurm jobs in flight at once (env EXECUTOR_MAX_JOBS, default 50)")  # fmt: skip
    parser.add_argument("--location", default="", help="location name to register with")
    parser.add_argument("--partition", default=env.get("SLURM_PARTITION", ""), help="env SLURM_PARTITION")
    parser.add_argument("--account", default=env.get("SLURM_ACCOUNT", ""), help="env SLURM_ACCOUNT")
    parser.add_argument("--module", action="append", default=_env_list("SLURM_MODULE"),
                        help="module to load before the command (repeatable; env SLURM_MODULE)")  # fmt: skip
    parser.add_argument("--sbatch-option", action="append", default=[], metavar="--NAME=VALUE",
                        help="extra sbatch directive, e.g. --sbatch-option=--qos=normal (repeatable)")  # fmt: skip
    parser.add_argument("--runtime", choices=["auto", "apptainer", "singularity", "none"],
                        default=env.get("EXECUTOR_CONTAINER_RUNTIME", "auto"),
                        help="container runtime on the compute nodes (default: apptainer or singularity if found)")
    parser.add_argument("--image-dir", default=env.get("EXECUTOR_IMAGE_DIR", ""), help="where .sif images go")
    parser.add_argument("--work-dir", default=env.get("EXECUTOR_HOME_DIR", ""),
                        help="scripts, logs and job directories, shared with the compute nodes (env "
                             "EXECUTOR_HOME_DIR, default ~/.colonies-hpc)")  # fmt: skip
    parser.add_argument("--bind", action="append", default=[], metavar="HOST:GUEST", help="container bind mount")
    parser.add_argument("--fs-dir", default=env.get("EXECUTOR_FS_DIR", ""),
                        help="ColonyFS files of the jobs, bound at the spec's fs.mount; on a filesystem the compute "
                             "nodes share (env EXECUTOR_FS_DIR, default <work-dir>/cfs)")  # fmt: skip
    parser.add_argument("--rocm", action="store_true", default=env.get("EXECUTOR_ROCM", "") == "true",
                        help="AMD GPUs: --gpus-per-node and --rocm (env EXECUTOR_ROCM=true)")  # fmt: skip
    parser.add_argument("--devmode", action="store_true", default=env.get("EXECUTOR_DEVMODE", "") == "true",
                        help="leave out --cpus-per-task and --mem (env EXECUTOR_DEVMODE=true)")  # fmt: skip
    parser.add_argument("--poll", type=float, default=1.0, help="seconds between job state checks")
    parser.add_argument("--nodes", type=int, default=0, help="most nodes a job may ask for (default: sinfo)")
    parser.add_argument("--processes-per-node", type=int, default=0,
                        help="most tasks per node (default: the CPUs of a node)")  # fmt: skip
    parser.add_argument("--cpu", default=env.get("EXECUTOR_HW_CPU", ""), help="most CPU per task (default: sinfo)")
    parser.add_argument("--mem", default=env.get("EXECUTOR_HW_MEM", ""), help="most memory per node (default: sinfo)")
    parser.add_argument("--gpus", type=int, default=int(env.get("EXECUTOR_HW_GPU_COUNT") or 0),
                        help="most GPUs per node (env EXECUTOR_HW_GPU_COUNT, default 0)")  # fmt: skip
    parser.add_argument("--log-level", default=env.get("COLONIES_LOG_LEVEL", "INFO"))
    return parser.parse_args(argv)


def capacity_of(backend: SlurmBackend, options: argparse.Namespace) -> Capacity:
    """Flags win; else what sinfo says about the partition."""
    rows = backend.partition_nodes()
    nodes = options.nodes or sum(count for count, _, _ in rows) or 1
    cpus, mem = backend.resources()
    return Capacity(nodes=nodes, cpu_millicores=parse_cpu(options.cpu) if options.cpu else cpus * 1000,
                    mem_bytes=parse_memory(options.mem) if options.mem else mem, gpus=options.gpus,
                    processes_per_node=options.processes_per_node or max(cpus, 1))  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code (2: configuration error)."""
    options = parse_args(argv)
    logging.basicConfig(level=options.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if logging.getLogger().level > logging.DEBUG:
        logging.getLogger("httpx").setLevel(logging.WARNING)
    for directive in options.sbatch_option:
        if not directive.startswith("--") or "\n" in directive:
            print(f"error: --sbatch-option {directive!r}: give one sbatch option such as --qos=normal",
                  file=sys.stderr)  # fmt: skip
            return 2
    config = SlurmConfig(partition=options.partition, account=options.account, modules=options.module,
                         directives=options.sbatch_option, runtime=options.runtime, image_dir=options.image_dir,
                         work_dir=options.work_dir, rocm=options.rocm, devmode=options.devmode, poll=options.poll,
                         binds=options.bind)  # fmt: skip
    try:
        backend = SlurmBackend(config)
        backend.check()
        capacity = capacity_of(backend, options)
        extra = {"locationname": options.location} if options.location else {}
        executor = build(backend=backend, executortype=options.type, executorname=options.name,
                         register=options.register, concurrency=max(options.max_jobs, 1), capacity=capacity,
                         fs_dir=options.fs_dir or str(Path(config.work_dir) / "cfs"), **extra)  # fmt: skip
    except (BackendUnavailable, ValueError, ColoniesError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    log.info("HPC executor: type %s, %s, runtime %s, up to %d jobs, work dir %s", executor.executortype,
             f"partition {config.partition}" if config.partition else "default partition", backend.runtime,
             executor.concurrency, config.work_dir)  # fmt: skip
    try:
        executor.run()
    except ColoniesError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


__all__ = ["SlurmBackend", "SlurmConfig", "SlurmRun", "main", "sbatch_script", "walltime_text"]

if __name__ == "__main__":
    sys.exit(main())

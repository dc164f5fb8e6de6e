"""The HPC executor against a REAL Slurm (munged + slurmctld + slurmd on localhost, tests/slurm_cluster.py): batch
scripts from conditions, logs while the job runs, exit codes, cancel → scancel, Slurm's own time limit, a restart
that follows the same job, and the seed's cross-platform workflow on two HPC executor types. Never skipped: without
Slurm the fixture fails and says what to install."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Colony, Identity, Server, create_colony, start_server
from sched_helpers import wait_for
from slurm_cluster import SlurmCluster, slurm_cluster
from test_executor import process_logs

from colonies.executor.container import Capacity, build
from colonies.executor.container_backends import Job
from colonies.executor.slurm import SlurmBackend, SlurmConfig, sbatch_script, walltime_text

pytestmark = pytest.mark.timeout(180)

RUNNING, SUCCESS, FAILED, CANCELLED = 1, 2, 3, 4
GIB = 1024**3
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One SQLite server: what is tested here is the executor and Slurm, not the database."""
    srv = start_server(str(tmp_path_factory.mktemp("server")), backend="sqlite")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlurmCluster]:
    with slurm_cluster(tmp_path_factory.mktemp("slurm")) as running:
        yield running


def hpc_executor(colony: Colony, ident: Identity, work: Path, **config: Any) -> Any:
    backend = SlurmBackend(SlurmConfig(runtime="none", work_dir=str(work), poll=0.2, **config))
    backend.check()
    return build(backend=backend, register="key", concurrency=8, host="127.0.0.1", port=colony.server.port,
                 colonyname=colony.name, prvkey=ident.prvkey, colony_prvkey=None, assign_timeout=5,
                 revoke_poll=0.5,
                 capacity=Capacity(nodes=1, cpu_millicores=2000, mem_bytes=2 * GIB, processes_per_node=2))  # fmt: skip


def execute_spec(colony: Colony, cmd: str, executortype: str, **conditions: Any) -> dict[str, Any]:
    return {"funcname": "execute", "kwargs": {"cmd": cmd, "docker-image": "ubuntu:20.04"}, "maxexectime": -1,
            "maxretries": 0, "conditions": {"colonyname": colony.name, "executortype": executortype,
                                            **conditions}}  # fmt: skip


def submit(colony: Colony, spec: dict[str, Any]) -> str:
    return str(colony.call("submitfuncspecmsg", {"spec": spec}, colony.executor)["processid"])


def closed(colony: Colony, pid: str, timeout: float = 60) -> dict[str, Any]:
    return wait_for(lambda: colony.get(pid), lambda p: p["state"] in (SUCCESS, FAILED, CANCELLED), timeout,
                    what=f"{pid[:12]} closed")  # fmt: skip


def env_attributes(process: dict[str, Any]) -> dict[str, str]:
    return {a["key"]: a["value"] for a in process.get("attributes") or [] if a["attributetype"] == 3}


def slurm_jobs_of(cluster: SlurmCluster, pid: str) -> list[str]:
    out = cluster.run("scontrol", "show", "job", "-o")
    return [line.split()[0] for line in out.splitlines() if f"JobName=colonies-{pid[:16]}" in line]


@pytest.fixture
def hpc(server: Server, cluster: SlurmCluster, tmp_path: Path) -> Iterator[tuple[Colony, Identity, Path]]:
    """A colony with one HPC executor of type 'slurm-hpc' serving in a thread."""
    colony = create_colony(server)
    ident = colony.add_executor("hpc-01", executortype="slurm-hpc")
    executor = hpc_executor(colony, ident, tmp_path)
    executor.run_in_thread()
    assert executor.wait_ready(20)
    try:
        yield colony, ident, tmp_path
    finally:
        executor.stop()
        executor.join(30)


# -- the batch script ------------------------------------------------------------------------------------------------


def test_conditions_become_sbatch_directives_and_the_job_gets_a_clean_environment() -> None:
    job = Job(processid="a" * 64, image="python:3.12", script="python -c 'print(1)'", env={"X": "it's"},
              cpus=1.5, mem_bytes=2 * GIB, gpus=2, nodes=2, processes_per_node=4, walltime=3700)  # fmt: skip
    config = SlurmConfig(partition="small", account="project_465000", modules=["singularity", "cuda/12"],
                         directives=["--qos=normal"], binds=["/scratch:/data"])  # fmt: skip
    paths = {"stdout": "/w/o", "stderr": "/w/e", "workdir": "/w/j", "sif": "/img/python_3.12.sif"}
    script = sbatch_script(job, config, "apptainer", paths)
    for line in ("#SBATCH --nodes=2", "#SBATCH --ntasks-per-node=4", "#SBATCH --cpus-per-task=2",
                 "#SBATCH --mem=2148M", "#SBATCH --time=0-01:01:40", "#SBATCH --gres=gpu:2",
                 "#SBATCH --partition=small", "#SBATCH --account=project_465000", "#SBATCH --qos=normal",
                 "module load singularity", "module load cuda/12", "export X='it'\"'\"'s'"):  # fmt: skip
        assert line in script.splitlines(), line
    last = script.splitlines()[-1]
    assert last.startswith("srun --kill-on-bad-exit=1 --label apptainer exec --cleanenv --nv --bind /scratch:/data")
    assert "/img/python_3.12.sif /bin/sh -c 'python -c '\"'\"'print(1)'\"'\"''" in last
    assert "unset" in script and "COLONIES_" in script and "AWS_S3_" in script
    rocm = sbatch_script(job, SlurmConfig(rocm=True, devmode=True), "none", paths)
    assert "#SBATCH --gpus-per-node=2" in rocm and "--cpus-per-task" not in rocm and "--mem" not in rocm
    assert rocm.splitlines()[-1].startswith("srun --kill-on-bad-exit=1 --label /bin/sh -c")
    assert walltime_text(59) == "0-00:00:59" and walltime_text(90000) == "1-01:00:00"


# -- jobs on the real cluster --------------------------------------------------------------------------------------


def test_a_job_runs_on_slurm_with_its_output_logged_and_where_it_ran_recorded(
        hpc: tuple[Colony, Identity, Path], cluster: SlurmCluster) -> None:  # fmt: skip
    colony, _, work = hpc
    cmd = ("echo hello from task $SLURM_PROCID of $COLONIES_PROCESS_ID; echo to stderr >&2; "
           "echo leaked=$(env | grep -c -e ^COLONIES_ -e ^EXECUTOR_ -e ^AWS_S3_ | tr -d ' ')")
    os.environ["EXECUTOR_SECRET_FOR_TEST"] = "must not reach the job"  # the executor's environment
    pid = submit(colony, execute_spec(colony, cmd, "slurm-hpc", nodes=1, processespernode=2, cpu="500m",
                                      mem="100Mi", walltime=120))  # fmt: skip
    done = closed(colony, pid)
    assert done["state"] == SUCCESS, done["errors"]
    text = "".join(process_logs(colony, pid))
    assert f"0: hello from task 0 of {pid}" in text and f"1: hello from task 1 of {pid}" in text
    os.environ.pop("EXECUTOR_SECRET_FOR_TEST", None)
    assert "to stderr" in text and "Slurm job" in text
    # Only COLONIES_PROCESS_ID: the executor's COLONIES_*/EXECUTOR_*/AWS_S3_* variables never reach the job.
    assert re.findall(r"leaked=(\d+)", text) == ["1", "1"], text
    attrs = env_attributes(done)
    assert attrs["SLURM-JOBID"].isdigit() and attrs["NODES"] == cluster.node
    assert done["out"][0]["exitcode"] == 0
    script = (work / "scripts" / f"{pid}.sh").read_text()
    assert "#SBATCH --ntasks-per-node=2" in script and "#SBATCH --mem=105M" in script
    assert oct((work / "scripts" / f"{pid}.sh").stat().st_mode & 0o777) == "0o600"


def test_a_non_zero_exit_fails_the_process_with_the_code(hpc: tuple[Colony, Identity, Path]) -> None:
    colony, _, _ = hpc
    pid = submit(colony, execute_spec(colony, "echo about to fail; exit 3", "slurm-hpc"))
    done = closed(colony, pid)
    assert done["state"] == FAILED
    assert "code 3" in done["errors"][0], done["errors"]
    assert "about to fail" in "".join(process_logs(colony, pid))


def test_a_condition_slurm_cannot_meet_here_is_refused_before_sbatch(
        hpc: tuple[Colony, Identity, Path], cluster: SlurmCluster) -> None:  # fmt: skip
    colony, _, _ = hpc
    pid = submit(colony, execute_spec(colony, "true", "slurm-hpc", nodes=4))
    done = closed(colony, pid)
    assert done["state"] == FAILED and "conditions.nodes=4 cannot be met" in done["errors"][0]
    bad = submit(colony, {**execute_spec(colony, "true", "slurm-hpc", walltime=10), "maxexectime": 60})
    assert "walltime=10 s must be at least maxexectime=60 s" in closed(colony, bad)["errors"][0]
    assert slurm_jobs_of(cluster, pid) == [] and slurm_jobs_of(cluster, bad) == []


def test_cancelling_the_process_scancels_the_job(hpc: tuple[Colony, Identity, Path], cluster: SlurmCluster) -> None:
    colony, _, _ = hpc
    pid = submit(colony, execute_spec(colony, "echo started; sleep 120", "slurm-hpc"))
    jobid = wait_for(lambda: env_attributes(colony.get(pid)).get("SLURM-JOBID"), bool, 30, what="job id")
    wait_for(lambda: cluster.run("squeue", "-h", "-j", jobid, "-o", "%T").strip(), lambda s: s == "RUNNING", 30,
             what="job running")  # fmt: skip
    colony.call("cancelprocessmsg", {"processid": pid}, colony.executor)
    state = wait_for(lambda: cluster.run("scontrol", "show", "job", "-o", jobid),
                     lambda out: "JobState=CANCELLED" in out, 20, what="job cancelled in Slurm")  # fmt: skip
    assert "JobState=CANCELLED" in state
    assert colony.get(pid)["state"] == CANCELLED


def test_a_restarted_executor_follows_its_running_job_instead_of_submitting_it_again(
        server: Server, cluster: SlurmCluster, tmp_path: Path) -> None:  # fmt: skip
    colony = create_colony(server)
    ident = colony.add_executor("hpc-restart", executortype="slurm-restart")
    first = hpc_executor(colony, ident, tmp_path)
    first.run_in_thread()
    assert first.wait_ready(20)
    pid = submit(colony, execute_spec(colony, "echo first half; sleep 6; echo second half", "slurm-restart"))
    jobid = wait_for(lambda: env_attributes(colony.get(pid)).get("SLURM-JOBID"), bool, 30, what="job id")
    wait_for(lambda: re.search(r"^first half$", "".join(process_logs(colony, pid)), re.M), bool, 30,
             what="the job's first output")  # fmt: skip
    stopped_at = time.monotonic()
    first.stop()
    assert first.join(30)
    assert time.monotonic() - stopped_at < 10  # detached at once, no grace period spent on a job that goes on
    assert colony.get(pid)["state"] == RUNNING
    state = cluster.run("scontrol", "show", "job", "-o", jobid)
    assert "JobState=RUNNING" in state, re.findall(r"(?:JobState|Reason|ExitCode|RunTime)=\S*", state)

    second = hpc_executor(colony, ident, tmp_path)
    second.run_in_thread()
    assert second.wait_ready(20)
    try:
        done = closed(colony, pid)
    finally:
        second.stop()
        second.join(30)
    assert done["state"] == SUCCESS, done["errors"]
    assert slurm_jobs_of(cluster, pid) == [f"JobId={jobid}"]  # one job, not two
    text = "".join(process_logs(colony, pid))
    assert "followed again" in text and "second half" in text


@pytest.mark.slow
def test_slurm_ends_a_job_at_its_time_limit_and_the_process_says_so(hpc: tuple[Colony, Identity, Path]) -> None:
    """Slow (Slurm enforces --time in whole minutes, checked every 30 s or so): about 60–100 s."""
    colony, _, _ = hpc
    # No maxexectime: Slurm, not the server, decides when the job has had its time.
    pid = submit(colony, execute_spec(colony, "echo running; sleep 600", "slurm-hpc", walltime=60))
    done = closed(colony, pid, timeout=170)
    assert done["state"] == FAILED
    assert "TIMEOUT" in done["errors"][0] and "time limit" in done["errors"][0], done["errors"]


# -- the command ---------------------------------------------------------------------------------------------------


def test_the_command_explains_a_missing_slurm_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path), "COLONIES_COLONY_NAME": "dev", "COLONIES_PRVKEY": "1" * 64}
    done = subprocess.run([sys.executable, "-m", "colonies.executor.slurm", "--type", "t"], env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: slurm backend: 'sbatch' is not on PATH")
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_the_seed_workflow_runs_its_hpc_nodes_on_slurm(server: Server, cluster: SlurmCluster, tmp_path: Path) -> None:
    """examples/cross-platform/run.py --hpc slurm: lumi-small and leonardo-booster are HPC executors submitting to
    this Slurm; ice (Kubernetes in the seed) runs on the local backend."""
    colony = create_colony(server)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
    env.update({"COLONIES_SERVER_HOST": "127.0.0.1", "COLONIES_SERVER_PORT": str(server.port),
                "COLONIES_SERVER_TLS": "false", "COLONIES_COLONY_NAME": colony.name,
                "COLONIES_COLONY_PRVKEY": colony.owner.prvkey, "COLONIES_PRVKEY": colony.executor.prvkey,
                "EXECUTOR_HOME_DIR": str(tmp_path / "hpc"), "MPLBACKEND": "Agg"})  # fmt: skip
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "cross-platform" / "run.py"), "--sleep", "1",
                           "--start-executors", "--hpc", "slurm", "--timeout", "150"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=170)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "OK: all 11 nodes succeeded" in done.stdout
    graph = re.search(r"submitted workflow ([0-9a-f]{64})", done.stdout)
    assert graph is not None
    processes = colony.call("getprocessesmsg", {"colonyname": colony.name, "processgraphid": graph.group(1),
                                                "state": -1, "count": 20}, colony.executor)  # fmt: skip
    on_slurm = {p["spec"]["nodename"] for p in processes if "SLURM-JOBID" in env_attributes(p)}
    assert on_slurm == {f"lumi-{i}" for i in range(8)} | {"leonardo-0"}


def test_an_extra_sbatch_option_cannot_smuggle_lines_into_the_script(tmp_path: Path) -> None:
    """--sbatch-option is one option: a newline (a second directive or a shell line) is refused before anything runs."""
    env = {**os.environ, "COLONIES_COLONY_NAME": "dev", "COLONIES_PRVKEY": "1" * 64}
    for bad in ("--qos=normal\nrm -rf ~", "qos=normal"):
        done = subprocess.run([sys.executable, "-m", "colonies.executor.slurm", "--sbatch-option", bad], env=env,
                              capture_output=True, text=True, timeout=60)  # fmt: skip
        assert done.returncode == 2 and done.stderr.startswith("error: --sbatch-option"), done.stderr

"""A real one-node Slurm cluster on localhost for tests: munged, slurmctld and slurmd (Debian's packages, which
.ci/run installs) started in a temporary directory with their own ports, key and state, and stopped afterwards.

    with slurm_cluster(tmp_path) as cluster:   # sets SLURM_CONF for this process and its children
        subprocess.run(["sbatch", ...])
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "srun", "scontrol", "scancel", "sinfo")


@dataclass
class SlurmCluster:
    conf: Path
    node: str
    cpus: int
    base: Path

    def env(self) -> dict[str, str]:
        return {"SLURM_CONF": str(self.conf)}

    def run(self, *args: str) -> str:
        return subprocess.run(list(args), capture_output=True, text=True, timeout=30, check=False,
                              env={**os.environ, **self.env()}).stdout  # fmt: skip

    def jobs(self) -> list[str]:
        """Ids of the jobs Slurm still knows (running or recently ended)."""
        out = self.run("scontrol", "show", "job", "-o")
        return [part.split("=", 1)[1] for line in out.splitlines() for part in line.split()[:1]
                if part.startswith("JobId=")]  # fmt: skip


def missing_commands() -> list[str]:
    found = [name for name in DAEMONS if shutil.which(name) or os.path.exists(f"/usr/sbin/{name}")]
    return [name for name in DAEMONS if name not in found]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _binary(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


@contextmanager
def slurm_cluster(base: Path, cpus: int | None = None, memory_mb: int = 4000) -> Iterator[SlurmCluster]:
    """Start the cluster (fails with a clear message when Slurm or munge is not installed)."""
    missing = missing_commands()
    if missing:
        raise RuntimeError(f"Slurm test cluster: {', '.join(missing)} not installed (apt-get install slurmctld "
                           "slurmd slurm-client munge; .ci/run does)")  # fmt: skip
    base.mkdir(parents=True, exist_ok=True)
    for sub in ("munge", "ctld", "d", "log"):
        (base / sub).mkdir(exist_ok=True)
    key = base / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o600)
    socket_path = base / "munge" / "munge.socket"
    node = socket.gethostname().split(".")[0]
    cpus = cpus or os.cpu_count() or 2
    user = getpass.getuser()
    conf = base / "slurm.conf"
    conf.write_text(f"""ClusterName=colonies-test
SlurmctldHost={node}(127.0.0.1)
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
SlurmUser={user}
SlurmdUser={user}
AuthType=auth/munge
AuthInfo=socket={socket_path}
CredType=cred/munge
StateSaveLocation={base / "ctld"}
SlurmdSpoolDir={base / "d"}
SlurmctldPidFile={base / "slurmctld.pid"}
SlurmdPidFile={base / "slurmd.pid"}
SlurmctldLogFile={base / "log" / "slurmctld.log"}
SlurmdLogFile={base / "log" / "slurmd.log"}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
SlurmdParameters=config_overrides
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MinJobAge=600
KillWait=2
OverTimeLimit=0
InactiveLimit=0
Waittime=0
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName={node} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
""")
    env = {**os.environ, "SLURM_CONF": str(conf)}
    procs: list[subprocess.Popen[bytes]] = []

    def start(*argv: str) -> None:
        log = open(base / "log" / f"{Path(argv[0]).name}.out", "wb")  # noqa: SIM115 - closed with the process
        procs.append(subprocess.Popen(list(argv), env=env, stdout=log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL))  # fmt: skip

    previous = os.environ.get("SLURM_CONF")
    try:
        start(_binary("munged"), "-F", f"--key-file={key}", f"--socket={socket_path}",
              f"--pid-file={base / 'munge' / 'munged.pid'}", f"--log-file={base / 'munge' / 'munged.log'}",
              f"--seed-file={base / 'munge' / 'seed'}", "--force")  # fmt: skip
        _wait(lambda: socket_path.exists(), 10, "munged did not create its socket", base)
        start(_binary("slurmctld"), "-D", "-i", "-c")
        start(_binary("slurmd"), "-D")
        cluster = SlurmCluster(conf, node, cpus, base)
        _wait(lambda: " idle " in f" {cluster.run('sinfo', '-h', '-o', '%T')} ".replace("\n", " "), 30,
              "the Slurm node did not become idle", base)  # fmt: skip
        os.environ["SLURM_CONF"] = str(conf)
        yield cluster
    finally:
        if previous is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = previous
        subprocess.run(["scancel", "--full", "--user", user], env=env, capture_output=True, timeout=30,
                       check=False)  # fmt: skip
        for proc in reversed(procs):
            proc.terminate()
        for proc in reversed(procs):
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def _wait(check, timeout: float, what: str, base: Path) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    logs = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-1500:]}" for p in (base / "log").glob("*"))
    raise RuntimeError(f"Slurm test cluster: {what}\n{logs}")

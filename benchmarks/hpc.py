"""The HPC executor on a real local Slurm (tests/slurm_cluster.py): how long from submitting a process to its job
RUNNING in Slurm, and how many jobs a minute go through one executor.

    .venv/bin/python benchmarks/hpc.py --runs 3 --latency 10 --jobs 60 --cpus 16

latency: one process at a time on an idle cluster; submit → the job seen RUNNING by ``squeue`` (polled every 20 ms)
and submit → process closed. throughput: ``--jobs`` processes (``true``, 100m CPU each) submitted at once to one
executor with ``--max-jobs`` in flight; processes closed per minute. Medians over ``--runs``. The node claims
``--cpus`` CPUs (Slurm's config_overrides), so Slurm's scheduling, not this machine's 2 cores, bounds the run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from conftest import Colony, create_colony, start_server  # noqa: E402
from slurm_cluster import SlurmCluster, slurm_cluster  # noqa: E402

from colonies.executor.container import Capacity, build  # noqa: E402
from colonies.executor.slurm import SlurmBackend, SlurmConfig  # noqa: E402

TYPE = "bench-hpc"


def spec(colony: Colony, cmd: str) -> dict[str, Any]:
    return {"funcname": "execute", "kwargs": {"cmd": cmd, "docker-image": "ubuntu:20.04"}, "maxexectime": -1,
            "maxretries": 0, "conditions": {"colonyname": colony.name, "executortype": TYPE, "cpu": "100m",
                                            "mem": "10Mi"}}  # fmt: skip


def wait_closed(colony: Colony, pids: list[str], timeout: float = 600) -> None:
    pending = set(pids)
    deadline = time.monotonic() + timeout
    while pending:
        for pid in list(pending):
            if colony.get(pid)["state"] in (2, 3, 4):
                pending.discard(pid)
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(pending)} processes still open")
        time.sleep(0.05)


def latency(colony: Colony, cluster: SlurmCluster, count: int) -> tuple[float, float]:
    """Medians (ms) of submit → RUNNING in Slurm and submit → closed, one process at a time."""
    to_running, to_closed = [], []
    for _ in range(count):
        start = time.perf_counter()
        pid = colony.call("submitfuncspecmsg", {"spec": spec(colony, "sleep 0.5")}, colony.executor)["processid"]
        name = f"colonies-{pid[:16]}"
        while True:
            out = cluster.run("squeue", "-h", "-n", name, "-o", "%T")
            if "RUNNING" in out or "COMPLETING" in out:
                to_running.append((time.perf_counter() - start) * 1000)
                break
            if time.perf_counter() - start > 120:
                raise TimeoutError("job never seen RUNNING")
            time.sleep(0.02)
        wait_closed(colony, [pid])
        to_closed.append((time.perf_counter() - start) * 1000)
    return statistics.median(to_running), statistics.median(to_closed)


def throughput(colony: Colony, jobs: int) -> float:
    start = time.perf_counter()
    pids = [colony.call("submitfuncspecmsg", {"spec": spec(colony, "true")}, colony.executor)["processid"]
            for _ in range(jobs)]  # fmt: skip
    wait_closed(colony, pids)
    return jobs / (time.perf_counter() - start) * 60


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency", type=int, default=10, help="processes per latency run")
    parser.add_argument("--jobs", type=int, default=60, help="processes per throughput run")
    parser.add_argument("--max-jobs", type=int, default=32)
    parser.add_argument("--cpus", type=int, default=16, help="CPUs the Slurm node claims")
    options = parser.parse_args()
    results: dict[str, list[float]] = {"submit → Slurm RUNNING ms": [], "submit → closed ms (0.5 s job)": [],
                                       "jobs per minute": []}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp, slurm_cluster(Path(tmp) / "slurm", cpus=options.cpus) as cluster:
        server = start_server(str(Path(tmp) / "server"), backend="sqlite")
        try:
            colony = create_colony(server)
            ident = colony.add_executor("bench-hpc-01", executortype=TYPE)
            backend = SlurmBackend(SlurmConfig(runtime="none", work_dir=str(Path(tmp) / "work"), poll=0.2))
            backend.check()
            executor = build(backend=backend, register="key", concurrency=options.max_jobs, host="127.0.0.1",
                             port=server.port, colonyname=colony.name, prvkey=ident.prvkey, colony_prvkey=None,
                             capacity=Capacity(nodes=1, cpu_millicores=options.cpus * 1000, mem_bytes=2**31,
                                               processes_per_node=options.cpus))  # fmt: skip
            executor.run_in_thread()
            assert executor.wait_ready(30)
            try:
                for _ in range(options.runs):
                    running, closed = latency(colony, cluster, options.latency)
                    results["submit → Slurm RUNNING ms"].append(running)
                    results["submit → closed ms (0.5 s job)"].append(closed)
                    results["jobs per minute"].append(throughput(colony, options.jobs))
            finally:
                executor.stop()
                executor.join(60)
        finally:
            server.stop()
    print(f"HPC executor on a local Slurm ({options.cpus} CPUs claimed), medians of {options.runs} runs:")
    for name, values in results.items():
        print(f"  {name:<32} {statistics.median(values):9.1f}   (min {min(values):.1f}, max {max(values):.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

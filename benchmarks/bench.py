"""Throughput and latency benchmark for a Colonies server, driven from separate client processes.

Six metrics, each against its own fresh colony (removed afterwards):

* ``submit``  -- submits/s: ``--clients`` processes submit ``--submits`` processes in total, back to back;
  wall time from a common start barrier to the last reply.
* ``drain``   -- assign+close/s: ``--clients`` executor processes drain a pre-submitted queue of ``--drain``
  processes, each looping ``assignprocessmsg`` (timeout 1) + ``closesuccessfulmsg`` until the queue is empty.
* ``latency`` -- submit-to-assign p50/p99: one executor waits in a long-poll (timeout 10), one submitter
  process submits one process at a time; sample = ``t_assigned - t_submit_sent`` (``time.time_ns()`` in both).
* ``chain``   -- ms per node of a ``--nodes``-node chain workflow (n0 -> n1 -> ...) run by one executor
  process, from submit until the graph is SUCCESS, divided by the node count; median of ``--chain-repeats``.
* ``deep``    -- deep-queue drain: ``drain`` in a fresh colony (shallow rate), then a colony of its own
  executortype pre-filled with ``--deep-queue`` waiting processes, of which ``--clients`` executors
  assign+close the first ``--drain``; the figure is the ratio deep rate / shallow rate.
* ``replicas`` -- ``--replicas`` servers on one PostgreSQL schema (only with ``--db postgresql://...``): the
  ``--clients`` processes, spread round-robin over the servers, submit ``--submits`` processes and then drain
  them; submits/s, assign+close/s, and a check that no process was assigned twice and every one was assigned.

Without ``--host`` the benchmark starts its own server (``python -m colonies server start``) on a free port
with a fresh SQLite database in a temp dir, and stops it at the end. Results are printed for humans and as one
JSON line per metric (lines starting with ``{``). Usage::

    .venv/bin/python benchmarks/bench.py                   # full run
    .venv/bin/python benchmarks/bench.py --quick           # smoke run, small counts
    .venv/bin/python benchmarks/bench.py --only drain --runs 3
    .venv/bin/python benchmarks/bench.py --db postgresql://... --only deep,replicas
    .venv/bin/python benchmarks/bench.py --host 10.0.0.5 --port 50080 --server-prvkey <hex>
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import platform
import queue
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "src") not in sys.path:  # run from a checkout without installing; harmless when installed
    sys.path.insert(0, str(ROOT / "src"))

import httpx

from colonies import crypto, envelope
from colonies.client import RPCClient
from colonies.exceptions import ColoniesError

METRICS = ("submit", "drain", "latency", "chain", "deep", "replicas")
#: run when --only is not given; replicas only with a PostgreSQL --db (see parse_args)
DEFAULT_METRICS = ("submit", "drain", "latency", "chain", "deep")
EXECUTOR_TYPE = "bench"
DEEP_EXECUTOR_TYPE = "bench-deep"  # the deep colony's own executortype: nothing else can assign its processes
STOP_FUNC = "bench-stop"  # poison pill: a process with this funcname ends a long-running executor worker
WORKER_TIMEOUT = (
    600.0  # upper bound for one metric's workers; a hang fails the run instead of blocking forever
)

#: figure, unit, comparison and target for each metric (the targets of the Python re-implementation)
TARGETS: dict[str, tuple[str, str, str, float]] = {
    "submit": ("submits per second", "submits/s", ">=", 1000.0),
    "drain": ("assign+close per second", "processes/s", ">=", 500.0),
    "latency": ("submit-to-assign latency p50", "ms", "<=", 5.0),
    "chain": ("chain workflow time per node", "ms/node", "<=", 20.0),
    "deep": ("deep-queue drain rate / shallow drain rate", "ratio", ">=", 0.8),
    # the PostgreSQL assign+close target of the issue, now for the replica set
    "replicas": ("assign+close per second on the replica set", "processes/s", ">=", 1000.0),
}


# ------------------------------------------------------------------------------------------------------------
# Plumbing shared by the parent and the workers


@dataclass(frozen=True)
class WorkerConfig:
    """What a client process needs: where the server is, which colony, and its own executor key."""

    host: str
    port: int
    colonyname: str
    prvkey: str
    #: "rpc": colonies RPCClient (httpx); "raw": http.client, to see how much the client itself costs
    transport: str = "rpc"
    executortype: str = EXECUTOR_TYPE


def func_spec(
    colonyname: str, funcname: str = "bench", executortype: str = EXECUTOR_TYPE
) -> dict[str, Any]:
    return {
        "funcname": funcname,
        "maxexectime": -1,
        "maxretries": -1,
        "maxwaittime": -1,
        "conditions": {"colonyname": colonyname, "executortype": executortype},
    }


def chain_spec(colonyname: str, nodes: int) -> dict[str, Any]:
    specs = []
    for i in range(nodes):
        specs.append(
            {
                "nodename": f"n{i}",
                "funcname": "bench-node",
                "maxexectime": -1,
                "maxretries": -1,
                "maxwaittime": -1,
                "conditions": {
                    "colonyname": colonyname,
                    "executortype": EXECUTOR_TYPE,
                    "dependencies": [f"n{i - 1}"] if i else [],
                },
            }
        )
    return {"colonyname": colonyname, "functionspecs": specs}


class RawClient:
    """The same signed RPC as ``RPCClient.call`` over one keep-alive ``http.client`` connection.

    About half the client CPU of httpx per call: with ``--transport raw`` a small machine spends less of its CPU
    on the benchmark's own clients, which shows how much of a figure is client cost.
    """

    def __init__(self, host: str, port: int, timeout: float = 60) -> None:
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout)

    def call(self, payloadtype: str, msg: dict[str, Any], prvkey: str, timeout: float | None = None) -> Any:
        body = envelope.build_request(payloadtype, msg, prvkey)
        self.conn.request("POST", "/api", body=body, headers={"Content-Type": "application/json"})
        response = self.conn.getresponse()
        is_error, payload = envelope.decode_reply(response.read())
        if is_error:
            raise ColoniesError(
                str(payload.get("message", "")), int(payload.get("status") or response.status)
            )
        return payload

    def close(self) -> None:
        self.conn.close()


def connect(cfg: WorkerConfig, transport: str = "") -> RPCClient | RawClient:
    """One client per process (it keeps its connection); a first call opens the connection."""
    transport = transport or cfg.transport
    client = (
        RawClient(cfg.host, cfg.port) if transport == "raw" else RPCClient(cfg.host, cfg.port, timeout=60)
    )
    client.call("getcolonymsg", {"colonyname": cfg.colonyname}, cfg.prvkey)
    return client


def assign(client: RPCClient | RawClient, cfg: WorkerConfig, timeout: int) -> dict[str, Any] | None:
    """A process, or None when the long-poll ends with 404 (nothing to assign)."""
    try:
        return client.call(
            "assignprocessmsg",
            {"colonyname": cfg.colonyname, "timeout": timeout},
            cfg.prvkey,
            timeout=timeout + 30,
        )
    except ColoniesError as exc:
        if exc.status == 404:
            return None
        raise


def close(client: RPCClient | RawClient, cfg: WorkerConfig, processid: str) -> None:
    client.call("closesuccessfulmsg", {"processid": processid, "out": []}, cfg.prvkey)


def run_worker(fn: Callable[..., dict[str, Any]], idx: int, results: Any, barrier: Any, *args: Any) -> None:
    """Child entry point: run ``fn``, report ("ok", idx, data) or ("error", idx, traceback) on ``results``."""
    try:
        results.put(("ok", idx, fn(*args)))
    except BaseException:  # noqa: BLE001 -- report everything, the parent decides
        if barrier is not None:
            barrier.abort()  # release the others instead of letting them wait for us
        results.put(("error", idx, traceback.format_exc()))


# ------------------------------------------------------------------------------------------------------------
# Workers (run in spawned processes)


def submit_worker(cfg: WorkerConfig, count: int, barrier: Any) -> dict[str, Any]:
    client = connect(cfg)
    msg = {"spec": func_spec(cfg.colonyname)}
    barrier.wait(timeout=WORKER_TIMEOUT)
    cpu0, t0 = time.process_time(), time.time_ns()
    for _ in range(count):
        client.call("submitfuncspecmsg", msg, cfg.prvkey)
    t1 = time.time_ns()
    client.close()
    return {"start": t0, "end": t1, "count": count, "cpu": time.process_time() - cpu0}


def drain_worker(cfg: WorkerConfig, prefill: int, barrier: Any) -> dict[str, Any]:
    """Submit this worker's share of the queue, wait for the others, then drain until assign times out."""
    client = connect(cfg)
    msg = {"spec": func_spec(cfg.colonyname)}
    barrier.wait(timeout=WORKER_TIMEOUT)  # all connected
    for _ in range(prefill):
        client.call("submitfuncspecmsg", msg, cfg.prvkey)
    barrier.wait(timeout=WORKER_TIMEOUT)  # the whole queue is in
    cpu0, t0 = time.process_time(), time.time_ns()
    t1, done = t0, 0
    while (process := assign(client, cfg, 1)) is not None:
        close(client, cfg, process["processid"])
        t1 = time.time_ns()
        done += 1
    cpu = time.process_time() - cpu0
    client.close()
    return {"start": t0, "end": t1, "count": done, "cpu": cpu}


def deep_worker(
    cfg: WorkerConfig, fill: int, barrier: Any, filled: Any, tickets: Any, progress_every: int
) -> dict[str, Any]:
    """Fill phase: submit ``fill`` processes as fast as possible (plain http.client, the cheapest client),
    adding to the shared ``filled`` counter. Drain phase, after the barrier: assign+close while the shared
    ``tickets`` counter (``--drain`` in total) lasts, so the executors together take the first ``--drain`` of
    the deep queue.
    """
    filler = connect(cfg, "raw")
    client = connect(cfg)
    msg = {"spec": func_spec(cfg.colonyname, executortype=cfg.executortype)}
    barrier.wait(timeout=WORKER_TIMEOUT)  # all connected
    f0 = time.time_ns()
    pending = 0
    for _ in range(fill):
        filler.call("submitfuncspecmsg", msg, cfg.prvkey)
        pending += 1
        if pending == progress_every:
            with filled.get_lock():
                filled.value += pending
            pending = 0
    with filled.get_lock():
        filled.value += pending
    f1 = time.time_ns()
    filler.close()
    barrier.wait(timeout=WORKER_TIMEOUT * 4)  # the whole deep queue is in (the slowest filler may lag)
    cpu0, t0 = time.process_time(), time.time_ns()
    t1, done = t0, 0
    while True:
        with tickets.get_lock():
            if tickets.value <= 0:
                break
            tickets.value -= 1
        process = assign(client, cfg, 1)
        if process is None:
            raise RuntimeError("the deep queue ran dry: assign found nothing")
        close(client, cfg, process["processid"])
        t1 = time.time_ns()
        done += 1
    cpu = time.process_time() - cpu0
    client.close()
    return {
        "fill_start": f0,
        "fill_end": f1,
        "filled": fill,
        "start": t0,
        "end": t1,
        "count": done,
        "cpu": cpu,
    }


def replica_worker(cfg: WorkerConfig, count: int, barrier: Any) -> dict[str, Any]:
    """Submit ``count`` processes to this worker's replica; after the barrier, drain until assign times out.

    Returns the ids it submitted and the ids it was assigned, for the parent's no-duplicate check.
    """
    client = connect(cfg)
    msg = {"spec": func_spec(cfg.colonyname)}
    barrier.wait(timeout=WORKER_TIMEOUT)  # all connected
    cpu0, s0 = time.process_time(), time.time_ns()
    submitted = [client.call("submitfuncspecmsg", msg, cfg.prvkey)["processid"] for _ in range(count)]
    s1 = time.time_ns()
    submit_cpu = time.process_time() - cpu0
    barrier.wait(timeout=WORKER_TIMEOUT)  # every client's submits are in
    cpu0, t0 = time.process_time(), time.time_ns()
    t1, assigned = t0, []
    while (process := assign(client, cfg, 1)) is not None:
        assigned.append(process["processid"])
        close(client, cfg, process["processid"])
        t1 = time.time_ns()
    cpu = time.process_time() - cpu0
    client.close()
    return {
        "submit_start": s0,
        "submit_end": s1,
        "submit_cpu": submit_cpu,
        "submitted": submitted,
        "start": t0,
        "end": t1,
        "count": len(assigned),
        "cpu": cpu,
        "assigned": assigned,
        "server": f"{cfg.host}:{cfg.port}",
    }


def long_poll_executor(
    cfg: WorkerConfig, conn: Any, ready: Any, poll_timeout: int, report_node: str
) -> dict[str, Any]:
    """Loop assign/close until the stop process arrives.

    Reports on ``conn``: every assignment as (processid, t_assigned_ns) when ``report_node`` is "", else
    only the close of the workflow node named ``report_node`` as (processgraphid, t_closed_ns).
    """
    client = connect(cfg)
    ready.set()
    handled = 0
    while True:
        process = assign(client, cfg, poll_timeout)
        if process is None:
            continue
        t_assigned = time.time_ns()
        spec = process["spec"]
        close(client, cfg, process["processid"])
        if spec["funcname"] == STOP_FUNC:
            break
        handled += 1
        if not report_node:
            conn.send((process["processid"], t_assigned))
        elif spec.get("nodename") == report_node:
            conn.send((process["processgraphid"], time.time_ns()))
    client.close()
    return {"handled": handled}


def latency_submitter(
    cfg: WorkerConfig, conn: Any, ready: Any, samples: int, warmup: int, settle: float
) -> dict[str, Any]:
    client = connect(cfg)
    if not ready.wait(WORKER_TIMEOUT):
        raise RuntimeError("the executor never became ready")
    msg = {"spec": func_spec(cfg.colonyname)}
    latencies: list[int] = []
    for i in range(warmup + samples):
        time.sleep(settle)  # let the executor get back into its long-poll
        t_sent = time.time_ns()
        processid = client.call("submitfuncspecmsg", msg, cfg.prvkey)["processid"]
        if not conn.poll(60):
            raise RuntimeError(f"process {processid} was not assigned within 60 s")
        got, t_assigned = conn.recv()
        if got != processid:
            raise RuntimeError(f"executor got {got}, expected {processid}")
        if i >= warmup:
            latencies.append(t_assigned - t_sent)
    client.call("submitfuncspecmsg", {"spec": func_spec(cfg.colonyname, STOP_FUNC)}, cfg.prvkey)
    client.close()
    return {"latencies_ns": latencies}


def chain_submitter(
    cfg: WorkerConfig, conn: Any, ready: Any, nodes: int, repeats: int, settle: float
) -> dict[str, Any]:
    client = connect(cfg)
    if not ready.wait(WORKER_TIMEOUT):
        raise RuntimeError("the executor never became ready")
    spec = chain_spec(cfg.colonyname, nodes)
    durations: list[int] = []
    for _ in range(repeats):
        time.sleep(settle)
        t_sent = time.time_ns()
        graphid = client.call("submitworkflowspecmsg", {"spec": spec}, cfg.prvkey)["processgraphid"]
        if not conn.poll(max(60.0, nodes * 2.0)):
            raise RuntimeError(f"workflow {graphid} did not finish")
        got, t_end = conn.recv()
        if got != graphid:
            raise RuntimeError(f"executor finished graph {got}, expected {graphid}")
        # The last close resolves the graph, so it is normally SUCCESS already; poll if it is not (yet).
        deadline = time.monotonic() + 30
        while (
            state := client.call("getprocessgraphmsg", {"processgraphid": graphid}, cfg.prvkey)["state"]
        ) != 2:
            if state in (3, 4) or time.monotonic() > deadline:
                raise RuntimeError(f"workflow {graphid} ended in state {state}, not SUCCESS (2)")
            time.sleep(0.001)
            t_end = time.time_ns()
        durations.append(t_end - t_sent)
    client.call("submitfuncspecmsg", {"spec": func_spec(cfg.colonyname, STOP_FUNC)}, cfg.prvkey)
    client.close()
    return {"durations_ns": durations}


# ------------------------------------------------------------------------------------------------------------
# Parent side: server, colonies, process orchestration


@dataclass
class Target:
    host: str
    port: int
    server_prvkey: str
    proc: subprocess.Popen[bytes] | None = None  # set when the benchmark started the server itself
    tmpdir: str | None = None
    db: str = ""
    known_pid: int | None = None  # a running server's process, given with --server-pid

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else self.known_pid


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(db: str | None, prvkey: str = "", wait: bool = True) -> Target:
    """Start ``python -m colonies server start``; ``prvkey`` gives a replica the same server owner id."""
    tmpdir = tempfile.mkdtemp(prefix="colonies-bench-")
    prvkey, port = prvkey or crypto.generate_prvkey(), free_port()
    db = db or "sqlite:///" + os.path.join(tmpdir, "colonies.db")
    args = [
        sys.executable,
        "-m",
        "colonies",
        "server",
        "start",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--db",
        db,
        "--server-id",
        crypto.id_from_prvkey(prvkey),
    ]
    log = open(os.path.join(tmpdir, "server.log"), "wb")  # noqa: SIM115 -- lives as long as the server
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    target = Target("127.0.0.1", port, prvkey, proc, tmpdir, db)
    if wait:
        wait_healthy(target)
    return target


def wait_healthy(target: Target, seconds: float = 30) -> None:
    """Return once the started server answers /health; stop it and raise if it exits or never answers."""
    assert target.proc is not None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if target.proc.poll() is not None:
            break
        try:
            if httpx.get(f"http://127.0.0.1:{target.port}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    tail = server_log_tail(target)
    stop_server(target)
    raise RuntimeError(f"the server did not start; its log ends with:\n{tail}")


def server_log_tail(target: Target, lines: int = 30) -> str:
    if not target.tmpdir:
        return ""
    try:
        text = Path(target.tmpdir, "server.log").read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def stop_server(target: Target, keep: bool = False) -> None:
    if target.proc and target.proc.poll() is None:
        target.proc.terminate()
        try:
            target.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            target.proc.kill()
            target.proc.wait(timeout=10)
    if target.tmpdir and not keep:
        shutil.rmtree(target.tmpdir, ignore_errors=True)


def machine_busy_cores(seconds: float = 0.5) -> float | None:
    """CPU cores busy machine-wide over a short window (Linux /proc/stat).

    Taken while the benchmark is idle, it shows load from other programs, which makes every figure lower and
    noisier.
    """

    def sample() -> tuple[int, int]:
        values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = values[3] + (values[4] if len(values) > 4 else 0)
        return sum(values[:8]), idle

    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    if total1 == total0:
        return 0.0
    return round((1 - (idle1 - idle0) / (total1 - total0)) * (os.cpu_count() or 1), 2)


def server_cpu_seconds(pid: int | None) -> float | None:
    """user+system CPU of a local process (Linux /proc), to see how busy the server was."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


_POSTMASTERS: dict[str, int | None] = {}


def postmaster_pid(db: str) -> int | None:
    """The PostgreSQL postmaster of ``db`` (the parent of our own backend), when it runs on this machine. Found
    once per database (a connection refused later, say at the connection limit, would lose the figure)."""
    if not is_postgres(db):
        return None
    if _POSTMASTERS.get(db) is None:
        _POSTMASTERS[db] = _find_postmaster(db)
    return _POSTMASTERS[db]


def _find_postmaster(db: str) -> int | None:
    try:
        import psycopg

        with psycopg.connect(db, autocommit=True) as conn:
            backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        fields = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[1])
    except Exception:  # noqa: BLE001 - a remote or hidden database: no database CPU figure
        return None


def cluster_cpu_seconds(postmaster: int | None) -> float | None:
    """user+system CPU of the postmaster and all its children (backends, WAL writer, checkpointer, ...).

    Backends that exit between two samples take their CPU with them; the server keeps its connections open, so
    for a benchmark phase that loss is a few short-lived maintenance processes at most."""
    if postmaster is None:
        return None
    total = server_cpu_seconds(postmaster) or 0.0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == postmaster:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


@dataclass
class CpuMeter:
    """CPU seconds spent by the server process(es) and by the database, sampled around a benchmark phase.

    CPU per operation, unlike a rate, does not move with what else runs on the machine: it is the figure the
    server's efficiency is judged by (the rate shows whether the clients could keep it busy)."""

    server_pids: list[int]
    postmaster: int | None = None

    def sample(self) -> tuple[float | None, float | None]:
        servers = [server_cpu_seconds(pid) for pid in self.server_pids]
        server = None if not servers or None in servers else sum(s for s in servers if s is not None)
        return server, cluster_cpu_seconds(self.postmaster)

    @staticmethod
    def per_op(before: tuple[float | None, float | None], after: tuple[float | None, float | None],
               ops: int) -> dict[str, float]:  # fmt: skip
        """``server_ms_per_op`` and ``db_ms_per_op`` (where measured) for ``ops`` operations."""
        out: dict[str, float] = {}
        for key, a, b in (("server_ms_per_op", before[0], after[0]), ("db_ms_per_op", before[1], after[1])):
            if a is not None and b is not None and ops > 0:
                out[key] = round((b - a) * 1000 / ops, 3)
        return out


def meter_for(target: Target) -> CpuMeter:
    return CpuMeter([target.pid] if target.pid else [], postmaster_pid(target.db))


@dataclass
class BenchColony:
    name: str
    owner_prvkey: str
    executor_prvkeys: list[str] = field(default_factory=list)


def create_colony(target: Target, executors: int, executortype: str = EXECUTOR_TYPE) -> BenchColony:
    """A fresh colony with ``executors`` approved executors, each with its own pre-generated key."""
    owner = crypto.generate_prvkey()
    colony = BenchColony(f"bench-{os.urandom(5).hex()}", owner)
    with RPCClient(target.host, target.port, timeout=60) as client:
        client.call(
            "addcolonymsg",
            {"colony": {"colonyid": crypto.id_from_prvkey(owner), "name": colony.name}},
            target.server_prvkey,
        )
        for i in range(executors):
            key, name = crypto.generate_prvkey(), f"bench-executor-{i}"
            client.call(
                "addexecutormsg",
                {
                    "executor": {
                        "executorid": crypto.id_from_prvkey(key),
                        "executorname": name,
                        "executortype": executortype,
                        "colonyname": colony.name,
                        "locationname": "",
                    }
                },
                owner,
            )
            client.call("approveexecutormsg", {"colonyname": colony.name, "executorname": name}, owner)
            colony.executor_prvkeys.append(key)
    return colony


def remove_colony(target: Target, colony: BenchColony, timeout: float = 120) -> None:
    try:
        with RPCClient(target.host, target.port, timeout=timeout) as client:
            client.call("removecolonymsg", {"colonyname": colony.name}, target.server_prvkey)
    except (ColoniesError, httpx.HTTPError) as exc:  # best effort: a leftover colony does not change figures
        print(f"  (could not remove colony {colony.name}: {exc})", file=sys.stderr)


def configs(
    target: Target,
    colony: BenchColony,
    opts: argparse.Namespace,
    executortype: str = EXECUTOR_TYPE,
    servers: list[Target] | None = None,
) -> list[WorkerConfig]:
    """One config per executor key; with ``servers``, client i talks to ``servers[i % len(servers)]``."""
    servers = servers or [target]
    return [
        WorkerConfig(
            servers[i % len(servers)].host,
            servers[i % len(servers)].port,
            colony.name,
            key,
            opts.transport,
            executortype,
        )
        for i, key in enumerate(colony.executor_prvkeys)
    ]


class Workers:
    """Spawned client processes reporting on one queue."""

    def __init__(self) -> None:
        self.ctx = mp.get_context("spawn")
        self.results = self.ctx.Queue()
        self.procs: list[Any] = []

    def start(self, fn: Callable[..., dict[str, Any]], barrier: Any, *args: Any) -> None:
        proc = self.ctx.Process(
            target=run_worker, args=(fn, len(self.procs), self.results, barrier, *args), daemon=True
        )
        proc.start()
        self.procs.append(proc)

    def collect(self, timeout: float = WORKER_TIMEOUT) -> list[dict[str, Any]]:
        """Every worker's result, in start order; raises on the first failure."""
        out: dict[int, dict[str, Any]] = {}
        errors: list[str] = []
        deadline = time.monotonic() + timeout
        while len(out) + len(errors) < len(self.procs):
            try:
                status, idx, data = self.results.get(timeout=0.5)
            except queue.Empty:  # check for workers that died without reporting
                dead = [p for p in self.procs if p.exitcode not in (None, 0)]
                if dead and self.results.empty():
                    time.sleep(0.5)
                    if self.results.empty():
                        errors.append(f"worker exited with code {dead[0].exitcode} without reporting")
                        break
                if time.monotonic() > deadline:
                    errors.append(f"workers did not finish within {timeout:.0f} s")
                    break
                continue
            if status == "ok":
                out[idx] = data
            else:
                errors.append(f"worker {idx} failed:\n{data}")
                break
        if errors:
            self.terminate()
            raise RuntimeError("\n".join(errors))
        for proc in self.procs:
            proc.join(timeout=30)
        return [out[i] for i in range(len(self.procs))]

    def terminate(self) -> None:
        for proc in self.procs:
            if proc.is_alive():
                proc.terminate()
        for proc in self.procs:
            proc.join(timeout=5)


def barrier_wait(barrier: Any) -> None:
    try:
        barrier.wait(timeout=WORKER_TIMEOUT)
    except threading.BrokenBarrierError:
        pass  # a worker failed before the barrier; collect() reports why


# ------------------------------------------------------------------------------------------------------------
# The four metrics: each returns the figure and details for one run


Sample = tuple[float | None, float | None]  # (server CPU s, database CPU s), from CpuMeter.sample


def throughput_result(reports: list[dict[str, Any]], before: Sample | None, after: Sample | None) -> dict[str, Any]:
    count = sum(r["count"] for r in reports)
    wall = (max(r["end"] for r in reports) - min(r["start"] for r in reports)) / 1e9
    detail: dict[str, Any] = {
        "count": count,
        "wall_s": round(wall, 3),
        "client_cpu_cores": round(sum(r["cpu"] for r in reports) / wall, 2),
    }
    if before is not None and after is not None:
        if before[0] is not None and after[0] is not None:
            detail["server_cpu_cores"] = round((after[0] - before[0]) / wall, 2)
        detail.update(CpuMeter.per_op(before, after, count))
    return {"value": count / wall, **detail}


def bench_submit(target: Target, opts: argparse.Namespace) -> dict[str, Any]:
    colony = create_colony(target, opts.clients)
    try:
        workers = Workers()
        barrier = workers.ctx.Barrier(opts.clients + 1)
        shares = split(opts.submits, opts.clients)
        for cfg, share in zip(configs(target, colony, opts), shares):
            workers.start(submit_worker, barrier, cfg, share, barrier)
        barrier_wait(barrier)
        meter = meter_for(target)
        cpu0 = meter.sample()
        reports = workers.collect()
        result = throughput_result(reports, cpu0, meter.sample())
        if result["count"] != opts.submits:
            raise RuntimeError(f"submitted {result['count']} of {opts.submits}")
        return result
    finally:
        remove_colony(target, colony)


def bench_drain(target: Target, opts: argparse.Namespace) -> dict[str, Any]:
    colony = create_colony(target, opts.clients)
    try:
        workers = Workers()
        barrier = workers.ctx.Barrier(opts.clients + 1)
        shares = split(opts.drain, opts.clients)
        for cfg, share in zip(configs(target, colony, opts), shares):
            workers.start(drain_worker, barrier, cfg, share, barrier)
        barrier_wait(barrier)  # connected
        barrier_wait(barrier)  # queue filled
        meter = meter_for(target)
        cpu0 = meter.sample()
        reports = workers.collect()
        result = throughput_result(reports, cpu0, meter.sample())
        result["per_executor"] = [r["count"] for r in reports]
        if result["count"] != opts.drain:
            raise RuntimeError(f"assigned and closed {result['count']} of {opts.drain} processes")
        return result
    finally:
        remove_colony(target, colony)


def bench_deep(target: Target, opts: argparse.Namespace) -> dict[str, Any]:
    """Shallow drain (the ``drain`` metric) first, then the first ``--drain`` of a ``--deep-queue`` queue."""
    shallow = bench_drain(target, opts)
    print(
        f"[deep] shallow: {shallow['value']:.1f} assign+close/s ({opts.drain} in a queue of {opts.drain})",
        flush=True,
    )
    colony = create_colony(target, opts.clients, DEEP_EXECUTOR_TYPE)
    try:
        workers = Workers()
        barrier = workers.ctx.Barrier(opts.clients + 1)
        filled = workers.ctx.Value("q", 0)
        tickets = workers.ctx.Value("q", opts.drain)
        shares = split(opts.deep_queue, opts.clients)
        every = max(1, min(200, opts.deep_queue // (opts.clients * 20)))
        for cfg, share in zip(configs(target, colony, opts, DEEP_EXECUTOR_TYPE), shares):
            workers.start(deep_worker, barrier, cfg, share, barrier, filled, tickets, every)
        barrier_wait(barrier)  # connected
        t0 = last_print = time.monotonic()
        interval = 2.0 if opts.quick else 5.0
        while filled.value < opts.deep_queue:
            if barrier.broken or any(p.exitcode not in (None, 0) for p in workers.procs):
                break  # a worker failed; collect() reports why
            time.sleep(0.1)
            now = time.monotonic()
            if now - last_print >= interval:
                last_print = now
                n = filled.value
                print(
                    f"[deep] filling: {n}/{opts.deep_queue} ({n / (now - t0):.0f} submits/s)", flush=True
                )
        barrier_wait(barrier)  # filled
        meter = meter_for(target)
        cpu0 = meter.sample()
        reports = workers.collect(WORKER_TIMEOUT + opts.deep_queue / 50)
        result = throughput_result(reports, cpu0, meter.sample())
        fill_s = (max(r["fill_end"] for r in reports) - min(r["fill_start"] for r in reports)) / 1e9
        print(
            f"[deep] filled {opts.deep_queue} in {fill_s:.1f} s ({opts.deep_queue / fill_s:.0f} submits/s, "
            f"{opts.clients} clients); deep drain: {result['value']:.1f} assign+close/s",
            flush=True,
        )
        if result["count"] != opts.drain:
            raise RuntimeError(f"assigned and closed {result['count']} of {opts.drain} processes")
        return {
            "value": result["value"] / shallow["value"],
            "deep_rate": round(result["value"], 1),
            "shallow_rate": round(shallow["value"], 1),
            "deep_wall_s": result["wall_s"],
            "shallow_wall_s": shallow["wall_s"],
            "fill_rate": round(opts.deep_queue / fill_s, 1),
            "fill_s": round(fill_s, 2),
            "per_executor": [r["count"] for r in reports],
            **{k: result[k] for k in CPU_KEYS if k in result},
        }
    finally:
        t_rm = time.monotonic()
        remove_colony(target, colony, timeout=900)
        print(f"[deep] removed the deep colony in {time.monotonic() - t_rm:.1f} s", flush=True)


def bench_replicas(target: Target, opts: argparse.Namespace) -> dict[str, Any]:
    """``--replicas`` servers on one PostgreSQL schema: the started server plus ``--replicas - 1`` more."""
    if target.proc is None or not is_postgres(target.db):
        raise RuntimeError("replicas needs a self-started server on PostgreSQL (--db postgresql://...)")
    extra = [start_server(target.db, target.server_prvkey, wait=False) for _ in range(opts.replicas - 1)]
    try:
        for server in extra:
            wait_healthy(server)
        servers = [target, *extra]
        print(
            f"[replicas] {len(servers)} servers on one schema, ports {[s.port for s in servers]}, pids "
            f"{[s.pid for s in servers]}",
            flush=True,
        )
        colony = create_colony(target, opts.clients)
        try:
            workers = Workers()
            barrier = workers.ctx.Barrier(opts.clients + 1)
            shares = split(opts.submits, opts.clients)
            for cfg, share in zip(configs(target, colony, opts, servers=servers), shares):
                workers.start(replica_worker, barrier, cfg, share, barrier)
            barrier_wait(barrier)  # connected
            meter = CpuMeter([s.pid for s in servers if s.pid], postmaster_pid(target.db))
            cpu_a = meter.sample()
            barrier_wait(barrier)  # submitted
            cpu_b = meter.sample()
            reports = workers.collect()
            cpu_c = meter.sample()
        finally:
            remove_colony(target, colony)
        submit_wall = (max(r["submit_end"] for r in reports) - min(r["submit_start"] for r in reports)) / 1e9
        drain = throughput_result(reports, cpu_b, cpu_c)
        submitted = [pid for r in reports for pid in r["submitted"]]
        assigned = [pid for r in reports for pid in r["assigned"]]
        duplicates = len(assigned) - len(set(assigned))
        missing = len(set(submitted) - set(assigned))
        unexpected = len(set(assigned) - set(submitted))
        per_server: dict[str, int] = {}
        for r in reports:
            per_server[r["server"]] = per_server.get(r["server"], 0) + r["count"]
        result: dict[str, Any] = {
            **drain,
            "replicas": len(servers),
            "submit_rate": round(len(submitted) / submit_wall, 1),
            "submit_wall_s": round(submit_wall, 3),
            "submitted": len(submitted),
            "assigned": len(assigned),
            "duplicates": duplicates,
            "missing": missing,
            "no_duplicates": duplicates == 0 and missing == 0 and unexpected == 0,
            "per_executor": [r["count"] for r in reports],
            "per_server": list(per_server.values()),
        }
        if cpu_a[0] is not None and cpu_b[0] is not None:
            result["submit_server_cpu_cores"] = round((cpu_b[0] - cpu_a[0]) / submit_wall, 2)
        result.update({f"submit_{k}": v for k, v in CpuMeter.per_op(cpu_a, cpu_b, len(submitted)).items()})
        if not result["no_duplicates"] or len(submitted) != opts.submits:
            raise RuntimeError(
                f"replica set check failed: submitted {len(submitted)} of {opts.submits}, assigned "
                f"{len(assigned)}, {duplicates} assigned more than once, {missing} never assigned, "
                f"{unexpected} not submitted by this run"
            )
        return result
    finally:
        for server in extra:
            stop_server(server, keep=opts.keep_server_dir)


def is_postgres(db: str | None) -> bool:
    return bool(db) and str(db).startswith(("postgres://", "postgresql://"))


def bench_latency(target: Target, opts: argparse.Namespace) -> dict[str, Any]:
    colony = create_colony(target, 2)
    try:
        workers = Workers()
        executor_cfg, submitter_cfg = configs(target, colony, opts)
        exec_end, submit_end = workers.ctx.Pipe()
        ready = workers.ctx.Event()
        meter = meter_for(target)
        cpu0 = meter.sample()
        workers.start(long_poll_executor, None, executor_cfg, exec_end, ready, 10, "")
        workers.start(
            latency_submitter,
            None,
            submitter_cfg,
            submit_end,
            ready,
            opts.samples,
            opts.warmup,
            opts.settle_ms / 1000,
        )
        reports = workers.collect()
        samples = sorted(ns / 1e6 for ns in reports[1]["latencies_ns"])
        cycles = len(samples) + opts.warmup + 1  # + the stop pill: each a submit, an assign and a close
        return {
            **CpuMeter.per_op(cpu0, meter.sample(), cycles),
            "value": percentile(samples, 50),
            "p50_ms": round(percentile(samples, 50), 3),
            "p99_ms": round(percentile(samples, 99), 3),
            "mean_ms": round(statistics.fmean(samples), 3),
            "min_ms": round(samples[0], 3),
            "max_ms": round(samples[-1], 3),
            "samples": len(samples),
        }
    finally:
        remove_colony(target, colony)


def bench_chain(target: Target, opts: argparse.Namespace) -> dict[str, Any]:
    colony = create_colony(target, 2)
    try:
        workers = Workers()
        executor_cfg, submitter_cfg = configs(target, colony, opts)
        exec_end, submit_end = workers.ctx.Pipe()
        ready = workers.ctx.Event()
        meter = meter_for(target)
        cpu0 = meter.sample()
        workers.start(long_poll_executor, None, executor_cfg, exec_end, ready, 1, f"n{opts.nodes - 1}")
        workers.start(
            chain_submitter,
            None,
            submitter_cfg,
            submit_end,
            ready,
            opts.nodes,
            opts.chain_repeats,
            opts.settle_ms / 1000,
        )
        reports = workers.collect()
        per_node = [ns / 1e6 / opts.nodes for ns in reports[1]["durations_ns"]]
        return {
            **CpuMeter.per_op(cpu0, meter.sample(), opts.nodes * opts.chain_repeats),
            "value": statistics.median(per_node),
            "workflows_ms_per_node": [round(x, 3) for x in per_node],
            "nodes": opts.nodes,
        }
    finally:
        remove_colony(target, colony)


BENCHES: dict[str, Callable[[Target, argparse.Namespace], dict[str, Any]]] = {
    "submit": bench_submit,
    "drain": bench_drain,
    "latency": bench_latency,
    "chain": bench_chain,
    "deep": bench_deep,
    "replicas": bench_replicas,
}


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * pct // 100))
    return sorted_values[int(rank) - 1]


# ------------------------------------------------------------------------------------------------------------
# Reporting


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "commit": git_commit(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return info


def git_commit() -> str:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            check=False,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def meets(metric: str, value: float) -> bool:
    _, _, op, target = TARGETS[metric]
    return value >= target if op == ">=" else value <= target


CPU_KEYS = ("client_cpu_cores", "server_cpu_cores", "server_ms_per_op", "db_ms_per_op")


def cpu_per_op(r: dict[str, Any]) -> str:
    """"; CPU per op: server 0.31 ms, database 0.22 ms" where measured (a self-started server, a local database)."""
    parts = [f"{who} {r[key]:.3f} ms" for who, key in (("server", "server_ms_per_op"), ("database", "db_ms_per_op"))
             if key in r]  # fmt: skip
    return f"; CPU per op: {', '.join(parts)}" if parts else ""


def describe_run(metric: str, r: dict[str, Any]) -> str:
    cpu = ""
    if "client_cpu_cores" in r:
        cpu = f"; CPU cores busy: clients {r['client_cpu_cores']}"
        if "server_cpu_cores" in r:
            cpu += f", server {r['server_cpu_cores']}"
    cpu += cpu_per_op(r)
    if metric == "submit":
        return f"{r['value']:8.1f} submits/s  ({r['count']} in {r['wall_s']} s{cpu})"
    if metric == "drain":
        spread = f"per executor {r['per_executor']}"
        return f"{r['value']:8.1f} assign+close/s  ({r['count']} in {r['wall_s']} s, {spread}{cpu})"
    if metric == "deep":
        return (
            f"{r['value']:8.3f} deep/shallow  (deep {r['deep_rate']} vs shallow {r['shallow_rate']} "
            f"assign+close/s; queue filled at {r['fill_rate']} submits/s in {r['fill_s']} s; "
            f"per executor {r['per_executor']}{cpu})"
        )
    if metric == "replicas":
        check = "no duplicates, all assigned" if r["no_duplicates"] else "CHECK FAILED"
        return (
            f"{r['value']:8.1f} assign+close/s, {r['submit_rate']} submits/s on {r['replicas']} replicas  "
            f"({r['count']} in {r['wall_s']} s; {check}; per server {r['per_server']}, "
            f"per executor {r['per_executor']}{cpu})"
        )
    if metric == "latency":
        return (
            f"p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms  (mean {r['mean_ms']:.2f}, "
            f"min {r['min_ms']:.2f}, max {r['max_ms']:.2f}, {r['samples']} samples{cpu_per_op(r)})"
        )
    return (f"{r['value']:8.2f} ms/node  ({r['nodes']} nodes; per workflow {r['workflows_ms_per_node']}"
            f"{cpu_per_op(r)})")


def summarize(
    metric: str, runs: list[dict[str, Any]], opts: argparse.Namespace, machine: dict[str, Any]
) -> dict[str, Any]:
    label, unit, op, target = TARGETS[metric]
    value = statistics.median(r["value"] for r in runs)
    line: dict[str, Any] = {
        "metric": metric,
        "description": label,
        "value": round(value, 3),
        "unit": unit,
        "target": f"{op} {target:g}",
        "meets_target": meets(metric, value),
        "runs": len(runs),
        "run_values": [round(r["value"], 3) for r in runs],
    }
    if metric == "latency":
        line["p50_ms"] = round(value, 3)
        line["p99_ms"] = round(statistics.median(r["p99_ms"] for r in runs), 3)
        line["params"] = {"samples": opts.samples, "executor_timeout_s": 10}
    elif metric == "chain":
        line["params"] = {"nodes": opts.nodes, "workflows_per_run": opts.chain_repeats}
    elif metric == "deep":
        for key in ("deep_rate", "shallow_rate", "fill_rate"):
            line[key] = statistics.median(r[key] for r in runs)
        line["params"] = {"clients": opts.clients, "deep_queue": opts.deep_queue, "drain": opts.drain}
    elif metric == "replicas":
        line["submit_rate"] = statistics.median(r["submit_rate"] for r in runs)
        line["no_duplicates"] = all(r["no_duplicates"] for r in runs)
        line["params"] = {"clients": opts.clients, "replicas": opts.replicas, "processes": opts.submits}
        for key in CPU_KEYS:
            if all(key in r for r in runs):
                line[key] = statistics.median(r[key] for r in runs)
    else:
        line["params"] = {
            "clients": opts.clients,
            "processes": opts.submits if metric == "submit" else opts.drain,
        }
        for key in CPU_KEYS:
            if all(key in r for r in runs):
                line[key] = statistics.median(r[key] for r in runs)
    for key in (*CPU_KEYS, "submit_server_ms_per_op", "submit_db_ms_per_op"):
        if key not in line and runs and all(key in r for r in runs):
            line[key] = round(statistics.median(r[key] for r in runs), 3)
    background = [r["background_busy_cores"] for r in runs if r.get("background_busy_cores") is not None]
    if background:
        line["background_busy_cores_max"] = max(background)
    line["params"]["transport"] = opts.transport
    line["machine"] = machine
    return line


def human_summary(line: dict[str, Any]) -> str:
    metric = line["metric"]
    if metric == "latency":
        figure = f"p50 {line['p50_ms']:.2f} ms / p99 {line['p99_ms']:.2f} ms"
        title = "submit->assign latency (1 waiting executor)"
    elif metric == "chain":
        figure = f"{line['value']:.2f} ms/node"
        title = f"{line['params']['nodes']}-node chain workflow, 1 executor"
    elif metric == "deep":
        figure = f"{line['value']:.2f} ({line['deep_rate']:.0f} vs {line['shallow_rate']:.0f} /s)"
        title = f"deep queue ({line['params']['deep_queue']}) / shallow drain"
    elif metric == "replicas":
        figure = f"{line['value']:.0f} assign+close/s, {line['submit_rate']:.0f} submits/s"
        title = f"{line['params']['replicas']} replicas, one PostgreSQL schema"
    elif metric == "submit":
        figure = f"{line['value']:.0f} submits/s"
        title = f"submit throughput, {line['params']['clients']} clients"
    else:
        figure = f"{line['value']:.0f} assign+close/s"
        title = f"assign+close throughput, {line['params']['clients']} executors"
    verdict = "OK" if line["meets_target"] else "BELOW TARGET"
    target = (
        f"target {line['target']} {line['unit']}"
        if metric != "latency"
        else f"target p50 {line['target']} ms"
    )
    if metric == "replicas" and not line["no_duplicates"]:
        verdict += ", DUPLICATE/MISSING ASSIGNMENTS"
    cpu = "  ".join(f"{who} {line[key]:.3f} ms/op" for who, key in (("server", "server_ms_per_op"),
                                                                    ("db", "db_ms_per_op")) if key in line)  # fmt: skip
    return f"  {title:<44} {figure:<32} {target:<26} {verdict:<14} {cpu}".rstrip()


# ------------------------------------------------------------------------------------------------------------


def add_server_args(p: argparse.ArgumentParser, verb: str) -> None:
    """Where the server is: a running one (--host, --port, --server-prvkey) or a self-started one (--db)."""
    p.add_argument("--host", help=f"{verb} this running server instead of starting one")
    p.add_argument("--port", type=int, default=50080, help="port of the running server (with --host)")
    p.add_argument(
        "--server-prvkey",
        default=os.environ.get("COLONIES_SERVER_PRVKEY"),
        help="server owner private key (with --host; env COLONIES_SERVER_PRVKEY)",
    )
    p.add_argument(
        "--db", help="database URL for the self-started server (default: fresh SQLite in a temp dir)"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_server_args(p, "benchmark")
    p.add_argument("--server-pid", type=int, help="the running server's process id (with --host): its CPU is measured")
    p.add_argument("--quick", action="store_true", help="small counts for a smoke run")
    p.add_argument("--runs", type=int, default=1, help="repeat each metric N times and report the median")
    p.add_argument("--only", help=f"comma-separated subset of: {', '.join(METRICS)}")
    p.add_argument("--clients", type=int, default=8, help="client/executor processes for submit and drain")
    p.add_argument("--submits", type=int, help="processes submitted in total (default 4000, quick 400)")
    p.add_argument("--drain", type=int, help="queue size to drain (default 4000, quick 400)")
    p.add_argument(
        "--deep-queue",
        type=int,
        help="deep metric: waiting processes filled in before --drain of them are drained "
        "(default 100000, quick 2000)",
    )
    p.add_argument(
        "--replicas",
        type=int,
        help="replicas metric: servers on one PostgreSQL schema (default 3, quick 2; needs a postgres --db)",
    )
    p.add_argument("--samples", type=int, help="latency samples (default 300, quick 30)")
    p.add_argument("--warmup", type=int, default=5, help="latency samples discarded first")
    p.add_argument("--nodes", type=int, default=50, help="nodes in the chain workflow")
    p.add_argument(
        "--chain-repeats", type=int, help="chain workflows per run, median reported (default 3, quick 1)"
    )
    p.add_argument(
        "--settle-ms",
        type=float,
        default=10.0,
        help="pause before each latency/chain submit so the executor is back in its long-poll",
    )
    p.add_argument(
        "--transport",
        choices=("rpc", "raw"),
        default="rpc",
        help="client transport: colonies RPCClient/httpx (default) or plain http.client (less client CPU)",
    )
    p.add_argument(
        "--keep-server-dir", action="store_true", help="keep the self-started server's temp dir (log, db)"
    )
    opts = p.parse_args(argv)
    quick = opts.quick
    opts.submits = opts.submits or (400 if quick else 4000)
    opts.drain = opts.drain or (400 if quick else 4000)
    opts.samples = opts.samples or (30 if quick else 300)
    opts.chain_repeats = opts.chain_repeats or (1 if quick else 3)
    opts.deep_queue = opts.deep_queue or (2000 if quick else 100000)
    opts.replicas = opts.replicas or (2 if quick else 3)
    replicas_ok = is_postgres(opts.db) and not opts.host
    if opts.only:
        opts.metrics = [m.strip() for m in opts.only.split(",")]
    else:
        opts.metrics = list(DEFAULT_METRICS) + (["replicas"] if replicas_ok else [])
    unknown = [m for m in opts.metrics if m not in METRICS]
    if unknown:
        p.error(f"unknown metric(s) {unknown}; choose from {', '.join(METRICS)}")
    if "replicas" in opts.metrics and not replicas_ok:
        p.error(
            "the replicas metric starts several servers on one PostgreSQL schema: it needs "
            "--db postgresql://... (not SQLite, whose file cannot be shared by servers) and no --host"
        )
    if opts.replicas < 1:
        p.error("--replicas must be at least 1")
    if "deep" in opts.metrics and opts.deep_queue < opts.drain:
        p.error(f"--deep-queue ({opts.deep_queue}) must be at least --drain ({opts.drain})")
    if opts.host and not opts.server_prvkey:
        p.error("--host needs the server owner key (--server-prvkey or COLONIES_SERVER_PRVKEY)")
    if opts.runs < 1 or opts.clients < 1 or opts.nodes < 1:
        p.error("--runs, --clients and --nodes must be at least 1")
    return opts


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    machine = machine_info()
    print(
        f"Colonies for Python benchmark -- commit {machine['commit']}, Python {machine['python']}, "
        f"{machine['cpus']} CPUs ({machine.get('cpu_model', '?')}), {machine['platform']}",
        flush=True,
    )
    busy = machine_busy_cores(1.0)
    if busy is not None and busy > 0.25:
        print(
            f"warning: {busy} CPU cores are busy with other programs; figures will be lower and noisier",
            flush=True,
        )
    if opts.host:
        target = Target(opts.host, opts.port, opts.server_prvkey, known_pid=opts.server_pid)
        print(f"server: {opts.host}:{opts.port} (already running)", flush=True)
    else:
        target = start_server(opts.db)
        print(
            f"server: started pid {target.pid} on 127.0.0.1:{target.port}, database {target.db}", flush=True
        )
        if is_postgres(target.db):
            postmaster = postmaster_pid(target.db)
            print(f"database CPU: postmaster pid {postmaster} and its children" if postmaster else
                  "database CPU: not measured (the postmaster is not a process of this machine)", flush=True)  # fmt: skip
    print(
        f"clients: {'colonies RPCClient (httpx)' if opts.transport == 'rpc' else 'plain http.client'}",
        flush=True,
    )
    lines: list[dict[str, Any]] = []
    failed = False
    try:
        for metric in opts.metrics:
            runs = []
            for i in range(opts.runs):
                background = machine_busy_cores()
                try:
                    result = BENCHES[metric](target, opts)
                except Exception as exc:  # noqa: BLE001 -- report, keep going with the other metrics
                    print(f"[{metric}] run {i + 1}/{opts.runs} FAILED: {exc}", file=sys.stderr, flush=True)
                    if target.proc and target.proc.poll() is not None:
                        print(
                            f"server exited with {target.proc.returncode}:\n{server_log_tail(target)}",
                            file=sys.stderr,
                        )
                        raise SystemExit(1) from None
                    failed = True
                    break
                result["background_busy_cores"] = background
                runs.append(result)
                note = f"  [machine busy beforehand: {background} cores]" if background is not None else ""
                print(f"[{metric}] run {i + 1}/{opts.runs}: {describe_run(metric, result)}{note}", flush=True)
            if len(runs) == opts.runs:
                lines.append(summarize(metric, runs, opts, machine))
    finally:
        if target.proc:
            stop_server(target, keep=opts.keep_server_dir)
            if opts.keep_server_dir:
                print(f"server dir kept: {target.tmpdir}")
    print(
        f"\nSummary (median of {opts.runs} run{'s' if opts.runs > 1 else ''}; "
        f"machine: {machine['cpus']} CPUs, Python {machine['python']}, commit {machine['commit']}):"
    )
    for line in lines:
        print(human_summary(line))
    print()
    for line in lines:
        print(json.dumps(line, separators=(",", ":")), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Load soak for a Colonies server: a bounded run of mixed, steady work, then a full accounting.

For ``--duration`` seconds (default 600) several client processes keep one server busy at a moderate rate:

* submitters: single processes of varying priority and kind (see KINDS): plain successes, deliberate
  failures, processes for an executortype nobody serves with a small ``maxwaittime`` (they expire), and
  processes with a ``maxexectime`` that the executor overruns on purpose (requeued, then failed or closed on a
  later attempt);
* a workflow submitter: diamonds (a -> b, c -> d) and chains of 3-5 nodes, some with one failing node;
* executors: long-poll assign -> (work) -> add log / set output -> close successful or close failed;
* a canceller: cancels some waiting and some running processes, and some workflows; now and then it cancels
  something that has already ended, on purpose, to exercise that refusal.

Every reply is classified: ok, one of the expected errors in EXPECTED_ERRORS (each is also checked against
the process's final state at the end), or unexpected. Any unexpected reply fails the run. The server's
resident memory (VmRSS) is sampled every ``--sample-every`` seconds and printed as a curve, with the growth
after warm-up and a least-squares slope. At the end the submitters stop, the executors drain the queue, the
timeouts settle, and every submitted process and workflow is fetched: each must exist and be final, each final
state must be explained by exactly one client action or one server rule, and the colony statistics must match
the clients' counts.

Output: the curve and tables for humans, and one JSON line (starting with ``{``). Usage::

    .venv/bin/python benchmarks/soak.py                      # 10 minutes on a fresh SQLite server
    .venv/bin/python benchmarks/soak.py --quick              # about 15 s of load (smoke test)
    .venv/bin/python benchmarks/soak.py --duration 300 --db postgresql://...
    .venv/bin/python benchmarks/soak.py --host 10.0.0.5 --port 50080 --server-prvkey <hex>
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench.py, also in the spawned client processes

import bench
from bench import Target, WorkerConfig, Workers

from colonies import dag
from colonies.client import RPCClient
from colonies.exceptions import ColoniesError

EXECUTOR_TYPE = "soak"
IDLE_EXECUTOR_TYPE = "soak-idle"  # no executor serves it: its processes wait until maxwaittime fails them
MAX_DURATION = 3600  # hard bound for --duration (seconds)
WAIT_EXCEEDED = "Maximum waiting time limit exceeded"
EXEC_EXCEEDED = "Maximum execution time limit exceeded"
DELIBERATE_FAILURE = "soak: deliberate failure"
STATE_NAMES = {0: "WAITING", 1: "RUNNING", 2: "SUCCESS", 3: "FAILED", 4: "CANCELLED"}
FINAL = (2, 3, 4)
#: messages an executor may send about a process it holds; all refused the same way once it no longer holds it
HOLDER_MSGS = ("closesuccessfulmsg", "closefailedmsg", "setoutputmsg", "addlogmsg")
#: a call on a process that has ended: closes get 400 (as the Go server), the other calls 403
ENDED_STATUS = {"closesuccessfulmsg": 400, "closefailedmsg": 400, "setoutputmsg": 403, "addlogmsg": 403}

#: single-process kinds: weight, and the causes of a final state that are normal for the kind
KINDS: dict[str, tuple[float, tuple[str, ...]]] = {
    "ok": (0.45, ("closed-success", "cancelled")),
    "fail": (0.15, ("closed-failed", "cancelled")),
    "expire": (0.15, ("wait-timeout", "cancelled")),
    "overrun-fail": (0.12, ("exec-timeout", "cancelled")),
    "overrun-retry": (0.13, ("closed-success", "cancelled")),
}
WORKFLOW_KINDS: dict[str, tuple[str, ...]] = {
    "wf-node": ("closed-success", "cascade", "graph-cancelled"),
    "wf-fail": ("closed-failed", "graph-cancelled"),
}


@dataclass(frozen=True)
class ExpectedError:
    name: str
    payloadtypes: tuple[str, ...]
    #: an int, or {payload type: status} where the server answers differently per message
    status: int | dict[str, int]
    pattern: str
    why: str


#: Every error reply the soak provokes on purpose or by an unavoidable race. Anything else is unexpected. Each
#: refusal is checked again at the end against the process's final state (see ``explain_refusal``).
EXPECTED_ERRORS = (
    ExpectedError(
        "assign-timeout",
        ("assignprocessmsg",),
        404,
        r"^No process available for assignment$",
        "the assign long-poll ended with nothing to do",
    ),
    ExpectedError(
        "requeued",
        HOLDER_MSGS,
        403,
        r"is not assigned to the caller",
        "the executor overran maxexectime on purpose and the timeout loop requeued the process "
        "(checked: retries >= 1 at the end)",
    ),
    ExpectedError(
        "lease-expired",
        HOLDER_MSGS,
        403,
        r"lease expired, the process was requeued and assigned again$",
        "a late call from an overrun attempt, after the requeued process came back to the same executor "
        "(checked: retries >= 1 at the end)",
    ),
    ExpectedError(
        "superseded",
        HOLDER_MSGS,
        ENDED_STATUS,
        r"is not running \(state 2\)$",
        "a late call from an overrun attempt, after a later attempt closed the process "
        "(checked: SUCCESS and retries >= 1 at the end)",
    ),
    ExpectedError(
        "exec-timeout-failed",
        HOLDER_MSGS,
        ENDED_STATUS,
        r"is not running \(state 3\)$",
        f"overran with no retries left: the timeout loop failed it (checked: FAILED with '{EXEC_EXCEEDED}')",
    ),
    ExpectedError(
        "cancelled-while-running",
        HOLDER_MSGS,
        ENDED_STATUS,
        r"is not running \(state 4\)$",
        "the canceller cancelled the process (or its workflow) while an executor ran it "
        "(checked: CANCELLED at the end)",
    ),
    ExpectedError(
        "cancel-too-late",
        ("cancelprocessmsg",),
        400,
        r"cannot be cancelled in state (SUCCESS|FAILED|CANCELLED)$",
        "the process ended between listing and cancel, or was chosen because it had ended "
        "(checked: that final state at the end)",
    ),
    ExpectedError(
        "graph-cancel-too-late",
        ("cancelprocessgraphmsg",),
        400,
        r"has already ended$",
        "the workflow ended between listing and cancel, or was chosen because it had ended "
        "(checked: final at the end)",
    ),
)


def classify(payloadtype: str, status: int, message: str) -> str:
    for e in EXPECTED_ERRORS:
        wanted = e.status.get(payloadtype) if isinstance(e.status, dict) else e.status
        if status == wanted and payloadtype in e.payloadtypes and re.search(e.pattern, message):
            return e.name
    return "unexpected"


@dataclass(frozen=True)
class Params:
    """Workload knobs shared by every client process."""

    submit_rate: float  # single submits per second, per submitter
    workflow_rate: float  # workflows per second, per workflow submitter
    cancel_interval: float  # seconds between canceller rounds
    work_ms: tuple[int, int]  # simulated work per process
    expire_wait: tuple[int, int]  # maxwaittime range of "expire" processes (s)
    overrun_margin: float  # how long past maxexectime an overrunning executor keeps the process (s)
    workflow_fail_share: float  # workflows with one failing node
    seed: int
    lease: bool = True  # send the assignment's lease (fencing token) with calls about a process


# ------------------------------------------------------------------------------------------------------------
# Client side (spawned processes)


class Recorder:
    """One client's RPCs: every reply counted by (message type, status, category); latencies of ok replies;
    refusals (expected errors about a process or workflow) kept for the final check; unexpected ones kept."""

    def __init__(self, cfg: WorkerConfig) -> None:
        self.cfg = cfg
        self.client = bench.connect(cfg)
        self.counts: Counter[tuple[str, int, str]] = Counter()
        self.latency: dict[str, list[tuple[float, float]]] = {}  # payloadtype -> [(wall time, ms)]
        self.refusals: list[tuple[str, str, str, str]] = []  # (id, payloadtype, category, message)
        self.unexpected: list[dict[str, Any]] = []

    def call(
        self, payloadtype: str, msg: dict[str, Any], about: str = "", timeout: float | None = None
    ) -> Any:
        """The reply payload, or None after an error reply (which is classified and recorded)."""
        t0 = time.time()
        try:
            payload = self.client.call(payloadtype, msg, self.cfg.prvkey, timeout=timeout)
        except ColoniesError as exc:
            category = classify(payloadtype, exc.status, exc.message)
            self.counts[(payloadtype, exc.status, category)] += 1
            if category == "unexpected":
                if len(self.unexpected) < 50:
                    self.unexpected.append(
                        {
                            "payloadtype": payloadtype,
                            "status": exc.status,
                            "message": exc.message,
                            "about": about,
                            "time": time.time(),
                        }
                    )
                if exc.status == 0:  # connection trouble: do not spin
                    time.sleep(0.5)
            elif category != "assign-timeout":
                self.refusals.append((about, payloadtype, category, exc.message))
            return None
        self.counts[(payloadtype, 200, "ok")] += 1
        if payloadtype != "assignprocessmsg":  # a long-poll's time is mostly waiting
            self.latency.setdefault(payloadtype, []).append((t0, (time.time() - t0) * 1000))
        return payload

    def report(self, **extra: Any) -> dict[str, Any]:
        self.client.close()
        return {
            "counts": [[p, s, c, n] for (p, s, c), n in self.counts.items()],
            "latency": self.latency,
            "refusals": self.refusals,
            "unexpected": self.unexpected,
            **extra,
        }


class Pacer:
    """Poisson arrivals at ``rate`` per second; never bursts to catch up after a slow call."""

    def __init__(self, rate: float, rng: random.Random) -> None:
        self.rate, self.rng, self.next = rate, rng, time.monotonic()

    def wait(self, stop: Any) -> bool:
        """Sleep until the next arrival; False once ``stop`` is set."""
        self.next += self.rng.expovariate(self.rate)
        now = time.monotonic()
        if self.next < now - 1.0:
            self.next = now
        return not stop.wait(max(0.0, self.next - now))


def single_spec(colonyname: str, kind: str, rng: random.Random, p: Params) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "funcname": f"soak-{kind}",
        "kwargs": {"kind": kind},
        "priority": 1000 if rng.random() < 0.05 else rng.randint(-5, 5),
        "maxwaittime": -1,
        "maxexectime": -1,
        "maxretries": -1,
        "label": f"soak-{kind}",
        "conditions": {"colonyname": colonyname, "executortype": EXECUTOR_TYPE},
    }
    if rng.random() < 0.2:
        spec["env"] = {"SOAK_KIND": kind, "SOAK_N": str(rng.randint(0, 999))}  # stored as ENV attributes
    if kind == "ok" and rng.random() < 0.3:
        spec["maxwaittime"] = 300  # a generous wait limit that should never fire
    elif kind == "expire":
        spec["maxwaittime"] = rng.randint(*p.expire_wait)
        spec["conditions"]["executortype"] = IDLE_EXECUTOR_TYPE
    elif kind == "overrun-fail":  # every attempt overruns: FAILED once the retries are used up
        # with maxexectime 3 an earlier attempt's late close can meet a later attempt of the same executor
        # still running: that is what the lease refuses (lease-expired)
        spec.update(maxexectime=rng.choice((1, 3)), maxretries=rng.choice((0, 1)))
        spec["kwargs"]["overrun_attempts"] = 99
    elif kind == "overrun-retry":  # the first attempt overruns, the second closes in time
        spec.update(maxexectime=2, maxretries=2)
        spec["kwargs"]["overrun_attempts"] = 1
    return spec


def submitter_worker(cfg: WorkerConfig, p: Params, idx: int, barrier: Any, stop_load: Any) -> dict[str, Any]:
    rec, rng = Recorder(cfg), random.Random(p.seed * 1000 + idx)
    kinds, weights = list(KINDS), [w for w, _ in KINDS.values()]
    submitted: list[tuple[str, str]] = []
    barrier.wait(timeout=bench.WORKER_TIMEOUT)
    pacer = Pacer(p.submit_rate, rng)
    while pacer.wait(stop_load):
        kind = rng.choices(kinds, weights)[0]
        reply = rec.call("submitfuncspecmsg", {"spec": single_spec(cfg.colonyname, kind, rng, p)})
        if reply is not None:
            submitted.append((reply["processid"], kind))
    return rec.report(submitted=submitted)


def workflow_spec(colonyname: str, rng: random.Random, p: Params) -> tuple[str, dict[str, Any]]:
    if rng.random() < 0.5:
        shape, deps = "diamond", {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]}
    else:
        n = rng.randint(3, 5)
        shape, deps = f"chain{n}", {f"n{i}": [f"n{i - 1}"] if i else [] for i in range(n)}
    failing = rng.choice(list(deps)) if rng.random() < p.workflow_fail_share else ""
    specs = []
    for name, parents in deps.items():
        kind = "wf-fail" if name == failing else "wf-node"
        specs.append(
            {
                "nodename": name,
                "funcname": "soak-fail" if kind == "wf-fail" else "soak-ok",
                "kwargs": {"kind": kind},
                "priority": rng.randint(-5, 5),
                "maxwaittime": -1,
                "maxexectime": -1,
                "maxretries": -1,
                "conditions": {
                    "colonyname": colonyname,
                    "executortype": EXECUTOR_TYPE,
                    "dependencies": parents,
                },
            }
        )
    return shape + ("-fail" if failing else ""), {"colonyname": colonyname, "functionspecs": specs}


def workflow_worker(cfg: WorkerConfig, p: Params, idx: int, barrier: Any, stop_load: Any) -> dict[str, Any]:
    rec, rng = Recorder(cfg), random.Random(p.seed * 1000 + 500 + idx)
    graphs: list[tuple[str, str, list[str]]] = []
    barrier.wait(timeout=bench.WORKER_TIMEOUT)
    pacer = Pacer(p.workflow_rate, rng)
    while pacer.wait(stop_load):
        shape, spec = workflow_spec(cfg.colonyname, rng, p)
        reply = rec.call("submitworkflowspecmsg", {"spec": spec})
        if reply is not None:
            graphs.append((reply["processgraphid"], shape, list(reply["processids"])))
    return rec.report(graphs=graphs)


def canceller_worker(cfg: WorkerConfig, p: Params, barrier: Any, stop_load: Any) -> dict[str, Any]:
    rec, rng = Recorder(cfg), random.Random(p.seed * 1000 + 900)
    cancelled: list[str] = []
    graphs_cancelled: list[str] = []
    colony = cfg.colonyname

    def listed(state: int, count: int) -> list[dict[str, Any]]:
        msg = {"colonyname": colony, "state": state, "count": count}
        return [r for r in rec.call("getprocessesmsg", msg) or [] if not r["processgraphid"]]

    def cancel(process: dict[str, Any]) -> None:
        if (
            rec.call("cancelprocessmsg", {"processid": process["processid"]}, process["processid"])
            is not None
        ):
            cancelled.append(process["processid"])

    def cancel_graph(state: int) -> None:
        found = rec.call("getprocessgraphsmsg", {"colonyname": colony, "state": state, "count": 20}) or []
        if found:
            graphid = rng.choice(found)["processgraphid"]
            if rec.call("cancelprocessgraphmsg", {"processgraphid": graphid}, graphid) is not None:
                graphs_cancelled.append(graphid)

    barrier.wait(timeout=bench.WORKER_TIMEOUT)
    while not stop_load.wait(p.cancel_interval * rng.uniform(0.5, 1.5)):
        if rng.random() < 0.5 and (waiting := listed(0, 50)):
            cancel(rng.choice(waiting))
        if rng.random() < 0.3 and (running := listed(1, 20)):
            cancel(rng.choice(running))
        if rng.random() < 0.1 and (ended := listed(rng.choice((2, 3)), 5)):
            cancel(rng.choice(ended))  # refused on purpose: cancel-too-late
        if rng.random() < 0.1:
            cancel_graph(rng.choice((0, 1)))
        if rng.random() < 0.03:
            cancel_graph(2)  # refused on purpose: graph-cancel-too-late
    return rec.report(cancelled=cancelled, graphs_cancelled=graphs_cancelled)


def executor_worker(
    cfg: WorkerConfig, p: Params, idx: int, barrier: Any, stop_load: Any, stop_exec: Any
) -> dict[str, Any]:
    """Loop assign -> work -> log/output -> close. ``overrun`` processes are held past their maxexectime
    (while this executor goes on assigning others) and then closed, which the server must refuse.

    Like the project's SDK, every call about a process carries its ``lease`` (the assignment's starttime), so
    an attempt that overran is refused even when the requeued process came back to this same executor; each
    attempt is held on its own. With ``p.lease`` off (what Go clients do) a new assignment of a process ends
    the hold of the previous one instead, or the late close would close the new attempt.
    """
    rec, rng = Recorder(cfg), random.Random(p.seed * 1000 + 100 + idx)
    holding: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}  # (processid, lease) -> (due, process)
    stats: Counter[str] = Counter()
    closed_ok: list[tuple[str, str]] = []  # (processid, "success" | "failed")
    at_load_end: dict[str, int] = {}

    def msg(process: dict[str, Any], **fields: Any) -> dict[str, Any]:
        lease = {"lease": process["starttime"]} if p.lease else {}
        return {"processid": process["processid"], **fields, **lease}

    def close(process: dict[str, Any], success: bool, overran: bool = False) -> None:
        pid = process["processid"]
        if success:
            if rng.random() < 0.3 and rec.call("setoutputmsg", msg(process, out=["partial"]), pid) is None:
                stats["refused"] += 1
            out = [pid[:8], process["retries"]]
            ok = rec.call("closesuccessfulmsg", msg(process, out=out), pid) is not None
        else:
            ok = rec.call("closefailedmsg", msg(process, errors=[DELIBERATE_FAILURE]), pid) is not None
        if ok:
            closed_ok.append((pid, "success" if success else "failed"))
            stats["closed_success" if success else "closed_failed"] += 1
            if overran:
                stats["overrun_close_accepted"] += 1  # the timeout loop was later than overrun_margin
        else:
            stats["close_refused"] += 1

    def handle(process: dict[str, Any]) -> None:
        pid, spec = process["processid"], process["spec"]
        kwargs = spec.get("kwargs") or {}
        if process["retries"] < int(kwargs.get("overrun_attempts", 0)):
            rec.call("addlogmsg", msg(process, message=f"attempt {process['retries']}: overrunning"), pid)
            due = time.monotonic() + spec["maxexectime"] + p.overrun_margin
            holding[(pid, process["starttime"])] = (due, process)
            stats["overrun_holds"] += 1
            return
        time.sleep(rng.uniform(*p.work_ms) / 1000)
        if rng.random() < 0.5:
            rec.call("addlogmsg", msg(process, message=f"soak {kwargs.get('kind')} working"), pid)
        close(process, spec["funcname"] != "soak-fail")

    barrier.wait(timeout=bench.WORKER_TIMEOUT)
    while not stop_exec.is_set():
        if stop_load.is_set() and not at_load_end:
            at_load_end = {**stats, "assigned": stats["assigned"]}
        now = time.monotonic()
        for key, (due, process) in list(holding.items()):
            if due <= now:
                del holding[key]
                close(process, True, overran=True)
        soonest = min((due for due, _ in holding.values()), default=now + 2)
        timeout = 1 if soonest - now < 2 else 2
        assign = {"colonyname": cfg.colonyname, "timeout": timeout}
        process = rec.call("assignprocessmsg", assign, timeout=timeout + 30)
        if process is None:
            continue
        stats["assigned"] += 1
        if not p.lease:  # requeued and now assigned to us again: the old attempt is over
            for key in [k for k in holding if k[0] == process["processid"]]:
                del holding[key]
        handle(process)
    for _, process in holding.values():  # everything is final by now: these are refused
        close(process, True, overran=True)
    return rec.report(stats=dict(stats), at_load_end=at_load_end or dict(stats), closed_ok=closed_ok)


# ------------------------------------------------------------------------------------------------------------
# Parent side: RSS sampling


def proc_status(pid: int | None) -> dict[str, float]:
    """VmRSS and VmHWM of a local process in MB (Linux /proc), or {} when unavailable."""
    if pid is None:
        return {}
    out: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "Threads"):
                number = float(value.split()[0])
                out[key] = number if key == "Threads" else number / 1024  # kB -> MB
    except (OSError, ValueError, IndexError):
        return {}
    return out


def sqlite_size_mb(db: str) -> float | None:
    """Size of a SQLite database file in MB (None for other databases; the WAL is left out, its file keeps its
    largest size). The server gives each of its two SQLite connections a page cache of up to 64 MB, so its RSS
    follows the database size up to there."""
    if not db.startswith("sqlite:///"):
        return None
    try:
        return os.path.getsize(db.removeprefix("sqlite:///")) / 2**20
    except OSError:
        return None


class Sampler(threading.Thread):
    """Every ``every`` s: server RSS, server CPU, and the colony's process counts (queue depth)."""

    def __init__(self, target: Target, colonyname: str, prvkey: str, every: float) -> None:
        super().__init__(daemon=True)
        self.target, self.colonyname, self.prvkey, self.every = target, colonyname, prvkey, every
        self.samples: list[dict[str, Any]] = []
        self.phase = "load"
        self.stopped = threading.Event()
        self.t0 = time.monotonic()
        self.client = RPCClient(target.host, target.port, timeout=30)
        self.cpu_prev: tuple[float, float | None] = (self.t0, bench.server_cpu_seconds(target.pid))

    def sample(self) -> dict[str, Any]:
        now = time.monotonic()
        row: dict[str, Any] = {"t": round(now - self.t0, 1), "phase": self.phase}
        status = proc_status(self.target.pid)
        if "VmRSS" in status:
            row["rss_mb"] = round(status["VmRSS"], 1)
            row["hwm_mb"] = round(status.get("VmHWM", 0.0), 1)
            row["threads"] = int(status.get("Threads", 0))
        if (db_mb := sqlite_size_mb(self.target.db)) is not None:
            row["db_mb"] = round(db_mb, 1)
        cpu = bench.server_cpu_seconds(self.target.pid)
        t_prev, cpu_prev = self.cpu_prev
        if cpu is not None and cpu_prev is not None and now > t_prev:
            row["server_cpu"] = round((cpu - cpu_prev) / (now - t_prev), 2)
        self.cpu_prev = (now, cpu)
        try:
            stats = self.client.call("getcolonystatsmsg", {"colonyname": self.colonyname}, self.prvkey)
            for key in ("waiting", "running", "successful", "failed", "cancelled"):
                row[key] = stats[f"{key}processes"]
        except ColoniesError as exc:
            row["stats_error"] = str(exc)
        self.samples.append(row)
        return row

    def run(self) -> None:
        self.sample()
        k = 1
        while not self.stopped.wait(max(0.0, self.t0 + k * self.every - time.monotonic())):
            self.sample()
            k += 1

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=30)
        self.phase = "end"
        self.sample()
        self.client.close()


def least_squares_slope(points: list[tuple[float, float]]) -> float:
    """Slope of y over x (units of y per unit of x); 0 for fewer than two points."""
    if len(points) < 2:
        return 0.0
    mx = statistics.fmean(x for x, _ in points)
    my = statistics.fmean(y for _, y in points)
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0


def rss_summary(samples: list[dict[str, Any]], warmup: float, load_end: float) -> dict[str, Any]:
    """Growth after warm-up and the least-squares slope over the load phase, and the verdict.

    Threshold for "flat": growth below max(20 MB, 10 % of the post-warm-up RSS). At the default rates the
    server answers about 45 RPCs/s and takes about 12 processes/s, some 24,000 requests and 6,500 processes in
    the 9 minutes after warm-up; 20 MB over that is ~850 bytes per request or ~3 KB per process, so a leak
    of a small object per request or per process (a dict, a row, a waiter) shows up, while the normal plateau
    of the allocator and the connection pools does not.

    On SQLite the server's RSS also holds SQLite's page cache: two connections (writer and reader), each
    allowed 64 MB (PRAGMA cache_size = -65536), which fill as the database grows. That growth is bounded and
    not a leak, so on SQLite the verdict subtracts an allowance of twice the database growth over the same
    window (counting the database up to 64 MB); the raw growth is reported as well. Growth beyond the
    allowance of more than 5x the threshold fails the run.
    """
    points = [(s["t"], s["rss_mb"]) for s in samples if "rss_mb" in s and s["phase"] == "load"]
    if not points:
        return {"available": False}
    steady = [
        s for s in samples if "rss_mb" in s and s["phase"] == "load" and warmup <= s["t"] <= load_end + 1
    ]
    steady = steady or [s for s in samples if "rss_mb" in s and s["phase"] == "load"][-1:]
    first, last = steady[0], steady[-1]
    start, end = first["rss_mb"], last["rss_mb"]
    growth = end - start
    threshold = max(20.0, 0.10 * start)
    slope = least_squares_slope([(s["t"], s["rss_mb"]) for s in steady]) * 60
    allowance = 0.0
    if "db_mb" in first and "db_mb" in last:
        allowance = 2 * max(0.0, min(last["db_mb"], 64.0) - min(first["db_mb"], 64.0))
    beyond = growth - allowance
    if growth < threshold:
        verdict = "flat"
    elif beyond < threshold:
        verdict = "flat beyond the SQLite page cache"
    else:
        verdict = "growing"
    return {
        "available": True,
        "first_mb": points[0][1],
        "start_mb": start,
        "start_t": first["t"],
        "end_mb": end,
        "end_t": last["t"],
        "growth_mb": round(growth, 1),
        "growth_pct": round(100 * growth / start, 1) if start else 0.0,
        "slope_mb_per_min": round(slope, 3),
        "threshold_mb": round(threshold, 1),
        "db_start_mb": first.get("db_mb"),
        "db_end_mb": last.get("db_mb"),
        "page_cache_allowance_mb": round(allowance, 1),
        "growth_beyond_allowance_mb": round(beyond, 1),
        "verdict": verdict,
        "flat": verdict != "growing",
        "grossly_exceeded": beyond > 5 * threshold,
        "peak_mb": max((s.get("hwm_mb", 0.0) for s in samples), default=0.0),
        "final_mb": next((s["rss_mb"] for s in reversed(samples) if "rss_mb" in s), None),
    }


# ------------------------------------------------------------------------------------------------------------
# Parent side: accounting


def explain_refusal(category: str, message: str, process: dict[str, Any] | None) -> bool:
    """Whether an expected refusal agrees with the final state of the process (or workflow) it was about."""
    if process is None:
        return False
    if category in ("requeued", "lease-expired"):
        return process["retries"] >= 1
    if category == "superseded":
        return process["state"] == 2 and process["retries"] >= 1
    if category == "exec-timeout-failed":
        return process["state"] == 3 and list(process.get("errors") or []) == [EXEC_EXCEEDED]
    if category == "cancelled-while-running":
        return process["state"] == 4
    if category == "cancel-too-late":
        match = re.search(r"in state (\w+)$", message)
        return bool(match) and STATE_NAMES.get(process["state"]) == match.group(1)
    if category == "graph-cancel-too-late":
        return process["state"] in FINAL
    return False


def cause_of(process: dict[str, Any], closes: list[str], cancels: int, graph_cancelled: bool) -> str:
    """Why a final process is in its state: one client action or one server rule, else 'unexplained: ...'."""
    state, errors = process["state"], list(process.get("errors") or [])
    actions = len(closes) + cancels
    if actions > 1:
        return f"unexplained: {actions} accepted closes/cancels"
    if state == 2:
        return "closed-success" if closes == ["success"] else "unexplained: SUCCESS without an accepted close"
    if state == 4:
        if closes:  # e.g. a workflow cancel that overwrote a close it raced with
            return f"unexplained: CANCELLED after an accepted close ({closes[0]})"
        if cancels == 1:
            return "cancelled"
        if graph_cancelled:
            return "graph-cancelled"
        return "unexplained: CANCELLED without an accepted cancel"
    if state == 3:
        if closes == ["failed"]:
            return "closed-failed" if errors == [DELIBERATE_FAILURE] else f"unexplained: errors {errors}"
        if actions:
            return "unexplained: FAILED after an accepted close/cancel"
        spec = process["spec"]
        if errors == [WAIT_EXCEEDED] and spec["maxwaittime"] > 0:
            return "wait-timeout"
        if errors == [EXEC_EXCEEDED] and spec["maxexectime"] > 0:
            return "exec-timeout"
        if process["processgraphid"] and len(errors) == 1 and errors[0].startswith("Parent process "):
            return "cascade"
        return f"unexplained: FAILED with errors {errors}"
    return f"not final: {STATE_NAMES.get(state, state)}"


def fetch_all(target: Target, prvkey: str, payloadtype: str, key: str, ids: list[str]) -> dict[str, Any]:
    """id -> reply (None when the fetch failed), 4 threads on one pooled client."""
    client = RPCClient(target.host, target.port, timeout=60)

    def get(one: str) -> tuple[str, Any]:
        try:
            return one, client.call(payloadtype, {key: one}, prvkey)
        except ColoniesError as exc:
            return one, {"_error": f"{exc.status} {exc.message}"}

    try:
        with ThreadPoolExecutor(4) as pool:
            return dict(pool.map(get, ids))
    finally:
        client.close()


def account(
    target: Target, colonyname: str, prvkey: str, reports: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    """Fetch every submitted process and workflow and check that each end state is explained exactly once."""
    singles = {pid: (i, kind) for i, r in enumerate(reports["submitter"]) for pid, kind in r["submitted"]}
    graphs = {
        gid: (i, shape, pids) for i, r in enumerate(reports["workflow"]) for gid, shape, pids in r["graphs"]
    }
    owner = {pid: ("submitter", i) for pid, (i, _) in singles.items()}
    for gid, (i, _, pids) in graphs.items():
        owner.update({pid: ("workflow", i) for pid in pids})
    t0 = time.monotonic()
    processes = fetch_all(target, prvkey, "getprocessmsg", "processid", list(owner))
    graph_rows = fetch_all(target, prvkey, "getprocessgraphmsg", "processgraphid", list(graphs))
    fetch_s = time.monotonic() - t0

    closes: dict[str, list[str]] = {}
    for r in reports["executor"]:
        for pid, how in r["closed_ok"]:
            closes.setdefault(pid, []).append(how)
    cancels = Counter(pid for r in reports["canceller"] for pid in r["cancelled"])
    graph_cancels = Counter(gid for r in reports["canceller"] for gid in r["graphs_cancelled"])
    problems: list[str] = []
    causes: dict[str, str] = {}
    kind_table: dict[str, Counter[str]] = {}
    deviations: Counter[str] = Counter()
    for pid, process in processes.items():
        if process is None or "_error" in process:
            causes[pid] = "lost: " + (process or {}).get("_error", "no reply")
            continue
        gid = process["processgraphid"]
        cause = cause_of(process, closes.get(pid, []), cancels[pid], bool(gid) and graph_cancels[gid] > 0)
        causes[pid] = cause
        kind = (process["spec"].get("kwargs") or {}).get("kind", "?")
        kind_table.setdefault(kind, Counter())[cause] += 1
        normal = KINDS.get(kind, (0, ()))[1] or WORKFLOW_KINDS.get(kind, ())
        if not cause.startswith(("unexplained", "not final")) and cause not in normal:
            deviations[f"{kind} ended {cause}"] += 1
    for pid, cause in causes.items():
        if cause.startswith(("lost", "unexplained", "not final")):
            row = processes.get(pid) or {}
            where = f" (workflow {row['processgraphid']})" if row.get("processgraphid") else ""
            problems.append(f"process {pid}{where}: {cause}")
    unknown_closes = [pid for pid in closes if pid not in owner]
    unknown_cancels = [pid for pid in cancels if pid not in owner]
    if unknown_closes or unknown_cancels:
        problems.append(
            f"closes/cancels of processes nobody submitted: {unknown_closes[:5]} {unknown_cancels[:5]}"
        )
    closed_twice = sorted(pid for pid, c in closes.items() if len(c) + cancels[pid] > 1)
    closed_twice += sorted(pid for pid, n in cancels.items() if n > 1 and pid not in closes)

    # workflows: final, and in the state their processes' states give (or CANCELLED when we cancelled them)
    graph_problems = 0
    graph_states: Counter[str] = Counter()
    for gid, graph in graph_rows.items():
        if graph is None or "_error" in graph:
            problems.append(f"workflow {gid}: lost ({(graph or {}).get('_error')})")
            graph_problems += 1
            continue
        states = Counter(processes[pid]["state"] for pid in graphs[gid][2] if "_error" not in processes[pid])
        expected = 4 if graph_cancels[gid] else dag.graph_state(states)
        graph_states[STATE_NAMES.get(graph["state"], str(graph["state"]))] += 1
        if graph["state"] != expected or sorted(graph["processids"]) != sorted(graphs[gid][2]):
            problems.append(
                f"workflow {gid}: state {graph['state']}, expected {expected} "
                f"from process states {dict(states)}"
            )
            graph_problems += 1

    # refusals: each must agree with the final state of what it was about
    refusals: Counter[str] = Counter()
    unexplained_refusals: list[str] = []
    for role in ("executor", "canceller"):
        for r in reports[role]:
            for about, payloadtype, category, message in r["refusals"]:
                row = graph_rows.get(about) if category == "graph-cancel-too-late" else processes.get(about)
                if row is not None and "_error" in row:
                    row = None
                if explain_refusal(category, message, row):
                    refusals[category] += 1
                else:
                    unexplained_refusals.append(f"{payloadtype} {category} on {about}: {message}")
    problems += [f"refusal not explained by the final state: {u}" for u in unexplained_refusals[:20]]

    # per client: submitted = succeeded + failed + cancelled, lost = 0
    clients = []
    for role in ("submitter", "workflow"):
        for i, r in enumerate(reports[role]):
            pids = (
                [pid for pid, _ in r["submitted"]]
                if role == "submitter"
                else [pid for _, _, ps in r["graphs"] for pid in ps]
            )
            by_state = Counter(processes[pid].get("state", -1) if processes[pid] else -1 for pid in pids)
            row = {
                "client": f"{role}-{i}",
                "submitted": len(pids),
                "workflows": len(r["graphs"]) if role == "workflow" else None,
                "succeeded": by_state[2],
                "failed": by_state[3],
                "cancelled": by_state[4],
                "lost": len(pids) - by_state[2] - by_state[3] - by_state[4],
            }
            row["balanced"] = row["submitted"] == row["succeeded"] + row["failed"] + row["cancelled"]
            clients.append(row)

    # the server's own counters for the colony must match ours (nothing extra, nothing missing)
    with RPCClient(target.host, target.port, timeout=60) as client:
        stats = client.call("getcolonystatsmsg", {"colonyname": colonyname}, prvkey)
    ours = Counter(p["state"] for p in processes.values() if p and "_error" not in p)
    colony_check = {
        "waiting": (stats["waitingprocesses"], ours[0]),
        "running": (stats["runningprocesses"], ours[1]),
        "successful": (stats["successfulprocesses"], ours[2]),
        "failed": (stats["failedprocesses"], ours[3]),
        "cancelled": (stats["cancelledprocesses"], ours[4]),
        "workflows": (
            sum(stats[f"{s}workflows"] for s in ("waiting", "running", "successful", "failed", "cancelled")),
            len(graphs),
        ),
    }
    for key, (server, client_count) in colony_check.items():
        if server != client_count:
            problems.append(f"colony statistics: {key} {server} on the server, {client_count} by the clients")

    total = len(owner)
    lost = sum(1 for c in causes.values() if c.startswith(("lost", "not final")))
    return {
        "processes": total,
        "single_processes": len(singles),
        "workflows": len(graphs),
        "succeeded": ours[2],
        "failed": ours[3],
        "cancelled": ours[4],
        "lost": lost,
        "unexplained": sum(1 for c in causes.values() if c.startswith("unexplained")),
        "closed_twice": len(closed_twice),
        "closed_twice_ids": closed_twice[:10],
        "graph_problems": graph_problems,
        "graph_states": dict(graph_states),
        "refusals_explained": dict(refusals),
        "refusals_unexplained": len(unexplained_refusals),
        "causes": dict(
            Counter(c if not c.startswith("unexplained") else "unexplained" for c in causes.values())
        ),
        "kinds": {k: dict(v) for k, v in sorted(kind_table.items())},
        "kind_deviations": dict(deviations),
        "clients": clients,
        "colony_statistics": {k: {"server": s, "clients": c} for k, (s, c) in colony_check.items()},
        "fetch_s": round(fetch_s, 1),
        "problems": problems[:40],
        "problem_count": len(problems),
        "ok": not problems and lost == 0 and not closed_twice,
    }


# ------------------------------------------------------------------------------------------------------------
# Parent side: the run


def roles(clients: int) -> dict[str, int]:
    """How the client processes are split: 1 canceller, ~1/8 workflow submitters, ~1/4 submitters, the rest
    executors (at least 2)."""
    if clients < 5:
        raise ValueError(
            "--clients must be at least 5 (submitter, workflow submitter, canceller, 2 executors)"
        )
    workflow = max(1, clients // 8)
    submitter = max(1, clients // 4)
    return {
        "submitter": submitter,
        "workflow": workflow,
        "canceller": 1,
        "executor": clients - submitter - workflow - 1,
    }


def merge_counts(reports: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """payloadtype -> {"200": n, "404 assign-timeout": n, "500 unexpected": n, ...}"""
    merged: dict[str, Counter[str]] = {}
    for r in reports:
        for payloadtype, status, category, n in r["counts"]:
            key = "200" if category == "ok" else f"{status} {category}"
            merged.setdefault(payloadtype, Counter())[key] += n
    return {p: dict(sorted(c.items())) for p, c in sorted(merged.items())}


def latency_windows(
    reports: list[dict[str, Any]], t0_wall: float, warmup: float, load_end: float
) -> dict[str, Any]:
    """p50/p99 of ok replies (all types but assign) in the first and the last minute after warm-up: a server
    that slows down as its tables grow shows it here."""
    samples = sorted((t - t0_wall, ms) for r in reports for lat in r["latency"].values() for t, ms in lat)
    width = min(60.0, max(1.0, (load_end - warmup) / 3))
    out = {}
    for name, lo in (("first", warmup), ("last", load_end - width)):
        window = sorted(ms for t, ms in samples if lo <= t < lo + width)
        if window:
            out[name] = {
                "from_s": round(lo, 1),
                "to_s": round(lo + width, 1),
                "calls": len(window),
                "p50_ms": round(bench.percentile(window, 50), 2),
                "p99_ms": round(bench.percentile(window, 99), 2),
            }
    return out


def run_soak(target: Target, opts: argparse.Namespace, p: Params) -> dict[str, Any]:
    """The run in a fresh colony, which is removed at the end (also after a failure)."""
    colony = bench.create_colony(target, opts.clients + 1, EXECUTOR_TYPE)
    try:
        return soak_in(colony, target, opts, p)
    finally:
        t_rm = time.monotonic()
        bench.remove_colony(target, colony, timeout=600)
        print(f"removed colony {colony.name} in {time.monotonic() - t_rm:.1f} s", flush=True)


def soak_in(colony: bench.BenchColony, target: Target, opts: argparse.Namespace, p: Params) -> dict[str, Any]:
    split = roles(opts.clients)
    observer_key = colony.executor_prvkeys[-1]  # the parent's own member key (never assigns)
    cfgs = iter(bench.configs(target, colony, opts, EXECUTOR_TYPE))
    print(f"colony {colony.name}: {split}", flush=True)
    load, execs = Workers(), Workers()
    ctx = load.ctx
    barrier = ctx.Barrier(opts.clients + 1)
    stop_load, stop_exec = ctx.Event(), ctx.Event()
    order: list[str] = []
    for i in range(split["submitter"]):
        load.start(submitter_worker, barrier, next(cfgs), p, i, barrier, stop_load)
        order.append("submitter")
    for i in range(split["workflow"]):
        load.start(workflow_worker, barrier, next(cfgs), p, i, barrier, stop_load)
        order.append("workflow")
    load.start(canceller_worker, barrier, next(cfgs), p, barrier, stop_load)
    order.append("canceller")
    for i in range(split["executor"]):
        execs.start(executor_worker, barrier, next(cfgs), p, i, barrier, stop_load, stop_exec)
    try:
        bench.barrier_wait(barrier)  # every client connected
        t0_wall = time.time()
        sampler = Sampler(target, colony.name, observer_key, opts.sample_every)
        sampler.start()
        warmup = min(60.0, 0.2 * opts.duration)
        deadline = sampler.t0 + opts.duration
        printed = 0  # samples shown so far (--progress)
        while (now := time.monotonic()) < deadline:
            time.sleep(min(1.0, deadline - now))
            if any(pr.exitcode not in (None, 0) for pr in load.procs + execs.procs) or barrier.broken:
                raise RuntimeError("a client process died during the load phase")
            if opts.progress and len(sampler.samples) > printed:
                printed = len(sampler.samples)
                row = sampler.samples[-1]
                done = sum(row.get(k, 0) for k in ("successful", "failed", "cancelled"))
                print(
                    f"  t={row['t']:6.0f}s  rss {row.get('rss_mb', '-')} MB  waiting {row.get('waiting')}  "
                    f"running {row.get('running')}  done {done}",
                    flush=True,
                )
        load_end = time.monotonic() - sampler.t0
        stop_load.set()
        sampler.phase = "drain"
        load_reports = load.collect(timeout=120)
        # drain: executors keep going until nothing of ours is waiting or running (timeouts included), bounded
        drain_start = time.monotonic()
        settled = False
        with RPCClient(target.host, target.port, timeout=30) as client:
            while time.monotonic() - drain_start < opts.drain_timeout:
                stats = client.call("getcolonystatsmsg", {"colonyname": colony.name}, observer_key)
                if stats["waitingprocesses"] == 0 and stats["runningprocesses"] == 0:
                    settled = True
                    break
                time.sleep(0.5)
        drain_s = time.monotonic() - drain_start
        stop_exec.set()
        exec_reports = execs.collect(timeout=120)
        sampler.stop()
    except BaseException:
        stop_load.set()
        stop_exec.set()
        load.terminate()
        execs.terminate()
        raise
    reports: dict[str, list[dict[str, Any]]] = {
        "submitter": [],
        "workflow": [],
        "canceller": [],
        "executor": exec_reports,
    }
    for role, report in zip(order, load_reports):
        reports[role].append(report)
    print(
        f"load phase {load_end:.0f} s; drain {drain_s:.1f} s ({'settled' if settled else 'DID NOT SETTLE'}); "
        "accounting...",
        flush=True,
    )
    accounting = account(target, colony.name, observer_key, reports)
    all_reports = [r for rs in reports.values() for r in rs]
    return {
        "reports": reports,
        "all_reports": all_reports,
        "samples": sampler.samples,
        "t0_wall": t0_wall,
        "warmup": warmup,
        "load_end": load_end,
        "drain_s": drain_s,
        "settled": settled,
        "accounting": accounting,
        "split": split,
    }


def rates(result: dict[str, Any]) -> dict[str, float]:
    reports, seconds = result["reports"], result["load_end"]
    submits = sum(len(r["submitted"]) for r in reports["submitter"])
    wfs = sum(len(r["graphs"]) for r in reports["workflow"])
    wf_procs = sum(len(ps) for r in reports["workflow"] for _, _, ps in r["graphs"])
    ends = Counter()
    for r in reports["executor"]:
        ends.update(r["at_load_end"])
    cancels = sum(len(r["cancelled"]) for r in reports["canceller"])
    calls = sum(n for r in result["all_reports"] for *_, n in r["counts"])
    return {
        "single_submits_per_s": round(submits / seconds, 2),
        "workflows_per_s": round(wfs / seconds, 3),
        "workflow_processes_per_s": round(wf_procs / seconds, 2),
        "assigns_per_s": round(ends["assigned"] / seconds, 2),
        "closes_success_per_s": round(ends["closed_success"] / seconds, 2),
        "closes_failed_per_s": round(ends["closed_failed"] / seconds, 2),
        "process_cancels_per_s": round(cancels / seconds, 3),
        "rpc_per_s_all_phases": round(calls / (seconds + result["drain_s"]), 1),
    }


# ------------------------------------------------------------------------------------------------------------
# Printing


def print_curve(samples: list[dict[str, Any]], rss: dict[str, Any]) -> None:
    print(
        "\nServer RSS curve, one row per sample (MB; peak = VmHWM; db = SQLite file; "
        "thr = server threads;\ncpu = server CPU cores busy since the previous sample; "
        "then the colony's processes by state):"
    )
    print(
        f"  {'t (s)':>7} {'phase':<6} {'RSS':>7} {'Δstart':>7} {'peak':>7} {'db':>6} {'thr':>4} {'cpu':>5} "
        f"{'wait':>5} {'run':>4} {'success':>8} {'failed':>7} {'cancel':>7}"
    )
    base = rss.get("start_mb")
    for s in samples:
        rss_mb = s.get("rss_mb")
        delta = f"{rss_mb - base:+7.1f}" if rss_mb is not None and base is not None else f"{'-':>7}"
        print(
            f"  {s['t']:7.1f} {s['phase']:<6} {rss_mb if rss_mb is not None else '-':>7} {delta} "
            f"{s.get('hwm_mb', '-'):>7} {s.get('db_mb', '-'):>6} {s.get('threads', '-'):>4} "
            f"{s.get('server_cpu', '-'):>5} "
            f"{s.get('waiting', '-'):>5} {s.get('running', '-'):>4} {s.get('successful', '-'):>8} "
            f"{s.get('failed', '-'):>7} {s.get('cancelled', '-'):>7}"
        )


def print_replies(replies: dict[str, dict[str, int]]) -> None:
    print(
        "\nReplies by message type and status (expected errors named; anything 'unexpected' fails the run):"
    )
    for payloadtype, counts in replies.items():
        parts = ", ".join(f"{k}: {v}" for k, v in counts.items())
        print(f"  {payloadtype:<24} {parts}")
    print("  expected errors:")
    for e in EXPECTED_ERRORS:
        print(f"    {e.name:<24} {e.status} on {'/'.join(e.payloadtypes)} matching /{e.pattern}/ -- {e.why}")


def print_accounting(acc: dict[str, Any]) -> None:
    print("\nAccounting (every submitted process fetched after the drain):")
    print(
        f"  {'client':<12} {'submitted':>9} {'workflows':>9} {'succeeded':>9} {'failed':>7} {'cancelled':>9} "
        f"{'lost':>5}  balanced"
    )
    for c in acc["clients"]:
        wf = c["workflows"] if c["workflows"] is not None else "-"
        print(
            f"  {c['client']:<12} {c['submitted']:>9} {wf:>9} {c['succeeded']:>9} {c['failed']:>7} "
            f"{c['cancelled']:>9} {c['lost']:>5}  {'yes' if c['balanced'] else 'NO'}"
        )
    print(
        f"  {'total':<12} {acc['processes']:>9} {acc['workflows']:>9} {acc['succeeded']:>9} "
        f"{acc['failed']:>7} "
        f"{acc['cancelled']:>9} {acc['lost']:>5}"
    )
    print("  final state by kind and cause:")
    for kind, causes in acc["kinds"].items():
        print(f"    {kind:<14} " + ", ".join(f"{c} {n}" for c, n in sorted(causes.items())))
    print(
        f"  workflows by final state: {acc['graph_states']}; "
        f"workflow state mismatches: {acc['graph_problems']}"
    )
    print(
        f"  closed/cancelled twice: {acc['closed_twice']}; unexplained end states: {acc['unexplained']}; "
        f"lost: {acc['lost']}"
    )
    print(
        f"  expected refusals checked against final states: {acc['refusals_explained']}; "
        f"not explained: {acc['refusals_unexplained']}"
    )
    stats = ", ".join(f"{k} {v['server']}/{v['clients']}" for k, v in acc["colony_statistics"].items())
    print(f"  colony statistics, server/clients: {stats}")
    if acc["kind_deviations"]:
        print(f"  (warning) kinds that ended in an unusual but legitimate way: {acc['kind_deviations']}")
    for problem in acc["problems"]:
        print(f"  PROBLEM: {problem}")


# ------------------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    bench.add_server_args(p, "soak")
    p.add_argument(
        "--duration",
        type=float,
        help=f"load phase in seconds (default 600, quick 12; at most {MAX_DURATION})",
    )
    p.add_argument("--quick", action="store_true", help="smoke run: 12 s of load, 6 clients, 1 s samples")
    p.add_argument("--clients", type=int, help="client processes (default 8, quick 6; at least 5)")
    p.add_argument("--sample-every", type=float, help="seconds between RSS samples (default 10, quick 1)")
    p.add_argument("--rate", type=float, default=4.0, help="single submits/s per submitter (default 4)")
    p.add_argument("--workflow-rate", type=float, default=1.0, help="workflows/s per workflow submitter")
    p.add_argument(
        "--drain-timeout", type=float, help="longest wait for the queue to settle (default 180, quick 30)"
    )
    p.add_argument("--seed", type=int, default=1, help="random seed of the workload")
    p.add_argument(
        "--no-lease",
        action="store_true",
        help="executors send no lease (as Go clients); a new assignment of a process ends the old hold",
    )
    p.add_argument("--progress", action="store_true", help="print each sample as it is taken")
    p.add_argument("--keep-server-dir", action="store_true", help="keep the self-started server's temp dir")
    opts = p.parse_args(argv)
    opts.duration = opts.duration or (12.0 if opts.quick else 600.0)
    opts.clients = opts.clients or (6 if opts.quick else 8)
    opts.sample_every = opts.sample_every or (1.0 if opts.quick else 10.0)
    opts.drain_timeout = opts.drain_timeout or (30.0 if opts.quick else 180.0)
    opts.transport = "rpc"
    if not 1 <= opts.duration <= MAX_DURATION:
        p.error(f"--duration must be between 1 and {MAX_DURATION} seconds")
    if opts.clients < 5:
        p.error("--clients must be at least 5 (submitter, workflow submitter, canceller, 2 executors)")
    if opts.sample_every <= 0 or opts.rate <= 0 or opts.workflow_rate <= 0:
        p.error("--sample-every, --rate and --workflow-rate must be positive")
    if opts.host and not opts.server_prvkey:
        p.error("--host needs the server owner key (--server-prvkey or COLONIES_SERVER_PRVKEY)")
    return opts


def server_log_errors(target: Target) -> list[str]:
    """Tracebacks and ERROR lines in the self-started server's log."""
    if not target.tmpdir:
        return []
    try:
        text = Path(target.tmpdir, "server.log").read_text(errors="replace")
    except OSError:
        return []
    return [line for line in text.splitlines() if "Traceback" in line or " ERROR" in line or "ERROR:" in line]


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    params = Params(
        submit_rate=opts.rate,
        workflow_rate=opts.workflow_rate,
        cancel_interval=1.0,
        work_ms=(10, 100),
        expire_wait=(1, 3) if opts.quick else (2, 6),
        overrun_margin=2.5,
        workflow_fail_share=0.15,
        seed=opts.seed,
        lease=not opts.no_lease,
    )
    machine = bench.machine_info()
    print(
        f"Colonies for Python soak -- commit {machine['commit']}, Python {machine['python']}, "
        f"{machine['cpus']} CPUs ({machine.get('cpu_model', '?')})",
        flush=True,
    )
    busy = bench.machine_busy_cores(1.0)
    if busy is not None and busy > 0.25:
        print(f"warning: {busy} CPU cores are busy with other programs", flush=True)
    if opts.host:
        target = Target(opts.host, opts.port, opts.server_prvkey)
        print(f"server: {opts.host}:{opts.port} (already running; its RSS is not available)", flush=True)
    else:
        target = bench.start_server(opts.db)
        print(
            f"server: started pid {target.pid} on 127.0.0.1:{target.port}, database {target.db}", flush=True
        )
    print(
        f"load: {opts.duration:.0f} s, {opts.clients} clients, samples every {opts.sample_every:g} s; "
        f"{opts.rate:g} submits/s per submitter, {opts.workflow_rate:g} workflows/s per workflow submitter",
        flush=True,
    )
    result: dict[str, Any] | None = None
    error = ""
    log_errors: list[str] = []
    try:
        result = run_soak(target, opts, params)
    except Exception as exc:  # noqa: BLE001 -- reported in the JSON line
        error = f"{type(exc).__name__}: {exc}"
        print(f"SOAK FAILED: {error}", file=sys.stderr, flush=True)
        if target.proc and target.proc.poll() is not None:
            print(
                f"server exited with {target.proc.returncode}:\n{bench.server_log_tail(target)}",
                file=sys.stderr,
            )
    finally:
        log_errors = server_log_errors(target)
        if target.proc:
            bench.stop_server(target, keep=opts.keep_server_dir)
            if opts.keep_server_dir:
                print(f"server dir kept: {target.tmpdir}")
    line: dict[str, Any] = {
        "metric": "soak",
        "ok": False,
        "error": error,
        "machine": machine,
        "params": {
            **asdict(params),
            "duration_s": opts.duration,
            "clients": opts.clients,
            "db": target.db or "existing server",
            "sample_every_s": opts.sample_every,
        },
    }
    if result is not None:
        acc = result["accounting"]
        replies = merge_counts(result["all_reports"])
        unexpected = sum(
            n for counts in replies.values() for k, n in counts.items() if k.endswith("unexpected")
        )
        samples_detail = [u for r in result["all_reports"] for u in r["unexpected"]][:20]
        expected = Counter()
        for counts in replies.values():
            for k, n in counts.items():
                if k != "200" and not k.endswith("unexpected"):
                    expected[k.split(" ", 1)[1]] += n
        rss = rss_summary(result["samples"], result["warmup"], result["load_end"])
        rate = rates(result)
        latency = latency_windows(
            result["all_reports"], result["t0_wall"], result["warmup"], result["load_end"]
        )
        print_curve(result["samples"], rss)
        if rss["available"]:
            print(
                f"\nRSS after warm-up ({rss['start_t']:.0f} s): {rss['start_mb']} MB; at the end of the load "
                f"({rss['end_t']:.0f} s): {rss['end_mb']} MB; growth {rss['growth_mb']:+} MB "
                f"({rss['growth_pct']:+}%); slope {rss['slope_mb_per_min']:+} MB/min; "
                f"peak {rss['peak_mb']} MB; "
                f"after drain {rss['final_mb']} MB"
            )
            if rss["db_start_mb"] is not None:
                print(
                    f"SQLite database {rss['db_start_mb']} -> {rss['db_end_mb']} MB over the same window: "
                    f"page-cache allowance {rss['page_cache_allowance_mb']} MB (2 connections x the growth, "
                    f"up to 64 MB each); growth beyond it {rss['growth_beyond_allowance_mb']:+} MB"
                )
            print(
                f"verdict: {rss['verdict'].upper()} "
                f"(threshold: growth < {rss['threshold_mb']} MB = max(20 MB, 10% of start))"
                + ("; GROSSLY EXCEEDED" if rss["grossly_exceeded"] else "")
            )
        else:
            print("\nRSS: not available (the server was not started by this script)")
        print("\nAchieved rates during the load phase: " + ", ".join(f"{k} {v}" for k, v in rate.items()))
        if latency:
            print(
                "Latency of ok replies (all types but assign): "
                + "; ".join(
                    f"{k} {v['from_s']}-{v['to_s']} s: p50 {v['p50_ms']} ms, p99 {v['p99_ms']} ms "
                    f"({v['calls']} calls)"
                    for k, v in latency.items()
                )
            )
        print_replies(replies)
        if samples_detail:
            print("  UNEXPECTED replies (first ones):")
            for u in samples_detail:
                print(f"    {u['payloadtype']} {u['status']} {u['message']!r} about {u['about'] or '-'}")
        print_accounting(acc)
        if log_errors:
            print(f"\nserver log: {len(log_errors)} error lines, first: {log_errors[:5]}")
        ok = (
            unexpected == 0
            and acc["ok"]
            and result["settled"]
            and not (rss.get("grossly_exceeded"))
            and not log_errors
        )
        line.update(
            {
                "ok": ok,
                "duration_s": round(result["load_end"], 1),
                "drain_s": round(result["drain_s"], 1),
                "settled": result["settled"],
                "roles": result["split"],
                "rates": rate,
                "latency": latency,
                "replies": replies,
                "expected_errors": dict(expected),
                "unexpected_errors": unexpected,
                "unexpected_samples": samples_detail,
                "rss": {**rss, "samples": [[s["t"], s.get("rss_mb"), s["phase"]] for s in result["samples"]]},
                "rss_growth_mb": rss.get("growth_mb"),
                "accounting": {k: v for k, v in acc.items() if k != "problems"}
                | {"problems": acc["problems"][:10]},
                "lost": acc["lost"],
                "server_log_errors": log_errors[:10],
            }
        )
        memory = f"RSS {rss['verdict']}" if rss["available"] else "RSS not available"
        print(
            f"\nSOAK {'OK' if ok else 'FAILED'}: {unexpected} unexpected replies, lost {acc['lost']}, "
            f"{acc['problem_count']} accounting problems, {memory}"
            + ("" if result["settled"] else ", the queue did not settle"),
            flush=True,
        )
    print(json.dumps(line, separators=(",", ":")), flush=True)
    return 0 if line["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

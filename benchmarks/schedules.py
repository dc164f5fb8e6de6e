"""Crons and generators (issue 11): how late crons fire, and what packing many generator args costs.

``crons``: a cron every second runs for ``--seconds``; its firings (``getcronrunsmsg``) give the delay from the
scheduled time to the graph's creation, reported as p50/p99/max.

``pack``: ``--clients`` processes pack ``--args`` args in total into one generator (trigger ``--trigger``), back to
back. Reported: packs/s, the time until the generator loop has turned every arg into workflows, and the p50 of a
plain ``submitfuncspecmsg`` from another client while the packs run, against the same p50 on an idle server.

The script starts its own server (SQLite in a temp dir, or ``--db postgresql://...``). Usage::

    .venv/bin/python benchmarks/schedules.py --only crons,pack --args 100000 --runs 3
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
import bench  # noqa: E402

from colonies import crypto  # noqa: E402
from colonies.client import RPCClient  # noqa: E402
from colonies.timefmt import parse_time  # noqa: E402


def user_key(target: bench.Target, colony: bench.BenchColony) -> str:
    key = crypto.generate_prvkey()
    with RPCClient(target.host, target.port, timeout=60) as client:
        client.call("addusermsg", {"user": {"colonyname": colony.name, "userid": crypto.id_from_prvkey(key),
                                            "name": f"u-{os.urandom(3).hex()}", "email": "", "phone": ""}},
                    colony.owner_prvkey)  # fmt: skip
    return key


def workflow(colony: str) -> str:
    spec = bench.func_spec(colony)
    spec["nodename"] = "n"
    spec["conditions"]["executortype"] = "nobody-takes-this"
    return json.dumps({"colonyname": colony, "functionspecs": [spec]})


def bench_crons(target: bench.Target, seconds: float) -> dict[str, Any]:
    colony = bench.create_colony(target, 0)
    key = user_key(target, colony)
    with RPCClient(target.host, target.port, timeout=60) as client:
        cron = client.call("addcronmsg", {"cron": {"colonyname": colony.name, "name": "every-second", "interval": -1,
                                                   "cronexpression": "* * * * * *",
                                                   "workflowspec": workflow(colony.name)}}, key)  # fmt: skip
        time.sleep(seconds)
        runs = client.call("getcronrunsmsg", {"cronid": cron["cronid"], "count": 100}, key)
        client.call("removecronmsg", {"cronid": cron["cronid"]}, key)
    delays = sorted((parse_time(r["fired"]) - parse_time(r["scheduled"])) / 1e6 for r in runs)
    bench.remove_colony(target, colony)
    return {"firings": len(delays), "p50_ms": bench.percentile(delays, 50), "p99_ms": bench.percentile(delays, 99),
            "max_ms": delays[-1]}  # fmt: skip


def packer(host: str, port: int, key: str, generatorid: str, start: int, count: int, barrier: Any, out: Any) -> None:
    with RPCClient(host, port, timeout=60) as client:
        barrier.wait()
        for i in range(start, start + count):
            client.call("packgeneratormsg", {"generatorid": generatorid, "arg": f"arg-{i}"}, key)
    out.put(time.monotonic())


def submit_p50(target: bench.Target, colony: str, key: str, samples: int, until: Any = None) -> float:
    """Median latency of a submission (ms), over ``samples`` or until ``until()`` is true."""
    spec = bench.func_spec(colony)
    spec["conditions"]["executortype"] = "nobody-takes-this"
    took = []
    with RPCClient(target.host, target.port, timeout=60) as client:
        while len(took) < samples and not (until and until()):
            t0 = time.perf_counter()
            client.call("submitfuncspecmsg", {"spec": spec}, key)
            took.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.01)
    return statistics.median(took)


def bench_pack(target: bench.Target, total: int, clients: int, trigger: int) -> dict[str, Any]:
    colony = bench.create_colony(target, 0)
    key = user_key(target, colony)
    idle = submit_p50(target, colony.name, key, 200)
    with RPCClient(target.host, target.port, timeout=60) as client:
        gen = client.call("addgeneratormsg", {"generator": {"colonyname": colony.name, "name": "pack", "trigger": trigger,
                                                            "timeout": 1, "workflowspec": workflow(colony.name)}},
                          key)  # fmt: skip
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(clients + 1), ctx.Queue()
    parts = bench.split(total, clients)
    starts = [sum(parts[:i]) for i in range(clients)]
    procs = [ctx.Process(target=packer, args=(target.host, target.port, key, gen["generatorid"], starts[i], parts[i],
                                              barrier, out)) for i in range(clients)]  # fmt: skip
    for p in procs:
        p.start()
    barrier.wait()
    t0 = time.monotonic()
    finished: list[float] = []
    busy = submit_p50(target, colony.name, key, 10**9, until=lambda: not any(p.is_alive() for p in procs))
    for p in procs:
        p.join()
    while len(finished) < clients:
        finished.append(out.get())
    pack_s = max(finished) - t0
    with RPCClient(target.host, target.port, timeout=60) as client:
        while True:
            got = client.call("getgeneratormsg", {"generatorid": gen["generatorid"]}, key)
            if got["queuesize"] == 0:
                break
            time.sleep(0.1)
    drained_s = time.monotonic() - t0
    bench.remove_colony(target, colony, timeout=600)
    return {"args": total, "packs_per_s": total / pack_s, "all_in_workflows_s": drained_s,
            "workflows": total // trigger + (1 if total % trigger else 0),
            "submit_p50_idle_ms": idle, "submit_p50_while_packing_ms": busy, "ratio": busy / idle}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default=None, help="database URL for the server (default SQLite in a temp dir)")
    parser.add_argument("--only", default="crons,pack")
    parser.add_argument("--seconds", type=float, default=30, help="crons: how long the every-second cron runs")
    parser.add_argument("--args", type=int, default=100_000, help="pack: args in total")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--trigger", type=int, default=10)
    parser.add_argument("--runs", type=int, default=1)
    opts = parser.parse_args()
    results: dict[str, list[dict[str, Any]]] = {}
    for _ in range(opts.runs):
        target = bench.start_server(opts.db)
        try:
            if "crons" in opts.only:
                results.setdefault("crons", []).append(bench_crons(target, opts.seconds))
                print("crons", results["crons"][-1], flush=True)
            if "pack" in opts.only:
                results.setdefault("pack", []).append(bench_pack(target, opts.args, opts.clients, opts.trigger))
                print("pack", results["pack"][-1], flush=True)
        finally:
            bench.stop_server(target)
    for metric, runs in results.items():
        medians = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(json.dumps({"metric": metric, "runs": len(runs), "median": medians}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

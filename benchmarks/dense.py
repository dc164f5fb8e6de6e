"""Dense workflow cost (issue 10, item 7): database growth of a dense workflow and the time to close its node 0.

A dense workflow has ``--nodes`` nodes, node i depending on every node before it (n(n-1)/2 edges). The script starts
its own server (SQLite in a temp dir, or ``--db postgresql://...``) with ``COLONIES_MAX_WORKFLOW_EDGES`` raised to
fit, submits the workflow, and reports: the database growth (SQLite file + WAL, or pg_total_relation_size), the
submit time, the time of the close of node 0, and the slowest /health answer and the slowest submission (a write)
to another colony while that close ran. Median of ``--runs`` fresh servers. Usage::

    .venv/bin/python benchmarks/dense.py --nodes 316 --runs 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from typing import Any

import httpx

sys.path.insert(0, os.path.dirname(__file__))
import bench  # noqa: E402

from colonies.client import RPCClient  # noqa: E402


def db_bytes(target: bench.Target) -> int:
    if target.db.startswith("sqlite:///"):
        path = target.db.removeprefix("sqlite:///")
        return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))
    import psycopg

    with psycopg.connect(target.db, autocommit=True) as conn:
        row = conn.execute("SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n "
                           "ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'"
                           ).fetchone()  # fmt: skip
        return int(row[0] or 0)


def dense_spec(colonyname: str, nodes: int) -> dict[str, Any]:
    specs = [
        {"nodename": f"n{i}", "funcname": "dense", "maxexectime": -1, "maxretries": -1, "maxwaittime": -1,
         "conditions": {"colonyname": colonyname, "executortype": bench.EXECUTOR_TYPE,
                        "dependencies": [f"n{j}" for j in range(i)]}}
        for i in range(nodes)
    ]  # fmt: skip
    return {"colonyname": colonyname, "functionspecs": specs}


def one_run(nodes: int, db: str | None) -> dict[str, float]:
    edges = nodes * (nodes - 1) // 2
    os.environ["COLONIES_MAX_WORKFLOW_EDGES"] = str(max(edges, 50_000))
    os.environ["COLONIES_MAX_WORKFLOW_NODES"] = str(max(nodes, 10_000))
    target = bench.start_server(db)
    try:
        colony = bench.create_colony(target, 1)
        other = bench.create_colony(target, 1)
        key = colony.executor_prvkeys[0]
        with RPCClient(target.host, target.port, timeout=600) as client:
            before = db_bytes(target)
            t0 = time.monotonic()
            client.call("submitworkflowspecmsg", {"spec": dense_spec(colony.name, nodes)}, key)
            submit_s = time.monotonic() - t0
            grown = db_bytes(target) - before
            proc = client.call("assignprocessmsg", {"colonyname": colony.name, "timeout": -1}, key)
            slowest = {"health": 0.0, "other": 0.0}
            done = threading.Event()

            def probe() -> None:
                with RPCClient(target.host, target.port, timeout=600) as c2:
                    while not done.is_set():
                        t = time.monotonic()
                        httpx.get(f"http://127.0.0.1:{target.port}/health", timeout=600)
                        slowest["health"] = max(slowest["health"], time.monotonic() - t)
                        t = time.monotonic()
                        c2.call("submitfuncspecmsg", {"spec": bench.func_spec(other.name)},
                                other.executor_prvkeys[0])  # a write: it needs the writer the close holds
                        slowest["other"] = max(slowest["other"], time.monotonic() - t)
                        time.sleep(0.01)

            prober = threading.Thread(target=probe, daemon=True)
            prober.start()
            t0 = time.monotonic()
            client.call("closesuccessfulmsg", {"processid": proc["processid"], "out": []}, key)
            close_s = time.monotonic() - t0
            done.set()
            prober.join(600)
            nxt = client.call("assignprocessmsg", {"colonyname": colony.name, "timeout": -1}, key)
            assert nxt["spec"]["nodename"] == "n1", nxt["spec"]["nodename"]
        return {"submit_s": submit_s, "db_growth_mb": grown / 1e6, "close_node0_s": close_s,
                "slowest_health_s": slowest["health"], "slowest_other_colony_s": slowest["other"]}  # fmt: skip
    finally:
        bench.stop_server(target)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nodes", type=int, default=316, help="nodes of the dense workflow (316: ~50,000 edges)")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--db", help="postgresql://... (default: SQLite in a temp dir)")
    opts = p.parse_args()
    runs = [one_run(opts.nodes, opts.db) for _ in range(opts.runs)]
    edges = opts.nodes * (opts.nodes - 1) // 2
    print(f"dense workflow: {opts.nodes} nodes, {edges} edges, median of {len(runs)} runs")
    for key in runs[0]:
        print(f"  {key:24} {statistics.median(r[key] for r in runs):10.3f}   runs: "
              + ", ".join(f"{r[key]:.3f}" for r in runs))  # fmt: skip


if __name__ == "__main__":
    main()

"""What a SQLite commit writes: pages per operation, by b-tree, and what a page costs.

Issue 17's fifth round: a commit with ``synchronous=OFF`` costs about 5 µs per page it appends to the WAL (two
``pwrite`` calls and a checksum per frame), so the pages an operation dirties decide much of its SQL cost. This
script runs the server's own schema and statements (``sql/sqlite``) on a scratch database, then for each operation
reads the WAL frames its commits appended and names the b-tree of every page (``dbstat``). No server, no fsync::

    .venv/bin/python benchmarks/sqlcost.py              # pages per submit / assign / close, cost per page
    .venv/bin/python benchmarks/sqlcost.py --rows 2000  # a smaller database (the smoke test)
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import secrets
import sqlite3
import struct
import tempfile
import time
from collections.abc import Callable
from typing import Any

from colonies.storage.queries import load_queries, load_sql

FRAME_HEADER = 24


def process_row(state: int = 0) -> dict[str, Any]:
    now = time.time_ns()
    spec = json.dumps({"funcname": "bench", "conditions": {"colonyname": "c", "executortype": "t"}, "args": []})
    return {
        "processid": secrets.token_hex(32), "colonyname": "c", "executortype": "t", "executornames": "[]",
        "locationname": "", "state": state, "waitforparents": 0, "prioritytime": now, "submissiontime": now,
        "waitdeadline": 0, "maxretries": 0, "maxexectime": 0, "maxwaittime": 0, "cpu": 0, "mem": 0, "storage": 0,
        "nodes": 0, "processes": 0, "processespernode": 0, "funcname": "bench", "nodename": "", "label": "",
        "initiatorid": "u" * 64, "initiatorname": "u", "processgraphid": "", "parents": "[]", "children": "[]",
        "input": "[]", "spec": spec, "pendingparents": 0,
    }  # fmt: skip


class Scratch:
    """A database with the server's schema, a colony's executor and ``rows`` ended processes."""

    def __init__(self, rows: int) -> None:
        self.path = os.path.join(tempfile.mkdtemp(prefix="colonies-sqlcost-"), "c.db")
        self.conn = sqlite3.connect(self.path, isolation_level=None)
        self.conn.executescript(load_sql("sqlite", "schema.sql"))
        self.conn.execute("PRAGMA synchronous = OFF")
        self.conn.execute("PRAGMA wal_autocheckpoint = 0")
        self.q = load_queries("sqlite")
        self.callers = [secrets.token_hex(32) for _ in range(8)]
        self.running: list[str] = []
        self.conn.execute("BEGIN")
        self.conn.execute("INSERT INTO executors (colonyname, executorname, executorid, executortype, state) "
                          "VALUES ('c', 'e', ?, 't', 1)", ("e" * 64,))  # fmt: skip
        for _ in range(rows):
            self.nonce()
            self.conn.execute(self.q["add_process"], process_row(state=2))
        self.conn.execute("COMMIT")
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def nonce(self) -> None:
        now = time.time_ns()
        caller = self.callers[now % len(self.callers)]
        nonce = f"{now}-{secrets.token_hex(16)}"
        self.conn.execute(self.q["use_nonce"], {"issued": now, "caller": caller, "nonce": nonce})

    def submit(self) -> None:
        self.nonce()
        self.conn.execute(self.q["add_process_returning"], process_row()).fetchall()

    def assign(self) -> None:
        self.nonce()
        row = self.conn.execute(self.q["assign_process"], {
            "colonyname": "c", "executortype": "t", "executorname": "e", "locationname": "", "executorid": "e" * 64,
            "cpu": 0, "mem": 0, "now": time.time_ns(), "nonce": "n"}).fetchall()  # fmt: skip
        self.running.append(row[0][0])

    def close(self) -> None:
        self.nonce()
        self.conn.execute(self.q["close_fenced"], {
            "processid": self.running.pop(0), "executorid": "e" * 64, "now": time.time_ns(), "lease": -1,
            "state": 2, "output": "", "errors": ""}).fetchall()  # fmt: skip

    def frames(
        self, operation: Callable[[], None], per_commit: int, commits: int
    ) -> tuple[float, float, dict[str, float]]:
        """(pages per operation, µs per operation, pages per operation by b-tree)."""
        pages: list[int] = []
        seconds = 0.0
        for _ in range(commits):
            start = os.path.getsize(self.path + "-wal")
            began = time.perf_counter()
            self.conn.execute("BEGIN IMMEDIATE")
            for _ in range(per_commit):
                operation()
            self.conn.execute("COMMIT")
            seconds += time.perf_counter() - began
            with open(self.path + "-wal", "rb") as wal:
                wal.seek(start)
                data = wal.read()
            page_size = self.conn.execute("PRAGMA page_size").fetchone()[0]
            pages += [struct.unpack(">I", data[offset:offset + 4])[0]
                      for offset in range(0, len(data), page_size + FRAME_HEADER)]  # fmt: skip
        names = {page: name for page, name in self.conn.execute("SELECT pageno, name FROM dbstat")}  # pages now
        counts = collections.Counter(names.get(page, "(freed since)") for page in pages)
        ops = commits * per_commit
        by_tree = {name: round(n / ops, 2) for name, n in counts.most_common()}
        return sum(counts.values()) / ops, seconds / ops * 1e6, by_tree


def page_cost(commits: int) -> list[tuple[int, float]]:
    """µs per COMMIT that writes k pages (one row updated on each of k pages)."""
    path = os.path.join(tempfile.mkdtemp(prefix="colonies-sqlcost-"), "p.db")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER, pad TEXT)")
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO t VALUES (?, 0, ?)", [(i, "x" * 3000) for i in range(2000)])  # a row per page
    conn.execute("COMMIT")
    results = []
    for k in (1, 5, 10):
        seconds = 0.0
        for r in range(commits):
            conn.execute("BEGIN IMMEDIATE")
            for j in range(k):
                conn.execute("UPDATE t SET v = v + 1 WHERE id = ?", ((r * 37 + j * 101) % 2000,))
            began = time.perf_counter()
            conn.execute("COMMIT")
            seconds += time.perf_counter() - began
            if r % 200 == 199:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        results.append((k, seconds / commits * 1e6))
    return results


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=20_000, help="ended processes in the database first")
    p.add_argument("--commits", type=int, default=200, help="commits measured per line")
    args = p.parse_args()
    for k, us in page_cost(args.commits):
        print(f"COMMIT of {k:2d} pages: {us:6.1f} µs ({us / k:.1f} µs per page)")
    scratch = Scratch(args.rows)
    for per_commit in (1, 3):
        for label, operation in (("submit", scratch.submit), ("assign", scratch.assign), ("close", scratch.close)):
            pages, us, by_tree = scratch.frames(operation, per_commit, args.commits)
            print(f"{label:6s} x{per_commit} per commit: {pages:5.2f} pages and {us:6.1f} µs per {label}; {by_tree}")


if __name__ == "__main__":
    main()

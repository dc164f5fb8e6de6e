"""The benchmark script runs end to end (``--quick``). Speed is never asserted here, only that it works."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import PG_URL, drop_database, free_port, fresh_database

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench.py"


def run_bench(*args: str, timeout: float = 180) -> list[dict[str, Any]]:
    result = subprocess.run(
        [sys.executable, str(BENCH), "--quick", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    for line in lines:
        assert line["value"] > 0, line
        assert line["unit"] and line["target"] and "meets_target" in line
        assert line["machine"]["cpus"] and line["machine"]["python"]
    return lines


def test_bench_quick_reports_all_metrics() -> None:
    lines = run_bench()
    assert {line["metric"] for line in lines} == {"submit", "drain", "latency", "chain", "deep"}
    latency = next(line for line in lines if line["metric"] == "latency")
    assert latency["p99_ms"] >= latency["p50_ms"]
    deep = next(line for line in lines if line["metric"] == "deep")
    assert deep["deep_rate"] > 0 and deep["shallow_rate"] > 0 and deep["fill_rate"] > 0


def test_bench_replicas_refuses_sqlite() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--only", "replicas"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "PostgreSQL" in result.stderr


def test_bench_measures_a_running_server_given_its_pid(tmp_path: Path) -> None:
    """The floor server (only the work a submit needs) under ``bench.py --host --server-pid``: the submits are
    stored, and the server's CPU per submit is reported."""
    port = free_port()
    floor = subprocess.Popen(
        [sys.executable, str(BENCH.parent / "floor.py"), "--port", str(port), "--db", str(tmp_path / "f.db")],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert floor.stdout is not None and "floor server on" in floor.stdout.readline()
        lines = run_bench("--host", "127.0.0.1", "--port", str(port), "--server-prvkey", "11" * 32,
                          "--server-pid", str(floor.pid), "--only", "submit")  # fmt: skip
    finally:
        floor.terminate()
        floor.wait(timeout=10)
    submit = lines[0]
    assert submit["metric"] == "submit" and submit["server_ms_per_op"] > 0
    conn = sqlite3.connect(tmp_path / "f.db")
    try:
        assert conn.execute("SELECT count(*) FROM processes").fetchone()[0] == submit["params"]["processes"]
    finally:
        conn.close()


@pytest.mark.skipif(not PG_URL, reason="COLONIES_TEST_PG_URL is not set")
def test_bench_quick_replicas_on_postgres(tmp_path: Path) -> None:
    """Quick mode only: 2 replicas on a fresh schema of COLONIES_TEST_PG_URL, dropped afterwards."""
    db = fresh_database("postgres", str(tmp_path))
    try:
        lines = run_bench("--db", db, "--only", "replicas")
    finally:
        drop_database(db)
    (line,) = lines
    assert line["metric"] == "replicas" and line["no_duplicates"] is True
    assert line["submit_rate"] > 0 and line["params"]["replicas"] == 2


def test_soak_quick_accounts_for_every_process() -> None:
    """``benchmarks/soak.py --quick``: about 12 s of mixed load, then the accounting (no unexpected replies,
    nothing lost). At this length memory only fails the run if it grows grossly."""
    result = subprocess.run(
        [sys.executable, str(BENCH.parent / "soak.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    (line,) = [json.loads(x) for x in result.stdout.splitlines() if x.startswith("{")]
    assert line["metric"] == "soak" and line["ok"] is True
    assert line["lost"] == 0 and line["unexpected_errors"] == 0
    acc = line["accounting"]
    assert acc["processes"] > 0 and acc["closed_twice"] == 0 and acc["refusals_unexplained"] == 0
    assert acc["processes"] == acc["succeeded"] + acc["failed"] + acc["cancelled"]
    assert line["rss"]["available"] and len(line["rss"]["samples"]) >= 5


def test_sqlcost_names_the_btrees_an_operation_writes() -> None:
    """benchmarks/sqlcost.py on the server's own schema and statements (a small database)."""
    script = Path(__file__).resolve().parent.parent / "benchmarks" / "sqlcost.py"
    result = subprocess.run([sys.executable, str(script), "--rows", "200", "--commits", "10"],
                            capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert sum("per page" in line for line in lines) == 3, result.stdout
    for operation in ("submit", "assign", "close"):
        line = next(line for line in lines if line.startswith(operation))
        assert "request_nonces" in line and "processes" in line, line

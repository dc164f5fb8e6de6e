"""The benchmark script runs end to end (``--quick``). Speed is never asserted here, only that it works."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench.py"


def test_bench_quick_reports_all_metrics() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH), "--quick"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert {line["metric"] for line in lines} == {"submit", "drain", "latency", "chain"}
    for line in lines:
        assert line["value"] > 0, line
        assert line["unit"] and line["target"] and "meets_target" in line
        assert line["machine"]["cpus"] and line["machine"]["python"]
    latency = next(line for line in lines if line["metric"] == "latency")
    assert latency["p99_ms"] >= latency["p50_ms"]

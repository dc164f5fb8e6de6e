"""examples/cross-platform/run.py against a real `colonies dev`: it starts three container executors (local
backend), runs the seed's 11-node workflow, prints every node's progress and checks the DAG order."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from test_seed_acceptance import dev_env  # noqa: F401 - the fixture

from colonies import Colonies

RUN = Path(__file__).resolve().parents[1] / "examples" / "cross-platform" / "run.py"
NODES = ["ice-0", *(f"lumi-{i}" for i in range(8)), "leonardo-0", "ice-1"]


def test_cross_platform_example_runs_the_dag_in_order(
    dev_env: dict[str, str],  # noqa: F811 - the imported fixture
    tmp_path: Path,
) -> None:
    result = subprocess.run([sys.executable, str(RUN), "--sleep", "0.1", "--start-executors"], env=dev_env,
                            cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for executortype in ("ice-kubeexecutor", "lumi-small-hpcexecutor", "leonardo-booster-hpcexecutor"):
        assert f"started executor {executortype}-" in out
    line = re.compile(r"^\[\s*[\d.]+s\] (\S+)\s+(WAITING|RUNNING|SUCCESS|FAILED)", re.MULTILINE)
    progress = [match.groups() for match in line.finditer(out)]
    succeeded = [node for node, state in progress if state == "SUCCESS"]
    assert sorted(succeeded) == sorted(NODES)  # each node's success is printed once
    assert not any(state == "FAILED" for _, state in progress)
    order = {node: succeeded.index(node) for node in NODES}
    assert order["ice-0"] < min(order[f"lumi-{i}"] for i in range(8))
    assert max(order[f"lumi-{i}"] for i in range(8)) < order["leonardo-0"] < order["ice-1"]
    assert "OK: all 11 nodes succeeded, and every node started after all its parents had ended" in out

    # The executors it started stopped and removed themselves.
    client = Colonies("127.0.0.1", int(dev_env["COLONIES_SERVER_PORT"]))
    left = [e for e in client.list_executors(dev_env["COLONIES_COLONY_NAME"], dev_env["COLONIES_PRVKEY"])
            if e["executortype"] != dev_env["COLONIES_EXECUTOR_TYPE"] and e["state"] == 1]  # fmt: skip
    assert left == []

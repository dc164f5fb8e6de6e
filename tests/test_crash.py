"""Crash tests with real processes and ``kill -9``: executors that die mid-process, and a server that dies midway
through a workflow. Each test counts submitted, completed, duplicated and lost processes and asserts lost = 0.

(Answered submits and closes surviving a server ``kill -9`` under load: tests/test_durability.py.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import Colony, Identity, Server, create_colony
from sched_helpers import wait_for

pytestmark = pytest.mark.timeout(120)

SUCCESS, FAILED = 2, 3
EXEC_LIMIT = "Maximum execution time limit exceeded"

EXECUTOR = """
import os, time
from colonies.executor import Executor

executor = Executor.from_env(executortype="crash-type", concurrency=4, assign_timeout=2)
STALL = os.environ.get("STALL") == "1"

@executor.function("work")
def work(n, *, ctx):
    ctx.log(f"run {n} by {ctx.executorname}")
    if STALL:
        time.sleep(600)  # a hung job: only kill -9 ends it
    return n * 2

executor.run()
"""


class Executors:
    """Real executor subprocesses (the SDK's executor framework), killed with SIGKILL on exit."""

    def __init__(self, colony: Colony, tmp_path: Path) -> None:
        self.colony = colony
        self.script = tmp_path / "crash_executor.py"
        self.script.write_text(textwrap.dedent(EXECUTOR))
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, ident: Identity, stall: bool) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
        env.update({"COLONIES_SERVER_HOST": "127.0.0.1", "COLONIES_SERVER_PORT": str(self.colony.server.port),
                    "COLONIES_SERVER_TLS": "false", "COLONIES_COLONY_NAME": self.colony.name,
                    "COLONIES_PRVKEY": ident.prvkey, "STALL": "1" if stall else "0"})  # fmt: skip
        proc = subprocess.Popen([sys.executable, str(self.script)], env=env)
        self.procs.append(proc)
        return proc

    def kill_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)


@pytest.fixture
def executors(colony: Colony, tmp_path: Path) -> Any:
    group = Executors(colony, tmp_path)
    yield group
    group.kill_all()


def spec(colony: Colony, n: int, **extra: Any) -> dict[str, Any]:
    return colony.spec(funcname="work", args=[n], kwargs={}, conditions={"executortype": "crash-type"}, **extra)


def submit_all(colony: Colony, count: int, **extra: Any) -> list[str]:
    return [colony.call("submitfuncspecmsg", {"spec": spec(colony, n, **extra)}, colony.user)["processid"]
            for n in range(count)]  # fmt: skip


def processes(colony: Colony, ids: list[str]) -> list[dict[str, Any]]:
    return [colony.get(processid) for processid in ids]


def runs_of(colony: Colony, processid: str) -> list[str]:
    got = colony.call("getlogsmsg", {"colonyname": colony.name, "processid": processid, "count": 100}, colony.user)
    return [line["message"] for line in got or [] if line["message"].startswith("run ")]


def test_executor_killed_mid_process_work_is_finished_by_another(colony: Colony, executors: Executors) -> None:
    a = colony.add_executor("crash-a", executortype="crash-type")
    b = colony.add_executor("crash-b", executortype="crash-type")
    ids = submit_all(colony, 12, maxexectime=3, maxretries=3)
    dying = executors.start(a, stall=True)
    held = wait_for(lambda: [p for p in processes(colony, ids) if p["state"] == 1], lambda r: len(r) == 4, 30,
                    what="executor A holding four processes")  # fmt: skip
    assert all(p["assignedexecutorid"] == a.id for p in held)
    dying.send_signal(signal.SIGKILL)
    dying.wait(10)
    executors.start(b, stall=False)
    final = wait_for(lambda: processes(colony, ids), lambda ps: all(p["state"] in (SUCCESS, FAILED) for p in ps),
                     60, what="every process closed")  # fmt: skip
    completed = [p for p in final if p["state"] == SUCCESS]
    lost = [p["processid"] for p in final if p["state"] != SUCCESS]
    wrong = [p["processid"] for n, p in enumerate(final) if p["out"] != [n * 2]]
    held_ids = {p["processid"] for p in held}
    # Requeued exactly once: the four A held; the others ran once, on B.
    assert {p["processid"] for p in final if p["retries"] == 1} == held_ids
    assert all(p["retries"] == 0 for p in final if p["processid"] not in held_ids)
    assert all(p["assignedexecutorid"] == b.id for p in final)
    # Runs: A's run (killed) plus B's run for the held ones; one run for the others. Never more.
    runs = {p["processid"]: runs_of(colony, p["processid"]) for p in final}
    duplicated = [pid for pid, r in runs.items() if len([x for x in r if "crash-b" in x]) != 1]
    print(f"submitted {len(ids)}, completed {len(completed)}, requeued {len(held_ids)}, "
          f"duplicated {len(duplicated)}, lost {len(lost)}")  # fmt: skip
    assert lost == [] and wrong == [] and duplicated == []
    assert len(completed) == len(ids)


def test_executor_killed_with_no_retries_left_fails_with_a_reason(colony: Colony, executors: Executors) -> None:
    a = colony.add_executor("crash-a", executortype="crash-type")
    ids = submit_all(colony, 3, maxexectime=2, maxretries=0)
    dying = executors.start(a, stall=True)
    wait_for(lambda: processes(colony, ids), lambda ps: all(p["state"] == 1 for p in ps), 30, what="all running")
    dying.send_signal(signal.SIGKILL)
    dying.wait(10)
    final = wait_for(lambda: processes(colony, ids), lambda ps: all(p["state"] == FAILED for p in ps), 20,
                     what="every process failed")  # fmt: skip
    for p in final:
        assert p["errors"] == [EXEC_LIMIT] and p["retries"] == 0, p
    print(f"submitted {len(ids)}, failed with reason {len(final)}, lost 0")


def test_workflow_survives_a_server_kill_midway(make_server: Any, tmp_path: Path) -> None:
    """A 3-level diamond-and-chain workflow; the server is killed -9 after the first level completed, while the
    executor keeps running; after the restart the workflow completes with every node run exactly once."""
    srv: Server = make_server()
    colony = create_colony(srv)
    ident = colony.add_executor("crash-wf", executortype="crash-type")

    def node(name: str, n: int, deps: list[str]) -> dict[str, Any]:
        s = spec(colony, n, nodename=name, maxexectime=30, maxretries=3)
        s["conditions"]["dependencies"] = deps
        return s

    nodes = [node("a", 1, []), node("b", 2, ["a"]), node("c", 3, ["a"]), node("d", 4, ["b", "c"]),
             node("e", 5, ["d"])]  # fmt: skip
    graph = colony.call("submitworkflowspecmsg", {"spec": {"colonyname": colony.name, "functionspecs": nodes}},
                        colony.user)  # fmt: skip
    ids = graph["processids"]
    by_name = {p["spec"]["nodename"]: p for p in processes(colony, ids)}
    group = Executors(colony, tmp_path)
    try:
        group.start(ident, stall=False)
        wait_for(lambda: colony.get(by_name["a"]["processid"]), lambda p: p["state"] == SUCCESS, 30,
                 what="first node done")  # fmt: skip
        srv.kill()
        srv.restart()
        final_graph = wait_for(
            lambda: colony.call("getprocessgraphmsg", {"processgraphid": graph["processgraphid"]}, colony.user),
            lambda g: g["state"] in (SUCCESS, FAILED), 60, what="workflow finished after restart",
        )
    finally:
        group.kill_all()
    final = processes(colony, ids)
    assert final_graph["state"] == SUCCESS
    completed = [p for p in final if p["state"] == SUCCESS]
    runs = {p["spec"]["nodename"]: runs_of(colony, p["processid"]) for p in final}
    duplicated = [name for name, r in runs.items() if len(r) > 1]
    print(f"workflow nodes {len(ids)}, completed {len(completed)}, duplicated {len(duplicated)}, "
          f"lost {len(ids) - len(completed)}")  # fmt: skip
    assert len(completed) == len(ids) and duplicated == []
    outs = {p["spec"]["nodename"]: p["out"] for p in final}
    assert outs["e"] == [10] and outs["d"] == [8]

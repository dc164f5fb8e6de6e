"""Work that outlives the executor (a Slurm or Kubernetes job): attributes that say where it runs, a stop that
leaves it running (Detached), a restart that picks it up again (resume_running), and a cancel on the server that
reaches the running function (ctx.revoked). Real server, executors in threads, bounded waits."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from conftest import Colony
from sched_helpers import wait_for
from test_executor import executor_for, process_logs, serving, submit, wait_closed

from colonies.executor import Detached, ProcessContext

pytestmark = pytest.mark.timeout(90)

RUNNING, SUCCESS, FAILED, CANCELLED = 1, 2, 3, 4


def test_a_detached_process_stays_running_and_a_restart_picks_it_up(colony: Colony) -> None:
    ident = colony.add_executor(executortype="outlives")
    runs: list[tuple[bool, dict[str, str]]] = []
    started = threading.Event()

    def job(*, ctx: ProcessContext, process: Any) -> str:
        attrs = {a["key"]: a["value"] for a in (process["attributes"] or []) if a["attributetype"] == 3}
        runs.append((ctx.resumed, attrs))
        if not ctx.resumed:
            ctx.set_attribute("JOB-ID", "job-7")
            started.set()
            while not ctx.stopping:
                time.sleep(0.05)
            raise Detached
        return f"finished {attrs['JOB-ID']}"

    first = executor_for(colony, ident, executortype="outlives", resume_running=True, shutdown_grace=30)
    first.register("job", job)
    with serving(first):
        pid = submit(colony, "job", "outlives")
        assert started.wait(15)
    # Stopped at once (no grace period spent), the process is neither closed nor failed.
    process = colony.get(pid)
    assert process["state"] == RUNNING
    assert [(a["key"], a["value"], a["attributetype"]) for a in process["attributes"]] == [("JOB-ID", "job-7", 3)]

    second = executor_for(colony, ident, executortype="outlives", resume_running=True)
    second.register("job", job)
    with serving(second):
        done = wait_closed(colony, pid)
    assert done["state"] == SUCCESS and done["out"] == ["finished job-7"]
    assert runs == [(False, {}), (True, {"JOB-ID": "job-7"})]
    assert done["starttime"] == process["starttime"]  # the same lease: not handed out again


def test_without_resume_running_a_restart_leaves_the_process_to_the_server(colony: Colony) -> None:
    ident = colony.add_executor(executortype="plain")
    calls: list[bool] = []

    def job(*, ctx: ProcessContext) -> str:
        calls.append(ctx.resumed)
        while not ctx.stopping:
            time.sleep(0.05)
        raise Detached

    first = executor_for(colony, ident, executortype="plain")
    first.register("job", job)
    with serving(first):
        pid = submit(colony, "job", "plain")
        wait_for(lambda: calls, bool, 15, what="the job started")
    second = executor_for(colony, ident, executortype="plain")
    second.register("job", job)
    with serving(second):
        time.sleep(1.0)
    assert calls == [False] and colony.get(pid)["state"] == RUNNING


def test_cancelling_on_the_server_reaches_the_running_function(colony: Colony) -> None:
    ident = colony.add_executor(executortype="cancellable")
    seen: dict[str, Any] = {}

    def job(*, ctx: ProcessContext) -> str:
        ctx.log("working")
        while not ctx.cancelled:
            time.sleep(0.05)
        seen["revoked"] = ctx.revoked
        return "result nobody takes"

    executor = executor_for(colony, ident, executortype="cancellable", revoke_poll=0.3)
    executor.register("job", job)
    with serving(executor):
        pid = submit(colony, "job", "cancellable")
        wait_for(lambda: colony.get(pid), lambda p: p["state"] == RUNNING, 15, what="running")
        # Logs reach the server in batches; a line still buffered when the process is cancelled is refused, as the
        # original refuses logs of a process that is no longer running.
        wait_for(lambda: "".join(process_logs(colony, pid)), lambda text: "working" in text, 15, what="the log line")
        colony.call("cancelprocessmsg", {"processid": pid}, colony.executor)
        wait_for(lambda: seen, bool, 10, what="the function saw the cancel")
        time.sleep(0.5)
    assert seen == {"revoked": True}
    process = colony.get(pid)
    assert process["state"] == CANCELLED and process["out"] in (None, [])
    assert "working" in "".join(process_logs(colony, pid))

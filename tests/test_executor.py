"""The executor framework against a real server: registration modes, the work loop, logs, concurrency,
maxexectime, shutdown, outages, and the seed's cross-platform workflow. Executors run in threads or subprocesses;
every wait is bounded."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from conftest import Colony, Identity, Server, create_colony
from sched_helpers import wait_for

from colonies.executor import (
    SHUTDOWN_ERROR,
    Executor,
    Process,
    ProcessContext,
    error_text,
    to_output,
    to_process,
)
from colonies.exceptions import ColoniesError
from colonies.timefmt import parse_time

WAITING, RUNNING, SUCCESS, FAILED = range(4)
PENDING, APPROVED, REJECTED, UNREGISTERED = range(4)


# --- helpers --------------------------------------------------------------------------------------------------


def executor_for(colony: Colony, ident: Identity | None = None, **kwargs: Any) -> Executor:
    """A private-key executor (``ident``) or, with ``colony_prvkey=...``, a self-registering one."""
    params: dict[str, Any] = {"host": "127.0.0.1", "port": colony.server.port, "colonyname": colony.name,
                              "assign_timeout": 5, "backoff_cap": 1.0, "forbidden_retry": 0.3}  # fmt: skip
    if ident is not None:
        params["prvkey"] = ident.prvkey
    params.update(kwargs)
    return Executor(**params)


@contextmanager
def serving(executor: Executor, timeout: float = 20) -> Iterator[Executor]:
    executor.run_in_thread()
    assert executor.wait_ready(timeout), "executor did not become ready"
    try:
        yield executor
    finally:
        executor.stop()
        assert executor.join(timeout), "executor did not stop"


def submit(colony: Colony, funcname: str, executortype: str, args: list[Any] | None = None,
           kwargs: dict[str, Any] | None = None, **overrides: Any) -> str:  # fmt: skip
    proc = colony.submit(funcname=funcname, args=args or [], kwargs=kwargs or {},
                         conditions={"executortype": executortype}, **overrides)  # fmt: skip
    return str(proc["processid"])


def wait_closed(colony: Colony, pid: str, timeout: float = 15) -> dict[str, Any]:
    return wait_for(
        lambda: colony.get(pid), lambda p: p["state"] in (SUCCESS, FAILED), timeout, what=f"{pid} closed"
    )


def process_logs(colony: Colony, pid: str) -> list[str]:
    logs = colony.call("getlogsmsg", {"colonyname": colony.name, "processid": pid, "count": 500, "since": 0},
                       colony.executor)  # fmt: skip
    return [entry["message"] for entry in logs]


def executor_state(colony: Colony, name: str) -> int:
    """The executor's state; UNREGISTERED when it was removed (removed executors are 404 to every client)."""
    try:
        reply = colony.call("getexecutormsg", {"colonyname": colony.name, "executorname": name}, colony.executor)
    except ColoniesError as exc:
        if exc.status == 404:
            return UNREGISTERED
        raise
    return int(reply["state"])


def env_for(colony: Colony, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
    env.update({"COLONIES_SERVER_HOST": "127.0.0.1", "COLONIES_SERVER_PORT": str(colony.server.port),
                "COLONIES_SERVER_TLS": "false", "COLONIES_COLONY_NAME": colony.name, **extra})  # fmt: skip
    return env


# --- pure parts -----------------------------------------------------------------------------------------------


def test_to_output_turns_return_values_into_output_lists() -> None:
    assert to_output([1, 2]) == [1, 2]
    assert to_output((1, "a")) == [1, "a"]
    assert to_output(None) == []
    assert to_output(5) == [5]
    assert to_output({"a": 1}) == [{"a": 1}]
    assert error_text(ValueError("boom")) == "ValueError: boom"
    assert error_text(KeyError()) == "KeyError"


def test_process_has_attribute_and_dict_access() -> None:
    raw = {"processid": "p1", "in": [1, 2], "out": [], "spec": {"funcname": "f", "args": ["a"],
           "kwargs": {"k": "v"}, "conditions": {"executortype": "t"}}}  # fmt: skip
    proc = to_process(raw)
    assert isinstance(proc, Process)
    assert proc.processid == proc["processid"] == "p1"
    assert proc.spec.conditions.executortype == proc["spec"]["conditions"]["executortype"] == "t"
    assert proc.input == proc["in"] == [1, 2]
    assert proc.spec.args == ["a"] and proc["spec"]["kwargs"] == {"k": "v"}
    with pytest.raises(AttributeError):
        _ = proc.nosuchfield  # type: ignore[attr-defined]
    odd = to_process({**raw, "retries": "not a number"})  # still reaches the function, as a dict
    assert odd["processid"] == odd.processid == "p1" and odd.spec.funcname == "f"


def test_from_env_picks_the_registration_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    from colonies import crypto

    colony_key, own_key = crypto.generate_prvkey(), crypto.generate_prvkey()
    for name in list(os.environ):
        if name.startswith("COLONIES_") or name == "EXECUTOR_TYPE":
            monkeypatch.delenv(name)
    monkeypatch.setenv("COLONIES_SERVER_HOST", "example.org")
    monkeypatch.setenv("COLONIES_SERVER_PORT", "4711")
    monkeypatch.setenv("COLONIES_SERVER_TLS", "true")
    monkeypatch.setenv("COLONIES_COLONY_NAME", "dev")
    monkeypatch.setenv("COLONIES_COLONY_PRVKEY", colony_key)

    only_colony_key = Executor.from_env(executortype="t1")
    assert only_colony_key.self_register
    assert (only_colony_key.host, only_colony_key.port, only_colony_key.tls) == ("example.org", 4711, True)
    assert only_colony_key.prvkey != colony_key and only_colony_key.executorname.startswith("t1-")
    assert "COLONIES_COLONY_PRVKEY" not in os.environ  # read once, then gone: jobs cannot inherit it

    monkeypatch.setenv("COLONIES_COLONY_PRVKEY", colony_key)
    monkeypatch.setenv("COLONIES_PRVKEY", own_key)
    both = Executor.from_env(executortype="t1")
    assert not both.self_register and both.prvkey == own_key
    assert "COLONIES_PRVKEY" not in os.environ
    monkeypatch.setenv("COLONIES_COLONY_PRVKEY", colony_key)
    monkeypatch.setenv("COLONIES_PRVKEY", own_key)
    forced = Executor.from_env(executortype="t1", self_register=True)
    assert forced.self_register and forced.prvkey not in (own_key, colony_key)

    with pytest.raises(ValueError):
        Executor.from_env(executortype="t1")


# --- registration modes ---------------------------------------------------------------------------------------


def test_private_key_mode_registers_functions_and_closes_with_the_return_value(colony: Colony) -> None:
    ident = colony.add_executor(executortype="pk-type")
    executor = executor_for(colony, ident)

    @executor.function("double")
    def double(x: int) -> int:
        return x * 2

    @executor.function
    def pair(a: Any, b: Any) -> tuple[Any, Any]:
        return a, b

    @executor.function("nothing")
    def nothing() -> None:
        return None

    with serving(executor):
        assert executor.executorname == ident.name and executor.executortype == "pk-type"
        functions = colony.call("getfunctionsmsg", {"colonyname": colony.name, "executorname": ident.name},
                                colony.executor)  # fmt: skip
        assert sorted(f["funcname"] for f in functions) == ["double", "nothing", "pair"]
        p1 = submit(colony, "double", "pk-type", [21])
        p2 = submit(colony, "pair", "pk-type", ["a", 1])
        p3 = submit(colony, "nothing", "pk-type")
        results = [wait_closed(colony, p) for p in (p1, p2, p3)]
    assert [r["state"] for r in results] == [SUCCESS] * 3
    assert [r["out"] for r in results] == [[42], ["a", 1], []]
    assert all(r["assignedexecutorid"] == ident.id for r in results)

    # A second run with the same key keeps the registrations (no duplicates, no error).
    again = executor_for(colony, ident)
    again.register("double", double)
    with serving(again):
        functions = colony.call("getfunctionsmsg", {"colonyname": colony.name, "executorname": ident.name},
                                colony.executor)  # fmt: skip
        assert sorted(f["funcname"] for f in functions) == ["double", "nothing", "pair"]


def test_self_registration_adds_approves_and_removes_itself(colony: Colony) -> None:
    executor = executor_for(colony, colony_prvkey=colony.owner.prvkey, executortype="self-type")
    assert executor.self_register

    @executor.function("hello")
    def hello(name: str) -> str:
        return f"hello {name}"

    with serving(executor):
        name = executor.executorname
        assert executor_state(colony, name) == APPROVED
        record = colony.call("getexecutorbyidmsg", {"colonyname": colony.name, "executorid": executor.executorid},
                             colony.executor)  # fmt: skip
        assert record["executorname"] == name and record["executortype"] == "self-type"
        pid = submit(colony, "hello", "self-type", ["world"])
        assert wait_closed(colony, pid)["out"] == ["hello world"]
    assert executor_state(colony, name) == UNREGISTERED


def test_self_registration_refused_is_an_error_not_a_retry(colony: Colony) -> None:
    from colonies import crypto

    wrong_key = executor_for(colony, colony_prvkey=crypto.generate_prvkey(), executortype="t")
    wrong_key.run_in_thread()
    assert not wrong_key.wait_ready(10)
    with pytest.raises(ColoniesError) as info:
        wrong_key.join(10)
    assert info.value.status == 403

    taken = executor_for(colony, colony_prvkey=colony.owner.prvkey, executortype="t", executorname="executor")
    taken.run_in_thread()
    assert not taken.wait_ready(10)
    with pytest.raises(ColoniesError, match="choose another executor name"):
        taken.join(10)


def test_pending_executor_waits_for_approval(colony: Colony) -> None:
    ident = colony.add_executor(executortype="pending-type", approve=False)
    executor = executor_for(colony, ident)
    executor.register("one", lambda: 1)
    executor.run_in_thread()
    try:
        assert not executor.wait_ready(1.0)  # refused (403) and retrying, not crashed
        colony.call(
            "approveexecutormsg", {"colonyname": colony.name, "executorname": ident.name}, colony.owner
        )
        assert executor.wait_ready(10)
        pid = submit(colony, "one", "pending-type")
        assert wait_closed(colony, pid)["out"] == [1]
    finally:
        executor.stop()
        assert executor.join(15)


# --- running functions ----------------------------------------------------------------------------------------


def test_an_exception_fails_the_process_with_its_text(colony: Colony) -> None:
    ident = colony.add_executor(executortype="err-type")
    executor = executor_for(colony, ident)

    @executor.function("boom")
    def boom(*args: Any) -> None:
        raise ValueError(f"bad input {args[0]}")

    @executor.function("unserializable")
    def unserializable() -> object:
        return object()

    @executor.function("needs_two")
    async def needs_two(a: Any, b: Any) -> None:
        return None

    with serving(executor):
        p1 = submit(colony, "boom", "err-type", [7])
        p2 = submit(colony, "no_such_function", "err-type")
        p3 = submit(colony, "unserializable", "err-type")
        p4 = submit(colony, "needs_two", "err-type", [1])
        r1, r2, r3, r4 = (wait_closed(colony, p) for p in (p1, p2, p3, p4))
    assert (r1["state"], r1["errors"]) == (FAILED, ["ValueError: bad input 7"])
    assert any("Traceback" in m and "bad input 7" in m for m in process_logs(colony, p1))
    assert (r2["state"], r2["errors"]) == (FAILED, ["Unsupported funcname no_such_function"])
    assert r3["state"] == FAILED and r3["errors"][0].startswith("Output is not JSON serializable")
    assert r4["state"] == FAILED and r4["errors"][0].startswith("TypeError:")


def test_async_function_gets_process_and_ctx(colony: Colony) -> None:
    ident = colony.add_executor(executortype="async-type")
    executor = executor_for(colony, ident)
    seen: dict[str, Any] = {}

    @executor.function("inspect")
    async def inspect_it(x: int, *, process: Process, ctx: ProcessContext, label: str = "") -> list[Any]:
        await asyncio.sleep(0.01)
        seen["kwargs_label"] = label
        seen["ctx_pid"] = ctx.processid
        return [x, process.processid, process["spec"]["funcname"], (process.spec.kwargs or {})["label"]]

    with serving(executor):
        pid = submit(colony, "inspect", "async-type", [3], {"label": "L"})
        result = wait_closed(colony, pid)
    assert result["state"] == SUCCESS, result["errors"]
    assert result["out"] == [3, pid, "inspect", "L"]
    assert seen == {"kwargs_label": "L", "ctx_pid": pid}


def test_parent_outputs_reach_the_child_in_a_workflow(colony: Colony) -> None:
    ident = colony.add_executor(executortype="wf-type")
    executor = executor_for(colony, ident)

    @executor.function("numbers")
    def numbers() -> list[int]:
        return [1, 2]

    @executor.function("add")
    def add(*args: Any, process: Process) -> int:
        return int(sum(process["in"]) + sum(process.input or []))

    specs = []
    for nodename, funcname, deps in (("first", "numbers", []), ("second", "add", ["first"])):
        spec = colony.spec(nodename=nodename, funcname=funcname, args=[], kwargs={},
                           conditions={"executortype": "wf-type"})  # fmt: skip
        spec["conditions"]["dependencies"] = deps
        specs.append(spec)
    with serving(executor):
        graph = colony.call("submitworkflowspecmsg", {"spec": {"colonyname": colony.name, "functionspecs": specs}},
                            colony.executor)  # fmt: skip
        wait_for(lambda: colony.call("getprocessgraphmsg", {"processgraphid": graph["processgraphid"]},
                                     colony.executor), lambda g: g["state"] in (SUCCESS, FAILED), 15)  # fmt: skip
    procs = {p["spec"]["nodename"]: p for p in (colony.get(pid) for pid in graph["processids"])}
    assert procs["second"]["in"] == [1, 2]
    assert procs["second"]["out"] == [6]


def test_logs_stream_to_the_process_log(colony: Colony) -> None:
    ident = colony.add_executor(executortype="log-type")
    executor = executor_for(colony, ident, capture_stdout=True)

    @executor.function("chatty")
    def chatty(*, ctx: ProcessContext) -> str:
        for i in range(3):
            ctx.log(f"line {i}")
        ctx.logger.info("from the logger")
        ctx.logger.debug("not at INFO")
        print("printed", "text")
        print("partial", end="")
        return "done"

    with serving(executor):
        pid = submit(colony, "chatty", "log-type")
        assert wait_closed(colony, pid)["state"] == SUCCESS
    messages = process_logs(colony, pid)
    assert messages == ["line 0", "line 1", "line 2", "INFO from the logger\n", "printed text\n", "partial"]
    assert all(
        entry["executorname"] == ident.name
        for entry in colony.call(
            "getlogsmsg",
            {"colonyname": colony.name, "processid": pid, "count": 10, "since": 0},
            colony.executor,
        )
    )


def test_concurrency_runs_processes_in_parallel(colony: Colony) -> None:
    ident = colony.add_executor(executortype="conc-type")
    executor = executor_for(colony, ident, concurrency=3)

    @executor.function("nap")
    def nap() -> str:
        time.sleep(0.5)
        return threading.current_thread().name

    with serving(executor):
        pids = [submit(colony, "nap", "conc-type") for _ in range(3)]
        started = time.monotonic()
        results = [wait_closed(colony, pid) for pid in pids]
        elapsed = time.monotonic() - started
    assert all(r["state"] == SUCCESS for r in results)
    assert len({r["out"][0] for r in results}) == 3  # three threads
    span = (
        max(parse_time(r["endtime"]) for r in results) - min(parse_time(r["starttime"]) for r in results)
    ) / 1e9
    assert span < 1.2, span
    assert elapsed < 1.5, elapsed


def test_maxexectime_leaves_the_process_to_the_server(colony: Colony) -> None:
    ident = colony.add_executor(executortype="slow-type")
    executor = executor_for(colony, ident)
    cancelled: list[str] = []

    @executor.function("slow")
    async def slow(*, process: Process) -> str:
        try:
            await asyncio.sleep(3)
        except asyncio.CancelledError:
            cancelled.append(process.processid)
            raise
        return "too late"

    with serving(executor):
        pid = submit(colony, "slow", "slow-type", maxexectime=1, maxretries=1)
        result = wait_for(
            lambda: colony.get(pid), lambda p: p["state"] == FAILED, 20, what="failed by server"
        )
    assert result["retries"] >= 1
    assert result["errors"] == ["Maximum execution time limit exceeded"]  # the server's text, not ours
    assert cancelled and set(cancelled) == {pid}
    executor_logs = colony.call("getlogsmsg", {"colonyname": colony.name, "executorname": ident.name, "count": 50,
                                               "since": 0}, colony.executor)  # fmt: skip
    assert any("maxexectime" in entry["message"] and pid in entry["message"] for entry in executor_logs)


def test_sync_function_past_maxexectime_sees_ctx_cancelled(colony: Colony) -> None:
    ident = colony.add_executor(executortype="slow-sync-type")
    executor = executor_for(colony, ident)
    saw_cancel = threading.Event()

    @executor.function("slow")
    def slow(*, ctx: ProcessContext) -> str:
        if ctx.wait_cancelled(5):
            saw_cancel.set()
        return "too late"

    with serving(executor):
        pid = submit(colony, "slow", "slow-sync-type", maxexectime=1, maxretries=0)
        result = wait_for(
            lambda: colony.get(pid), lambda p: p["state"] == FAILED, 15, what="failed by server"
        )
        assert saw_cancel.wait(5)
    assert result["errors"] == ["Maximum execution time limit exceeded"]


def test_stop_fails_what_outlives_the_grace_period(colony: Colony) -> None:
    ident = colony.add_executor(executortype="grace-type")
    executor = executor_for(colony, ident, shutdown_grace=0.5)

    @executor.function("forever")
    async def forever() -> None:
        await asyncio.sleep(30)

    with serving(executor):
        pid = submit(colony, "forever", "grace-type")
        wait_for(lambda: colony.get(pid), lambda p: p["state"] == RUNNING, 10)
        started = time.monotonic()
    assert time.monotonic() - started < 20  # not the function's 30 s (a loaded machine stops slowly)
    result = colony.get(pid)
    assert (result["state"], result["errors"]) == (FAILED, [SHUTDOWN_ERROR])


def test_stop_before_run_returns_at_once(colony: Colony) -> None:
    executor = executor_for(colony, colony.add_executor(executortype="idle-type"))
    executor.stop()
    started = time.monotonic()
    executor.run()
    assert time.monotonic() - started < 5


# --- processes, signals, outages ------------------------------------------------------------------------------

SIGTERM_SCRIPT = """
import logging, time
from colonies.executor import Executor

logging.basicConfig(level=logging.INFO)
executor = Executor.from_env(executortype="sigterm-type", shutdown_grace=20)

@executor.function("job")
def job(*, ctx):
    ctx.log("job started")
    time.sleep(1)
    return "finished"

executor.run()
"""


def test_sigterm_lets_the_running_job_finish_and_exits_zero(colony: Colony, tmp_path: Any) -> None:
    script = tmp_path / "executor_script.py"
    script.write_text(textwrap.dedent(SIGTERM_SCRIPT))
    name = f"sigterm-{os.urandom(4).hex()}"
    env = env_for(colony, COLONIES_COLONY_PRVKEY=colony.owner.prvkey, COLONIES_EXECUTOR_NAME=name)
    proc = subprocess.Popen([sys.executable, str(script)], env=env)
    try:
        pid = submit(colony, "job", "sigterm-type")
        wait_for(
            lambda: process_logs(colony, pid), lambda logs: "job started" in logs, 20, what="job running"
        )
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    result = colony.get(pid)
    assert (result["state"], result["out"]) == (SUCCESS, ["finished"])
    assert executor_state(colony, name) == UNREGISTERED  # self-registered: removed itself on the way out


def test_echo_module_runs_from_the_command_line(colony: Colony) -> None:
    ident = colony.add_executor(executortype="echo-executor")
    env = env_for(colony, COLONIES_PRVKEY=ident.prvkey)
    proc = subprocess.Popen([sys.executable, "-m", "colonies.executor.echo"], env=env)
    try:
        pid = submit(colony, "echo", "echo-executor", ["hello", 42])
        result = wait_closed(colony, pid, 20)
        assert (result["state"], result["out"]) == (SUCCESS, ["hello", 42])
        assert process_logs(colony, pid) == ["echo hello 42"]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_executor_survives_a_server_outage(make_server: Any) -> None:
    srv: Server = make_server()
    colony = create_colony(srv)
    ident = colony.add_executor(executortype="outage-type")
    executor = executor_for(colony, ident, assign_timeout=2)
    executor.register("ping", lambda: "pong")
    with serving(executor):
        first = submit(colony, "ping", "outage-type")
        assert wait_closed(colony, first)["out"] == ["pong"]
        srv.kill()
        time.sleep(2)
        assert executor._thread is not None and executor._thread.is_alive()
        srv.restart()
        second = submit(colony, "ping", "outage-type")
        assert wait_closed(colony, second, 20)["out"] == ["pong"]


# --- the seed scenario: a cross-platform workflow over three executor types -------------------------------------


def gen_sleep(executortype: str) -> dict[str, Any]:
    """The seed's gen_sleep (documentation, "Example - Cross-platform workflows")."""
    return {
        "conditions": {
            "executortype": executortype,
            "nodes": 1,
            "processes-per-node": 1,
            "mem": "500Mi",
            "cpu": "1000m",
            "gpu": {"count": 0},
            "walltime": 60,
        },
        "funcname": "execute",
        "kwargs": {"cmd": "sleep 8", "docker-image": "ubuntu:20.04"},
        "maxexectime": 55,
        "maxretries": 3,
    }


class Workflow:
    """Enough of pycolonies' Workflow for the seed: ``add(spec, nodename, dependencies)``."""

    def __init__(self, colonyname: str) -> None:
        self.colonyname = colonyname
        self.functionspecs: list[dict[str, Any]] = []

    def add(self, spec: dict[str, Any], nodename: str, dependencies: list[str]) -> None:
        spec = {**spec, "nodename": nodename, "conditions": {**spec["conditions"], "dependencies": dependencies,
                                                             "colonyname": self.colonyname}}  # fmt: skip
        self.functionspecs.append(spec)

    def to_dict(self) -> dict[str, Any]:
        return {"colonyname": self.colonyname, "functionspecs": self.functionspecs}


def test_seed_cross_platform_workflow(colony: Colony) -> None:
    executed: list[str] = []

    async def execute(*, cmd: str = "", process: Process, ctx: ProcessContext, **kwargs: Any) -> None:
        # The container executors come later: honour "sleep N" briefly instead of really sleeping N seconds.
        match = re.fullmatch(r"\s*sleep\s+([0-9.]+)\s*", cmd)
        if match:
            await asyncio.sleep(min(float(match.group(1)), 0.05))
        ctx.log(f"{process.spec.nodename}: ran {cmd!r} in {kwargs.get('docker-image')}")
        executed.append(process.spec.nodename)

    executors = []
    for executortype in ("ice-kubeexecutor", "lumi-small-hpcexecutor", "leonardo-booster-hpcexecutor"):
        ex = executor_for(colony, colony_prvkey=colony.owner.prvkey, executortype=executortype, concurrency=4)
        ex.register("execute", execute)
        executors.append(ex)

    wf = Workflow(colony.name)
    wf.add(gen_sleep("ice-kubeexecutor"), nodename="ice-0", dependencies=[])
    for i in range(8):
        wf.add(gen_sleep("lumi-small-hpcexecutor"), nodename=f"lumi-{i}", dependencies=["ice-0"])
    wf.add(gen_sleep("leonardo-booster-hpcexecutor"), nodename="leonardo-0",
           dependencies=[f"lumi-{i}" for i in range(8)])  # fmt: skip
    wf.add(gen_sleep("ice-kubeexecutor"), nodename="ice-1", dependencies=["leonardo-0"])

    for ex in executors:
        ex.run_in_thread()
    try:
        assert all(ex.wait_ready(20) for ex in executors)
        graph = colony.call("submitworkflowspecmsg", {"spec": wf.to_dict()}, colony.user)
        final = wait_for(lambda: colony.call("getprocessgraphmsg", {"processgraphid": graph["processgraphid"]},
                                             colony.user), lambda g: g["state"] in (SUCCESS, FAILED), 30)  # fmt: skip
    finally:
        for ex in executors:
            ex.stop()
        assert all(ex.join(20) for ex in executors)
    assert final["state"] == SUCCESS
    assert len(final["processids"]) == 11 and sorted(executed) == sorted(
        s["nodename"] for s in wf.functionspecs
    )

    procs = {pid: colony.get(pid) for pid in final["processids"]}
    names = {ex.executorid: ex.executortype for ex in executors}
    for proc in procs.values():
        assert proc["state"] == SUCCESS
        assert names[proc["assignedexecutorid"]] == proc["spec"]["conditions"]["executortype"]
        for parent in proc["parents"]:
            assert parse_time(proc["starttime"]) >= parse_time(procs[parent]["endtime"]), (
                f"{proc['spec']['nodename']} started before its parent {procs[parent]['spec']['nodename']} ended"
            )
    by_name = {p["spec"]["nodename"]: p for p in procs.values()}
    assert len(by_name["leonardo-0"]["parents"]) == 8
    assert all(by_name[n]["parents"] for n in by_name if n != "ice-0")
    for ex in executors:
        assert executor_state(colony, ex.executorname) == UNREGISTERED

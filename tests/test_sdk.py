"""The SDK (``Colonies``, ``AsyncColonies``, ``pycolonies``) against a real server: every method, both access
styles on replies, the environment client, wait over /pubsub, errors, and the user's seed example."""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Colony, Server, create_colony, free_port, new_identity

import colonies
import pycolonies
from colonies.aio import AsyncColonies
from colonies.client import Colonies, ColoniesConfigError, colonies_client
from colonies.client.models import (
    AttrDict,
    Conditions,
    File,
    FuncSpec,
    Process,
    ProcessGraph,
    Workflow,
    func_spec,
)
from colonies.exceptions import ColoniesConnectionError, ColoniesError

SEED = Path(__file__).parent / "data" / "seeds" / "000_0cfafbc1de39d56e.txt"


@pytest.fixture
def sdk(server: Server) -> Iterator[Colonies]:
    with Colonies("127.0.0.1", server.port, timeout=30) as client:
        yield client


def spec(colony: Colony, name: str = "echo", **kw: Any) -> FuncSpec:
    return func_spec(name, ["hello"], colony.name, colony.executortype, kwargs={"k": "v"}, **kw)


def run_one(sdk: Colonies, colony: Colony, output: list[Any] | None = None) -> Process:
    """Assign the next process to the colony's executor and close it with ``output``."""
    process = sdk.assign(colony.name, 5, colony.executor.prvkey)
    sdk.close(process.processid, output or [], colony.executor.prvkey)
    return process


# --- models, offline ----------------------------------------------------------------------------------------------


def test_process_model_reads_as_attributes_and_as_a_dict() -> None:
    reply = {
        "processid": "p1",
        "in": None,
        "out": ["x"],
        "errors": None,
        "attributes": None,
        "extra": 1,
        "submissiontime": "2024-05-01T10:11:12.123456789Z",
        "spec": {
            "kwargs": {"a": "b"},
            "fs": None,
            "conditions": {"executortype": "t", "gpu": None, "dependencies": None},
        },
    }
    p = Process.model_validate(reply)
    assert p.processid == p["processid"] == "p1"
    assert p.input is None and p["in"] is None and p.output == p["out"] == ["x"]
    assert p.errors == [] and p.attributes is None
    assert p["spec"]["kwargs"] == p.spec.kwargs == {"a": "b"}
    assert p["spec"]["conditions"]["dependencies"] == []
    assert "processid" in p and "in" in p and "extra" not in p
    assert p.get("nope", 7) == 7 and p.get("out") == ["x"]
    assert p.submissiontime is not None and p.submissiontime.year == 2024
    assert dict(p)["in"] is None and next(iter(p)) == "processid"
    p["out"] = ["y"]
    assert p.output == ["y"]
    with pytest.raises(KeyError):
        p["nope"]
    assert Process(input=[1], output=[2]).to_dict()["in"] == [1]


def test_workflow_positional_and_add_accepts_dicts_and_funcspecs() -> None:
    wf = Workflow("col")
    assert wf == Workflow(colonyname="col")
    raw = {"funcname": "f", "conditions": {"executortype": "t", "processes-per-node": 1, "gpu": {"count": 0}}}
    first = wf.add(raw, nodename="a", dependencies=[])
    second = wf.add(
        FuncSpec(funcname="g", conditions=Conditions(executortype="t")), nodename="b", dependencies=["a"]
    )
    assert "nodename" not in raw  # the caller's dict is not modified
    assert [s.nodename for s in wf.functionspecs] == ["a", "b"]
    assert first.conditions.colonyname == second.conditions.colonyname == "col"
    assert wf["functionspecs"][1]["conditions"]["dependencies"] == ["a"]
    assert wf.workflow_spec()["functionspecs"][0]["funcname"] == "f" and wf.func_specs is wf.functionspecs
    reused = FuncSpec(funcname="h", conditions=Conditions(executortype="t", colonyname="other"))
    wf.add(reused, nodename="c", dependencies=["b"])
    wf.add(reused, nodename="d", dependencies=["b"])
    assert [s.nodename for s in wf.functionspecs[2:]] == ["c", "d"] and reused.nodename == ""
    assert wf.functionspecs[2].conditions.colonyname == "other"


def test_func_spec_matches_pycolonies() -> None:
    s = func_spec("echo", ["x"], "col", "et", executorname="e1", code="print(1)")
    assert (s.nodename, s.funcname, s.priority, s.maxexectime, s.maxretries, s.maxwaittime) == (
        "echo",
        "echo",
        1,
        -1,
        -1,
        -1,
    )
    assert s.conditions.executornames == ["e1"] and s.env["code"] == "cHJpbnQoMSk=" and s.kwargs is None

    def add(a: int, b: int) -> int:
        return a + b

    f = func_spec(add, [1, 2], "col", "et")
    assert f.funcname == f.nodename == "add" and f.env["args_spec"] == "a,b" and f.args == [1, 2]
    assert "def add" in __import__("base64").b64decode(f.env["code"]).decode()


def test_attrdict_and_file_label() -> None:
    d = AttrDict({"a": {"b": [{"c": 1}]}})
    assert d.a.b[0].c == d["a"]["b"][0]["c"] == 1 and json.loads(json.dumps(d)) == d
    d.x = {"y": 2}
    assert d["x"].y == 2
    with pytest.raises(AttributeError):
        _ = d.missing
    assert File(label="///a/b/").label == "/a/b"


def test_public_names_are_exported_and_sorted() -> None:
    for module in (colonies, pycolonies, __import__("colonies.client", fromlist=["*"])):
        assert module.__all__ == sorted(module.__all__)
        for name in module.__all__:
            assert getattr(module, name) is not None
    from pycolonies import Colonies as C

    assert C is Colonies and pycolonies.Crypto().id(pycolonies.Crypto().prvkey())


def test_async_client_has_every_sync_method() -> None:
    public = {n for n in dir(Colonies) if not n.startswith("_")}
    assert public - {"close_connection"} <= {n for n in dir(AsyncColonies) if not n.startswith("_")}
    assert inspect.iscoroutinefunction(AsyncColonies.wait)
    assert str(inspect.signature(Colonies("h", 1).remove_all_processes)) == (
        "(colonyname: 'str', prvkey: 'str', state: 'int' = -1) -> 'AttrDict'"
    )


# --- server, colonies, executors, users, functions --------------------------------------------------------------


def test_server_messages(sdk: Colonies, server: Server, colony: Colony) -> None:
    assert "buildversion" in sdk.version() and sdk.get_server_info().backends[0]["type"] == "http"
    stats = sdk.get_statistics(server.prvkey)
    assert stats.colonies == stats["colonies"] >= 1 and stats.waitingprocesses >= 0
    # The leader is whoever holds the database's leader lock; a server just started takes it at its first timeout
    # sweep and writes it at the replica loop's next turn (a quarter of a second), not at its next heartbeat (5 s):
    # a fast client may ask before that, not for seconds.
    deadline = time.monotonic() + 2
    while sdk.get_cluster(server.prvkey).leader.apiport != server.port and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sdk.get_cluster(server.prvkey).leader.apiport == server.port


def test_change_server_id(make_server: Any) -> None:
    srv = make_server()
    new = new_identity("new-server-owner")
    with Colonies("127.0.0.1", srv.port) as c:
        assert c.change_server_id(new.id, srv.prvkey).serverid == new.id
        assert c.list_colonies(new.prvkey) == []
        with pytest.raises(ColoniesError) as info:
            c.list_colonies(srv.prvkey)
        assert info.value.status == 403


def test_colony_methods(sdk: Colonies, server: Server) -> None:
    owner = new_identity(f"sdk-colony-{os.urandom(4).hex()}")
    added = sdk.add_colony({"colonyid": owner.id, "name": owner.name}, server.prvkey)
    assert added.name == added["name"] == owner.name
    assert owner.name in [c.name for c in sdk.list_colonies(server.prvkey)]

    def user(name: str) -> tuple[Any, dict[str, str]]:
        ident = new_identity(name)
        return ident, {"colonyname": owner.name, "userid": ident.id, "name": name, "email": "", "phone": ""}

    member, member_json = user("member")
    sdk.add_user(member_json, owner.prvkey)
    assert sdk.get_colony(owner.name, member.prvkey).colonyid == owner.id
    stats = sdk.stats(owner.name, member.prvkey)
    assert stats.waitingprocesses == stats["waitingprocesses"] == 0
    new_owner = new_identity("owner2")
    assert sdk.change_colony_id(owner.name, new_owner.id, owner.prvkey).colonyid == new_owner.id
    assert sdk.get_colony(owner.name, member.prvkey)["colonyid"] == new_owner.id
    sdk.add_user(user("second")[1], new_owner.prvkey)
    with pytest.raises(ColoniesError) as info:
        sdk.add_user(user("third")[1], owner.prvkey)
    assert info.value.status == 403
    assert sdk.del_colony(owner.name, server.prvkey) == {}
    with pytest.raises(ColoniesError):
        sdk.get_colony(owner.name, member.prvkey)


def test_executor_methods_return_attrdicts(sdk: Colonies, colony: Colony) -> None:
    key, reader = colony.owner.prvkey, colony.user.prvkey  # the owner administers, members read
    ident = new_identity("sdk-exec")
    executor = {
        "executorname": ident.name,
        "executorid": ident.id,
        "colonyname": colony.name,
        "executortype": "t",
    }
    added = sdk.add_executor(executor, key)
    assert isinstance(added, AttrDict) and added.state == added["state"] == 0
    assert sdk.approve_executor(colony.name, ident.name, key) == {}
    got = sdk.get_executor(colony.name, ident.name, reader)
    assert got.state == 1 and got.capabilities == got["capabilities"] and json.dumps(got)
    assert sdk.get_executor_by_id(colony.name, ident.id, reader).executorname == ident.name
    assert ident.name in [e.executorname for e in sdk.list_executors(colony.name, reader)]
    sdk.reject_executor(colony.name, ident.name, key)
    assert sdk.get_executor(colony.name, ident.name, reader)["state"] == 2
    assert sdk.remove_executor(colony.name, ident.name, key) == {}
    with pytest.raises(ColoniesError) as info:
        sdk.assign(colony.name, -1, ident.prvkey)
    assert info.value.status == 403


def test_user_methods(sdk: Colonies, colony: Colony) -> None:
    key, reader = colony.owner.prvkey, colony.user.prvkey
    ident = new_identity("sdk-user")
    user = {"colonyname": colony.name, "userid": ident.id, "name": ident.name, "email": "u@x", "phone": "1"}
    assert sdk.add_user(user, key).userid == ident.id
    assert ident.name in [u.name for u in sdk.get_users(colony.name, reader)]
    assert sdk.get_user(colony.name, ident.name, ident.prvkey).email == "u@x"
    assert sdk.get_user_by_id(colony.name, ident.id, reader)["name"] == ident.name
    assert sdk.remove_user(colony.name, ident.name, key) == {}
    with pytest.raises(ColoniesError):
        sdk.get_user(colony.name, ident.name, reader)


def test_function_methods(sdk: Colonies, colony: Colony) -> None:
    key = colony.executor.prvkey
    fn = sdk.add_function(colony.name, colony.executor.name, "echo", key, description="says it back")
    assert (
        fn.funcname == "echo"
        and fn["executortype"] == colony.executortype
        and fn.description == "says it back"
    )
    assert [f.funcname for f in sdk.get_functions_by_executor(colony.name, colony.executor.name, key)] == [
        "echo"
    ]
    assert [f["functionid"] for f in sdk.get_functions_by_colony(colony.name, key)] == [fn.functionid]
    assert sdk.remove_function(fn.functionid, key) == {}
    assert sdk.get_functions_by_colony(colony.name, key) == []


# --- processes ----------------------------------------------------------------------------------------------------


def test_process_lifecycle(sdk: Colonies, colony: Colony) -> None:
    ekey = colony.executor.prvkey
    submitted = sdk.submit_func_spec(spec(colony), colony.user.prvkey)
    assert isinstance(submitted, Process) and submitted.state == Colonies.WAITING
    got = sdk.get_process(submitted.processid, ekey)
    assert got.processid == got["processid"] == submitted.processid
    assert got.spec.kwargs == got["spec"]["kwargs"] == {"k": "v"} and got["spec"]["args"] == ["hello"]
    assert got["in"] == got.input == [] and "out" in got and got.get("nope") is None
    assert (
        got.spec.conditions.executortype == got["spec"]["conditions"]["executortype"] == colony.executortype
    )
    waiting = sdk.list_processes(colony.name, 10, Colonies.WAITING, ekey)
    assert [p["processid"] for p in waiting] == [p.processid for p in waiting] == [submitted.processid]
    assert sdk.list_processes(colony.name, 10, Colonies.WAITING, ekey, executortype="other") == []

    assigned = sdk.assign(colony.name, 5, ekey)
    assert assigned.processid == submitted.processid and assigned.state == Colonies.RUNNING
    attr = sdk.add_attribute(assigned.processid, "color", "blue", ekey)
    assert attr.key == "color" and sdk.get_attribute(attr.attributeid, ekey)["value"] == "blue"
    assert sdk.add_log(assigned.processid, "hello log", ekey) == {}
    sdk.add_executor_log(colony.name, colony.executor.name, "executor line", ekey)
    logs = sdk.get_process_log(colony.name, assigned.processid, 10, 0, ekey)
    assert [entry.message for entry in logs] == ["hello log"]
    assert (
        sdk.get_process_log(colony.name, assigned.processid, 10, 0, ekey, latest=True)[0]["message"]
        == "hello log"
    )
    assert {e.message for e in sdk.get_executor_log(colony.name, colony.executor.name, 10, 0, ekey)} >= {
        "hello log",
        "executor line",
    }
    assert sdk.get_executor_log(colony.name, colony.executor.name, 10, 0, ekey, latest=True)
    assert [e.message for e in sdk.search_logs(colony.name, "hello", 1, 10, ekey)] == ["hello log"]
    assert sdk.set_output(assigned.processid, ["partial"], ekey) == {}
    assert sdk.get_process(assigned.processid, ekey).output == ["partial"]
    sdk.close(assigned.processid, ["done", 42], ekey)
    closed = sdk.get_process(assigned.processid, ekey)
    assert closed.state == Colonies.SUCCESSFUL and closed["out"] == ["done", 42]
    assert closed.attributes and closed.attributes[0].key == "color"
    hist = sdk.get_process_hist(colony.name, 60, Colonies.SUCCESSFUL, ekey)
    assert [p.processid for p in hist] == [closed.processid]
    assert sdk.remove_process(closed.processid, ekey) == {}
    with pytest.raises(ColoniesError) as info:
        sdk.get_process(closed.processid, ekey)
    assert info.value.status == 404


def test_fail_cancel_and_remove_all(sdk: Colonies, colony: Colony) -> None:
    ekey = colony.executor.prvkey
    p = sdk.submit_func_spec(spec(colony), ekey)
    sdk.assign(colony.name, 5, ekey)
    assert sdk.fail(p.processid, ["boom"], ekey) == {}
    failed = sdk.get_process(p.processid, ekey)
    assert failed.state == Colonies.FAILED and failed["errors"] == ["boom"]
    q = sdk.submit_func_spec(spec(colony), ekey)
    assert sdk.cancel_process(q.processid, ekey) == {}
    assert sdk.get_process(q.processid, ekey).state == Colonies.CANCELLED
    sdk.submit_func_spec(spec(colony), ekey)
    assert sdk.remove_all_processes(colony.name, colony.owner.prvkey) == {}
    for state in (Colonies.WAITING, Colonies.FAILED, Colonies.CANCELLED):
        assert sdk.list_processes(colony.name, 10, state, ekey) == []


def test_submit_accepts_seed_era_dicts(sdk: Colonies, colony: Colony) -> None:
    raw = {
        "funcname": "echo",
        "conditions": {"colonyname": colony.name, "executortype": colony.executortype},
        "kwargs": {"cmd": "ls"},
        "maxexectime": 55,
    }
    p = sdk.submit(raw, colony.executor.prvkey)
    assert isinstance(p, Process) and p["spec"]["kwargs"]["cmd"] == "ls" and p.spec.maxexectime == 55
    also = sdk.submit_func_spec(raw, colony.executor.prvkey)
    assert also.processid != p.processid


# --- workflows ----------------------------------------------------------------------------------------------------


def test_three_node_dag_end_to_end(sdk: Colonies, colony: Colony) -> None:
    ekey = colony.executor.prvkey
    wf = Workflow(colony.name)
    base = {"funcname": "step", "conditions": {"executortype": colony.executortype}}
    wf.add(base, nodename="a", dependencies=[])
    wf.add(func_spec("step", [], "", colony.executortype), nodename="b", dependencies=["a"])
    wf.add(base, nodename="c", dependencies=["a", "b"])
    graph = sdk.submit(wf, ekey)
    assert isinstance(graph, ProcessGraph) and len(graph.processids) == len(graph["processids"]) == 3
    assert len(graph.rootprocessids) == 1

    order = []
    for _ in range(3):
        process = sdk.assign(colony.name, 5, ekey)
        order.append(process.spec.nodename)
        if process.spec.nodename == "c":
            assert sorted(process["in"]) == ["out-a", "out-b"]
        sdk.close(process.processid, [f"out-{process.spec.nodename}"], ekey)
    assert order == ["a", "b", "c"]

    full = sdk.get_processgraph(graph.processgraphid, ekey)
    assert full.state == full["state"] == Colonies.SUCCESSFUL
    labels = {n.data["label"] for n in full.nodes}
    assert labels == {n["data"]["label"] for n in full["nodes"]} == {"a", "b", "c"}
    assert len(full.edges) == 3 and {e["source"] for e in full["edges"]} <= set(full.processids)
    listed = sdk.get_processgraphs(colony.name, 10, ekey, state=Colonies.SUCCESSFUL)
    assert (
        [g.processgraphid for g in listed] == [g["processgraphid"] for g in listed] == [graph.processgraphid]
    )
    procs = sdk.get_processes_for_workflow(graph.processgraphid, colony.name, ekey)
    assert sorted(p.spec.nodename for p in procs) == ["a", "b", "c"]
    found = sdk.find_process("b", full.processids, ekey)
    assert found is not None and found.output == ["out-b"]
    assert sdk.find_process("zzz", full.processids, ekey) is None
    assert sdk.remove_processgraph(graph.processgraphid, ekey) == {}
    with pytest.raises(ColoniesError):
        sdk.get_processgraph(graph.processgraphid, ekey)


def test_workflow_add_child_cancel_and_remove_all(sdk: Colonies, colony: Colony) -> None:
    ekey = colony.executor.prvkey
    wf = Workflow(colonyname=colony.name)
    wf.add(spec(colony, "parent"), nodename="parent", dependencies=[])
    wf.add(spec(colony, "child"), nodename="child", dependencies=["parent"])
    graph = sdk.submit_workflow(wf, ekey)
    assert sdk.get_processgraphs(colony.name, 10, ekey)[0].processgraphid == graph.processgraphid  # state 0
    parent = sdk.assign(colony.name, 5, ekey)
    child = sdk.find_process("child", graph.processids, ekey)
    assert child is not None
    added = sdk.add_child(
        graph.processgraphid, parent.processid, child.processid, spec(colony, "middle"), "middle", True, ekey
    )
    assert added.spec.nodename == added["spec"]["nodename"] == "middle"
    assert len(sdk.get_processgraph(graph.processgraphid, ekey).processids) == 3
    assert sdk.cancel_workflow(graph.processgraphid, ekey) == {}
    assert sdk.get_process(child.processid, ekey).state == Colonies.CANCELLED
    other = sdk.submit_workflow(wf, ekey)
    sdk.cancel_processgraph(other.processgraphid, ekey)
    assert sdk.remove_all_processgraphs(colony.name, colony.owner.prvkey, state=-1) == {}
    assert sdk.get_processgraphs(colony.name, 10, ekey, state=Colonies.CANCELLED) == []


# --- wait over /pubsub --------------------------------------------------------------------------------------------


def _later(fn: Any, delay: float = 0.5) -> threading.Thread:
    """Run ``fn`` in a thread after ``delay`` s, so the caller is already waiting when it happens."""

    def run() -> None:
        time.sleep(delay)
        fn()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_wait_returns_when_the_process_closes(sdk: Colonies, colony: Colony, server: Server) -> None:
    p = sdk.submit_func_spec(spec(colony), colony.user.prvkey)
    with Colonies("127.0.0.1", server.port) as worker:
        thread = _later(lambda: run_one(worker, colony, ["result"]))
        started = time.monotonic()
        done = sdk.wait(p, 20, colony.user.prvkey)
        thread.join()
    assert time.monotonic() - started < 10
    assert done.state == Colonies.SUCCESSFUL and done["out"] == ["result"] == done.output
    again = sdk.wait(p.to_dict(), 5, colony.user.prvkey)  # already closed: immediate; a dict works too
    assert again.processid == p.processid


def test_wait_for_failed_state_and_by_id(sdk: Colonies, colony: Colony, server: Server) -> None:
    p = sdk.submit_func_spec(spec(colony), colony.user.prvkey)

    def fail() -> None:
        with Colonies("127.0.0.1", server.port) as worker:
            assigned = worker.assign(colony.name, 5, colony.executor.prvkey)
            worker.fail(assigned.processid, ["bad"], colony.executor.prvkey)

    thread = _later(fail)
    done = sdk.wait(p.processid, 20, colony.user.prvkey, state=Colonies.FAILED)
    thread.join()
    assert done.state == Colonies.FAILED and done.errors == ["bad"]


def test_wait_times_out_with_408(sdk: Colonies, colony: Colony) -> None:
    p = sdk.submit_func_spec(spec(colony), colony.user.prvkey)
    started = time.monotonic()
    with pytest.raises(ColoniesError) as info:
        sdk.wait(p, 1, colony.user.prvkey)
    assert info.value.status == 408 and time.monotonic() - started < 10


def test_wait_on_unknown_process_reports_the_server_error(sdk: Colonies, colony: Colony) -> None:
    with pytest.raises(ColoniesError) as info:
        sdk.wait("0" * 64, 1, colony.user.prvkey)
    assert info.value.status == 404 and "does not exist" in info.value.message


# --- errors -------------------------------------------------------------------------------------------------------


def test_server_errors_reach_the_caller(sdk: Colonies, colony: Colony) -> None:
    with pytest.raises(ColoniesError) as info:
        sdk.get_process("f" * 64, colony.executor.prvkey)
    assert info.value.status == 404 and info.value.message == f"Process with id {'f' * 64} does not exist"
    assert not isinstance(info.value, ColoniesConnectionError)
    with pytest.raises(ColoniesError) as denied:
        sdk.list_colonies(colony.owner.prvkey)
    assert denied.value.status == 403 and denied.value.message
    with pytest.raises(ColoniesError) as empty:
        sdk.assign(colony.name, 1, colony.executor.prvkey)
    assert empty.value.status == 404


def test_connection_refused_names_host_and_port() -> None:
    port = free_port()
    client = Colonies("127.0.0.1", port)
    key = new_identity("x").prvkey
    with pytest.raises(ColoniesConnectionError) as info:
        client.list_colonies(key)
    assert f"127.0.0.1:{port}" in str(info.value) and isinstance(info.value, ColoniesError)
    with pytest.raises(ColoniesConnectionError) as ws_info:
        client.wait("0" * 64, 1, key)
    assert f"127.0.0.1:{port}" in str(ws_info.value)


BOGUS_CALLS: list[tuple[str, tuple[Any, ...]]] = [
    ("add_cron", ("c", "0 * * * * *", False, Workflow("x"), "x")), ("get_cron", ("id",)), ("get_crons", ("x", 1)),
    ("del_cron", ("id",)), ("run_cron", ("id",)), ("get_generators", ("x",)), ("get_generator", ("id",)),
    ("add_generator", ({"name": "g"},)), ("remove_generator", ("id",)), ("create_snapshot", ("x", "/l", "n")),
    ("get_snapshots", ("x",)), ("get_snapshot_by_name", ("x", "n")), ("get_snapshot_by_id", ("x", "id")),
    ("get_files", ("/l", "x")), ("get_file_labels", ("x",)), ("get_file", ("x",)),
    ("channel_append", ("p", "ch", 1, "hi")), ("channel_read", ("p", "ch", 0, 10)),
    ("add_blueprint_definition", ({"kind": "k"},)), ("get_blueprint_definition", ("x", "n")),
    ("get_blueprint_definitions", ("x",)), ("remove_blueprint_definition", ("x", "n")),
    ("add_blueprint", ({"kind": "k"},)), ("get_blueprint", ("x", "n")), ("get_blueprints", ("x",)),
    ("update_blueprint", ({"kind": "k"},)), ("remove_blueprint", ("x", "n")),
    ("update_blueprint_status", ("x", "n", {})), ("reconcile_blueprint", ("x", "n")),
    ("get_blueprint_history", ("id",)),
]  # fmt: skip


@pytest.mark.parametrize(("method", "args"), BOGUS_CALLS, ids=[m for m, _ in BOGUS_CALLS])
def test_pycolonies_calls_that_name_nothing_fail_cleanly(
    sdk: Colonies, colony: Colony, method: str, args: tuple[Any, ...]
) -> None:
    """Crons, generators, files, channels and blueprints sent as pycolonies sends them, with arguments that name
    nothing that exists: a clear error reply (400, 403 or 404) raised as ColoniesError, never a crash in the SDK."""
    fn = getattr(sdk, method)
    params = list(inspect.signature(fn).parameters)
    call_args = list(args)
    call_args.insert(params.index("prvkey"), colony.owner.prvkey)
    with pytest.raises(ColoniesError) as info:
        fn(*call_args)
    assert info.value.status in (400, 403, 404)


def test_get_file_rejects_id_and_name_together(sdk: Colonies) -> None:
    with pytest.raises(ValueError):
        sdk.get_file("x", "k", fileid="a", filename="b")


# --- colonies_client() from the environment ---------------------------------------------------------------------


ENV = {
    "COLONIES_SERVER_HOST": "example.org",
    "COLONIES_SERVER_PORT": "4711",
    "COLONIES_COLONY_NAME": "dev",
    "COLONIES_COLONY_PRVKEY": "ck",
    "COLONIES_EXECUTOR_NAME": "ex",
    "COLONIES_PRVKEY": "pk",
}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in (*ENV, "COLONIES_SERVER_TLS", "COLONIES_TLS"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_colonies_client_reads_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        clean_env.setenv(name, value)
    client, colonyname, colony_prvkey, executorname, prvkey = colonies_client()
    assert (colonyname, colony_prvkey, executorname, prvkey) == ("dev", "ck", "ex", "pk")
    assert (client.host, client.port, client.tls, client.url) == (
        "example.org",
        4711,
        False,
        "http://example.org:4711/api",
    )
    clean_env.setenv("COLONIES_TLS", "true")
    assert colonies_client()[0].tls is True
    clean_env.setenv("COLONIES_SERVER_TLS", "false")  # the pycolonies name wins
    assert colonies_client(native_crypto=True)[0].tls is False


def test_colonies_client_optional_variables(clean_env: pytest.MonkeyPatch) -> None:
    for name in (
        "COLONIES_SERVER_HOST",
        "COLONIES_SERVER_PORT",
        "COLONIES_COLONY_NAME",
        "COLONIES_COLONY_PRVKEY",
    ):
        clean_env.setenv(name, ENV[name])
    _, _, colony_prvkey, executorname, prvkey = colonies_client()
    assert (colony_prvkey, executorname, prvkey) == ("ck", "", "")


@pytest.mark.parametrize("missing", ["COLONIES_SERVER_HOST", "COLONIES_SERVER_PORT", "COLONIES_COLONY_NAME"])
def test_colonies_client_names_a_missing_variable(clean_env: pytest.MonkeyPatch, missing: str) -> None:
    for name, value in ENV.items():
        if name != missing:
            clean_env.setenv(name, value)
    with pytest.raises(ColoniesConfigError, match=missing):
        colonies_client()


def test_colonies_client_needs_a_key_and_a_numeric_port(clean_env: pytest.MonkeyPatch) -> None:
    for name in ("COLONIES_SERVER_HOST", "COLONIES_SERVER_PORT", "COLONIES_COLONY_NAME"):
        clean_env.setenv(name, ENV[name])
    with pytest.raises(ColoniesConfigError, match="COLONIES_PRVKEY"):
        colonies_client()
    clean_env.setenv("COLONIES_PRVKEY", "pk")
    clean_env.setenv("COLONIES_SERVER_PORT", "http")
    with pytest.raises(ValueError, match="COLONIES_SERVER_PORT"):
        colonies_client()


# --- AsyncColonies ------------------------------------------------------------------------------------------------


def test_async_client_submit_assign_close_wait(server: Server, colony: Colony) -> None:
    ekey = colony.executor.prvkey

    async def main() -> tuple[Process, Process, ColoniesError, list[Any]]:
        async with AsyncColonies("127.0.0.1", server.port) as client:
            submitted = await client.submit(spec(colony), colony.user.prvkey)
            assert isinstance(submitted, Process)
            waiter = asyncio.create_task(client.wait(submitted, 20, colony.user.prvkey))
            assigned = await client.assign(colony.name, 5, ekey)
            await client.add_log(assigned.processid, "async log", ekey)
            await client.close(assigned.processid, ["async"], ekey)
            done = await waiter
            logs = await client.get_process_log(colony.name, assigned.processid, 10, 0, ekey)
            try:
                await client.get_process("e" * 64, ekey)
            except ColoniesError as exc:
                error = exc
            found = await client.find_process(submitted.spec.nodename, [submitted.processid], ekey)
            assert found is not None
            with pytest.raises(ColoniesError) as timeout:
                await client.wait(await client.submit_func_spec(spec(colony), ekey), 1, ekey)
            assert timeout.value.status == 408
            return assigned, done, error, logs

    assigned, done, error, logs = asyncio.run(main())
    assert (
        assigned.state == Colonies.RUNNING and done.state == Colonies.SUCCESSFUL and done["out"] == ["async"]
    )
    assert error.status == 404 and "does not exist" in error.message
    assert [entry.message for entry in logs] == ["async log"]


def test_async_client_workflow_and_unreachable_server(server: Server, colony: Colony) -> None:
    async def main() -> ProcessGraph:
        async with AsyncColonies("127.0.0.1", server.port) as client:
            wf = Workflow(colony.name)
            wf.add(spec(colony, "one"), nodename="one", dependencies=[])
            wf.add(spec(colony, "two"), nodename="two", dependencies=["one"])
            graph = await client.submit_workflow(wf, colony.executor.prvkey)
            return await client.get_processgraph(graph.processgraphid, colony.executor.prvkey)

    graph = asyncio.run(main())
    assert len(graph.processids) == 2 and len(graph["edges"]) == 1

    port = free_port()

    async def unreachable() -> None:
        async with AsyncColonies("127.0.0.1", port) as client:
            await client.version()

    with pytest.raises(ColoniesConnectionError, match=f"127.0.0.1:{port}"):
        asyncio.run(unreachable())


# --- the user's seed: the cross-platform workflow example must run unchanged ----------------------------------------


def seed_cross_platform_code() -> str:
    """The python code block of the seed's "Cross-platform workflows" section, dedented."""
    lines = SEED.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if "Cross-platform workflows" in line)
    start = (
        next(i for i in range(start, len(lines)) if lines[i].strip().startswith(".. code-block:: python")) + 1
    )
    block = []
    for line in lines[start:]:
        if line.strip() and not line[0].isspace():  # the next section's title
            break
        block.append(line)
    return textwrap.dedent("\n".join(block)).strip() + "\n"


def test_seed_cross_platform_example_submits_an_11_node_graph(server: Server, tmp_path: Path) -> None:
    code = seed_cross_platform_code()
    compile(code, "seed", "exec")
    assert "colonies.submit(wf, executor_prvkey)" in code
    colony = create_colony(server)
    executor = colony.add_executor("seed-executor", executortype="seed-type")
    env = {**os.environ, "MPLBACKEND": "Agg", "COLONIES_SERVER_HOST": "127.0.0.1",
           "COLONIES_SERVER_PORT": str(server.port), "COLONIES_SERVER_TLS": "false",
           "COLONIES_COLONY_NAME": colony.name, "COLONIES_COLONY_PRVKEY": colony.owner.prvkey,
           "COLONIES_EXECUTOR_NAME": executor.name, "COLONIES_PRVKEY": executor.prvkey}  # fmt: skip
    runner = "import sys; exec(compile(sys.stdin.read(), 'seed', 'exec'))"
    result = subprocess.run(
        [sys.executable, "-c", runner], input=code, env=env, cwd=tmp_path, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr

    sdk = Colonies("127.0.0.1", server.port)
    graphs = sdk.get_processgraphs(colony.name, 10, executor.prvkey, state=Colonies.WAITING)
    assert len(graphs) == 1 and len(graphs[0].processids) == 11
    procs = {pid: sdk.get_process(pid, executor.prvkey) for pid in graphs[0].processids}
    name = {pid: p.spec.nodename for pid, p in procs.items()}
    parents = {p.spec.nodename: sorted(name[q] for q in p.parents) for p in procs.values()}
    lumis = [f"lumi-{i}" for i in range(8)]
    assert parents == {"ice-0": [], **{lumi: ["ice-0"] for lumi in lumis}, "leonardo-0": lumis,
                       "ice-1": ["leonardo-0"]}  # fmt: skip
    assert [name[r] for r in graphs[0].rootprocessids] == ["ice-0"]
    leonardo = next(p for p in procs.values() if p.spec.nodename == "leonardo-0")
    assert leonardo.spec.conditions.executortype == "leonardo-booster-hpcexecutor"
    assert leonardo["spec"]["kwargs"] == {"cmd": "sleep 8", "docker-image": "ubuntu:20.04"}
    assert (
        leonardo.spec.maxexectime == 55
        and leonardo.spec.maxretries == 3
        and leonardo.spec.conditions.walltime == 60
    )
    assert all(p.initiatorname == executor.name for p in procs.values())


def test_conditions_read_both_spellings_of_processes_per_node() -> None:
    assert Conditions.model_validate({"processes-per-node": 4}).processespernode == 4
    assert Conditions.model_validate({"processespernode": 2, "processes-per-node": 4}).processespernode == 2
    spec = FuncSpec.model_validate({"funcname": "f", "conditions": {"processes-per-node": 8}})
    assert spec.to_dict()["conditions"]["processespernode"] == 8

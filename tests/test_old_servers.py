"""Our clients against a server of the original v1.7.8 generation: this server started with
``--wire-generation 1.7.8`` refuses every newer message as v1.7.8 does (403 "invalid rpcMsg.PayloadType, <type>").
The executor framework, the container executor, the CLI and the SDK must work against it with the messages it
has, fail with one line where it simply lacks a feature, and still use the newer messages on a current server.

One SQLite server of each generation for the module: what is tested is the clients, not the database."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from conftest import METRICS_AUTH, Colony, Server, create_colony, start_server
from sched_helpers import wait_for, ws_decode, ws_frame
from test_cli import CLI
from test_executor import executor_for, process_logs, serving, submit, wait_closed

from colonies import envelope
from colonies.client import AsyncColonies, Colonies
from colonies.exceptions import ColoniesError, ServerTooOld
from colonies.executor.container import Capacity, build
from colonies.executor.container_backends import LocalBackend
from colonies.executor.retry import refusal_hint

pytestmark = pytest.mark.timeout(120)

SUCCESS, CANCELLED = 2, 4
GIB = 1024**3
NEWER_STATS = ("activeexecutors", "unregisteredexecutors", "cancelledprocesses", "cancelledworkflows")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The old generation (the conftest ``colony`` fixture makes its colonies here)."""
    srv = start_server(str(tmp_path_factory.mktemp("old")), "--wire-generation", "1.7.8", backend="sqlite")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def new_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(str(tmp_path_factory.mktemp("new")), backend="sqlite")
    yield srv
    srv.stop()


# --- helpers --------------------------------------------------------------------------------------------------


def requests(server: Server, msgtype: str, status: int) -> float:
    """How many ``msgtype`` requests the server answered with ``status`` (its /metrics counter)."""
    text = httpx.get(server.url + "/metrics", headers=METRICS_AUTH, timeout=10).text
    pattern = rf'^colonies_rpc_requests_total\{{msgtype="{msgtype}",status="{status}"\}} (\S+)$'
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def raw(server: Server, payloadtype: str, msg: dict[str, Any], prvkey: str | None) -> tuple[int, Any]:
    """One request as bytes on the wire: (HTTP status, decoded reply payload)."""
    response = httpx.post(server.url + "/api", content=envelope.build_request(payloadtype, msg, prvkey),
                          headers={"content-type": "application/json"}, timeout=10)  # fmt: skip
    return response.status_code, envelope.decode_reply(response.content)[1]


def sdk(colony: Colony) -> Colonies:
    return Colonies("127.0.0.1", colony.server.port, timeout=30)


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text, text
    return text


def submit_workflow(colony: Colony, executortype: str) -> str:
    specs = [{"nodename": name, "funcname": "echo", "args": [name], "maxexectime": -1, "maxretries": 0,
              "conditions": {"colonyname": colony.name, "executortype": executortype, "dependencies": deps}}
             for name, deps in (("a", []), ("b", ["a"]))]  # fmt: skip
    graph = colony.call("submitworkflowspecmsg", {"spec": {"colonyname": colony.name, "functionspecs": specs}},
                        colony.executor)  # fmt: skip
    return str(graph["processgraphid"])


def echo_executor(colony: Colony, executortype: str | None = None, **kwargs: Any) -> Any:
    """The colony's own executor identity serving ``echo`` (returns its args) and ``chatty`` (logs n lines)."""
    executor = executor_for(colony, colony.executor, **kwargs)
    if executortype:
        colony.executortype = executortype

    @executor.function("echo")
    def echo(*args: Any) -> list[Any]:
        return list(args)

    @executor.function("chatty")
    def chatty(n: int, *, ctx: Any = None) -> int:
        for i in range(n):
            ctx.log(f"line {i}\n")
        return n

    return executor


# --- the server switch ----------------------------------------------------------------------------------------


def test_the_old_generation_answers_as_v178_and_the_current_one_does_not(
    colony: Colony, new_server: Server
) -> None:
    new = create_colony(new_server)
    for c, old in ((colony, True), (new, False)):
        key = c.executor.prvkey
        status, reply = raw(c.server, "getexecutorbyidmsg", {"colonyname": c.name, "executorid": c.executor.id}, key)
        if old:
            assert (status, reply["message"]) == (403, "invalid rpcMsg.PayloadType, getexecutorbyidmsg")
        else:
            assert status == 200 and reply["executorname"] == "executor"
        # v1.7.8 answers only versionmsg unsigned: getserverinfomsg fails its signature check.
        assert raw(c.server, "getserverinfomsg", {}, None)[0] == (403 if old else 200)
        assert raw(c.server, "versionmsg", {}, None)[0] == 200
        # Lists in states 0-3 only.
        status, reply = raw(c.server, "getprocessgraphsmsg", {"colonyname": c.name, "count": 5, "state": 4}, key)
        assert (status, reply["message"] if old else reply) == ((400, "invalid msg.State") if old else (200, []))
        graphid = submit_workflow(c, "nobody-runs-this")
        of_graph = {"colonyname": c.name, "count": 5, "state": -1, "processgraphid": graphid}  # pycolonies' form
        status, reply = raw(c.server, "getprocessesmsg", of_graph, key)
        if old:
            assert (status, reply["message"]) == (400, "Failed to get processes, invalid msg.State")
        else:
            assert status == 200 and len(reply) == 2
        # Capabilities as v1.9 sends them (arrays) cannot be parsed by v1.7.8; objects can.
        executor = {"executorid": "ab" * 32, "executorname": "caps", "executortype": "t", "colonyname": c.name,
                    "capabilities": {"hardware": [{"model": "m"}], "software": []}}  # fmt: skip
        status, reply = raw(c.server, "addexecutormsg", {"executor": executor}, c.owner.prvkey)
        assert (status, reply.get("message")) == ((400, "Failed to add executor, invalid JSON") if old
                                                  else (200, None))  # fmt: skip
        if old:
            executor["capabilities"] = {"hardware": {"model": "m"}, "software": {}}
            assert raw(c.server, "addexecutormsg", {"executor": executor}, c.owner.prvkey)[0] == 200
        stats = raw(c.server, "getcolonystatsmsg", {"colonyname": c.name}, key)[1]
        assert "waitingprocesses" in stats and all((k in stats) != old for k in NEWER_STATS)
        # Our own messages are refused too, on /pubsub as well.
        from websockets.sync.client import connect

        with connect(c.server.url.replace("http", "ws") + "/pubsub") as ws:
            ws.send(ws_frame("subscribecolonymsg", {"colonyname": c.name, "timeout": 1}, key))
            is_error, payload = ws_decode(ws.recv(timeout=10))
        if old:
            assert is_error and payload["message"] == "invalid rpcMsg.PayloadType, subscribecolonymsg"
        else:
            assert not is_error or payload["status"] == 408


# --- the executor framework -----------------------------------------------------------------------------------


def test_executor_looks_itself_up_without_getexecutorbyid_and_runs_processes(colony: Colony) -> None:
    refused_before = requests(colony.server, "getexecutorbyidmsg", 403)
    ident = colony.add_executor(executortype="old-pk")
    executor = executor_for(colony, ident)  # no name: found in the colony's list by its id
    executor.register("double", lambda x: 2 * x)
    with serving(executor):
        assert (executor.executorname, executor.executortype) == (ident.name, "old-pk")
        pid = submit(colony, "double", "old-pk", [21])
        assert wait_closed(colony, pid)["out"] == [42]
    # Asked once, then it used the list: the refusal is remembered, not retried.
    assert requests(colony.server, "getexecutorbyidmsg", 403) == refused_before + 1

    named = executor_for(colony, ident, executorname=ident.name)  # a name: asked by name (getexecutormsg)
    named.register("double", lambda x: 2 * x)
    with serving(named):
        pid = submit(colony, "double", "old-pk", [5])
        assert wait_closed(colony, pid)["out"] == [10]


def test_a_pending_executor_is_told_it_is_not_approved_and_starts_once_it_is(
    colony: Colony, caplog: pytest.LogCaptureFixture
) -> None:
    ident = colony.add_executor(executortype="old-pending", approve=False)
    executor = executor_for(colony, ident)
    executor.register("one", lambda: 1)
    caplog.set_level(logging.WARNING, logger="colonies.executor")
    executor.run_in_thread()
    try:
        assert not executor.wait_ready(1.0)  # refused, retrying
        warnings = [r.getMessage() for r in caplog.records if "executor look-up: refused" in r.getMessage()]
        assert warnings and all("not approved yet?" in w and "pending" in w for w in warnings), warnings
        assert not any("invalid rpcMsg.PayloadType" in r.getMessage() for r in caplog.records)
        colony.call("approveexecutormsg", {"colonyname": colony.name, "executorname": ident.name}, colony.owner)
        assert executor.wait_ready(10)
        assert wait_closed(colony, submit(colony, "one", "old-pending"))["out"] == [1]
    finally:
        executor.stop()
        assert executor.join(15)


def test_refusal_hints_say_not_approved_only_when_that_is_the_refusal() -> None:
    assert refusal_hint(ColoniesError("Access denied, executor e is pending in colony c", 403)) == "not approved yet?"
    assert "not approved yet" in refusal_hint(ColoniesError("Access denied, not a member of Colony with name c", 403))
    assert refusal_hint(ColoniesError("Access denied, executor e is rejected in colony c", 403)).startswith("rejected")
    assert refusal_hint(ServerTooOld("getexecutorbyidmsg", "h:1", "invalid rpcMsg.PayloadType, x", "v")) == ""
    assert refusal_hint(ColoniesError("Invalid signature length", 403)) == ""


def test_a_feature_the_old_server_lacks_stops_the_executor_with_one_line_not_a_retry(colony: Colony) -> None:
    """Retrying cannot give the server a message it does not have: the error ends the run at once."""
    executor = executor_for(colony, colony.executor)

    async def lacking() -> None:
        await executor._api.rpc.call("getlocationsmsg", {"colonyname": colony.name}, colony.executor.prvkey)

    async def attempt() -> None:
        from colonies.client.transport import AsyncRPCClient
        from colonies.executor.api import ExecutorAPI

        executor._stopping = asyncio.Event()
        rpc = AsyncRPCClient("127.0.0.1", colony.server.port)
        executor._api = ExecutorAPI(rpc, colony.name, colony.executor.prvkey)
        try:
            await asyncio.wait_for(executor._retrying("locations", lacking, retry_forbidden=True), 10)
        finally:
            await executor._api.aclose()

    with pytest.raises(ServerTooOld) as info:
        asyncio.run(attempt())
    assert one_line(info.value).startswith("getlocationsmsg: this needs a Colonies server v1.8 or later")


def test_self_registration_sends_capabilities_as_v178_parses_them(colony: Colony) -> None:
    caps = {"hardware": [{"model": "box", "nodes": 1, "cpu": "4000m", "mem": "8Gi", "gpu": {"count": 1}}],
            "software": [{"name": "py", "type": "runtime", "version": "3"}]}  # fmt: skip
    executor = executor_for(colony, None, colony_prvkey=colony.owner.prvkey, executortype="old-self",
                            capabilities=caps)  # fmt: skip
    executor.register("hello", lambda name: f"hello {name}")
    with serving(executor):
        record = colony.call("getexecutormsg", {"colonyname": colony.name, "executorname": executor.executorname},
                             colony.executor)  # fmt: skip
        assert record["capabilities"]["hardware"]["model"] == "box"
        assert record["capabilities"]["software"]["name"] == "py"
        assert wait_closed(colony, submit(colony, "hello", "old-self", ["old"]))["out"] == ["hello old"]


def test_container_executor_registers_itself_and_runs_a_command(colony: Colony) -> None:
    executor = build(backend=LocalBackend(), register="self", executortype="old-container", concurrency=2,
                     host="127.0.0.1", port=colony.server.port, colonyname=colony.name,
                     colony_prvkey=colony.owner.prvkey, assign_timeout=5,
                     capacity=Capacity(nodes=1, cpu_millicores=2000, mem_bytes=2 * GIB))  # fmt: skip
    executor.run_in_thread()
    try:
        assert executor.wait_ready(20), "container executor did not become ready"
        pid = str(colony.submit(funcname="execute", args=[], kwargs={"cmd": "echo from-old-server"}, maxexectime=-1,
                                maxretries=0, conditions={"executortype": "old-container"})["processid"])  # fmt: skip
        result = wait_for(lambda: colony.get(pid), lambda p: p["state"] >= SUCCESS, 20, what="container process")
        assert (result["state"], result["out"]) == (SUCCESS, [{"exitcode": 0, "stdout_tail": ["from-old-server"]}])
        assert any("from-old-server" in line for line in process_logs(colony, pid))
    finally:
        executor.stop()
        assert executor.join(20)


# --- the CLI --------------------------------------------------------------------------------------------------


def test_cli_common_commands_on_the_old_server(server: Server, colony: Colony) -> None:
    cli = CLI(server, colony)
    executor = echo_executor(colony)
    with serving(executor):
        out = cli.run("function", "exec", "--func", "echo", "--args", "hello", "--targettype", colony.executortype,
                      "--wait", "--out").stdout  # fmt: skip
        assert out.strip() == "hello"
        graphid = submit_workflow(colony, colony.executortype)
        wait_for(lambda: colony.call("getprocessgraphmsg", {"processgraphid": graphid}, colony.executor),
                 lambda g: g["state"] == SUCCESS, 20, what="workflow")  # fmt: skip
        chatty = str(colony.submit(funcname="chatty", args=[6], kwargs={})["processid"])
        wait_closed(colony, chatty)

    refused_lists = requests(server, "getprocessgraphsmsg", 400)
    listed, graph, done, executors, stats, logs, info = cli.parallel(
        lambda: cli.json("workflow", "ls"),
        lambda: cli.json("workflow", "get", "--workflowid", graphid),
        lambda: cli.json("process", "pss"),
        lambda: cli.json("executor", "ls"),
        lambda: cli.json("colony", "stats"),
        lambda: cli.run("log", "get", "--processid", chatty, "--count", "3").stdout,
        lambda: cli.json("server", "status"),
    )
    assert graphid in [g["processgraphid"] for g in listed]
    assert requests(server, "getprocessgraphsmsg", 400) == refused_lists  # only states the old server has
    assert sorted(p["spec"]["nodename"] for p in graph["processes"]) == ["a", "b"]
    assert chatty in [p["processid"] for p in done]
    assert "executor" in [e["executorname"] for e in executors]
    assert stats["successfulprocesses"] >= 4 and not any(k in stats for k in NEWER_STATS)
    assert logs.split() == ["line", "3", "line", "4", "line", "5"]  # the newest three, although v1.7.8 ignores latest
    assert info["backends"] == [] and "buildversion" in info
    text = cli.run("colony", "stats").stdout
    assert "Waiting processes" in text and "Cancelled" not in text
    assert colony.name in [c["name"] for c in cli.json("colony", "ls")]
    assert cli.json("executor", "get", "--name", "executor")["executorname"] == "executor"

    # What the old server lacks: one line saying what is needed, exit 1.
    cancelled, psc, locations, cancel = cli.parallel(
        lambda: cli.error("workflow", "ls", "--state", "cancelled"),
        lambda: cli.error("process", "psc"),
        lambda: cli.error("location", "ls"),
        lambda: cli.error("process", "cancel", "--processid", chatty),
    )
    assert "listing cancelled workflows needs a Colonies for Python server" in cancelled
    assert "invalid msg.State" in cancelled and "listing cancelled processes" in psc
    assert locations.startswith("Error: getlocationsmsg: this needs a Colonies server v1.8 or later")
    assert cancel.startswith("Error: cancelprocessmsg: this needs a Colonies server v1.8 or later")


# --- the SDK --------------------------------------------------------------------------------------------------


def test_sdk_common_calls_on_the_old_server(colony: Colony) -> None:
    key = colony.executor.prvkey
    with sdk(colony) as client:
        assert client.server_generation() == "1.7.8"
        assert client.get_server_info()["backends"] == []
        assert client.get_executor_by_id(colony.name, colony.executor.id, key)["executorname"] == "executor"
        assert client.get_user_by_id(colony.name, colony.user.id, key)["name"] == "user"
        with pytest.raises(ColoniesError) as missing:
            client.get_executor_by_id(colony.name, "cd" * 32, key)
        assert missing.value.status == 404
        process = client.submit_func_spec(colony.spec(maxretries=0), key)
        assigned = client.assign(colony.name, 5, key)
        assert assigned.processid == process.processid
        for i in range(5):
            client.add_log(process.processid, f"entry {i}", key)
        client.close(process.processid, ["done"], key)
        assert client.wait(process, 10, key).output == ["done"]
        newest = client.get_process_log(colony.name, process.processid, 2, 0, key, latest=True)
        assert [e["message"] for e in newest] == ["entry 3", "entry 4"]
        oldest = client.get_process_log(colony.name, process.processid, 2, 0, key)
        assert [e["message"] for e in oldest] == ["entry 0", "entry 1"]
        graphid = submit_workflow(colony, "nobody-runs-this")
        found = client.get_processes_for_workflow(graphid, colony.name, key)
        assert sorted(p["spec"]["nodename"] for p in found) == ["a", "b"]

        asked = requests(colony.server, "cancelprocessgraphmsg", 403)
        for _ in range(2):
            with pytest.raises(ServerTooOld) as info:
                client.cancel_processgraph(graphid, key)
            assert one_line(info.value).startswith("cancelprocessgraphmsg: this needs a Colonies server v1.8")
        assert requests(colony.server, "cancelprocessgraphmsg", 403) == asked + 1  # the second never left
        with pytest.raises(ServerTooOld, match="needs a Colonies for Python server"):
            client.get_cron_runs("ef" * 32, key)

    async def asynchronous() -> tuple[Any, Any]:
        async with AsyncColonies("127.0.0.1", colony.server.port) as aclient:
            record = await aclient.get_executor_by_id(colony.name, colony.executor.id, key)
            return record, await aclient.get_processes_for_workflow(graphid, colony.name, key)

    record, processes = asyncio.run(asynchronous())
    assert record["executorid"] == colony.executor.id and len(processes) == 2


# --- a current server: the newer messages are still used ---------------------------------------------------------


def test_a_current_server_is_still_asked_with_the_newer_messages(new_server: Server) -> None:
    colony = create_colony(new_server)
    key = colony.executor.prvkey
    counts = {name: requests(new_server, name, 200) for name in
              ("getexecutorbyidmsg", "getexecutorsmsg", "getprocessesmsg", "getprocessgraphmsg", "getlogsmsg")}

    def delta(name: str) -> float:
        return requests(new_server, name, 200) - counts[name]

    with sdk(colony) as client:
        assert client.get_executor_by_id(colony.name, colony.executor.id, key)["executorname"] == "executor"
        assert "instanceid" in client.get_server_info() and client.server_generation() == "colonies-python"
        graphid = submit_workflow(colony, "nobody-runs-this")
        assert len(client.get_processes_for_workflow(graphid, colony.name, key)) == 2
        process = client.submit_func_spec(colony.spec(maxretries=0), key)
        client.assign(colony.name, 5, key)
        for i in range(3):
            client.add_log(process.processid, f"entry {i}", key)
        newest = client.get_process_log(colony.name, process.processid, 1, 0, key, latest=True)
        assert [e["message"] for e in newest] == ["entry 2"]
        client.cancel_processgraph(graphid, key)
        assert client._rpc.legacy is False and not client._rpc.refused
    assert (delta("getexecutorbyidmsg"), delta("getexecutorsmsg")) == (1, 0)
    assert (delta("getprocessesmsg"), delta("getprocessgraphmsg")) == (1, 0)
    assert delta("getlogsmsg") == 1

    executor = echo_executor(colony)
    with serving(executor):
        assert delta("getexecutorbyidmsg") == 2  # the framework's look-up, by id
    cli = CLI(new_server, colony)
    listed = cli.json("workflow", "ls")
    assert [g["state"] for g in listed if g["processgraphid"] == graphid] == [CANCELLED]
    assert "Cancelled processes" in cli.run("colony", "stats").stdout
    assert json.loads(cli.run("server", "status", "--json").stdout)["backends"]

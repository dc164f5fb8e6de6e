"""The ``colonies`` CLI run for real: subprocesses against the session server, each test in a fresh colony.

Executors that must answer while a CLI command waits run in a thread and speak raw RPC, so the CLI is the only
SDK user here. Independent commands run concurrently (``CLI.parallel``) to keep the file quick.
"""

from __future__ import annotations

import json
import time
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from conftest import Colony, Server, create_colony, free_port, new_identity

from colonies import crypto
from colonies.client.transport import RPCClient
from colonies.exceptions import ColoniesError

EXECUTOR_TYPE = "test_executor_type"


class CLI:
    """Runs ``python -m colonies`` with an environment pointing at one colony."""

    def __init__(self, server: Server, colony: Colony) -> None:
        self.server, self.colony = server, colony
        base = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
        self.env = {
            **base, "COLONIES_SERVER_HOST": "127.0.0.1", "COLONIES_SERVER_PORT": str(server.port),
            "COLONIES_TLS": "false", "COLONIES_COLONY_NAME": colony.name,
            "COLONIES_PRVKEY": colony.executor.prvkey, "COLONIES_COLONY_PRVKEY": colony.owner.prvkey,
            "COLONIES_SERVER_PRVKEY": server.prvkey,
        }  # fmt: skip

    def run(
        self, *args: str, ok: bool = True, input: str | None = None,
        env: Mapping[str, str | None] | None = None, timeout: float = 60,
    ) -> subprocess.CompletedProcess[str]:  # fmt: skip
        """One CLI call; ``env`` overrides variables (None removes one); ``ok`` asserts exit code 0."""
        full = dict(self.env)
        for key, value in (env or {}).items():
            if value is None:
                full.pop(key, None)
            else:
                full[key] = value
        cmd = [sys.executable, "-m", "colonies", *args]
        proc = subprocess.run(cmd, env=full, input=input, text=True, capture_output=True, timeout=timeout,
                              check=False)  # fmt: skip
        if ok:
            assert proc.returncode == 0, f"colonies {' '.join(args)}: exit {proc.returncode}\n{proc.stderr}"
        return proc

    def json(self, *args: str, **kwargs: Any) -> Any:
        return json.loads(self.run(*args, "--json", **kwargs).stdout)

    def error(self, *args: str, strict: bool = True, **kwargs: Any) -> str:
        """A call that must fail as a user error: exit 1, one ``Error:`` line, no traceback; returns the line.

        ``strict``: stderr is that line alone; otherwise progress lines may precede it (``--wait``, prompts).
        """
        proc = self.run(*args, ok=False, **kwargs)
        assert proc.returncode == 1, f"expected exit 1, got {proc.returncode}: {proc.stderr}"
        lines = proc.stderr.strip().splitlines()
        assert lines and lines[-1].startswith("Error: "), proc.stderr
        assert len(lines) == 1 or not strict, proc.stderr
        assert sum(ln.startswith("Error:") for ln in lines) == 1, proc.stderr
        assert "Traceback" not in proc.stderr, proc.stderr
        return lines[-1]

    def parallel(self, *calls: Callable[[], Any]) -> list[Any]:
        with ThreadPoolExecutor(max_workers=6) as pool:
            return [f.result() for f in [pool.submit(call) for call in calls]]


@pytest.fixture
def cli(server: Server) -> CLI:
    return CLI(server, create_colony(server))


Handler = Callable[["Executor", dict[str, Any]], list[Any]]


class Executor(threading.Thread):
    """A stand-in executor: assigns with raw RPC, closes each process with ``handler(self, process)``."""

    def __init__(self, server: Server, colony: Colony, handler: Handler) -> None:
        super().__init__(daemon=True)
        self.colony, self.handler = colony, handler
        self.client = RPCClient("127.0.0.1", server.port, timeout=30)
        self.stop_event = threading.Event()
        self.error: Exception | None = None

    def call(self, payloadtype: str, msg: dict[str, Any], timeout: float | None = None) -> Any:
        return self.client.call(payloadtype, msg, self.colony.executor.prvkey, timeout)

    def run(self) -> None:
        try:
            while not self.stop_event.is_set():
                try:
                    msg = {"colonyname": self.colony.name, "timeout": 1}
                    process = self.call("assignprocessmsg", msg, timeout=10)
                except ColoniesError as exc:
                    if exc.status == 404:  # nothing to do within the second; look at stop_event again
                        continue
                    raise
                out = self.handler(self, process)
                self.call("closesuccessfulmsg", {"processid": process["processid"], "out": out})
        except Exception as exc:  # noqa: BLE001 - reported by stop(), in the test's thread
            self.error = exc

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=15)
        self.client.close()
        assert self.error is None, self.error


@pytest.fixture
def executor(cli: CLI) -> Iterator[Callable[[Handler], Executor]]:
    started: list[Executor] = []

    def start(handler: Handler) -> Executor:
        ex = Executor(cli.server, cli.colony, handler)
        ex.start()
        started.append(ex)
        return ex

    yield start
    for ex in started:
        ex.stop()


def write(path: Path, data: Any) -> str:
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


def spec(funcname: str = "echo", **extra: Any) -> dict[str, Any]:
    return {"funcname": funcname, "args": ["hi"], "conditions": {"executortype": EXECUTOR_TYPE}, **extra}


# -- offline commands ----------------------------------------------------------------------------------------
def test_keys_config_version(cli: CLI) -> None:
    owner = cli.colony.owner
    gen, gen_json, sec, key_id, sec_id, config, config_json, version = cli.parallel(
        lambda: cli.run("key", "generate").stdout,
        lambda: cli.json("key", "generate"),
        lambda: cli.run("security", "generate").stdout,
        lambda: cli.run("key", "id", "--prvkey", owner.prvkey).stdout,
        lambda: cli.json("security", "id", "--prvkey", owner.prvkey),
        lambda: cli.run("config").stdout,
        lambda: cli.json("config"),
        lambda: cli.json("version"),
    )
    prvkey = gen.split("PrvKey:")[1].split()[0]
    assert gen.split("Id:")[1].split()[0] == crypto.id_from_prvkey(prvkey)
    assert gen_json["id"] == crypto.id_from_prvkey(gen_json["prvkey"])
    assert "PrvKey:" in sec
    assert key_id.strip() == owner.id and sec_id == {"id": owner.id}
    for key in (cli.colony.executor.prvkey, owner.prvkey, cli.server.prvkey):
        assert key not in config and key not in json.dumps(config_json)
        assert key[:6] + "…" in config
    assert config_json["colonyname"] == cli.colony.name and config_json["port"] == cli.server.port
    assert config_json["prvkey"] == cli.colony.executor.prvkey[:6] + "…"
    assert config_json["id"] == cli.colony.executor.id
    assert version["version"]


# -- administration ------------------------------------------------------------------------------------------
def test_colony_commands(cli: CLI) -> None:
    owner = new_identity(f"cli-colony-{os.urandom(4).hex()}")
    cli.run("colony", "add", "--name", owner.name, "--colonyid", owner.id)
    listed, table, got, stats, stats_table = cli.parallel(
        lambda: cli.json("colony", "ls"),
        lambda: cli.run("colony", "ls").stdout,
        lambda: cli.json("colony", "get"),
        lambda: cli.json("colony", "stats"),
        lambda: cli.run("colony", "stats").stdout,
    )
    assert {c["name"]: c["colonyid"] for c in listed}[owner.name] == owner.id
    assert owner.name in table and "ColonyId" in table
    assert got["name"] == cli.colony.name and got["colonyid"] == cli.colony.owner.id
    assert stats["activeexecutors"] == 1 and stats["waitingprocesses"] == 0
    assert "Waiting processes" in stats_table
    cli.run("colony", "remove", "--name", owner.name)
    assert owner.name not in [c["name"] for c in cli.json("colony", "ls")]


def test_user_commands(cli: CLI) -> None:
    ident = new_identity("alice")
    cli.run("user", "add", "--name", "alice", "--userid", ident.id, "--email", "a@x.org", "--phone", "123")
    listed, table, got, got_table = cli.parallel(
        lambda: cli.json("user", "ls"),
        lambda: cli.run("user", "ls").stdout,
        lambda: cli.json("user", "get", "--name", "alice"),
        lambda: cli.run("user", "get", "--name", "alice").stdout,
    )
    assert "alice" in [u["name"] for u in listed] and "a@x.org" in table
    assert got["userid"] == ident.id and got["email"] == "a@x.org" and got["phone"] == "123"
    assert ident.id in got_table
    cli.run("user", "remove", "--name", "alice")
    assert "alice" not in [u["name"] for u in cli.json("user", "ls")]


def test_executor_commands(cli: CLI) -> None:
    first, second = new_identity("worker-1"), new_identity("worker-2")
    add = ("executor", "add", "--executorid")
    cli.parallel(
        lambda: cli.run(*add, first.id, "--name", first.name, "--type", "gpu", "--approve"),
        lambda: cli.run(*add, second.id, "--name", second.name, "--type", "cpu"),
    )
    states = {e["executorname"]: e["state"] for e in cli.json("executor", "ls")}
    assert states[first.name] == 1 and states[second.name] == 0
    cli.run("executor", "approve", "--name", second.name)
    got = cli.json("executor", "get", "--name", second.name)
    assert got["state"] == 1 and got["executorid"] == second.id and got["executortype"] == "cpu"
    cli.run("executor", "reject", "--name", second.name)
    cli.run("executor", "remove", "--name", first.name)
    table, listed, listed_all, get_table = cli.parallel(
        lambda: cli.run("executor", "ls").stdout,
        lambda: cli.json("executor", "ls"),
        lambda: cli.json("executor", "ls", "--all"),
        lambda: cli.run("executor", "get", "--name", second.name).stdout,
    )
    assert "Last heard" in table and "Rejected" in table and first.name not in table
    assert first.name not in [e["executorname"] for e in listed]
    assert first.name not in [e["executorname"] for e in listed_all]  # removed executors are gone for good
    assert second.id in get_table and "Rejected" in get_table


# -- functions and processes ---------------------------------------------------------------------------------
def test_function_exec_wait_out(cli: CLI, executor: Callable[[Handler], Executor]) -> None:
    cli.run("function", "register", "--name", "executor", "--func", "echo")
    executor(lambda ex, p: [" ".join(p["spec"]["args"]), 42, p["spec"]["kwargs"].get("greeting", "")])
    exec_echo = ("function", "exec", "--func", "echo", "--targettype", EXECUTOR_TYPE)
    proc = cli.run(*exec_echo, "--args", "hello,world", "--kwargs", "greeting:hej", "--maxexectime", "30",
                   "--maxretries", "2", "--maxwaittime", "30", "--wait", "--out", timeout=30)  # fmt: skip
    assert proc.stdout.splitlines() == ["hello world", "42", "hej"]
    finished = cli.json(*exec_echo, "--args", "x", "--wait", timeout=30)
    assert finished["state"] == 2 and finished["out"][0] == "x"
    functions, table = cli.parallel(
        lambda: cli.json("function", "ls"), lambda: cli.run("function", "ls").stdout
    )
    assert [(f["funcname"], f["counter"]) for f in functions] == [("echo", 2)]
    assert "Calls" in table and "echo" in table


def test_function_submit(cli: CLI, tmp_path: Path, executor: Callable[[Handler], Executor]) -> None:
    path = write(tmp_path / "spec.json", spec("double", args=[21]))
    processid = cli.run("function", "submit", "--spec", path).stdout.strip()
    got = cli.json("process", "get", "-p", processid)
    assert got["spec"]["conditions"]["colonyname"] == cli.colony.name
    assert got["spec"]["maxexectime"] == -1 and got["spec"]["maxwaittime"] == -1
    executor(lambda ex, p: [p["spec"]["args"][0] * 2])
    assert cli.run("function", "submit", "--spec", path, "--wait", "--out", timeout=30).stdout == "42\n"
    assert cli.run("process", "wait", "-p", processid, "--timeout", "20", "--out").stdout == "42\n"


def test_process_lifecycle(cli: CLI) -> None:
    submit = ("function", "exec", "--func", "job", "--targettype", EXECUTOR_TYPE, "--args")
    ids = [p.stdout.strip() for p in cli.parallel(*[lambda i=i: cli.run(*submit, f"a{i}") for i in range(3)])]
    waiting, psw_table = cli.parallel(
        lambda: cli.json("process", "psw"), lambda: cli.run("process", "psw").stdout
    )
    assert sorted(p["processid"] for p in waiting) == sorted(ids)
    assert "FuncName" in psw_table and "Submission time" in psw_table and "job" in psw_table

    first = cli.run("process", "assign", "--timeout", "5").stdout.strip()
    assert first in ids
    attribute = cli.json("attribute", "add", "-p", first, "--key", "result", "--value", "ok")
    cli.run("log", "add", "-p", first, "-m", "step one")
    running, ps_table, got_attr, attr_table, logs, log_text, found, search_table = cli.parallel(
        lambda: cli.json("process", "ps"),
        lambda: cli.run("process", "ps").stdout,
        lambda: cli.json("attribute", "get", "--attributeid", attribute["attributeid"]),
        lambda: cli.run("attribute", "get", "--attributeid", attribute["attributeid"]).stdout,
        lambda: cli.json("log", "get", "-p", first),
        lambda: cli.run("log", "get", "-p", first, "--count", "10").stdout,
        lambda: cli.json("log", "search", "-t", "step", "-d", "1"),
        lambda: cli.run("log", "search", "-t", "step", "--count", "5").stdout,
    )
    assert [p["processid"] for p in running] == [first] and first in ps_table and "Start time" in ps_table
    assert got_attr["key"] == "result" and got_attr["value"] == "ok" and got_attr["targetid"] == first
    assert "result" in attr_table
    assert [entry["message"] for entry in logs] == ["step one"] and log_text == "step one\n"
    assert [entry["processid"] for entry in found] == [first] and "step one" in search_table
    cli.run("process", "close", "-p", first, "--out", "a,b")

    second = cli.run("process", "assign").stdout.strip()
    cli.run("process", "fail", "-p", second, "--errors", "e1,e2")
    third = next(i for i in ids if i not in (first, second))
    cli.run("process", "cancel", "-p", third)
    done, failed, cancelled, out, get_table, pss_table = cli.parallel(
        lambda: cli.json("process", "pss", "--count", "5"),
        lambda: cli.json("process", "psf"),
        lambda: cli.json("process", "psc"),
        lambda: cli.run("process", "get", "-p", first, "--out").stdout,
        lambda: cli.run("process", "get", "-p", first).stdout,
        lambda: cli.run("process", "pss").stdout,
    )
    assert [p["processid"] for p in done] == [first]
    assert [p["errors"] for p in failed] == [["e1", "e2"]]
    assert [p["processid"] for p in cancelled] == [third]
    assert out == "a\nb\n"
    assert "Function specification" in get_table and "result" in get_table and "End time" in pss_table
    assert "failed: e1, e2" in cli.error("process", "wait", "-p", second)

    cli.run("process", "remove", "-p", first)
    assert "aborted" in cli.error("process", "removeall", input="no\n", strict=False)
    assert len(cli.json("process", "psf")) == 1
    cli.run("process", "removeall", "--failed", input="YES\n")
    cli.run("process", "removeall", "--yes")
    assert cli.json("process", "psf") == [] and cli.json("process", "psc") == []


def test_log_follow(cli: CLI, executor: Callable[[Handler], Executor]) -> None:
    def talk(ex: Executor, process: dict[str, Any]) -> list[Any]:
        for i in range(3):
            ex.call("addlogmsg", {"processid": process["processid"], "message": f"line {i}\n"})
            ex.stop_event.wait(0.6)
        return []

    processid = cli.run("function", "exec", "--func", "talk", "--targettype", EXECUTOR_TYPE).stdout.strip()
    executor(talk)
    assert cli.run("log", "get", "-p", processid, "--follow", timeout=30).stdout == "line 0\nline 1\nline 2\n"


# -- workflows -----------------------------------------------------------------------------------------------
def test_workflow_commands(cli: CLI, tmp_path: Path, executor: Callable[[Handler], Executor]) -> None:
    after_gen = {"executortype": EXECUTOR_TYPE, "dependencies": ["gen"]}
    nodes = [spec("gen", nodename="gen"), spec("sum", nodename="sum", conditions=after_gen)]
    array_file = write(tmp_path / "wf.json", nodes)
    executor(lambda ex, p: [1, 2] if p["spec"]["funcname"] == "gen" else [sum(p["in"])])
    proc = cli.run("workflow", "submit", "--spec", array_file, "--wait", timeout=30)
    assert "sum" in proc.stdout and "Successful" in proc.stdout
    graph = cli.json("workflow", "submit", "--spec", array_file, "--wait", "--timeout", "20", timeout=30)
    graphid = graph["processgraphid"]
    assert graph["state"] == 2 and {p["spec"]["nodename"]: p["out"] for p in graph["processes"]}["sum"] == [3]

    object_file = write(tmp_path / "wf2.json", {"colonyname": cli.colony.name, "functionspecs": nodes})
    cli.run("workflow", "submit", "--spec", object_file, "--wait", "--timeout", "20", timeout=30)
    listed, successful, table, got, got_table = cli.parallel(
        lambda: cli.json("workflow", "ls"),
        lambda: cli.json("workflow", "ls", "--state", "successful", "--count", "2"),
        lambda: cli.run("workflow", "ls").stdout,
        lambda: cli.json("workflow", "get", "--workflowid", graphid),
        lambda: cli.run("workflow", "get", "--workflowid", graphid).stdout,
    )
    assert len(listed) == 3 and len(successful) == 2 and graphid in table
    assert got["processgraphid"] == graphid
    assert [p["spec"]["nodename"] for p in got["processes"]] == ["gen", "sum"]
    assert "NodeName" in got_table and "gen" in got_table
    cli.run("workflow", "remove", "--workflowid", graphid)
    assert graphid not in [g["processgraphid"] for g in cli.json("workflow", "ls")]
    cli.run("workflow", "removeall", "--successful", "--yes")
    assert cli.json("workflow", "ls") == []


def test_workflow_cancel_and_wait_timeout(cli: CLI, tmp_path: Path) -> None:
    path = write(tmp_path / "wf.json", [spec(nodename="a")])
    graphid = cli.run("workflow", "submit", "--spec", path).stdout.strip()
    cli.run("workflow", "cancel", "--workflowid", graphid)
    assert [g["processgraphid"] for g in cli.json("workflow", "ls", "--state", "cancelled")] == [graphid]
    message = cli.error("workflow", "submit", "--spec", path, "--wait", "--timeout", "0.5", strict=False)
    assert "timed out" in message


# -- server, global flags ------------------------------------------------------------------------------------
def test_server_commands_and_global_flags(cli: CLI) -> None:
    port, wrong_port, here = str(cli.server.port), {"COLONIES_SERVER_PORT": str(free_port())}, "127.0.0.1"
    status, stats, alive, before, after = cli.parallel(
        lambda: cli.json("server", "status"),
        lambda: cli.json("server", "stats"),
        lambda: cli.run("server", "alive").returncode,
        lambda: cli.run("--port", port, "--host", here, "--json", "colony", "get", env=wrong_port).stdout,
        lambda: cli.run("colony", "get", "--json", "--port", port, env=wrong_port).stdout,
    )
    assert "buildversion" in status and stats["colonies"] >= 1 and alive == 0
    assert json.loads(before)["name"] == json.loads(after)["name"] == cli.colony.name


# -- errors: one line, exit 1, no traceback ------------------------------------------------------------------
def test_user_errors(cli: CLI, tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.json")
    bad = write(tmp_path / "bad.json", '{\n  "funcname": "x",\n  "args": [1,,2]\n}\n')
    array = write(tmp_path / "wf.json", [spec()])
    unknown, port = "0" * 64, free_port()
    cases: list[tuple[tuple[str, ...], dict[str, str | None], list[str]]] = [
        (("process", "ps"), {"COLONIES_COLONY_NAME": None}, ["COLONIES_COLONY_NAME"]),
        (("process", "ps"), {"COLONIES_PRVKEY": None}, ["COLONIES_PRVKEY"]),
        (("colony", "ls"), {"COLONIES_SERVER_PRVKEY": None}, ["COLONIES_SERVER_PRVKEY"]),
        (("user", "remove", "--name", "x"), {"COLONIES_COLONY_PRVKEY": "nokey"}, ["COLONIES_COLONY_PRVKEY"]),
        (("process", "ps"), {"COLONIES_SERVER_PORT": str(port)}, [f"127.0.0.1:{port}", "Cannot reach"]),
        (("process", "ps"), {"COLONIES_PRVKEY": crypto.generate_prvkey()}, ["Access denied", "not a member"]),
        (("colony", "ls"), {"COLONIES_SERVER_PRVKEY": cli.colony.owner.prvkey}, ["Access denied"]),
        (("function", "submit", "--spec", missing), {}, [missing, "No such file"]),
        (("function", "submit", "--spec", bad), {}, [bad, "line 3 column 14"]),
        (("workflow", "submit", "--spec", bad), {}, [bad, "line 3 column 14"]),
        (("function", "submit", "--spec", array), {}, ["workflow submit"]),
        (("process", "get", "-p", unknown), {}, [unknown, "does not exist"]),
        (("log", "get", "-p", unknown), {}, [unknown, "does not exist"]),
        (("workflow", "get", "--workflowid", unknown), {}, [unknown, "does not exist"]),
        (("process", "assign", "--timeout", "1"), {}, ["No process"]),
        (("function", "exec", "--func", "f", "--targettype", "t", "--kwargs", "novalue"), {}, ["--kwargs"]),
        (("function", "exec", "--func", "f"), {}, ["--targettype"]),
        (("key", "id", "--prvkey", "xyz"), {}, ["--prvkey"]),
        (("workflow", "ls", "--state", "weird"), {}, ["--state"]),
    ]
    messages = cli.parallel(*[lambda args=args, env=env: cli.error(*args, env=env) for args, env, _ in cases])
    for (args, _, expected), message in zip(cases, messages, strict=True):
        assert all(text in message for text in expected), (args, message)

    verbose = cli.run("-v", "process", "get", "-p", unknown, ok=False)
    assert verbose.returncode == 1 and "Traceback" in verbose.stderr
    assert verbose.stderr.strip().splitlines()[-1].endswith("does not exist (HTTP 404)")


# -- crons ---------------------------------------------------------------------------------------------------
def test_cron_commands(cli: CLI, tmp_path: Path) -> None:
    path = write(tmp_path / "wf.json", [spec(nodename="tick")])
    cronid = cli.run("cron", "add", "--name", "nightly", "--spec", path, "--cron", "0 0 3 * * *").stdout.strip()
    every = cli.json("cron", "add", "--name", "often", "--spec", path, "--interval", "3600", "--random",
                     "--waitprevious")  # fmt: skip
    assert every["interval"] == 3600 and every["random"] is True and every["waitforprevprocessgraph"] is True
    listed = cli.json("cron", "ls")
    assert {c["name"] for c in listed} == {"nightly", "often"}
    table = cli.run("cron", "ls").stdout
    assert "nightly" in table and "every 3600 s" in table and "03:00:00" in table  # next run shown
    ran = cli.json("cron", "run", "--cronid", cronid)
    assert ran["started"] is True and ran["prevprocessgraphid"]
    got = cli.json("cron", "get", "--cronid", cronid)
    assert got["runs"][0]["processgraphid"] == ran["prevprocessgraphid"] and got["runs"][0]["reason"].startswith("run")
    assert "Recent runs" in cli.run("cron", "get", "--cronid", cronid).stdout
    cli.run("cron", "remove", "--cronid", cronid)
    assert [c["name"] for c in cli.json("cron", "ls")] == ["often"]
    assert "either --cron" in cli.error("cron", "add", "--name", "x", "--spec", path)
    assert "--random needs --interval" in cli.error("cron", "add", "--name", "x", "--spec", path, "--cron",
                                                    "@daily", "--random")  # fmt: skip
    assert "invalid cron expression" in cli.error("cron", "add", "--name", "x", "--spec", path, "--cron",
                                                  "99 * * * * *")  # fmt: skip


# -- generators ----------------------------------------------------------------------------------------------
def test_generator_commands(cli: CLI, tmp_path: Path) -> None:
    path = write(tmp_path / "wf.json", [spec(nodename="batch")])
    genid = cli.run("generator", "add", "--name", "batcher", "--spec", path, "--trigger", "3").stdout.strip()
    assert [g["name"] for g in cli.json("generator", "ls")] == ["batcher"]
    assert "batcher" in cli.run("generator", "ls").stdout
    cli.run("generator", "pack", "--generatorid", genid, "--arg", "one", "--arg", "two")
    lines = write(tmp_path / "args.txt", "three\nfour\n")
    assert cli.json("generator", "pack", "--generatorid", genid, "--file", lines)["packed"] == 2
    cli.run("generator", "pack", "--generatorid", genid, "--file", "-", input="five\nsix\n")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        got = cli.json("generator", "get", "--generatorid", genid)
        if len(got["runs"]) == 2:
            break
        time.sleep(0.2)
    assert [r["args"] for r in got["runs"]] == [3, 3] and got["queuesize"] == 0
    assert "Recent workflows" in cli.run("generator", "get", "--generatorid", genid).stdout
    cli.run("generator", "remove", "--generatorid", genid)
    assert cli.json("generator", "ls") == []
    assert "at least 1" in cli.error("generator", "add", "--name", "x", "--spec", path, "--trigger", "0")
    assert "--arg" in cli.error("generator", "pack", "--generatorid", genid)


# -- locations -----------------------------------------------------------------------------------------------
def test_location_commands(cli: CLI) -> None:
    name = cli.run("location", "add", "--name", "lumi", "--desc", "Kajaani", "--long", "27.73", "--lat",
                   "64.22").stdout.strip()  # fmt: skip
    assert name == "lumi"
    assert [loc["name"] for loc in cli.json("location", "ls")] == ["lumi"]
    assert "Kajaani" in cli.run("location", "ls").stdout
    got = cli.json("location", "get", "--name", "lumi")
    assert got["long"] == 27.73 and got["lat"] == 64.22
    cli.run("location", "remove", "--name", "lumi")
    assert cli.json("location", "ls") == []
    assert "does not exist" in cli.error("location", "get", "--name", "lumi")


def test_assignment_pause_and_cluster_commands(cli: CLI) -> None:
    """``process pause|resume|status`` as the original CLI names them (also under ``colony``); ``cluster info``."""
    assert cli.json("process", "status") == {"colonyname": cli.colony.name, "ispaused": False}
    cli.run("process", "pause")
    assert cli.json("colony", "status")["ispaused"] is True
    assert "PAUSED" in cli.run("process", "status").stderr
    # The status with the colony owner key alone (no member key set).
    assert cli.json("process", "status", env={"COLONIES_PRVKEY": None})["ispaused"] is True
    assert "colony assignments are paused" in cli.error("process", "assign", "--timeout", "-1")
    cli.run("colony", "resume")
    assert "ACTIVE" in cli.run("process", "status").stderr
    assert "COLONIES_COLONY_PRVKEY" in cli.error("process", "pause", env={"COLONIES_COLONY_PRVKEY": None})
    nodes = cli.json("cluster", "info")["nodes"]
    assert [n["apiport"] for n in nodes] == [cli.server.port]
    assert str(cli.server.port) in cli.run("cluster", "info").stdout

"""Generators through a real server (protocol §3.10, §6.1): args batched into workflows in pack order, the timeout
rule, exactly once across replicas, roles and bad input."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from typing import Any

import pytest
from conftest import PG_URL, Colony, Server, create_colony, fresh_database, new_identity, start_server
from sched_helpers import eventually

from colonies.client import RPCClient
from colonies.exceptions import ColoniesError


def workflow(colony: Colony) -> str:
    """Two roots (both get the args) and a child (keeps its own)."""
    specs = [colony.spec(nodename="a", args=["own"], kwargs={"k": 1}),
             colony.spec(nodename="b", args=[], kwargs={}),
             colony.spec(nodename="c", args=["child"], conditions={"dependencies": ["a", "b"]})]  # fmt: skip
    return json.dumps({"colonyname": colony.name, "functionspecs": specs})


def add_generator(colony: Colony, who: Any = None, **fields: Any) -> dict[str, Any]:
    gen = {"colonyname": colony.name, "name": f"gen-{time.monotonic_ns()}", "workflowspec": workflow(colony),
           "trigger": 10, "timeout": 0, **fields}  # fmt: skip
    return colony.call("addgeneratormsg", {"generator": gen}, who or colony.user)


def pack(colony: Colony, generatorid: str, arg: str, who: Any = None) -> Any:
    return colony.call("packgeneratormsg", {"generatorid": generatorid, "arg": arg}, who or colony.user)


def gen_runs(colony: Colony, generatorid: str) -> list[dict[str, Any]]:
    return colony.call("getgeneratorrunsmsg", {"generatorid": generatorid, "count": 100}, colony.user)


def root_args(colony: Colony, graphid: str) -> list[Any]:
    """The args of root "a" of a generated workflow (root "b" must carry the same)."""
    graph = colony.call("getprocessgraphmsg", {"processgraphid": graphid}, colony.user)
    specs = {}
    for pid in graph["processids"]:
        spec = colony.get(pid)["spec"]
        specs[spec["nodename"]] = spec
    assert specs["a"]["args"] == specs["b"]["args"] and specs["a"]["kwargs"] == {} == specs["b"]["kwargs"]
    assert specs["c"]["args"] == ["child"]
    return list(specs["a"]["args"])




def test_trigger_ten_with_95_args_starts_nine_at_once_and_a_tenth_after_the_timeout(colony: Colony) -> None:
    gen = add_generator(colony, trigger=10, timeout=2)
    assert list(gen) == ["generatorid", "initiatorid", "initiatorname", "colonyname", "name", "workflowspec",
                         "trigger", "timeout", "firstpack", "lastrun", "queuesize", "checkerperiod"]  # fmt: skip
    args = [f"arg-{i:03d}" for i in range(95)]
    for arg in args:
        pack(colony, gen["generatorid"], arg)
    packed_at = time.monotonic()
    nine = eventually(lambda: len(gen_runs(colony, gen["generatorid"])) >= 9 and gen_runs(colony, gen["generatorid"]))
    assert len(nine) == 9 and all(r["args"] == 10 and r["reason"].startswith("trigger") for r in nine)
    assert time.monotonic() - packed_at < 1.5  # as soon as their batches were full, not after the timeout
    got = colony.call("getgeneratormsg", {"generatorid": gen["generatorid"]}, colony.user)
    assert got["queuesize"] == 5 and not got["lastrun"].startswith("0001") and not got["firstpack"].startswith("0001")
    time.sleep(0.5)
    assert len(gen_runs(colony, gen["generatorid"])) == 9  # the last 5 wait for the timeout
    runs = eventually(lambda: len(gen_runs(colony, gen["generatorid"])) == 10 and gen_runs(colony, gen["generatorid"]))
    assert time.monotonic() - packed_at >= 1.5
    assert runs[0]["args"] == 5 and runs[0]["reason"].startswith("timeout")
    in_order = [root_args(colony, r["processgraphid"]) for r in reversed(runs)]
    assert in_order == [args[i : i + 10] for i in range(0, 95, 10)]  # FIFO, every arg once
    time.sleep(2.5)
    assert len(gen_runs(colony, gen["generatorid"])) == 10  # nothing more
    assert colony.call("getgeneratormsg", {"generatorid": gen["generatorid"]}, colony.user)["queuesize"] == 0


def test_without_a_timeout_a_partial_batch_waits(colony: Colony) -> None:
    gen = add_generator(colony, trigger=3, timeout=0)
    for arg in "xy":
        pack(colony, gen["generatorid"], arg)
    time.sleep(1.5)
    assert gen_runs(colony, gen["generatorid"]) == []
    pack(colony, gen["generatorid"], "z")
    run = eventually(lambda: gen_runs(colony, gen["generatorid"]), 5)
    assert root_args(colony, run[0]["processgraphid"]) == ["x", "y", "z"]


@pytest.mark.parametrize(("fields", "message"), [
    ({"trigger": 0}, "trigger 0 must be at least 1"),
    ({"trigger": -1}, "trigger -1 must be at least 1"),
    ({"timeout": -3}, "timeout -3"),
    ({"workflowspec": "{"}, "Invalid workflowspec"),
    ({"workflowspec": json.dumps({"functionspecs": [{"nodename": "a", "conditions": {"dependencies": ["x"]}}]})},
     "Invalid workflow"),
    ({"name": ""}, "generator name"),
])  # fmt: skip
def test_bad_generators_are_refused_with_400(colony: Colony, fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ColoniesError) as err:
        add_generator(colony, **fields)
    assert err.value.status == 400 and message in str(err.value), err.value


def test_get_list_resolve_remove(colony: Colony) -> None:
    gen = add_generator(colony, name="batcher", trigger=100)
    for arg in "abc":
        pack(colony, gen["generatorid"], arg)
    assert colony.call("getgeneratormsg", {"generatorid": gen["generatorid"]}, colony.executor)["queuesize"] == 3
    resolved = colony.call("resolvegeneratormsg", {"colonyname": colony.name, "generatorname": "batcher"},
                           colony.user)  # fmt: skip
    assert resolved["generatorid"] == gen["generatorid"]
    listed = colony.call("getgeneratorsmsg", {"colonyname": colony.name, "count": 10}, colony.user)
    assert [g["name"] for g in listed] == ["batcher"]
    with pytest.raises(ColoniesError) as err:
        add_generator(colony, name="batcher")
    assert err.value.status == 400 and "already exists" in str(err.value)
    colony.call("removegeneratormsg", {"generatorid": gen["generatorid"], "all": False}, colony.user)
    for payloadtype, msg in (("getgeneratormsg", {"generatorid": gen["generatorid"]}),
                             ("packgeneratormsg", {"generatorid": gen["generatorid"], "arg": "d"}),
                             ("resolvegeneratormsg", {"colonyname": colony.name, "generatorname": "batcher"})):
        with pytest.raises(ColoniesError) as err:
            colony.call(payloadtype, msg, colony.user)
        assert err.value.status == 404, payloadtype
    assert colony.call("getgeneratorsmsg", {"colonyname": colony.name, "count": 10}, colony.user) == []


def test_every_message_refuses_non_members(server: Server, colony: Colony) -> None:
    gen = add_generator(colony, trigger=1000)
    other = create_colony(server)
    pending = colony.add_executor(approve=False)
    for who in (other.user, new_identity("stranger"), pending, colony.owner, server.prvkey):
        for payloadtype, msg in (
            ("addgeneratormsg", {"generator": {"colonyname": colony.name, "name": "x", "trigger": 1,
                                               "workflowspec": workflow(colony)}}),
            ("getgeneratormsg", {"generatorid": gen["generatorid"]}),
            ("resolvegeneratormsg", {"colonyname": colony.name, "generatorname": gen["name"]}),
            ("getgeneratorsmsg", {"colonyname": colony.name, "count": 5}),
            ("packgeneratormsg", {"generatorid": gen["generatorid"], "arg": "sneaky"}),
            ("removegeneratormsg", {"generatorid": gen["generatorid"]}),
            ("getgeneratorrunsmsg", {"generatorid": gen["generatorid"], "count": 5}),
        ):  # fmt: skip
            with pytest.raises(ColoniesError) as err:
                colony.call(payloadtype, msg, who)
            assert err.value.status == 403, (payloadtype, err.value)
    assert colony.call("getgeneratormsg", {"generatorid": gen["generatorid"]}, colony.user)["queuesize"] == 0


def test_removing_the_colony_removes_its_generators(server: Server) -> None:
    colony = create_colony(server)
    gen = add_generator(colony, trigger=5)
    pack(colony, gen["generatorid"], "left behind")
    server.call("removecolonymsg", {"colonyname": colony.name}, server.prvkey)
    again = create_colony(server, colony.name)
    with pytest.raises(ColoniesError) as err:
        again.call("getgeneratormsg", {"generatorid": gen["generatorid"]}, again.user)
    assert err.value.status == 404


def test_the_sdk_names_of_the_original(server: Server, colony: Colony) -> None:
    from colonies.client import Colonies

    client, key = Colonies("127.0.0.1", server.port), colony.user.prvkey
    gen = client.add_generator({"colonyname": colony.name, "name": "sdk-gen", "workflowspec": workflow(colony),
                                "trigger": 2, "timeout": 0}, key)  # fmt: skip
    client.pack_generator(gen.generatorid, "one", key)
    client.pack_generator(gen.generatorid, "two", key)
    assert client.resolve_generator(colony.name, "sdk-gen", key).generatorid == gen.generatorid
    run = eventually(lambda: client.get_generator_runs(gen.generatorid, key), 5)
    assert root_args(colony, run[0].processgraphid) == ["one", "two"]
    assert [g.name for g in client.get_generators(colony.name, key)] == ["sdk-gen"]
    assert client.get_generator(gen.generatorid, key).queuesize == 0
    client.remove_generator(gen.generatorid, key)
    assert client.get_generators(colony.name, key) == []


@pytest.mark.skipif(not PG_URL, reason="replicas need PostgreSQL (set COLONIES_TEST_PG_URL)")
def test_two_replicas_use_each_arg_exactly_once(tmp_path: Any) -> None:
    db = fresh_database("postgres", str(tmp_path))
    servers = [start_server(str(tmp_path), db=db)]
    try:
        servers.append(start_server(str(tmp_path), db=db, prvkey=servers[0].prvkey))
        colony = create_colony(servers[0])
        gen = add_generator(colony, trigger=7, timeout=1)
        args = [f"a{i}" for i in range(300)]

        def packer(index: int) -> None:
            client = RPCClient("127.0.0.1", servers[index % 2].port, timeout=30)
            for arg in args[index::4]:
                client.call("packgeneratormsg", {"generatorid": gen["generatorid"], "arg": arg}, colony.user.prvkey)
            client.close()

        threads = [threading.Thread(target=packer, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        eventually(lambda: sum(r["args"] for r in gen_runs(colony, gen["generatorid"])) == len(args), 20)
        used = Counter(a for r in gen_runs(colony, gen["generatorid"]) for a in root_args(colony, r["processgraphid"]))
    finally:
        for srv in servers:
            srv.stop()
    assert sorted(used) == sorted(args) and set(used.values()) == {1}


def test_an_arg_packed_long_after_the_last_run_waits_its_own_timeout(colony: Colony) -> None:
    """The original counts the timeout from the last run only, so a late pack starts a workflow at once."""
    gen = add_generator(colony, trigger=2, timeout=2)
    pack(colony, gen["generatorid"], "a")
    pack(colony, gen["generatorid"], "b")
    eventually(lambda: gen_runs(colony, gen["generatorid"]), 5)
    time.sleep(2.5)  # longer than the timeout since that run
    pack(colony, gen["generatorid"], "late")
    time.sleep(1.0)
    assert len(gen_runs(colony, gen["generatorid"])) == 1  # not at once
    runs = eventually(lambda: len(gen_runs(colony, gen["generatorid"])) == 2 and gen_runs(colony, gen["generatorid"]), 5)
    assert root_args(colony, runs[0]["processgraphid"]) == ["late"]

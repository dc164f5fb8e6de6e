"""Both generations of the Go wire (issue 15): what a v1.7.8 and a v1.9 Go client send, and that each gets replies
in the shape its own structs unmarshal (docs/compatibility.md, "Wire generations").

The clients here are raw JSON shaped like each generation's Go SDK: no ``nonce`` (ours only), Go's field names and
zero values, and a parser with the strictness of Go's ``encoding/json`` where the generations differ (an object
where a slice belongs, or the reverse, fails the whole reply).
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import httpx
from conftest import Colony, Identity, Server, create_colony, expect_error, new_identity
from sched_helpers import wait_for
from websockets.sync.client import connect

from colonies import crypto, envelope
from colonies.exceptions import ColoniesError

V178, V19 = "v1.7.8", "v1.9"
ZERO = "0001-01-01T00:00:00Z"


class GoClient:
    """Signs and posts like the Go SDK: the payload is the message's JSON, no nonce and no audience."""

    def __init__(self, server: Server) -> None:
        self.url = server.url + "/api"

    def call(self, payloadtype: str, msg: dict[str, Any], who: Identity) -> Any:
        payload = envelope.encode_payload({**msg, "msgtype": payloadtype})
        body = {"payloadtype": payloadtype, "payload": payload, "signature": crypto.sign(payload, who.prvkey)}
        response = httpx.post(self.url, content=json.dumps(body), timeout=30,
                              headers={"Content-Type": "application/json"})  # fmt: skip
        reply = response.json()
        decoded = json.loads(base64.b64decode(reply["payload"]))
        if reply.get("error"):
            raise ColoniesError(decoded["message"], response.status_code)
        return decoded


def go_parses(executor: dict[str, Any], generation: str) -> None:
    """What each generation's ``json.Unmarshal`` into ``core.Executor`` refuses (``null`` fits either)."""
    caps = executor["capabilities"]
    want = dict if generation == V178 else list
    for key in ("hardware", "software"):
        assert caps.get(key) is None or isinstance(caps[key], want), (generation, key, caps)
    assert isinstance(executor["location"], dict) and isinstance(executor["locationname"], str)


def gpu(name: str = "", count: int = 0) -> dict[str, Any]:
    return {"name": name, "mem": "64Gi" if name else "", "count": count, "nodecount": 1 if count else 0}


def v178_executor(colony: Colony, ident: Identity, model: str = "AMD EPYC") -> dict[str, Any]:
    """core.Executor as a v1.7.8 Go client marshals it: location and capabilities are structs."""
    return {
        "executorid": ident.id, "executortype": "hpc", "executorname": ident.name, "colonyname": colony.name,
        "state": 0, "requirefuncreg": False, "commissiontime": ZERO, "lastheardfromtime": ZERO,
        "location": {"long": 27.73, "lat": 64.22, "desc": "LUMI, Kajaani"},
        "capabilities": {
            "hardware": {"model": model, "nodes": 2, "cpu": "128000m", "mem": "512Gi", "storage": "10Ti",
                         "gpu": gpu("mi250x", 8)},
            "software": {"name": "singularity", "type": "container", "version": "3.11"},
        },
        "allocations": {"projects": None},
    }  # fmt: skip


def v19_executor(
    colony: Colony, ident: Identity, locationname: str = "", hardware: Any = "one"
) -> dict[str, Any]:
    """core.Executor as a v1.9 Go client marshals it: locationname, lists, no location (nil slices are null)."""
    if hardware == "one":
        hardware = [
            {
                "model": "Xeon",
                "nodes": 1,
                "cpu": "8000m",
                "cores": 8,
                "mem": "32Gi",
                "storage": "",
                "gpu": gpu(),
                "platform": "linux",
                "architecture": "amd64",
                "network": ["10.0.0.5"],
            }
        ]
    executor = {
        "executorid": ident.id, "executortype": "docker", "executorname": ident.name, "colonyname": colony.name,
        "state": 0, "requirefuncreg": False, "commissiontime": ZERO, "lastheardfromtime": ZERO,
        "capabilities": {"hardware": hardware,
                         "software": None if hardware is None else [{"name": "docker", "type": "runtime",
                                                                     "version": "27"}]},
        "allocations": {"projects": None},
    }  # fmt: skip
    if locationname:
        executor["locationname"] = locationname
    return executor


def spec(colony: Colony, generation: str, per_node: int = 2) -> dict[str, Any]:
    """A FunctionSpec as each generation marshals it: the conditions' per-node key changed in v1.8.7."""
    key = "processes-per-node" if generation == V178 else "processespernode"
    conditions = {
        "colonyname": colony.name,
        "executornames": None,
        "executortype": colony.executortype,
        "dependencies": None,
        "nodes": 1,
        "cpu": "",
        "processes": 0,
        key: per_node,
        "mem": "",
        "storage": "",
        "gpu": {"name": "", "mem": "", "count": 0, "nodecount": 0},
        "walltime": 0,
    }
    return {"nodename": "", "funcname": "echo", "args": None, "kwargs": None, "priority": 0, "maxwaittime": 0,
            "maxexectime": 0, "maxretries": 0, "conditions": conditions, "label": "", "fs": {"mount": ""},
            "env": None}  # fmt: skip


def register(go: GoClient, colony: Colony, executor: dict[str, Any]) -> dict[str, Any]:
    reply = go.call("addexecutormsg", {"executor": executor}, colony.owner)
    colony.call("approveexecutormsg", {"colonyname": colony.name, "executorname": executor["executorname"]},
                colony.owner)  # fmt: skip
    return dict(reply)


def listed(go: GoClient, colony: Colony, who: Identity) -> dict[str, dict[str, Any]]:
    return {e["executorname"]: e for e in go.call("getexecutorsmsg", {"colonyname": colony.name}, who)}


def test_a_v178_client_registers_and_reads_structs(server: Server, colony: Colony) -> None:
    go = GoClient(server)
    old, new = new_identity(f"v178-{os.urandom(3).hex()}"), new_identity(f"v19-{os.urandom(3).hex()}")
    added = register(go, colony, v178_executor(colony, old))
    go_parses(added, V178)  # the reply to a registration is in the request's own shape
    assert added["location"] == {"long": 27.73, "lat": 64.22, "name": "", "desc": "LUMI, Kajaani"}
    assert added["capabilities"]["hardware"]["gpu"]["count"] == 8
    register(go, colony, v19_executor(colony, new))
    # The v1.7.8 executor reads with its own key: structs, also for the executor a v1.9 client registered.
    seen = listed(go, colony, old)
    for name in (old.name, new.name):
        go_parses(seen[name], V178)
    assert seen[new.name]["capabilities"]["hardware"]["model"] == "Xeon"  # a list answered by its first entry
    assert seen[old.name]["capabilities"]["software"]["name"] == "singularity"
    by_name = go.call("getexecutormsg", {"colonyname": colony.name, "executorname": new.name}, old)
    by_id = go.call("getexecutorbyidmsg", {"colonyname": colony.name, "executorid": new.id}, old)
    for reply in (by_name, by_id):
        go_parses(reply, V178)


def test_a_v19_client_registers_and_reads_lists(server: Server, colony: Colony) -> None:
    go = GoClient(server)
    old, new = new_identity(f"v178-{os.urandom(3).hex()}"), new_identity(f"v19-{os.urandom(3).hex()}")
    blank = new_identity(f"blank-{os.urandom(3).hex()}")
    register(go, colony, v178_executor(colony, old))
    zero = v178_executor(colony, blank)
    zero["capabilities"] = {
        "hardware": {"model": "", "nodes": 0, "cpu": "", "mem": "", "storage": "", "gpu": gpu()},
        "software": {"name": "", "type": "", "version": ""},
    }
    register(go, colony, zero)  # what a v1.7.8 client sends when it declares nothing: zero structs
    added = register(go, colony, v19_executor(colony, new))
    go_parses(added, V19)
    assert added["capabilities"]["hardware"][0]["network"] == ["10.0.0.5"]
    seen = listed(go, colony, new)
    for name in (old.name, new.name, blank.name):
        go_parses(seen[name], V19)
    assert [h["model"] for h in seen[old.name]["capabilities"]["hardware"]] == ["AMD EPYC"]
    assert seen[blank.name]["capabilities"] == {"hardware": [], "software": []}  # zero structs: empty lists
    assert seen[old.name]["location"]["desc"] == "LUMI, Kajaani"  # v1.9.0-v1.9.5 still read location


def test_a_v19_registration_with_nil_slices_is_v19(server: Server, colony: Colony) -> None:
    """A v1.9 client with no capabilities marshals nil slices as null: that alone tells its generation."""
    go = GoClient(server)
    ident = new_identity(f"nil-{os.urandom(3).hex()}")
    added = register(go, colony, v19_executor(colony, ident, hardware=None))
    assert added["capabilities"] == {"hardware": None, "software": None}
    register(go, colony, v178_executor(colony, new_identity(f"v178-{os.urandom(3).hex()}")))
    for executor in listed(go, colony, ident).values():
        go_parses(executor, V19)


def test_a_reader_nothing_is_known_about_gets_null(server: Server, colony: Colony) -> None:
    """A Go client that never showed its generation gets null lists: both generations parse that."""
    go = GoClient(server)
    register(go, colony, v178_executor(colony, new_identity(f"v178-{os.urandom(3).hex()}")))
    register(go, colony, v19_executor(colony, new_identity(f"v19-{os.urandom(3).hex()}")))
    for executor in listed(go, colony, colony.user).values():
        assert executor["capabilities"]["hardware"] is None and executor["capabilities"]["software"] is None
        go_parses(executor, V178)
        go_parses(executor, V19)


def test_the_generation_follows_what_the_caller_sent_last(server: Server, colony: Colony) -> None:
    go = GoClient(server)
    register(go, colony, v19_executor(colony, new_identity(f"v19-{os.urandom(3).hex()}")))
    go.call("submitfuncspecmsg", {"spec": spec(colony, V178)}, colony.user)
    for executor in listed(go, colony, colony.user).values():
        go_parses(executor, V178)
    go.call("submitfuncspecmsg", {"spec": spec(colony, V19)}, colony.user)  # the user upgraded its client
    for executor in listed(go, colony, colony.user).values():
        go_parses(executor, V19)


def test_what_a_key_showed_in_one_colony_holds_there_only(server: Server, colony: Colony) -> None:
    """Another colony's owner may register the same id: it tells nothing about how that key reads this colony."""
    go = GoClient(server)
    ident = new_identity(f"v178-{os.urandom(3).hex()}")
    register(go, colony, v178_executor(colony, ident))
    other = create_colony(server)
    register(go, other, v19_executor(other, ident))
    for executor in listed(go, colony, ident).values():
        go_parses(executor, V178)
    for executor in listed(go, other, ident).values():
        go_parses(executor, V19)


def test_our_sdk_gets_structs_whatever_the_key_did_before(server: Server, colony: Colony) -> None:
    """Requests with a nonce come from this project's SDK, CLI or dashboard, which read both shapes."""
    go = GoClient(server)
    register(go, colony, v19_executor(colony, new_identity(f"v19-{os.urandom(3).hex()}")))
    go.call("submitfuncspecmsg", {"spec": spec(colony, V19)}, colony.user)
    for executor in colony.call("getexecutorsmsg", {"colonyname": colony.name}, colony.user):
        go_parses(executor, V178)


def test_a_named_location_gives_the_v178_location_its_coordinates(server: Server, colony: Colony) -> None:
    loc = {"locationid": "", "name": "leonardo", "colonyname": colony.name, "description": "Bologna",
           "long": 11.34, "lat": 44.49}  # fmt: skip
    colony.call("addlocationmsg", {"location": loc}, colony.owner)
    go = GoClient(server)
    ident = new_identity(f"v19-{os.urandom(3).hex()}")
    register(go, colony, v19_executor(colony, ident, locationname="leonardo"))
    go.call("submitfuncspecmsg", {"spec": spec(colony, V178)}, colony.user)
    got = listed(go, colony, colony.user)[ident.name]
    assert got["locationname"] == "leonardo"
    assert got["location"] == {"long": 11.34, "lat": 44.49, "name": "leonardo", "desc": "Bologna"}


def test_a_spec_reaches_each_generation_with_its_per_node_key(server: Server, colony: Colony) -> None:
    go = GoClient(server)
    for sent, per_node in ((V178, 4), (V19, 3)):
        submitted = go.call("submitfuncspecmsg", {"spec": spec(colony, sent, per_node)}, colony.user)
        assigned = go.call("assignprocessmsg", {"colonyname": colony.name, "timeout": -1, "availablecpu": "",
                                                "availablemem": ""}, colony.executor)  # fmt: skip
        assert assigned["processid"] == submitted["processid"]
        conditions = assigned["spec"]["conditions"]
        assert conditions["processes-per-node"] == conditions["processespernode"] == per_node, sent
        go.call("closesuccessfulmsg", {"processid": assigned["processid"], "out": None}, colony.executor)


def test_a_v178_subscription_names_no_colony(server: Server, colony: Colony) -> None:
    """v1.7.8's subscribe messages have no colonyname: the process, or the executor's own colony, tells it."""
    url = f"ws://127.0.0.1:{server.port}/pubsub"

    def frame(payloadtype: str, msg: dict[str, Any], who: Identity) -> str:
        payload = envelope.encode_payload({**msg, "msgtype": payloadtype})
        return json.dumps({"payloadtype": payloadtype, "payload": payload,
                           "signature": crypto.sign(payload, who.prvkey)})  # fmt: skip

    with connect(url, open_timeout=5, close_timeout=2) as ws:
        ws.send(frame("subscribeprocessesmsg", {"executortype": colony.executortype, "state": 0, "timeout": 10},
                      colony.executor))  # fmt: skip
        waiting = colony.submit(colony.user)
        _, got = envelope.decode_reply(ws.recv(timeout=10).encode())
        assert got["processid"] == waiting["processid"]
        ws.send(frame("subscribeprocessmsg", {"processid": waiting["processid"], "executortype": "",
                                              "state": 0, "timeout": 10}, colony.user))  # fmt: skip
        _, got = envelope.decode_reply(ws.recv(timeout=10).encode())
        assert got["processid"] == waiting["processid"] and got["state"] == 0
    # The subscription showed the executor's generation: its executor replies are structs from now on.
    go = GoClient(server)
    register(go, colony, v19_executor(colony, new_identity(f"v19-{os.urandom(3).hex()}")))
    for executor in listed(go, colony, colony.executor).values():
        go_parses(executor, V178)


def test_an_executor_of_no_colony_cannot_subscribe_without_a_colony(server: Server, colony: Colony) -> None:
    url = f"ws://127.0.0.1:{server.port}/pubsub"
    stranger = new_identity("stranger")
    with connect(url, open_timeout=5, close_timeout=2) as ws:
        ws.send(envelope.build_request("subscribeprocessesmsg", {"executortype": "t", "state": 0, "timeout": 5},
                                       stranger.prvkey).decode())  # fmt: skip
        is_error, payload = envelope.decode_reply(ws.recv(timeout=10).encode())
        assert is_error and payload["status"] == 403


# -- updateexecutormsg and reportallocationmsg ----------------------------------------------------------------------


def test_an_executor_replaces_its_capabilities(server: Server, colony: Colony) -> None:
    go = GoClient(server)
    ident = new_identity(f"upd-{os.urandom(3).hex()}")
    register(go, colony, v178_executor(colony, ident))
    caps = {
        "hardware": [
            {
                "model": "H100 node",
                "nodes": 1,
                "cpu": "64000m",
                "cores": 64,
                "mem": "1Ti",
                "storage": "",
                "gpu": gpu("h100", 4),
                "platform": "linux",
                "architecture": "amd64",
                "network": [],
            }
        ],
        "software": [{"name": "cuda", "type": "toolkit", "version": "12"}],
    }
    msg = {"colonyname": colony.name, "executorname": ident.name, "capabilities": caps}
    assert go.call("updateexecutormsg", msg, ident) == {}
    got = go.call("getexecutormsg", {"colonyname": colony.name, "executorname": ident.name}, ident)
    assert got["capabilities"] == caps  # the update showed a v1.9 client: lists, as sent
    for who in (colony.executor, colony.user, colony.owner, new_identity("random")):
        expect_error(403, go.call, "updateexecutormsg", msg, who)
    for wrong in ({"hardware": "lots"}, {"hardware": ["a node"]}, {"software": 3}):
        bad = {**msg, "capabilities": wrong}
        assert "Invalid capabilities." in expect_error(400, go.call, "updateexecutormsg", bad, ident).message
        executor = {**v19_executor(colony, new_identity("bad")), "capabilities": wrong}
        expect_error(400, go.call, "addexecutormsg", {"executor": executor}, colony.owner)
    expect_error(
        400, go.call, "updateexecutormsg", {k: v for k, v in msg.items() if k != "capabilities"}, ident
    )


def test_an_executor_reports_its_allocations(server: Server, colony: Colony) -> None:
    project = {"allocatedcpu": 1000, "usedcpu": 250, "allocatedgpu": 4, "usedgpu": 1, "allocatedstorage": 10**12,
               "usedstorage": 10**9}  # fmt: skip
    msg = {"colonyname": colony.name, "executorname": colony.executor.name,
           "allocations": {"projects": {"proj-123": project}}}  # fmt: skip
    assert colony.call("reportallocationmsg", msg, colony.executor) == {}
    got = colony.call("getexecutormsg", {"colonyname": colony.name, "executorname": colony.executor.name},
                      colony.user)  # fmt: skip
    assert got["allocations"] == {"projects": {"proj-123": project}}
    for who in (colony.user, colony.owner, colony.add_executor()):
        expect_error(403, colony.call, "reportallocationmsg", msg, who)
    bad = {**msg, "allocations": {"projects": {"p": {"usedcpu": "2000m"}}}}
    assert "usedcpu" in expect_error(400, colony.call, "reportallocationmsg", bad, colony.executor).message


# -- v1.9 fields of messages v1.7.8 already had --------------------------------------------------------------------


def test_functions_keep_description_args_and_location(server: Server, colony: Colony) -> None:
    loc = {"locationid": "", "name": "ice", "colonyname": colony.name, "description": "", "long": 0, "lat": 0}
    colony.call("addlocationmsg", {"location": loc}, colony.owner)
    ident = colony.add_executor(locationname="ice")
    args = [{"name": "n", "type": "int", "description": "how many", "required": True, "enum": [1, 2, 3]}]
    fun = {"executorname": ident.name, "executortype": colony.executortype, "colonyname": colony.name,
           "funcname": "count", "description": "Counts to n", "args": args}  # fmt: skip
    added = GoClient(server).call("addfunctionmsg", {"fun": fun}, ident)
    assert (added["description"], added["args"], added["locationname"]) == ("Counts to n", args, "ice")
    listed_functions = colony.call("getfunctionsmsg", {"colonyname": colony.name, "executorname": ident.name},
                                   colony.user)  # fmt: skip
    assert [(f["description"], f["args"], f["locationname"]) for f in listed_functions] == [
        ("Counts to n", args, "ice")
    ]


def test_statistics_carry_the_v19_counts(server: Server, colony: Colony) -> None:
    keys = {"activeexecutors", "unregisteredexecutors", "cancelledprocesses", "cancelledworkflows"}
    colony.call("cancelprocessmsg", {"processid": colony.submit(colony.user)["processid"]}, colony.user)
    stats = GoClient(server).call("getcolonystatsmsg", {"colonyname": colony.name}, colony.user)
    assert keys <= set(stats) and stats["cancelledprocesses"] == 1 and stats["activeexecutors"] == 1
    assert keys <= set(GoClient(server).call("getstatisticsmsg", {}, Identity(server.prvkey, "", "server")))


def test_a_running_process_cannot_be_removed(server: Server, colony: Colony) -> None:
    running = colony.submit(colony.user)
    assert colony.assign()["processid"] == running["processid"]
    err = expect_error(400, GoClient(server).call, "removeprocessmsg", {"processid": running["processid"],
                                                                         "all": False}, colony.user)  # fmt: skip
    assert "running" in err.message
    assert colony.get(running["processid"])["state"] == 1


def test_the_cluster_describes_this_server(server: Server) -> None:
    # Leadership is taken in the background after the server starts (a loaded machine may take a moment).
    got = wait_for(lambda: GoClient(server).call("getclustermsg", {}, Identity(server.prvkey, "", "server")),
                   lambda got: bool(got["leader"]["host"]), 15, what="a leader in the cluster")  # fmt: skip
    assert [node["apiport"] for node in got["nodes"]] == [server.port]
    assert got["leader"] == got["nodes"][0]
    assert set(got["leader"]) == {"name", "host", "port", "peerport", "relayport", "apiport"}


def test_sdk_methods(server: Server, colony: Colony) -> None:
    from colonies.client import Colonies

    sdk = Colonies("127.0.0.1", server.port)
    try:
        caps = {"hardware": [{"model": "sdk", "cores": 2}], "software": []}
        assert sdk.update_executor(colony.name, colony.executor.name, caps, colony.executor.prvkey) == {}
        allocations = {"projects": {"p": {"allocatedcpu": 2, "usedcpu": 1}}}
        assert (
            sdk.report_allocation(colony.name, colony.executor.name, allocations, colony.executor.prvkey)
            == {}
        )
        got = sdk.get_executor(colony.name, colony.executor.name, colony.user.prvkey)
        assert got["capabilities"]["hardware"]["model"] == "sdk"  # ours read structs
        assert got["allocations"]["projects"]["p"]["usedcpu"] == 1
        assert [n["apiport"] for n in sdk.get_cluster(server.prvkey)["nodes"]] == [server.port]
    finally:
        sdk.close_connection()

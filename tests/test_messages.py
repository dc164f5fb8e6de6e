"""The RPC catalogue (protocol §3) against a real server: every message works and replies with the exact
shape (§4).

Workflow messages live in test_workflows.py; crypto vectors in test_crypto.py.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from conftest import Colony, Identity, Server, create_colony, expect_error, new_identity

from colonies.crypto import hash_text
from colonies.exceptions import ColoniesError
from colonies.timefmt import ZERO_TIME, parse_time

WAITING, RUNNING, SUCCESS, FAILED, CANCELLED = range(5)
PENDING, APPROVED, REJECTED, UNREGISTERED = range(4)
DAY_NS = 86_400_000_000_000

PROCESS_KEYS = [
    "processid",
    "initiatorid",
    "initiatorname",
    "assignedexecutorid",
    "isassigned",
    "state",
    "prioritytime",
    "submissiontime",
    "starttime",
    "endtime",
    "waitdeadline",
    "execdeadline",
    "retries",
    "attributes",
    "spec",
    "waitforparents",
    "parents",
    "children",
    "processgraphid",
    "in",
    "out",
    "errors",
]
SPEC_KEYS = [
    "nodename",
    "funcname",
    "args",
    "kwargs",
    "priority",
    "maxwaittime",
    "maxexectime",
    "maxretries",
    "conditions",
    "label",
    "fs",
    "env",
]
CONDITION_KEYS = [
    "colonyname",
    "executornames",
    "executortype",
    "dependencies",
    "nodes",
    "cpu",
    "processes",
    "processespernode",
    "processes-per-node",  # both spellings go out: v1.7.8 clients read this one (docs/compatibility.md)
    "mem",
    "storage",
    "gpu",
    "walltime",
]
ATTRIBUTE_KEYS = [
    "attributeid",
    "targetid",
    "targetcolonyname",
    "targetprocessgraphid",
    "state",
    "attributetype",
    "key",
    "value",
]
EXECUTOR_KEYS = [
    "executorid",
    "executortype",
    "executorname",
    "colonyname",
    "state",
    "requirefuncreg",
    "commissiontime",
    "lastheardfromtime",
    "locationname",
    "capabilities",
    "allocations",
]
FUNCTION_KEYS = [
    "functionid",
    "executorname",
    "executortype",
    "colonyname",
    "funcname",
    "counter",
    "minwaittime",
    "maxwaittime",
    "minexectime",
    "maxexectime",
    "avgwaittime",
    "avgexectime",
]
STATS_KEYS = [
    "colonies",
    "executors",
    "activeexecutors",
    "unregisteredexecutors",
    "waitingprocesses",
    "runningprocesses",
    "successfulprocesses",
    "failedprocesses",
    "cancelledprocesses",
    "waitingworkflows",
    "runningworkflows",
    "successfulworkflows",
    "failedworkflows",
    "cancelledworkflows",
]
USER_KEYS = ["colonyname", "userid", "name", "email", "phone"]
LOG_KEYS = ["processid", "colonyname", "executorname", "message", "timestamp"]


def status_of(fn: Any, *args: Any, **kwargs: Any) -> int:
    with pytest.raises(ColoniesError) as info:
        fn(*args, **kwargs)
    return int(info.value.status)


def processes(colony: Colony, state: int, who: Identity | None = None, **filters: Any) -> Any:
    msg = {"colonyname": colony.name, "count": 100, "state": state, **filters}
    return colony.call("getprocessesmsg", msg, who or colony.executor)


def ids(rows: list[dict[str, Any]]) -> list[str]:
    return [r["processid"] for r in rows]


def run(colony: Colony, out: list[Any] | None = None, who: Identity | None = None) -> dict[str, Any]:
    """Assign the next process and close it successfully."""
    p = colony.assign(who=who)
    colony.close(p["processid"], out, who=who)
    return p


def submit_wf(colony: Colony, names: list[str]) -> Any:
    specs = []
    prev: list[str] = []
    for name in names:
        spec = colony.spec(nodename=name)
        spec["conditions"]["dependencies"] = prev
        prev = [name]
        specs.append(spec)
    return colony.call(
        "submitworkflowspecmsg",
        {"spec": {"colonyname": colony.name, "functionspecs": specs}},
        colony.executor,
    )


# --- server -------------------------------------------------------------------------------------------------


def test_versionmsg_unsigned(server: Server) -> None:
    reply = server.call("versionmsg", {}, None)
    assert list(reply) == ["buildversion", "buildtime", "msgtype"]
    assert reply["msgtype"] == "versionmsg"
    assert isinstance(reply["buildversion"], str) and reply["buildversion"]


def test_getserverinfomsg_unsigned(server: Server) -> None:
    reply = server.call("getserverinfomsg", {}, None)
    assert list(reply)[:3] == ["buildversion", "buildtime", "backends"]
    assert isinstance(reply["backends"], list) and reply["backends"]
    backend = reply["backends"][0]
    assert backend["type"] == "http"
    assert backend["port"] == server.port


def test_getstatisticsmsg_server_owner_counts(make_server: Any) -> None:
    # Its own server: the shared one runs other tests' crons and generators, which submit while this one counts.
    server = make_server()
    before = server.call("getstatisticsmsg", {}, server.prvkey)
    assert list(before) == STATS_KEYS
    assert all(isinstance(v, int) for v in before.values())
    colony = create_colony(server)
    colony.submit()
    colony.submit()
    run(colony)
    after = server.call("getstatisticsmsg", {}, server.prvkey)
    assert after["colonies"] == before["colonies"] + 1
    assert after["executors"] == before["executors"] + 1
    assert after["activeexecutors"] == before["activeexecutors"] + 1
    assert after["waitingprocesses"] == before["waitingprocesses"] + 1
    assert after["successfulprocesses"] == before["successfulprocesses"] + 1
    expect_error(403, server.call, "getstatisticsmsg", {}, colony.owner.prvkey)
    expect_error(403, server.call, "getstatisticsmsg", {}, colony.executor.prvkey)


# --- colonies -----------------------------------------------------------------------------------------------


def test_add_get_list_colonies(server: Server) -> None:
    owner = new_identity(f"col-{time.time_ns()}")
    reply = server.call("addcolonymsg", {"colony": {"colonyid": owner.id, "name": owner.name}}, server.prvkey)
    assert reply == {"colonyid": owner.id, "name": owner.name}
    assert list(reply) == ["colonyid", "name"]
    listed = server.call("getcoloniesmsg", {}, server.prvkey)
    assert isinstance(listed, list)
    assert {"colonyid": owner.id, "name": owner.name} in listed
    for c in listed:
        assert list(c) == ["colonyid", "name"]
    expect_error(403, server.call, "getcoloniesmsg", {}, owner.prvkey)
    # Duplicate name → 400, whoever the new owner is.
    other = new_identity(owner.name)
    err = expect_error(
        400,
        server.call,
        "addcolonymsg",
        {"colony": {"colonyid": other.id, "name": owner.name}},
        server.prvkey,
    )
    assert owner.name in err.message
    # Only the server owner may add colonies; the id must be 64 hex.
    expect_error(
        403,
        server.call,
        "addcolonymsg",
        {"colony": {"colonyid": other.id, "name": "x" + owner.name}},
        owner.prvkey,
    )
    expect_error(
        400,
        server.call,
        "addcolonymsg",
        {"colony": {"colonyid": "abc", "name": "y" + owner.name}},
        server.prvkey,
    )


def test_getcolonymsg_members_only(colony: Colony) -> None:
    expected = {"colonyid": colony.owner.id, "name": colony.name}
    assert colony.call("getcolonymsg", {"colonyname": colony.name}, colony.executor) == expected
    assert colony.call("getcolonymsg", {"colonyname": colony.name}, colony.user) == expected
    expect_error(403, colony.call, "getcolonymsg", {"colonyname": colony.name}, new_identity("x"))


def test_getcolonystatsmsg(colony: Colony) -> None:
    colony.add_executor(approve=False)  # pending
    gone = colony.add_executor()
    colony.call("removeexecutormsg", {"colonyname": colony.name, "executorname": gone.name}, colony.owner)
    for _ in range(5):
        colony.submit()
    run(colony)
    colony.fail(colony.assign()["processid"], ["x"])
    third = processes(colony, WAITING)[0]
    colony.call("cancelprocessmsg", {"processid": third["processid"]}, colony.executor)
    colony.assign()
    submit_wf(colony, ["a", "b"])
    stats = colony.call("getcolonystatsmsg", {"colonyname": colony.name}, colony.user)
    assert list(stats) == STATS_KEYS
    assert stats == {
        "colonies": 1,
        "executors": 2,  # the removed one is not counted (the Go server counts it)
        "activeexecutors": 1,
        "unregisteredexecutors": 1,
        "waitingprocesses": 3,
        "runningprocesses": 1,
        "successfulprocesses": 1,
        "failedprocesses": 1,
        "cancelledprocesses": 1,
        "waitingworkflows": 1,
        "runningworkflows": 0,
        "successfulworkflows": 0,
        "failedworkflows": 0,
        "cancelledworkflows": 0,
    }
    expect_error(403, colony.call, "getcolonystatsmsg", {"colonyname": colony.name}, new_identity("x"))


def test_getcolonystatsmsg_counts_workflows_by_state(colony: Colony) -> None:
    ok = submit_wf(colony, ["a"])
    run(colony)
    bad = submit_wf(colony, ["a", "b"])
    colony.fail(colony.assign()["processid"])
    cancelled = submit_wf(colony, ["a"])
    colony.call("cancelprocessgraphmsg", {"processgraphid": cancelled["processgraphid"]}, colony.executor)
    submit_wf(colony, ["a", "b"])
    colony.assign()
    submit_wf(colony, ["a"])
    stats = colony.call("getcolonystatsmsg", {"colonyname": colony.name}, colony.executor)
    assert (
        stats["waitingworkflows"],
        stats["runningworkflows"],
        stats["successfulworkflows"],
        stats["failedworkflows"],
        stats["cancelledworkflows"],
    ) == (1, 1, 1, 1, 1)
    # Processes: ok.a success; bad.a and bad.b failed (cascade); cancelled.a cancelled; one a running,
    # its b and the last graph's a waiting.
    assert (
        stats["waitingprocesses"],
        stats["runningprocesses"],
        stats["successfulprocesses"],
        stats["failedprocesses"],
        stats["cancelledprocesses"],
    ) == (2, 1, 1, 2, 1)
    assert ok["processgraphid"] != bad["processgraphid"]


def test_removecolonymsg_cascades(server: Server) -> None:
    colony = create_colony(server)
    plain = colony.submit(env={"K": "v"})
    running = colony.assign()
    colony.call(
        "addlogmsg", {"processid": running["processid"], "message": "cascade-needle"}, colony.executor
    )
    colony.call(
        "addfunctionmsg",
        {"fun": {"executorname": colony.executor.name, "colonyname": colony.name, "funcname": "f"}},
        colony.executor,
    )
    graph = submit_wf(colony, ["a", "b"])
    expect_error(403, server.call, "removecolonymsg", {"colonyname": colony.name}, colony.owner.prvkey)
    assert server.call("removecolonymsg", {"colonyname": colony.name}, server.prvkey) == {}
    assert colony.name not in [c["name"] for c in server.call("getcoloniesmsg", {}, server.prvkey)]
    for pid in [plain["processid"], *graph["processids"]]:
        expect_error(404, colony.get, pid)
    expect_error(
        404, colony.call, "getprocessgraphmsg", {"processgraphid": graph["processgraphid"]}, colony.executor
    )
    attr_id = plain["attributes"][0]["attributeid"]
    expect_error(404, colony.call, "getattributemsg", {"attributeid": attr_id}, colony.executor)
    expect_error(404, server.call, "removecolonymsg", {"colonyname": colony.name}, server.prvkey)

    # A new colony with the same name starts empty: no executors, users, processes, functions or logs survive.
    owner = new_identity(colony.name)
    server.call("addcolonymsg", {"colony": {"colonyid": owner.id, "name": colony.name}}, server.prvkey)
    fresh = Colony(server, colony.name, owner, colony.executor, colony.user)
    user = fresh.add_user("newuser")
    assert fresh.call("getexecutorsmsg", {"colonyname": fresh.name}, user) == []
    assert [u["name"] for u in fresh.call("getusersmsg", {"colonyname": fresh.name}, user)] == ["newuser"]
    for state in range(5):
        assert processes(fresh, state, who=user) == []
    assert fresh.call("getfunctionsmsg", {"colonyname": fresh.name}, user) == []
    assert (
        fresh.call(
            "searchlogsmsg",
            {"colonyname": fresh.name, "text": "cascade-needle", "days": 1, "count": 10},
            user,
        )
        == []
    )
    # The old executor key is no member of the new colony.
    expect_error(403, fresh.call, "getcolonymsg", {"colonyname": fresh.name}, colony.executor)


def test_changecolonyidmsg(colony: Colony) -> None:
    new_owner = new_identity("newowner")
    msg = {"colonyname": colony.name, "colonyid": new_owner.id}
    expect_error(403, colony.call, "changecolonyidmsg", msg, colony.executor)
    expect_error(400, colony.call, "changecolonyidmsg", {**msg, "colonyid": "xyz"}, colony.owner)
    reply = colony.call("changecolonyidmsg", msg, colony.owner)
    assert reply == {"colonyname": colony.name, "colonyid": new_owner.id, "msgtype": "changecolonyidmsg"}
    assert (
        colony.call("getcolonymsg", {"colonyname": colony.name}, colony.executor)["colonyid"] == new_owner.id
    )
    user = {
        "user": {
            "colonyname": colony.name,
            "userid": new_identity("u").id,
            "name": "u2",
            "email": "",
            "phone": "",
        }
    }
    expect_error(403, colony.call, "addusermsg", user, colony.owner)
    assert colony.call("addusermsg", user, new_owner)["name"] == "u2"


# --- users --------------------------------------------------------------------------------------------------


def test_users_add_get_list_remove(colony: Colony) -> None:
    ident = new_identity("alice")
    user = {
        "colonyname": colony.name,
        "userid": ident.id,
        "name": "alice",
        "email": "alice@x.y",
        "phone": "123",
    }
    reply = colony.call("addusermsg", {"user": user}, colony.owner)
    assert reply == user and list(reply) == USER_KEYS
    expect_error(403, colony.call, "addusermsg", {"user": {**user, "name": "bob"}}, colony.executor)
    # Duplicate name → 400.
    other = new_identity("alice2")
    expect_error(400, colony.call, "addusermsg", {"user": {**user, "userid": other.id}}, colony.owner)

    got = colony.call("getusermsg", {"colonyname": colony.name, "name": "alice"}, colony.executor)
    assert got == user and list(got) == USER_KEYS
    assert colony.call("getuserbyidmsg", {"colonyname": colony.name, "userid": ident.id}, ident) == user
    listed = colony.call("getusersmsg", {"colonyname": colony.name}, ident)
    assert isinstance(listed, list)
    assert sorted(u["name"] for u in listed) == sorted(["alice", colony.user.name])
    for u in listed:
        assert list(u) == USER_KEYS
    expect_error(403, colony.call, "getusersmsg", {"colonyname": colony.name}, new_identity("x"))
    expect_error(404, colony.call, "getuserbyidmsg", {"colonyname": colony.name, "userid": "ab" * 32}, ident)

    # A user is a member: it may submit.
    assert colony.submit(who=ident)["initiatorname"] == "alice"

    msg = {"colonyname": colony.name, "name": "alice"}
    expect_error(403, colony.call, "removeusermsg", msg, ident)
    assert colony.call("removeusermsg", msg, colony.owner) == {}
    expect_error(404, colony.call, "getusermsg", msg, colony.executor)
    assert status_of(colony.call, "removeusermsg", msg, colony.owner) in (400, 404)
    expect_error(403, colony.submit, who=ident)
    assert [u["name"] for u in colony.call("getusersmsg", {"colonyname": colony.name}, colony.user)] == [
        colony.user.name
    ]


# --- executors ----------------------------------------------------------------------------------------------


def _executor_msg(colony: Colony, ident: Identity, **extra: Any) -> dict[str, Any]:
    return {
        "executor": {
            "executorid": ident.id,
            "executorname": ident.name,
            "executortype": "worker",
            "colonyname": colony.name,
            **extra,
        }
    }


def get_executor(colony: Colony, name: str) -> Any:
    return colony.call("getexecutormsg", {"colonyname": colony.name, "executorname": name}, colony.executor)


def test_executor_add_reply_and_pending(colony: Colony) -> None:
    ident = new_identity("worker-1")
    reply = colony.call("addexecutormsg", _executor_msg(colony, ident), colony.owner)
    assert list(reply)[: len(EXECUTOR_KEYS)] == EXECUTOR_KEYS
    assert reply["executorid"] == ident.id
    assert reply["executorname"] == "worker-1" and reply["executortype"] == "worker"
    assert reply["colonyname"] == colony.name
    assert reply["state"] == PENDING
    assert reply["requirefuncreg"] is False
    assert parse_time(reply["commissiontime"]) > 0
    assert reply["lastheardfromtime"] == ZERO_TIME
    assert isinstance(reply["capabilities"], dict) and isinstance(reply["allocations"], dict)
    expect_error(
        403, colony.call, "addexecutormsg", _executor_msg(colony, new_identity("w2")), colony.executor
    )
    expect_error(
        400, colony.call, "addexecutormsg", _executor_msg(colony, new_identity("worker-1")), colony.owner
    )
    # A pending executor gets nothing until it is approved, not even the executor and user lists.
    expect_error(403, colony.assign, who=ident)
    expect_error(403, colony.call, "getexecutorsmsg", {"colonyname": colony.name}, ident)
    expect_error(403, colony.call, "getusersmsg", {"colonyname": colony.name}, ident)
    expect_error(403, colony.call, "getcolonymsg", {"colonyname": colony.name}, ident)
    names = [e["executorname"] for e in colony.call("getexecutorsmsg", {"colonyname": colony.name}, colony.user)]
    assert sorted(names) == sorted([colony.executor.name, "worker-1"])


def test_executor_approve_reject_get(colony: Colony) -> None:
    ident = colony.add_executor("w-approve", approve=False)
    name_msg = {"colonyname": colony.name, "executorname": ident.name}
    expect_error(403, colony.call, "approveexecutormsg", name_msg, colony.executor)
    assert colony.call("approveexecutormsg", name_msg, colony.owner) == {}
    got = get_executor(colony, ident.name)
    assert got["state"] == APPROVED
    assert list(got)[: len(EXECUTOR_KEYS)] == EXECUTOR_KEYS
    by_id = colony.call(
        "getexecutorbyidmsg", {"colonyname": colony.name, "executorid": ident.id}, colony.user
    )
    assert by_id == got
    expect_error(
        404,
        colony.call,
        "getexecutorbyidmsg",
        {"colonyname": colony.name, "executorid": "ab" * 32},
        colony.user,
    )
    expect_error(404, colony.assign, who=ident)  # approved: may poll (nothing to do)
    assert parse_time(get_executor(colony, ident.name)["lastheardfromtime"]) > 0

    assert colony.call("rejectexecutormsg", name_msg, colony.owner) == {}
    assert get_executor(colony, ident.name)["state"] == REJECTED
    expect_error(403, colony.assign, who=ident)
    expect_error(404, colony.call, "approveexecutormsg", {**name_msg, "executorname": "nope"}, colony.owner)

    listed = colony.call("getexecutorsmsg", {"colonyname": colony.name}, colony.user)
    assert isinstance(listed, list)
    states = {e["executorname"]: e["state"] for e in listed}
    assert states == {colony.executor.name: APPROVED, ident.name: REJECTED}
    expect_error(403, colony.call, "getexecutorsmsg", {"colonyname": colony.name}, new_identity("x"))


def test_executor_remove_requeues_running_and_frees_the_name(colony: Colony) -> None:
    worker = colony.add_executor("w-remove")
    colony.call(
        "addfunctionmsg",
        {"fun": {"executorname": worker.name, "colonyname": colony.name, "funcname": "wf"}},
        worker,
    )
    submitted = colony.submit()
    running = colony.assign(who=worker)
    assert running["processid"] == submitted["processid"]
    msg = {"colonyname": colony.name, "executorname": worker.name}
    expect_error(403, colony.call, "removeexecutormsg", msg, colony.executor)
    assert colony.call("removeexecutormsg", msg, colony.owner) == {}

    p = colony.get(submitted["processid"])
    assert p["state"] == WAITING
    assert p["isassigned"] is False
    assert p["assignedexecutorid"] == ""
    assert p["starttime"] == ZERO_TIME
    assert p["retries"] == 0
    listed = colony.call("getexecutorsmsg", {"colonyname": colony.name}, colony.user)
    assert worker.name not in {e["executorname"] for e in listed}  # removed: not listed (the Go server lists it)
    assert [
        f["executorname"] for f in colony.call("getfunctionsmsg", {"colonyname": colony.name}, colony.user)
    ] == []
    expect_error(403, colony.close, submitted["processid"], who=worker)
    assert colony.assign()["processid"] == submitted["processid"]
    assert status_of(colony.call, "removeexecutormsg", msg, colony.owner) in (400, 404)

    # The name may be registered again (new key), starting PENDING.
    again = new_identity(worker.name)
    reply = colony.call(
        "addexecutormsg",
        {
            "executor": {
                "executorid": again.id,
                "executorname": worker.name,
                "executortype": colony.executortype,
                "colonyname": colony.name,
            }
        },
        colony.owner,
    )
    assert reply["state"] == PENDING and reply["executorid"] == again.id
    colony.call("approveexecutormsg", msg, colony.owner)
    assert get_executor(colony, worker.name)["executorid"] == again.id
    expect_error(403, colony.assign, who=worker)  # the old key is gone
    expect_error(404, colony.assign, who=again)


# --- functions ----------------------------------------------------------------------------------------------


def add_function(colony: Colony, who: Identity, funcname: str, executorname: str | None = None) -> Any:
    fun = {"executorname": executorname or who.name, "colonyname": colony.name, "funcname": funcname}
    return colony.call("addfunctionmsg", {"fun": fun}, who)


def test_functions_add_get_remove(colony: Colony) -> None:
    other = colony.add_executor("other-exec")
    fn = add_function(colony, colony.executor, "echo")
    assert list(fn) == FUNCTION_KEYS
    assert len(fn["functionid"]) == 64
    assert fn["executorname"] == colony.executor.name
    assert fn["executortype"] == colony.executortype
    assert fn["colonyname"] == colony.name and fn["funcname"] == "echo"
    assert fn["counter"] == 0
    for key in FUNCTION_KEYS[6:]:
        assert fn[key] == 0
    add_function(colony, other, "sum")
    expect_error(403, add_function, colony, other, "hack", colony.executor.name)

    all_fns = colony.call("getfunctionsmsg", {"colonyname": colony.name}, colony.user)
    assert sorted((f["executorname"], f["funcname"]) for f in all_fns) == sorted(
        [(colony.executor.name, "echo"), (other.name, "sum")]
    )
    mine = colony.call(
        "getfunctionsmsg", {"colonyname": colony.name, "executorname": other.name}, colony.user
    )
    assert [f["funcname"] for f in mine] == ["sum"]
    assert (
        colony.call("getfunctionsmsg", {"colonyname": colony.name, "executorname": "nobody"}, colony.user)
        == []
    )
    expect_error(403, colony.call, "getfunctionsmsg", {"colonyname": colony.name}, new_identity("x"))

    expect_error(403, colony.call, "removefunctionmsg", {"functionid": fn["functionid"]}, other)
    assert colony.call("removefunctionmsg", {"functionid": fn["functionid"]}, colony.executor) == {}
    left = colony.call("getfunctionsmsg", {"colonyname": colony.name}, colony.user)
    assert [f["funcname"] for f in left] == ["sum"]
    expect_error(404, colony.call, "removefunctionmsg", {"functionid": fn["functionid"]}, colony.executor)


def test_function_statistics_are_true_means(colony: Colony) -> None:
    add_function(colony, colony.executor, "timed")
    submitted = [colony.submit(funcname="timed") for _ in range(3)]
    colony.submit(funcname="untracked")
    for sleep_before, sleep_exec in [(0.0, 0.25), (0.1, 0.0), (0.0, 0.05)]:
        time.sleep(sleep_before)
        p = colony.assign()
        time.sleep(sleep_exec)
        colony.close(p["processid"])
    waits, execs = [], []
    for s in submitted:
        p = colony.get(s["processid"])
        sub, start, end = (parse_time(p[k]) for k in ("submissiontime", "starttime", "endtime"))
        waits.append((start - sub) / 1e9)
        execs.append((end - start) / 1e9)
    fn = colony.call("getfunctionsmsg", {"colonyname": colony.name}, colony.user)
    assert len(fn) == 1
    fn = fn[0]
    assert fn["counter"] == 3
    tol = 0.002
    assert fn["minwaittime"] == pytest.approx(min(waits), abs=tol)
    assert fn["maxwaittime"] == pytest.approx(max(waits), abs=tol)
    assert fn["minexectime"] == pytest.approx(min(execs), abs=tol)
    assert fn["maxexectime"] == pytest.approx(max(execs), abs=tol)
    assert fn["avgwaittime"] == pytest.approx(sum(waits) / 3, abs=tol)
    assert fn["avgexectime"] == pytest.approx(sum(execs) / 3, abs=tol)
    # (Go's (old + new) / 2 smoothing would give a clearly different exec average here.)
    assert abs(fn["avgexectime"] - ((execs[0] / 2 + execs[1]) / 2 + execs[2]) / 2) > 0.01


# --- processes: submit and read -----------------------------------------------------------------------------


def test_submit_reply_shape(colony: Colony) -> None:
    p = colony.submit(priority=3, env={"TEST": "testenv"})
    assert list(p) == PROCESS_KEYS
    assert len(p["processid"]) == 64
    assert p["initiatorid"] == colony.executor.id and p["initiatorname"] == colony.executor.name
    assert p["assignedexecutorid"] == "" and p["isassigned"] is False
    assert p["state"] == WAITING and p["retries"] == 0
    for key in ("starttime", "endtime", "waitdeadline", "execdeadline"):
        assert p[key] == ZERO_TIME, key
    submitted = parse_time(p["submissiontime"])
    assert abs(time.time_ns() - submitted) < 60 * 10**9
    assert isinstance(p["prioritytime"], int)
    assert abs(p["prioritytime"] - (submitted - 3 * DAY_NS)) < 10**6
    assert p["waitforparents"] is False
    assert p["parents"] == [] and p["children"] == [] and p["processgraphid"] == ""
    assert p["in"] == [] and p["out"] == [] and p["errors"] == []

    spec = p["spec"]
    assert list(spec) == SPEC_KEYS
    assert (
        spec["funcname"] == "test_func"
        and spec["args"] == ["test_arg"]
        and spec["kwargs"] == {"name": "test_arg"}
    )
    assert spec["priority"] == 3 and spec["label"] == "test_label"
    assert spec["env"] == {"TEST": "testenv"}
    cond = spec["conditions"]
    assert list(cond) == CONDITION_KEYS
    assert cond["colonyname"] == colony.name and cond["executortype"] == colony.executortype
    assert cond["executornames"] == [] and cond["dependencies"] == []
    assert (cond["cpu"], cond["mem"], cond["storage"], cond["gpu"]["mem"]) == ("0m", "0Mi", "0Mi", "0Mi")

    assert len(p["attributes"]) == 1
    attr = p["attributes"][0]
    assert list(attr) == ATTRIBUTE_KEYS
    assert attr == {
        "attributeid": hash_text(p["processid"] + "TEST" + "3"),
        "targetid": p["processid"],
        "targetcolonyname": colony.name,
        "targetprocessgraphid": "",
        "state": WAITING,
        "attributetype": 3,
        "key": "TEST",
        "value": "testenv",
    }
    assert colony.get(p["processid"]) == p


def test_submit_resource_normalisation(colony: Colony) -> None:
    p = colony.submit(conditions={"cpu": "4000m", "mem": "2Gi", "storage": "1Gi"})
    cond = p["spec"]["conditions"]
    assert (cond["cpu"], cond["mem"], cond["storage"]) == ("4000m", "2048Mi", "1024Mi")
    expect_error(400, colony.submit, conditions={"mem": "lots"})


def test_submit_deadlines_and_priority_bounds(colony: Colony) -> None:
    p = colony.submit(maxwaittime=60, maxexectime=30)
    assert parse_time(p["waitdeadline"]) - parse_time(p["submissiontime"]) == pytest.approx(60e9, abs=1e6)
    running = colony.assign()
    assert parse_time(running["execdeadline"]) - parse_time(running["starttime"]) == pytest.approx(
        30e9, abs=1e6
    )
    assert running["state"] == RUNNING and running["isassigned"] is True
    assert running["assignedexecutorid"] == colony.executor.id
    expect_error(400, colony.submit, priority=50001)
    expect_error(400, colony.submit, priority=-50001)
    colony.submit(priority=50000)


def test_submit_by_user_and_non_member(colony: Colony) -> None:
    p = colony.submit(who=colony.user)
    assert p["initiatorid"] == colony.user.id and p["initiatorname"] == colony.user.name
    expect_error(403, colony.submit, who=new_identity("x"))
    expect_error(403, colony.assign, who=colony.user)  # users cannot take work


def test_getprocessmsg(colony: Colony) -> None:
    p = colony.submit()
    assert colony.get(p["processid"], who=colony.user) == p
    expect_error(404, colony.get, "ab" * 32)
    expect_error(403, colony.get, p["processid"], who=new_identity("x"))


def test_getprocessesmsg_states_and_ordering(colony: Colony) -> None:
    for state in range(5):
        assert processes(colony, state) == []
    p1 = colony.submit(priority=0)
    p2 = colony.submit(priority=5)
    p3 = colony.submit(priority=0)
    p4 = colony.submit(priority=-1)
    # WAITING: by prioritytime (highest priority, then oldest).
    assert ids(processes(colony, WAITING)) == [
        p2["processid"],
        p1["processid"],
        p3["processid"],
        p4["processid"],
    ]
    for row in processes(colony, WAITING):
        assert list(row) == PROCESS_KEYS
    # RUNNING: by starttime ascending.
    a = colony.assign()
    b = colony.assign()
    assert (a["processid"], b["processid"]) == (p2["processid"], p1["processid"])
    assert ids(processes(colony, RUNNING)) == [p2["processid"], p1["processid"]]
    # SUCCESS: by endtime, newest first.
    colony.close(p1["processid"])
    colony.close(p2["processid"])
    assert ids(processes(colony, SUCCESS)) == [p2["processid"], p1["processid"]]
    c = colony.assign()
    d = colony.assign()
    colony.fail(c["processid"])
    colony.fail(d["processid"])
    assert ids(processes(colony, FAILED)) == [d["processid"], c["processid"]]
    assert processes(colony, CANCELLED) == []
    # count limits the list.
    assert (
        len(
            colony.call(
                "getprocessesmsg", {"colonyname": colony.name, "count": 1, "state": SUCCESS}, colony.executor
            )
        )
        == 1
    )
    expect_error(
        400,
        colony.call,
        "getprocessesmsg",
        {"colonyname": colony.name, "count": 101, "state": 0},
        colony.executor,
    )
    expect_error(
        400,
        colony.call,
        "getprocessesmsg",
        {"colonyname": colony.name, "count": 10, "state": 5},
        colony.executor,
    )
    expect_error(403, processes, colony, WAITING, new_identity("x"))


def test_getprocessesmsg_filters(colony: Colony) -> None:
    plain = colony.submit()
    other_type = colony.submit(conditions={"executortype": "other_type"})
    labelled = colony.submit(label="L1")
    by_user = colony.submit(who=colony.user)
    wf = submit_wf(colony, ["only"])
    assert len(processes(colony, WAITING)) == 5  # workflow processes are included
    assert ids(processes(colony, WAITING, executortype="other_type")) == [other_type["processid"]]
    assert ids(processes(colony, WAITING, label="L1")) == [labelled["processid"]]
    assert ids(processes(colony, WAITING, initiator=colony.user.name)) == [by_user["processid"]]
    # The filters combine (the Go server applies only the first of executortype > initiator > label).
    assert processes(colony, WAITING, executortype="other_type", label="L1") == []
    assert processes(colony, WAITING, initiator=colony.user.name, label="L1") == []
    both = colony.submit(who=colony.user, label="L1")
    assert ids(processes(colony, WAITING, initiator=colony.user.name, label="L1")) == [both["processid"]]
    assert processes(colony, WAITING, executortype="none") == []
    assert processes(colony, WAITING, label="none") == []
    expect_error(400, processes, colony, WAITING, initiator="nobody")
    assert plain["processid"] in ids(processes(colony, WAITING, label="test_label"))
    assert wf["processids"][0] in ids(processes(colony, WAITING))


def test_getprocesshistmsg(colony: Colony) -> None:
    other = colony.add_executor("hist-other")
    first = colony.submit()
    second = colony.submit()
    third = colony.submit()
    colony.close(colony.assign()["processid"])
    colony.close(colony.assign()["processid"])
    colony.close(colony.assign(who=other)["processid"], who=other)

    def hist(**kw: Any) -> Any:
        msg = {"colonyname": colony.name, "executorid": "", "seconds": 60, "state": SUCCESS, **kw}
        return colony.call("getprocesshistmsg", msg, colony.user)

    rows = hist()
    assert ids(rows) == [first["processid"], second["processid"], third["processid"]]  # oldest first
    for row in rows:
        assert list(row) == PROCESS_KEYS
    assert ids(hist(executorid=colony.executor.id)) == [first["processid"], second["processid"]]
    assert ids(hist(executorid=other.id)) == [third["processid"]]
    assert hist(executorid="ab" * 32) == []
    assert hist(state=WAITING) == []
    old = colony.submit()
    time.sleep(1.2)
    new = colony.submit()
    assert ids(hist(state=WAITING, seconds=1)) == [new["processid"]]
    assert ids(hist(state=WAITING, seconds=60)) == [old["processid"], new["processid"]]
    expect_error(
        403,
        colony.call,
        "getprocesshistmsg",
        {"colonyname": colony.name, "executorid": "", "seconds": 60, "state": SUCCESS},
        new_identity("x"),
    )


# --- processes: close, output, cancel, remove ---------------------------------------------------------------


def test_setoutputmsg(colony: Colony) -> None:
    other = colony.add_executor("setout-other")
    p = colony.submit()
    expect_error(
        403, colony.call, "setoutputmsg", {"processid": p["processid"], "out": ["x"]}, colony.executor
    )
    colony.assign()
    expect_error(403, colony.call, "setoutputmsg", {"processid": p["processid"], "out": ["x"]}, other)
    assert (
        colony.call("setoutputmsg", {"processid": p["processid"], "out": ["partial", 1]}, colony.executor)
        == {}
    )
    assert colony.get(p["processid"])["out"] == ["partial", 1]
    assert (
        colony.call("setoutputmsg", {"processid": p["processid"], "out": ["final", 2]}, colony.executor) == {}
    )
    colony.close(p["processid"], [])  # empty out keeps the output already set
    got = colony.get(p["processid"])
    assert got["state"] == SUCCESS and got["out"] == ["final", 2]
    expect_error(
        403, colony.call, "setoutputmsg", {"processid": p["processid"], "out": ["late"]}, colony.executor
    )
    expect_error(404, colony.call, "setoutputmsg", {"processid": "ab" * 32, "out": []}, colony.executor)


def test_closesuccessful_and_closefailed_errors(colony: Colony) -> None:
    other = colony.add_executor("close-other")
    p = colony.submit()
    expect_error(403, colony.close, p["processid"])  # not assigned yet
    expect_error(403, colony.fail, p["processid"])
    colony.assign()
    expect_error(403, colony.fail, p["processid"], ["x"], who=other)
    expect_error(403, colony.fail, p["processid"], ["x"], who=colony.user)
    expect_error(404, colony.fail, "ab" * 32, ["x"])
    assert colony.fail(p["processid"], ["e1", "e2"]) == {}
    got = colony.get(p["processid"])
    assert got["state"] == FAILED and got["errors"] == ["e1", "e2"]
    assert parse_time(got["endtime"]) >= parse_time(got["starttime"]) > 0
    assert status_of(colony.fail, p["processid"], ["again"]) in (400, 403)
    assert status_of(colony.close, p["processid"], ["late"]) in (400, 403)
    assert colony.get(p["processid"])["errors"] == ["e1", "e2"]

    q = colony.submit()
    colony.assign()
    colony.fail(q["processid"])  # no errors given
    assert colony.get(q["processid"])["errors"] == []


def test_cancelprocessmsg(colony: Colony) -> None:
    waiting = colony.submit()
    running = colony.submit()
    assert colony.call("cancelprocessmsg", {"processid": waiting["processid"]}, colony.user) == {}
    assert colony.get(waiting["processid"])["state"] == CANCELLED
    got = colony.assign()
    assert got["processid"] == running["processid"]  # the cancelled one is never assigned
    assert colony.call("cancelprocessmsg", {"processid": running["processid"]}, colony.user) == {}
    assert colony.get(running["processid"])["state"] == CANCELLED
    assert status_of(colony.close, running["processid"], ["late"]) in (400, 403)
    assert colony.get(running["processid"])["state"] == CANCELLED
    expect_error(400, colony.call, "cancelprocessmsg", {"processid": waiting["processid"]}, colony.user)
    expect_error(404, colony.call, "cancelprocessmsg", {"processid": "ab" * 32}, colony.user)
    expect_error(403, colony.call, "cancelprocessmsg", {"processid": waiting["processid"]}, new_identity("x"))
    assert ids(processes(colony, CANCELLED)) == [running["processid"], waiting["processid"]]
    expect_error(404, colony.assign)


def test_removeprocessmsg(colony: Colony) -> None:
    p = colony.submit(env={"K": "v"})
    attr_id = p["attributes"][0]["attributeid"]
    colony.assign()
    expect_error(400, colony.call, "removeprocessmsg", {"processid": p["processid"]}, colony.executor)
    colony.close(p["processid"])
    assert colony.call("removeprocessmsg", {"processid": p["processid"]}, colony.user) == {}
    expect_error(404, colony.get, p["processid"])
    expect_error(404, colony.call, "getattributemsg", {"attributeid": attr_id}, colony.executor)
    q = colony.submit()
    assert colony.call("removeprocessmsg", {"processid": q["processid"]}, colony.executor) == {}
    expect_error(404, colony.get, q["processid"])
    expect_error(404, colony.call, "removeprocessmsg", {"processid": q["processid"]}, colony.executor)
    expect_error(404, colony.assign)


def test_removeallprocessesmsg(colony: Colony) -> None:
    s1 = colony.submit()
    run(colony)
    f1 = colony.submit()
    colony.fail(colony.assign()["processid"])
    c1 = colony.submit()
    colony.call("cancelprocessmsg", {"processid": c1["processid"]}, colony.executor)
    g1 = submit_wf(colony, ["done"])
    run(colony)
    r1 = colony.submit()
    assert colony.assign()["processid"] == r1["processid"]
    w1 = colony.submit()
    g2 = submit_wf(colony, ["waiting"])

    def remove_all(state: int, who: Identity | None = None) -> Any:
        return colony.call(
            "removeallprocessesmsg", {"colonyname": colony.name, "state": state}, who or colony.owner
        )

    def exists(pid: str) -> bool:
        try:
            colony.get(pid)
            return True
        except ColoniesError as exc:
            assert exc.status == 404
            return False

    expect_error(403, remove_all, -1, colony.executor)
    expect_error(400, remove_all, RUNNING)
    assert remove_all(WAITING) == {}
    assert not exists(w1["processid"])
    assert exists(g2["processids"][0]) and exists(r1["processid"]) and exists(s1["processid"])
    assert remove_all(SUCCESS) == {}
    assert not exists(s1["processid"])
    assert exists(g1["processids"][0])  # workflow processes are kept
    assert exists(f1["processid"])
    assert remove_all(FAILED) == {}
    assert not exists(f1["processid"])
    assert exists(c1["processid"])
    extra = colony.submit()
    assert remove_all(-1) == {}
    assert not exists(c1["processid"]) and not exists(extra["processid"])
    assert exists(r1["processid"])  # running processes are never removed
    assert exists(g1["processids"][0]) and exists(g2["processids"][0])
    assert colony.get(r1["processid"])["state"] == RUNNING


# --- attributes ---------------------------------------------------------------------------------------------


def add_attribute(
    colony: Colony, pid: str, key: str, value: str, who: Identity | None = None, attributetype: int = 1
) -> Any:
    attr = {
        "targetid": pid,
        "targetcolonyname": colony.name,
        "attributetype": attributetype,
        "key": key,
        "value": value,
    }
    return colony.call("addattributemsg", {"attribute": attr}, who or colony.executor)


def test_attributes(colony: Colony) -> None:
    other = colony.add_executor("attr-other")
    p = colony.submit()
    expect_error(403, add_attribute, colony, p["processid"], "k", "v")  # not running yet
    colony.assign()
    expect_error(403, add_attribute, colony, p["processid"], "k", "v", other)
    expect_error(403, add_attribute, colony, p["processid"], "k", "v", colony.user)
    expect_error(404, add_attribute, colony, "ab" * 32, "k", "v")
    attr = add_attribute(colony, p["processid"], "result", "42")
    assert list(attr) == ATTRIBUTE_KEYS
    assert attr == {
        "attributeid": hash_text(p["processid"] + "result" + "1"),
        "targetid": p["processid"],
        "targetcolonyname": colony.name,
        "targetprocessgraphid": "",
        "state": RUNNING,
        "attributetype": 1,
        "key": "result",
        "value": "42",
    }
    expect_error(400, add_attribute, colony, p["processid"], "result", "43")  # duplicate key
    add_attribute(colony, p["processid"], "result", "err", attributetype=2)  # same key, other type: a new id
    got = colony.call("getattributemsg", {"attributeid": attr["attributeid"]}, colony.user)
    assert got == attr
    expect_error(403, colony.call, "getattributemsg", {"attributeid": attr["attributeid"]}, new_identity("x"))
    expect_error(404, colony.call, "getattributemsg", {"attributeid": "ab" * 32}, colony.user)
    proc = colony.get(p["processid"])
    assert [a["key"] for a in proc["attributes"]] == ["result", "result"]
    colony.close(p["processid"])
    # The attribute state mirrors its process.
    assert (
        colony.call("getattributemsg", {"attributeid": attr["attributeid"]}, colony.user)["state"] == SUCCESS
    )
    expect_error(403, add_attribute, colony, p["processid"], "late", "v")


# --- logs ---------------------------------------------------------------------------------------------------


def get_logs(colony: Colony, **kw: Any) -> Any:
    msg = {
        "colonyname": colony.name,
        "processid": "",
        "executorname": "",
        "count": 100,
        "since": 0,
        "latest": False,
        **kw,
    }
    return colony.call("getlogsmsg", msg, colony.user)


def test_logs_by_process(colony: Colony) -> None:
    other = colony.add_executor("log-other")
    p = colony.submit()
    expect_error(
        403, colony.call, "addlogmsg", {"processid": p["processid"], "message": "x"}, colony.executor
    )
    colony.assign()
    assert get_logs(colony, processid=p["processid"]) == []
    for i in range(5):
        assert (
            colony.call("addlogmsg", {"processid": p["processid"], "message": f"m{i}"}, colony.executor) == {}
        )
    expect_error(403, colony.call, "addlogmsg", {"processid": p["processid"], "message": "x"}, other)
    expect_error(403, colony.call, "addlogmsg", {"processid": p["processid"], "message": "x"}, colony.user)
    expect_error(404, colony.call, "addlogmsg", {"processid": "ab" * 32, "message": "x"}, colony.executor)

    logs = get_logs(colony, processid=p["processid"])
    assert [entry["message"] for entry in logs] == [f"m{i}" for i in range(5)]
    for entry in logs:
        assert list(entry) == LOG_KEYS
        assert entry["processid"] == p["processid"] and entry["colonyname"] == colony.name
        assert entry["executorname"] == colony.executor.name
        assert isinstance(entry["timestamp"], int) and abs(entry["timestamp"] - time.time_ns()) < 60 * 10**9
    stamps = [entry["timestamp"] for entry in logs]
    assert stamps == sorted(stamps)
    assert [e["message"] for e in get_logs(colony, processid=p["processid"], count=2)] == ["m0", "m1"]
    assert [e["message"] for e in get_logs(colony, processid=p["processid"], count=2, latest=True)] == [
        "m3",
        "m4",
    ]
    assert [e["message"] for e in get_logs(colony, processid=p["processid"], since=stamps[1])] == [
        "m2",
        "m3",
        "m4",
    ]
    assert [e["message"] for e in get_logs(colony, processid=p["processid"], since=stamps[1], count=1)] == [
        "m2"
    ]
    assert get_logs(colony, processid=p["processid"], since=stamps[-1]) == []
    expect_error(400, get_logs, colony, processid=p["processid"], count=501)
    assert len(get_logs(colony, processid=p["processid"], count=500)) == 5
    expect_error(404, get_logs, colony, processid="ab" * 32)
    with pytest.raises(ColoniesError) as info:
        colony.call(
            "getlogsmsg",
            {"colonyname": colony.name, "processid": p["processid"], "count": 10},
            new_identity("x"),
        )
    assert info.value.status == 403
    colony.close(p["processid"])
    expect_error(
        403, colony.call, "addlogmsg", {"processid": p["processid"], "message": "late"}, colony.executor
    )


def test_logs_by_executor_and_executor_logs(colony: Colony) -> None:
    other = colony.add_executor("log-exec-other")
    msg = {"colonyname": colony.name, "executorname": colony.executor.name, "message": "booting"}
    assert colony.call("addexecutorlogmsg", msg, colony.executor) == {}
    expect_error(403, colony.call, "addexecutorlogmsg", msg, other)
    expect_error(403, colony.call, "addexecutorlogmsg", msg, colony.user)
    p = colony.submit()
    colony.assign()
    colony.call("addlogmsg", {"processid": p["processid"], "message": "working"}, colony.executor)
    colony.call("addexecutorlogmsg", {**msg, "message": "idle"}, colony.executor)
    colony.call("addexecutorlogmsg", {**msg, "executorname": other.name, "message": "other's"}, other)

    logs = get_logs(colony, executorname=colony.executor.name)
    assert [(e["processid"], e["message"]) for e in logs] == [
        ("", "booting"),
        (p["processid"], "working"),
        ("", "idle"),
    ]
    for entry in logs:
        assert list(entry) == LOG_KEYS and entry["executorname"] == colony.executor.name
    assert [
        e["message"] for e in get_logs(colony, executorname=colony.executor.name, latest=True, count=2)
    ] == [
        "working",
        "idle",
    ]
    since = logs[0]["timestamp"]
    assert [e["message"] for e in get_logs(colony, executorname=colony.executor.name, since=since)] == [
        "working",
        "idle",
    ]
    assert [e["message"] for e in get_logs(colony, executorname=other.name)] == ["other's"]
    expect_error(400, get_logs, colony, executorname=colony.executor.name, count=501)


def test_searchlogsmsg(colony: Colony, server: Server) -> None:
    p = colony.submit()
    colony.assign()
    for text in ("alpha needle-xyz beta", "nothing here", "another NEEDLE-xyz", "tail needle-xyz"):
        colony.call("addlogmsg", {"processid": p["processid"], "message": text}, colony.executor)
    elsewhere = create_colony(server)
    q = elsewhere.submit()
    elsewhere.assign()
    elsewhere.call(
        "addlogmsg", {"processid": q["processid"], "message": "needle-xyz elsewhere"}, elsewhere.executor
    )

    def search(who: Identity | None = None, **kw: Any) -> Any:
        msg = {"colonyname": colony.name, "text": "needle-xyz", "days": 1, "count": 10, **kw}
        return colony.call("searchlogsmsg", msg, who or colony.user)

    found = search()
    assert isinstance(found, list)
    assert sorted(e["message"] for e in found) == ["alpha needle-xyz beta", "tail needle-xyz"]
    for entry in found:
        assert list(entry) == LOG_KEYS and entry["colonyname"] == colony.name
    assert search(text="no-such-text") == []
    assert len(search(count=1)) == 1
    assert len(search(days=30)) == 2
    expect_error(400, search, days=31)
    expect_error(400, search, count=101)
    expect_error(403, search, new_identity("x"))


# --- lists are lists ----------------------------------------------------------------------------------------


def test_empty_lists_are_lists_not_null(server: Server) -> None:
    owner = new_identity(f"empty-{time.time_ns()}")
    server.call("addcolonymsg", {"colony": {"colonyid": owner.id, "name": owner.name}}, server.prvkey)
    colony = Colony(server, owner.name, owner, owner, owner)
    user = colony.add_user("only-user")
    name = colony.name
    assert colony.call("getexecutorsmsg", {"colonyname": name}, user) == []
    assert colony.call("getfunctionsmsg", {"colonyname": name}, user) == []
    for state in range(5):
        assert colony.call("getprocessesmsg", {"colonyname": name, "count": 10, "state": state}, user) == []
        assert (
            colony.call("getprocessgraphsmsg", {"colonyname": name, "count": 10, "state": state}, user) == []
        )
        assert (
            colony.call(
                "getprocesshistmsg",
                {"colonyname": name, "executorid": "", "seconds": 60, "state": state},
                user,
            )
            == []
        )
    assert colony.call("searchlogsmsg", {"colonyname": name, "text": "x", "days": 1, "count": 10}, user) == []


@pytest.mark.parametrize(("conditions", "expected"), [
    ({"processes-per-node": 4}, 4),                           # v1.7.8, the seed's spelling
    ({"processespernode": 3}, 3),                             # v1.8.7 and later
    ({"processes-per-node": 4, "processespernode": 2}, 2),    # both: the newer one wins
])  # fmt: skip
def test_both_spellings_of_processes_per_node(colony: Colony, conditions: dict[str, Any], expected: int) -> None:
    spec = colony.spec(conditions={"colonyname": colony.name, "executortype": colony.executortype, **conditions})
    process = colony.call("submitfuncspecmsg", {"spec": spec}, colony.executor)
    assert process["spec"]["conditions"]["processespernode"] == expected
    assert colony.assign()["spec"]["conditions"]["processespernode"] == expected

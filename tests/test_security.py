"""The authorization contract (protocol §2-§3): for every signed message type, the wrong caller gets 403
and the right caller succeeds, always against the real server.

The table ``RULES`` lists, per message type, how to build a message for a caller, which roles must succeed and
which must be refused. Roles (all relative to colony A of a ``World``):

    server_owner     the server key                     owner           colony A's owner key
    executor         approved executor of A             executor2       another approved executor of A
    user             user of A                          pending         executor of A added but not approved
    rejected         executor of A rejected by owner    removed         executor of A removed (unregistered)
    other_executor   approved executor of colony B      other_user      user of colony B
    other_owner      colony B's owner                   random          a key the server has never seen

Objects are created lazily, so a test only pays for what it uses. Processes of executor type ``T`` exist in
colony A only while running (every submit of type ``T`` is immediately followed by its assignment), so an
assignment made while setting up a test always picks the process just submitted; idle processes use ``IDLE``,
a type no executor has.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import pytest
from conftest import Colony, Identity, Server, create_colony, expect_error, new_identity
from websockets.sync.client import connect

from colonies import crypto, envelope
from colonies.exceptions import ColoniesError
from colonies.server.handlers import HANDLERS, UNSIGNED

T = "test_executor_type"
IDLE = "idle_type_nobody_runs"


def rnd(prefix: str) -> str:
    return f"{prefix}-{os.urandom(4).hex()}"


class World:
    """Colony A with every kind of caller, colony B next to it, and objects to act on (all created lazily)."""

    def __init__(self, server: Server) -> None:
        self.server = server

    # -- callers ---------------------------------------------------------------------------------------------

    @cached_property
    def a(self) -> Colony:
        return create_colony(self.server)

    @cached_property
    def b(self) -> Colony:
        return create_colony(self.server)

    @cached_property
    def server_owner(self) -> Identity:
        return Identity(self.server.prvkey, crypto.id_from_prvkey(self.server.prvkey), "server")

    @cached_property
    def executor2(self) -> Identity:
        return self.a.add_executor("executor2")

    @cached_property
    def pending(self) -> Identity:
        return self.a.add_executor("pending", approve=False)

    @cached_property
    def rejected(self) -> Identity:
        ident = self.a.add_executor("rejected", approve=False)
        self.a.call(
            "rejectexecutormsg", {"colonyname": self.a.name, "executorname": ident.name}, self.a.owner
        )
        return ident

    @cached_property
    def removed(self) -> Identity:
        ident = self.a.add_executor("removed")
        self.a.call(
            "removeexecutormsg", {"colonyname": self.a.name, "executorname": ident.name}, self.a.owner
        )
        return ident

    @cached_property
    def random(self) -> Identity:
        return new_identity("random")

    def who(self, role: str) -> Identity:
        aliases = {
            "owner": lambda: self.a.owner,
            "executor": lambda: self.a.executor,
            "user": lambda: self.a.user,
            "other_executor": lambda: self.b.executor,
            "other_user": lambda: self.b.user,
            "other_owner": lambda: self.b.owner,
        }
        if role in aliases:
            return aliases[role]()
        ident = getattr(self, role)
        assert isinstance(ident, Identity)
        return ident

    # -- objects in colony A ---------------------------------------------------------------------------------

    def new_idle(self, colony: Colony | None = None) -> dict[str, Any]:
        """A WAITING process nobody will take."""
        colony = colony or self.a
        return colony.submit(colony.user, conditions={"executortype": IDLE})

    def new_running(self, colony: Colony | None = None) -> dict[str, Any]:
        """A RUNNING process assigned to the colony's executor."""
        colony = colony or self.a
        submitted = colony.submit(colony.user)
        assigned = colony.assign(colony.executor, timeout=-1)
        assert assigned["processid"] == submitted["processid"], "a stray waiting process of type T exists"
        return assigned

    def new_graph(self, colony: Colony | None = None) -> dict[str, Any]:
        """A WAITING two-node workflow nobody will take."""
        colony = colony or self.a
        specs = [
            colony.spec(nodename="first", conditions={"executortype": IDLE}),
            colony.spec(nodename="second", conditions={"executortype": IDLE, "dependencies": ["first"]}),
        ]
        msg = {"spec": {"colonyname": colony.name, "functionspecs": specs}}
        return dict(colony.call("submitworkflowspecmsg", msg, colony.user))

    def idle_workflow(self) -> str:
        spec = self.a.spec(nodename="idle", conditions={"executortype": IDLE})
        return json.dumps({"colonyname": self.a.name, "functionspecs": [spec]})

    def new_cron(self) -> dict[str, Any]:
        cron = {"colonyname": self.a.name, "name": rnd("cron"), "interval": -1, "cronexpression": "0 0 3 1 1 *",
                "workflowspec": self.idle_workflow()}
        return dict(self.a.call("addcronmsg", {"cron": cron}, self.a.user))

    def new_generator(self) -> dict[str, Any]:
        gen = {"colonyname": self.a.name, "name": rnd("gen"), "trigger": 1000, "workflowspec": self.idle_workflow()}
        return dict(self.a.call("addgeneratormsg", {"generator": gen}, self.a.user))

    def new_location(self) -> dict[str, Any]:
        loc = {"colonyname": self.a.name, "name": rnd("loc"), "description": "d", "long": 1.0, "lat": 2.0}
        return dict(self.a.call("addlocationmsg", {"location": loc}, self.a.owner))

    def blueprint_definition_msg(self) -> dict[str, Any]:
        """A definition of a fresh kind; its reconcile processes are of type IDLE (nobody takes them)."""
        kind = rnd("Kind")
        return {"blueprintdefinition": {"kind": "BlueprintDefinition", "metadata": {
            "name": kind.lower(), "colonyname": self.a.name}, "spec": {"names": {"kind": kind},
                                                                      "handler": {"executorType": IDLE}}}}

    def new_blueprint_definition(self) -> dict[str, Any]:
        return dict(self.a.call("addblueprintdefinitionmsg", self.blueprint_definition_msg(), self.a.owner))

    @cached_property
    def blueprint_kind(self) -> str:
        return str(self.new_blueprint_definition()["spec"]["names"]["kind"])

    def blueprint_msg(self) -> dict[str, Any]:
        meta = {"name": rnd("bp"), "colonyname": self.a.name}
        return {"blueprint": {"kind": self.blueprint_kind, "metadata": meta, "spec": {"replicas": 1}}}

    def new_blueprint(self) -> dict[str, Any]:
        return dict(self.a.call("addblueprintmsg", self.blueprint_msg(), self.a.user))

    def file_msg(self) -> Msg:
        return {"file": {"colonyname": self.a.name, "label": "/sec", "name": rnd("f"), "size": 1,
                         "checksum": "0" * 64, "checksumalg": "SHA256",
                         "ref": {"protocol": "s3", "s3object": {"object": rnd("obj")}}}}

    def new_file(self) -> dict[str, Any]:
        return dict(self.a.call("addfilemsg", self.file_msg(), self.a.user))

    def new_snapshot(self) -> dict[str, Any]:
        msg = {"colonyname": self.a.name, "label": "/sec", "name": rnd("snap")}
        return dict(self.a.call("createsnapshotmsg", msg, self.a.user))

    def new_running_graph_root(self, colony: Colony | None = None) -> dict[str, Any]:
        """The RUNNING root of a one-node workflow, assigned to the colony's executor."""
        colony = colony or self.a
        spec = colony.spec(nodename="root")
        graph = colony.call(
            "submitworkflowspecmsg",
            {"spec": {"colonyname": colony.name, "functionspecs": [spec]}},
            colony.user,
        )
        assigned = colony.assign(colony.executor, timeout=-1)
        assert assigned["processgraphid"] == graph["processgraphid"], (
            "a stray waiting process of type T exists"
        )
        return assigned

    def new_function(self) -> dict[str, Any]:
        fun = {
            "executorname": self.a.executor.name,
            "executortype": T,
            "colonyname": self.a.name,
            "funcname": rnd("fn"),
        }
        return dict(self.a.call("addfunctionmsg", {"fun": fun}, self.a.executor))

    def add_attribute(self, process: dict[str, Any], colony: Colony | None = None) -> dict[str, Any]:
        colony = colony or self.a
        attribute = {
            "targetid": process["processid"],
            "targetcolonyname": colony.name,
            "attributetype": 1,
            "key": rnd("key"),
            "value": "secret",
        }
        return dict(colony.call("addattributemsg", {"attribute": attribute}, colony.executor))

    @cached_property
    def blueprint(self) -> dict[str, Any]:
        return self.new_blueprint()

    @cached_property
    def waiting(self) -> dict[str, Any]:
        return self.new_idle()

    @cached_property
    def graph(self) -> dict[str, Any]:
        return self.new_graph()

    @cached_property
    def running(self) -> dict[str, Any]:
        return self.new_running()

    @cached_property
    def running_root(self) -> dict[str, Any]:
        return self.new_running_graph_root()

    @cached_property
    def channel_process(self) -> dict[str, Any]:
        """A RUNNING process with a channel "chat", submitted by the user and assigned to the executor."""
        submitted = self.a.submit(self.a.user, channels=["chat"])
        assigned = self.a.assign(self.a.executor, timeout=-1)
        assert assigned["processid"] == submitted["processid"], "a stray waiting process of type T exists"
        return assigned

    @cached_property
    def attribute(self) -> dict[str, Any]:
        return self.add_attribute(self.running)

    @cached_property
    def log_marker(self) -> str:
        marker = rnd("log-marker")
        self.a.call("addlogmsg", {"processid": self.running["processid"], "message": marker}, self.a.executor)
        return marker

    @cached_property
    def executor_log_marker(self) -> str:
        marker = rnd("executor-log")
        self.a.call(
            "addexecutorlogmsg",
            {"colonyname": self.a.name, "executorname": self.a.executor.name, "message": marker},
            self.a.executor,
        )
        return marker

    def add_executor(self, approve: bool) -> Identity:
        return self.a.add_executor(rnd("target"), approve=approve)

    def executor_state(self, name: str) -> int:
        found = self.a.call(
            "getexecutormsg", {"colonyname": self.a.name, "executorname": name}, self.a.executor
        )
        return int(found["state"])


# -- the table -----------------------------------------------------------------------------------------------

Msg = dict[str, Any]
Build = Callable[[World, Identity], Msg]
#: Asserts on the reply (may also return a bool, which must be true).
Check = Callable[[World, Identity, Msg, Any], object]


@dataclass
class Rule:
    msgtype: str
    build: Build
    allowed: tuple[str, ...]
    denied: tuple[str, ...]
    check: Check | None = None
    #: Runs in a fresh World (the message could wreck the shared one if wrongly accepted).
    isolated: bool = False
    variant: str = ""

    @property
    def id(self) -> str:
        return f"{self.msgtype}[{self.variant}]" if self.variant else self.msgtype


SERVER_OWNER = ("server_owner",)
NOT_SERVER_OWNER = ("owner", "executor", "user", "other_owner", "random")
COLONY_OWNER = ("owner",)
NOT_COLONY_OWNER = ("server_owner", "executor", "user", "pending", "other_owner", "random")
APPROVED_MEMBER = ("executor", "user")
NOT_APPROVED_MEMBER = (
    "owner",
    "server_owner",
    "pending",
    "rejected",
    "removed",
    "other_executor",
    "other_user",
    "random",
)
#: The Go server's "member(any)" (user and executor lists) admits pending executors too; the issue asks that a
#: pending or rejected executor gets nothing, so these messages need an approved member as well.
ANY_MEMBER = ("executor", "user")
NOT_ANY_MEMBER = ("owner", "server_owner", "pending", "rejected", "removed", "other_executor", "other_user", "random")
#: What the colony owner manages it may also read (ours: the dashboard shows it the colony, its executors,
#: users, functions and statistics); the Go server refuses it these reads.
MEMBER_OR_OWNER = ("executor", "user", "owner")
NOT_MEMBER_OR_OWNER = ("server_owner", "pending", "rejected", "removed", "other_executor", "other_user", "random")
#: Only the executor the process is assigned to.
ASSIGNED = ("executor",)
NOT_ASSIGNED = ("executor2", "user", "owner", "pending", "rejected", "removed", "other_executor", "random")


def spec_msg(w: World, who: Identity) -> Msg:
    return {"spec": w.a.spec(conditions={"executortype": IDLE})}


def workflow_msg(w: World, who: Identity) -> Msg:
    specs = [
        w.a.spec(nodename="n1", conditions={"executortype": IDLE}),
        w.a.spec(nodename="n2", conditions={"executortype": IDLE, "dependencies": ["n1"]}),
    ]
    return {"spec": {"colonyname": w.a.name, "functionspecs": specs}}


def assign_msg(w: World, who: Identity) -> Msg:
    w.submitted_for_assign = w.a.submit(w.a.user)  # type: ignore[attr-defined]
    return {"colonyname": w.a.name, "timeout": -1}


def check_assigned(w: World, who: Identity, msg: Msg, got: Any) -> None:
    assert got["processid"] == w.submitted_for_assign["processid"]  # type: ignore[attr-defined]
    assert got["state"] == 1 and got["assignedexecutorid"] == who.id


def check_process_state(state: int) -> Check:
    def check(w: World, who: Identity, msg: Msg, got: Any) -> None:
        assert w.a.get(msg["processid"])["state"] == state

    return check


def check_gone(msgtype: str, key: str) -> Check:
    def check(w: World, who: Identity, msg: Msg, got: Any) -> None:
        expect_error(404, w.a.call, msgtype, {key: msg[key]}, w.a.executor)

    return check


def check_executor_state(state: int) -> Check:
    def check(w: World, who: Identity, msg: Msg, got: Any) -> None:
        assert w.executor_state(msg["executorname"]) == state

    return check


def check_executor_gone(w: World, who: Identity, msg: Msg, got: Any) -> None:
    expect_error(404, w.a.call, "getexecutormsg", msg, w.a.executor)


def check_packed(w: World, who: Identity, msg: Msg, got: Any) -> None:
    found = w.a.call("getgeneratormsg", {"generatorid": msg["generatorid"]}, w.a.user)
    assert found["queuesize"] == 1


def check_location_gone(w: World, who: Identity, msg: Msg, got: Any) -> None:
    expect_error(404, w.a.call, "getlocationmsg", msg, w.a.user)


def check_blueprint_definition_gone(w: World, who: Identity, msg: Msg, got: Any) -> None:
    expect_error(404, w.a.call, "getblueprintdefinitionmsg", {"colonyname": w.a.name, "name": msg["name"]}, w.a.user)


def check_blueprint_gone(w: World, who: Identity, msg: Msg, got: Any) -> None:
    expect_error(404, w.a.call, "getblueprintmsg", msg, w.a.user)


def check_blueprint_status(w: World, who: Identity, msg: Msg, got: Any) -> None:
    found = w.a.call("getblueprintmsg", {"namespace": w.a.name, "name": msg["blueprintname"]}, w.a.user)
    assert found["status"] == msg["status"]


def colony_msg(w: World, who: Identity) -> Msg:
    return {"colonyname": w.a.name}


def file_by_id_msg(w: World, who: Identity) -> Msg:
    return {"colonyname": w.a.name, "fileid": w.new_file()["fileid"], "label": None, "name": None, "latest": True}


def check_file_gone(w: World, who: Identity, msg: Msg, got: Any) -> None:
    expect_error(404, w.a.call, "getfilemsg", {"colonyname": w.a.name, "fileid": msg["fileid"]}, w.a.user)


def snapshot_by_id_msg(w: World, who: Identity) -> Msg:
    return {"colonyname": w.a.name, "snapshotid": w.new_snapshot()["snapshotid"], "name": ""}


def check_snapshot_gone(w: World, who: Identity, msg: Msg, got: Any) -> None:
    expect_error(404, w.a.call, "getsnapshotmsg", msg, w.a.user)


def files_msg(w: World, who: Identity) -> Msg:
    w.new_file()  # something to list
    return {"colonyname": w.a.name, "label": "/sec/"}


def labels_msg(w: World, who: Identity) -> Msg:
    w.new_file()
    return {"colonyname": w.a.name, "name": "/sec", "exact": True}


def snapshots_msg(w: World, who: Identity) -> Msg:
    w.new_snapshot()
    return {"colonyname": w.a.name}


def check_no_snapshots(w: World, who: Identity, msg: Msg, got: Any) -> None:
    assert w.a.call("getsnapshotsmsg", colony_msg(w, who), w.a.user) == []


def new_user_msg(w: World, who: Identity) -> Msg:
    ident = new_identity(rnd("newuser"))
    return {
        "user": {
            "colonyname": w.a.name,
            "userid": ident.id,
            "name": ident.name,
            "email": "x@y.z",
            "phone": "1",
        }
    }


def new_executor_msg(w: World, who: Identity) -> Msg:
    ident = new_identity(rnd("newexec"))
    return {
        "executor": {
            "executorid": ident.id,
            "executorname": ident.name,
            "executortype": T,
            "colonyname": w.a.name,
        }
    }


def removed_user_msg(w: World, who: Identity) -> Msg:
    return {"colonyname": w.a.name, "name": w.a.add_user(rnd("doomed")).name}


def check_user_gone(w: World, who: Identity, msg: Msg, got: Any) -> None:
    expect_error(404, w.a.call, "getusermsg", {"colonyname": w.a.name, "name": msg["name"]}, w.a.executor)


def check_colony_removed(w: World, who: Identity, msg: Msg, got: Any) -> None:
    names = [c["name"] for c in w.server.call("getcoloniesmsg", {}, w.server.prvkey)]
    assert w.a.name not in names
    with pytest.raises(ColoniesError):
        w.a.call("getcolonymsg", {"colonyname": w.a.name}, w.a.executor)


def removeall_processes_msg(w: World, who: Identity) -> Msg:
    w.waiting  # noqa: B018 - something to remove
    return {"colonyname": w.a.name, "state": -1}


def check_processes_removed(w: World, who: Identity, msg: Msg, got: Any) -> None:
    expect_error(404, w.a.get, w.waiting["processid"])


def removeall_graphs_msg(w: World, who: Identity) -> Msg:
    w.graph  # noqa: B018
    return {"colonyname": w.a.name, "state": -1}


def check_graphs_removed(w: World, who: Identity, msg: Msg, got: Any) -> None:
    expect_error(
        404, w.a.call, "getprocessgraphmsg", {"processgraphid": w.graph["processgraphid"]}, w.a.executor
    )


def check_in_list(key: str, value: Callable[[World], Any]) -> Check:
    def check(w: World, who: Identity, msg: Msg, got: Any) -> None:
        assert value(w) in [item[key] for item in got]

    return check


def check_field(key: str, value: Callable[[World], Any]) -> Check:
    def check(w: World, who: Identity, msg: Msg, got: Any) -> None:
        assert got[key] == value(w)

    return check


def check_logs(value: Callable[[World], str]) -> Check:
    def check(w: World, who: Identity, msg: Msg, got: Any) -> None:
        assert value(w) in [entry["message"] for entry in got]

    return check


def child_msg(w: World, who: Identity) -> Msg:
    root = w.running_root
    return {
        "processgraphid": root["processgraphid"],
        "parentprocessid": root["processid"],
        "childprocessid": "",
        "spec": w.a.spec(nodename=rnd("child"), conditions={"executortype": IDLE}),
        "insert": False,
    }


def check_child(w: World, who: Identity, msg: Msg, got: Any) -> None:
    assert got["processgraphid"] == w.running_root["processgraphid"]
    assert got["parents"] == [w.running_root["processid"]]
    assert got["processid"] in w.a.get(w.running_root["processid"])["children"]


def attribute_msg(w: World, who: Identity) -> Msg:
    return {
        "attribute": {
            "targetid": w.running["processid"],
            "targetcolonyname": w.a.name,
            "attributetype": 1,
            "key": rnd("k"),
            "value": "v",
        }
    }


def check_attribute(w: World, who: Identity, msg: Msg, got: Any) -> None:
    found = w.a.call("getattributemsg", {"attributeid": got["attributeid"]}, w.a.executor)
    assert found["key"] == msg["attribute"]["key"] and found["targetid"] == w.running["processid"]


def addlog_msg(w: World, who: Identity) -> Msg:
    return {"processid": w.running["processid"], "message": rnd("line")}


def check_log_added(w: World, who: Identity, msg: Msg, got: Any) -> None:
    logs = w.a.call("getlogsmsg", {"processid": msg["processid"], "count": 500}, w.a.executor)
    assert msg["message"] in [entry["message"] for entry in logs]


def executor_log_msg(w: World, who: Identity) -> Msg:
    return {"colonyname": w.a.name, "executorname": w.a.executor.name, "message": rnd("exec-line")}


def check_executor_log_added(w: World, who: Identity, msg: Msg, got: Any) -> None:
    logs = w.a.call(
        "getlogsmsg", {"colonyname": w.a.name, "executorname": w.a.executor.name, "count": 500}, w.a.executor
    )
    assert msg["message"] in [entry["message"] for entry in logs]


def check_output(w: World, who: Identity, msg: Msg, got: Any) -> None:
    assert w.a.get(msg["processid"])["out"] == msg["out"]


def add_function_msg(w: World, who: Identity) -> Msg:
    """The caller registers a function under its own name (for the executor: itself)."""
    return {
        "fun": {"executorname": who.name, "executortype": T, "colonyname": w.a.name, "funcname": rnd("fn")}
    }


def check_function_added(w: World, who: Identity, msg: Msg, got: Any) -> None:
    funcs = w.a.call("getfunctionsmsg", {"colonyname": w.a.name, "executorname": who.name}, w.a.executor)
    assert msg["fun"]["funcname"] in [f["funcname"] for f in funcs]


def check_function_removed(w: World, who: Identity, msg: Msg, got: Any) -> None:
    funcs = w.a.call("getfunctionsmsg", {"colonyname": w.a.name, "executorname": ""}, w.a.executor)
    assert msg["functionid"] not in [f["functionid"] for f in funcs]


def logs_by_process_msg(w: World, who: Identity) -> Msg:
    w.log_marker  # noqa: B018 - a line to find
    return {"processid": w.running["processid"], "count": 100}


def logs_by_executor_msg(w: World, who: Identity) -> Msg:
    w.executor_log_marker  # noqa: B018
    return {"colonyname": w.a.name, "executorname": w.a.executor.name, "count": 100}


def search_logs_msg(w: World, who: Identity) -> Msg:
    return {"colonyname": w.a.name, "text": w.log_marker, "days": 1, "count": 100}


def hist_msg(w: World, who: Identity) -> Msg:
    return {"colonyname": w.a.name, "executorid": "", "seconds": 3600, "state": 0}


def list_msg(w: World, who: Identity) -> Msg:
    return {"colonyname": w.a.name, "count": 100, "state": 0}


def waiting_in_list(w: World, who: Identity, msg: Msg, got: Any) -> None:
    assert w.waiting["processid"] in [p["processid"] for p in got]


def graph_in_list(w: World, who: Identity, msg: Msg, got: Any) -> None:
    assert w.graph["processgraphid"] in [g["processgraphid"] for g in got]


def same_graph(w: World, who: Identity, msg: Msg, got: Any) -> None:
    assert sorted(got["processids"]) == sorted(w.graph["processids"])


def graph_cancelled(w: World, who: Identity, msg: Msg, got: Any) -> None:
    assert w.a.call("getprocessgraphmsg", msg, w.a.executor)["state"] == 4


def initiated_by_caller(w: World, who: Identity, msg: Msg, got: Any) -> None:
    assert got["state"] == 0 and got["initiatorname"] == who.name


def workflow_by_caller(w: World, who: Identity, msg: Msg, got: Any) -> None:
    assert len(got["processids"]) == 2 and got["initiatorname"] == who.name


def same_process(w: World, who: Identity, msg: Msg, got: Any) -> None:
    assert got == w.a.get(msg["processid"])


def new_colony_msg(w: World, who: Identity) -> Msg:
    return {"colony": {"colonyid": new_identity("c").id, "name": rnd("colony")}}


def new_user_added(w: World, who: Identity, msg: Msg, got: Any) -> None:
    assert got["userid"] == msg["user"]["userid"]


def new_executor_added(w: World, who: Identity, msg: Msg, got: Any) -> None:
    assert got["state"] == 0 and got["executorid"] == msg["executor"]["executorid"]


def idle_msg(w: World, who: Identity) -> Msg:
    return {"processid": w.new_idle()["processid"]}


def graph_msg(w: World, who: Identity) -> Msg:
    return {"processgraphid": w.new_graph()["processgraphid"]}


def target_msg(approve: bool) -> Build:
    return lambda w, who: {"colonyname": w.a.name, "executorname": w.add_executor(approve).name}


def running_msg(**extra: Any) -> Build:
    return lambda w, who: {"processid": w.new_running()["processid"], **extra}


def check_paused(w: World, who: Identity, msg: Msg, got: Any) -> None:
    status = w.a.call("getpausestatusmsg", {"colonyname": w.a.name}, w.a.user)
    assert got == {} and status["ispaused"] is True
    w.a.call("resumeassignmentsmsg", {"colonyname": w.a.name}, w.a.owner)


def check_resumed(w: World, who: Identity, msg: Msg, got: Any) -> None:
    assert got == {} and w.a.call("getpausestatusmsg", {"colonyname": w.a.name}, w.a.user)["ispaused"] is False


def update_executor_msg(w: World, who: Identity) -> Msg:
    caps = {"hardware": [{"model": rnd("model"), "cores": 4}], "software": []}
    return {"colonyname": w.a.name, "executorname": w.a.executor.name, "capabilities": caps}


def check_capabilities(w: World, who: Identity, msg: Msg, got: Any) -> None:
    executor = w.a.call("getexecutormsg", {"colonyname": w.a.name, "executorname": w.a.executor.name}, w.a.user)
    assert executor["capabilities"]["hardware"]["model"] == msg["capabilities"]["hardware"][0]["model"]


def report_allocation_msg(w: World, who: Identity) -> Msg:
    return {"colonyname": w.a.name, "executorname": w.a.executor.name,
            "allocations": {"projects": {rnd("project"): {"allocatedcpu": 4, "usedcpu": 1}}}}  # fmt: skip


def check_allocations(w: World, who: Identity, msg: Msg, got: Any) -> None:
    executor = w.a.call("getexecutormsg", {"colonyname": w.a.name, "executorname": w.a.executor.name}, w.a.user)
    assert set(executor["allocations"]["projects"]) == set(msg["allocations"]["projects"])


E, U = "executor", "user"
#: The executor a message names must be the caller (updateexecutormsg, reportallocationmsg).
NOT_ITSELF = ("executor2", "user", "owner", "server_owner", "pending", "rejected", "removed", "other_executor",
              "random")  # fmt: skip
#: A process's channels: its submitter (the user) and its assigned executor, nobody else (not even another
#: approved member of the colony, nor the colony's owner).
CHANNEL_PARTIES = (E, U)
NOT_CHANNEL_PARTIES = ("executor2", "owner", "server_owner", "pending", "rejected", "removed", "other_executor",
                       "other_user", "random")  # fmt: skip


def channel_append_msg(w: World, who: Identity) -> Msg:
    return {"processid": w.channel_process["processid"], "name": "chat", "sequence": 1,
            "payload": list(rnd("entry").encode()), "payloadtype": ""}  # fmt: skip


def check_channel_appended(w: World, who: Identity, msg: Msg, got: Any) -> None:
    entries = w.a.call("channelreadmsg", {"processid": msg["processid"], "name": "chat"}, w.a.user)
    assert bytes(msg["payload"]) in [base64.b64decode(e["payload"]) for e in entries if e["senderid"] == who.id]


def channel_read_msg(w: World, who: Identity) -> Msg:
    pid = w.channel_process["processid"]
    w.a.call("channelappendmsg", {"processid": pid, "name": "chat", "sequence": 1, "payload": [1]}, w.a.executor)
    return {"processid": pid, "name": "chat", "afterseq": 0, "limit": 0}

# fmt: off
RULES: list[Rule] = [
    # server
    Rule("getstatisticsmsg", lambda w, who: {}, SERVER_OWNER, NOT_SERVER_OWNER,
         lambda w, who, msg, got: got["colonies"] >= 1),
    Rule("getclustermsg", lambda w, who: {}, SERVER_OWNER, NOT_SERVER_OWNER,
         lambda w, who, msg, got: len(got["nodes"]) >= 1),
    # Every call here sets the id the server already has; a real change is tested below.
    Rule("changeserveridmsg", lambda w, who: {"serverid": w.server_owner.id}, SERVER_OWNER, NOT_SERVER_OWNER,
         lambda w, who, msg, got: got["serverid"] == w.server_owner.id),
    # colonies
    Rule("addcolonymsg", new_colony_msg, SERVER_OWNER, NOT_SERVER_OWNER,
         lambda w, who, msg, got: got["name"] == msg["colony"]["name"]),
    Rule("removecolonymsg", colony_msg, SERVER_OWNER, NOT_SERVER_OWNER, check_colony_removed, isolated=True),
    Rule("getcoloniesmsg", lambda w, who: {}, SERVER_OWNER, NOT_SERVER_OWNER,
         check_in_list("name", lambda w: w.a.name)),
    Rule("getcolonymsg", colony_msg, MEMBER_OR_OWNER, NOT_MEMBER_OR_OWNER,
         check_field("colonyid", lambda w: w.a.owner.id)),
    Rule("getcolonystatsmsg", colony_msg, MEMBER_OR_OWNER, NOT_MEMBER_OR_OWNER,
         lambda w, who, msg, got: got["colonies"] == 1 and got["activeexecutors"] >= 1),
    # Every call here sets the id the colony already has; a real change is tested below.
    Rule("changecolonyidmsg", lambda w, who: {"colonyname": w.a.name, "colonyid": w.a.owner.id}, COLONY_OWNER,
         NOT_COLONY_OWNER, check_field("colonyid", lambda w: w.a.owner.id)),
    # users
    Rule("addusermsg", new_user_msg, COLONY_OWNER, NOT_COLONY_OWNER, new_user_added),
    Rule("getusersmsg", colony_msg, MEMBER_OR_OWNER, NOT_MEMBER_OR_OWNER,
         check_in_list("userid", lambda w: w.a.user.id)),
    Rule("getusermsg", lambda w, who: {"colonyname": w.a.name, "name": w.a.user.name}, ANY_MEMBER,
         NOT_ANY_MEMBER, check_field("userid", lambda w: w.a.user.id)),
    Rule("getuserbyidmsg", lambda w, who: {"colonyname": w.a.name, "userid": w.a.user.id}, ANY_MEMBER,
         NOT_ANY_MEMBER, check_field("name", lambda w: w.a.user.name)),
    Rule("removeusermsg", removed_user_msg, COLONY_OWNER, NOT_COLONY_OWNER, check_user_gone),
    Rule("changeuseridmsg", lambda w, who: {"colonyname": w.a.name, "userid": who.id}, (U,),
         (E, "owner", "server_owner", "pending", "rejected", "removed", "other_user", "random"),
         lambda w, who, msg, got: got["userid"] == who.id),
    # executors
    Rule("addexecutormsg", new_executor_msg, COLONY_OWNER, NOT_COLONY_OWNER, new_executor_added),
    Rule("getexecutorsmsg", colony_msg, MEMBER_OR_OWNER, NOT_MEMBER_OR_OWNER,
         check_in_list("executorid", lambda w: w.a.executor.id)),
    Rule("getexecutormsg", lambda w, who: {"colonyname": w.a.name, "executorname": w.a.executor.name},
         MEMBER_OR_OWNER, NOT_MEMBER_OR_OWNER, check_field("executorid", lambda w: w.a.executor.id)),
    Rule("getexecutorbyidmsg", lambda w, who: {"colonyname": w.a.name, "executorid": w.a.executor.id},
         APPROVED_MEMBER, NOT_APPROVED_MEMBER, check_field("executorname", lambda w: w.a.executor.name)),
    Rule("approveexecutormsg", target_msg(False), COLONY_OWNER, NOT_COLONY_OWNER, check_executor_state(1)),
    Rule("rejectexecutormsg", target_msg(False), COLONY_OWNER, NOT_COLONY_OWNER, check_executor_state(2)),
    Rule("removeexecutormsg", target_msg(True), COLONY_OWNER, NOT_COLONY_OWNER, check_executor_gone),
    # Key rotation; each call "rotates" to the id the caller already has (a real change: test_locations.py).
    Rule("changeexecutoridmsg", lambda w, who: {"colonyname": w.a.name, "executorid": who.id}, (E, "executor2"),
         (U, "owner", "server_owner", "pending", "rejected", "removed", "other_executor", "random"),
         lambda w, who, msg, got: got["executorid"] == who.id),
    Rule("updateexecutormsg", update_executor_msg, (E,), NOT_ITSELF, check_capabilities),
    Rule("reportallocationmsg", report_allocation_msg, (E,), NOT_ITSELF, check_allocations),
    # functions
    Rule("addfunctionmsg", add_function_msg, (E, "executor2"),
         ("owner", U, "pending", "rejected", "removed", "other_executor", "random"), check_function_added),
    Rule("getfunctionsmsg", lambda w, who: {"colonyname": w.a.name, "executorname": ""}, MEMBER_OR_OWNER,
         NOT_MEMBER_OR_OWNER, lambda w, who, msg, got: isinstance(got, list)),
    Rule("removefunctionmsg", lambda w, who: {"functionid": w.new_function()["functionid"]}, (E,),
         NOT_ASSIGNED, check_function_removed),
    # processes
    Rule("submitfuncspecmsg", spec_msg, APPROVED_MEMBER, NOT_APPROVED_MEMBER, initiated_by_caller),
    Rule("assignprocessmsg", assign_msg, (E, "executor2"),
         (U, "owner", "server_owner", "pending", "rejected", "removed", "other_executor", "random"),
         check_assigned, isolated=True),
    Rule("getprocesshistmsg", hist_msg, APPROVED_MEMBER, NOT_APPROVED_MEMBER, waiting_in_list),
    Rule("getprocessesmsg", list_msg, APPROVED_MEMBER, NOT_APPROVED_MEMBER, waiting_in_list),
    Rule("getprocessmsg", lambda w, who: {"processid": w.waiting["processid"]}, APPROVED_MEMBER,
         NOT_APPROVED_MEMBER, same_process),
    Rule("removeprocessmsg", idle_msg, APPROVED_MEMBER, NOT_APPROVED_MEMBER,
         check_gone("getprocessmsg", "processid")),
    Rule("removeallprocessesmsg", removeall_processes_msg, COLONY_OWNER, NOT_COLONY_OWNER,
         check_processes_removed, isolated=True),
    Rule("closesuccessfulmsg", running_msg(out=["ok"]), ASSIGNED, NOT_ASSIGNED, check_process_state(2)),
    Rule("closefailedmsg", running_msg(errors=["boom"]), ASSIGNED, NOT_ASSIGNED, check_process_state(3)),
    Rule("setoutputmsg", running_msg(out=["partial"]), ASSIGNED, NOT_ASSIGNED, check_output),
    Rule("cancelprocessmsg", idle_msg, APPROVED_MEMBER, NOT_APPROVED_MEMBER, check_process_state(4)),
    # assignment pauses: a pause is undone by its check, and each runs in a colony of its own
    Rule("pauseassignmentsmsg", colony_msg, COLONY_OWNER, NOT_COLONY_OWNER, check_paused, isolated=True),
    Rule("resumeassignmentsmsg", colony_msg, COLONY_OWNER, NOT_COLONY_OWNER, check_resumed),
    Rule("getpausestatusmsg", colony_msg, MEMBER_OR_OWNER, NOT_MEMBER_OR_OWNER,
         lambda w, who, msg, got: got == {"msgtype": "pausestatusreplymsg", "colonyname": w.a.name,
                                          "ispaused": False}),
    # workflows
    Rule("submitworkflowspecmsg", workflow_msg, APPROVED_MEMBER, NOT_APPROVED_MEMBER, workflow_by_caller),
    Rule("getprocessgraphmsg", lambda w, who: {"processgraphid": w.graph["processgraphid"]}, APPROVED_MEMBER,
         NOT_APPROVED_MEMBER, same_graph),
    Rule("getprocessgraphsmsg", list_msg, APPROVED_MEMBER, NOT_APPROVED_MEMBER, graph_in_list),
    Rule("removeprocessgraphmsg", graph_msg, APPROVED_MEMBER, NOT_APPROVED_MEMBER,
         check_gone("getprocessgraphmsg", "processgraphid")),
    Rule("removeallprocessgraphsmsg", removeall_graphs_msg, COLONY_OWNER, NOT_COLONY_OWNER,
         check_graphs_removed, isolated=True),
    Rule("cancelprocessgraphmsg", graph_msg, APPROVED_MEMBER, NOT_APPROVED_MEMBER, graph_cancelled),
    Rule("addchildmsg", child_msg, ASSIGNED, NOT_ASSIGNED, check_child),
    # attributes
    Rule("addattributemsg", attribute_msg, ASSIGNED, NOT_ASSIGNED, check_attribute),
    Rule("getattributemsg", lambda w, who: {"attributeid": w.attribute["attributeid"]}, APPROVED_MEMBER,
         NOT_APPROVED_MEMBER, check_field("value", lambda w: "secret")),
    # logs
    Rule("addlogmsg", addlog_msg, ASSIGNED, NOT_ASSIGNED, check_log_added),
    Rule("addexecutorlogmsg", executor_log_msg, (E,), NOT_ASSIGNED, check_executor_log_added),
    Rule("getlogsmsg", logs_by_process_msg, APPROVED_MEMBER, NOT_APPROVED_MEMBER,
         check_logs(lambda w: w.log_marker), variant="process"),
    Rule("getlogsmsg", logs_by_executor_msg, APPROVED_MEMBER, NOT_APPROVED_MEMBER,
         check_logs(lambda w: w.executor_log_marker), variant="executor"),
    Rule("searchlogsmsg", search_logs_msg, APPROVED_MEMBER, NOT_APPROVED_MEMBER,
         check_logs(lambda w: w.log_marker)),
    # crons
    Rule("addcronmsg", lambda w, who: {"cron": {"colonyname": w.a.name, "name": rnd("cron"), "interval": 3600,
                                                "workflowspec": w.idle_workflow()}},
         APPROVED_MEMBER, NOT_APPROVED_MEMBER, lambda w, who, msg, got: got["initiatorid"] == who.id),
    Rule("getcronmsg", lambda w, who: {"cronid": w.new_cron()["cronid"]}, APPROVED_MEMBER, NOT_APPROVED_MEMBER,
         lambda w, who, msg, got: got["cronid"] == msg["cronid"]),
    Rule("getcronsmsg", lambda w, who: {"colonyname": w.a.name, "count": 100}, APPROVED_MEMBER,
         NOT_APPROVED_MEMBER, lambda w, who, msg, got: isinstance(got, list)),
    Rule("runcronmsg", lambda w, who: {"cronid": w.new_cron()["cronid"]}, APPROVED_MEMBER, NOT_APPROVED_MEMBER,
         lambda w, who, msg, got: got["prevprocessgraphid"] != ""),
    Rule("removecronmsg", lambda w, who: {"cronid": w.new_cron()["cronid"]}, APPROVED_MEMBER,
         NOT_APPROVED_MEMBER, check_gone("getcronmsg", "cronid")),
    Rule("getcronrunsmsg", lambda w, who: {"cronid": w.new_cron()["cronid"], "count": 5}, APPROVED_MEMBER,
         NOT_APPROVED_MEMBER, lambda w, who, msg, got: got == []),
    # generators
    Rule("addgeneratormsg", lambda w, who: {"generator": {"colonyname": w.a.name, "name": rnd("gen"),
                                                          "trigger": 5, "workflowspec": w.idle_workflow()}},
         APPROVED_MEMBER, NOT_APPROVED_MEMBER, lambda w, who, msg, got: got["initiatorid"] == who.id),
    Rule("getgeneratormsg", lambda w, who: {"generatorid": w.new_generator()["generatorid"]}, APPROVED_MEMBER,
         NOT_APPROVED_MEMBER, lambda w, who, msg, got: got["generatorid"] == msg["generatorid"]),
    Rule("resolvegeneratormsg", lambda w, who: {"colonyname": w.a.name, "generatorname": w.new_generator()["name"]},
         APPROVED_MEMBER, NOT_APPROVED_MEMBER, lambda w, who, msg, got: got["name"] == msg["generatorname"]),
    Rule("getgeneratorsmsg", lambda w, who: {"colonyname": w.a.name, "count": 100}, APPROVED_MEMBER,
         NOT_APPROVED_MEMBER, lambda w, who, msg, got: isinstance(got, list)),
    Rule("packgeneratormsg", lambda w, who: {"generatorid": w.new_generator()["generatorid"], "arg": "a"},
         APPROVED_MEMBER, NOT_APPROVED_MEMBER, check_packed),
    Rule("removegeneratormsg", lambda w, who: {"generatorid": w.new_generator()["generatorid"]}, APPROVED_MEMBER,
         NOT_APPROVED_MEMBER, check_gone("getgeneratormsg", "generatorid")),
    Rule("getgeneratorrunsmsg", lambda w, who: {"generatorid": w.new_generator()["generatorid"], "count": 5},
         APPROVED_MEMBER, NOT_APPROVED_MEMBER, lambda w, who, msg, got: got == []),
    # locations
    Rule("addlocationmsg", lambda w, who: {"location": {"colonyname": w.a.name, "name": rnd("loc")}},
         COLONY_OWNER, NOT_COLONY_OWNER, lambda w, who, msg, got: got["name"] == msg["location"]["name"]),
    Rule("getlocationsmsg", colony_msg, MEMBER_OR_OWNER, NOT_MEMBER_OR_OWNER,
         lambda w, who, msg, got: isinstance(got, list)),
    Rule("getlocationmsg", lambda w, who: {"colonyname": w.a.name, "name": w.new_location()["name"]},
         MEMBER_OR_OWNER, NOT_MEMBER_OR_OWNER, lambda w, who, msg, got: got["name"] == msg["name"]),
    Rule("removelocationmsg", lambda w, who: {"colonyname": w.a.name, "name": w.new_location()["name"]},
         COLONY_OWNER, NOT_COLONY_OWNER, check_location_gone),
    # files and snapshots: approved members only (the colony owner too is refused unless a member)
    Rule("addfilemsg", lambda w, who: w.file_msg(), APPROVED_MEMBER, NOT_APPROVED_MEMBER,
         lambda w, who, msg, got: got["name"] == msg["file"]["name"] and got["label"] == "/sec"),
    Rule("getfilemsg", file_by_id_msg, APPROVED_MEMBER, NOT_APPROVED_MEMBER,
         lambda w, who, msg, got: [f["fileid"] for f in got] == [msg["fileid"]]),
    Rule("getfilesmsg", files_msg, APPROVED_MEMBER, NOT_APPROVED_MEMBER, lambda w, who, msg, got: len(got) >= 1),
    Rule("getfilelabelsmsg", labels_msg, APPROVED_MEMBER, NOT_APPROVED_MEMBER,
         lambda w, who, msg, got: got[0]["name"] == "/sec"),
    Rule("removefilemsg", file_by_id_msg, APPROVED_MEMBER, NOT_APPROVED_MEMBER, check_file_gone),
    Rule("createsnapshotmsg", lambda w, who: {"colonyname": w.a.name, "label": "/sec", "name": rnd("snap")},
         APPROVED_MEMBER, NOT_APPROVED_MEMBER, lambda w, who, msg, got: got["name"] == msg["name"]),
    Rule("getsnapshotmsg", snapshot_by_id_msg, APPROVED_MEMBER, NOT_APPROVED_MEMBER,
         lambda w, who, msg, got: got["snapshotid"] == msg["snapshotid"]),
    Rule("getsnapshotsmsg", snapshots_msg, APPROVED_MEMBER, NOT_APPROVED_MEMBER,
         lambda w, who, msg, got: len(got) >= 1),
    Rule("removesnapshotmsg", snapshot_by_id_msg, APPROVED_MEMBER, NOT_APPROVED_MEMBER, check_snapshot_gone),
    Rule("removeallsnapshotmsg", snapshots_msg, APPROVED_MEMBER, NOT_APPROVED_MEMBER, check_no_snapshots,
         isolated=True),
    # blueprints: the colony owner keeps the definitions; members (and the owner) manage blueprints; only
    # approved members report status and ask for a reconciliation
    Rule("addblueprintdefinitionmsg", lambda w, who: w.blueprint_definition_msg(), COLONY_OWNER, NOT_COLONY_OWNER,
         lambda w, who, msg, got: got["metadata"]["name"] == msg["blueprintdefinition"]["metadata"]["name"]),
    Rule("getblueprintdefinitionmsg", lambda w, who: {"colonyname": w.a.name, "name": w.blueprint_kind.lower()},
         MEMBER_OR_OWNER, NOT_MEMBER_OR_OWNER, lambda w, who, msg, got: got["metadata"]["name"] == msg["name"]),
    Rule("getblueprintdefinitionsmsg", colony_msg, MEMBER_OR_OWNER, NOT_MEMBER_OR_OWNER,
         lambda w, who, msg, got: len(got) >= 1),
    Rule("removeblueprintdefinitionmsg",
         lambda w, who: {"namespace": w.a.name, "name": w.new_blueprint_definition()["metadata"]["name"]},
         COLONY_OWNER, NOT_COLONY_OWNER, check_blueprint_definition_gone),
    Rule("addblueprintmsg", lambda w, who: w.blueprint_msg(), MEMBER_OR_OWNER, NOT_MEMBER_OR_OWNER,
         lambda w, who, msg, got: got["metadata"]["generation"] == 1),
    Rule("getblueprintmsg", lambda w, who: {"namespace": w.a.name, "name": w.blueprint["metadata"]["name"]},
         MEMBER_OR_OWNER, NOT_MEMBER_OR_OWNER, lambda w, who, msg, got: got["metadata"]["name"] == msg["name"]),
    Rule("getblueprintsmsg", lambda w, who: {"namespace": w.a.name, "kind": w.blueprint["kind"]}, MEMBER_OR_OWNER,
         NOT_MEMBER_OR_OWNER, lambda w, who, msg, got: len(got) >= 1),
    Rule("updateblueprintmsg", lambda w, who: {"blueprint": {**w.new_blueprint(), "spec": {"replicas": 2}}},
         MEMBER_OR_OWNER, NOT_MEMBER_OR_OWNER, lambda w, who, msg, got: got["metadata"]["generation"] == 2),
    Rule("removeblueprintmsg", lambda w, who: {"namespace": w.a.name, "name": w.new_blueprint()["metadata"]["name"]},
         MEMBER_OR_OWNER, NOT_MEMBER_OR_OWNER, check_blueprint_gone),
    Rule("getblueprinthistorymsg", lambda w, who: {"blueprintid": w.blueprint["blueprintid"]}, MEMBER_OR_OWNER,
         NOT_MEMBER_OR_OWNER, lambda w, who, msg, got: got[-1]["changetype"] == "create"),
    Rule("updateblueprintstatusmsg", lambda w, who: {"colonyname": w.a.name, "blueprintname":
         w.blueprint["metadata"]["name"], "status": {"by": who.name}}, APPROVED_MEMBER, NOT_APPROVED_MEMBER,
         check_blueprint_status),
    Rule("reconcileblueprintmsg", lambda w, who: {"namespace": w.a.name, "name": w.blueprint["metadata"]["name"],
         "force": False}, APPROVED_MEMBER, NOT_APPROVED_MEMBER,
         lambda w, who, msg, got: got["spec"]["funcname"] == "reconcile" and got["initiatorid"] == who.id),
    # channels
    Rule("channelappendmsg", channel_append_msg, CHANNEL_PARTIES, NOT_CHANNEL_PARTIES, check_channel_appended),
    Rule("channelreadmsg", channel_read_msg, CHANNEL_PARTIES, NOT_CHANNEL_PARTIES,
         lambda w, who, msg, got: len(got) >= 1 and got[0]["senderid"] == w.a.executor.id),
]
# fmt: on


def test_every_signed_message_type_has_a_rule() -> None:
    covered = {rule.msgtype for rule in RULES}
    assert covered == set(HANDLERS) - set(UNSIGNED)
    for rule in RULES:
        assert rule.allowed and rule.denied, rule.id
        assert not set(rule.allowed) & set(rule.denied), rule.id


@pytest.fixture(scope="module")
def world(server: Server) -> World:
    return World(server)


def world_for(rule: Rule, shared: World, server: Server) -> World:
    return World(server) if rule.isolated else shared


DENIED = [pytest.param(rule, role, id=f"{rule.id}-{role}") for rule in RULES for role in rule.denied]
ALLOWED = [pytest.param(rule, role, id=f"{rule.id}-{role}") for rule in RULES for role in rule.allowed]


@pytest.mark.parametrize(("rule", "role"), DENIED)
def test_wrong_role_is_refused(rule: Rule, role: str, world: World, server: Server) -> None:
    w = world_for(rule, world, server)
    who = w.who(role)
    msg = rule.build(w, who)
    err = expect_error(403, w.a.call, rule.msgtype, msg, who)
    assert err.message


@pytest.mark.parametrize(("rule", "role"), ALLOWED)
def test_right_role_succeeds(rule: Rule, role: str, world: World, server: Server) -> None:
    w = world_for(rule, world, server)
    who = w.who(role)
    msg = rule.build(w, who)
    got = w.a.call(rule.msgtype, msg, who)
    if rule.check is not None:
        result = rule.check(w, who, msg, got)
        assert result is None or result is True, f"{rule.id}: unexpected reply {got!r}"


# -- the rules the brief singles out -------------------------------------------------------------------------


def test_pending_executor_gets_nothing(server: Server) -> None:
    w = World(server)
    w.waiting  # noqa: B018
    w.a.submit(w.a.user)  # a process it could take, were it allowed to
    pending = w.pending
    expect_error(403, w.a.assign, pending, timeout=-1)
    expect_error(403, w.a.submit, pending)
    expect_error(403, w.a.call, "getprocessesmsg", {"colonyname": w.a.name, "count": 10, "state": 0}, pending)
    expect_error(403, w.a.get, w.waiting["processid"], pending)
    expect_error(403, w.a.call, "getcolonymsg", {"colonyname": w.a.name}, pending)
    # ... and cannot approve itself.
    expect_error(
        403, w.a.call, "approveexecutormsg", {"colonyname": w.a.name, "executorname": pending.name}, pending
    )
    assert w.executor_state(pending.name) == 0
    # Once approved, the same key works: the refusals above were about its state, not its key.
    w.a.call("approveexecutormsg", {"colonyname": w.a.name, "executorname": pending.name}, w.a.owner)
    assert w.a.assign(pending, timeout=-1)["assignedexecutorid"] == pending.id


def test_rejected_and_removed_executors_lose_access(server: Server) -> None:
    w = World(server)
    ident = w.a.add_executor("soon-gone")
    assert w.a.call("getcolonymsg", {"colonyname": w.a.name}, ident)["name"] == w.a.name
    w.a.call("rejectexecutormsg", {"colonyname": w.a.name, "executorname": ident.name}, w.a.owner)
    err = expect_error(403, w.a.call, "getcolonymsg", {"colonyname": w.a.name}, ident)
    assert "rejected" in err.message
    w.a.call("approveexecutormsg", {"colonyname": w.a.name, "executorname": ident.name}, w.a.owner)
    w.a.call("removeexecutormsg", {"colonyname": w.a.name, "executorname": ident.name}, w.a.owner)
    expect_error(403, w.a.call, "getcolonymsg", {"colonyname": w.a.name}, ident)
    expect_error(403, w.a.submit, ident)
    expect_error(403, w.a.assign, ident, timeout=-1)


def test_colony_owner_is_not_implicitly_a_member(server: Server) -> None:
    w = World(server)
    owner = w.a.owner
    expect_error(403, w.a.submit, owner)
    expect_error(403, w.a.call, "getprocessesmsg", {"colonyname": w.a.name, "count": 10, "state": 0}, owner)
    expect_error(403, w.a.assign, owner, timeout=-1)
    expect_error(403, w.a.call, "getprocessgraphsmsg", {"colonyname": w.a.name, "count": 10, "state": 0}, owner)
    # What it manages it may read (ours): its colony, executors and users.
    assert w.a.call("getcolonymsg", {"colonyname": w.a.name}, owner)["colonyid"] == owner.id
    # The server owner is not a member of anyone's colony either.
    expect_error(403, w.a.submit, w.server_owner)


def test_user_cannot_assign(server: Server) -> None:
    w = World(server)
    submitted = w.a.submit(w.a.user)
    err = expect_error(403, w.a.assign, w.a.user, timeout=-1)
    assert "executor" in err.message
    assert w.a.get(submitted["processid"])["state"] == 0  # nothing was claimed
    assert w.a.assign(w.a.executor, timeout=-1)["processid"] == submitted["processid"]


def test_member_of_one_colony_cannot_read_another(world: World) -> None:
    a, b = world.a, world.b
    b_process = world.new_running(b)
    b_attribute = world.add_attribute(b_process, b)
    b.call("addlogmsg", {"processid": b_process["processid"], "message": "b-secret"}, b.executor)
    b_graph = world.new_graph(b)
    for who in (a.executor, a.user):
        expect_error(403, a.call, "getprocessmsg", {"processid": b_process["processid"]}, who)
        expect_error(403, a.call, "getprocessgraphmsg", {"processgraphid": b_graph["processgraphid"]}, who)
        expect_error(403, a.call, "getlogsmsg", {"processid": b_process["processid"], "count": 10}, who)
        expect_error(
            403,
            a.call,
            "getlogsmsg",
            {"colonyname": b.name, "executorname": b.executor.name, "count": 10},
            who,
        )
        expect_error(403, a.call, "getattributemsg", {"attributeid": b_attribute["attributeid"]}, who)
        expect_error(403, a.call, "getprocessesmsg", {"colonyname": b.name, "count": 10, "state": 1}, who)
        expect_error(403, a.call, "getprocessgraphsmsg", {"colonyname": b.name, "count": 10, "state": 0}, who)
        expect_error(
            403,
            a.call,
            "searchlogsmsg",
            {"colonyname": b.name, "text": "b-secret", "days": 1, "count": 10},
            who,
        )
        expect_error(403, a.call, "getcolonystatsmsg", {"colonyname": b.name}, who)
        expect_error(
            403,
            a.call,
            "getprocesshistmsg",
            {"colonyname": b.name, "executorid": "", "seconds": 60, "state": 1},
            who,
        )
        # ... nor act on it.
        expect_error(403, a.call, "cancelprocessgraphmsg", {"processgraphid": b_graph["processgraphid"]}, who)
        expect_error(403, a.call, "removeprocessgraphmsg", {"processgraphid": b_graph["processgraphid"]}, who)
    # B's own members still see everything.
    assert b.get(b_process["processid"], b.user)["state"] == 1


def test_executor_of_another_colony_cannot_add_a_child_to_a_workflow(world: World) -> None:
    """B's executor names its own colony in the spec and A's running process as the parent: it is neither a
    member of A nor the parent's assignee, so this is an authorization failure (403), like every other check
    on addchildmsg's parent."""
    a, b = world.a, world.b
    root = world.running_root
    spec = b.spec(nodename="intruder", conditions={"executortype": IDLE})
    msg = {"processgraphid": root["processgraphid"], "parentprocessid": root["processid"], "spec": spec}
    expect_error(403, a.call, "addchildmsg", msg, b.executor)
    assert a.get(root["processid"])["children"] in (None, []) or all(
        a.get(child)["spec"]["nodename"] != "intruder" for child in a.get(root["processid"])["children"]
    )


def test_cross_colony_submit_is_refused(world: World) -> None:
    """The colony is named inside the spec: a member of A cannot drop work into B."""
    spec = world.b.spec(conditions={"executortype": IDLE})
    expect_error(403, world.a.call, "submitfuncspecmsg", {"spec": spec}, world.a.executor)
    wf = {"colonyname": world.b.name, "functionspecs": [world.b.spec(conditions={"executortype": IDLE})]}
    expect_error(403, world.a.call, "submitworkflowspecmsg", {"spec": wf}, world.a.user)
    expect_error(403, world.a.assign, world.a.executor, timeout=-1, colonyname=world.b.name)


def test_remove_all_needs_the_colony_owner(server: Server) -> None:
    w = World(server)
    waiting, graph = w.waiting, w.graph
    for msgtype in ("removeallprocessesmsg", "removeallprocessgraphsmsg"):
        for who in (w.a.executor, w.a.user, w.server_owner, w.b.owner):
            expect_error(403, w.a.call, msgtype, {"colonyname": w.a.name, "state": -1}, who)
    assert w.a.get(waiting["processid"])["state"] == 0
    w.a.call("removeallprocessesmsg", {"colonyname": w.a.name, "state": -1}, w.a.owner)
    expect_error(404, w.a.get, waiting["processid"])
    w.a.call(
        "getprocessgraphmsg", {"processgraphid": graph["processgraphid"]}, w.a.executor
    )  # graphs untouched
    w.a.call("removeallprocessgraphsmsg", {"colonyname": w.a.name, "state": -1}, w.a.owner)
    expect_error(
        404, w.a.call, "getprocessgraphmsg", {"processgraphid": graph["processgraphid"]}, w.a.executor
    )


@pytest.mark.parametrize("msgtype", ["getcolonystatsmsg", "getprocesshistmsg"])
def test_stats_and_history_refuse_non_members_with_403(world: World, msgtype: str) -> None:
    """The Go server answered these with an empty 200; we refuse."""
    msg = {"colonyname": world.a.name, "executorid": "", "seconds": 60, "state": 0}
    refused = [world.b.executor, world.random, world.pending]
    if msgtype == "getprocesshistmsg":
        refused.append(world.a.owner)  # the owner reads colony statistics (dashboard), not process history
    for who in refused:
        expect_error(403, world.a.call, msgtype, msg, who)


def test_unknown_colony_does_not_leak_to_non_members(world: World) -> None:
    """Protocol §2: membership paths answer 403 for an unknown colony name. Answering 404 to a stranger
    would let anyone with a key probe which colony names exist."""
    for msgtype in ("getcolonymsg", "getcolonystatsmsg", "getexecutorsmsg"):
        known = expect_error(403, world.a.call, msgtype, {"colonyname": world.a.name}, world.random)
        unknown = expect_error(
            403, world.a.call, msgtype, {"colonyname": rnd("no-such-colony")}, world.random
        )
        assert unknown.status == known.status


@pytest.mark.parametrize(
    "msgtype",
    ["closesuccessfulmsg", "closefailedmsg", "setoutputmsg", "addattributemsg", "addlogmsg", "addchildmsg"],
)
def test_assigned_executor_versus_another_approved_executor(world: World, msgtype: str) -> None:
    """Both are approved executors of the colony, of the same type; only the assignee may act."""
    if msgtype == "addchildmsg":
        process = world.new_running_graph_root()
        msg: Msg = {
            "processgraphid": process["processgraphid"],
            "parentprocessid": process["processid"],
            "spec": world.a.spec(nodename=rnd("c"), conditions={"executortype": IDLE}),
        }
    else:
        process = world.new_running()
        msg = {
            "closesuccessfulmsg": {"processid": process["processid"], "out": ["x"]},
            "closefailedmsg": {"processid": process["processid"], "errors": ["x"]},
            "setoutputmsg": {"processid": process["processid"], "out": ["x"]},
            "addattributemsg": {
                "attribute": {
                    "targetid": process["processid"],
                    "targetcolonyname": world.a.name,
                    "attributetype": 1,
                    "key": "k",
                    "value": "v",
                }
            },
            "addlogmsg": {"processid": process["processid"], "message": "x"},
        }[msgtype]
    err = expect_error(403, world.a.call, msgtype, msg, world.executor2)
    assert "assigned" in err.message
    after = world.a.get(process["processid"])
    assert after["state"] == 1 and after["out"] in (None, []) and after["children"] in (None, [])
    world.a.call(msgtype, msg, world.a.executor)


def test_closed_process_cannot_be_touched_by_its_former_assignee(world: World) -> None:
    process = world.new_running()
    world.a.close(process["processid"], ["done"])
    for msgtype, msg, status in (
        ("closefailedmsg", {"processid": process["processid"], "errors": ["late"]}, 400),  # as the Go server
        ("setoutputmsg", {"processid": process["processid"], "out": ["late"]}, 403),
        ("addlogmsg", {"processid": process["processid"], "message": "late"}, 403),
    ):
        err = expect_error(status, world.a.call, msgtype, msg, world.a.executor)
        assert "not running (state 2)" in err.message
    assert world.a.get(process["processid"])["out"] == ["done"]


def test_function_registry_is_per_executor(world: World) -> None:
    fun = {
        "executorname": world.a.executor.name,
        "executortype": T,
        "colonyname": world.a.name,
        "funcname": "f",
    }
    err = expect_error(403, world.a.call, "addfunctionmsg", {"fun": fun}, world.executor2)
    assert "another executor" in err.message
    added = world.new_function()
    expect_error(403, world.a.call, "removefunctionmsg", {"functionid": added["functionid"]}, world.executor2)
    world.a.call("removefunctionmsg", {"functionid": added["functionid"]}, world.a.executor)


def test_executor_log_cannot_be_written_for_another_executor(world: World) -> None:
    msg = {"colonyname": world.a.name, "executorname": world.a.executor.name, "message": "forged"}
    expect_error(403, world.a.call, "addexecutorlogmsg", msg, world.executor2)
    # Colony B's executor has the same name as A's: the name alone must not let it in.
    assert world.b.executor.name == world.a.executor.name
    expect_error(403, world.a.call, "addexecutorlogmsg", msg, world.b.executor)


def test_change_colony_id_moves_ownership(server: Server) -> None:
    w = World(server)
    new_owner = new_identity("new-owner")
    w.a.call("changecolonyidmsg", {"colonyname": w.a.name, "colonyid": new_owner.id}, w.a.owner)
    msg = new_user_msg(w, new_owner)
    expect_error(403, w.a.call, "addusermsg", msg, w.a.owner)
    assert w.a.call("addusermsg", msg, new_owner)["userid"] == msg["user"]["userid"]
    assert w.a.call("getcolonymsg", {"colonyname": w.a.name}, w.a.executor)["colonyid"] == new_owner.id


def test_change_server_id_moves_ownership(make_server: Callable[..., Server]) -> None:
    srv = make_server()
    old = srv.prvkey
    new = crypto.generate_prvkey()
    new_id = crypto.id_from_prvkey(new)
    expect_error(403, srv.call, "changeserveridmsg", {"serverid": new_id}, new)
    assert srv.call("changeserveridmsg", {"serverid": new_id}, old)["serverid"] == new_id
    expect_error(403, srv.call, "getstatisticsmsg", {}, old)
    expect_error(403, srv.call, "addcolonymsg", {"colony": {"colonyid": new_id, "name": "x"}}, old)
    assert srv.call("getstatisticsmsg", {}, new)["colonies"] == 0


def test_unsigned_messages_need_no_key(server: Server) -> None:
    assert server.call("versionmsg", {}, None)["msgtype"] == "versionmsg"
    assert server.call("getserverinfomsg", {}, None)["backends"]
    # Everything else needs a signature.
    expect_error(403, server.call, "getcoloniesmsg", {}, None)
    expect_error(403, server.call, "getstatisticsmsg", {}, None)


# -- WebSocket /pubsub ---------------------------------------------------------------------------------------


def ws_url(server: Server) -> str:
    return f"ws://127.0.0.1:{server.port}/pubsub"


def subscribe(server: Server, payloadtype: str, msg: Msg, who: Identity) -> tuple[bool, Any]:
    """Send one subscription frame and return the first reply frame, decoded."""
    with connect(ws_url(server), open_timeout=5, close_timeout=2) as ws:
        ws.send(envelope.build_request(payloadtype, msg, who.prvkey).decode())
        frame = ws.recv(timeout=5)
    assert isinstance(frame, str)
    is_error, payload = envelope.decode_reply(frame.encode())
    return is_error, payload


def test_pubsub_subscribe_to_a_process_of_another_colony_is_refused(world: World) -> None:
    b_process = world.new_idle(world.b)
    msg = {
        "colonyname": world.b.name,
        "processid": b_process["processid"],
        "executortype": "",
        "state": 0,
        "timeout": 2,
    }
    for who in (world.a.executor, world.a.user, world.random, world.b.owner):
        is_error, payload = subscribe(world.server, "subscribeprocessmsg", msg, who)
        assert is_error and payload["status"] == 403, payload
    # Lying about the colony in the message does not help: the process's own colony is what counts.
    is_error, payload = subscribe(
        world.server, "subscribeprocessmsg", {**msg, "colonyname": world.a.name}, world.a.executor
    )
    assert is_error and payload["status"] == 403, payload
    # A member of B is answered at once (the process is already in the state asked for).
    is_error, payload = subscribe(world.server, "subscribeprocessmsg", msg, world.b.user)
    assert not is_error and payload["processid"] == b_process["processid"]


def test_pubsub_subscribe_to_processes_of_another_colony_is_refused(world: World) -> None:
    msg = {"colonyname": world.b.name, "executortype": T, "state": 0, "timeout": 2}
    for who in (world.a.executor, world.pending, world.random):
        is_error, payload = subscribe(world.server, "subscribeprocessesmsg", msg, who)
        assert is_error and payload["status"] == 403, payload


@pytest.mark.parametrize("role", CHANNEL_PARTIES + NOT_CHANNEL_PARTIES)
def test_pubsub_channel_subscription_is_for_the_submitter_and_the_executor(world: World, role: str) -> None:
    pid = world.channel_process["processid"]
    msg = {"processid": pid, "name": "chat", "afterseq": 0, "timeout": 1}
    is_error, payload = subscribe(world.server, "subscribechannelmsg", msg, world.who(role))
    if role in CHANNEL_PARTIES:
        assert not is_error and isinstance(payload, list), payload
    else:
        assert is_error and payload["status"] == 403, payload


def test_pubsub_refuses_bad_signatures(world: World) -> None:
    process = world.waiting
    msg = {"processid": process["processid"], "state": 0, "timeout": 2, "msgtype": "subscribeprocessmsg"}
    frame = envelope.build_request("subscribeprocessmsg", msg, world.a.executor.prvkey)
    tampered = frame.replace(b'"signature":"', b'"signature":"00', 1)
    with connect(ws_url(world.server), open_timeout=5, close_timeout=2) as ws:
        ws.send(tampered.decode())
        is_error, payload = envelope.decode_reply(str(ws.recv(timeout=5)).encode())
        assert is_error and payload["status"] == 403
        # The same socket keeps serving a correct frame.
        ws.send(frame.decode())
        is_error, payload = envelope.decode_reply(str(ws.recv(timeout=5)).encode())
        assert not is_error and payload["processid"] == process["processid"]

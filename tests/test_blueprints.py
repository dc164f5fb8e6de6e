"""Blueprints (protocol §3.14, §4.16) against the real server on both backends: definitions, blueprints, their
history and status, the reconcile cron and processes a reconciler executor takes, the SDK (sync and async), the
CLI, and the example reconciler of examples/blueprints run end to end."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Colony, Server, create_colony, expect_error, new_identity

from colonies import AsyncColonies, Colonies
from colonies.executor import Executor

RECONCILER = "test-reconciler"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "blueprints"


def wait_for(check: Callable[[], Any], timeout: float = 30, what: str = "the condition") -> Any:
    """Poll ``check`` until it returns something truthy (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def definition(colony: Colony, kind: str = "Sleeper", executortype: str = RECONCILER, name: str | None = None,
               **spec: Any) -> dict[str, Any]:  # fmt: skip
    """A definition as the Go docs write one (camelCase spec keys)."""
    # An hour between reconcile crons, unless a test wants them: the tests count the processes they expect.
    handler = {"executorType": executortype, "functionName": "reconcile", "reconcileInterval": 3600,
               **spec.pop("handler", {})}
    meta = {"name": name or kind.lower() + "-def", "colonyname": colony.name}
    return {"kind": "BlueprintDefinition", "metadata": meta,
            "spec": {"group": "test.colonies.io", "version": "v1", "scope": "Namespaced",
                     "names": {"kind": kind, "singular": kind.lower(), "plural": kind.lower() + "s"},
                     "handler": handler, **spec}}  # fmt: skip


def blueprint(colony: Colony, name: str = "sleepers", kind: str = "Sleeper", **spec: Any) -> dict[str, Any]:
    return {"kind": kind, "metadata": {"name": name, "colonyname": colony.name}, "spec": spec or {"replicas": 2}}


def add_definition(colony: Colony, **kwargs: Any) -> Any:
    return colony.call("addblueprintdefinitionmsg", {"blueprintdefinition": definition(colony, **kwargs)},
                       colony.owner)  # fmt: skip


def add(colony: Colony, bp: dict[str, Any], who: Any = None) -> Any:
    return colony.call("addblueprintmsg", {"blueprint": bp}, who or colony.user)


def get(colony: Colony, name: str = "sleepers") -> Any:
    return colony.call("getblueprintmsg", {"namespace": colony.name, "name": name}, colony.user)


def update(colony: Colony, bp: dict[str, Any], force: bool = False) -> Any:
    return colony.call("updateblueprintmsg", {"blueprint": bp, "forcegeneration": force}, colony.user)


def waiting(colony: Colony, executortype: str = RECONCILER) -> list[Any]:
    found = colony.call("getprocessesmsg", {"colonyname": colony.name, "count": 100, "state": 0,
                                            "executortype": executortype}, colony.user)  # fmt: skip
    return sorted(found, key=lambda p: p["submissiontime"])


def crons(colony: Colony) -> dict[str, Any]:
    return {c["name"]: c for c in colony.call("getcronsmsg", {"colonyname": colony.name, "count": 100}, colony.user)}


# -- definitions ------------------------------------------------------------------------------------------------


def test_definitions_add_get_list_remove(colony: Colony) -> None:
    added = add_definition(colony, schema={"type": "object", "properties": {"replicas": {"type": "integer",
                                                                                      "default": 0}}})
    assert added["spec"]["schema"]["properties"]["replicas"] == {"type": "integer", "default": 0}
    assert list(added) == ["blueprintdefinitionid", "kind", "metadata", "spec"]
    assert len(added["blueprintdefinitionid"]) == 64
    assert list(added["spec"]) == ["group", "version", "names", "scope", "schema", "handler"]
    assert added["spec"]["handler"] == {"executorType": RECONCILER, "functionName": "reconcile",
                                        "reconcileInterval": 3600}
    assert added["metadata"]["colonyname"] == colony.name and added["metadata"]["createdAt"] != "0001-01-01T00:00:00Z"
    msg = {"colonyname": colony.name, "name": "sleeper-def"}
    for who in (colony.user, colony.executor, colony.owner):  # members and the owner read
        assert colony.call("getblueprintdefinitionmsg", msg, who) == added
    add_definition(colony, kind="Other")
    listed = colony.call("getblueprintdefinitionsmsg", {"colonyname": colony.name}, colony.user)
    assert [d["metadata"]["name"] for d in listed] == ["other-def", "sleeper-def"]
    assert "already exists" in expect_error(409, add_definition, colony).message  # the name
    assert "kind Sleeper" in expect_error(409, add_definition, colony, name="again").message  # one per kind
    remove = {"namespace": colony.name, "name": "other-def"}
    assert colony.call("removeblueprintdefinitionmsg", remove, colony.owner) == {}
    expect_error(404, colony.call, "removeblueprintdefinitionmsg", remove, colony.owner)
    expect_error(404, colony.call, "getblueprintdefinitionmsg", {"colonyname": colony.name, "name": "other-def"},
                 colony.user)  # fmt: skip


@pytest.mark.parametrize(("change", "message"), [
    ({"names": {"kind": ""}}, "spec.names.kind"),
    ({"schema": {"properties": {"x": {"type": "int"}}}}, "unknown type 'int'"),
    ({"handler": {"reconcileInterval": -1}}, "reconcileInterval"),
    ({"handler": {"reconcileInterval": 1.5}}, "reconcileInterval"),
])  # fmt: skip
def test_bad_definitions_are_refused(colony: Colony, change: dict[str, Any], message: str) -> None:
    d = definition(colony)
    for key, value in change.items():
        d["spec"][key] = {**d["spec"].get(key, {}), **value} if key != "schema" else value
    err = expect_error(400, colony.call, "addblueprintdefinitionmsg", {"blueprintdefinition": d}, colony.owner)
    assert message in err.message
    expect_error(400, colony.call, "addblueprintdefinitionmsg", {"blueprintdefinition": None}, colony.owner)


def test_a_definition_in_use_cannot_be_removed(colony: Colony) -> None:
    add_definition(colony)
    add(colony, blueprint(colony))
    remove = {"namespace": colony.name, "name": "sleeper-def"}
    assert "1 blueprint(s) of kind Sleeper" in expect_error(409, colony.call, "removeblueprintdefinitionmsg", remove,
                                                            colony.owner).message  # fmt: skip
    colony.call("removeblueprintmsg", {"namespace": colony.name, "name": "sleepers"}, colony.user)
    assert colony.call("removeblueprintdefinitionmsg", remove, colony.owner) == {}


# -- blueprints -------------------------------------------------------------------------------------------------


def test_add_get_list_remove(colony: Colony) -> None:
    add_definition(colony)
    add_definition(colony, kind="Other")
    bp = blueprint(colony, replicas=2, image="alpine")
    bp["metadata"]["labels"] = {"team": "a"}
    added = add(colony, bp)
    assert list(added) == ["blueprintid", "kind", "metadata", "spec"] and len(added["blueprintid"]) == 64
    meta = added["metadata"]
    assert meta["name"] == "sleepers" and meta["colonyname"] == colony.name and meta["generation"] == 1
    assert meta["labels"] == {"team": "a"} and len(meta["lastReconciliationProcess"]) == 64
    assert added["spec"] == {"image": "alpine", "replicas": 2}
    assert get(colony) == added
    add(colony, blueprint(colony, "zz-other", kind="Other"), colony.executor)
    add(colony, {**blueprint(colony, "aa-remote"), "metadata": {"name": "aa-remote", "colonyname": colony.name,
                                                                "locationname": "edge"}})  # fmt: skip

    def names(**filters: str) -> list[str]:
        msg = {"namespace": colony.name, **filters}
        return [b["metadata"]["name"] for b in colony.call("getblueprintsmsg", msg, colony.owner)]

    assert names() == ["aa-remote", "sleepers", "zz-other"]
    assert names(kind="Sleeper") == ["aa-remote", "sleepers"]
    assert names(kind="Sleeper", locationname="edge") == ["aa-remote"]
    assert names(locationname="edge") == ["aa-remote"]
    assert names(kind="Nothing") == []
    assert "already exists" in expect_error(409, add, colony, blueprint(colony)).message
    assert colony.call("removeblueprintmsg", {"namespace": colony.name, "name": "sleepers"}, colony.user) == {}
    expect_error(404, get, colony)
    expect_error(404, colony.call, "removeblueprintmsg", {"namespace": colony.name, "name": "sleepers"}, colony.user)


@pytest.mark.parametrize(("bp", "message"), [
    ({"metadata": {"name": "x"}, "spec": {}}, "kind is required"),
    ({"kind": "Sleeper", "metadata": {}, "spec": {}}, "blueprint name"),
    ({"kind": "Nothing", "metadata": {"name": "x"}, "spec": {}}, "BlueprintDefinition for kind 'Nothing'"),
    ({"kind": "Sleeper", "metadata": {"name": "x"}, "spec": {"image": "a"}}, "required field 'replicas' is missing"),
    ({"kind": "Sleeper", "metadata": {"name": "x"}, "spec": {"replicas": "3"}}, "'replicas' must be an integer"),
    ({"kind": "Sleeper", "metadata": {"name": "x"}, "spec": {"replicas": 2.5}}, "'replicas' must be an integer"),
    ({"kind": "Sleeper", "metadata": {"name": "x"}, "spec": {"replicas": True}}, "'replicas' must be an integer"),
    ({"kind": "Sleeper", "metadata": {"name": "x"}, "spec": {"replicas": 1, "mode": "fast"}}, "must be one of"),
    ({"kind": "Sleeper", "metadata": {"name": "x"}, "spec": {"replicas": 1, "ports": [80, "x"]}},
     "'ports[1]' must be an integer"),
    ({"kind": "Sleeper", "metadata": {"name": "x"}, "spec": {"replicas": 1, "resources": {"cpu": 1}}},
     "'resources.cpu' must be a string"),
    ({"kind": "Sleeper", "metadata": {"name": "x"}, "spec": {"replicas": 1, "resources": {}}},
     "required field 'resources.cpu' is missing"),
    ({"kind": "Sleeper", "metadata": {"name": "x", "labels": {"a": 1}}, "spec": {"replicas": 1}}, "labels.a"),
    (None, "blueprint is nil"),
])  # fmt: skip
def test_bad_blueprints_are_refused(colony: Colony, bp: dict[str, Any] | None, message: str) -> None:
    schema = {"type": "object", "required": ["replicas"], "properties": {
        "replicas": {"type": "integer"}, "mode": {"type": "string", "enum": ["slow", "steady"]},
        "ports": {"type": "array", "items": {"type": "integer"}},
        "resources": {"type": "object", "required": ["cpu"], "properties": {"cpu": {"type": "string"}}}}}
    add_definition(colony, schema=schema)
    if bp is not None:
        bp["metadata"]["colonyname"] = colony.name
    err = expect_error(400, colony.call, "addblueprintmsg", {"blueprint": bp}, colony.user)
    assert message in err.message
    assert colony.call("getblueprintsmsg", {"namespace": colony.name}, colony.user) == []
    good = {"kind": "Sleeper", "metadata": {"name": "ok", "colonyname": colony.name},
            "spec": {"replicas": 3.0, "mode": "steady", "ports": [80], "resources": {"cpu": "1"}}}
    assert add(colony, good)["spec"]["replicas"] == 3  # Go keeps numbers as float64: 3.0 is 3


def test_update_bumps_generation_and_records_history(colony: Colony) -> None:
    add_definition(colony)
    bp = add(colony, blueprint(colony, replicas=1))
    assert len(waiting(colony)) == 1
    bp["spec"]["replicas"] = 3
    bp["metadata"]["labels"] = {"v": "2"}
    updated = update(colony, bp)
    assert updated["metadata"]["generation"] == 2 and updated["spec"] == {"replicas": 3}
    assert updated["metadata"]["labels"] == {"v": "2"} and updated["blueprintid"] == bp["blueprintid"]
    again = update(colony, {**bp, "metadata": {**bp["metadata"], "labels": {"v": "3"}}})  # same spec
    assert again["metadata"]["generation"] == 2 and again["metadata"]["labels"] == {"v": "3"}
    assert update(colony, bp, force=True)["metadata"]["generation"] == 3
    procs = waiting(colony)
    assert len(procs) == 3  # add, the spec change, the forced generation; not the label-only update
    assert procs[-1]["processid"] == get(colony)["metadata"]["lastReconciliationProcess"]
    history = colony.call("getblueprinthistorymsg", {"blueprintid": bp["blueprintid"]}, colony.owner)
    assert [(h["generation"], h["changetype"], h["spec"]["replicas"]) for h in history] == [
        (3, "update", 3), (2, "update", 3), (1, "create", 1)]  # fmt: skip
    assert list(history[0]) == ["historyid", "blueprintid", "kind", "namespace", "name", "generation", "spec",
                                "timestamp", "changedby", "changetype"]  # fmt: skip
    assert history[0]["changedby"] == colony.user.id and history[0]["namespace"] == colony.name
    limited = colony.call("getblueprinthistorymsg", {"blueprintid": bp["blueprintid"], "limit": 1}, colony.user)
    assert [h["generation"] for h in limited] == [3]
    expect_error(404, colony.call, "getblueprinthistorymsg", {"blueprintid": "0" * 64}, colony.user)


def test_update_rules(colony: Colony) -> None:
    add_definition(colony)
    add_definition(colony, kind="Other")
    bp = add(colony, blueprint(colony))
    expect_error(404, update, colony, blueprint(colony, "missing"))
    assert "kind cannot change" in expect_error(400, update, colony, {**bp, "kind": "Other"}).message
    moved = {**bp, "metadata": {**bp["metadata"], "locationname": "elsewhere"}}
    assert "location cannot change" in expect_error(400, update, colony, moved).message
    colony.call("updateblueprintstatusmsg", {"colonyname": colony.name, "blueprintname": "sleepers",
                                             "status": {"ready": 2}}, colony.executor)  # fmt: skip
    stale = {**bp, "status": {"ready": 0}, "spec": {"replicas": 5}}  # a client's old copy must not undo the report
    assert update(colony, stale)["status"] == {"ready": 2}
    expect_error(400, colony.call, "updateblueprintmsg", {"blueprint": None}, colony.user)


def test_status_is_the_reconcilers(colony: Colony) -> None:
    add_definition(colony)
    bp = add(colony, blueprint(colony))
    assert "status" not in bp
    msg = {"colonyname": colony.name, "blueprintname": "sleepers", "status": {"readyReplicas": 2, "ok": True}}
    assert colony.call("updateblueprintstatusmsg", msg, colony.executor) == {}
    got = get(colony)
    assert got["status"] == {"ok": True, "readyReplicas": 2} and got["metadata"]["generation"] == 1
    assert list(got) == ["blueprintid", "kind", "metadata", "spec", "status"]
    expect_error(404, colony.call, "updateblueprintstatusmsg", {**msg, "blueprintname": "missing"}, colony.executor)
    expect_error(400, colony.call, "updateblueprintstatusmsg", {**msg, "status": [1]}, colony.executor)


# -- reconciliation ---------------------------------------------------------------------------------------------


def test_adding_makes_the_cron_the_location_and_a_reconcile_process(colony: Colony) -> None:
    add_definition(colony, handler={"reconcileInterval": 3600})
    bp = blueprint(colony)
    bp["metadata"]["locationname"] = "edge"
    added = add(colony, bp)
    location = colony.call("getlocationmsg", {"colonyname": colony.name, "name": "edge"}, colony.owner)
    assert location["description"] == "Auto-created from blueprint sleepers"
    cron = crons(colony)["reconcile-Sleeper-edge"]
    assert cron["interval"] == 3600 and cron["waitforprevprocessgraph"] and cron["initiatorid"] == colony.user.id
    workflow = json.loads(cron["workflowspec"])
    assert workflow["functionspecs"][0]["funcname"] == "reconcile"
    assert workflow["functionspecs"][0]["kwargs"] == {"kind": "Sleeper"}
    assert workflow["functionspecs"][0]["conditions"]["locationname"] == "edge"
    [process] = waiting(colony)
    spec = process["spec"]
    assert process["processid"] == added["metadata"]["lastReconciliationProcess"]
    assert spec["funcname"] == "reconcile" and spec["kwargs"] == {"kind": "Sleeper", "blueprintName": "sleepers"}
    assert spec["conditions"]["executortype"] == RECONCILER and spec["conditions"]["locationname"] == "edge"
    assert process["initiatorname"] == colony.user.name
    # The reconciler at that location takes it; one elsewhere does not.
    elsewhere = colony.add_executor("reconciler-elsewhere", RECONCILER, locationname="cloud")
    expect_error(404, colony.assign, elsewhere)
    there = colony.add_executor("reconciler-edge", RECONCILER, locationname="edge")
    assert colony.assign(there)["processid"] == process["processid"]
    # What a reconciler deploys may be an executor that names its blueprint and generation.
    replica = new_identity("replica-0")
    colony.call("addexecutormsg", {"executor": {"executorid": replica.id, "executorname": replica.name,
                "executortype": "worker", "colonyname": colony.name, "blueprintid": added["blueprintid"],
                "blueprintgen": 1}}, colony.owner)  # fmt: skip
    found = colony.call("getexecutormsg", {"colonyname": colony.name, "executorname": replica.name}, colony.user)
    assert (found["blueprintid"], found["blueprintgen"]) == (added["blueprintid"], 1)


def test_the_cron_is_per_kind_and_location_and_goes_with_the_last_blueprint(colony: Colony) -> None:
    add_definition(colony, handler={"reconcileInterval": 3600})
    add(colony, blueprint(colony, "one"))
    add(colony, blueprint(colony, "two"))
    assert list(crons(colony)) == ["reconcile-Sleeper"]
    colony.call("removeblueprintmsg", {"namespace": colony.name, "name": "one"}, colony.user)
    assert list(crons(colony)) == ["reconcile-Sleeper"]
    colony.call("removeblueprintmsg", {"namespace": colony.name, "name": "two"}, colony.owner)
    assert crons(colony) == {}
    cleanups = [p for p in waiting(colony) if p["spec"]["funcname"] == "cleanup"]
    assert [p["spec"]["kwargs"] for p in cleanups] == [{"kind": "Sleeper", "blueprintName": "one"},
                                                       {"kind": "Sleeper", "blueprintName": "two"}]  # fmt: skip
    assert cleanups[1]["initiatorname"] == ""  # the colony owner removed it: neither a user nor an executor


def test_the_blueprints_handler_overrides_the_definitions(colony: Colony) -> None:
    """pycolonies' documented flow: a definition without a handler, blueprints that name their reconciler."""
    msg = {"blueprintdefinition": {"kind": "HomeDevice", "metadata": {"name": "home-device-def",
           "colonyname": colony.name}, "spec": {"names": {"kind": "HomeDevice"}}}}  # fmt: skip
    colony.call("addblueprintdefinitionmsg", msg, colony.owner)
    light = {"kind": "HomeDevice", "metadata": {"name": "light", "colonyname": colony.name},
             "handler": {"executortype": "home-reconciler"}, "spec": {"power": True}}  # fmt: skip
    added = add(colony, light)
    assert added["handler"] == {"executorType": "home-reconciler"}  # Go's key, matched case-insensitively
    assert crons(colony)["reconcile-HomeDevice"]["interval"] == 60  # no reconcileInterval: the Go server's 60 s
    [process] = waiting(colony, "home-reconciler")
    assert process["spec"]["kwargs"]["blueprintName"] == "light"
    lamp = {"kind": "HomeDevice", "metadata": {"name": "lamp", "colonyname": colony.name}, "spec": {}}
    assert "lastReconciliationProcess" not in add(colony, lamp)["metadata"]  # nobody reconciles it
    err = expect_error(400, colony.call, "reconcileblueprintmsg", {"namespace": colony.name, "name": "lamp"},
                       colony.user)  # fmt: skip
    assert "no handler" in err.message


def test_reconcile_adds_a_process_and_force_bumps_the_generation(colony: Colony) -> None:
    add_definition(colony)
    add(colony, blueprint(colony))
    msg = {"namespace": colony.name, "name": "sleepers", "force": False}
    process = colony.call("reconcileblueprintmsg", msg, colony.executor)
    assert process["spec"]["kwargs"] == {"kind": "Sleeper", "blueprintName": "sleepers"} and process["state"] == 0
    assert get(colony)["metadata"]["generation"] == 1
    forced = colony.call("reconcileblueprintmsg", {**msg, "force": True}, colony.user)
    assert forced["spec"]["kwargs"]["force"] is True
    got = get(colony)
    assert got["metadata"]["generation"] == 2 and got["metadata"]["lastReconciliationProcess"] == forced["processid"]
    assert [p["processid"] for p in waiting(colony)][-2:] == [process["processid"], forced["processid"]]
    expect_error(404, colony.call, "reconcileblueprintmsg", {**msg, "name": "missing"}, colony.user)


def test_a_reconciler_executor_handles_immediate_and_cron_reconciliations(colony: Colony) -> None:
    """An executor written with colonies.executor serves ``reconcile``: the immediate process names the blueprint,
    the cron's names only the kind; both end with the status reported."""
    add_definition(colony, handler={"reconcileInterval": 1})
    ident = colony.add_executor("reconciler", RECONCILER)
    client = Colonies("127.0.0.1", colony.server.port)
    seen: list[dict[str, Any]] = []

    executor = Executor(colonyname=colony.name, host="127.0.0.1", port=colony.server.port, prvkey=ident.prvkey,
                        handle_signals=False, assign_timeout=1)  # fmt: skip

    @executor.function("reconcile")
    def reconcile(kind: str, blueprintName: str = "", force: bool = False) -> str:  # noqa: N803 - the wire name
        seen.append({"kind": kind, "blueprintName": blueprintName})
        names = [blueprintName] if blueprintName else [
            b["metadata"]["name"] for b in client.get_blueprints(colony.name, ident.prvkey, kind=kind)]
        for name in names:
            bp = client.get_blueprint(colony.name, name, ident.prvkey)
            status = {"readyReplicas": bp["spec"]["replicas"], "observedGeneration": bp["metadata"]["generation"]}
            client.update_blueprint_status(colony.name, name, status, ident.prvkey)
        return f"reconciled {len(names)}"

    executor.run_in_thread()
    try:
        assert executor.wait_ready(20)
        add(colony, blueprint(colony, replicas=4))
        wait_for(lambda: get(colony).get("status", {}).get("readyReplicas") == 4, what="the immediate reconcile")
        wait_for(lambda: any(not s["blueprintName"] for s in seen), what="a reconcile from the cron")
        assert {"kind": "Sleeper", "blueprintName": "sleepers"} in seen
        bp = get(colony)
        bp["spec"]["replicas"] = 1
        update(colony, bp)
        wait_for(lambda: get(colony)["status"] == {"observedGeneration": 2, "readyReplicas": 1}, what="the update")
    finally:
        executor.stop(now=True)
        executor.join(20)


def test_removing_the_colony_removes_its_blueprints(server: Server) -> None:
    colony = create_colony(server)
    add_definition(colony)
    bp = add(colony, blueprint(colony))
    server.call("removecolonymsg", {"colonyname": colony.name}, server.prvkey)
    again = create_colony(server, colony.name)
    assert again.call("getblueprintdefinitionsmsg", {"colonyname": colony.name}, again.user) == []
    assert again.call("getblueprintsmsg", {"namespace": colony.name}, again.user) == []
    expect_error(404, again.call, "getblueprinthistorymsg", {"blueprintid": bp["blueprintid"]}, again.user)
    assert crons(again) == {}


def test_colonies_do_not_share_blueprints(server: Server, colony: Colony) -> None:
    other = create_colony(server)
    add_definition(colony)
    add_definition(other)  # the same names in another colony
    bp = add(colony, blueprint(colony))
    add(other, blueprint(other))
    for who in (other.user, other.owner, other.executor):
        expect_error(403, colony.call, "getblueprintmsg", {"namespace": colony.name, "name": "sleepers"}, who)
        expect_error(403, colony.call, "getblueprinthistorymsg", {"blueprintid": bp["blueprintid"]}, who)
    other.call("removeblueprintmsg", {"namespace": other.name, "name": "sleepers"}, other.user)
    assert get(colony)["blueprintid"] == bp["blueprintid"]


# -- the SDK ----------------------------------------------------------------------------------------------------


def test_the_sdk_calls_as_pycolonies_documents_them(colony: Colony) -> None:
    """docs/blueprints.md of pycolonies, step by step, with our sync client."""
    sdk = Colonies("127.0.0.1", colony.server.port)
    owner, key = colony.owner.prvkey, colony.executor.prvkey
    definition_ = {"kind": "HomeDevice", "metadata": {"name": "home-device-def", "colonyname": colony.name},
                   "spec": {"names": {"kind": "HomeDevice"}}}  # fmt: skip
    sdk.add_blueprint_definition(definition_, owner)
    assert [d["metadata"]["name"] for d in sdk.get_blueprint_definitions(colony.name, owner)] == ["home-device-def"]
    found = sdk.get_blueprint_definition(colony.name, "home-device-def", owner)
    assert found["spec"]["names"]["kind"] == "HomeDevice"
    light = {"kind": "HomeDevice", "metadata": {"name": "living-room-light", "colonyname": colony.name},
             "handler": {"executortype": "home-reconciler"}, "spec": {"deviceType": "light", "power": True,
                                                                     "brightness": 80}}  # fmt: skip
    sdk.add_blueprint(light, key)
    bp = sdk.get_blueprint(colony.name, "living-room-light", key)
    assert bp["spec"]["brightness"] == 80
    assert [b["metadata"]["name"] for b in sdk.get_blueprints(colony.name, key, kind="HomeDevice")] == [
        "living-room-light"]  # fmt: skip
    assert sdk.get_blueprints(colony.name, key, kind="HomeDevice", location="nowhere") == []
    bp["spec"]["brightness"] = 100
    assert sdk.update_blueprint(bp, key)["metadata"]["generation"] == 2
    assert sdk.update_blueprint(bp, key, force_generation=True)["metadata"]["generation"] == 3
    sdk.update_blueprint_status(colony.name, "living-room-light", {"power": True, "brightness": 100}, key)
    process = sdk.reconcile_blueprint(colony.name, "living-room-light", key)
    assert process["spec"]["funcname"] == "reconcile"
    assert sdk.reconcile_blueprint(colony.name, "living-room-light", key, force=True)["spec"]["kwargs"]["force"]
    history = sdk.get_blueprint_history(bp["blueprintid"], key, limit=10)
    assert [h["generation"] for h in history] == [3, 2, 1]
    sdk.remove_blueprint(colony.name, "living-room-light", key)
    sdk.remove_blueprint_definition(colony.name, "home-device-def", owner)
    assert sdk.get_blueprint_definitions(colony.name, owner) == []


def test_the_async_sdk(colony: Colony) -> None:
    async def scenario() -> None:
        async with AsyncColonies("127.0.0.1", colony.server.port) as sdk:
            await sdk.add_blueprint_definition(definition(colony), colony.owner.prvkey)
            key = colony.user.prvkey
            added = await sdk.add_blueprint(blueprint(colony, replicas=1), key)
            added["spec"]["replicas"] = 2
            assert (await sdk.update_blueprint(added, key))["metadata"]["generation"] == 2
            await sdk.update_blueprint_status(colony.name, "sleepers", {"ready": 2}, colony.executor.prvkey)
            assert (await sdk.get_blueprint(colony.name, "sleepers", key))["status"] == {"ready": 2}
            assert len(await sdk.get_blueprint_history(added["blueprintid"], key)) == 2
            assert (await sdk.reconcile_blueprint(colony.name, "sleepers", key))["state"] == 0
            await sdk.remove_blueprint(colony.name, "sleepers", key)
            assert await sdk.get_blueprints(colony.name, key) == []

    asyncio.run(scenario())


# -- the CLI ----------------------------------------------------------------------------------------------------


def cli_env(colony: Colony) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
    return {**base, "COLONIES_SERVER_HOST": "127.0.0.1", "COLONIES_SERVER_PORT": str(colony.server.port),
            "COLONIES_TLS": "false", "COLONIES_COLONY_NAME": colony.name, "COLONIES_PRVKEY": colony.user.prvkey,
            "COLONIES_COLONY_PRVKEY": colony.owner.prvkey, "PYTHONPATH": os.environ.get("PYTHONPATH", "")}


def cli(colony: Colony, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "colonies", *args], env=cli_env(colony), capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip
    assert "Traceback" not in proc.stderr, proc.stderr
    if ok:
        assert proc.returncode == 0, f"colonies {' '.join(args)}: {proc.stderr}"
    return proc


def cli_json(colony: Colony, *args: str) -> Any:
    return json.loads(cli(colony, *args, "--json").stdout)


def test_the_cli(colony: Colony, tmp_path: Path) -> None:
    spec_file = tmp_path / "definition.json"
    d = definition(colony, handler={"reconcileInterval": 3600})
    del d["metadata"]["colonyname"]  # filled from COLONIES_COLONY_NAME
    spec_file.write_text(json.dumps(d))
    added = cli_json(colony, "blueprint", "definition", "add", "--spec", str(spec_file))
    assert added["metadata"]["colonyname"] == colony.name
    assert [x["metadata"]["name"] for x in cli_json(colony, "blueprint", "definition", "ls")] == ["sleeper-def"]
    assert cli_json(colony, "blueprint", "definition", "get", "--name", "sleeper-def") == added
    bp_file = tmp_path / "bp.json"
    bp_file.write_text(json.dumps({"kind": "Sleeper", "metadata": {"name": "sleepers"}, "spec": {"replicas": 1}}))
    bp = cli_json(colony, "blueprint", "add", "--spec", str(bp_file))
    assert cli(colony, "blueprint", "add", "--spec", str(bp_file), ok=False).stderr.startswith("Error: ")
    assert [b["metadata"]["name"] for b in cli_json(colony, "blueprint", "ls", "--kind", "Sleeper")] == ["sleepers"]
    assert cli_json(colony, "blueprint", "ls", "--kind", "Nothing") == []
    set_ = cli_json(colony, "blueprint", "set", "--name", "sleepers", "--key", "spec.replicas", "--value", "4")
    assert set_["spec"] == {"replicas": 4} and set_["metadata"]["generation"] == 2
    labelled = cli_json(colony, "blueprint", "set", "--name", "sleepers", "--key", "metadata.labels.team",
                        "--value", "blue")  # fmt: skip
    assert labelled["metadata"]["labels"] == {"team": "blue"} and labelled["metadata"]["generation"] == 2
    assert "--key must start with" in cli(colony, "blueprint", "set", "--name", "sleepers", "--key", "status.x",
                                          "--value", "1", ok=False).stderr  # fmt: skip
    bp_file.write_text(json.dumps({**bp, "spec": {"replicas": 5}}))
    assert cli_json(colony, "blueprint", "update", "--spec", str(bp_file))["metadata"]["generation"] == 3
    forced = cli_json(colony, "blueprint", "update", "--spec", str(bp_file), "--force-generation")
    assert forced["metadata"]["generation"] == 4
    history = cli_json(colony, "blueprint", "history", "--name", "sleepers", "--limit", "2")
    assert [h["generation"] for h in history] == [4, 3]
    reported = cli_json(colony, "blueprint", "status", "--name", "sleepers", "--set", '{"readyReplicas": 5}')
    assert reported["status"] == {"readyReplicas": 5} and reported["generation"] == 4
    assert cli_json(colony, "blueprint", "status", "--name", "sleepers")["status"] == {"readyReplicas": 5}
    process = cli_json(colony, "blueprint", "reconcile", "--name", "sleepers", "--force")
    assert process["spec"]["kwargs"]["force"] is True
    assert cli_json(colony, "blueprint", "get", "--name", "sleepers")["metadata"]["generation"] == 5
    # The tables render (no --json) without errors.
    for args in (("definition", "ls"), ("definition", "get", "--name", "sleeper-def"), ("ls",),
                 ("get", "--name", "sleepers"), ("history", "--name", "sleepers"), ("status", "--name", "sleepers")):
        out = cli(colony, "blueprint", *args).stdout
        assert out.strip()
    assert "sleepers" in cli(colony, "blueprint", "ls").stdout and "5/5" in cli(colony, "blueprint", "ls").stdout
    err = cli(colony, "blueprint", "definition", "remove", "--name", "sleeper-def", ok=False).stderr
    assert err.startswith("Error: ") and "still exist" in err
    assert cli_json(colony, "blueprint", "remove", "--name", "sleepers")["removed"] is True
    assert cli_json(colony, "blueprint", "definition", "remove", "--name", "sleeper-def")["removed"] is True
    assert cli_json(colony, "blueprint", "definition", "ls") == []


# -- the example reconciler -------------------------------------------------------------------------------------


def alive(pid: int) -> bool:
    """Running (a zombie, killed but not yet reaped by its parent, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return True


@pytest.fixture
def reconciler(colony: Colony, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """examples/blueprints/reconciler.py as a user starts it (self-registering, local backend)."""
    env = cli_env(colony)
    del env["COLONIES_PRVKEY"]  # the colony key alone: it registers itself
    state = tmp_path / "state"
    proc = subprocess.Popen([sys.executable, str(EXAMPLE / "reconciler.py"), "--backend", "local", "--state-dir",
                             str(state)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        yield {"proc": proc, "state": state}
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        for pid_file in state.rglob("*.json"):  # replicas outlive their reconciler by design: not this test's
            try:
                os.killpg(json.loads(pid_file.read_text())["pid"], signal.SIGKILL)
            except (ProcessLookupError, PermissionError, ValueError):
                pass


def test_the_example_reconciler_keeps_the_replicas_running(colony: Colony, reconciler: dict[str, Any]) -> None:
    d = json.loads((EXAMPLE / "definition.json").read_text())
    d["metadata"]["colonyname"] = colony.name
    d["spec"]["handler"]["reconcileInterval"] = 1  # a quick self-healing pass
    colony.call("addblueprintdefinitionmsg", {"blueprintdefinition": d}, colony.owner)
    bp = json.loads((EXAMPLE / "deployment.json").read_text())
    bp["metadata"]["colonyname"] = colony.name
    bp["spec"].update(replicas=2, command=["sleep", "300"])
    add(colony, bp)

    def ready(count: int, generation: int) -> list[int] | None:
        status = get(colony).get("status", {})
        pids = [i["pid"] for i in status.get("instances", [])]
        if status.get("readyReplicas") == count and status.get("observedGeneration") == generation:
            if len(pids) == count and all(alive(pid) for pid in pids):
                return pids
        return None

    first = wait_for(lambda: ready(2, 1), 60, "two replicas")
    scaled = get(colony)
    scaled["spec"]["replicas"] = 3
    update(colony, scaled)
    second = wait_for(lambda: ready(3, 2), 30, "three replicas")
    assert set(first) < set(second)  # scaling up keeps the running replicas
    os.kill(second[0], signal.SIGKILL)  # a replica dies: the reconcile cron brings it back
    healed = wait_for(lambda: (pids := ready(3, 2)) and second[0] not in pids and pids, 30, "the replica replaced")
    assert set(second[1:]) < set(healed)
    forced = colony.call("reconcileblueprintmsg", {"namespace": colony.name, "name": "sleepers", "force": True},
                         colony.user)  # fmt: skip
    restarted = wait_for(lambda: (pids := ready(3, 3)) and not set(pids) & set(healed) and pids, 30, "a restart")
    # the status is reported before the process is closed
    wait_for(lambda: colony.get(forced["processid"], colony.user)["state"] == 2, 30, "the forced reconcile to end")
    colony.call("removeblueprintmsg", {"namespace": colony.name, "name": "sleepers"}, colony.user)
    wait_for(lambda: not any(alive(pid) for pid in restarted), 30, "the cleanup to stop the replicas")
    wait_for(lambda: not list(reconciler["state"].rglob("*.json")), 10, "the pid files to go")
    proc = reconciler["proc"]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    out = proc.stdout.read() if proc.stdout else ""
    assert "reconciling Deployment blueprints" in out and "Traceback" not in out


"""Locations (protocol §3.15), location-bound assignment (§5.2), key rotation with changeuseridmsg and
changeexecutoridmsg, and the v1.7.8 client fixes: capabilities as objects, removed executors not listed."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from conftest import Colony, Server, create_colony, new_identity

from colonies.exceptions import ColoniesError


def location(colony: Colony, name: str = "lumi", **extra: Any) -> dict[str, Any]:
    loc = {"locationid": "", "name": name, "colonyname": colony.name, "description": "LUMI, Kajaani",
           "long": 27.73, "lat": 64.22, **extra}  # fmt: skip
    return colony.call("addlocationmsg", {"location": loc}, colony.owner)


def test_add_get_list_remove(colony: Colony) -> None:
    added = location(colony)
    assert list(added) == ["locationid", "name", "colonyname", "description", "long", "lat"]
    assert len(added["locationid"]) == 64 and added["long"] == 27.73 and added["lat"] == 64.22
    given = location(colony, "leonardo", locationid="ab" * 32, long=11, lat=44)
    assert given["locationid"] == "ab" * 32 and given["long"] == 11.0
    assert colony.call("getlocationmsg", {"colonyname": colony.name, "name": "lumi"}, colony.executor) == added
    listed = colony.call("getlocationsmsg", {"colonyname": colony.name}, colony.user)
    assert [loc["name"] for loc in listed] == ["leonardo", "lumi"]
    with pytest.raises(ColoniesError) as err:
        location(colony)
    assert err.value.status == 400 and "already exists" in str(err.value)
    assert colony.call("removelocationmsg", {"colonyname": colony.name, "name": "lumi"}, colony.owner) == {}
    for payloadtype in ("getlocationmsg", "removelocationmsg"):
        with pytest.raises(ColoniesError) as err:
            colony.call(payloadtype, {"colonyname": colony.name, "name": "lumi"}, colony.owner if
                        payloadtype == "removelocationmsg" else colony.user)  # fmt: skip
        assert err.value.status == 404


@pytest.mark.parametrize(("extra", "message"), [
    ({"long": 181}, "long 181"), ({"lat": -91}, "lat -91"), ({"locationid": "short"}, "location id"),
    ({"name": ""}, "location name"),
])  # fmt: skip
def test_bad_locations_are_refused(colony: Colony, extra: dict[str, Any], message: str) -> None:
    with pytest.raises(ColoniesError) as err:
        location(colony, **extra) if "name" not in extra else colony.call(
            "addlocationmsg", {"location": {"colonyname": colony.name, **extra}}, colony.owner)
    assert err.value.status == 400 and message in str(err.value)


def test_roles(server: Server, colony: Colony) -> None:
    location(colony)
    other = create_colony(server)
    for who in (colony.user, colony.executor, other.owner, server.prvkey):  # only the colony owner writes
        for payloadtype, msg in (("addlocationmsg", {"location": {"name": "x", "colonyname": colony.name}}),
                                 ("removelocationmsg", {"colonyname": colony.name, "name": "lumi"})):
            with pytest.raises(ColoniesError) as err:
                colony.call(payloadtype, msg, who)
            assert err.value.status == 403, (payloadtype, who)
    for who in (other.user, new_identity("stranger"), colony.add_executor(approve=False)):  # members read
        for payloadtype, msg in (("getlocationsmsg", {"colonyname": colony.name}),
                                 ("getlocationmsg", {"colonyname": colony.name, "name": "lumi"})):
            with pytest.raises(ColoniesError) as err:
                colony.call(payloadtype, msg, who)
            assert err.value.status == 403, (payloadtype, who)


def test_a_process_with_a_location_goes_only_to_an_executor_there(colony: Colony) -> None:
    location(colony)
    at_lumi = colony.add_executor("at-lumi", locationname="LUMI")  # case-insensitive, as the original
    elsewhere = colony.add_executor("elsewhere", locationname="leonardo")
    bound = colony.submit(colony.user, conditions={"locationname": "lumi"})
    with pytest.raises(ColoniesError) as err:
        colony.assign(elsewhere)
    assert err.value.status == 404
    assert colony.assign(at_lumi)["processid"] == bound["processid"]
    free = colony.submit(colony.user)
    assert colony.assign(elsewhere)["processid"] == free["processid"]  # no location: any executor


def test_removing_the_colony_removes_its_locations(server: Server) -> None:
    colony = create_colony(server)
    location(colony)
    server.call("removecolonymsg", {"colonyname": colony.name}, server.prvkey)
    again = create_colony(server, colony.name)
    assert again.call("getlocationsmsg", {"colonyname": colony.name}, again.user) == []


def test_a_user_rotates_its_key(colony: Colony) -> None:
    new = new_identity("rotated")
    reply = colony.call("changeuseridmsg", {"colonyname": colony.name, "userid": new.id}, colony.user)
    assert reply == {"colonyname": colony.name, "userid": new.id, "msgtype": "changeuseridmsg"}
    with pytest.raises(ColoniesError) as err:
        colony.call("getusersmsg", {"colonyname": colony.name}, colony.user)  # the old key stopped working
    assert err.value.status == 403
    users = colony.call("getusersmsg", {"colonyname": colony.name}, new)
    assert new.id in {u["userid"] for u in users} and colony.user.id not in {u["userid"] for u in users}


def test_an_executor_rotates_its_key_and_keeps_its_running_process(colony: Colony) -> None:
    colony.submit(colony.user)
    running = colony.assign()
    new = new_identity("rotated-executor")
    colony.call("changeexecutoridmsg", {"colonyname": colony.name, "executorid": new.id}, colony.executor)
    with pytest.raises(ColoniesError) as err:
        colony.close(running["processid"], ["old key"])
    assert err.value.status == 403
    colony.close(running["processid"], ["new key"], who=new)
    assert colony.get(running["processid"], new)["out"] == ["new key"]


def test_change_id_rules(server: Server, colony: Colony) -> None:
    taken = colony.add_executor()
    for payloadtype, field, who in (("changeuseridmsg", "userid", colony.user),
                                    ("changeexecutoridmsg", "executorid", colony.executor)):
        with pytest.raises(ColoniesError) as err:  # an id another member has
            colony.call(payloadtype, {"colonyname": colony.name, field: taken.id}, who)
        assert err.value.status == 400 and "already used" in str(err.value)
        with pytest.raises(ColoniesError) as err:
            colony.call(payloadtype, {"colonyname": colony.name, field: "not-an-id"}, who)
        assert err.value.status == 400
    other = create_colony(server)
    fresh = new_identity("fresh").id
    for who in (colony.executor, colony.owner, other.user, server.prvkey):  # only users rotate user ids
        with pytest.raises(ColoniesError) as err:
            colony.call("changeuseridmsg", {"colonyname": colony.name, "userid": fresh}, who)
        assert err.value.status == 403, who
    for who in (colony.user, colony.owner, other.executor, colony.add_executor(approve=False)):
        with pytest.raises(ColoniesError) as err:
            colony.call("changeexecutoridmsg", {"colonyname": colony.name, "executorid": fresh}, who)
        assert err.value.status == 403, who


# -- what the v1.7.8 Go clients parse -------------------------------------------------------------------------

V178_HARDWARE_KEYS = {"model", "nodes", "cpu", "mem", "storage", "gpu"}


@pytest.mark.parametrize("capabilities", [
    {"hardware": [{"model": "x86", "nodes": 1, "cpu": "4000m", "mem": "8Gi", "storage": "", "cores": 4,
                   "gpu": {"name": "", "mem": "", "count": 0, "nodecount": 0}}],
     "software": [{"name": "python", "type": "runtime", "version": "3.11"}]},  # v1.9 arrays
    {"hardware": [], "software": []},  # what colonies dev used to store
    {"hardware": {"model": "x86", "nodes": 1, "cpu": "", "mem": "", "storage": "",
                  "gpu": {"name": "", "mem": "", "count": 0, "nodecount": 0}},
     "software": {"name": "python", "type": "runtime", "version": "3.11"}},  # v1.7.8 objects
    None,
])  # fmt: skip
def test_capabilities_come_back_as_objects_for_every_executor(colony: Colony, capabilities: Any) -> None:
    ident = new_identity(f"caps-{os.urandom(3).hex()}")
    executor = {"executorid": ident.id, "executorname": ident.name, "executortype": "t", "colonyname": colony.name}
    if capabilities is not None:
        executor["capabilities"] = capabilities
    colony.call("addexecutormsg", {"executor": executor}, colony.owner)
    colony.call("approveexecutormsg", {"colonyname": colony.name, "executorname": ident.name}, colony.owner)
    replies = [colony.call("getexecutormsg", {"colonyname": colony.name, "executorname": ident.name}, colony.user),
               colony.call("getexecutorbyidmsg", {"colonyname": colony.name, "executorid": ident.id}, colony.user),
               *[e for e in colony.call("getexecutorsmsg", {"colonyname": colony.name}, colony.user)
                 if e["executorname"] == ident.name]]  # fmt: skip
    assert len(replies) == 3
    for reply in replies:
        caps = reply["capabilities"]
        assert isinstance(caps["hardware"], dict) and isinstance(caps["software"], dict), caps
    if capabilities and capabilities["hardware"]:
        assert V178_HARDWARE_KEYS <= set(replies[0]["capabilities"]["hardware"])
        assert replies[0]["capabilities"]["software"]["name"] == "python"


def test_removed_executors_are_not_listed_counted_or_found(colony: Colony) -> None:
    gone = colony.add_executor("gone")
    before = colony.call("getcolonystatsmsg", {"colonyname": colony.name}, colony.user)
    colony.call("removeexecutormsg", {"colonyname": colony.name, "executorname": "gone"}, colony.owner)
    listed = colony.call("getexecutorsmsg", {"colonyname": colony.name}, colony.user)
    assert "gone" not in {e["executorname"] for e in listed} and all(e["state"] != 3 for e in listed)
    for payloadtype, msg in (("getexecutormsg", {"colonyname": colony.name, "executorname": "gone"}),
                             ("getexecutorbyidmsg", {"colonyname": colony.name, "executorid": gone.id})):
        with pytest.raises(ColoniesError) as err:
            colony.call(payloadtype, msg, colony.user)
        assert err.value.status == 404, payloadtype
    after = colony.call("getcolonystatsmsg", {"colonyname": colony.name}, colony.user)
    assert after["executors"] == before["executors"] - 1 and after["activeexecutors"] == before["activeexecutors"] - 1
    assert after["unregisteredexecutors"] == before["unregisteredexecutors"] + 1  # the v1.9 field says how many


def test_the_dev_seeded_executor_is_parsed_by_the_original_cli(tmp_path: Any) -> None:
    """``colonies dev`` seeds an executor; its capabilities must be objects like every other executor's."""
    import subprocess
    import sys
    import time

    from conftest import free_port

    from colonies.client import Colonies

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
    proc = subprocess.Popen([sys.executable, "-m", "colonies", "dev", "--port", str(port), "--data-dir",
                             str(tmp_path / "dev")], env=env, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        exports: dict[str, str] = {}
        assert proc.stdout is not None
        deadline = time.monotonic() + 30
        while "COLONIES_PRVKEY" not in exports and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line.startswith("export "):
                key, _, value = line[len("export "):].strip().partition("=")
                exports[key] = value
        client = Colonies("127.0.0.1", port)
        for executor in client.list_executors(exports["COLONIES_COLONY_NAME"], exports["COLONIES_PRVKEY"]):
            caps = json.loads(json.dumps(executor["capabilities"]))
            assert isinstance(caps["hardware"], dict) and isinstance(caps["software"], dict), caps
    finally:
        proc.terminate()
        proc.wait(timeout=10)

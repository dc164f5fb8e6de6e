"""Crons through a real server (protocol §3.11, §6.2): schedules, firing on time, waiting for the previous workflow,
leaf outputs handed on, random windows, catch-up after downtime, roles and bad input."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from conftest import PG_URL, Colony, Server, create_colony, fresh_database, new_identity, start_server
from sched_helpers import eventually

from colonies.exceptions import ColoniesError

NS = 1_000_000_000


def workflow(colony: Colony, two_nodes: bool = False) -> str:
    specs = [colony.spec(nodename="first", args=[], kwargs={})]
    if two_nodes:
        specs.append(colony.spec(nodename="second", args=[], kwargs={}, conditions={"dependencies": ["first"]}))
    return json.dumps({"colonyname": colony.name, "functionspecs": specs})


def add_cron(colony: Colony, who: Any = None, **fields: Any) -> dict[str, Any]:
    cron = {"colonyname": colony.name, "name": f"cron-{time.monotonic_ns()}", "interval": -1,
            "cronexpression": "* * * * * *", "workflowspec": workflow(colony), **fields}  # fmt: skip
    return colony.call("addcronmsg", {"cron": cron}, who or colony.user)


def runs(colony: Colony, cronid: str, count: int = 100) -> list[dict[str, Any]]:
    return colony.call("getcronrunsmsg", {"cronid": cronid, "count": count}, colony.user)




def parse(text: str) -> int:
    from colonies.timefmt import parse_time

    return parse_time(text)


def test_add_get_list_remove_in_the_original_shape(colony: Colony) -> None:
    cron = add_cron(colony, name="nightly", cronexpression="0 0 3 * * *")
    assert list(cron) == ["cronid", "initiatorid", "initiatorname", "colonyname", "name", "cronexpression",
                          "interval", "random", "nextrun", "lastrun", "workflowspec", "prevprocessgraphid",
                          "waitforprevprocessgraph", "checkerperiod"]  # fmt: skip
    assert cron["initiatorid"] == colony.user.id and cron["interval"] == -1 and cron["random"] is False
    assert cron["lastrun"].startswith("0001-01-01") and cron["prevprocessgraphid"] == ""
    assert parse(cron["nextrun"]) > time.time_ns() and cron["nextrun"].endswith("03:00:00Z")  # UTC by default
    assert json.loads(cron["workflowspec"])["functionspecs"][0]["nodename"] == "first"
    assert colony.call("getcronmsg", {"cronid": cron["cronid"]}, colony.executor) == cron
    assert [c["cronid"] for c in colony.call("getcronsmsg", {"colonyname": colony.name, "count": 10}, colony.user)] \
        == [cron["cronid"]]
    assert colony.call("removecronmsg", {"cronid": cron["cronid"], "all": False}, colony.user) == {}
    assert colony.call("getcronsmsg", {"colonyname": colony.name, "count": 10}, colony.user) == []
    with pytest.raises(ColoniesError) as err:
        colony.call("getcronmsg", {"cronid": cron["cronid"]}, colony.user)
    assert err.value.status == 404


def test_the_misspelt_wait_key_of_the_original_sdk_sets_the_flag(colony: Colony) -> None:
    assert add_cron(colony, waitforprevprocessgrap=True)["waitforprevprocessgraph"] is True
    assert add_cron(colony, waitforprevprocessgraph=True)["waitforprevprocessgraph"] is True
    assert add_cron(colony)["waitforprevprocessgraph"] is False


@pytest.mark.parametrize(("fields", "message"), [
    ({"interval": 0}, "interval"),
    ({"interval": -5}, "interval"),
    ({"interval": -1, "random": True}, "Random cron is only supported when specifying intervals"),
    ({"cronexpression": "61 * * * * *"}, "invalid cron expression"),
    ({"cronexpression": "* * *"}, "expected 6 fields"),
    ({"cronexpression": "@every soon"}, "invalid duration"),
    ({"workflowspec": "not json"}, "Invalid workflowspec"),
    ({"workflowspec": json.dumps({"functionspecs": []})}, "no function specs"),
    ({"workflowspec": json.dumps({"colonyname": "elsewhere", "functionspecs": [{"nodename": "a"}]})}, "elsewhere"),
    ({"name": ""}, "cron name"),
])  # fmt: skip
def test_bad_crons_are_refused_with_400(colony: Colony, fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ColoniesError) as err:
        add_cron(colony, **fields)
    assert err.value.status == 400 and message in str(err.value)


def test_cycles_and_duplicate_names_are_refused(colony: Colony) -> None:
    cyclic = [colony.spec(nodename="a", conditions={"dependencies": ["b"]}),
              colony.spec(nodename="b", conditions={"dependencies": ["a"]})]  # fmt: skip
    with pytest.raises(ColoniesError) as err:
        add_cron(colony, workflowspec=json.dumps({"colonyname": colony.name, "functionspecs": cyclic}))
    assert err.value.status == 400 and "cycle" in str(err.value)
    add_cron(colony, name="same")
    with pytest.raises(ColoniesError) as err:
        add_cron(colony, name="same")
    assert err.value.status == 400 and "already exists" in str(err.value)


def test_every_message_refuses_non_members(server: Server, colony: Colony) -> None:
    cron = add_cron(colony, cronexpression="0 0 3 * * *")
    other = create_colony(server)
    stranger = new_identity("stranger")
    pending = colony.add_executor(approve=False)
    for who in (other.user, stranger, pending, colony.owner, server.prvkey):
        for payloadtype, msg in (
            ("addcronmsg", {"cron": {"colonyname": colony.name, "name": "x", "interval": 5,
                                     "workflowspec": workflow(colony)}}),
            ("getcronmsg", {"cronid": cron["cronid"]}),
            ("getcronsmsg", {"colonyname": colony.name, "count": 5}),
            ("runcronmsg", {"cronid": cron["cronid"]}),
            ("removecronmsg", {"cronid": cron["cronid"]}),
            ("getcronrunsmsg", {"cronid": cron["cronid"], "count": 5}),
        ):  # fmt: skip
            with pytest.raises(ColoniesError) as err:
                colony.call(payloadtype, msg, who)
            assert err.value.status == 403, (payloadtype, err.value)
    # runcronmsg refused before it runs anything (the original runs the cron first)
    assert runs(colony, cron["cronid"]) == []
    assert colony.call("getcronmsg", {"cronid": cron["cronid"]}, colony.user)["lastrun"].startswith("0001")


def test_a_cron_every_second_fires_once_per_second_on_time(colony: Colony) -> None:
    cron = add_cron(colony, cronexpression="* * * * * *")
    time.sleep(5.0)
    fired = runs(colony, cron["cronid"])
    # Each run's graph exists; a tick between the two reads (the cron still runs) adds one graph to the second.
    graphs = colony.call("getprocessgraphsmsg", {"colonyname": colony.name, "count": 100, "state": 0}, colony.user)
    later = runs(colony, cron["cronid"])
    colony.call("removecronmsg", {"cronid": cron["cronid"]}, colony.user)
    assert 4 <= len(fired) <= 6, fired
    scheduled = sorted(parse(r["scheduled"]) for r in fired)
    assert len(set(scheduled)) == len(scheduled)  # no tick twice
    assert all(b - a == NS for a, b in zip(scheduled, scheduled[1:]))  # none skipped
    delays = sorted(parse(r["fired"]) - parse(r["scheduled"]) for r in fired)
    assert delays[len(delays) // 2] < 100_000_000, delays  # the median firing is within 100 ms
    graph_ids = {g["processgraphid"] for g in graphs}
    assert {r["processgraphid"] for r in fired} <= graph_ids <= {r["processgraphid"] for r in later}


def test_runcron_starts_now_and_leaf_outputs_feed_the_next_run(colony: Colony) -> None:
    cron = add_cron(colony, cronexpression="0 0 3 * * *", workflowspec=workflow(colony, two_nodes=True))
    ran = colony.call("runcronmsg", {"cronid": cron["cronid"]}, colony.user)
    first_graph = ran["prevprocessgraphid"]
    assert first_graph and ran["lastrun"] != cron["lastrun"] and runs(colony, cron["cronid"])[0]["reason"].startswith("run")
    for out in (["a"], ["leaf-1", 2]):  # run both nodes; only the leaf's output is handed on
        proc = colony.assign()
        colony.close(proc["processid"], out)
    colony.call("runcronmsg", {"cronid": cron["cronid"]}, colony.user)
    root = colony.assign()
    assert root["processgraphid"] != first_graph and root["in"] == ["leaf-1", 2]


def test_waitforprev_holds_until_the_previous_workflow_ends(colony: Colony) -> None:
    cron = add_cron(colony, cronexpression="* * * * * *", waitforprevprocessgraph=True)
    first = eventually(lambda: runs(colony, cron["cronid"]))
    time.sleep(2.5)  # ticks pass while the first workflow waits: nothing else starts
    assert len(runs(colony, cron["cronid"])) == 1
    held = colony.call("getcronmsg", {"cronid": cron["cronid"]}, colony.user)
    assert parse(held["nextrun"]) < time.time_ns()  # not advanced while held
    # Cancelling the previous workflow releases the cron (the original blocks forever on a cancelled one).
    colony.call("cancelprocessgraphmsg", {"processgraphid": first[0]["processgraphid"]}, colony.user)
    second = eventually(lambda: len(runs(colony, cron["cronid"])) >= 2 and runs(colony, cron["cronid"]), 3)
    assert "waiting" in second[0]["reason"] and len(second) == 2  # one run for all the ticks missed
    proc = colony.assign()
    colony.close(proc["processid"], ["done"])  # the second ends successfully: the third follows on its tick
    eventually(lambda: len(runs(colony, cron["cronid"])) >= 3, 3)
    colony.call("removecronmsg", {"cronid": cron["cronid"]}, colony.user)


def test_random_interval_crons_run_once_in_each_window_at_a_random_time(colony: Colony) -> None:
    before = time.time_ns()
    cron = add_cron(colony, interval=1, random=True, cronexpression="")
    after = time.time_ns()
    assert cron["interval"] == 1 and cron["random"] is True and cron["cronexpression"] == ""
    time.sleep(4.6)
    fired = sorted(parse(r["scheduled"]) for r in runs(colony, cron["cronid"]))
    colony.call("removecronmsg", {"cronid": cron["cronid"]}, colony.user)
    assert 3 <= len(fired) <= 5, fired
    # Windows are [anchor + k s, anchor + (k+1) s) with the anchor taken between ``before`` and ``after``.
    windows = [(s - before) // NS for s in fired]
    latest = [(s - after) // NS for s in fired]
    assert windows == list(range(1, len(fired) + 1)) or latest == list(range(1, len(fired) + 1)), fired
    offsets = [(s - before) % NS for s in fired]
    assert max(offsets) - min(offsets) > 20_000_000, offsets  # not all at the window start: randomised


def test_interval_crons_keep_to_their_interval(colony: Colony) -> None:
    cron = add_cron(colony, interval=2, cronexpression="")
    time.sleep(4.6)
    fired = sorted(parse(r["scheduled"]) for r in runs(colony, cron["cronid"]))
    colony.call("removecronmsg", {"cronid": cron["cronid"]}, colony.user)
    assert len(fired) == 2 and fired[1] - fired[0] == 2 * NS


def test_a_server_down_over_its_schedule_fires_once_when_it_is_back(make_server: Any) -> None:
    server = make_server()
    colony = create_colony(server)
    cron = add_cron(colony, cronexpression="* * * * * *")
    eventually(lambda: runs(colony, cron["cronid"]))
    server.kill()
    time.sleep(3.5)  # three ticks or more pass while no server runs
    server.restart()
    time.sleep(1.5)
    fired = sorted(runs(colony, cron["cronid"]), key=lambda r: parse(r["scheduled"]))
    catch_ups = [r for r in fired if r["reason"].startswith("catch-up")]
    assert len(catch_ups) == 1, fired
    gap = [parse(b["scheduled"]) - parse(a["scheduled"]) for a, b in zip(fired, fired[1:])]
    assert max(gap) >= 3 * NS  # the missed ticks were not replayed one by one


def test_removing_the_colony_removes_its_crons(server: Server) -> None:
    colony = create_colony(server)
    cron = add_cron(colony, cronexpression="0 0 3 * * *")
    server.call("removecolonymsg", {"colonyname": colony.name}, server.prvkey)
    again = create_colony(server, colony.name)
    with pytest.raises(ColoniesError) as err:
        again.call("getcronmsg", {"cronid": cron["cronid"]}, again.user)
    assert err.value.status == 404
    assert again.call("getcronsmsg", {"colonyname": colony.name, "count": 5}, again.user) == []


def test_the_sdk_names_of_the_original(server: Server, colony: Colony) -> None:
    from colonies.client import Colonies

    client = Colonies("127.0.0.1", server.port)
    wf = json.loads(workflow(colony))
    cron = client.add_cron("sdk-cron", "0 0 3 * * *", True, wf, colony.name, colony.user.prvkey)
    assert cron.name == "sdk-cron" and cron.waitforprevprocessgraph is True
    assert client.get_cron(cron.cronid, colony.user.prvkey).cronid == cron.cronid
    assert [c.name for c in client.get_crons(colony.name, 10, colony.user.prvkey)] == ["sdk-cron"]
    ran = client.run_cron(cron.cronid, colony.user.prvkey)
    assert ran["prevprocessgraphid"]
    assert client.get_cron_runs(cron.cronid, colony.user.prvkey)[0].processgraphid == ran["prevprocessgraphid"]
    interval = client.add_cron("every-2", "", False, wf, colony.name, colony.user.prvkey, interval=2, random=True)
    assert interval.interval == 2 and interval.random is True
    client.del_cron(cron.cronid, colony.user.prvkey)
    client.del_cron(interval.cronid, colony.user.prvkey)
    assert client.get_crons(colony.name, 10, colony.user.prvkey) == []


@pytest.mark.skipif(not PG_URL, reason="replicas need PostgreSQL (set COLONIES_TEST_PG_URL)")
def test_two_replicas_fire_each_tick_exactly_once_across_a_leader_kill(tmp_path: Any) -> None:
    db = fresh_database("postgres", str(tmp_path))
    leader = start_server(str(tmp_path), db=db)  # alone first, so it holds the leader lock
    servers = [leader]
    try:
        colony = create_colony(leader)
        cron = add_cron(colony, cronexpression="*/2 * * * * *")
        servers.append(start_server(str(tmp_path), db=db, prvkey=leader.prvkey))
        survivor = Colony(servers[1], colony.name, colony.owner, colony.executor, colony.user)
        time.sleep(14)
        leader.kill()  # kill -9 mid-schedule: the other replica takes the lead
        time.sleep(16)
        fired = runs(survivor, cron["cronid"])
        survivor.call("removecronmsg", {"cronid": cron["cronid"]}, colony.user)
    finally:
        for srv in servers:
            srv.stop()
    scheduled = sorted(parse(r["scheduled"]) for r in fired)
    assert len(scheduled) == len(set(scheduled)), "a tick fired twice"
    assert all(b - a == 2 * NS for a, b in zip(scheduled, scheduled[1:])), ("a tick was skipped", scheduled)
    assert 13 <= len(scheduled) <= 18, scheduled  # 30 s and the requests around them, on a loaded machine
    assert len({r["processgraphid"] for r in fired}) == len(fired)

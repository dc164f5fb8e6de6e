"""Workflows (process graphs) against a real server: submission, gating, data flow, failure, dynamic
children."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import Colony, expect_error

from colonies.exceptions import ColoniesError
from colonies.timefmt import ZERO_TIME, parse_time

WAITING, RUNNING, SUCCESS, FAILED, CANCELLED = range(5)

GRAPH_KEYS = [
    "processgraphid",
    "initiatorid",
    "initiatorname",
    "colonyname",
    "rootprocessids",
    "state",
    "submissiontime",
    "starttime",
    "endtime",
    "processids",
    "nodes",
    "edges",
]


def node(colony: Colony, name: str, deps: list[str] | None = None, **overrides: Any) -> dict[str, Any]:
    spec = colony.spec(nodename=name, funcname=f"fn_{name}", args=[], kwargs={}, **overrides)
    spec["conditions"]["dependencies"] = list(deps or [])
    return spec


def submit_wf(colony: Colony, specs: list[dict[str, Any]], who: Any = None) -> Any:
    return colony.call(
        "submitworkflowspecmsg",
        {"spec": {"colonyname": colony.name, "functionspecs": specs}},
        who or colony.executor,
    )


def get_graph(colony: Colony, graphid: str) -> Any:
    return colony.call("getprocessgraphmsg", {"processgraphid": graphid}, colony.executor)


def list_graphs(colony: Colony, state: int, count: int = 100) -> Any:
    return colony.call(
        "getprocessgraphsmsg", {"colonyname": colony.name, "count": count, "state": state}, colony.executor
    )


def by_name(colony: Colony, graph: dict[str, Any]) -> dict[str, dict[str, Any]]:
    procs = [colony.get(pid) for pid in graph["processids"]]
    return {p["spec"]["nodename"]: p for p in procs}


def assign_one(colony: Colony) -> dict[str, Any]:
    return colony.assign(timeout=-1)


def no_work(colony: Colony) -> None:
    expect_error(404, colony.assign, timeout=-1)


def diamond(colony: Colony) -> list[dict[str, Any]]:
    return [
        node(colony, "a"),
        node(colony, "b", ["a"]),
        node(colony, "c", ["a"]),
        node(colony, "d", ["b", "c"]),
    ]


# --- submission ---------------------------------------------------------------------------------------------


def test_submit_reply_is_a_process_graph(colony: Colony) -> None:
    graph = submit_wf(colony, diamond(colony))
    assert list(graph) == GRAPH_KEYS
    assert len(graph["processgraphid"]) == 64
    assert graph["colonyname"] == colony.name
    assert graph["initiatorid"] == colony.executor.id
    assert graph["initiatorname"] == colony.executor.name
    assert graph["state"] == WAITING
    assert graph["starttime"] == ZERO_TIME and graph["endtime"] == ZERO_TIME
    assert parse_time(graph["submissiontime"]) > 0
    assert isinstance(graph["processids"], list) and len(graph["processids"]) == 4
    assert graph["nodes"] == [] and graph["edges"] == []
    procs = by_name(colony, graph)
    assert graph["rootprocessids"] == [procs["a"]["processid"]]
    a, b, c, d = (procs[n] for n in "abcd")
    assert a["waitforparents"] is False and a["parents"] == []
    assert sorted(a["children"]) == sorted([b["processid"], c["processid"]])
    assert b["parents"] == [a["processid"]] and b["children"] == [d["processid"]]
    assert d["parents"] == [b["processid"], c["processid"]] and d["children"] == []
    for p in (b, c, d):
        assert p["waitforparents"] is True
    for p in procs.values():
        assert p["processgraphid"] == graph["processgraphid"]
        assert p["state"] == WAITING
        assert p["spec"]["conditions"]["colonyname"] == colony.name
        assert p["initiatorname"] == colony.executor.name
        assert p["in"] == [] and p["out"] == [] and p["errors"] == []


def test_workflow_colonyname_is_forced_on_every_node(colony: Colony) -> None:
    specs = [
        node(colony, "a", conditions={"colonyname": ""}),
        node(colony, "b", ["a"], conditions={"colonyname": ""}),
    ]
    graph = submit_wf(colony, specs)
    for p in by_name(colony, graph).values():
        assert p["spec"]["conditions"]["colonyname"] == colony.name


def test_user_can_submit_workflow(colony: Colony) -> None:
    graph = submit_wf(colony, [node(colony, "a")], who=colony.user)
    assert graph["initiatorname"] == colony.user.name
    assert graph["initiatorid"] == colony.user.id


def test_non_member_cannot_submit_workflow(colony: Colony) -> None:
    from conftest import new_identity

    stranger = new_identity("stranger")
    expect_error(403, submit_wf, colony, [node(colony, "a")], stranger)


# --- gating and data flow -----------------------------------------------------------------------------------


def test_diamond_child_waits_for_all_parents_and_gets_their_outputs_in_parents_order(colony: Colony) -> None:
    graph = submit_wf(colony, diamond(colony))
    gid = graph["processgraphid"]
    procs = by_name(colony, graph)

    a = assign_one(colony)
    assert a["processid"] == procs["a"]["processid"]
    assert a["in"] == []
    g = get_graph(colony, gid)
    assert g["state"] == RUNNING
    assert parse_time(g["starttime"]) > 0 and g["endtime"] == ZERO_TIME
    no_work(colony)  # b and c wait for a
    colony.close(a["processid"], ["from-a"])

    first = assign_one(colony)
    second = assign_one(colony)
    assert {first["spec"]["nodename"], second["spec"]["nodename"]} == {"b", "c"}
    assert first["in"] == ["from-a"] and second["in"] == ["from-a"]
    no_work(colony)  # d is not eligible while b or c run
    b, c = (first, second) if first["spec"]["nodename"] == "b" else (second, first)

    # Close c before b: d's input must still follow its parents order [b, c], not the closing order.
    colony.close(c["processid"], ["c1"])
    no_work(colony)  # only c is done
    assert colony.get(procs["d"]["processid"])["waitforparents"] is True
    colony.close(b["processid"], ["b1", "b2"])

    d = assign_one(colony)
    assert d["processid"] == procs["d"]["processid"]
    assert d["in"] == ["b1", "b2", "c1"]
    assert colony.get(d["processid"])["in"] == ["b1", "b2", "c1"]
    assert get_graph(colony, gid)["state"] == RUNNING
    colony.close(d["processid"], ["done"])

    g = get_graph(colony, gid)
    assert g["state"] == SUCCESS
    assert parse_time(g["starttime"]) > 0
    assert parse_time(g["endtime"]) >= parse_time(g["starttime"])
    for p in by_name(colony, g).values():
        assert p["state"] == SUCCESS


def test_only_one_parent_done_does_not_release_child(colony: Colony) -> None:
    """b, c both roots; d depends on both; closing b alone leaves d unassignable."""
    specs = [node(colony, "b"), node(colony, "c"), node(colony, "d", ["b", "c"])]
    graph = submit_wf(colony, specs)
    assert len(graph["rootprocessids"]) == 2
    procs = by_name(colony, graph)
    p1 = assign_one(colony)
    colony.close(p1["processid"], [p1["spec"]["nodename"]])
    # The other root is still waiting: the only assignable process is that root, never d.
    p2 = assign_one(colony)
    assert p2["spec"]["nodename"] in {"b", "c"} and p2["processid"] != procs["d"]["processid"]
    no_work(colony)
    colony.close(p2["processid"], [p2["spec"]["nodename"]])
    d = assign_one(colony)
    assert d["spec"]["nodename"] == "d"
    assert d["in"] == ["b", "c"]


def test_chain_of_50_nodes_completes_in_order(colony: Colony) -> None:
    n = 50
    specs = [node(colony, "n0")] + [node(colony, f"n{i}", [f"n{i - 1}"]) for i in range(1, n)]
    graph = submit_wf(colony, specs)
    assert len(graph["processids"]) == n
    for i in range(n):
        p = assign_one(colony)
        assert p["spec"]["nodename"] == f"n{i}"
        assert p["in"] == ([] if i == 0 else [i - 1])
        no_work(colony)
        colony.close(p["processid"], [i])
    g = get_graph(colony, graph["processgraphid"])
    assert g["state"] == SUCCESS
    assert parse_time(g["endtime"]) > 0


# --- failure ------------------------------------------------------------------------------------------------


def test_failed_node_fails_graph_and_waiting_descendants_but_keeps_succeeded_nodes(colony: Colony) -> None:
    # extract -> transform -> load -> report ; extract -> audit
    specs = [
        node(colony, "extract"),
        node(colony, "transform", ["extract"]),
        node(colony, "load", ["transform"]),
        node(colony, "report", ["load"]),
    ]
    graph = submit_wf(colony, specs)
    gid = graph["processgraphid"]
    procs = by_name(colony, graph)

    extract = assign_one(colony)
    colony.close(extract["processid"], ["rows"])
    transform = assign_one(colony)
    assert transform["spec"]["nodename"] == "transform"
    colony.fail(transform["processid"], ["bad row 7"])

    g = get_graph(colony, gid)
    assert g["state"] == FAILED
    assert parse_time(g["endtime"]) > 0

    now = by_name(colony, g)
    # The succeeded node keeps its state and output (the Go server overwrote it with FAILED).
    assert now["extract"]["state"] == SUCCESS
    assert now["extract"]["out"] == ["rows"]
    assert now["transform"]["state"] == FAILED
    assert now["transform"]["errors"] == ["bad row 7"]
    for name in ("load", "report"):
        p = now[name]
        assert p["state"] == FAILED, name
        assert p["errors"], f"{name} has no error"
        text = " ".join(p["errors"])
        assert "transform" in text or procs["transform"]["processid"] in text, text
        assert parse_time(p["endtime"]) > 0
    no_work(colony)


def test_failure_in_diamond_while_sibling_runs(colony: Colony) -> None:
    graph = submit_wf(colony, diamond(colony))
    gid = graph["processgraphid"]
    a = assign_one(colony)
    colony.close(a["processid"], ["A"])
    first, second = assign_one(colony), assign_one(colony)
    b, c = (first, second) if first["spec"]["nodename"] == "b" else (second, first)
    colony.fail(b["processid"], ["b broke"])
    procs = by_name(colony, get_graph(colony, gid))
    assert procs["d"]["state"] == FAILED
    assert any(b["processid"] in e or re.search(r"\bb\b", e) for e in procs["d"]["errors"]), procs["d"][
        "errors"
    ]
    assert procs["c"]["state"] == RUNNING  # a running sibling is not touched
    assert get_graph(colony, gid)["state"] == FAILED
    colony.close(c["processid"], ["C"])
    procs = by_name(colony, get_graph(colony, gid))
    assert procs["c"]["state"] == SUCCESS and procs["c"]["out"] == ["C"]
    assert procs["a"]["state"] == SUCCESS and procs["a"]["out"] == ["A"]
    assert procs["d"]["state"] == FAILED
    assert get_graph(colony, gid)["state"] == FAILED
    no_work(colony)


def test_failed_leaf_fails_graph_without_touching_others(colony: Colony) -> None:
    graph = submit_wf(colony, [node(colony, "a"), node(colony, "b", ["a"])])
    a = assign_one(colony)
    colony.close(a["processid"], ["ok"])
    b = assign_one(colony)
    colony.fail(b["processid"], ["leaf broke"])
    g = get_graph(colony, graph["processgraphid"])
    assert g["state"] == FAILED
    procs = by_name(colony, g)
    assert procs["a"]["state"] == SUCCESS and procs["a"]["out"] == ["ok"]
    assert procs["b"]["state"] == FAILED and procs["b"]["errors"] == ["leaf broke"]


# --- reading graphs -----------------------------------------------------------------------------------------


def test_getprocessgraphmsg_includes_dashboard_nodes_and_edges(colony: Colony) -> None:
    graph = submit_wf(colony, diamond(colony))
    g = get_graph(colony, graph["processgraphid"])
    assert list(g) == GRAPH_KEYS
    assert sorted(g["processids"]) == sorted(graph["processids"])
    procs = by_name(colony, g)
    ids = {name: p["processid"] for name, p in procs.items()}
    assert len(g["nodes"]) == 4
    labels = {}
    for n in g["nodes"]:
        assert set(n) >= {"id", "data", "position", "type", "style"}
        assert set(n["position"]) >= {"x", "y"}
        labels[n["id"]] = n["data"]["label"]
    assert labels == {pid: name for name, pid in ids.items()}
    types = {labels[n["id"]]: n["type"] for n in g["nodes"]}
    assert types["a"] == "input" and types["d"] == "output"
    assert len(g["edges"]) == 4
    pairs = set()
    for e in g["edges"]:
        assert set(e) >= {"id", "source", "target", "animated"}
        assert e["id"] == f"{e['source']}-{e['target']}"
        pairs.add((labels[e["source"]], labels[e["target"]]))
    assert pairs == {("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")}


def test_getprocessgraphmsg_unknown_id_404(colony: Colony) -> None:
    expect_error(404, get_graph, colony, "ab" * 32)


def test_getprocessgraphsmsg_lists_by_state_newest_first(colony: Colony) -> None:
    assert list_graphs(colony, WAITING) == []
    assert list_graphs(colony, SUCCESS) == []
    ids = [
        submit_wf(colony, [node(colony, "a"), node(colony, "b", ["a"])])["processgraphid"] for _ in range(3)
    ]
    waiting = list_graphs(colony, WAITING)
    assert [g["processgraphid"] for g in waiting] == ids[::-1]
    for g in waiting:
        assert list(g) == GRAPH_KEYS
        assert len(g["processids"]) == 2 and isinstance(g["nodes"], list) and isinstance(g["edges"], list)
    assert [g["processgraphid"] for g in list_graphs(colony, WAITING, count=2)] == ids[:0:-1]
    # The oldest root is assigned first: its graph becomes RUNNING.
    assign_one(colony)
    assert [g["processgraphid"] for g in list_graphs(colony, RUNNING)] == [ids[0]]
    assert [g["processgraphid"] for g in list_graphs(colony, WAITING)] == [ids[2], ids[1]]
    expect_error(400, list_graphs, colony, WAITING, 101)
    expect_error(400, list_graphs, colony, 9)


# --- cancel and remove --------------------------------------------------------------------------------------


def test_cancelprocessgraphmsg_cancels_waiting_and_running_processes(colony: Colony) -> None:
    graph = submit_wf(colony, [node(colony, "a"), node(colony, "b", ["a"]), node(colony, "c", ["b"])])
    gid = graph["processgraphid"]
    running = assign_one(colony)
    assert colony.call("cancelprocessgraphmsg", {"processgraphid": gid}, colony.user) == {}
    g = get_graph(colony, gid)
    assert g["state"] == CANCELLED
    assert parse_time(g["endtime"]) > 0
    for p in by_name(colony, g).values():
        assert p["state"] == CANCELLED
    no_work(colony)
    # The executor that ran the cancelled process can no longer close it.
    with pytest.raises(ColoniesError) as info:
        colony.close(running["processid"], ["late"])
    assert info.value.status in (400, 403)
    assert colony.get(running["processid"])["state"] == CANCELLED
    # An ended graph cannot be cancelled again.
    expect_error(400, colony.call, "cancelprocessgraphmsg", {"processgraphid": gid}, colony.user)


def test_cancel_racing_closes_never_fails_the_server(colony: Colony) -> None:
    """A graph cancel and closes of its running nodes at the same moment lock the same rows in different orders;
    every call gets a definite answer (never 5xx) and the graph ends in one consistent state."""
    from concurrent.futures import ThreadPoolExecutor

    for _ in range(4):
        # Children first: the cancel reaches a child before its parent, the close of the parent the other way.
        graph = submit_wf(colony, [node(colony, f"c{i}", [f"n{i}"]) for i in range(8)]
                          + [node(colony, f"n{i}") for i in range(8)])  # fmt: skip
        gid = graph["processgraphid"]
        running = [assign_one(colony) for _ in range(8)]

        def close(p: dict[str, Any]) -> int:
            try:
                colony.close(p["processid"], ["done"])
                return 200
            except ColoniesError as exc:
                return exc.status

        def cancel() -> int:
            try:
                colony.call("cancelprocessgraphmsg", {"processgraphid": gid}, colony.user)
                return 200
            except ColoniesError as exc:
                return exc.status

        with ThreadPoolExecutor(9) as pool:
            futures = [pool.submit(close, p) for p in running[:4]] + [pool.submit(cancel)]
            futures += [pool.submit(close, p) for p in running[4:]]
            statuses = [f.result(timeout=30) for f in futures]
        assert all(s in (200, 400, 403) for s in statuses), statuses
        g = get_graph(colony, gid)
        procs = by_name(colony, g)
        if statuses[4] == 200:
            assert g["state"] == CANCELLED
            assert all(p["state"] in (2, CANCELLED) for p in procs.values())
        close_statuses = statuses[:4] + statuses[5:]
        for p, status in zip(running, close_statuses):
            final = colony.get(p["processid"])
            if status == 200:  # an answered close is never overwritten by the cancel
                assert (final["state"], final["out"]) == (2, ["done"]), (status, final["state"], final["out"])
            else:
                assert final["state"] == CANCELLED


def test_removeprocessgraphmsg_refuses_running_and_removes_finished(colony: Colony) -> None:
    graph = submit_wf(colony, [node(colony, "a"), node(colony, "b", ["a"])])
    gid = graph["processgraphid"]
    a = assign_one(colony)
    expect_error(400, colony.call, "removeprocessgraphmsg", {"processgraphid": gid}, colony.executor)
    colony.close(a["processid"])
    b = assign_one(colony)
    colony.close(b["processid"])
    assert get_graph(colony, gid)["state"] == SUCCESS
    assert colony.call("removeprocessgraphmsg", {"processgraphid": gid}, colony.executor) == {}
    expect_error(404, get_graph, colony, gid)
    for pid in graph["processids"]:
        expect_error(404, colony.get, pid)
    assert list_graphs(colony, SUCCESS) == []
    expect_error(404, colony.call, "removeprocessgraphmsg", {"processgraphid": gid}, colony.executor)


def test_removeprocessgraphmsg_removes_waiting_graph(colony: Colony) -> None:
    graph = submit_wf(colony, [node(colony, "a", env={"K": "v"}), node(colony, "b", ["a"])])
    colony.call("removeprocessgraphmsg", {"processgraphid": graph["processgraphid"]}, colony.user)
    for pid in graph["processids"]:
        expect_error(404, colony.get, pid)
    no_work(colony)


def test_removeallprocessgraphsmsg(colony: Colony) -> None:
    done = submit_wf(colony, [node(colony, "a")])
    p = assign_one(colony)
    colony.close(p["processid"])
    waiting = [submit_wf(colony, [node(colony, "a"), node(colony, "b", ["a"])]) for _ in range(2)]
    assert len(list_graphs(colony, SUCCESS)) == 1 and len(list_graphs(colony, WAITING)) == 2

    msg = {"colonyname": colony.name, "state": SUCCESS}
    expect_error(403, colony.call, "removeallprocessgraphsmsg", msg, colony.executor)
    expect_error(400, colony.call, "removeallprocessgraphsmsg", {**msg, "state": RUNNING}, colony.owner)
    assert colony.call("removeallprocessgraphsmsg", msg, colony.owner) == {}
    assert list_graphs(colony, SUCCESS) == []
    expect_error(404, colony.get, done["processids"][0])
    assert len(list_graphs(colony, WAITING)) == 2
    for g in waiting:
        for pid in g["processids"]:
            assert colony.get(pid)["state"] == WAITING

    assert (
        colony.call("removeallprocessgraphsmsg", {"colonyname": colony.name, "state": -1}, colony.owner) == {}
    )
    assert list_graphs(colony, WAITING) == []
    for g in waiting:
        for pid in g["processids"]:
            expect_error(404, colony.get, pid)
    assert (
        colony.call(
            "getprocessesmsg", {"colonyname": colony.name, "count": 100, "state": WAITING}, colony.executor
        )
        == []
    )


def test_cancel_and_remove_process_refuse_workflow_processes(colony: Colony) -> None:
    graph = submit_wf(colony, [node(colony, "a"), node(colony, "b", ["a"])])
    for pid in graph["processids"]:
        err = expect_error(400, colony.call, "cancelprocessmsg", {"processid": pid}, colony.executor)
        assert "workflow" in err.message.lower()
        err = expect_error(400, colony.call, "removeprocessmsg", {"processid": pid}, colony.executor)
        assert "workflow" in err.message.lower()
    running = assign_one(colony)
    expect_error(400, colony.call, "cancelprocessmsg", {"processid": running["processid"]}, colony.executor)
    for pid in graph["processids"]:
        assert colony.get(pid)["state"] in (WAITING, RUNNING)


# --- dynamic children ---------------------------------------------------------------------------------------


def add_child(
    colony: Colony, graphid: str, parent: str, name: str, insert: bool, who: Any = None, childid: str = ""
) -> Any:
    msg = {
        "processgraphid": graphid,
        "parentprocessid": parent,
        "childprocessid": childid,
        "spec": node(colony, name),
        "insert": insert,
    }
    return colony.call("addchildmsg", msg, who or colony.executor)


def test_addchild_append_runs_after_parent(colony: Colony) -> None:
    graph = submit_wf(colony, [node(colony, "a"), node(colony, "b", ["a"])])
    gid = graph["processgraphid"]
    procs = by_name(colony, graph)
    a = assign_one(colony)
    child = add_child(colony, gid, a["processid"], "x", insert=False)
    assert child["processgraphid"] == gid
    assert child["parents"] == [a["processid"]]
    assert child["waitforparents"] is True
    assert child["state"] == WAITING
    assert child["spec"]["nodename"] == "x"
    parent = colony.get(a["processid"])
    assert parent["children"] == [procs["b"]["processid"], child["processid"]]
    assert child["processid"] in get_graph(colony, gid)["processids"]
    no_work(colony)  # the child waits for its parent
    colony.close(a["processid"], ["A"])
    names = set()
    for _ in range(2):
        p = assign_one(colony)
        names.add(p["spec"]["nodename"])
        assert p["in"] == ["A"]
        colony.close(p["processid"])
    assert names == {"b", "x"}
    assert get_graph(colony, gid)["state"] == SUCCESS


def test_addchild_insert_splices_between_parent_and_children(colony: Colony) -> None:
    graph = submit_wf(colony, [node(colony, "a"), node(colony, "b", ["a"])])
    gid = graph["processgraphid"]
    b_id = by_name(colony, graph)["b"]["processid"]
    a = assign_one(colony)
    x = add_child(colony, gid, a["processid"], "x", insert=True)
    assert x["parents"] == [a["processid"]]
    assert x["children"] == [b_id]
    assert colony.get(a["processid"])["children"] == [x["processid"]]
    assert colony.get(b_id)["parents"] == [x["processid"]]
    colony.close(a["processid"], ["A"])
    p = assign_one(colony)
    assert p["processid"] == x["processid"]
    assert p["in"] == ["A"]
    no_work(colony)  # b now waits for x
    colony.close(x["processid"], ["X"])
    b = assign_one(colony)
    assert b["processid"] == b_id
    assert b["in"] == ["X"]
    colony.close(b_id)
    g = get_graph(colony, gid)
    assert g["state"] == SUCCESS
    assert len(g["processids"]) == 3


def test_addchild_only_by_the_executor_running_the_parent(colony: Colony) -> None:
    graph = submit_wf(colony, [node(colony, "a")])
    gid = graph["processgraphid"]
    root = graph["rootprocessids"][0]
    expect_error(403, add_child, colony, gid, root, "x", False)  # parent not running
    other = colony.add_executor()
    assign_one(colony)
    expect_error(403, add_child, colony, gid, root, "x", False, other)
    expect_error(403, add_child, colony, gid, root, "x", False, colony.user)
    expect_error(404, add_child, colony, gid, "cd" * 32, "x", False)
    assert len(get_graph(colony, gid)["processids"]) == 1


def test_addchild_refuses_parent_outside_a_workflow(colony: Colony) -> None:
    plain = colony.submit()
    assign_one(colony)
    expect_error(400, add_child, colony, "", plain["processid"], "x", False)


# --- invalid graphs -----------------------------------------------------------------------------------------


def _counts(colony: Colony) -> tuple[int, int]:
    graphs = len(list_graphs(colony, WAITING))
    procs = len(
        colony.call(
            "getprocessesmsg", {"colonyname": colony.name, "count": 100, "state": WAITING}, colony.executor
        )
    )
    return graphs, procs


@pytest.mark.parametrize(
    ("case", "needle"),
    [
        ("cycle", "cycle"),
        ("self", "itself"),
        ("unknown", "ghost"),
        ("duplicate", "duplicate"),
        ("empty", "no function specs"),
        ("nonodename", "nodename"),
    ],
)
def test_invalid_graphs_are_refused_and_nothing_is_stored(colony: Colony, case: str, needle: str) -> None:
    submit_wf(colony, [node(colony, "ok")])  # something valid already stored
    before = _counts(colony)
    specs = {
        "cycle": [
            node(colony, "r"),
            node(colony, "a", ["r", "c"]),
            node(colony, "b", ["a"]),
            node(colony, "c", ["b"]),
        ],
        "self": [node(colony, "a", ["a"])],
        "unknown": [node(colony, "a"), node(colony, "b", ["ghost"])],
        "duplicate": [node(colony, "a"), node(colony, "a")],
        "empty": [],
        "nonodename": [node(colony, "a"), node(colony, "", ["a"])],
    }[case]
    err = expect_error(400, submit_wf, colony, specs)
    assert needle in err.message.lower(), err.message
    assert _counts(colony) == before


def test_addchild_with_childprocessid_links_new_node_before_existing_child(colony: Colony) -> None:
    # a -> c ; add x under a with childprocessid=c: c must now wait for both a and x.
    graph = submit_wf(colony, [node(colony, "a"), node(colony, "c", ["a"])])
    gid = graph["processgraphid"]
    c_id = by_name(colony, graph)["c"]["processid"]
    a = assign_one(colony)
    x = add_child(colony, gid, a["processid"], "x", insert=False, childid=c_id)
    assert x["parents"] == [a["processid"]] and x["children"] == [c_id]
    assert colony.get(c_id)["parents"] == [a["processid"], x["processid"]]
    assert colony.get(a["processid"])["children"] == [c_id, x["processid"]]
    colony.close(a["processid"], ["A"])
    p = assign_one(colony)
    assert p["processid"] == x["processid"]
    no_work(colony)  # c still waits for x
    colony.close(x["processid"], ["X"])
    c = assign_one(colony)
    assert c["processid"] == c_id
    assert c["in"] == ["A", "X"]
    colony.close(c_id)
    assert get_graph(colony, gid)["state"] == SUCCESS


def test_addchild_refuses_other_graph_id(colony: Colony) -> None:
    graph = submit_wf(colony, [node(colony, "a")])
    other = submit_wf(colony, [node(colony, "z")])
    a = assign_one(colony)
    assert a["processgraphid"] == graph["processgraphid"]
    expect_error(400, add_child, colony, other["processgraphid"], a["processid"], "x", False)
    assert len(get_graph(colony, graph["processgraphid"])["processids"]) == 1
    assert len(get_graph(colony, other["processgraphid"])["processids"]) == 1


def test_get_processes_by_workflow_id_as_pycolonies_sends_it(colony: Colony) -> None:
    """pycolonies' get_processes_for_workflow sends processgraphid with state -1; we answer the graph's processes."""
    specs = [
        colony.spec(nodename="first", conditions={"dependencies": []}),
        colony.spec(nodename="second", conditions={"dependencies": ["first"]}),
    ]
    graph = colony.call("submitworkflowspecmsg", {"spec": {"colonyname": colony.name, "functionspecs": specs}},
                        colony.executor)  # fmt: skip
    colony.submit()  # a process outside the workflow must not be listed
    msg = {"colonyname": colony.name, "processgraphid": graph["processgraphid"], "count": 100, "state": -1}
    procs = colony.call("getprocessesmsg", msg, colony.user)
    assert sorted(p["processid"] for p in procs) == sorted(graph["processids"])
    waiting = colony.call("getprocessesmsg", {**msg, "state": 0}, colony.user)
    assert len(waiting) == 2
    assert colony.call("getprocessesmsg", {**msg, "state": 2}, colony.user) == []

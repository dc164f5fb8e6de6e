"""Graphs an attacker (or a generator gone wrong) could submit: dense, deep, cyclic. Each is refused with a clear
400 or handled in bounded time, never a 500 and never a stalled server."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import httpx
import pytest
from conftest import PG_URL, Colony, Server, create_colony, expect_error

pytestmark = pytest.mark.timeout(180)


def spec(colony: Colony, name: str, deps: list[str]) -> dict[str, Any]:
    return {"nodename": name, "funcname": "f", "maxexectime": -1, "maxwaittime": -1,
            "conditions": {"colonyname": colony.name, "executortype": colony.executortype, "dependencies": deps}}


def submit(colony: Colony, specs: list[dict[str, Any]]) -> Any:
    return colony.call("submitworkflowspecmsg", {"spec": {"colonyname": colony.name, "functionspecs": specs}},
                       colony.user, timeout=120)  # fmt: skip


def test_a_3000_node_cycle_is_a_400_naming_it(colony: Colony) -> None:
    n = 3000
    err = expect_error(400, submit, colony, [spec(colony, f"n{i}", [f"n{(i + 1) % n}"]) for i in range(n)])
    assert "cycle" in err.message and "3000 nodes" in err.message and len(err.message) < 400, err.message


def test_a_3000_node_reversed_chain_is_accepted_and_starts_at_its_root(colony: Colony) -> None:
    """Each node listed before the node it depends on: n0 needs n1, ..., n2999 is the root."""
    n = 3000
    graph = submit(colony, [spec(colony, f"n{i}", [f"n{i + 1}"] if i < n - 1 else []) for i in range(n)])
    assert len(graph["processids"]) == n and len(graph["rootprocessids"]) == 1
    root = colony.assign()
    assert root["spec"]["nodename"] == f"n{n - 1}"
    colony.close(root["processid"])
    assert colony.assign()["spec"]["nodename"] == f"n{n - 2}"
    got = colony.call("getprocessgraphmsg", {"processgraphid": graph["processgraphid"]}, colony.user)
    assert len(got["nodes"]) == n  # the dashboard layout of a deep graph (it recursed before)


def test_closing_the_first_node_of_a_dense_graph_is_quick(colony: Colony) -> None:
    """300 nodes, each depending on every earlier one (44 850 edges, under the 50 000 limit). Closing n0 counts
    down 299 children in one statement; it used to re-read every parent of every child (O(n^2) rows)."""
    n = 300
    submit(colony, [spec(colony, f"n{i}", [f"n{j}" for j in range(i)]) for i in range(n)])
    first = colony.assign()
    started = time.perf_counter()
    colony.close(first["processid"])
    took = time.perf_counter() - started
    second = colony.assign()
    assert second["spec"]["nodename"] == "n1"
    colony.close(second["processid"])
    assert colony.assign()["spec"]["nodename"] == "n2"
    assert took < 0.2, f"closing n0 took {took:.2f} s"
    assert httpx.get(colony.server.url + "/health", timeout=5).status_code == 200


def chain_specs(colony: Colony, names: list[str]) -> list[dict[str, Any]]:
    return [spec(colony, name, [names[i - 1]] if i else []) for i, name in enumerate(names)]


def test_addchild_cannot_grow_a_graph_past_the_edge_limit(make_server: Any) -> None:
    server: Server = make_server(env={"COLONIES_MAX_WORKFLOW_EDGES": "3"})
    colony = create_colony(server)
    graph = submit(colony, chain_specs(colony, ["a", "b", "c"]))  # 2 edges
    a = colony.assign()

    def add_child(name: str) -> Any:
        child = {"nodename": name, "funcname": "f", "conditions": {"colonyname": colony.name,
                 "executortype": colony.executortype}}  # fmt: skip
        return colony.call("addchildmsg", {"processgraphid": graph["processgraphid"], "parentprocessid":
                           a["processid"], "childprocessid": "", "spec": child, "insert": False}, colony.executor)

    add_child("x")  # 3 edges
    err = expect_error(400, add_child, "y")
    assert "limit of 3" in err.message
    colony.close(a["processid"])
    assert {colony.assign()["spec"]["nodename"], colony.assign()["spec"]["nodename"]} == {"b", "x"}


def _drop_counter(server: Server) -> None:
    """Make the database look like one from before the counter (the column did not exist)."""
    if server.db.startswith("sqlite:///"):
        with sqlite3.connect(server.db.removeprefix("sqlite:///")) as conn:
            conn.execute("ALTER TABLE processes DROP COLUMN pendingparents")
        return
    import psycopg

    schema = server.db.rsplit("search_path%3D", 1)[1]
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"ALTER TABLE {schema}.processes DROP COLUMN pendingparents")


def test_database_of_an_earlier_release_is_migrated(make_server: Any) -> None:
    """A waiting diamond in a database without the counter: after a restart (migration) it still runs."""
    server: Server = make_server()
    colony = create_colony(server)
    deps = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]}
    submit(colony, [spec(colony, name, parents) for name, parents in deps.items()])
    a = colony.assign()
    colony.close(a["processid"])
    b = colony.assign()  # b or c: one parent of d is done, one is running
    server.proc.terminate()
    server.proc.wait(15)
    _drop_counter(server)
    server.restart()
    colony.close(b["processid"])
    c = colony.assign()
    assert c["spec"]["nodename"] in ("b", "c") and c["spec"]["nodename"] != b["spec"]["nodename"]
    expect_error(404, colony.assign)  # d still waits for c
    colony.close(c["processid"])
    assert colony.assign()["spec"]["nodename"] == "d"

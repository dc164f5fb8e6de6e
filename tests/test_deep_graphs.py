"""Deep workflow graphs (issue 10, item 12): every graph algorithm is iterative, so a graph as deep as the node
limit is answered with 200 or a clear 4xx, never a 500 from Python's recursion limit (about 1,000 frames).

Includes a bounded Hypothesis campaign over deep chains, reversed chains, long cycles and shuffled orders, against a
server whose node limit is lowered to 3,000 so that each example stays fast while still far deeper than the
recursion limit."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import Colony, Server, create_colony, expect_error, start_server
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from colonies.exceptions import ColoniesError

FUZZ_LIMIT = 3_000


@pytest.fixture(scope="module")
def deep_server(tmp_path_factory: pytest.TempPathFactory, backend: str) -> Iterator[Server]:
    srv = start_server(str(tmp_path_factory.mktemp("deep")), backend=backend,
                       env={"COLONIES_MAX_WORKFLOW_NODES": str(FUZZ_LIMIT)})  # fmt: skip
    yield srv
    srv.stop()


def specs(colony: Colony, deps: list[tuple[str, list[str]]]) -> list[dict[str, Any]]:
    """Small function specs (to keep the body small) for ``(nodename, dependencies)`` pairs, in that order."""
    return [
        {"nodename": name, "funcname": "f", "conditions": {"colonyname": colony.name,
         "executortype": colony.executortype, "dependencies": parents}}
        for name, parents in deps
    ]  # fmt: skip


def submit(colony: Colony, deps: list[tuple[str, list[str]]]) -> Any:
    return colony.call("submitworkflowspecmsg",
                       {"spec": {"colonyname": colony.name, "functionspecs": specs(colony, deps)}},
                       colony.executor, timeout=60)  # fmt: skip


def chain(n: int) -> list[tuple[str, list[str]]]:
    return [(f"n{i}", [f"n{i - 1}"] if i else []) for i in range(n)]


def cycle(n: int) -> list[tuple[str, list[str]]]:
    return [(f"n{i}", [f"n{(i - 1) % n}"]) for i in range(n)]


def test_long_cycle_is_a_400_naming_the_cycle(deep_server: Server) -> None:
    colony = create_colony(deep_server)
    err = expect_error(400, submit, colony, cycle(3_000))
    assert "cycle" in err.message


def test_reversed_chain_is_accepted_and_runs_in_order(deep_server: Server) -> None:
    """Each node is listed before its dependency: the root is the last node listed, and work follows the chain."""
    colony = create_colony(deep_server)
    n = 3_000
    graph = submit(colony, chain(n)[::-1])
    first = colony.get(graph["rootprocessids"][0])
    assert len(graph["rootprocessids"]) == 1 and first["spec"]["nodename"] == "n0"
    shown = colony.call("getprocessgraphmsg", {"processgraphid": graph["processgraphid"]}, colony.executor)
    depth_of = {node["data"]["label"]: node["position"]["y"] // 120 for node in shown["nodes"]}
    assert depth_of["n0"] == 0 and depth_of[f"n{n - 1}"] == n - 1
    for i in range(3):
        proc = colony.assign()
        assert proc["spec"]["nodename"] == f"n{i}"
        colony.close(proc["processid"])


def test_chain_at_the_node_limit_is_accepted_in_bounded_time(server: Server) -> None:
    """The default node limit (10,000) as one chain: accepted, shown and cancelled, each well within the bound."""
    colony = create_colony(server)
    started = time.monotonic()
    graph = submit(colony, chain(10_000)[::-1])
    assert len(graph["processids"]) == 10_000
    shown = colony.call("getprocessgraphmsg", {"processgraphid": graph["processgraphid"]}, colony.executor, 60)
    assert len(shown["edges"]) == 9_999
    colony.call("cancelprocessgraphmsg", {"processgraphid": graph["processgraphid"]}, colony.executor, 60)
    assert time.monotonic() - started < 60
    expect_error(400, submit, colony, chain(10_001))


SHAPES = ["chain", "reversed", "cycle", "back-edge", "shuffled"]


def shaped(shape: str, n: int, rnd: random.Random) -> list[tuple[str, list[str]]]:
    if shape == "chain":
        return chain(n)
    if shape == "reversed":
        return chain(n)[::-1]
    if shape == "cycle":
        return cycle(n)
    deps = chain(n)
    if shape == "back-edge":  # a long chain closed into a cycle somewhere along its length
        i, j = sorted(rnd.sample(range(n), 2)) if n > 1 else (0, 0)
        deps[i] = (deps[i][0], deps[i][1] + [deps[j][0]] if i != j else deps[i][1])
    rnd.shuffle(deps)
    return deps


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
@given(shape=st.sampled_from(SHAPES), n=st.one_of(st.integers(1, 50), st.integers(1_000, FUZZ_LIMIT + 100)),
       seed=st.integers(0, 2**32))  # fmt: skip
def test_deep_graphs_fuzz(deep_server: Server, shape: str, n: int, seed: int) -> None:
    """Every deep graph gets 200 (and its graph view) or a 4xx with a message; never a 5xx."""
    colony = create_colony(deep_server)
    deps = shaped(shape, n, random.Random(seed))
    try:
        graph = submit(colony, deps)
    except ColoniesError as err:
        assert 400 <= err.status < 500, (shape, n, err.status, err.message)
        assert err.message
        if n > FUZZ_LIMIT:
            assert "limit" in err.message
        elif shape in ("cycle", "back-edge"):
            assert "cycle" in err.message or "itself" in err.message  # a one-node cycle depends on itself
        return
    assert n <= FUZZ_LIMIT and shape not in ("cycle",)
    shown = colony.call("getprocessgraphmsg", {"processgraphid": graph["processgraphid"]}, colony.executor, 60)
    assert len(shown["nodes"]) == n

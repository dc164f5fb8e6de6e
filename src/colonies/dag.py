"""Pure workflow (DAG) functions: validation, graph state, dashboard layout. No I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .exceptions import BadRequest
from .types import ProcessState


def check_workflow(nodes: Sequence[tuple[str, Sequence[str]]], max_nodes: int = 0) -> list[str]:
    """Validate ``(nodename, dependencies)`` pairs; return the node names in a topological order.

    Refuses (400, naming the problem) an empty graph, a missing or duplicate node name, a dependency on an unknown
    node or on itself, and cycles. The Go server accepts several of these and leaves orphan graphs behind.
    """
    if not nodes:
        raise BadRequest("Invalid workflow: it has no function specs")
    if max_nodes and len(nodes) > max_nodes:
        raise BadRequest(f"Invalid workflow: {len(nodes)} nodes exceed the limit of {max_nodes}")
    deps: dict[str, list[str]] = {}
    for i, (name, parents) in enumerate(nodes):
        if not name:
            raise BadRequest(f"Invalid workflow: function spec #{i} has no nodename")
        if name in deps:
            raise BadRequest(f"Invalid workflow: duplicate nodename {name!r}")
        deps[name] = list(parents)
    for name, parents in deps.items():
        seen = set()
        for parent in parents:
            if parent == name:
                raise BadRequest(f"Invalid workflow: node {name!r} depends on itself")
            if parent not in deps:
                raise BadRequest(f"Invalid workflow: node {name!r} depends on unknown node {parent!r}")
            if parent in seen:
                raise BadRequest(f"Invalid workflow: node {name!r} lists dependency {parent!r} twice")
            seen.add(parent)
    return topological_order(deps)


def topological_order(deps: Mapping[str, list[str]]) -> list[str]:
    """Names so that every node comes after its parents (``deps``: node → parents); a cycle is a 400."""
    children: dict[str, list[str]] = {name: [] for name in deps}
    indegree = {name: len(parents) for name, parents in deps.items()}
    for name, parents in deps.items():
        for parent in parents:
            children[parent].append(name)
    ready = [name for name, n in indegree.items() if n == 0]
    order: list[str] = []
    while ready:
        name = ready.pop()
        order.append(name)
        for child in children[name]:
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
    if len(order) != len(deps):
        raise BadRequest(f"Invalid workflow: dependency cycle through {' -> '.join(_find_cycle(deps))}")
    return order


def _find_cycle(deps: Mapping[str, list[str]]) -> list[str]:
    colour: dict[str, int] = {}
    stack: list[str] = []

    def visit(name: str) -> list[str] | None:
        colour[name] = 1
        stack.append(name)
        for parent in deps[name]:
            if colour.get(parent) == 1:
                return stack[stack.index(parent) :] + [parent]
            if parent not in colour:
                found = visit(parent)
                if found:
                    return found
        stack.pop()
        colour[name] = 2
        return None

    for name in deps:
        if name not in colour:
            found = visit(name)
            if found:
                return list(reversed(found))
    return []


def graph_state(counts: Mapping[int, int]) -> int:
    """Graph state from its processes' state counts (protocol §5.4)."""
    total = sum(counts.values())
    if counts.get(ProcessState.FAILED):
        return ProcessState.FAILED
    if counts.get(ProcessState.CANCELLED):
        return ProcessState.CANCELLED
    if total and counts.get(ProcessState.SUCCESS) == total:
        return ProcessState.SUCCESS
    if counts.get(ProcessState.SUCCESS) or counts.get(ProcessState.RUNNING):
        return ProcessState.RUNNING
    return ProcessState.WAITING


_COLOURS = {0: "#eee8d8", 1: "#4689cd", 2: "#92d050", 3: "#cb4239", 4: "#f5a623"}


def layout(processes: Iterable[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Dashboard nodes/edges: one column per depth level. Each process needs processid, nodename, state, parents."""
    procs = {p["processid"]: p for p in processes}
    depth: dict[str, int] = {}

    def level(pid: str, guard: int = 0) -> int:
        if pid not in depth:
            parents = [q for q in procs[pid]["parents"] if q in procs]
            depth[pid] = 0 if not parents or guard > len(procs) else 1 + max(level(q, guard + 1) for q in parents)
        return depth[pid]

    rows: dict[int, int] = {}
    nodes, edges = [], []
    for pid, p in procs.items():
        d = level(pid)
        row = rows.get(d, 0)
        rows[d] = row + 1
        kind = "input" if not p["parents"] else ("output" if not p["children"] else "")
        nodes.append(
            {
                "id": pid,
                "data": {"label": p["nodename"]},
                "position": {"x": 250 * row, "y": 120 * d},
                "type": kind,
                "style": {"color": "#000", "background": _COLOURS.get(p["state"], "#eee8d8")},
            }
        )
        for child in p["children"]:
            edges.append({"id": f"{pid}-{child}", "source": pid, "target": child, "animated": p["state"] == 1})
    return nodes, edges

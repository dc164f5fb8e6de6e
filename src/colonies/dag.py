"""Pure workflow (DAG) functions: validation, graph state, dashboard layout. No I/O."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from .exceptions import BadRequest
from .types import ProcessState


def check_workflow(nodes: Sequence[tuple[str, Sequence[str]]], max_nodes: int = 0, max_edges: int = 0) -> list[str]:
    """Validate ``(nodename, dependencies)`` pairs; return the node names in a topological order.

    Refuses (400, naming the problem) an empty graph, a missing or duplicate node name, a dependency on an unknown
    node or on itself, and cycles. The Go server accepts several of these and leaves orphan graphs behind.
    """
    if not nodes:
        raise BadRequest("Invalid workflow: it has no function specs")
    if max_nodes and len(nodes) > max_nodes:
        raise BadRequest(f"Invalid workflow: {len(nodes)} nodes exceed the limit of {max_nodes}")
    edges = sum(len(parents) for _, parents in nodes)
    if max_edges and edges > max_edges:
        raise BadRequest(f"Invalid workflow: {edges} dependencies (edges) exceed the limit of {max_edges} "
                         "(COLONIES_MAX_WORKFLOW_EDGES)")  # fmt: skip
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
        cycle = _find_cycle(deps)
        shown = " -> ".join(cycle if len(cycle) <= 12 else cycle[:10] + ["...", cycle[-1]])
        raise BadRequest(f"Invalid workflow: dependency cycle through {shown} ({len(cycle) - 1} nodes)")
    return order


def _find_cycle(deps: Mapping[str, list[str]]) -> list[str]:
    """One cycle, as names in dependency order. Iterative (an explicit stack), so a cycle through thousands of
    nodes cannot exhaust Python's recursion limit."""
    colour: dict[str, int] = {}
    for start in deps:
        if start in colour:
            continue
        path: list[str] = [start]
        todo: list[Iterator[str]] = [iter(deps[start])]
        colour[start] = 1
        while todo:
            parent = next(todo[-1], None)
            if parent is None:
                colour[path.pop()] = 2
                todo.pop()
            elif colour.get(parent) == 1:
                return list(reversed(path[path.index(parent) :] + [parent]))
            elif parent not in colour:
                colour[parent] = 1
                path.append(parent)
                todo.append(iter(deps[parent]))
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
    depth = _depths({pid: [q for q in p["parents"] if q in procs] for pid, p in procs.items()})

    rows: dict[int, int] = {}
    nodes, edges = [], []
    for pid, p in procs.items():
        d = depth[pid]
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


def _depths(parents: Mapping[str, list[str]]) -> dict[str, int]:
    """Longest path from a root to each node, computed in topological order (no recursion). Nodes on a cycle
    (a corrupt graph) get depth 0 rather than looping."""
    children: dict[str, list[str]] = {pid: [] for pid in parents}
    indegree = {pid: len(ps) for pid, ps in parents.items()}
    for pid, ps in parents.items():
        for q in ps:
            children[q].append(pid)
    depth = dict.fromkeys(parents, 0)
    ready = [pid for pid, n in indegree.items() if n == 0]
    while ready:
        pid = ready.pop()
        for child in children[pid]:
            depth[child] = max(depth[child], depth[pid] + 1)
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
    return depth

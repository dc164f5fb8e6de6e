"""Workflows (process graphs): add, cancel, remove, splice children, and the graph's state after a close."""

from __future__ import annotations

from .. import dag
from ..exceptions import BadRequest, NotFound
from .base import Row, Tx
from .channels import remove_orphan_channels
from .core import CANCELLED, FAILED, LONG_JOB_ROWS, RUNNING, SUCCESS, WAITING, StoreBase, dumps, loads
from .shared import check_assigned, insert_process, lock, set_state


class WorkflowStore(StoreBase):
    """The workflows operations of the store."""

    async def add_graph(self, graph: Row, processes: list[Row], attributes: list[Row]) -> Row:
        return await self._write(insert_graph, graph, processes, attributes, long=len(processes) > LONG_JOB_ROWS)

    async def get_graph(self, processgraphid: str) -> tuple[Row, list[Row]] | None:
        """The graph row and its processes (without attributes)."""
        return await self.driver.read(_get_graph, processgraphid)

    async def get_graphs(
        self, colonyname: str, state: int, count: int, offset: int = 0
    ) -> list[tuple[Row, list[str]]]:
        return await self.driver.read(_get_graphs, colonyname, state, count, offset)

    async def remove_graph(self, processgraphid: str) -> None:
        await self._write(_remove_graph, processgraphid, long=True)

    async def remove_all_graphs(self, colonyname: str, state: int) -> None:
        await self._write(_remove_all_graphs, colonyname, state, long=True)

    async def cancel_graph(self, processgraphid: str, now: int) -> list[Row]:
        return await self._write(_cancel_graph, processgraphid, now, long=True)

    async def add_child(
        self, parentid: str, childid: str, insert: bool, executorid: str, process: Row, attributes: list[Row],
        max_nodes: int = 0, max_edges: int = 0,
    ) -> Row:  # fmt: skip
        """Splice a process into a running workflow; refused (400) if the graph would exceed ``max_nodes`` nodes or
        ``max_edges`` dependencies (0 = no limit)."""
        return await self._write(_add_child, parentid, childid, insert, executorid, process, attributes,
                                 max_nodes, max_edges)  # fmt: skip


def resolve_after_close(tx: Tx, row: Row, success: bool, now: int) -> list[Row]:
    """Release children whose parents all succeeded, or fail the waiting descendants of a failed node."""
    changed: list[Row] = []
    graphid = row["processgraphid"]
    if success:
        # Counted children: one statement counts their pending parents down; those reaching 0 are ready.
        for counted in tx.all("count_down_parents", ids=row["children"]):
            if counted["pendingparents"] == 0 and counted["state"] == WAITING and counted["waitforparents"]:
                tx.run("release_parents_wait", processid=counted["processid"], now=now)
                changed.append(tx.one("get_process", processid=counted["processid"]))  # type: ignore[arg-type]
        # Uncounted ones (pendingparents -1): look at every parent, as before.
        for uncounted in tx.all("get_uncounted_in", ids=row["children"]):
            childid = uncounted["processid"]
            child = tx.one("get_process", processid=childid)
            if child is None or child["state"] != WAITING or not child["waitforparents"]:
                continue
            parents = tx.all("get_processes_in", ids=child["parents"])
            if all(p["state"] == SUCCESS for p in parents) and len(parents) == len(loads(child["parents"])):
                tx.run("release_parents_wait", processid=childid, now=now)
                changed.append(tx.one("get_process", processid=childid))  # type: ignore[arg-type]
    else:
        # Only waiting descendants fail; nodes that already succeeded keep their state and output (the Go server
        # marks every process of the graph FAILED).
        frontier = loads(row["children"])
        seen: set[str] = set()
        while frontier:
            pid = frontier.pop()
            if pid in seen:
                continue
            seen.add(pid)
            proc = tx.one("get_process", processid=pid)
            if proc is None:
                continue
            frontier.extend(loads(proc["children"]))
            if proc["state"] == WAITING:
                errors = [f"Parent process {row['processid']} ({row['nodename']}) failed"]
                failed = tx.one("close_process", processid=pid, state=FAILED, now=now, output=proc["output"],
                                errors=dumps(errors))  # fmt: skip
                set_state(tx, pid, FAILED)
                changed.append(failed)  # type: ignore[arg-type]
    update_graph_state(tx, graphid, now)
    return changed


def update_graph_state(tx: Tx, graphid: str, now: int) -> None:
    tx.one("lock_graph", processgraphid=graphid)  # counts below then see every committed change of the graph
    graph = tx.one("get_graph", processgraphid=graphid)
    if graph is None:
        return
    counts = {r["state"]: r["n"] for r in tx.all("count_graph_process_states", processgraphid=graphid)}
    state = dag.graph_state(counts)
    if state == graph["state"]:
        return
    starttime = graph["starttime"] or (now if state != WAITING else 0)
    endtime = graph["endtime"] or (now if state in (SUCCESS, FAILED, CANCELLED) else 0)
    tx.run("set_graph_state", processgraphid=graphid, state=state, starttime=starttime, endtime=endtime)


def insert_graph(tx: Tx, graph: Row, processes: list[Row], attributes: list[Row]) -> Row:
    tx.run("add_graph", **graph)
    for proc in processes:
        tx.run("add_process", **proc)
    for attr in attributes:
        tx.run("add_attribute", **attr)
    return graph


def _get_graph(tx: Tx, processgraphid: str) -> tuple[Row, list[Row]] | None:
    graph = tx.one("get_graph", processgraphid=processgraphid)
    if graph is None:
        return None
    return graph, tx.all("get_graph_processes", processgraphid=processgraphid)


def _get_graphs(tx: Tx, colonyname: str, state: int, count: int, offset: int) -> list[tuple[Row, list[str]]]:
    result = []
    for graph in tx.all("get_graphs", colonyname=colonyname, state=state, count=count, offset=offset):
        procs = tx.all("get_graph_processes", processgraphid=graph["processgraphid"])
        result.append((graph, [p["processid"] for p in procs]))
    return result


def _remove_graph(tx: Tx, processgraphid: str) -> None:
    tx.one("lock_graph", processgraphid=processgraphid)
    graph = tx.one("get_graph", processgraphid=processgraphid)
    if graph is None:
        raise NotFound(f"Workflow with id {processgraphid} does not exist")
    if graph["state"] == RUNNING:
        raise BadRequest("Not possible to remove a running workflow: cancel it first")
    tx.run("remove_graph_attributes", processgraphid=processgraphid)
    tx.run("remove_graph_processes", processgraphid=processgraphid)
    tx.run("remove_graph", processgraphid=processgraphid)
    remove_orphan_channels(tx, graph["colonyname"])


def _remove_all_graphs(tx: Tx, colonyname: str, state: int) -> None:
    # Removes the graphs in that state with their own processes (the Go server removes every workflow process in
    # that process state, whichever graph it belongs to).
    for row in tx.all("get_graph_ids", colonyname=colonyname, state=state):
        _remove_graph(tx, row["processgraphid"])


def _cancel_graph(tx: Tx, processgraphid: str, now: int) -> list[Row]:
    graph = tx.one("get_graph", processgraphid=processgraphid)
    if graph is None:
        raise NotFound(f"Workflow with id {processgraphid} does not exist")
    if graph["state"] in (SUCCESS, FAILED, CANCELLED):
        raise BadRequest(f"Workflow {processgraphid} has already ended")
    changed = []
    procs = {p["processid"]: p for p in tx.all("get_graph_processes", processgraphid=processgraphid)}
    deps = {pid: [q for q in loads(p["parents"]) if q in procs] for pid, p in procs.items()}
    # Parents before children: a close holds its process and then touches only descendants, so taking the row
    # locks in this order never waits on a close in a cycle (no deadlock).
    for proc in (procs[pid] for pid in dag.topological_order(deps)):
        if proc["state"] in (WAITING, RUNNING):
            # The list above is a snapshot: a node closed since then keeps its result (the update is guarded).
            cancelled = tx.one("cancel_active_process", processid=proc["processid"], now=now)
            if cancelled is not None:
                set_state(tx, proc["processid"], CANCELLED)
                changed.append(cancelled)
    tx.run("set_graph_state", processgraphid=processgraphid, state=CANCELLED,
           starttime=graph["starttime"], endtime=now)  # fmt: skip
    return changed  # type: ignore[return-value]


def _add_child(
    tx: Tx, parentid: str, childid: str, insert: bool, executorid: str, process: Row, attributes: list[Row],
    max_nodes: int, max_edges: int,
) -> Row:  # fmt: skip
    parent = check_assigned(lock(tx, parentid), parentid, executorid)
    graphid = parent["processgraphid"]
    if not graphid:
        raise BadRequest("Parent process does not belong to a workflow")
    if process["processgraphid"] and process["processgraphid"] != graphid:
        raise BadRequest("Parent process does not belong to the given workflow")
    _check_graph_growth(tx, graphid, 2 if childid and not insert else 1, max_nodes, max_edges)
    new_id = process["processid"]
    process = {**process, "processgraphid": graphid, "parents": dumps([parentid]), "waitforparents": 1}
    parent_children = loads(parent["children"])
    if insert:
        process["children"] = dumps(parent_children)
        for old_child in parent_children:
            child = tx.one("get_process", processid=old_child)
            if child:
                parents = [new_id if p == parentid else p for p in loads(child["parents"])]
                tx.run("set_process_links", processid=old_child, parents=dumps(parents),
                       children=child["children"], waitforparents=child["waitforparents"])  # fmt: skip
        parent_children = [new_id]
    else:
        parent_children = parent_children + [new_id]
        if childid:
            child = tx.one("get_process", processid=childid)
            if child is None or child["processgraphid"] != graphid:
                raise BadRequest(f"Child process {childid} does not belong to the workflow")
            process["children"] = dumps([childid])
            tx.run("set_process_links", processid=childid, parents=dumps(loads(child["parents"]) + [new_id]),
                   children=child["children"], waitforparents=1)  # fmt: skip
    tx.run("set_process_links", processid=parentid, parents=parent["parents"], children=dumps(parent_children),
           waitforparents=parent["waitforparents"])  # fmt: skip
    return insert_process(tx, process, attributes)


def _check_graph_growth(tx: Tx, graphid: str, new_edges: int, max_nodes: int, max_edges: int) -> None:
    """addchildmsg grows a graph one node at a time: keep it within the limits a submission must respect."""
    if not (max_nodes or max_edges):
        return
    size = tx.one("count_graph_size", processgraphid=graphid) or {"nodes": 0, "edges": 0}
    if max_nodes and size["nodes"] + 1 > max_nodes:
        raise BadRequest(f"Invalid workflow: adding a child would exceed the limit of {max_nodes} nodes")
    if max_edges and int(size["edges"]) + new_edges > max_edges:
        raise BadRequest(
            f"Invalid workflow: adding a child would exceed the limit of {max_edges} dependencies"
        )

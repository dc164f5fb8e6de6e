"""Jobs on process rows that several areas run: the locking order, fencing, attributes, membership."""

from __future__ import annotations

from ..exceptions import BadRequest, ColoniesError, Forbidden, NotFound
from ..types import ExecutorState
from .base import Row, Tx
from .core import RUNNING, dumps


def lock(tx: Tx, processid: str) -> Row | None:
    """The process, locked for this transaction, then its graph: every job locks a process before its graph
    (assign included), so two jobs never wait on each other in opposite orders."""
    row = tx.one("lock_process", processid=processid)
    if row is not None and row["processgraphid"]:
        tx.one("lock_graph", processgraphid=row["processgraphid"])
    return row


def check_assigned(
    row: Row | None,
    processid: str,
    executorid: str,
    lease: int | None = None,
    ended: type[ColoniesError] = Forbidden,
) -> Row:
    """Fencing: only the current assignment may act on a process. Without a lease (Go clients) that is "assigned
    to the caller and running"; with one, also "the very assignment the caller was given", which refuses a late
    call from an earlier assignment of the same process to the same executor. A process that has ended is a 403,
    or ``ended`` (the Go server answers a close with 400)."""
    if row is None:
        raise NotFound(f"Process with id {processid} does not exist")
    if not row["isassigned"] or row["assignedexecutorid"] != executorid:
        raise Forbidden(
            f"Process {processid} is not assigned to the caller (its lease expired and it was requeued)"
        )
    if row["state"] != RUNNING:
        raise ended(f"Process {processid} is not running (state {row['state']})")
    if lease is not None and lease != row["starttime"]:
        raise Forbidden(f"Process {processid}: lease expired, the process was requeued and assigned again")
    return row


def set_state(tx: Tx, processid: str, state: int) -> None:
    tx.run("set_attributes_state", targetid=processid, state=state)


def set_state_returning(tx: Tx, processid: str, state: int) -> list[Row]:
    """set_state, returning the process's attributes (as ``get_attributes`` orders them): one statement."""
    rows = tx.all("set_attributes_state_returning", targetid=processid, state=state)
    rows.sort(key=lambda r: (r["added"], r["_order"]))
    for r in rows:
        del r["_order"]
    return rows


def process_with_attributes(tx: Tx, processid: str) -> Row | None:
    row = tx.one("get_process", processid=processid)
    if row is not None:
        row["_attributes"] = tx.all("get_attributes", targetid=processid)
    return row


def with_attributes(tx: Tx, rows: list[Row]) -> list[Row]:
    if not rows:
        return rows
    by_target: dict[str, list[Row]] = {}
    for attr in tx.all("get_attributes_in", ids=dumps([r["processid"] for r in rows])):
        by_target.setdefault(attr["targetid"], []).append(attr)
    for row in rows:
        row["_attributes"] = by_target.get(row["processid"], [])
    return rows


def insert_process(tx: Tx, process: Row, attributes: list[Row]) -> Row:
    """Insert a process and its attributes; returns the row as ``process_with_attributes`` would read it back
    (RETURNING: no second round trip). ``all``, not ``one``: the statement is run to its end."""
    row = tx.all("add_process_returning", **process)[0]
    row["_attributes"] = [tx.all("add_attribute_returning", **attr)[0] for attr in attributes]
    return row


def find_member(tx: Tx, colonyname: str, identity: str) -> Row | None:
    executor = tx.one("get_member_executor", colonyname=colonyname, id=identity)
    if executor and executor["state"] == ExecutorState.APPROVED:
        return {"kind": "executor", "name": executor["executorname"], "colonyname": colonyname, **executor}
    user = tx.one("get_member_user", colonyname=colonyname, id=identity)
    if user:
        return {
            "kind": "user",
            "name": user["name"],
            "colonyname": colonyname,
            "state": ExecutorState.APPROVED,
        }
    if executor:
        return {"kind": "executor", "name": executor["executorname"], "colonyname": colonyname, **executor}
    return None


def change_member_id(tx: Tx, query: str, colonyname: str, oldid: str, newid: str) -> None:
    """Shared by users and executors: an id names one member of a colony, and its owner is not a member."""
    if oldid == newid:
        return  # nothing to rotate (the caller's membership was checked by the handler)
    if tx.one("is_id_used_in_colony", colonyname=colonyname, id=newid):
        raise BadRequest(f"The id {newid} is already used in colony {colonyname}")
    if not tx.run(query, colonyname=colonyname, oldid=oldid, newid=newid):
        raise NotFound(f"No member with id {oldid} in colony {colonyname}")
    if query == "set_executor_id":
        tx.run("move_running_processes", colonyname=colonyname, oldid=oldid, newid=newid)

"""Processes: submit, assign (the claim), close, cancel, requeue and the timeouts."""

from __future__ import annotations

from dataclasses import dataclass

from ..exceptions import BadRequest, Forbidden, NotFound
from ..types import ExecutorState, ProcessState
from .base import Row, Tx
from .channels import remove_channels, remove_orphan_channels
from .core import CANCELLED, FAILED, RUNNING, SUCCESS, WAITING, StoreBase, dumps, loads, request_nonce
from .functions import update_function_stats
from .pauses import is_paused
from .shared import (
    check_assigned,
    insert_process,
    lock,
    process_with_attributes,
    set_state,
    set_state_returning,
    with_attributes,
)
from .workflows import resolve_after_close, update_graph_state

#: What ``assign_process`` returns while the colony's assignments are paused (the executor is still marked alive).
PAUSED: Row = {"paused": True}


class ProcessStore(StoreBase):
    """The processes operations of the store."""

    async def add_process(self, process: Row, attributes: list[Row]) -> Row:
        return await self._write(insert_process, process, attributes)

    async def get_process(self, processid: str) -> Row | None:
        """The process row with its attributes under ``"_attributes"``."""
        return await self.driver.read(process_with_attributes, processid)

    async def get_processes(
        self,
        colonyname: str,
        state: int,
        count: int,
        executortype: str = "",
        initiator: str = "",
        label: str = "",
        funcname: str = "",
        offset: int = 0,
    ) -> list[Row]:
        return await self.driver.read(
            _get_processes, colonyname, state, count, executortype, initiator, label, funcname, offset
        )

    async def get_process_hist(self, colonyname: str, executorid: str, since: int, state: int) -> list[Row]:
        return await self.driver.read(
            lambda tx: with_attributes(
                tx,
                tx.all(
                    "get_process_hist", colonyname=colonyname, executorid=executorid, since=since, state=state
                ),
            )
        )

    async def assign_process(
        self, colonyname: str, executor: Row, executorid: str, cpu: int, mem: int, now: int
    ) -> Row | None:
        """Claim the eligible process with the lowest prioritytime for this executor, or None (``PAUSED`` while the
        colony's assignments are paused). The request's nonce is kept on the claimed row, so a retry of the request
        (its reply lost) can be given the same one."""
        pending = request_nonce.get()
        nonce = pending.nonce if pending is not None else ""
        executor = self._heard(colonyname, executor, now)
        return await self._write(_assign_process, colonyname, executor, executorid, cpu, mem, now, nonce)

    async def add_process_handing(
        self, process: Row, attributes: list[Row], claim: Claim, now: int
    ) -> tuple[Row, Row | None]:
        """Submit a process and, in the same transaction, claim work for a parked long-poll (the hand-off):
        (the submitted row, what the claim took for ``claim`` or None). The claim is the assign's own (same
        order, membership and pause checks, the long-poll's nonce kept for a retry), so it may take an older
        process of higher priority instead; whatever stops it only leaves the submit as it would be alone."""
        executor = self._heard(claim.colonyname, claim.executor, now)
        return await self._write(_add_and_claim, process, attributes, claim, executor, now)

    def _heard(self, colonyname: str, executor: Row, now: int) -> Row:
        """The executor row may come from the membership cache, its lastheardfromtime as old as the cache entry:
        remember here when this server last marked the executor alive, so that it is marked once a second."""
        marks: dict[tuple[str, str], int] = self.__dict__.setdefault("_alive_marks", {})
        key = (colonyname, executor["name"])
        heard = max(executor.get("lastheardfromtime") or 0, marks.get(key, 0))
        if now - heard > ALIVE_EVERY_NS:
            if len(marks) >= 10_000:
                marks.clear()
            marks[key] = now
        return {**executor, "lastheardfromtime": heard}

    async def get_claimed_by_nonce(self, executorid: str, nonce: str) -> Row | None:
        """The process an assign request with this nonce claimed for this executor, if it still runs."""

        def find(tx: Tx) -> Row | None:
            row = tx.one("get_claimed_by_nonce", executorid=executorid, nonce=nonce)
            if row is not None:
                row["_attributes"] = tx.all("get_attributes", targetid=row["processid"])
            return row

        return await self.driver.read(find)

    async def close_process(
        self, processid: str, executorid: str, success: bool, values: str, now: int, lease: int | None = None
    ) -> list[Row]:
        """Close as SUCCESS (values = JSON of out) or FAILED (values = JSON of errors); returns every process
        that changed. Only the executor the process is assigned to may close it (see ``_close_process``).
        ``lease`` (the assignment's starttime) fences a caller whose assignment has ended."""
        return await self._write(_close_process, processid, executorid, success, values, now, lease)

    async def release_process(self, processid: str, now: int) -> list[Row]:
        """Put a running process back in the queue without counting a retry (its claimant went away)."""
        return await self._write(_release_process, processid, now)

    async def set_output(self, processid: str, executorid: str, out: str, lease: int | None = None) -> None:
        await self._write(_set_output, processid, executorid, out, lease)

    async def cancel_process(self, processid: str, now: int) -> list[Row]:
        return await self._write(_cancel_process, processid, now)

    async def remove_process(self, processid: str) -> None:
        await self._write(_remove_process, processid)

    async def remove_all_processes(self, colonyname: str, state: int) -> None:
        await self._write(_remove_all_processes, colonyname, state, long=True)

    async def expire_processes(self, now: int) -> list[Row]:
        """Requeue or fail running processes past maxexectime; fail waiting ones past maxwaittime."""
        return await self._write(_expire_processes, now)


#: An assign marks its executor alive (lastheardfromtime) at most this often.
ALIVE_EVERY_NS = 1_000_000_000

_ORDER = {WAITING: "get_processes_by_priority", RUNNING: "get_processes_by_start"}


def _get_processes(
    tx: Tx, colonyname: str, state: int, count: int, executortype: str, initiator: str, label: str,
    funcname: str, offset: int,
) -> list[Row]:
    # Filters combine (the Go server applies only the first of executortype > initiator > label).
    query = _ORDER.get(state, "get_processes_by_end")
    rows = tx.all(query, colonyname=colonyname, state=state, count=count, executortype=executortype,
                  initiator=initiator, label=label, funcname=funcname, offset=offset)  # fmt: skip
    return with_attributes(tx, rows)


def _assign_process(
    tx: Tx, colonyname: str, executor: Row, executorid: str, cpu: int, mem: int, now: int, nonce: str
) -> Row | None:
    if now - (executor.get("lastheardfromtime") or 0) > ALIVE_EVERY_NS:  # at most one write a second
        tx.run("mark_executor_alive", colonyname=colonyname, executorname=executor["name"], now=now)
    row = tx.one("assign_process", colonyname=colonyname, executortype=executor["executortype"],
                 executorname=executor["name"], locationname=executor.get("locationname") or "",
                 executorid=executorid, cpu=cpu, mem=mem, now=now, nonce=nonce)  # fmt: skip
    if row is None:
        # Nothing claimed: tell "paused" and "no longer a member" from "no work" (only on this path, so that a
        # claim stays one statement).
        if is_paused(tx, colonyname):
            return PAUSED
        current = tx.one("get_member_executor", colonyname=colonyname, id=executorid)
        if current is None or current["state"] != ExecutorState.APPROVED:
            raise Forbidden(f"Access denied, executor is no longer an approved member of colony {colonyname}")
        return None
    if "_attributes_json" in row:  # PostgreSQL's claim set its attributes' state in the same statement
        attributes = loads(row.pop("_attributes_json") or "[]")
    else:
        attributes = set_state_returning(tx, row["processid"], RUNNING)
    if row["processgraphid"]:
        parents = loads(row["parents"])
        if parents:
            outputs = {
                p["processid"]: loads(p["output"]) for p in tx.all("get_processes_in", ids=dumps(parents))
            }
            merged = [v for pid in parents for v in outputs.get(pid, [])]
            row["input"] = dumps(merged)
            tx.run("set_process_input", processid=row["processid"], input=row["input"])
        update_graph_state(tx, row["processgraphid"], now)
    row["_attributes"] = attributes
    return row


@dataclass(frozen=True, slots=True)
class Claim:
    """What a parked long-poll's claim needs, for a submit that claims on its behalf."""

    colonyname: str
    executor: Row
    executorid: str
    cpu: int
    mem: int
    nonce: str


def _add_and_claim(
    tx: Tx, process: Row, attributes: list[Row], claim: Claim, executor: Row, now: int
) -> tuple[Row, Row | None]:
    row = insert_process(tx, process, attributes)
    try:
        claimed = _assign_process(tx, claim.colonyname, executor, claim.executorid, claim.cpu, claim.mem, now,
                                  claim.nonce)  # fmt: skip
    except Forbidden:  # the waiter's executor was removed or rejected: its own next claim says so
        return row, None
    return row, (None if claimed is PAUSED else claimed)


def _close_process(
    tx: Tx, processid: str, executorid: str, success: bool, values: str, now: int, lease: int | None
) -> list[Row]:
    # One statement: the fencing checks are its WHERE clause (it locks the process before its graph, as ``lock``).
    # No membership read: a process assigned to the caller and running proves it. Removing or rejecting an
    # executor requeues what it runs in the same transaction, and a new key takes its processes along.
    closed = tx.one("close_fenced", processid=processid, executorid=executorid, now=now,
                    lease=-1 if lease is None else lease, state=SUCCESS if success else FAILED,
                    output=values if success and values != "[]" else "", errors="" if success else values)  # fmt: skip
    if closed is None:  # refused: the row as it is says why
        check_assigned(lock(tx, processid), processid, executorid, lease, ended=BadRequest)
        raise Forbidden(f"Process {processid} is not assigned to the caller")  # changed between the two reads
    if closed["processgraphid"]:
        tx.one("lock_graph", processgraphid=closed["processgraphid"])
    if not closed.pop("_also_attributes_and_stats", 0):  # PostgreSQL's close_fenced did both in its statement
        if success:
            update_function_stats(tx, closed, executorid, now)
        set_state(tx, processid, SUCCESS if success else FAILED)
    changed = [closed]
    if closed["processgraphid"]:
        changed += resolve_after_close(tx, closed, success, now)
    return changed


def _set_output(tx: Tx, processid: str, executorid: str, out: str, lease: int | None) -> None:
    check_assigned(lock(tx, processid), processid, executorid, lease)
    tx.run("set_process_output", processid=processid, output=out)


def _cancel_process(tx: Tx, processid: str, now: int) -> list[Row]:
    row = lock(tx, processid)
    if row is None:
        raise NotFound(f"Process with id {processid} does not exist")
    if row["processgraphid"]:
        raise BadRequest("Process belongs to a workflow: cancel the entire workflow instead")
    if row["state"] not in (WAITING, RUNNING):
        raise BadRequest(
            f"Process {processid} cannot be cancelled in state {ProcessState(row['state']).name}"
        )
    cancelled = tx.one("close_process", processid=processid, state=CANCELLED, now=now, output=row["output"],
                       errors=row["errors"])  # fmt: skip
    set_state(tx, processid, CANCELLED)
    return [cancelled]  # type: ignore[list-item]


def _remove_process(tx: Tx, processid: str) -> None:
    row = lock(tx, processid)
    if row is None:
        raise NotFound(f"Process with id {processid} does not exist")
    if row["processgraphid"]:
        raise BadRequest("Process belongs to a workflow: remove the entire workflow instead")
    if row["state"] == RUNNING:
        raise BadRequest("Not possible to remove a running process")
    tx.run("remove_process", processid=processid)
    tx.run("remove_process_attributes", processid=processid)
    remove_channels(tx, processid)


def _remove_all_processes(tx: Tx, colonyname: str, state: int) -> None:
    tx.run("remove_all_processes", colonyname=colonyname, state=state)
    tx.run("remove_orphan_attributes", colonyname=colonyname)
    remove_orphan_channels(tx, colonyname)


def requeue(tx: Tx, row: Row, now: int, retry: int) -> Row:
    requeued = tx.one("requeue_process", processid=row["processid"], now=now, retry=retry)
    set_state(tx, row["processid"], WAITING)
    if row["processgraphid"]:
        update_graph_state(tx, row["processgraphid"], now)
    return requeued  # type: ignore[return-value]


def _release_process(tx: Tx, processid: str, now: int) -> list[Row]:
    row = lock(tx, processid)
    if row is None or row["state"] != RUNNING:
        return []
    return [requeue(tx, row, now, retry=0)]


def _fail(tx: Tx, row: Row, errors: list[str], now: int) -> list[Row]:
    failed = tx.one("close_process", processid=row["processid"], state=FAILED, now=now, output=row["output"],
                    errors=dumps(errors))  # fmt: skip
    set_state(tx, row["processid"], FAILED)
    changed = [failed]
    if row["processgraphid"]:
        changed += resolve_after_close(tx, row, False, now)
    return changed  # type: ignore[return-value]


def _expire_processes(tx: Tx, now: int) -> list[Row]:
    changed: list[Row] = []
    for candidate in tx.all("get_expired_running", now=now):
        row = lock(
            tx, candidate["processid"]
        )  # re-read under lock: the executor may have closed it meanwhile
        if row is None or row["state"] != RUNNING or not 0 < row["execdeadline"] < now:
            continue
        if row["maxretries"] > -1 and row["retries"] >= row["maxretries"]:
            changed += _fail(tx, row, ["Maximum execution time limit exceeded"], now)
        else:
            changed.append(requeue(tx, row, now, retry=1))
    for candidate in tx.all("get_expired_waiting", now=now):
        row = lock(tx, candidate["processid"])
        if row is None or row["state"] != WAITING or not 0 < row["waitdeadline"] < now:
            continue
        changed += _fail(tx, row, ["Maximum waiting time limit exceeded"], now)
    return changed

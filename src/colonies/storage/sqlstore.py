"""The storage API the handlers call: one async method per operation, written once for every backend.

Each public method hands a job (``_name(tx, ...)``) to the driver; a job runs named queries only, so the SQL of a
backend stays in its ``queries.sql``. Jobs that must be atomic (assign, close, workflow resolution) do all their
checks inside the write job, so two callers racing on one process cannot both win.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import orjson

from .. import dag
from ..exceptions import BadRequest, ColoniesError, Conflict, Forbidden, NotFound, approved_member
from ..types import AttributeType, ExecutorState, ProcessState
from .base import Driver, Row, Tx, UniqueViolation


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


loads = orjson.loads

WAITING, RUNNING, SUCCESS, FAILED, CANCELLED = (int(s) for s in ProcessState)


@dataclass(slots=True)
class PendingNonce:
    """A request's replay-protection nonce, recorded by the request's first write."""

    caller: str
    nonce: str
    expires: int  # ns; forgotten after this
    used: bool = False


#: The nonce of the request being handled, set by the dispatcher. A context variable because it belongs to the
#: request's task (and the tasks it spawns), not to the shared store.
request_nonce: ContextVar[PendingNonce | None] = ContextVar("request_nonce", default=None)


def _with_nonce(tx: Tx, pending: PendingNonce, fn: Any, *args: Any) -> Any:
    if tx.run("use_nonce", caller=pending.caller, nonce=pending.nonce, expires=pending.expires) == 0:
        raise Conflict("Replayed request refused: this nonce was already used")
    return fn(tx, *args)


class SQLStore:
    """Storage operations over a driver (SQLite now, PostgreSQL later)."""

    def __init__(self, driver: Driver) -> None:
        self.driver = driver

    async def _write(self, fn: Any, *args: Any) -> Any:
        """Run a write job; the first write of a request that carried a nonce also records the nonce, in the same
        transaction, so the effect and the nonce commit (or roll back) together and a replay finds it."""
        pending = request_nonce.get()
        if pending is None or pending.used:
            return await self.driver.write(fn, *args)
        pending.used = True  # shared with tasks the request spawned (they copy the context, not the object)
        return await self.driver.write(_with_nonce, pending, fn, *args)

    async def use_nonce(self, pending: PendingNonce) -> None:
        """Record a nonce on its own (a /pubsub subscription writes nothing else); 409 if already used."""
        await self.driver.write(_with_nonce, pending, lambda tx: None)

    async def purge_nonces(self, now: int) -> int:
        """Forget nonces past the replay window (their requests are refused as stale anyway)."""
        return await self.driver.write(lambda tx: tx.run("purge_nonces", now=now))

    async def close(self) -> None:
        await self.driver.close()

    # -- replicas -----------------------------------------------------------------------------------------------

    @property
    def replicated(self) -> bool:
        """True when other server processes may share this database (PostgreSQL)."""
        return hasattr(self.driver, "notify")

    def start_events(self, on_remote: Any) -> None:
        if self.replicated:
            self.driver.start_events(asyncio.get_running_loop(), on_remote)  # type: ignore[attr-defined]

    def relay(self, rows: list[Row]) -> None:
        self.driver.notify(rows)  # type: ignore[attr-defined]

    async def is_leader(self) -> bool:
        """Whether this server runs the background duties; always true for a single-process database."""
        if not self.replicated:
            return True
        return await self.driver.is_leader()  # type: ignore[attr-defined, no-any-return]

    # -- server -------------------------------------------------------------------------------------------------

    async def get_server_id(self) -> str:
        row = await self.driver.read(lambda tx: tx.one("get_server_id"))
        return row["serverid"] if row else ""

    async def set_server_id(self, serverid: str) -> None:
        await self._write(lambda tx: tx.run("set_server_id", serverid=serverid))

    async def get_instance_id(self) -> str:
        """The database's random instance id (created with the schema; replicas on one database share it)."""
        row = await self.driver.read(lambda tx: tx.one("get_instance_id"))
        return row["instanceid"] if row else ""

    async def is_known_identity(self, identity: str) -> bool:
        """Whether the id is the server owner's or any colony owner's, user's or executor's."""
        return await self.driver.read(lambda tx: tx.one("is_known_identity", id=identity)) is not None

    async def get_statistics(self, colonyname: str = "") -> dict[str, int]:
        """Counts over every process: off the event loop (a large table takes a while to count)."""
        return await self.driver.read_background(_statistics, colonyname)

    async def get_queue_depths(self) -> list[Row]:
        """Waiting processes per (colonyname, executortype), for /metrics."""
        return await self.driver.read_background(lambda tx: tx.all("count_waiting_by_type"))

    # -- colonies -----------------------------------------------------------------------------------------------

    async def add_colony(self, name: str, colonyid: str) -> None:
        await self._write(_add_colony, name, colonyid)

    async def get_colony(self, name: str) -> Row | None:
        return await self.driver.read(lambda tx: tx.one("get_colony", name=name))

    async def get_colonies(self) -> list[Row]:
        return await self.driver.read(lambda tx: tx.all("get_colonies"))

    async def set_colony_id(self, name: str, colonyid: str) -> None:
        await self._write(lambda tx: tx.run("set_colony_id", name=name, colonyid=colonyid))

    async def remove_colony(self, name: str) -> None:
        await self._write(_remove_colony, name)

    # -- membership ---------------------------------------------------------------------------------------------

    async def get_member(self, colonyname: str, identity: str) -> Row | None:
        """The executor (preferred) or user with this id in the colony, as ``{"kind", "name", ...}``."""
        return await self.driver.read(_get_member, colonyname, identity)

    # -- users --------------------------------------------------------------------------------------------------

    async def add_user(self, user: Row) -> None:
        await self._write(_add_user, user)

    async def get_user(self, colonyname: str, name: str) -> Row | None:
        return await self.driver.read(lambda tx: tx.one("get_user", colonyname=colonyname, name=name))

    async def get_user_by_id(self, colonyname: str, userid: str) -> Row | None:
        return await self.driver.read(lambda tx: tx.one("get_user_by_id", colonyname=colonyname, userid=userid))

    async def get_users(self, colonyname: str) -> list[Row]:
        return await self.driver.read(lambda tx: tx.all("get_users", colonyname=colonyname))

    async def remove_user(self, colonyname: str, name: str) -> int:
        return await self._write(lambda tx: tx.run("remove_user", colonyname=colonyname, name=name))

    # -- executors ----------------------------------------------------------------------------------------------

    async def add_executor(self, executor: Row) -> Row:
        return await self._write(_add_executor, executor)

    async def get_executor(self, colonyname: str, executorname: str) -> Row | None:
        return await self.driver.read(
            lambda tx: tx.one("get_executor", colonyname=colonyname, executorname=executorname)
        )

    async def get_executor_by_id(self, colonyname: str, executorid: str) -> Row | None:
        return await self.driver.read(
            lambda tx: tx.one("get_executor_by_id", colonyname=colonyname, executorid=executorid)
        )

    async def get_executors(self, colonyname: str) -> list[Row]:
        return await self.driver.read(lambda tx: tx.all("get_executors", colonyname=colonyname))

    async def set_executor_state(self, colonyname: str, executorname: str, state: int, now: int = 0) -> list[Row]:
        """Set the state; an executor that is no longer approved gives back its running processes (returned)."""
        return await self._write(_set_executor_state, colonyname, executorname, state, now)

    async def remove_executor(self, colonyname: str, executorname: str, now: int) -> list[Row]:
        """Unregister (soft delete), drop its functions, requeue its running processes; returns those processes."""
        return await self._write(_remove_executor, colonyname, executorname, now)

    # -- functions ----------------------------------------------------------------------------------------------

    async def add_function(self, fn: Row) -> Row:
        return await self._write(_add_function, fn)

    async def get_function(self, functionid: str) -> Row | None:
        return await self.driver.read(lambda tx: tx.one("get_function", functionid=functionid))

    async def get_functions(self, colonyname: str, executorname: str = "") -> list[Row]:
        return await self.driver.read(
            lambda tx: tx.all("get_functions", colonyname=colonyname, executorname=executorname)
        )

    async def remove_function(self, functionid: str) -> int:
        return await self._write(lambda tx: tx.run("remove_function", functionid=functionid))

    # -- processes ----------------------------------------------------------------------------------------------

    async def add_process(self, process: Row, attributes: list[Row]) -> Row:
        return await self._write(_add_process, process, attributes)

    async def get_process(self, processid: str) -> Row | None:
        """The process row with its attributes under ``"_attributes"``."""
        return await self.driver.read(_get_process, processid)

    async def get_processes(
        self, colonyname: str, state: int, count: int, executortype: str = "", initiator: str = "", label: str = ""
    ) -> list[Row]:
        return await self.driver.read(_get_processes, colonyname, state, count, executortype, initiator, label)

    async def get_process_hist(self, colonyname: str, executorid: str, since: int, state: int) -> list[Row]:
        return await self.driver.read(
            lambda tx: _with_attributes(
                tx,
                tx.all("get_process_hist", colonyname=colonyname, executorid=executorid, since=since, state=state),
            )
        )

    async def assign_process(
        self, colonyname: str, executor: Row, executorid: str, cpu: int, mem: int, now: int
    ) -> Row | None:
        """Claim the eligible process with the lowest prioritytime for this executor, or None. The request's
        nonce is kept on the claimed row, so a retry of the request (its reply lost) can be given the same one."""
        pending = request_nonce.get()
        nonce = pending.nonce if pending is not None else ""
        return await self._write(_assign_process, colonyname, executor, executorid, cpu, mem, now, nonce)

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
        that changed. The caller's membership is checked inside the same transaction (one round trip fewer).
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
        await self._write(_remove_all_processes, colonyname, state)

    async def expire_processes(self, now: int) -> list[Row]:
        """Requeue or fail running processes past maxexectime; fail waiting ones past maxwaittime."""
        return await self._write(_expire_processes, now)

    # -- workflows ----------------------------------------------------------------------------------------------

    async def add_graph(self, graph: Row, processes: list[Row], attributes: list[Row]) -> Row:
        return await self._write(_add_graph, graph, processes, attributes)

    async def get_graph(self, processgraphid: str) -> tuple[Row, list[Row]] | None:
        """The graph row and its processes (without attributes)."""
        return await self.driver.read(_get_graph, processgraphid)

    async def get_graphs(self, colonyname: str, state: int, count: int) -> list[tuple[Row, list[str]]]:
        return await self.driver.read(_get_graphs, colonyname, state, count)

    async def remove_graph(self, processgraphid: str) -> None:
        await self._write(_remove_graph, processgraphid)

    async def remove_all_graphs(self, colonyname: str, state: int) -> None:
        await self._write(_remove_all_graphs, colonyname, state)

    async def cancel_graph(self, processgraphid: str, now: int) -> list[Row]:
        return await self._write(_cancel_graph, processgraphid, now)

    async def add_child(
        self, parentid: str, childid: str, insert: bool, executorid: str, process: Row, attributes: list[Row],
        max_nodes: int = 0, max_edges: int = 0,
    ) -> Row:  # fmt: skip
        """Splice a process into a running workflow; refused (400) if the graph would exceed ``max_nodes`` nodes or
        ``max_edges`` dependencies (0 = no limit)."""
        return await self._write(_add_child, parentid, childid, insert, executorid, process, attributes,
                                 max_nodes, max_edges)  # fmt: skip

    # -- attributes and logs ------------------------------------------------------------------------------------

    async def add_attribute(self, attribute: Row, executorid: str, lease: int | None = None) -> Row:
        return await self._write(_add_attribute, attribute, executorid, lease)

    async def get_attribute(self, attributeid: str) -> Row | None:
        return await self.driver.read(lambda tx: tx.one("get_attribute", attributeid=attributeid))

    async def add_log(self, log: Row, executorid: str | None, lease: int | None = None) -> None:
        """Store a log line; with an executorid the process must be running and assigned to it."""
        await self._write(_add_log, log, executorid, lease)

    async def get_logs(
        self, colonyname: str, processid: str, executorname: str, count: int, since: int, latest: bool
    ) -> list[Row]:
        return await self.driver.read(_get_logs, colonyname, processid, executorname, count, since, latest)

    async def search_logs(self, colonyname: str, text: str, since: int, count: int) -> list[Row]:
        return await self.driver.read(
            lambda tx: tx.all("search_logs", colonyname=colonyname, text=text, since=since, count=count)
        )


# ---------------------------------------------------------------------------------------------------------------
# Jobs. Each runs inside one transaction (writes) and talks to the database only through named queries.
# ---------------------------------------------------------------------------------------------------------------


def _statistics(tx: Tx, colonyname: str) -> dict[str, int]:
    execs = tx.one("count_executors", colonyname=colonyname) or {}
    procs = {r["state"]: r["n"] for r in tx.all("count_processes", colonyname=colonyname)}
    graphs = {r["state"]: r["n"] for r in tx.all("count_graphs", colonyname=colonyname)}
    colonies = 1 if colonyname else (tx.one("count_colonies") or {"n": 0})["n"]
    return {
        "colonies": colonies,
        "executors": execs.get("n", 0) or 0,
        "activeexecutors": execs.get("active", 0) or 0,
        "unregisteredexecutors": execs.get("unregistered", 0) or 0,
        "waitingprocesses": procs.get(WAITING, 0),
        "runningprocesses": procs.get(RUNNING, 0),
        "successfulprocesses": procs.get(SUCCESS, 0),
        "failedprocesses": procs.get(FAILED, 0),
        "cancelledprocesses": procs.get(CANCELLED, 0),
        "waitingworkflows": graphs.get(WAITING, 0),
        "runningworkflows": graphs.get(RUNNING, 0),
        "successfulworkflows": graphs.get(SUCCESS, 0),
        "failedworkflows": graphs.get(FAILED, 0),
        "cancelledworkflows": graphs.get(CANCELLED, 0),
    }


def _add_colony(tx: Tx, name: str, colonyid: str) -> None:
    if tx.one("get_colony", name=name):
        raise BadRequest(f"A Colony with name {name} already exists")
    tx.run("add_colony", name=name, colonyid=colonyid)


def _remove_colony(tx: Tx, name: str) -> None:
    if not tx.run("remove_colony", name=name):
        raise NotFound(f"Colony with name {name} does not exist")
    for query in (
        "remove_colony_users",
        "remove_colony_executors",
        "remove_colony_functions",
        "remove_colony_attributes",
        "remove_colony_processes",
        "remove_colony_graphs",
        "remove_colony_logs",
    ):
        tx.run(query, name=name)


def _get_member(tx: Tx, colonyname: str, identity: str) -> Row | None:
    executor = tx.one("get_member_executor", colonyname=colonyname, id=identity)
    if executor and executor["state"] == ExecutorState.APPROVED:
        return {"kind": "executor", "name": executor["executorname"], "colonyname": colonyname, **executor}
    user = tx.one("get_member_user", colonyname=colonyname, id=identity)
    if user:
        return {"kind": "user", "name": user["name"], "colonyname": colonyname, "state": ExecutorState.APPROVED}
    if executor:
        return {"kind": "executor", "name": executor["executorname"], "colonyname": colonyname, **executor}
    return None


def _add_user(tx: Tx, user: Row) -> None:
    if tx.one("get_user", colonyname=user["colonyname"], name=user["name"]):
        raise BadRequest(f"A user with name {user['name']} already exists in colony {user['colonyname']}")
    if tx.one("get_user_by_id", colonyname=user["colonyname"], userid=user["userid"]):
        raise BadRequest(f"A user with id {user['userid']} already exists in colony {user['colonyname']}")
    tx.run("add_user", **user)


def _add_executor(tx: Tx, executor: Row) -> Row:
    colonyname, name = executor["colonyname"], executor["executorname"]
    old = tx.one("get_executor", colonyname=colonyname, executorname=name)
    # Unlike the Go server, the name of an unregistered (removed) executor may be reused.
    if old and old["state"] != ExecutorState.UNREGISTERED:
        raise BadRequest(f"Executor with name {name} in Colony {colonyname} already exists")
    same_id = tx.one("get_executor_by_id", colonyname=colonyname, executorid=executor["executorid"])
    if same_id and same_id["state"] != ExecutorState.UNREGISTERED and same_id["executorname"] != name:
        raise BadRequest(
            f"Executor with id {executor['executorid']} is already registered in Colony {colonyname} "
            f"as {same_id['executorname']}"
        )
    tx.run("add_executor", **executor)
    return tx.one("get_executor", colonyname=colonyname, executorname=name)  # type: ignore[return-value]


def _remove_executor(tx: Tx, colonyname: str, executorname: str, now: int) -> list[Row]:
    executor = tx.one("get_executor", colonyname=colonyname, executorname=executorname)
    if not executor or executor["state"] == ExecutorState.UNREGISTERED:
        raise NotFound(f"Executor with name {executorname} in Colony {colonyname} does not exist")
    tx.run("remove_executor_functions", colonyname=colonyname, executorname=executorname)
    tx.run("set_executor_state", colonyname=colonyname, executorname=executorname, state=ExecutorState.UNREGISTERED)
    return _requeue_executor_work(tx, colonyname, executor["executorid"], now)


def _set_executor_state(tx: Tx, colonyname: str, executorname: str, state: int, now: int) -> list[Row]:
    executor = tx.one("get_executor", colonyname=colonyname, executorname=executorname)
    if executor is None:
        return []
    tx.run("set_executor_state", colonyname=colonyname, executorname=executorname, state=state)
    if state == ExecutorState.APPROVED:
        return []
    return _requeue_executor_work(tx, colonyname, executor["executorid"], now)


def _requeue_executor_work(tx: Tx, colonyname: str, executorid: str, now: int) -> list[Row]:
    """Put the running processes of an executor that left the colony back in the queue. Not counted as a retry:
    the process did not fail, its executor was taken away (the lease fence refuses that executor's late calls)."""
    requeued = []
    for candidate in tx.all("get_executor_running", executorid=executorid, colonyname=colonyname):
        proc = _lock(tx, candidate["processid"])
        if proc is not None and proc["state"] == RUNNING and proc["assignedexecutorid"] == executorid:
            requeued.append(_requeue(tx, proc, now, retry=0))
    return requeued


def _add_function(tx: Tx, fn: Row) -> Row:
    if tx.one("get_function", functionid=fn["functionid"]):
        raise BadRequest(f"A function with id {fn['functionid']} already exists")
    if tx.one("get_function_by_name", colonyname=fn["colonyname"], executorname=fn["executorname"],
              funcname=fn["funcname"]):  # fmt: skip
        raise BadRequest(f"Function {fn['funcname']} is already registered by executor {fn['executorname']}")
    tx.run("add_function", **fn)
    return tx.one("get_function", functionid=fn["functionid"])  # type: ignore[return-value]


def _with_attributes(tx: Tx, rows: list[Row]) -> list[Row]:
    if not rows:
        return rows
    by_target: dict[str, list[Row]] = {}
    for attr in tx.all("get_attributes_in", ids=dumps([r["processid"] for r in rows])):
        by_target.setdefault(attr["targetid"], []).append(attr)
    for row in rows:
        row["_attributes"] = by_target.get(row["processid"], [])
    return rows


def _get_process(tx: Tx, processid: str) -> Row | None:
    row = tx.one("get_process", processid=processid)
    if row is not None:
        row["_attributes"] = tx.all("get_attributes", targetid=processid)
    return row


def _add_process(tx: Tx, process: Row, attributes: list[Row]) -> Row:
    tx.run("add_process", **process)
    for attr in attributes:
        tx.run("add_attribute", **attr)
    return _get_process(tx, process["processid"])  # type: ignore[return-value]


_ORDER = {WAITING: "get_processes_by_priority", RUNNING: "get_processes_by_start"}


def _get_processes(
    tx: Tx, colonyname: str, state: int, count: int, executortype: str, initiator: str, label: str
) -> list[Row]:
    # Only one filter applies, in the Go server's precedence: executortype > initiator > label.
    if executortype:
        initiator = label = ""
    elif initiator:
        label = ""
    query = _ORDER.get(state, "get_processes_by_end")
    rows = tx.all(query, colonyname=colonyname, state=state, count=count, executortype=executortype,
                  initiator=initiator, label=label)  # fmt: skip
    return _with_attributes(tx, rows)


def _set_state(tx: Tx, processid: str, state: int) -> None:
    tx.run("set_attributes_state", targetid=processid, state=state)


def _assign_process(
    tx: Tx, colonyname: str, executor: Row, executorid: str, cpu: int, mem: int, now: int, nonce: str
) -> Row | None:
    if now - (executor.get("lastheardfromtime") or 0) > 1_000_000_000:  # at most one write a second per executor
        tx.run("mark_executor_alive", colonyname=colonyname, executorname=executor["name"], now=now)
    row = tx.one("assign_process", colonyname=colonyname, executortype=executor["executortype"],
                 executorname=executor["name"], locationname=executor.get("locationname") or "",
                 executorid=executorid, cpu=cpu, mem=mem, now=now, nonce=nonce)  # fmt: skip
    if row is None:
        # Nothing claimed: tell "no work" from "no longer a member" (only on this path, so a claim stays one query).
        current = tx.one("get_member_executor", colonyname=colonyname, id=executorid)
        if current is None or current["state"] != ExecutorState.APPROVED:
            raise Forbidden(f"Access denied, executor is no longer an approved member of colony {colonyname}")
        return None
    _set_state(tx, row["processid"], RUNNING)
    if row["processgraphid"]:
        parents = loads(row["parents"])
        if parents:
            outputs = {p["processid"]: loads(p["output"]) for p in tx.all("get_processes_in", ids=dumps(parents))}
            merged = [v for pid in parents for v in outputs.get(pid, [])]
            row["input"] = dumps(merged)
            tx.run("set_process_input", processid=row["processid"], input=row["input"])
        _update_graph_state(tx, row["processgraphid"], now)
    row["_attributes"] = tx.all("get_attributes", targetid=row["processid"])
    return row


def _lock(tx: Tx, processid: str) -> Row | None:
    """The process, locked for this transaction, then its graph: every job locks a process before its graph
    (assign included), so two jobs never wait on each other in opposite orders."""
    row = tx.one("lock_process", processid=processid)
    if row is not None and row["processgraphid"]:
        tx.one("lock_graph", processgraphid=row["processgraphid"])
    return row


def _check_assigned(
    row: Row | None, processid: str, executorid: str, lease: int | None = None, ended: type[ColoniesError] = Forbidden
) -> Row:
    """Fencing: only the current assignment may act on a process. Without a lease (Go clients) that is "assigned
    to the caller and running"; with one, also "the very assignment the caller was given", which refuses a late
    call from an earlier assignment of the same process to the same executor. A process that has ended is a 403,
    or ``ended`` (the Go server answers a close with 400)."""
    if row is None:
        raise NotFound(f"Process with id {processid} does not exist")
    if not row["isassigned"] or row["assignedexecutorid"] != executorid:
        raise Forbidden(f"Process {processid} is not assigned to the caller (its lease expired and it was requeued)")
    if row["state"] != RUNNING:
        raise ended(f"Process {processid} is not running (state {row['state']})")
    if lease is not None and lease != row["starttime"]:
        raise Forbidden(f"Process {processid}: lease expired, the process was requeued and assigned again")
    return row


def _close_process(
    tx: Tx, processid: str, executorid: str, success: bool, values: str, now: int, lease: int | None
) -> list[Row]:
    locked = _lock(tx, processid)
    if locked is None:
        raise NotFound(f"Process with id {processid} does not exist")
    member = approved_member(_get_member(tx, locked["colonyname"], executorid), locked["colonyname"])
    row = _check_assigned(locked, processid, executorid, lease, ended=BadRequest)
    executorname = member["name"]
    if success:
        output = values if values != "[]" else row["output"]
        closed = tx.one("close_process", processid=processid, state=SUCCESS, now=now, output=output,
                        errors=row["errors"])  # fmt: skip
        _update_function_stats(tx, row, executorname, now)
    else:
        closed = tx.one("close_process", processid=processid, state=FAILED, now=now, output=row["output"],
                        errors=values)  # fmt: skip
    _set_state(tx, processid, SUCCESS if success else FAILED)
    changed = [closed]
    if row["processgraphid"]:
        changed += _resolve_after_close(tx, row, success, now)
    return changed  # type: ignore[return-value]


def _update_function_stats(tx: Tx, row: Row, executorname: str, now: int) -> None:
    fn = tx.one("get_function_by_name", colonyname=row["colonyname"], executorname=executorname,
                funcname=row["funcname"])  # fmt: skip
    if fn is None:
        return
    wait = max(row["starttime"] - row["submissiontime"], 0) / 1e9
    exe = max(now - row["starttime"], 0) / 1e9
    n = fn["counter"] + 1
    first = n == 1
    tx.run(
        "update_function_stats",
        functionid=fn["functionid"],
        counter=n,
        minwaittime=wait if first else min(fn["minwaittime"], wait),
        maxwaittime=wait if first else max(fn["maxwaittime"], wait),
        minexectime=exe if first else min(fn["minexectime"], exe),
        maxexectime=exe if first else max(fn["maxexectime"], exe),
        # A true running mean (the Go server halves old + new, a smoothing that overweights the latest run).
        avgwaittime=fn["avgwaittime"] + (wait - fn["avgwaittime"]) / n,
        avgexectime=fn["avgexectime"] + (exe - fn["avgexectime"]) / n,
    )


def _resolve_after_close(tx: Tx, row: Row, success: bool, now: int) -> list[Row]:
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
                _set_state(tx, pid, FAILED)
                changed.append(failed)  # type: ignore[arg-type]
    _update_graph_state(tx, graphid, now)
    return changed


def _update_graph_state(tx: Tx, graphid: str, now: int) -> None:
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


def _set_output(tx: Tx, processid: str, executorid: str, out: str, lease: int | None) -> None:
    _check_assigned(_lock(tx, processid), processid, executorid, lease)
    tx.run("set_process_output", processid=processid, output=out)


def _cancel_process(tx: Tx, processid: str, now: int) -> list[Row]:
    row = _lock(tx, processid)
    if row is None:
        raise NotFound(f"Process with id {processid} does not exist")
    if row["processgraphid"]:
        raise BadRequest("Process belongs to a workflow: cancel the entire workflow instead")
    if row["state"] not in (WAITING, RUNNING):
        raise BadRequest(f"Process {processid} cannot be cancelled in state {ProcessState(row['state']).name}")
    cancelled = tx.one("close_process", processid=processid, state=CANCELLED, now=now, output=row["output"],
                       errors=row["errors"])  # fmt: skip
    _set_state(tx, processid, CANCELLED)
    return [cancelled]  # type: ignore[list-item]


def _remove_process(tx: Tx, processid: str) -> None:
    row = _lock(tx, processid)
    if row is None:
        raise NotFound(f"Process with id {processid} does not exist")
    if row["processgraphid"]:
        raise BadRequest("Process belongs to a workflow: remove the entire workflow instead")
    if row["state"] == RUNNING:
        raise BadRequest("Not possible to remove a running process")
    tx.run("remove_process", processid=processid)
    tx.run("remove_process_attributes", processid=processid)


def _remove_all_processes(tx: Tx, colonyname: str, state: int) -> None:
    tx.run("remove_all_processes", colonyname=colonyname, state=state)
    tx.run("remove_orphan_attributes", colonyname=colonyname)


def _requeue(tx: Tx, row: Row, now: int, retry: int) -> Row:
    requeued = tx.one("requeue_process", processid=row["processid"], now=now, retry=retry)
    _set_state(tx, row["processid"], WAITING)
    if row["processgraphid"]:
        _update_graph_state(tx, row["processgraphid"], now)
    return requeued  # type: ignore[return-value]


def _release_process(tx: Tx, processid: str, now: int) -> list[Row]:
    row = _lock(tx, processid)
    if row is None or row["state"] != RUNNING:
        return []
    return [_requeue(tx, row, now, retry=0)]


def _fail(tx: Tx, row: Row, errors: list[str], now: int) -> list[Row]:
    failed = tx.one("close_process", processid=row["processid"], state=FAILED, now=now, output=row["output"],
                    errors=dumps(errors))  # fmt: skip
    _set_state(tx, row["processid"], FAILED)
    changed = [failed]
    if row["processgraphid"]:
        changed += _resolve_after_close(tx, row, False, now)
    return changed  # type: ignore[return-value]


def _expire_processes(tx: Tx, now: int) -> list[Row]:
    changed: list[Row] = []
    for candidate in tx.all("get_expired_running", now=now):
        row = _lock(tx, candidate["processid"])  # re-read under lock: the executor may have closed it meanwhile
        if row is None or row["state"] != RUNNING or not 0 < row["execdeadline"] < now:
            continue
        if row["maxretries"] > -1 and row["retries"] >= row["maxretries"]:
            changed += _fail(tx, row, ["Maximum execution time limit exceeded"], now)
        else:
            changed.append(_requeue(tx, row, now, retry=1))
    for candidate in tx.all("get_expired_waiting", now=now):
        row = _lock(tx, candidate["processid"])
        if row is None or row["state"] != WAITING or not 0 < row["waitdeadline"] < now:
            continue
        changed += _fail(tx, row, ["Maximum waiting time limit exceeded"], now)
    return changed


def _add_graph(tx: Tx, graph: Row, processes: list[Row], attributes: list[Row]) -> Row:
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


def _get_graphs(tx: Tx, colonyname: str, state: int, count: int) -> list[tuple[Row, list[str]]]:
    result = []
    for graph in tx.all("get_graphs", colonyname=colonyname, state=state, count=count):
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
                _set_state(tx, proc["processid"], CANCELLED)
                changed.append(cancelled)
    tx.run("set_graph_state", processgraphid=processgraphid, state=CANCELLED,
           starttime=graph["starttime"], endtime=now)  # fmt: skip
    return changed  # type: ignore[return-value]


def _add_child(
    tx: Tx, parentid: str, childid: str, insert: bool, executorid: str, process: Row, attributes: list[Row],
    max_nodes: int, max_edges: int,
) -> Row:  # fmt: skip
    parent = _check_assigned(_lock(tx, parentid), parentid, executorid)
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
    return _add_process(tx, process, attributes)


def _check_graph_growth(tx: Tx, graphid: str, new_edges: int, max_nodes: int, max_edges: int) -> None:
    """addchildmsg grows a graph one node at a time: keep it within the limits a submission must respect."""
    if not (max_nodes or max_edges):
        return
    size = tx.one("count_graph_size", processgraphid=graphid) or {"nodes": 0, "edges": 0}
    if max_nodes and size["nodes"] + 1 > max_nodes:
        raise BadRequest(f"Invalid workflow: adding a child would exceed the limit of {max_nodes} nodes")
    if max_edges and int(size["edges"]) + new_edges > max_edges:
        raise BadRequest(f"Invalid workflow: adding a child would exceed the limit of {max_edges} dependencies")


def _add_attribute(tx: Tx, attribute: Row, executorid: str, lease: int | None) -> Row:
    proc = _check_assigned(_lock(tx, attribute["targetid"]), attribute["targetid"], executorid, lease)
    attribute = {**attribute, "targetprocessgraphid": proc["processgraphid"], "state": proc["state"]}
    if tx.one("get_attribute", attributeid=attribute["attributeid"]):
        raise BadRequest(f"Attribute {attribute['key']} already exists on process {attribute['targetid']}")
    tx.run("add_attribute", **attribute)
    return tx.one("get_attribute", attributeid=attribute["attributeid"])  # type: ignore[return-value]


def _add_log(tx: Tx, log: Row, executorid: str | None, lease: int | None) -> None:
    if executorid is not None:
        _check_assigned(_lock(tx, log["processid"]), log["processid"], executorid, lease)
    tx.run("add_log", **log)


def _get_logs(
    tx: Tx, colonyname: str, processid: str, executorname: str, count: int, since: int, latest: bool
) -> list[Row]:
    if executorname:
        if latest:
            rows = tx.all("get_latest_logs_by_executor", colonyname=colonyname, executorname=executorname, count=count)
            return rows[::-1]
        return tx.all("get_logs_by_executor", colonyname=colonyname, executorname=executorname, since=since,
                      count=count)  # fmt: skip
    if latest:
        return tx.all("get_latest_logs_by_process", processid=processid, count=count)[::-1]
    return tx.all("get_logs_by_process", processid=processid, since=since, count=count)


__all__ = ["SQLStore", "UniqueViolation", "AttributeType"]

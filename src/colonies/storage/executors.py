"""Executors: registration, approval and removal (which gives their running processes back)."""

from __future__ import annotations

from ..exceptions import BadRequest, NotFound
from ..types import ExecutorState
from .base import Row, Tx
from .core import RUNNING, StoreBase
from .processes import requeue
from .shared import change_member_id, lock


class ExecutorStore(StoreBase):
    """The executors operations of the store."""

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

    async def set_executor_state(
        self, colonyname: str, executorname: str, state: int, now: int = 0
    ) -> list[Row]:
        """Set the state; an executor that is no longer approved gives back its running processes (returned)."""
        return await self._write(_set_executor_state, colonyname, executorname, state, now)

    async def change_executor_id(self, colonyname: str, oldid: str, newid: str) -> None:
        """The executor with ``oldid`` takes ``newid``, with the processes it runs (400 if the id is taken)."""
        await self._write(change_member_id, "set_executor_id", colonyname, oldid, newid)

    async def set_executor_capabilities(self, colonyname: str, executorname: str, capabilities: str) -> None:
        """Replace what the executor says it has (updateexecutormsg), as the JSON it sent."""
        await self._write(lambda tx: tx.run("set_executor_capabilities", colonyname=colonyname,
                                            executorname=executorname, capabilities=capabilities))  # fmt: skip

    async def set_executor_allocations(self, colonyname: str, executorname: str, allocations: str) -> None:
        """Replace the executor's project allocations (reportallocationmsg), as JSON."""
        await self._write(lambda tx: tx.run("set_executor_allocations", colonyname=colonyname,
                                            executorname=executorname, allocations=allocations))  # fmt: skip

    async def get_executor_colonies(self, executorid: str) -> list[str]:
        """Colonies in which this id is an approved executor (at most two: enough to tell one from many)."""
        rows = await self.driver.read(lambda tx: tx.all("get_executor_colonies", executorid=executorid))
        return [row["colonyname"] for row in rows]

    async def remove_executor(self, colonyname: str, executorname: str, now: int) -> list[Row]:
        """Unregister (soft delete), drop its functions, requeue its running processes; returns those processes."""
        return await self._write(_remove_executor, colonyname, executorname, now)


def _add_executor(tx: Tx, executor: Row) -> Row:
    executor = {"location": "", **executor}  # only v1.7.8 clients send a location object
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
    tx.run(
        "set_executor_state",
        colonyname=colonyname,
        executorname=executorname,
        state=ExecutorState.UNREGISTERED,
    )
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
        proc = lock(tx, candidate["processid"])
        if proc is not None and proc["state"] == RUNNING and proc["assignedexecutorid"] == executorid:
            requeued.append(requeue(tx, proc, now, retry=0))
    return requeued

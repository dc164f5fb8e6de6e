"""Server identity, statistics and queue depths (``getserverinfomsg``, ``getstatisticsmsg``, /metrics)."""

from __future__ import annotations

from .base import Row, Tx
from .core import CANCELLED, FAILED, RUNNING, SUCCESS, WAITING, StoreBase


class ServerStore(StoreBase):
    """The server operations of the store."""

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

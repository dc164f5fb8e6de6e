"""Logs: lines written by the executor of a process (or about an executor), read back by process or executor."""

from __future__ import annotations

from .base import Row, Tx
from .core import StoreBase
from .shared import check_assigned, lock


class LogStore(StoreBase):
    """The logs operations of the store."""

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


def _add_log(tx: Tx, log: Row, executorid: str | None, lease: int | None) -> None:
    if executorid is not None:
        check_assigned(lock(tx, log["processid"]), log["processid"], executorid, lease)
    tx.run("add_log", **log)


def _get_logs(
    tx: Tx, colonyname: str, processid: str, executorname: str, count: int, since: int, latest: bool
) -> list[Row]:
    if executorname:
        if latest:
            rows = tx.all(
                "get_latest_logs_by_executor", colonyname=colonyname, executorname=executorname, count=count
            )
            return rows[::-1]
        return tx.all("get_logs_by_executor", colonyname=colonyname, executorname=executorname, since=since,
                      count=count)  # fmt: skip
    if latest:
        return tx.all("get_latest_logs_by_process", processid=processid, count=count)[::-1]
    return tx.all("get_logs_by_process", processid=processid, since=since, count=count)

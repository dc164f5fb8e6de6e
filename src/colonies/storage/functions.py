"""Functions executors offer, with their run-time statistics."""

from __future__ import annotations

from ..exceptions import BadRequest
from .base import Row, Tx
from .core import StoreBase


class FunctionStore(StoreBase):
    """The functions operations of the store."""

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


def _add_function(tx: Tx, fn: Row) -> Row:
    if tx.one("get_function", functionid=fn["functionid"]):
        raise BadRequest(f"A function with id {fn['functionid']} already exists")
    if tx.one("get_function_by_name", colonyname=fn["colonyname"], executorname=fn["executorname"],
              funcname=fn["funcname"]):  # fmt: skip
        raise BadRequest(f"Function {fn['funcname']} is already registered by executor {fn['executorname']}")
    tx.run("add_function", **fn)
    return tx.one("get_function", functionid=fn["functionid"])  # type: ignore[return-value]


def update_function_stats(tx: Tx, row: Row, executorid: str, now: int) -> None:
    """One more run of the process's function by this executor (nothing when it never registered it)."""
    tx.run("update_function_stats", colonyname=row["colonyname"], executorid=executorid, funcname=row["funcname"],
           wait=max(row["starttime"] - row["submissiontime"], 0) / 1e9,
           exe=max(now - row["starttime"], 0) / 1e9)  # fmt: skip

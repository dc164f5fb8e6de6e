"""Assignment pauses: a paused colony hands out no processes (the Go server keeps the flag in etcd; here it is a
row, so every replica on the database honours it)."""

from __future__ import annotations

from .base import Tx
from .core import StoreBase


class PauseStore(StoreBase):
    """The pause operations of the store."""

    async def pause_assignments(self, colonyname: str, now: int) -> None:
        await self._write(lambda tx: tx.run("pause_colony", colonyname=colonyname, now=now))

    async def resume_assignments(self, colonyname: str) -> None:
        await self._write(lambda tx: tx.run("resume_colony", colonyname=colonyname))

    async def is_paused(self, colonyname: str) -> bool:
        return await self.driver.read(is_paused, colonyname)


def is_paused(tx: Tx, colonyname: str) -> bool:
    return tx.one("is_colony_paused", colonyname=colonyname) is not None

"""Replicas: each server process on the database refreshes a row, so any of them can describe the set
(``getclustermsg``); the leader flag is what the replica last learnt from the leader lock."""

from __future__ import annotations

from .base import Row, Tx
from .core import StoreBase


class ReplicaStore(StoreBase):
    """The replica operations of the store."""

    async def beat_replica(self, replica: Row, now: int, leader: bool, forget_before: int) -> None:
        """Refresh this replica's row and forget replicas silent since ``forget_before``."""
        await self._write(_beat, replica, now, leader, forget_before)

    async def remove_replica(self, replicaid: str) -> None:
        await self._write(lambda tx: tx.run("remove_replica", replicaid=replicaid))

    async def get_replicas(self, since: int) -> list[Row]:
        return await self.driver.read(lambda tx: tx.all("get_replicas", since=since))


def _beat(tx: Tx, replica: Row, now: int, leader: bool, forget_before: int) -> None:
    tx.run("beat_replica", **replica, now=now, leader=int(leader))
    tx.run("prune_replicas", before=forget_before)

"""Colonies and membership: who belongs to a colony, and removing a colony with everything in it."""

from __future__ import annotations

import time
from typing import Any

from ..exceptions import BadRequest, NotFound
from ..types import ExecutorState
from .base import Row, Tx
from .channels import remove_orphan_channels
from .core import StoreBase
from .shared import find_member


#: Cached memberships at most; past it the cache starts again empty (callers with many identities cannot grow it).
MEMBER_CACHE_SIZE = 10_000


class ColonyStore(StoreBase):
    """The colonies operations of the store."""

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

    async def get_member(self, colonyname: str, identity: str) -> Row | None:
        """The executor (preferred) or user with this id in the colony, as ``{"kind", "name", ...}``.

        Every request asks this, so approved memberships are cached (a read saved per request: on PostgreSQL a
        thread hop and a round trip). The driver raises ``membership_epoch`` after each commit that changes a
        membership, here or, through NOTIFY, on another replica; an entry of an older epoch is never used, and
        on PostgreSQL none is older than ``membership_ttl`` seconds, in case a NOTIFY is late."""
        cache: dict[tuple[str, str], tuple[int, float, Row]] = self.__dict__.setdefault("_members", {})
        driver: Any = self.driver
        epoch, ttl = driver.membership_epoch, driver.membership_ttl
        hit = cache.get((colonyname, identity))
        now = time.monotonic()
        if hit is not None and hit[0] == epoch and (ttl is None or hit[1] > now):
            return dict(hit[2])
        member = await self.driver.read(find_member, colonyname, identity)
        approved = member is not None and member.get("state") == ExecutorState.APPROVED
        if approved and driver.membership_epoch == epoch and (ttl is not None or self.replicated is False):
            if len(cache) >= MEMBER_CACHE_SIZE:
                cache.clear()
            cache[(colonyname, identity)] = (epoch, now + (ttl or 0.0), dict(member))  # type: ignore[arg-type]
        return member


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
        "remove_colony_crons",
        "remove_colony_cronruns",
        "remove_colony_generators",
        "remove_colony_generatorargs",
        "remove_colony_generatorruns",
        "remove_colony_locations",
        "remove_colony_files",
        "remove_colony_snapshots",
        "remove_colony_pause",
        "remove_colony_wiregenerations",
        "remove_colony_blueprintdefinitions",
        "remove_colony_blueprints",
        "remove_colony_blueprinthistory",
    ):
        tx.run(query, name=name)
    remove_orphan_channels(tx, name)

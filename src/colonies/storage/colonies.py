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


class EpochCache:
    """Rows that change only through membership writes (executors, users, colonies), cached per server.

    The driver raises ``membership_epoch`` after each commit that changes a membership, here or, through NOTIFY,
    on another replica; an entry of an older epoch is never used, and on PostgreSQL none is older than
    ``membership_ttl`` seconds, in case a NOTIFY is late (``membership_ttl`` None there: the listener is down, and
    nothing is cached). A read that raced with a change (the epoch moved while it ran) is not kept."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self.rows: dict[Any, tuple[int, float, Row]] = {}
        #: SQLite: one process owns the database and sees every change, so entries never expire.
        self.local = not hasattr(driver, "notify")

    def epoch(self) -> int:
        return int(self.driver.membership_epoch)

    def get(self, key: Any) -> Row | None:
        hit = self.rows.get(key)
        if hit is None or hit[0] != self.driver.membership_epoch:
            return None
        if not self.local and hit[1] <= time.monotonic():
            return None
        return dict(hit[2])  # callers may change their copy

    def put(self, key: Any, row: Row, epoch: int) -> None:
        ttl = self.driver.membership_ttl
        if self.driver.membership_epoch != epoch or (ttl is None and not self.local):
            return
        if len(self.rows) >= MEMBER_CACHE_SIZE:
            self.rows.clear()
        self.rows[key] = (epoch, time.monotonic() + (ttl or 0.0), dict(row))


class ColonyStore(StoreBase):
    """The colonies operations of the store."""

    async def add_colony(self, name: str, colonyid: str) -> None:
        await self._write(_add_colony, name, colonyid)

    async def get_colony(self, name: str) -> Row | None:
        """Cached like memberships (a colony changes only with its id or its removal, both membership writes)."""
        cache = self._epoch_cache("_colonies")
        hit = cache.get(name)
        if hit is not None:
            return hit
        epoch = cache.epoch()
        colony = await self.driver.read(lambda tx: tx.one("get_colony", name=name))
        if colony is not None:
            cache.put(name, colony, epoch)
        return colony

    async def get_colonies(self) -> list[Row]:
        return await self.driver.read(lambda tx: tx.all("get_colonies"))

    async def set_colony_id(self, name: str, colonyid: str) -> None:
        await self._write(lambda tx: tx.run("set_colony_id", name=name, colonyid=colonyid))

    async def remove_colony(self, name: str) -> None:
        await self._write(_remove_colony, name, long=True)

    async def get_member(self, colonyname: str, identity: str) -> Row | None:
        """The executor (preferred) or user with this id in the colony, as ``{"kind", "name", ...}``.

        Every request asks this, so approved memberships are cached (a read saved per request: on PostgreSQL a
        thread hop and a round trip); see :class:`EpochCache` for when an entry stops being used."""
        cache = self._epoch_cache("_members")
        key = (colonyname, identity)
        hit = cache.get(key)
        if hit is not None:
            return hit
        epoch = cache.epoch()
        member = await self.driver.read(find_member, colonyname, identity)
        if member is not None and member.get("state") == ExecutorState.APPROVED:
            cache.put(key, member, epoch)
        return member

    def _epoch_cache(self, name: str) -> EpochCache:
        cache = self.__dict__.get(name)
        if cache is None:
            cache = self.__dict__[name] = EpochCache(self.driver)
        return cache


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

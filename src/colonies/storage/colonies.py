"""Colonies and membership: who belongs to a colony, and removing a colony with everything in it."""

from __future__ import annotations

from ..exceptions import BadRequest, NotFound
from .base import Row, Tx
from .channels import remove_orphan_channels
from .core import StoreBase
from .shared import find_member


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
        """The executor (preferred) or user with this id in the colony, as ``{"kind", "name", ...}``."""
        return await self.driver.read(find_member, colonyname, identity)


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

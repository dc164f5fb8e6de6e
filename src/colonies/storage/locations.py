"""Locations: named places with coordinates; executors and processes refer to them by name."""

from __future__ import annotations

from ..exceptions import BadRequest
from .base import Row, UniqueViolation
from .core import StoreBase


class LocationStore(StoreBase):
    """The location operations of the store."""

    async def add_location(self, location: Row) -> Row:
        try:
            await self._write(lambda tx: tx.run("add_location", **location))
        except UniqueViolation:  # raised once the driver has rolled the job back
            raise BadRequest(
                f"A location with name {location['name']} already exists in colony {location['colonyname']}"
            ) from None
        return location

    async def get_location(self, colonyname: str, name: str) -> Row | None:
        return await self.driver.read(lambda tx: tx.one("get_location", colonyname=colonyname, name=name))

    async def get_locations(self, colonyname: str) -> list[Row]:
        return await self.driver.read(lambda tx: tx.all("get_locations", colonyname=colonyname))

    async def remove_location(self, colonyname: str, name: str) -> int:
        return await self._write(lambda tx: tx.run("remove_location", colonyname=colonyname, name=name))

"""Attributes: key/value pairs an assigned executor attaches to its process."""

from __future__ import annotations

from ..exceptions import BadRequest
from .base import Row, Tx
from .core import StoreBase
from .shared import check_assigned, lock


class AttributeStore(StoreBase):
    """The attributes operations of the store."""

    async def add_attribute(self, attribute: Row, executorid: str, lease: int | None = None) -> Row:
        return await self._write(_add_attribute, attribute, executorid, lease)

    async def get_attribute(self, attributeid: str) -> Row | None:
        return await self.driver.read(lambda tx: tx.one("get_attribute", attributeid=attributeid))


def _add_attribute(tx: Tx, attribute: Row, executorid: str, lease: int | None) -> Row:
    proc = check_assigned(lock(tx, attribute["targetid"]), attribute["targetid"], executorid, lease)
    attribute = {**attribute, "targetprocessgraphid": proc["processgraphid"], "state": proc["state"]}
    if tx.one("get_attribute", attributeid=attribute["attributeid"]):
        raise BadRequest(f"Attribute {attribute['key']} already exists on process {attribute['targetid']}")
    tx.run("add_attribute", **attribute)
    return tx.one("get_attribute", attributeid=attribute["attributeid"])  # type: ignore[return-value]

"""Wire generations: the generation of the Go wire a signer's client last showed in a colony (``server/wire.py``)."""

from __future__ import annotations

from .core import StoreBase


class WireStore(StoreBase):
    """The wire-generation operations of the store."""

    async def get_wire_generation(self, colonyname: str, identity: str) -> str:
        row = await self.driver.read(
            lambda tx: tx.one("get_wire_generation", colonyname=colonyname, identity=identity)
        )
        return str(row["generation"]) if row else ""

    async def set_wire_generation(self, colonyname: str, identity: str, generation: str, now: int) -> None:
        await self._write(lambda tx: tx.run("set_wire_generation", colonyname=colonyname, identity=identity,
                                            generation=generation, now=now))  # fmt: skip

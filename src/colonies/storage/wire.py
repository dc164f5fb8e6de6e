"""Wire generations: the generation of the Go wire a signer's client last showed in a colony (``server/wire.py``)."""

from __future__ import annotations

import time

from .core import StoreBase

#: Seconds a replica trusts its copy of a generation that another replica may have changed (PostgreSQL). A stale
#: copy only means a reply in the shape of the caller's previous client generation, for that long.
GENERATION_TTL = 5.0
#: Cached generations at most (one per signer and colony); past it the cache starts again empty.
GENERATION_CACHE_SIZE = 10_000


class WireStore(StoreBase):
    """The wire-generation operations of the store. Go-shaped clients (no nonce) make every request ask for their
    generation, so it is cached: for good on SQLite (this server writes every change), for ``GENERATION_TTL``
    seconds on PostgreSQL."""

    def _generations(self) -> dict[tuple[str, str], tuple[str, float, int]]:
        return self.__dict__.setdefault("_wire_generations", {})  # type: ignore[no-any-return]

    def _remember(self, colonyname: str, identity: str, generation: str) -> None:
        cache = self._generations()
        if len(cache) >= GENERATION_CACHE_SIZE:
            cache.clear()
        expires = time.monotonic() + GENERATION_TTL if self.replicated else float("inf")
        # A membership change (a colony removed with its generations, a key rotated) ends every entry.
        cache[(colonyname, identity)] = (generation, expires, self.driver.membership_epoch)  # type: ignore[attr-defined]

    async def get_wire_generation(self, colonyname: str, identity: str) -> str:
        hit = self._generations().get((colonyname, identity))
        if hit is not None and hit[1] > time.monotonic() and hit[2] == self.driver.membership_epoch:  # type: ignore[attr-defined]
            return hit[0]
        row = await self.driver.read(
            lambda tx: tx.one("get_wire_generation", colonyname=colonyname, identity=identity)
        )
        generation = str(row["generation"]) if row else ""
        self._remember(colonyname, identity, generation)
        return generation

    async def set_wire_generation(self, colonyname: str, identity: str, generation: str, now: int) -> None:
        await self._write(lambda tx: tx.run("set_wire_generation", colonyname=colonyname, identity=identity,
                                            generation=generation, now=now))  # fmt: skip
        self._remember(colonyname, identity, generation)

"""Generators: packed string arguments batched into workflows. Turning args into workflows is one transaction per
batch that locks the generator, re-counts its queue, takes the oldest args (deleting them) and inserts the graphs,
so an argument is used by exactly one workflow, in pack order, whichever replica runs the batch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..exceptions import BadRequest
from .base import Row, Tx, UniqueViolation
from .core import StoreBase
from .workflows import insert_graph

#: (generator, queued args, when the oldest was packed, now) → the workflows to start: [(args, reason), ...]
Plan = Callable[[Row, int, int, int], list[tuple[int, str]]]
#: (generator, args, now) → (graph, processes, attributes) of one workflow
MakeGraph = Callable[[Row, list[str], int], tuple[Row, list[Row], list[Row]]]


class GeneratorStore(StoreBase):
    """The generator operations of the store."""

    async def add_generator(self, generator: Row) -> Row:
        try:
            return await self._write(_add_generator, generator)
        except UniqueViolation:  # raised once the driver has rolled the job back
            raise BadRequest(
                f"A generator with name {generator['name']} already exists in colony {generator['colonyname']}"
            ) from None

    async def get_generator(self, generatorid: str, with_queue: bool = False) -> Row | None:
        """The generator; with ``with_queue`` also ``queued``, its number of packed args."""
        return await self.driver.read(_get_generator, generatorid, with_queue)

    async def get_generator_by_name(self, colonyname: str, name: str) -> Row | None:
        return await self.driver.read(
            lambda tx: tx.one("get_generator_by_name", colonyname=colonyname, name=name)
        )

    async def get_generators(self, colonyname: str, count: int) -> list[Row]:
        return await self.driver.read(lambda tx: tx.all("get_generators", colonyname=colonyname, count=count))

    async def remove_generator(self, generatorid: str) -> int:
        """Remove the generator with its pending args; the workflows it started stay."""
        return await self._write(_remove_generator, generatorid)

    async def pack_generator(self, generator: Row, arg: str, now: int) -> None:
        """Queue one arg (one insert; the first pack ever also sets ``firstpack``)."""
        await self._write(_pack, generator, arg, now)

    async def get_queued_generators(self) -> list[Row]:
        """Generators that have packed args, with ``queued`` (how many)."""
        return await self.driver.read(lambda tx: tx.all("get_queued_generators"))

    async def run_generator(
        self, generatorid: str, now: int, plan: Plan, make_graph: MakeGraph
    ) -> list[tuple[Row, list[Row]]]:
        """Start the workflows ``plan`` asks for, on the queue as it is under the generator's lock; returns each
        started (graph, processes)."""
        return await self._write(_run_generator, generatorid, now, plan, make_graph)

    async def get_generator_runs(self, generatorid: str, count: int) -> list[Row]:
        return await self.driver.read(lambda tx: tx.all("get_generator_runs", generatorid=generatorid, count=count))


def _add_generator(tx: Tx, generator: Row) -> Row:
    tx.run("add_generator", **generator)
    return tx.one("get_generator", generatorid=generator["generatorid"])  # type: ignore[return-value]


def _get_generator(tx: Tx, generatorid: str, with_queue: bool) -> Row | None:
    row = tx.one("get_generator", generatorid=generatorid)
    if row is not None and with_queue:
        row["queued"] = (tx.one("count_generator_args", generatorid=generatorid) or {"n": 0})["n"]
    return row


def _remove_generator(tx: Tx, generatorid: str) -> int:
    tx.run("remove_generator_args", generatorid=generatorid)
    tx.run("remove_generator_runs", generatorid=generatorid)
    return tx.run("remove_generator", generatorid=generatorid)


def _pack(tx: Tx, generator: Row, arg: str, now: int) -> None:
    tx.run("pack_generator_arg", generatorid=generator["generatorid"], colonyname=generator["colonyname"], arg=arg,
           now=now)
    if not generator["firstpack"]:
        tx.run("set_generator_firstpack", generatorid=generator["generatorid"], now=now)


def _run_generator(tx: Tx, generatorid: str, now: int, plan: Plan, make_graph: MakeGraph) -> list[Any]:
    if tx.one("lock_generator", generatorid=generatorid) is None:
        return []  # removed meanwhile
    generator = tx.one("get_generator", generatorid=generatorid)
    queue = tx.one("count_generator_args", generatorid=generatorid) or {"n": 0, "oldest": 0}
    started = []
    for size, reason in plan(generator, queue["n"], queue["oldest"] or 0, now):  # type: ignore[arg-type]
        taken = sorted(tx.all("take_generator_args", generatorid=generatorid, count=size), key=lambda r: r["seq"])
        graph, processes, attributes = make_graph(generator, [t["arg"] for t in taken], now)  # type: ignore[arg-type]
        insert_graph(tx, graph, processes, attributes)
        tx.run("add_generator_run", generatorid=generatorid, colonyname=graph["colonyname"],
               processgraphid=graph["processgraphid"], args=len(taken), fired=now, reason=reason)  # fmt: skip
        started.append((graph, processes))
    if started:
        tx.run("set_generator_lastrun", generatorid=generatorid, now=now)
    return started

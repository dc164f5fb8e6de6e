"""Crons: workflows started on a schedule. A firing is one transaction: advance the cron (compare-and-swap on the
nextrun and previous graph it was computed from), insert the new graph, record the run."""

from __future__ import annotations

from ..exceptions import BadRequest
from .base import Row, Tx, UniqueViolation
from .core import LONG_JOB_ROWS, StoreBase
from .workflows import insert_graph


class CronStore(StoreBase):
    """The cron operations of the store."""

    async def add_cron(self, cron: Row) -> Row:
        try:
            return await self._write(_add_cron, cron)
        except UniqueViolation:  # raised once the driver has rolled the job back
            raise BadRequest(f"A cron with name {cron['name']} already exists in colony {cron['colonyname']}") from None

    async def get_cron(self, cronid: str) -> Row | None:
        return await self.driver.read(lambda tx: tx.one("get_cron", cronid=cronid))

    async def get_crons(self, colonyname: str, count: int) -> list[Row]:
        return await self.driver.read(lambda tx: tx.all("get_crons", colonyname=colonyname, count=count))

    async def remove_cron(self, cronid: str) -> int:
        return await self._write(_remove_cron, cronid)

    async def get_due_crons(self, now: int) -> list[Row]:
        """Crons whose next run is due (held ones included: their previous workflow may have ended)."""
        return await self.driver.read(lambda tx: tx.all("get_due_crons", now=now))

    async def get_next_cron_time(self) -> tuple[int | None, int]:
        """The earliest next run of any cron (None without crons) and how many due runs are held."""
        row = await self.driver.read(lambda tx: tx.one("get_next_cron_time")) or {}
        return row.get("nextrun"), int(row.get("held") or 0)

    async def fire_cron(
        self, cron: Row, graph: Row, processes: list[Row], attributes: list[Row], nextrun: int, now: int, reason: str
    ) -> bool:
        """Start the cron's workflow unless another firing (a replica, a ``runcronmsg``) got there first."""
        return await self._write(_fire_cron, cron, graph, processes, attributes, nextrun, now, reason,
                                 long=len(processes) > LONG_JOB_ROWS)  # fmt: skip

    async def hold_cron(self, cron: Row, reason: str, now: int) -> None:
        """Note why a due run waits (shown by ``getcronrunsmsg``); its nextrun stays, so it fires when released."""
        await self._write(
            lambda tx: tx.run("hold_cron", cronid=cron["cronid"], expected=cron["nextrun"], reason=reason, now=now)
        )

    async def get_cron_runs(self, cronid: str, count: int) -> list[Row]:
        return await self.driver.read(lambda tx: tx.all("get_cron_runs", cronid=cronid, count=count))


def _add_cron(tx: Tx, cron: Row) -> Row:
    tx.run("add_cron", **cron)
    return tx.one("get_cron", cronid=cron["cronid"])  # type: ignore[return-value]


def _remove_cron(tx: Tx, cronid: str) -> int:
    tx.run("remove_cron_runs", cronid=cronid)
    return tx.run("remove_cron", cronid=cronid)


def _fire_cron(
    tx: Tx, cron: Row, graph: Row, processes: list[Row], attributes: list[Row], nextrun: int, now: int, reason: str
) -> bool:
    won = tx.run("advance_cron", cronid=cron["cronid"], expected=cron["nextrun"], prev=cron["prevprocessgraphid"],
                 nextrun=nextrun, now=now, processgraphid=graph["processgraphid"])  # fmt: skip
    if not won:
        return False
    insert_graph(tx, graph, processes, attributes)
    tx.run("add_cron_run", cronid=cron["cronid"], colonyname=cron["colonyname"],
           processgraphid=graph["processgraphid"], scheduled=cron["nextrun"], fired=now, reason=reason)  # fmt: skip
    return True

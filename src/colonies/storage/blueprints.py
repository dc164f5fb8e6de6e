"""Blueprints: definitions (kinds), blueprints (desired and observed state) and their history.

Each change is one transaction with what goes with it: adding a blueprint stores its history entry, its location
and its kind's reconcile cron (when missing) and the first reconcile process; removing one removes its history and,
with the last blueprint of its kind at its location, that cron. A spec change is decided in SQL (the stored spec is
canonical text), so two concurrent updates each get their own generation.
"""

from __future__ import annotations

from ..crypto import random_id
from ..exceptions import Conflict, NotFound
from .base import Row, Tx, UniqueViolation
from .core import StoreBase
from .shared import insert_process


class BlueprintStore(StoreBase):
    """The blueprint operations of the store."""

    # -- definitions -------------------------------------------------------------------------------------------

    async def add_blueprint_definition(self, row: Row) -> Row:
        try:
            return await self._write(_add_definition, row)
        except UniqueViolation:  # a concurrent add of the same name or kind won
            raise Conflict(f"A blueprint definition with name {row['name']} or kind {row['kind']} already exists "
                           f"in colony {row['colonyname']}") from None  # fmt: skip

    async def get_blueprint_definition(self, colonyname: str, name: str) -> Row | None:
        return await self.driver.read(lambda tx: tx.one("get_blueprint_definition", colonyname=colonyname, name=name))

    async def get_blueprint_definition_by_kind(self, colonyname: str, kind: str) -> Row | None:
        return await self.driver.read(
            lambda tx: tx.one("get_blueprint_definition_by_kind", colonyname=colonyname, kind=kind)
        )

    async def get_blueprint_definitions(self, colonyname: str) -> list[Row]:
        return await self.driver.read(lambda tx: tx.all("get_blueprint_definitions", colonyname=colonyname))

    async def remove_blueprint_definition(self, colonyname: str, name: str) -> None:
        """Refused (409) while blueprints of its kind exist."""
        await self._write(_remove_definition, colonyname, name)

    # -- blueprints --------------------------------------------------------------------------------------------

    async def add_blueprint(
        self, row: Row, changedby: str, location: Row | None, cron: Row | None, process: Row | None,
        attributes: list[Row],
    ) -> tuple[Row, bool]:  # fmt: skip
        """Store a new blueprint (409 if the name is taken) with its history entry, its location and reconcile
        cron when missing, and its reconcile process; returns the stored row and whether a cron was made."""
        try:
            return await self._write(_add_blueprint, row, changedby, location, cron, process, attributes)
        except UniqueViolation:
            raise Conflict(_taken(row["colonyname"], row["name"])) from None

    async def get_blueprint(self, colonyname: str, name: str) -> Row | None:
        return await self.driver.read(lambda tx: tx.one("get_blueprint", colonyname=colonyname, name=name))

    async def get_blueprint_by_id(self, blueprintid: str) -> Row | None:
        return await self.driver.read(lambda tx: tx.one("get_blueprint_by_id", blueprintid=blueprintid))

    async def get_blueprints(self, colonyname: str, kind: str = "", locationname: str = "") -> list[Row]:
        return await self.driver.read(
            lambda tx: tx.all("get_blueprints", colonyname=colonyname, kind=kind, locationname=locationname)
        )

    async def update_blueprint(
        self, fields: Row, force: bool, changedby: str, process: Row | None, attributes: list[Row], now: int
    ) -> tuple[Row, bool] | None:
        """Replace labels, annotations and handler; a new spec (or ``force``) also bumps the generation, records
        history and adds the reconcile ``process``. Returns the stored row and whether the spec changed, or None
        if there is no such blueprint."""
        result = await self._write(_update_blueprint, fields, force, changedby, process, attributes, now)
        return result  # type: ignore[no-any-return]

    async def reconcile_blueprint(
        self, colonyname: str, name: str, force: bool, process: Row, attributes: list[Row], now: int
    ) -> Row | None:
        """Add a reconcile process for the blueprint (``force`` bumps its generation first) and return it as
        stored; None if there is no such blueprint."""
        stored = await self._write(_reconcile, colonyname, name, force, process, attributes, now)
        return stored  # type: ignore[no-any-return]

    async def update_blueprint_status(self, colonyname: str, name: str, status: str) -> int:
        return await self._write(
            lambda tx: tx.run("update_blueprint_status", colonyname=colonyname, name=name, status=status)
        )

    async def remove_blueprint(self, row: Row, cronname: str, process: Row | None, attributes: list[Row]) -> bool:
        """Remove the blueprint and its history, its kind's cron at its location (``cronname``) when it was the last
        blueprint there, and add the cleanup ``process``; returns whether the cron went. 404 if it is gone."""
        return await self._write(_remove_blueprint, row, cronname, process, attributes)  # type: ignore[no-any-return]

    async def get_blueprint_history(self, blueprintid: str, count: int) -> list[Row]:
        return await self.driver.read(
            lambda tx: tx.all("get_blueprint_history", blueprintid=blueprintid, count=count)
        )


def _taken(colonyname: str, name: str) -> str:
    return f"A blueprint with name {name} already exists in colony {colonyname}"


def _add_definition(tx: Tx, row: Row) -> Row:
    where = f"in colony {row['colonyname']}"
    if tx.one("get_blueprint_definition", colonyname=row["colonyname"], name=row["name"]):
        raise Conflict(f"A blueprint definition with name {row['name']} already exists {where}")
    if tx.one("get_blueprint_definition_by_kind", colonyname=row["colonyname"], kind=row["kind"]):
        raise Conflict(f"A blueprint definition of kind {row['kind']} already exists {where}")
    tx.run("add_blueprint_definition", **row)
    return row


def _remove_definition(tx: Tx, colonyname: str, name: str) -> None:
    found = tx.one("get_blueprint_definition", colonyname=colonyname, name=name)
    if found is None:
        raise NotFound(f"Blueprint definition {name} does not exist in colony {colonyname}")
    count = tx.one("count_blueprints", colonyname=colonyname, kind=found["kind"], anywhere=1, locationname="")
    if count and count["n"]:
        raise Conflict(f"Cannot remove blueprint definition {name}: {count['n']} blueprint(s) of kind "
                       f"{found['kind']} still exist")  # fmt: skip
    tx.run("remove_blueprint_definition", colonyname=colonyname, name=name)


def _history(tx: Tx, row: Row, changedby: str, changetype: str, now: int) -> None:
    tx.run("add_blueprint_history", historyid=random_id(), blueprintid=row["blueprintid"],
           colonyname=row["colonyname"], kind=row["kind"], name=row["name"], generation=row["generation"],
           spec=row["spec"], status=row["status"], changed=now, changedby=changedby,
           changetype=changetype)  # fmt: skip


def _add_blueprint(
    tx: Tx, row: Row, changedby: str, location: Row | None, cron: Row | None, process: Row | None,
    attributes: list[Row],
) -> tuple[Row, bool]:  # fmt: skip
    if tx.one("get_blueprint", colonyname=row["colonyname"], name=row["name"]):
        raise Conflict(_taken(row["colonyname"], row["name"]))
    if tx.one("get_blueprint_by_id", blueprintid=row["blueprintid"]):
        raise Conflict(f"A blueprint with id {row['blueprintid']} already exists")
    tx.run("add_blueprint", **row)
    stored: Row = tx.one("get_blueprint", colonyname=row["colonyname"], name=row["name"])  # type: ignore[assignment]
    _history(tx, stored, changedby, "create", row["now"])
    if location is not None:
        tx.run("add_blueprint_location", **location)
    made = bool(cron is not None and tx.run("add_reconcile_cron", **cron))
    if process is not None:
        insert_process(tx, process, attributes)
    return stored, made


def _update_blueprint(
    tx: Tx, fields: Row, force: bool, changedby: str, process: Row | None, attributes: list[Row], now: int
) -> tuple[Row, bool] | None:
    key = {"colonyname": fields["colonyname"], "name": fields["name"]}
    if not tx.run("update_blueprint_metadata", labels=fields["labels"], annotations=fields["annotations"],
                  handler=fields["handler"], now=now, **key):  # fmt: skip
        return None
    processid = process["processid"] if process is not None else ""
    changed = bool(tx.run("update_blueprint_spec", spec=fields["spec"], force=int(force), now=now,
                          processid=processid, **key))  # fmt: skip
    stored: Row = tx.one("get_blueprint", **key)  # type: ignore[assignment]
    if changed:
        _history(tx, stored, changedby, "update", now)
        if process is not None:
            insert_process(tx, process, attributes)
    return stored, changed


def _reconcile(
    tx: Tx, colonyname: str, name: str, force: bool, process: Row, attributes: list[Row], now: int
) -> Row | None:
    if not tx.run("mark_blueprint_reconciled", colonyname=colonyname, name=name, bump=int(force),
                  processid=process["processid"], now=now):  # fmt: skip
        return None
    return insert_process(tx, process, attributes)


def _remove_blueprint(tx: Tx, row: Row, cronname: str, process: Row | None, attributes: list[Row]) -> bool:
    if not tx.run("remove_blueprint", blueprintid=row["blueprintid"]):
        raise NotFound(f"Blueprint {row['name']} does not exist in colony {row['colonyname']}")
    tx.run("remove_blueprint_history", blueprintid=row["blueprintid"])
    left = tx.one("count_blueprints", colonyname=row["colonyname"], kind=row["kind"], anywhere=0,
                  locationname=row["locationname"])  # fmt: skip
    removed = False
    if not (left and left["n"]):
        cron = tx.one("get_reconcile_cron", colonyname=row["colonyname"], name=cronname)
        if cron is not None:
            tx.run("remove_cron_runs", cronid=cron["cronid"])
            removed = bool(tx.run("remove_cron", cronid=cron["cronid"]))
    if process is not None:
        insert_process(tx, process, attributes)
    return removed

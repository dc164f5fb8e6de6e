"""ColonyFS metadata: file revisions under labels, and snapshots (the newest revision of every file under a label
and its sub-labels, frozen under a name). The bytes are never here: a file row says where they are."""

from __future__ import annotations

from ..exceptions import BadRequest
from .base import Row, Tx, UniqueViolation
from .core import StoreBase, dumps


def under(label: str) -> dict[str, str]:
    """Parameters of "this label or one below it" (files.sql): ``/data`` covers ``/data/x`` but not ``/data2``."""
    return {"label": label, "prefix": "/" if label == "/" else label + "/"}


class FileStore(StoreBase):
    """The file and snapshot operations of the store."""

    async def add_file(self, file: Row, max_names: int, max_labels: int) -> Row:
        """A new revision. A label holds at most ``max_names`` file names and a colony at most ``max_labels``
        labels, so that every list reply is complete and bounded."""
        return await self._write(_add_file, file, max_names, max_labels)

    async def get_file(self, colonyname: str, fileid: str) -> Row | None:
        return await self.driver.read(lambda tx: tx.one("get_file", colonyname=colonyname, fileid=fileid))

    async def get_file_revisions(self, colonyname: str, label: str, name: str, count: int) -> list[Row]:
        """The newest ``count`` revisions of a name, newest first."""
        return await self.driver.read(lambda tx: tx.all("get_file_revisions", colonyname=colonyname, label=label,
                                                        name=name, count=count))  # fmt: skip

    async def get_latest_files(self, colonyname: str, label: str, count: int) -> list[Row]:
        """The newest revision of every name under exactly ``label``, by name."""
        return await self.driver.read(lambda tx: tx.all("get_latest_files", colonyname=colonyname, label=label,
                                                        count=count))  # fmt: skip

    async def get_file_labels(self, colonyname: str, label: str, prefix: str, count: int) -> list[Row]:
        """Labels equal to ``label`` or starting with ``prefix``, with how many file names each holds."""
        return await self.driver.read(lambda tx: tx.all("get_file_labels", colonyname=colonyname, label=label,
                                                        prefix=prefix, count=count))  # fmt: skip

    async def remove_file(self, colonyname: str, fileid: str) -> int:
        """One revision."""
        return await self._write(lambda tx: tx.run("remove_file", colonyname=colonyname, fileid=fileid))

    async def remove_file_revisions(self, colonyname: str, label: str, name: str) -> int:
        """Every revision of a name."""
        return await self._write(
            lambda tx: tx.run("remove_file_revisions", colonyname=colonyname, label=label, name=name)
        )

    async def create_snapshot(self, snapshot: Row, max_files: int) -> Row:
        """Freeze the newest revision of every file under ``snapshot["label"]`` (read and stored in one
        transaction); more than ``max_files`` files is refused."""
        try:
            return await self._write(_create_snapshot, snapshot, max_files)
        except UniqueViolation:  # raised once the driver has rolled the job back
            raise BadRequest(
                f"A snapshot with name {snapshot['name']} already exists in colony {snapshot['colonyname']}"
            ) from None

    async def get_snapshot(self, colonyname: str, snapshotid: str) -> Row | None:
        return await self.driver.read(
            lambda tx: tx.one("get_snapshot", colonyname=colonyname, snapshotid=snapshotid)
        )

    async def get_snapshot_by_name(self, colonyname: str, name: str) -> Row | None:
        return await self.driver.read(lambda tx: tx.one("get_snapshot_by_name", colonyname=colonyname, name=name))

    async def get_snapshots(self, colonyname: str, count: int) -> list[Row]:
        """The newest ``count`` snapshots, newest first."""
        return await self.driver.read(lambda tx: tx.all("get_snapshots", colonyname=colonyname, count=count))

    async def remove_snapshot(self, colonyname: str, snapshotid: str) -> int:
        return await self._write(
            lambda tx: tx.run("remove_snapshot", colonyname=colonyname, snapshotid=snapshotid)
        )

    async def remove_snapshots(self, colonyname: str) -> int:
        """Every snapshot of the colony (the files stay)."""
        return await self._write(lambda tx: tx.run("remove_colony_snapshots", name=colonyname))


def _add_file(tx: Tx, file: Row, max_names: int, max_labels: int) -> Row:
    colonyname, label = file["colonyname"], file["label"]
    if tx.one("file_name_exists", colonyname=colonyname, label=label, name=file["name"]):
        pass  # a new revision of a name the label has: no new name, no new label
    elif tx.one("file_label_exists", colonyname=colonyname, label=label):
        names = tx.one("count_label_file_names", colonyname=colonyname, label=label, limit=max_names) or {}
        if int(names.get("n") or 0) >= max_names:
            raise BadRequest(f"Label {label} has {max_names} file names, the most a label may have; "
                             "use a sub-label")  # fmt: skip
    else:
        labels = tx.one("count_colony_file_labels", colonyname=colonyname, limit=max_labels) or {}
        if int(labels.get("n") or 0) >= max_labels:
            raise BadRequest(f"Colony {colonyname} has {max_labels} file labels, the most it may have; "
                             "add the file under an existing label or remove some")  # fmt: skip
    return tx.one("add_file", **file)  # type: ignore[return-value]


def _create_snapshot(tx: Tx, snapshot: Row, max_files: int) -> Row:
    colonyname, label = snapshot["colonyname"], snapshot["label"]
    if tx.one("get_snapshot_by_name", colonyname=colonyname, name=snapshot["name"]):
        raise BadRequest(f"A snapshot with name {snapshot['name']} already exists in colony {colonyname}")
    rows = tx.all("get_latest_files_under", colonyname=colonyname, count=max_files + 1, **under(label))
    if len(rows) > max_files:
        raise BadRequest(f"Label {label} and its sub-labels hold more than {max_files} files, the most a snapshot "
                         "may hold; snapshot a sub-label")  # fmt: skip
    row = {**snapshot, "fileids": dumps([r["fileid"] for r in rows])}
    tx.run("add_snapshot", **row)
    return row

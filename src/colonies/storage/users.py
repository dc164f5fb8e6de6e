"""Users: colony members that need no approval."""

from __future__ import annotations

from ..exceptions import BadRequest
from .base import Row, Tx
from .core import StoreBase
from .shared import change_member_id


class UserStore(StoreBase):
    """The users operations of the store."""

    async def add_user(self, user: Row) -> None:
        await self._write(_add_user, user)

    async def get_user(self, colonyname: str, name: str) -> Row | None:
        return await self.driver.read(lambda tx: tx.one("get_user", colonyname=colonyname, name=name))

    async def get_user_by_id(self, colonyname: str, userid: str) -> Row | None:
        return await self.driver.read(
            lambda tx: tx.one("get_user_by_id", colonyname=colonyname, userid=userid)
        )

    async def get_users(self, colonyname: str) -> list[Row]:
        return await self.driver.read(lambda tx: tx.all("get_users", colonyname=colonyname))

    async def change_user_id(self, colonyname: str, oldid: str, newid: str) -> None:
        """The user with ``oldid`` takes ``newid`` (400 if another member of the colony has it)."""
        await self._write(change_member_id, "set_user_id", colonyname, oldid, newid)

    async def remove_user(self, colonyname: str, name: str) -> int:
        return await self._write(lambda tx: tx.run("remove_user", colonyname=colonyname, name=name))


def _add_user(tx: Tx, user: Row) -> None:
    if tx.one("get_user", colonyname=user["colonyname"], name=user["name"]):
        raise BadRequest(f"A user with name {user['name']} already exists in colony {user['colonyname']}")
    if tx.one("get_user_by_id", colonyname=user["colonyname"], userid=user["userid"]):
        raise BadRequest(f"A user with id {user['userid']} already exists in colony {user['colonyname']}")
    tx.run("add_user", **user)


"""The messages an executor sends, one method each, over the signed async transport.

Kept apart from the executor loop so the loop reads as policy (retry, concurrency, shutdown) and this file as
protocol (payload types and fields, protocol §3.4-3.9).
"""

from __future__ import annotations

from typing import Any

from ..client.transport import AsyncRPCClient


class ExecutorAPI:
    """Raw RPCs signed with the executor key (``prvkey``) or, for self-registration, the colony key."""

    def __init__(
        self, rpc: AsyncRPCClient, colonyname: str, prvkey: str, colony_prvkey: str | None = None
    ) -> None:
        self.rpc = rpc
        self.colonyname = colonyname
        self.prvkey = prvkey
        self.colony_prvkey = colony_prvkey

    async def aclose(self) -> None:
        await self.rpc.aclose()

    # -- registration (colony owner) -----------------------------------------------------------------------------

    def _owner_key(self) -> str:
        if not self.colony_prvkey:
            raise ValueError("self-registration needs the colony private key")
        return self.colony_prvkey

    async def add_executor(self, executor: dict[str, Any]) -> dict[str, Any]:
        return await self.rpc.call("addexecutormsg", {"executor": executor}, self._owner_key())  # type: ignore[no-any-return]

    async def approve_executor(self, executorname: str) -> None:
        msg = {"colonyname": self.colonyname, "executorname": executorname}
        await self.rpc.call("approveexecutormsg", msg, self._owner_key())

    async def remove_self(self, executorname: str) -> None:
        """Signed with the executor's own key (our server allows an executor to remove itself)."""
        msg = {"colonyname": self.colonyname, "executorname": executorname}
        await self.rpc.call("removeexecutormsg", msg, self.prvkey)

    async def remove_executor(self, executorname: str) -> None:
        msg = {"colonyname": self.colonyname, "executorname": executorname}
        await self.rpc.call("removeexecutormsg", msg, self._owner_key())

    # -- the executor itself ----------------------------------------------------------------------------------------

    async def get_executor_by_id(self, executorid: str) -> dict[str, Any]:
        msg = {"colonyname": self.colonyname, "executorid": executorid}
        return await self.rpc.call("getexecutorbyidmsg", msg, self.prvkey)  # type: ignore[no-any-return]

    async def get_functions(self, executorname: str) -> list[dict[str, Any]]:
        msg = {"colonyname": self.colonyname, "executorname": executorname}
        return list(await self.rpc.call("getfunctionsmsg", msg, self.prvkey) or [])

    async def add_function(self, executorname: str, funcname: str, description: str = "") -> dict[str, Any]:
        fun = {"executorname": executorname, "colonyname": self.colonyname, "funcname": funcname,
               "description": description}  # fmt: skip
        return await self.rpc.call("addfunctionmsg", {"fun": fun}, self.prvkey)  # type: ignore[no-any-return]

    # ``nonce``: a caller that retries after a lost reply sends the same nonce again, so the server can tell the
    # retry from a new request: it answers an assign retry with the process it already claimed, and refuses any
    # other retry of a request that took effect with 409 (see retry.landed).

    async def assign(self, timeout: int, http_timeout: float, nonce: str = "") -> dict[str, Any]:
        """Long-poll for work; raises ColoniesError 404 when nothing came within ``timeout`` s."""
        msg = _with_nonce({"colonyname": self.colonyname, "timeout": timeout}, nonce)
        return await self.rpc.call("assignprocessmsg", msg, self.prvkey, timeout=http_timeout)  # type: ignore[no-any-return]

    # ``lease`` is the process's starttime from assign: the server refuses these calls once that assignment ended
    # (requeued after maxexectime), so a late result never overwrites the next owner's.

    async def close(self, processid: str, out: list[Any], lease: str = "", nonce: str = "") -> None:
        msg = _with_nonce({"processid": processid, "out": out, "lease": lease}, nonce)
        await self.rpc.call("closesuccessfulmsg", msg, self.prvkey)

    async def fail(self, processid: str, errors: list[str], lease: str = "", nonce: str = "") -> None:
        msg = _with_nonce({"processid": processid, "errors": errors, "lease": lease}, nonce)
        await self.rpc.call("closefailedmsg", msg, self.prvkey)

    async def add_log(self, processid: str, message: str, lease: str = "", nonce: str = "") -> None:
        msg = _with_nonce({"processid": processid, "message": message, "lease": lease}, nonce)
        await self.rpc.call("addlogmsg", msg, self.prvkey)

    async def add_executor_log(self, executorname: str, message: str) -> None:
        msg = {"colonyname": self.colonyname, "executorname": executorname, "message": message}
        await self.rpc.call("addexecutorlogmsg", msg, self.prvkey)


def _with_nonce(msg: dict[str, Any], nonce: str) -> dict[str, Any]:
    return {"nonce": nonce, **msg} if nonce else msg

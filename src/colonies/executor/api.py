"""The messages an executor sends, one method each, over the signed async transport.

Kept apart from the executor loop so the loop reads as policy (retry, concurrency, shutdown) and this file as
protocol (payload types and fields, protocol §3.4-3.9).
"""

from __future__ import annotations

import base64
from typing import Any

from ..client.transport import AsyncRPCClient
from ..exceptions import ColoniesError, Forbidden, ServerTooOld


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
        """Capabilities go as v1.9 lists them (arrays); a v1.7.8 server cannot parse arrays, so it gets objects
        (the first entry of each), also when it refuses the arrays before its generation is known."""
        key = self._owner_key()
        if await self.rpc.probe():
            executor = legacy_executor(executor)
        try:
            return await self.rpc.call("addexecutormsg", {"executor": executor}, key)  # type: ignore[no-any-return]
        except ColoniesError as exc:
            older = legacy_executor(executor)
            if not (exc.status == 400 and "invalid JSON" in exc.message and older != executor):
                raise
        return await self.rpc.call("addexecutormsg", {"executor": older}, key)  # type: ignore[no-any-return]

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

    async def get_executor_by_id(self, executorid: str, executorname: str = "") -> dict[str, Any]:
        """Our own record. A server without ``getexecutorbyidmsg`` (v1.7.8) is asked by name when the name is
        known, else the colony's list is searched; a record that is not approved is refused as the newer server
        would refuse us (403), so the caller waits for the approval."""
        msg = {"colonyname": self.colonyname, "executorid": executorid}
        try:
            return await self.rpc.call("getexecutorbyidmsg", msg, self.prvkey)  # type: ignore[no-any-return]
        except ServerTooOld:
            pass
        if executorname:
            record = await self.rpc.call("getexecutormsg", {"colonyname": self.colonyname,
                                                            "executorname": executorname}, self.prvkey)  # fmt: skip
            if record.get("executorid") != executorid:
                raise ColoniesError(f"Executor {executorname} in colony {self.colonyname} has another key (id "
                                    f"{record.get('executorid')}, this key's is {executorid})", 400)  # fmt: skip
        else:
            listing = await self.rpc.call("getexecutorsmsg", {"colonyname": self.colonyname}, self.prvkey)
            mine = [e for e in listing or [] if e.get("executorid") == executorid and e.get("state") != 3]
            if not mine:
                raise Forbidden(f"Access denied, no executor with id {executorid} in colony {self.colonyname}")
            record = mine[0]
        if record.get("state") != 1:
            name, state = record.get("executorname", executorname), record.get("state")
            word = {0: "pending", 2: "rejected"}.get(state, f"in state {state}")  # type: ignore[arg-type]
            raise Forbidden(f"Access denied, executor {name} is {word} in colony {self.colonyname}")
        return record  # type: ignore[no-any-return]

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

    async def assign(self, timeout: int, http_timeout: float, nonce: str = "", availablecpu: str = "",
                     availablemem: str = "") -> dict[str, Any]:  # fmt: skip
        """Wait up to ``timeout`` s for a process; ``availablecpu``/``availablemem`` (e.g. "3500m", "7Gi") limit
        what the server hands out to what is free (resource admission)."""
        msg = _with_nonce({"colonyname": self.colonyname, "timeout": timeout}, nonce)
        if availablecpu:
            msg["availablecpu"] = availablecpu
        if availablemem:
            msg["availablemem"] = availablemem
        return await self.rpc.call("assignprocessmsg", msg, self.prvkey, timeout=http_timeout)  # type: ignore[no-any-return]

    async def get_process(self, processid: str) -> dict[str, Any]:
        return await self.rpc.call("getprocessmsg", {"processid": processid}, self.prvkey)  # type: ignore[no-any-return]

    async def get_running(self, executortype: str, count: int, offset: int = 0) -> list[dict[str, Any]]:
        """RUNNING processes of an executor type in the colony (a page of ``count``)."""
        msg = {"colonyname": self.colonyname, "state": 1, "executortype": executortype, "count": count,
               "offset": offset}  # fmt: skip
        return list(await self.rpc.call("getprocessesmsg", msg, self.prvkey) or [])

    async def add_env_attribute(self, processid: str, key: str, value: str, lease: str = "") -> None:
        """An ENV attribute of a process this executor runs (e.g. SLURM-JOBID), as the original executors add."""
        attribute = {"targetid": processid, "key": key, "value": value, "attributetype": 3}
        msg: dict[str, Any] = {"attribute": attribute}
        if lease:
            msg["lease"] = lease
        await self.rpc.call("addattributemsg", msg, self.prvkey)

    async def close(self, processid: str, out: list[Any], lease: str = "", nonce: str = "") -> None:
        msg = _with_nonce({"processid": processid, "out": out, "lease": lease}, nonce)
        await self.rpc.call("closesuccessfulmsg", msg, self.prvkey)

    async def fail(self, processid: str, errors: list[str], lease: str = "", nonce: str = "") -> None:
        msg = _with_nonce({"processid": processid, "errors": errors, "lease": lease}, nonce)
        await self.rpc.call("closefailedmsg", msg, self.prvkey)

    async def add_log(self, processid: str, message: str, lease: str = "", nonce: str = "") -> None:
        msg = _with_nonce({"processid": processid, "message": message, "lease": lease}, nonce)
        await self.rpc.call("addlogmsg", msg, self.prvkey)

    async def channel_append(self, processid: str, name: str, sequence: int, payload: bytes, payload_type: str = "",
                             in_reply_to: int = 0, nonce: str = "") -> None:  # fmt: skip
        """One entry on a channel of a process this executor runs (the payload goes as base64, as Go sends it)."""
        msg = _with_nonce({"processid": processid, "name": name, "sequence": sequence, "inreplyto": in_reply_to,
                           "payload": base64.b64encode(payload).decode(), "payloadtype": payload_type}, nonce)
        await self.rpc.call("channelappendmsg", msg, self.prvkey)

    async def channel_read(self, processid: str, name: str, after: int, limit: int) -> list[dict[str, Any]]:
        msg = {"processid": processid, "name": name, "afterseq": after, "limit": limit}
        return list(await self.rpc.call("channelreadmsg", msg, self.prvkey) or [])

    async def add_executor_log(self, executorname: str, message: str) -> None:
        msg = {"colonyname": self.colonyname, "executorname": executorname, "message": message}
        await self.rpc.call("addexecutorlogmsg", msg, self.prvkey)


def legacy_executor(executor: dict[str, Any]) -> dict[str, Any]:
    """An executor as v1.7.8 parses it: ``capabilities.hardware`` and ``.software`` objects, not arrays."""
    caps = executor.get("capabilities")
    if not isinstance(caps, dict):
        return executor
    older = {k: (v[0] if v and isinstance(v[0], dict) else {}) if isinstance(v, list) else v
             for k, v in caps.items()}  # fmt: skip
    return {**executor, "capabilities": older}


def _with_nonce(msg: dict[str, Any], nonce: str) -> dict[str, Any]:
    return {"nonce": nonce, **msg} if nonce else msg

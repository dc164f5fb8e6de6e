"""Registering with the server: self-registration (add and approve with the colony key, then drop that key),
look-up in private-key mode, function registration, and removing a self-registered executor when it stops."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ..exceptions import ColoniesError
from .api import ExecutorAPI
from .functions import Function
from .retry import Backoff, is_transient

log = logging.getLogger("colonies.executor.executor")


class Registration:
    """The registration half of ``Executor`` (which sets these attributes and provides ``_retrying``)."""

    _api: ExecutorAPI
    _functions: dict[str, Function]
    _added: bool
    _add_attempted: bool
    self_register: bool
    colony_prvkey: str | None
    colonyname: str
    executorid: str
    executorname: str
    executortype: str
    locationname: str
    capabilities: dict[str, Any]
    backoff_initial: float
    backoff_cap: float

    async def _retrying(self, what: str, op: Callable[[], Awaitable[None]], retry_forbidden: bool) -> bool:
        raise NotImplementedError

    async def _register(self) -> bool:
        if self.self_register:
            return await self._retrying("self-registration", self._add_and_approve, retry_forbidden=False)
        return await self._retrying("executor look-up", self._look_up_self, retry_forbidden=True)

    async def _add_and_approve(self) -> None:
        """Self-registration: add this executor and approve it, both signed with the colony key."""
        if not self._added:
            executor = {"executorid": self.executorid, "executortype": self.executortype,
                        "executorname": self.executorname, "colonyname": self.colonyname,
                        "locationname": self.locationname, "capabilities": self.capabilities}  # fmt: skip
            attempted, self._add_attempted = self._add_attempted, True
            try:
                await self._api.add_executor(executor)
            except ColoniesError as exc:
                if not (exc.status == 400 and "already exists" in exc.message):
                    raise
                if not attempted:
                    raise ColoniesError(f"{exc.message}; choose another executor name (or let the executor "
                                        "generate one)", 400) from None  # fmt: skip
                # An earlier attempt reached the server although its reply was lost.
                log.warning("assuming executor %s was added by an earlier attempt", self.executorname)
            self._added = True
            log.info(
                "added executor %s (%s) to colony %s", self.executorname, self.executorid, self.colonyname
            )
        await self._api.approve_executor(self.executorname)
        # Registered: the colony owner's key is no longer needed, so a job that reads our memory cannot find it.
        self.colony_prvkey = self._api.colony_prvkey = None

    async def _look_up_self(self) -> None:
        """Private-key mode: learn our name and type from the record the colony owner made."""
        record = await self._api.get_executor_by_id(self.executorid, self.executorname)
        name, etype = record.get("executorname", ""), record.get("executortype", "")
        if self.executorname and self.executorname != name:
            log.warning(
                "executor name %r given, but this key belongs to %r; using %r", self.executorname, name, name
            )
        if self.executortype and self.executortype != etype:
            log.warning("executor type %r given, but %s is registered as %r; the server assigns by %r",
                        self.executortype, name, etype, etype)  # fmt: skip
        self.executorname, self.executortype = name, etype

    async def _register_functions(self) -> bool:
        return await self._retrying("function registration", self._add_functions, retry_forbidden=True)

    async def _add_functions(self) -> None:
        existing = {f.get("funcname") for f in await self._api.get_functions(self.executorname)}
        for name, func in self._functions.items():
            if name in existing:
                continue
            try:
                await self._api.add_function(self.executorname, name, func.description)
            except ColoniesError as exc:
                if exc.status != 400:  # 400: already registered (e.g. by an earlier run)
                    raise
                log.debug("function %s not added: %s", name, exc)

    async def _unregister(self) -> None:
        """Self-registration: remove ourselves (state UNREGISTERED; the server requeues anything still ours)."""
        backoff = Backoff(self.backoff_initial, self.backoff_cap)
        for attempt in range(5):
            try:
                if self._api.colony_prvkey:
                    await self._api.remove_executor(self.executorname)
                else:
                    await self._api.remove_self(self.executorname)
                self._added = False
                log.info("removed executor %s from colony %s", self.executorname, self.colonyname)
                return
            except ColoniesError as exc:
                if not is_transient(exc) or attempt == 4:
                    # e.g. a Go server (403): only the colony owner may remove executors there
                    log.warning("could not remove executor %s: %s; it stays registered (remove it with the colony "
                                "key: colonies executor remove --name %s)", self.executorname, exc,
                                self.executorname)  # fmt: skip
                    return
                await asyncio.sleep(backoff.next())

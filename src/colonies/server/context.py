"""What a handler gets: the shared server state and the caller's identity."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from ..settings import Settings
from ..storage import SQLStore
from .events import EventBus


@dataclass
class ServerState:
    """Lives for the whole server process; shared by every request."""

    storage: SQLStore
    events: EventBus
    settings: Settings
    started: float = 0.0
    #: Whether this replica currently runs the background duties (set by the timeout loop).
    leader: bool = False
    metrics: Any = None
    #: Random per database (replicas share it): what signed requests name as their ``audience``.
    instance_id: str = ""
    #: Identities recently found in the database → when that was (monotonic s); see ``is_known``.
    known: dict[str, float] = field(default_factory=dict)
    #: Set when a cron is added, run or removed here, so the cron loop recomputes its sleep at once.
    cron_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    #: Set when args are packed here, so the generator loop looks sooner than its period.
    generator_wakeup: asyncio.Event = field(default_factory=asyncio.Event)

    async def is_known(self, identity: str) -> bool:
        """Whether ``identity`` is the server owner or a colony owner, user or executor somewhere. Asked only for
        large payloads, before they are decoded, so an unknown signer cannot make the server parse megabytes.
        Positive answers are cached for a minute (an identity removed meanwhile still fails its role check)."""
        now = time.monotonic()
        seen = self.known.get(identity)
        if seen is not None and now - seen < 60:
            return True
        if not await self.storage.is_known_identity(identity):
            return False
        if len(self.known) > 10_000:
            self.known.clear()
        self.known[identity] = now
        return True


class Context:
    """One request: the server state plus the identity recovered from the signature."""

    __slots__ = ("state", "caller")

    def __init__(self, state: ServerState, caller: str) -> None:
        self.state = state
        self.caller = caller

    @property
    def storage(self) -> SQLStore:
        return self.state.storage

    @property
    def events(self) -> EventBus:
        return self.state.events

    @property
    def settings(self) -> Settings:
        return self.state.settings

    @staticmethod
    def now() -> int:
        return time.time_ns()

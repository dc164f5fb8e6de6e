"""What a handler gets: the shared server state and the caller's identity."""

from __future__ import annotations

import time
from dataclasses import dataclass
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

"""The driver contract every database backend implements.

A driver runs *jobs*: plain functions ``fn(tx, *args)`` that talk to the database only through ``Tx`` and named
queries. Reads may run anywhere; writes run in one transaction each (a driver may group several writes into one
commit, but a failing job never takes another job's changes with it). The storage logic is written once, in
``storage/<area>.py`` (one module per area), against this contract.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

T = TypeVar("T")
Row = dict[str, Any]


class StorageError(Exception):
    """The database failed (not the caller's fault)."""


class UniqueViolation(StorageError):
    """An insert collided with an existing key."""


class Tx(Protocol):
    def one(self, query: str, /, **params: Any) -> Row | None: ...
    def all(self, query: str, /, **params: Any) -> list[Row]: ...
    def run(self, query: str, /, **params: Any) -> int: ...


class Driver(Protocol):
    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def read(self, fn: Callable[..., T], *args: Any) -> T: ...
    async def read_background(self, fn: Callable[..., T], *args: Any) -> T: ...
    async def write(self, fn: Callable[..., T], *args: Any, long: bool = False) -> T:
        """Run a write job in a transaction of its own (or a savepoint of a shared one). ``long`` says it may take
        seconds (removing a colony): a driver that runs jobs on the event loop runs such a job elsewhere."""
        ...

"""PostgreSQL driver (psycopg 3): every job runs in its own transaction on a pooled connection, in a thread.

The storage logic is shared with SQLite (``sqlstore.py``); what differs lives in ``sql/postgres/*.sql``: the
assign claim uses ``FOR UPDATE SKIP LOCKED`` and check-then-act jobs take row locks (``lock_graph``, then
``lock_process``), so several server replicas can share one database. Schema creation is serialised with an
advisory lock, so replicas starting together do not race.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from ..exceptions import ColoniesError
from .base import Row, StorageError, UniqueViolation
from .queries import load_sql, parse_queries

T = TypeVar("T")

#: Advisory lock key used while creating the schema ("colonies" in ASCII).
SCHEMA_LOCK = 0x636F6C6F6E696573
_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def to_psycopg(sql: str) -> str:
    """``:name`` placeholders (shared style of the .sql files) → psycopg's ``%(name)s``; ``::casts`` untouched."""
    return _PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))


class PostgresTx:
    __slots__ = ("conn", "queries")

    def __init__(self, conn: psycopg.Connection[Row], queries: dict[str, str]) -> None:
        self.conn = conn
        self.queries = queries

    def one(self, query: str, /, **params: Any) -> Row | None:
        return self.conn.execute(self.queries[query], params).fetchone()

    def all(self, query: str, /, **params: Any) -> list[Row]:
        return self.conn.execute(self.queries[query], params).fetchall()

    def run(self, query: str, /, **params: Any) -> int:
        return self.conn.execute(self.queries[query], params).rowcount


class PostgresDriver:
    backend = "postgres"

    def __init__(self, url: str, pool_size: int = 16) -> None:
        self.url = url
        self.pool_size = pool_size
        self.queries = {name: to_psycopg(sql) for name, sql in parse_queries(load_sql("postgres", "queries.sql")).items()}
        self._pool: ConnectionPool | None = None
        self._threads = ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="pg")

    async def open(self) -> None:
        pool = ConnectionPool(self.url, min_size=2, max_size=self.pool_size, open=False,
                              kwargs={"row_factory": dict_row, "autocommit": False})  # fmt: skip
        try:
            await asyncio.get_running_loop().run_in_executor(self._threads, lambda: pool.open(wait=True, timeout=15))
        except Exception as exc:
            raise StorageError(f"cannot connect to PostgreSQL: {exc}") from None
        self._pool = pool
        await self._execute(self._create_schema, ())

    @staticmethod
    def _create_schema(tx: PostgresTx) -> None:
        tx.conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        tx.conn.execute(load_sql("postgres", "schema.sql"))

    async def close(self) -> None:
        if self._pool is not None:
            await asyncio.get_running_loop().run_in_executor(self._threads, self._pool.close)
            self._pool = None
        self._threads.shutdown(wait=False)

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._execute(fn, args)

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._execute(fn, args)

    async def _execute(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._threads, self._run, fn, args)

    def _run(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        assert self._pool is not None, "driver not open"
        try:
            with self._pool.connection() as conn:  # commits on success, rolls back on any exception
                return fn(PostgresTx(conn, self.queries), *args)
        except (ColoniesError, StorageError):
            raise
        except psycopg.errors.UniqueViolation as exc:
            raise UniqueViolation(str(exc)) from None
        except psycopg.Error as exc:
            raise StorageError(f"database error: {exc}") from None

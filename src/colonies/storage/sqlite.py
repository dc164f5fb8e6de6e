"""SQLite driver: reads inline on the event loop, writes on one thread with group commit.

SQLite allows one writer at a time, so every write job goes to a single writer thread. The thread drains whatever
jobs are queued, runs each inside its own SAVEPOINT, and commits the batch once with ``synchronous=FULL``: an
answered write is on disk (it survives ``kill -9`` and power loss), yet a burst of writes shares one fsync. Reads use
a separate connection on the event-loop thread; WAL gives them a consistent snapshot without waiting for the writer.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from ..exceptions import ColoniesError
from .base import Row, StorageError, UniqueViolation
from .queries import load_queries, load_sql, membership_writes

T = TypeVar("T")
log = logging.getLogger(__name__)

#: Upper bound of jobs committed together; keeps one batch's latency bounded.
MAX_BATCH = 256


def _dict_factory(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> Row:
    return {col[0]: value for col, value in zip(cursor.description, row)}


class SQLiteTx:
    """Runs named queries on one connection; ``touched`` tells that one of them changed a membership."""

    __slots__ = ("conn", "queries", "membership", "touched")

    def __init__(self, conn: sqlite3.Connection, queries: dict[str, str],
                 membership: frozenset[str] = frozenset()) -> None:  # fmt: skip
        self.conn = conn
        self.queries = queries
        self.membership = membership
        self.touched = False

    def one(self, query: str, /, **params: Any) -> Row | None:
        return self.conn.execute(self.queries[query], params).fetchone()  # type: ignore[no-any-return]

    def all(self, query: str, /, **params: Any) -> list[Row]:
        return self.conn.execute(self.queries[query], params).fetchall()

    def run(self, query: str, /, **params: Any) -> int:
        if query in self.membership:
            self.touched = True
        try:
            return self.conn.execute(self.queries[query], params).rowcount
        except sqlite3.IntegrityError as exc:
            raise UniqueViolation(str(exc)) from None

    def later(self, query: str, /, **params: Any) -> Callable[[], int]:
        count = self.run(query, **params)  # in process: nothing to save by waiting
        return lambda: count


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.row_factory = _dict_factory
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA cache_size = -65536")
    return conn


class SQLiteDriver:
    """One writer thread (group commit) plus an inline reader."""

    backend = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path
        self.queries = load_queries("sqlite")
        #: Raised after each commit that changed a membership; cached memberships of an older epoch are stale.
        self.membership_epoch = 0
        #: One process owns a SQLite database, so every change is seen here: a cached membership never expires.
        self.membership_ttl: float | None = None
        self._jobs: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...], asyncio.Future[Any]] | None] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        self._reader: SQLiteTx | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def open(self) -> None:
        if self.path not in ("", ":memory:"):
            directory = os.path.dirname(os.path.abspath(self.path))
            if not os.path.isdir(directory):
                os.makedirs(directory, mode=0o700)  # ours: private (an existing directory is left as it is)
        else:
            raise StorageError("SQLite needs a file path (the reader and the writer share it)")
        self._loop = asyncio.get_running_loop()
        writer = _connect(self.path)
        writer.executescript(load_sql("sqlite", "schema.sql"))
        _migrate(writer)
        for suffix in ("", "-wal", "-shm", "-journal"):  # whatever the umask was when they were made
            if os.path.exists(self.path + suffix):
                os.chmod(self.path + suffix, 0o600)
        self._reader = SQLiteTx(_connect(self.path), self.queries)
        self._thread = threading.Thread(target=self._write_loop, args=(writer,), name="sqlite-writer", daemon=True)
        self._thread.start()

    async def close(self) -> None:
        if self._thread:
            self._jobs.put(None)
            await asyncio.to_thread(self._thread.join)
            self._thread = None
        if self._reader:
            self._reader.conn.close()
            self._reader = None

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        assert self._reader is not None, "driver not open"
        try:
            return fn(self._reader, *args)
        except sqlite3.Error as exc:
            raise StorageError(f"database error: {exc}") from None

    async def read_background(self, fn: Callable[..., T], *args: Any) -> T:
        """A read that may scan many rows (statistics, metrics): on its own connection in a worker thread, so the
        event loop (and every other client) does not wait for it, and neither does the writer."""

        def run() -> T:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            conn.row_factory = _dict_factory
            try:
                return fn(SQLiteTx(conn, self.queries), *args)
            finally:
                conn.close()

        try:
            return await asyncio.to_thread(run)
        except sqlite3.Error as exc:
            raise StorageError(f"database error: {exc}") from None

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        assert self._loop is not None, "driver not open"
        fut: asyncio.Future[T] = self._loop.create_future()
        self._jobs.put((fn, args, fut))
        return await fut

    # -- writer thread ---------------------------------------------------------------------------------------------

    def _write_loop(self, conn: sqlite3.Connection) -> None:
        tx = SQLiteTx(conn, self.queries, membership_writes(self.queries))
        while True:
            job = self._jobs.get()
            if job is None:
                break
            batch = [job]
            stop = False
            while len(batch) < MAX_BATCH:
                try:
                    more = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            self._run_batch(conn, tx, batch)
            if stop:
                break
        conn.close()

    def _run_batch(self, conn: sqlite3.Connection, tx: SQLiteTx, batch: list[Any]) -> None:
        results: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        tx.touched = False
        # A job alone in its batch needs no savepoint: if it fails, the whole transaction is rolled back. Two
        # statements fewer, and for each one less hand-over of the GIL to and from the event loop's thread.
        alone = len(batch) == 1
        try:
            conn.execute("BEGIN IMMEDIATE")
            for fn, args, fut in batch:
                if not alone:
                    conn.execute("SAVEPOINT job")
                try:
                    value = fn(tx, *args)
                except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine
                    if alone:
                        if conn.in_transaction:
                            conn.execute("ROLLBACK")
                    else:
                        conn.execute("ROLLBACK TO job")
                        conn.execute("RELEASE job")
                    if isinstance(exc, sqlite3.IntegrityError):
                        exc = UniqueViolation(str(exc))
                    elif isinstance(exc, sqlite3.Error):
                        exc = StorageError(f"database error: {exc}")
                    elif not isinstance(exc, (ColoniesError, StorageError)):
                        log.exception("write job %s failed", getattr(fn, "__name__", fn))
                    results.append((fut, None, exc))
                else:
                    if not alone:
                        conn.execute("RELEASE job")
                    results.append((fut, value, None))
            if conn.in_transaction:
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            log.error("commit failed: %s", exc)
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            err = StorageError(f"database error: {exc}")
            results = [(fut, None, err) for _fn, _args, fut in batch]
        if tx.touched:  # after the commit: a membership read from here on sees the change, and is kept
            self.membership_epoch += 1
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(_resolve, results)
        except RuntimeError:  # loop closed during shutdown
            pass


def _resolve(results: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for fut, value, exc in results:
        if fut.done():
            continue
        if exc is not None:
            fut.set_exception(exc)
        else:
            fut.set_result(value)


def _migrate(conn: sqlite3.Connection) -> None:
    """Columns added after a database may have been created (SQLite has no ADD COLUMN IF NOT EXISTS)."""
    columns = {row["name"] for row in conn.execute("PRAGMA table_info(processes)")}
    if "pendingparents" not in columns:
        conn.execute("ALTER TABLE processes ADD COLUMN pendingparents INTEGER NOT NULL DEFAULT -1")
    if "assignnonce" not in columns:
        conn.execute("ALTER TABLE processes ADD COLUMN assignnonce TEXT NOT NULL DEFAULT ''")
    if "location" not in {row["name"] for row in conn.execute("PRAGMA table_info(executors)")}:
        conn.execute("ALTER TABLE executors ADD COLUMN location TEXT NOT NULL DEFAULT ''")
    conn.commit()

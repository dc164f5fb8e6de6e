"""SQLite driver: reads and writes inline on the event loop, the commit's fsync on a thread (group commit).

SQLite allows one writer at a time, and a statement costs a few microseconds, far less than handing it to another
thread and back (the GIL changes hands around every statement). So write jobs run on the event loop's thread: the jobs
queued in one turn of the loop run together, each inside its own SAVEPOINT, and commit once with
``synchronous=OFF``. Durability comes from our own ``fdatasync`` of the WAL before any job of the batch is answered:
an answered write is on disk (it survives ``kill -9`` and power loss), and a burst of writes shares one fsync, as with
``synchronous=FULL``. A fast disk's fsync (SSD: a fraction of a millisecond) is made right there on the loop; a slow
one's on the syncer thread, while the loop goes on reading requests. While a commit is not yet on disk, reads wait
for the sync and the next batch is committed after it, so no one is ever shown data that a crash could take back.

Checkpoints (copying the WAL into the database file) are made by a connection of their own with ``synchronous=FULL``
on the checkpointer thread, so the database file is synced before the WAL is reused. A job that may run long (removing
a colony with all its processes) is marked ``long``: it runs alone on a thread, with ``synchronous=FULL``, and the
loop goes on serving reads meanwhile. Reads use a second connection; WAL gives them a consistent snapshot.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from ..exceptions import ColoniesError
from .base import Row, StorageError, UniqueViolation
from .queries import load_queries, load_sql, membership_writes

T = TypeVar("T")
log = logging.getLogger(__name__)

#: Upper bound of jobs committed together; keeps one batch's latency bounded.
MAX_BATCH = 256
#: An fsync that usually takes at most this long (seconds) is made on the event loop's thread: handing it to the
#: syncer thread and back costs more CPU and latency than it waits. A slower disk's fsyncs go to the syncer thread, so
#: the loop goes on reading requests meanwhile.
INLINE_FSYNC = 0.002
#: Once the WAL holds this many bytes of frames (SQLite's own default: 1000 pages), the checkpointer makes the next
#: commit start it over (see ``_restart_wal``): the file then stays about the size of a checkpoint interval's
#: writes instead of growing for as long as writes keep coming.
WAL_RESTART_BYTES = 4 * 1024 * 1024


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



def _connect(path: str, synchronous: str = "FULL") -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.row_factory = _dict_factory
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA cache_size = -65536")
    return conn


#: A write job: the function, its arguments, the future its caller awaits, and whether it may run long.
Job = tuple[Callable[..., Any], tuple[Any, ...], "asyncio.Future[Any]", bool]
#: What a job came to: its future, and the value or the exception to hand it.
Outcome = tuple["asyncio.Future[Any]", Any, "BaseException | None"]


class SQLiteDriver:
    """Inline reads and writes, one syncer thread (group commit), one checkpointer thread."""

    backend = "sqlite"

    #: Seconds between checkpoints while writes come in (none while the server is idle).
    checkpoint_interval = 0.5
    #: See WAL_RESTART_BYTES (a test may lower it).
    wal_restart_bytes = WAL_RESTART_BYTES

    def __init__(self, path: str) -> None:
        self.path = path
        self.queries = load_queries("sqlite")
        #: Raised after each commit that changed a membership; cached memberships of an older epoch are stale.
        self.membership_epoch = 0
        #: One process owns a SQLite database, so every change is seen here: a cached membership never expires.
        self.membership_ttl: float | None = None
        #: How the WAL is made durable; a test may wrap it (to slow it down), never replace it.
        self.fsync: Callable[[int], None] = os.fdatasync
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reader: SQLiteTx | None = None
        self._writer: SQLiteTx | None = None
        self._wal_fd = -1
        self._fsync_seconds = 1.0  # moving average; measured at open
        self._pending: list[Job] = []
        self._flush_scheduled = False
        self._syncing = False  # a batch is committed, its fsync not done: nothing may read or commit
        self._long_running = False  # a long job holds the writer on its thread
        self._held = False  # the checkpointer is catching up so that the WAL starts over: no batch starts
        self._quiet = threading.Event()  # held, and nothing being committed or synced
        self._read_waiters: list[asyncio.Future[None]] = []
        self._sync_requests: queue.SimpleQueue[list[Outcome] | None] = queue.SimpleQueue()
        self._syncer: threading.Thread | None = None
        self._checkpointer: threading.Thread | None = None
        self._written = threading.Event()  # something was committed since the last checkpoint
        self._closing = threading.Event()
        #: A checkpoint is writing the database file: an fsync now may wait for its I/O, so not on the loop.
        self._checkpointing = False
        self._page_size = 4096

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
        # From here on the commits do not sync, and do not checkpoint: the syncer and the checkpointer do.
        writer.execute("PRAGMA synchronous = OFF")
        writer.execute("PRAGMA wal_autocheckpoint = 0")
        self._wal_fd = os.open(self.path + "-wal", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        _sync_directory(self.path)  # the WAL's directory entry, once
        self._fsync_seconds = min(_timed(self.fsync, self._wal_fd) for _ in range(3))
        for suffix in ("", "-wal", "-shm", "-journal"):  # whatever the umask was when they were made
            if os.path.exists(self.path + suffix):
                os.chmod(self.path + suffix, 0o600)
        self._page_size = writer.execute("PRAGMA page_size").fetchone()["page_size"]
        self._writer = SQLiteTx(writer, self.queries, membership_writes(self.queries))
        self._reader = SQLiteTx(_connect(self.path), self.queries)
        self._syncer = threading.Thread(target=self._sync_loop, name="sqlite-syncer", daemon=True)
        self._syncer.start()
        self._checkpointer = threading.Thread(
            target=self._checkpoint_loop, args=(_connect(self.path),), name="sqlite-checkpointer", daemon=True
        )
        self._checkpointer.start()

    async def close(self) -> None:
        if self._writer is None:
            return
        while self._pending or self._flush_scheduled or self._syncing or self._long_running:
            await asyncio.sleep(0.005)  # the last writes are answered (and on disk) first
        self._closing.set()
        self._sync_requests.put(None)
        self._written.set()
        for thread in (self._syncer, self._checkpointer):
            if thread is not None:
                await asyncio.to_thread(thread.join)
        self._syncer = self._checkpointer = None
        # Whichever connection closes last checkpoints the WAL into the database and deletes it: it must sync.
        self._writer.conn.execute("PRAGMA synchronous = FULL")
        self._writer.conn.close()
        self._writer = None
        if self._reader:
            self._reader.conn.close()
            self._reader = None
        os.close(self._wal_fd)
        self._wal_fd = -1

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        assert self._reader is not None, "driver not open"
        if self._syncing:  # the last commit may not be on disk yet: do not show it before it is
            assert self._loop is not None
            waiter = self._loop.create_future()
            self._read_waiters.append(waiter)
            await waiter
        try:
            return fn(self._reader, *args)
        except sqlite3.Error as exc:
            raise StorageError(f"database error: {exc}") from None

    async def read_background(self, fn: Callable[..., T], *args: Any) -> T:
        """A read that may scan many rows (statistics, metrics): on its own connection in a worker thread, so the
        event loop (and every other client) does not wait for it. Its counts may include a commit whose fsync is
        under way."""

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

    async def write(self, fn: Callable[..., T], *args: Any, long: bool = False) -> T:
        """Queue a job for the next batch; ``long`` runs it alone on a thread (it may take seconds)."""
        assert self._loop is not None and self._writer is not None, "driver not open"
        fut: asyncio.Future[T] = self._loop.create_future()
        self._pending.append((fn, args, fut, long))
        self._schedule()
        return await fut

    # -- the write path, on the event loop ---------------------------------------------------------------------------

    def _schedule(self) -> None:
        if self._pending and not (self._flush_scheduled or self._syncing or self._long_running or self._held):
            assert self._loop is not None
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        """Run the queued jobs up to the first long one as one transaction, then have the commit synced."""
        self._flush_scheduled = False
        if not self._pending or self._syncing or self._long_running or self._held:
            return
        assert self._writer is not None
        if self._pending[0][3]:
            job = self._pending.pop(0)
            self._long_running = True
            threading.Thread(target=self._run_long, args=(job,), name="sqlite-long-job", daemon=True).start()
            return
        count = 0
        while count < len(self._pending) and count < MAX_BATCH and not self._pending[count][3]:
            count += 1
        batch = self._pending[:count]
        del self._pending[:count]
        outcomes, committed = self._run_batch(self._writer, batch)
        if committed:
            self._written.set()
            if self._fsync_seconds <= INLINE_FSYNC and not self._checkpointing:
                self._synced(outcomes, self._sync())
            else:
                self._syncing = True
                self._sync_requests.put(outcomes)
        else:  # nothing new is visible: answer now
            _resolve(outcomes)
            self._schedule()

    def _synced(self, outcomes: list[Outcome], error: OSError | None) -> None:
        self._syncing = False
        if error is not None:
            failure = StorageError(f"database error: the commit could not be synced to disk: {error}")
            outcomes = [(fut, None, failure) for fut, _value, _exc in outcomes]
        _resolve(outcomes)
        waiters, self._read_waiters = self._read_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
        # The next batch is committed only after the tasks woken above have run (they are ahead of it in the
        # loop's queue), so a woken read sees what is on disk and nothing newer.
        self._tell_quiet()
        self._schedule()

    def _long_done(self, outcomes: list[Outcome]) -> None:
        self._long_running = False
        _resolve(outcomes)
        self._tell_quiet()
        self._schedule()

    def _hold(self) -> None:
        """No batch starts until ``_unhold``; the checkpointer is told once none is being committed or synced."""
        self._held = True
        self._tell_quiet()

    def _tell_quiet(self) -> None:
        if self._held and not (self._syncing or self._long_running):
            self._quiet.set()

    def _unhold(self) -> None:
        self._held = False
        self._schedule()

    # -- threads -----------------------------------------------------------------------------------------------------

    def _run_long(self, job: Job) -> None:
        assert self._writer is not None and self._loop is not None
        conn = self._writer.conn
        try:
            conn.execute("PRAGMA synchronous = FULL")  # its commit is visible only once it is on disk
            outcomes, _committed = self._run_batch(self._writer, [job])
        except sqlite3.Error as exc:  # the job is answered and the queue goes on, whatever failed here
            outcomes = [(job[2], None, StorageError(f"database error: {exc}"))]
        try:
            conn.execute("PRAGMA synchronous = OFF")
        except sqlite3.Error as exc:  # then commits stay synced by SQLite too: slower, never less safe
            log.error("could not set synchronous=OFF after a long job: %s", exc)
        self._call_loop(self._long_done, outcomes)

    def _sync(self) -> OSError | None:
        """fsync the WAL (on the loop or the syncer thread); keeps a moving average of how long that takes."""
        start = time.perf_counter()
        try:
            self.fsync(self._wal_fd)
        except OSError as exc:
            log.critical("fsync of the WAL failed: %s", exc)
            return exc
        finally:
            self._fsync_seconds += (time.perf_counter() - start - self._fsync_seconds) / 16
        return None

    def _sync_loop(self) -> None:
        while True:
            outcomes = self._sync_requests.get()
            if outcomes is None:
                return
            self._call_loop(self._synced, outcomes, self._sync())

    def _checkpoint_loop(self, conn: sqlite3.Connection) -> None:
        """Copy the WAL into the database now and then, with ``synchronous=FULL``: the database file is synced
        before the WAL is reused. PASSIVE: it never waits for, nor blocks, the writer or a reader."""
        try:
            while True:
                self._written.wait()
                if self._closing.is_set():
                    return
                self._written.clear()
                self._checkpointing = True
                try:
                    frames = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()["log"]
                except sqlite3.Error as exc:
                    log.warning("checkpoint failed: %s", exc)
                    frames = 0
                finally:
                    self._checkpointing = False
                if frames * (self._page_size + 24) >= self.wal_restart_bytes:
                    self._restart_wal(conn)
                if self._closing.wait(self.checkpoint_interval):
                    return
        finally:
            conn.close()

    def _restart_wal(self, conn: sqlite3.Connection) -> None:
        """Checkpoint what is left while no batch commits, so that the next commit starts the WAL over.

        SQLite starts the WAL over only when a commit finds every frame already copied into the database; under a
        steady load the writer appends faster than a checkpoint that runs beside it can catch up, and the WAL grew
        without end (118 MB in a 20 s benchmark). Here the loop holds the writes back (``_held``) once nothing is
        being committed or synced, the checkpoint copies the frames written since the last one (1-6 ms here), and
        the next batch restarts the WAL. Reads go on meanwhile."""
        self._quiet.clear()
        self._call_loop(self._hold)
        try:
            while not self._quiet.wait(0.1):
                if self._closing.is_set():
                    return
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error as exc:
            log.warning("checkpoint failed: %s", exc)
        finally:
            self._call_loop(self._unhold)

    def _call_loop(self, callback: Callable[..., None], *args: Any) -> None:
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # loop closed during shutdown
            pass

    # -- one batch, on whichever thread holds the writer -----------------------------------------------------------

    def _run_batch(self, tx: SQLiteTx, batch: list[Job]) -> tuple[list[Outcome], bool]:
        """Run the jobs in one transaction, each in its own savepoint; returns their outcomes and whether anything
        was committed."""
        conn = tx.conn
        outcomes: list[Outcome] = []
        tx.touched = False
        # A job alone in its batch needs no savepoint: if it fails, the whole transaction is rolled back.
        alone = len(batch) == 1
        succeeded = False
        try:
            conn.execute("BEGIN IMMEDIATE")
            for fn, args, fut, _long in batch:
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
                    outcomes.append((fut, None, _storage_error(fn, exc)))
                else:
                    if not alone:
                        conn.execute("RELEASE job")
                    outcomes.append((fut, value, None))
                    succeeded = True
            if conn.in_transaction:
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            log.error("commit failed: %s", exc)
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            err = StorageError(f"database error: {exc}")
            return [(fut, None, err) for _fn, _args, fut, _long in batch], False
        if tx.touched and succeeded:  # after the commit: a membership read from here on sees the change
            self.membership_epoch += 1
        return outcomes, succeeded


def _storage_error(fn: Callable[..., Any], exc: BaseException) -> BaseException:
    if isinstance(exc, sqlite3.IntegrityError):
        return UniqueViolation(str(exc))
    if isinstance(exc, sqlite3.Error):
        return StorageError(f"database error: {exc}")
    if not isinstance(exc, (ColoniesError, StorageError)):
        log.exception("write job %s failed", getattr(fn, "__name__", fn), exc_info=exc)
    return exc


def _resolve(outcomes: list[Outcome]) -> None:
    for fut, value, exc in outcomes:
        if fut.done():
            continue
        if exc is not None:
            fut.set_exception(exc)
        else:
            fut.set_result(value)


def _timed(fn: Callable[[int], None], fd: int) -> float:
    start = time.perf_counter()
    fn(fd)
    return time.perf_counter() - start


def _sync_directory(path: str) -> None:
    fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _migrate(conn: sqlite3.Connection) -> None:
    """Columns added after a database may have been created (SQLite has no ADD COLUMN IF NOT EXISTS)."""
    columns = {row["name"] for row in conn.execute("PRAGMA table_info(processes)")}
    if "pendingparents" not in columns:
        conn.execute("ALTER TABLE processes ADD COLUMN pendingparents INTEGER NOT NULL DEFAULT -1")
    if "assignnonce" not in columns:
        conn.execute("ALTER TABLE processes ADD COLUMN assignnonce TEXT NOT NULL DEFAULT ''")
    if "location" not in {row["name"] for row in conn.execute("PRAGMA table_info(executors)")}:
        conn.execute("ALTER TABLE executors ADD COLUMN location TEXT NOT NULL DEFAULT ''")
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'nonces'").fetchone():
        # An earlier release's nonces move over (they stay refused until their window ends). In one transaction.
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO request_nonces (issued, caller, nonce) SELECT CAST(substr(nonce, 1, "
                     "instr(nonce, '-') - 1) AS INTEGER), caller, nonce FROM nonces WHERE true ON CONFLICT DO NOTHING")
        conn.execute("DROP TABLE nonces")
    conn.commit()

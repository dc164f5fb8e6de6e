"""PostgreSQL driver (psycopg 3): every job runs in its own transaction on a pooled connection, in a thread.

The storage logic is shared with SQLite (``storage/<area>.py``); what differs lives in ``sql/postgres/*.sql``: the
assign claim uses ``FOR UPDATE SKIP LOCKED`` and check-then-act jobs take row locks (``lock_graph``, then
``lock_process``), so several server replicas can share one database. Schema creation is serialised with an
advisory lock, so replicas starting together do not race.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from ..exceptions import ColoniesError
from .base import Row, StorageError, UniqueViolation
from .queries import load_queries, load_sql, membership_writes

T = TypeVar("T")
log = logging.getLogger(__name__)

#: Advisory lock class of the leader lock; the object is a hash of the schema, so several Colonies deployments (or
#: test runs) can share one PostgreSQL database, each with its own leader. The NOTIFY channel is per schema too.
LEADER_LOCK_CLASS = 0x636F6C6F

#: Advisory lock class used while creating the schema (one lock per schema).
SCHEMA_LOCK_CLASS = 0x636F6C73
#: Threads running the requests' jobs. Each job holds its thread for its round trips; more threads let more
#: transactions run at once, but on a small machine they cost more than they give: with 16, eight executors
#: draining one queue spent 2.32 ms of server CPU and 1.44 ms of database CPU per assign+close (threads contending
#: for the GIL, PostgreSQL skipping each other's locked rows); with 4, 2.16 and 1.25, at 12% more assign+close/s
#: (bench.py --runs 3, issue 17). Slow work (statistics, metrics, leadership, NOTIFY) has threads of its own.
REQUEST_THREADS = 4
#: Threads for that slow work, so that it never waits behind requests nor they behind it.
BACKGROUND_THREADS = 4
#: How often a write job that lost a deadlock is run again before the error reaches the caller.
DEADLOCK_RETRIES = 3
#: The NOTIFY payload (after the origin) that tells other replicas a membership changed.
MEMBERSHIP = '[{"membership":true}]'
#: How long a replica trusts a cached membership at most, should a NOTIFY be late; the listener's connection
#: being down turns the cache off altogether.
MEMBERSHIP_TTL = 1.0
#: The NOTIFY payload (after the origin) a replica sends when it starts listening: others start relaying events.
HELLO = "[]"
#: How long after the last sign of another replica (its hello, any NOTIFY, its row in the replica set) events are
#: still relayed. A server alone on its database saves a pool round trip per event batch.
PEER_TTL = 20.0
_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def to_psycopg(sql: str) -> str:
    """``:name`` placeholders (shared style of the .sql files) → psycopg's ``%(name)s``; ``::casts`` untouched."""
    return _PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))


def _schema_identity(tx: PostgresTx) -> Row:
    return tx.conn.execute("SELECT current_schema() AS s, hashtext(current_schema()) AS h").fetchone()  # type: ignore[return-value]


class _Deadlock(StorageError):
    """PostgreSQL broke a deadlock by rolling this job back (a StorageError once the retries are used up)."""


class PostgresTx:
    """Runs named queries in one transaction. The first statement that changes a membership also queues a NOTIFY
    in the same transaction, so the other replicas hear of the change exactly when it commits.

    A write job runs in pipeline mode (``pipeline``): statements whose answer is not needed yet (the BEGIN, the
    NOTIFY, ``later``) travel with the next one that needs an answer, instead of a round trip each."""

    __slots__ = ("conn", "queries", "driver", "touched", "pipeline")

    def __init__(self, conn: psycopg.Connection[Row], queries: dict[str, str],
                 driver: PostgresDriver | None = None, pipeline: psycopg.Pipeline | None = None) -> None:  # fmt: skip
        self.conn = conn
        self.queries = queries
        self.driver = driver
        self.touched = False
        self.pipeline = pipeline

    def one(self, query: str, /, **params: Any) -> Row | None:
        return self.conn.execute(self.queries[query], params).fetchone()

    def all(self, query: str, /, **params: Any) -> list[Row]:
        return self.conn.execute(self.queries[query], params).fetchall()

    def run(self, query: str, /, **params: Any) -> int:
        cursor = self._send(query, params)
        if self.pipeline is not None:
            self.pipeline.sync()  # the row count is asked for now (inside BEGIN: a sync commits nothing)
        return cursor.rowcount

    def later(self, query: str, /, **params: Any) -> Callable[[], int]:
        cursor = self._send(query, params)

        def count() -> int:
            if cursor.pgresult is None and self.pipeline is not None:
                self.pipeline.sync()
            return cursor.rowcount

        return count

    def _send(self, query: str, params: dict[str, Any]) -> psycopg.Cursor[Row]:
        if not self.touched and self.driver is not None and query in self.driver.membership:
            self.touched = True
            self.conn.execute("SELECT pg_notify(%s, %s)", (self.driver.channel, f"{self.driver.origin} {MEMBERSHIP}"))
        return self.conn.execute(self.queries[query], params)


class PostgresDriver:
    backend = "postgres"

    def __init__(self, url: str, pool_size: int = 16) -> None:
        self.url = url
        self.pool_size = pool_size
        self.queries = {name: to_psycopg(sql) for name, sql in load_queries("postgres").items()}
        self.membership = membership_writes(self.queries)
        #: Raised after each commit here, and each NOTIFY from another replica, that changed a membership.
        self.membership_epoch = 0
        #: Cached memberships expire (a late NOTIFY); None turns caching off (no listener: changes go unheard).
        self.membership_ttl: float | None = None
        self.origin = os.urandom(8).hex()
        #: Monotonic time until which another replica is assumed to listen (see :meth:`saw_peers`).
        self.peers_until = 0.0
        self._pool: ConnectionPool | None = None
        self._threads = ThreadPoolExecutor(max_workers=min(pool_size, REQUEST_THREADS), thread_name_prefix="pg")
        self._background = ThreadPoolExecutor(max_workers=BACKGROUND_THREADS, thread_name_prefix="pg-background")
        self._leader_conn: psycopg.Connection[Any] | None = None
        self._leading = False
        self._pending: list[Row] = []
        self._stop: threading.Event | None = None
        self.schema = ""
        self._schema_hash = 0
        self.channel = "colonies_events"

    async def open(self) -> None:
        pool = ConnectionPool(self.url, min_size=2, max_size=self.pool_size, open=False,
                              kwargs={"row_factory": dict_row, "autocommit": False})  # fmt: skip
        try:
            await asyncio.get_running_loop().run_in_executor(self._threads, lambda: pool.open(wait=True, timeout=15))
        except Exception as exc:
            raise StorageError(f"cannot connect to PostgreSQL: {exc}") from None
        self._pool = pool
        await self._execute(self._create_schema, ())
        row = await self._execute(_schema_identity, ())
        self.schema, self._schema_hash = row["s"], row["h"]
        self.channel = f"colonies_events_{self._schema_hash & 0xFFFFFFFF:08x}"

    @staticmethod
    def _create_schema(tx: PostgresTx) -> None:
        tx.conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(current_schema()))", (SCHEMA_LOCK_CLASS,))
        tx.conn.execute(load_sql("postgres", "schema.sql"))

    # -- replicas: events over LISTEN/NOTIFY, leadership over an advisory lock ------------------------------------

    def start_events(self, loop: asyncio.AbstractEventLoop, on_remote: Callable[[list[Row]], None]) -> None:
        """Listen for other replicas' events on a dedicated connection (a thread; reconnects on failure)."""
        self._stop = threading.Event()
        thread = threading.Thread(target=self._listen, args=(loop, on_remote), name="pg-listen", daemon=True)
        thread.start()

    def _listen(self, loop: asyncio.AbstractEventLoop, on_remote: Callable[[list[Row]], None]) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {self.channel}")
                    conn.execute("SELECT pg_notify(%s, %s)", (self.channel, f"{self.origin} {HELLO}"))
                    self.membership_epoch += 1  # whatever changed while nobody listened
                    self.membership_ttl = MEMBERSHIP_TTL
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            origin, _, payload = note.payload.partition(" ")
                            if origin != self.origin:
                                self.saw_peers()
                            if payload == MEMBERSHIP:
                                self.membership_epoch += 1  # from this thread, before any later request reads
                            elif origin != self.origin and payload != HELLO:
                                loop.call_soon_threadsafe(on_remote, json.loads(payload))
            except Exception as exc:  # noqa: BLE001 - keep listening whatever happened
                self.membership_ttl = None
                self.membership_epoch += 1
                if not self._stop.is_set():
                    log.warning("event listener lost its connection (%s); reconnecting", exc)
                    self._stop.wait(1.0)

    def saw_peers(self) -> None:
        """Another replica shares this database (it said hello, sent events, or beats in the replica set)."""
        self.peers_until = time.monotonic() + PEER_TTL

    def notify(self, rows: list[Row]) -> None:
        """Send events to the other replicas (fire and forget, after the change is committed).

        Events published during one turn of the event loop go out together, in as few NOTIFYs as fit PostgreSQL's
        8000-byte payload limit, so a burst of submits costs one round trip rather than one each. With no other
        replica in sight there is nobody to tell: a replica that starts says hello first."""
        if time.monotonic() > self.peers_until:
            return
        if not self._pending:
            asyncio.get_running_loop().call_soon(self._flush)
        self._pending.extend(rows)

    def _flush(self) -> None:
        rows, self._pending = self._pending, []
        payloads, batch, size = [], [], 0
        for row in rows:
            text = json.dumps(row, separators=(",", ":"))
            if batch and size + len(text) > 7000:
                payloads.append(f"{self.origin} [{','.join(batch)}]")
                batch, size = [], 0
            batch.append(text)
            size += len(text) + 1
        if batch:
            payloads.append(f"{self.origin} [{','.join(batch)}]")
        self._background.submit(self._notify, payloads)

    def _notify(self, payloads: list[str]) -> None:
        assert self._pool is not None
        try:
            with self._pool.connection() as conn:
                for payload in payloads:
                    conn.execute("SELECT pg_notify(%s, %s)", (self.channel, payload))
        except Exception as exc:  # noqa: BLE001 - another replica's long-poll falls back to its periodic re-check
            log.warning("could not notify other replicas: %s", exc)

    async def is_leader(self) -> bool:
        """Whether this replica holds the leader lock (taking it if free). A dead leader's connection closes and
        the lock is released, so another replica takes over at its next check."""
        return await asyncio.get_running_loop().run_in_executor(self._background, self._try_lead)

    def _try_lead(self) -> bool:
        try:
            if self._leader_conn is None or self._leader_conn.closed:
                self._leader_conn = psycopg.connect(self.url, autocommit=True, connect_timeout=5)
                self._leading = False
            if not self._leading:
                row = self._leader_conn.execute(
                    "SELECT pg_try_advisory_lock(%s, %s)", (LEADER_LOCK_CLASS, self._schema_hash)
                ).fetchone()
                self._leading = bool(row and row[0])
            else:
                self._leader_conn.execute("SELECT 1")  # still connected, so still holding the lock
            return self._leading
        except psycopg.Error as exc:
            log.warning("leader check failed: %s", exc)
            if self._leader_conn is not None:
                self._leader_conn.close()
            self._leader_conn = None
            self._leading = False
            return False

    async def close(self) -> None:
        if getattr(self, "_stop", None) is not None:
            self._stop.set()
        if self._leader_conn is not None:
            self._leader_conn.close()
        if self._pool is not None:
            await asyncio.get_running_loop().run_in_executor(self._threads, self._pool.close)
            self._pool = None
        self._threads.shutdown(wait=False)
        self._background.shutdown(wait=False)

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        # Reads run in autocommit: no BEGIN/COMMIT round trips around a single SELECT.
        return await asyncio.get_running_loop().run_in_executor(self._threads, self._run, fn, args, True)

    async def read_background(self, fn: Callable[..., T], *args: Any) -> T:
        """A read that may scan many rows (statistics, metrics), on the background threads."""
        return await asyncio.get_running_loop().run_in_executor(self._background, self._run, fn, args, True)

    async def write(self, fn: Callable[..., T], *args: Any, long: bool = False) -> T:  # every job is on a thread
        return await asyncio.get_running_loop().run_in_executor(self._threads, self._run, fn, args, False, True)

    async def _execute(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        """A write outside pipeline mode (the schema script: several statements in one)."""
        return await asyncio.get_running_loop().run_in_executor(self._threads, self._run, fn, args, False)

    def _run(self, fn: Callable[..., T], args: tuple[Any, ...], autocommit: bool, pipelined: bool = False) -> T:
        for _ in range(DEADLOCK_RETRIES):
            try:
                return self._run_once(fn, args, autocommit, pipelined)
            except _Deadlock:
                # Two jobs locked rows in opposite orders (e.g. a timeout sweep across graphs against a close);
                # PostgreSQL rolled this one back whole, so running it again is safe.
                log.info("deadlock in %s, retrying", getattr(fn, "__name__", fn))
        return self._run_once(fn, args, autocommit, pipelined)

    def _run_once(self, fn: Callable[..., T], args: tuple[Any, ...], autocommit: bool, pipelined: bool) -> T:
        assert self._pool is not None, "driver not open"
        try:
            tx = None
            with self._pool.connection() as conn:  # commits on success, rolls back on any exception
                if conn.autocommit != autocommit:
                    conn.autocommit = autocommit
                if not pipelined:
                    tx = PostgresTx(conn, self.queries, None if autocommit else self)
                    return fn(tx, *args)
                with conn.pipeline() as pipeline:
                    tx = PostgresTx(conn, self.queries, self, pipeline)
                    result = fn(tx, *args)
                    conn.execute(b"COMMIT")  # goes with the pipeline's closing sync: one round trip for both
                return result
        except (ColoniesError, StorageError):
            raise
        except psycopg.errors.DeadlockDetected as exc:
            raise _Deadlock(f"database error: {exc}") from None
        except psycopg.errors.UniqueViolation as exc:
            raise UniqueViolation(str(exc)) from None
        except psycopg.Error as exc:
            raise StorageError(f"database error: {exc}") from None
        finally:
            if tx is not None and tx.touched:  # committed (or rolled back: then one needless cache miss)
                self.membership_epoch += 1

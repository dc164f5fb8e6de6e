"""PostgreSQL driver (asyncpg): every job runs on the event loop, in a transaction of its own on a pooled connection.

The storage logic is shared with SQLite (``storage/<area>.py``); what differs lives in ``sql/postgres/*.sql``: the
assign claim uses ``FOR UPDATE SKIP LOCKED`` and check-then-act jobs take row locks (``lock_graph``, then
``lock_process``), so several server replicas can share one database. Schema creation is serialised with an
advisory lock, so replicas starting together do not race.

Jobs are synchronous functions; they run in a greenlet (``bridge.py``) whose statements are awaited by the
request's own task. Issue 17 measured the alternatives, 4000 two-statement transactions from 8 concurrent callers
(client CPU per transaction, alternating runs): blocking psycopg on 4 threads in pipeline mode 0.27-0.44 ms, async
psycopg in pipeline mode 0.22-0.27 ms, asyncpg 0.13-0.18 ms (0.13 with no reset query per release).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

from ..exceptions import ColoniesError
from .base import Row, StorageError, UniqueViolation
from .bridge import run_job, wait
from .queries import load_queries, load_sql, membership_writes

T = TypeVar("T")
log = logging.getLogger(__name__)

#: Advisory lock class of the leader lock; the object is a hash of the schema, so several Colonies deployments (or
#: test runs) can share one PostgreSQL database, each with its own leader. The NOTIFY channel is per schema too.
LEADER_LOCK_CLASS = 0x636F6C6F
#: Advisory lock class used while creating the schema (one lock per schema).
SCHEMA_LOCK_CLASS = 0x636F6C73
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
#: How often the listener checks that its connection still answers (a dead peer sends no FIN).
LISTEN_CHECK_EVERY = 5.0
#: Prepared statements kept per connection: more than the named queries, so none is prepared twice.
STATEMENT_CACHE = 2048
#: How long opening the pool (the first connections) may take before the server gives up.
CONNECT_TIMEOUT = 15.0
_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_COUNT = re.compile(r"(\d+)$")
#: Statements that may travel with their transaction's BEGIN (one round trip for both): a request's nonce.
BEGIN_WITH = ("use_nonce",)
#: A string that may be written into SQL as a literal as it is: nothing a literal could be escaped from.
_PLAIN = re.compile(r"[0-9A-Za-z_-]{0,128}\Z")
#: A named query: the SQL with ``$n`` placeholders and the parameter name of each ``$n``.
Query = tuple[str, tuple[str, ...]]


def to_positional(sql: str) -> Query:
    """``:name`` placeholders (shared style of the .sql files) → ``$1, $2, ...``; ``::casts`` untouched."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _PARAM.sub(number, sql), tuple(names)


def _literal(value: Any) -> str | None:
    """``value`` as a SQL literal when it is a plain integer or identifier (else None: it goes as a parameter)."""
    if type(value) is int:
        return str(value)
    if type(value) is str and _PLAIN.match(value):
        return f"'{value}'"
    return None


#: libpq connection parameters asyncpg does not know (it would send them to the server as settings, which refuses
#: them): a URL written for psql or psycopg keeps working. connect_timeout is honoured; the TCP keep-alive
#: settings are left to the operating system's defaults.
_LIBPQ_ONLY = ("connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
               "tcp_user_timeout", "fallback_application_name")  # fmt: skip


def split_url(url: str) -> tuple[str, float | None]:
    """The URL asyncpg is given (without :data:`_LIBPQ_ONLY` parameters) and the URL's connect_timeout."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(key, value) for key, value in query if key not in _LIBPQ_ONLY]
    if len(kept) == len(query):
        return url, None
    timeout = next((value for key, value in query if key == "connect_timeout"), "")
    try:
        seconds = float(timeout) if timeout and float(timeout) > 0 else None
    except ValueError:
        raise StorageError(f"connect_timeout={timeout!r} in the database URL is not a number of seconds") from None
    return urlunsplit(parts._replace(query=urlencode(kept))), seconds


def _count(status: str) -> int:
    """The row count of a command tag (``INSERT 0 3``, ``UPDATE 1``, ``DELETE 0``, ``SELECT 2``)."""
    match = _COUNT.search(status or "")
    return int(match.group(1)) if match else 0


async def _release(conn: asyncpg.Connection) -> None:
    """Nothing to reset when a connection goes back to the pool: asyncpg itself rolls back a transaction left
    open, and its default reset (``RESET ALL``, ``UNLISTEN *`` and friends) would cost a round trip per job for
    session state no job sets."""


class _Deadlock(StorageError):
    """PostgreSQL broke a deadlock by rolling this job back (a StorageError once the retries are used up)."""


class PostgresTx:
    """Runs named queries in one transaction (from inside a job's greenlet). The first statement that changes a
    membership also sends a NOTIFY in the same transaction, so the other replicas hear of the change exactly when
    it commits.

    A write transaction begins with its first statement: when that is the request's nonce (its parameters are
    plain integers and identifiers), the BEGIN and an ``EXECUTE`` of the statement the connection prepared go in one
    simple query, one round trip instead of two; otherwise the BEGIN goes alone."""

    __slots__ = ("conn", "queries", "driver", "touched", "begun")

    def __init__(self, conn: asyncpg.Connection, queries: dict[str, Query], driver: PostgresDriver | None) -> None:
        self.conn = conn
        self.queries = queries
        self.driver = driver
        self.touched = False
        self.begun = driver is None  # reads run in autocommit

    def one(self, query: str, /, **params: Any) -> Row | None:
        sql, names = self._prepare(query)
        row = wait(self.conn.fetchrow(sql, *[params[name] for name in names]))
        return None if row is None else dict(row)

    def all(self, query: str, /, **params: Any) -> list[Row]:
        sql, names = self._prepare(query)
        return [dict(row) for row in wait(self.conn.fetch(sql, *[params[name] for name in names]))]

    def run(self, query: str, /, **params: Any) -> int:
        if not self.begun and self.driver is not None:
            inline = self.driver.inline(query, params)
            if inline is not None:
                self.begun = True
                return _count(wait(self.conn.execute("BEGIN;\n" + inline)))
        sql, names = self._prepare(query)
        return _count(wait(self.conn.execute(sql, *[params[name] for name in names])))

    def _prepare(self, query: str) -> Query:
        if not self.begun:
            self.begun = True
            wait(self.conn.execute("BEGIN"))
        if not self.touched and self.driver is not None and query in self.driver.membership:
            self.touched = True
            wait(self.conn.execute("SELECT pg_notify($1, $2)", self.driver.channel,
                                   f"{self.driver.origin} {MEMBERSHIP}"))  # fmt: skip
        return self.queries[query]


class PostgresDriver:
    backend = "postgres"

    def __init__(self, url: str, pool_size: int = 16) -> None:
        self.url, timeout = split_url(url)
        self.connect_timeout = timeout or CONNECT_TIMEOUT
        self.pool_size = pool_size
        named = load_queries("postgres")
        self.queries = {name: to_positional(sql) for name, sql in named.items()}
        self.membership = membership_writes(named)
        #: Raised after each commit here, and each NOTIFY from another replica, that changed a membership.
        self.membership_epoch = 0
        #: Cached memberships expire (a late NOTIFY); None turns caching off (no listener: changes go unheard).
        self.membership_ttl: float | None = None
        self.origin = os.urandom(8).hex()
        #: Monotonic time until which another replica is assumed to listen (see :meth:`saw_peers`).
        self.peers_until = 0.0
        self._pool: asyncpg.Pool | None = None
        self._leader_conn: asyncpg.Connection | None = None
        self._leading = False
        self._pending: list[Row] = []
        self._listener: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.schema = ""
        self._schema_hash = 0
        self.channel = "colonies_events"

    async def open(self) -> None:
        """Create the schema (on a connection of its own: the pool's connections prepare statements on its
        tables as they open), then open the pool."""
        errors = (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError)
        try:
            conn = await asyncpg.connect(self.url, timeout=self.connect_timeout)
        except errors as exc:
            raise StorageError(f"cannot connect to PostgreSQL: {exc or type(exc).__name__}") from None
        try:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))", SCHEMA_LOCK_CLASS)
                await conn.execute(load_sql("postgres", "schema.sql"))
            row = await conn.fetchrow("SELECT current_schema() AS s, hashtext(current_schema()) AS h")
        except asyncpg.PostgresError as exc:
            raise StorageError(f"database error: {exc}") from None
        finally:
            await conn.close()
        try:
            self._pool = await asyncio.wait_for(
                asyncpg.create_pool(self.url, min_size=2, max_size=self.pool_size, reset=_release,
                                    init=self._prepare_connection, statement_cache_size=STATEMENT_CACHE,
                                    timeout=self.connect_timeout),  # fmt: skip
                self.connect_timeout + CONNECT_TIMEOUT,
            )
        except errors as exc:
            raise StorageError(f"cannot connect to PostgreSQL: {exc or type(exc).__name__}") from None
        self.schema, self._schema_hash = row["s"], row["h"]
        self.channel = f"colonies_events_{self._schema_hash & 0xFFFFFFFF:08x}"

    def inline(self, query: str, params: dict[str, Any]) -> str | None:
        """``EXECUTE`` of a statement each connection prepared when it opened (:data:`BEGIN_WITH`), its parameters
        written as literals; None when the statement is not one of those or a parameter is not plain."""
        if query not in BEGIN_WITH:
            return None
        literals = []
        for name in self.queries[query][1]:
            literal = _literal(params[name])
            if literal is None:
                return None
            literals.append(literal)
        return f"EXECUTE colonies_{query}({', '.join(literals)})"

    async def _prepare_connection(self, conn: asyncpg.Connection) -> None:
        """Prepare the statements a transaction may begin with (see :meth:`inline`), once per connection."""
        for query in BEGIN_WITH:
            await conn.execute(f"PREPARE colonies_{query} AS {self.queries[query][0]}")

    # -- replicas: events over LISTEN/NOTIFY, leadership over an advisory lock ------------------------------------

    def start_events(self, loop: asyncio.AbstractEventLoop, on_remote: Callable[[list[Row]], None]) -> None:
        """Listen for other replicas' events on a dedicated connection (reconnects on failure)."""
        self._listener = loop.create_task(self._listen(on_remote))

    async def _listen(self, on_remote: Callable[[list[Row]], None]) -> None:
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(self.url, timeout=10)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _conn: lost.set())
                await conn.add_listener(self.channel, lambda _c, _pid, _ch, payload: self._heard(payload, on_remote))
                await conn.execute("SELECT pg_notify($1, $2)", self.channel, f"{self.origin} {HELLO}")
                self.membership_epoch += 1  # whatever changed while nobody listened
                self.membership_ttl = MEMBERSHIP_TTL
                while not lost.is_set():
                    try:
                        await asyncio.wait_for(lost.wait(), LISTEN_CHECK_EVERY)
                    except asyncio.TimeoutError:
                        await conn.execute("SELECT 1", timeout=LISTEN_CHECK_EVERY)
                raise ConnectionError("connection closed")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - keep listening whatever happened
                self.membership_ttl = None
                self.membership_epoch += 1
                log.warning("event listener lost its connection (%s); reconnecting", exc)
                await asyncio.sleep(1.0)
            finally:
                if conn is not None:
                    conn.terminate()

    def _heard(self, payload: str, on_remote: Callable[[list[Row]], None]) -> None:
        origin, _, body = payload.partition(" ")
        if origin != self.origin:
            self.saw_peers()
        if body == MEMBERSHIP:
            self.membership_epoch += 1
        elif origin != self.origin and body != HELLO:
            on_remote(json.loads(body))

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
        task = asyncio.get_running_loop().create_task(self._notify(payloads))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _notify(self, payloads: list[str]) -> None:
        assert self._pool is not None
        try:
            async with self._pool.acquire() as conn:
                await conn.executemany("SELECT pg_notify($1, $2)", [(self.channel, p) for p in payloads])
        except Exception as exc:  # noqa: BLE001 - another replica's long-poll falls back to its periodic re-check
            log.warning("could not notify other replicas: %s", exc)

    async def is_leader(self) -> bool:
        """Whether this replica holds the leader lock (taking it if free). A dead leader's connection closes and
        the lock is released, so another replica takes over at its next check."""
        try:
            if self._leader_conn is None or self._leader_conn.is_closed():
                self._leader_conn = await asyncpg.connect(self.url, timeout=5)
                self._leading = False
            if not self._leading:
                lock = "SELECT pg_try_advisory_lock($1, $2)"
                self._leading = bool(await self._leader_conn.fetchval(lock, LEADER_LOCK_CLASS, self._schema_hash))
            else:
                await self._leader_conn.execute("SELECT 1", timeout=5)  # still connected, so still holding the lock
            return self._leading
        except (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("leader check failed: %s", exc or type(exc).__name__)
            if self._leader_conn is not None:
                self._leader_conn.terminate()
            self._leader_conn = None
            self._leading = False
            return False

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
            self._listener = None
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._leader_conn is not None:
            self._leader_conn.terminate()
            self._leader_conn = None
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await asyncio.wait_for(pool.close(), 10)
            except (asyncio.TimeoutError, OSError, asyncpg.InterfaceError):
                pool.terminate()

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        # Reads run in autocommit: no BEGIN/COMMIT round trips around a single SELECT.
        return await self._run_once(fn, args, write=False)

    async def read_background(self, fn: Callable[..., T], *args: Any) -> T:
        """A read that may scan many rows (statistics, metrics): the database does the scanning, off the loop."""
        return await self._run_once(fn, args, write=False)

    async def write(self, fn: Callable[..., T], *args: Any, long: bool = False) -> T:
        """A write job runs to its end even if the request that asked for it goes away (its client hung up): the
        caller's cancellation does not reach the transaction, as it did not reach a thread before."""
        return await asyncio.shield(self._write(fn, args))

    async def _write(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        for _ in range(DEADLOCK_RETRIES):
            try:
                return await self._run_once(fn, args, write=True)
            except _Deadlock:
                # Two jobs locked rows in opposite orders (e.g. a timeout sweep across graphs against a close);
                # PostgreSQL rolled this one back whole, so running it again is safe.
                log.info("deadlock in %s, retrying", getattr(fn, "__name__", fn))
        return await self._run_once(fn, args, write=True)

    async def _run_once(self, fn: Callable[..., T], args: tuple[Any, ...], write: bool) -> T:
        assert self._pool is not None, "driver not open"
        tx = None
        try:
            async with self._pool.acquire() as conn:  # rolled back on release if still open (an exception)
                tx = PostgresTx(conn, self.queries, self if write else None)
                if not write:
                    return await run_job(fn, tx, *args)
                try:
                    result = await run_job(fn, tx, *args)  # begins the transaction with its first statement
                except BaseException:
                    if conn.is_in_transaction() and not conn.is_closed():
                        await conn.execute("ROLLBACK")  # asyncpg would too, but complain in the log
                    raise
                if tx.begun and await conn.execute("COMMIT") != "COMMIT":  # a statement failed, the job went on
                    raise StorageError("database error: the transaction was rolled back")
                return result
        except (ColoniesError, StorageError):
            raise
        except asyncpg.DeadlockDetectedError as exc:
            raise _Deadlock(f"database error: {exc}") from None
        except asyncpg.UniqueViolationError as exc:
            raise UniqueViolation(str(exc)) from None
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
            raise StorageError(f"database error: {exc}") from None
        finally:
            if tx is not None and tx.touched:  # committed (or rolled back: then one needless cache miss)
                self.membership_epoch += 1

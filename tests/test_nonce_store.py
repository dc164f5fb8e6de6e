"""The store's replay-protection nonces: keyed by the time the nonce carries, forgotten only once stale.

A nonce is "<issued ns>-<hex>"; the store keys it by (issued, caller, nonce), so a replay finds the same key, and
the leader's sweep forgets the ones issued more than a window ago (the dispatcher refuses those as stale before
they reach the store). These tests drive the real store on SQLite and PostgreSQL: what a sweep keeps, what it
forgets, and a database of the earlier layout (a ``nonces`` table keyed by caller and nonce) moving over.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import drop_database, fresh_database

from colonies.exceptions import Conflict
from colonies.server.api import check_nonce
from colonies.storage import SQLStore, open_store

pytestmark = pytest.mark.timeout(60)

CALLER = "a" * 64


def run_store(url: str, test: Any) -> Any:
    async def main() -> Any:
        store = await open_store(url)
        try:
            return await test(store)
        finally:
            await store.close()

    return asyncio.run(main())


@pytest.fixture
def url(backend: str, tmp_path: Path) -> Any:
    url = fresh_database(backend, str(tmp_path))
    yield url
    drop_database(url)


async def use(store: SQLStore, nonce: str, window: int = 300) -> bool:
    """True if the store took the nonce, False if it refused it as used."""
    try:
        await store.use_nonce(check_nonce(CALLER, nonce, window))
    except Conflict:
        return False
    return True


def test_a_sweep_forgets_only_nonces_issued_before_its_limit(url: str) -> None:
    now = time.time_ns()
    old, fresh, future = f"{now - 10**9}-{'1' * 32}", f"{now}-{'2' * 32}", f"{now + 20 * 10**9}-{'3' * 32}"

    async def test(store: SQLStore) -> None:
        for nonce in (old, fresh, future):
            assert await use(store, nonce)
            assert not await use(store, nonce)  # a replay is refused
        # the limit is "issued before": a nonce dated in the future (within the allowed clock skew) is kept for
        # its whole window after its own date, not the server's
        assert await store.purge_nonces(now - 1) == 1
        assert await use(store, old)  # forgotten (the dispatcher refuses it as stale before this point)
        assert not await use(store, fresh)
        assert not await use(store, future)
        assert await store.purge_nonces(now + 10 * 10**9) == 2
        assert not await use(store, future)

    run_store(url, test)


def test_same_nonce_from_another_caller_is_independent(url: str) -> None:
    nonce = f"{time.time_ns()}-{'4' * 32}"

    async def test(store: SQLStore) -> None:
        assert await use(store, nonce)
        await store.use_nonce(check_nonce("b" * 64, nonce, 300))  # no Conflict

    run_store(url, test)


def test_nonces_of_an_earlier_database_move_over_and_stay_refused(url: str, backend: str) -> None:
    """A server upgraded within a replay window must still refuse the requests it took before the upgrade."""
    now = time.time_ns()
    taken = [f"{now - i * 10**9}-{i:032x}" for i in range(1, 4)]
    run_store(url, lambda store: asyncio.sleep(0))  # the current schema
    rows = [(CALLER, nonce, now + 300 * 10**9) for nonce in taken]
    if backend == "sqlite":
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute("CREATE TABLE nonces (caller TEXT NOT NULL, nonce TEXT NOT NULL, expires BIGINT NOT NULL,"
                         " PRIMARY KEY (caller, nonce))")  # fmt: skip
            conn.executemany("INSERT INTO nonces VALUES (?, ?, ?)", rows)
    else:
        import psycopg

        from conftest import PG_URL

        schema = url.rsplit("search_path%3D", 1)[1]
        with psycopg.connect(PG_URL, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f"SET search_path = {schema}")
            conn.execute("CREATE TABLE nonces (caller TEXT NOT NULL, nonce TEXT NOT NULL, expires BIGINT NOT NULL,"
                         " PRIMARY KEY (caller, nonce))")  # fmt: skip
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO nonces VALUES (%s, %s, %s)", rows)

    async def test(store: SQLStore) -> None:
        for nonce in taken:
            assert not await use(store, nonce), nonce
        assert await use(store, f"{now}-{'5' * 32}")

    run_store(url, test)  # opening the database again moves the nonces over
    if backend == "sqlite":
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            assert conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'nonces'").fetchone() is None

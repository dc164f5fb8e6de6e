"""The PostgreSQL driver on the event loop (asyncpg, jobs in greenlets): what it adds beyond the shared suite.

A write job survives its caller's cancellation; a job that carries on after a failed statement does not commit
silently; a transaction's BEGIN travels with the request's nonce only for plain values; libpq-only URL parameters
are taken or dropped instead of reaching the server."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from colonies.storage import StorageError
from colonies.storage.bridge import run_job, wait
from colonies.storage.postgres import PostgresDriver, split_url

from conftest import PG_URL, drop_database, fresh_database

needs_pg = pytest.mark.skipif(not PG_URL, reason="needs COLONIES_TEST_PG_URL (set by .ci/run)")


@pytest.fixture
def url(tmp_path: Path) -> Any:
    url = fresh_database("postgres", str(tmp_path))
    yield url
    drop_database(url)


def with_driver(url: str, test: Any) -> Any:
    async def main() -> Any:
        driver = PostgresDriver(url)
        await driver.open()
        try:
            return await test(driver)
        finally:
            await driver.close()

    return asyncio.run(main())


def count_colonies(tx: Any) -> int:
    return len(tx.all("get_colonies"))


def add_colony(tx: Any, name: str) -> None:
    tx.run("add_colony", colonyid=name * 2, name=name)


def test_wait_outside_a_job_is_refused() -> None:
    async def main() -> None:
        async def answer() -> int:
            return 42

        assert await run_job(lambda: wait(answer()) + 1) == 43
        coro = answer()
        with pytest.raises(RuntimeError, match="outside a job"):
            wait(coro)
        coro.close()

    asyncio.run(main())


def test_libpq_only_url_parameters_are_taken_or_dropped() -> None:
    base = "postgresql://u@h:5432/db"
    assert split_url(base) == (base, None)
    assert split_url(f"{base}?options=-csearch_path%3Dx&connect_timeout=7&keepalives=1") == (
        f"{base}?options=-csearch_path%3Dx", 7.0)  # fmt: skip
    with pytest.raises(StorageError, match="connect_timeout"):
        split_url(f"{base}?connect_timeout=soon")


def test_only_plain_values_travel_as_literals_with_the_begin() -> None:
    driver = PostgresDriver("postgresql://u@h/db")
    plain = {"issued": 1_700_000_000_000_000_000, "caller": "ab" * 32, "nonce": "1700000000000000000-" + "f" * 32}
    assert driver.inline("use_nonce", plain) == (
        f"EXECUTE colonies_use_nonce({plain['issued']}, '{plain['caller']}', '{plain['nonce']}')")  # fmt: skip
    for bad in ("x'); DROP TABLE processes; --", "a b", "é", "1" * 129):
        assert driver.inline("use_nonce", {**plain, "nonce": bad}) is None
    assert driver.inline("use_nonce", {**plain, "issued": True}) is None  # only true ints
    assert driver.inline("add_colony", {"colonyid": "a", "name": "b"}) is None  # not prepared at connect


@needs_pg
def test_postgres_url_with_libpq_parameters_opens(url: str) -> None:
    async def test(driver: PostgresDriver) -> int:
        return await driver.read(count_colonies)

    assert with_driver(url + "&connect_timeout=5&keepalives=1", test) == 0


@needs_pg
def test_a_write_job_commits_even_if_its_caller_is_cancelled(url: str) -> None:
    async def test(driver: PostgresDriver) -> int:
        def slow_add(tx: Any) -> None:
            add_colony(tx, "first")
            wait(asyncio.sleep(0.3))  # the caller is cancelled meanwhile
            add_colony(tx, "second")

        task = asyncio.ensure_future(driver.write(slow_add))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.5)
        return await driver.read(count_colonies)

    assert with_driver(url, test) == 2


@needs_pg
def test_a_job_that_goes_on_after_a_failed_statement_does_not_commit(url: str) -> None:
    async def test(driver: PostgresDriver) -> int:
        def stubborn(tx: Any) -> None:
            add_colony(tx, "kept")
            try:
                add_colony(tx, "kept")  # a duplicate key: the transaction is aborted
            except Exception:  # noqa: BLE001 - what a careless job might do
                pass

        with pytest.raises(StorageError):
            await driver.write(stubborn)
        return await driver.read(count_colonies)

    assert with_driver(url, test) == 0


@needs_pg
def test_the_nonce_travels_with_the_begin_and_a_replay_is_refused(url: str) -> None:
    from colonies.storage.core import PendingNonce, _with_nonce

    pending = PendingNonce("ab" * 32, "1700000000000000000-" + "c" * 32, 1_700_000_000_000_000_000)

    async def test(driver: PostgresDriver) -> int:
        await driver.write(_with_nonce, pending, lambda tx: add_colony(tx, "once"))
        with pytest.raises(Exception, match="Replayed"):
            await driver.write(_with_nonce, pending, lambda tx: add_colony(tx, "twice"))
        return await driver.read(count_colonies)

    assert with_driver(url, test) == 1

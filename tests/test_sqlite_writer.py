"""The SQLite driver's write path: jobs run on the event loop, the WAL's fsync comes before any answer.

These tests drive :class:`SQLiteDriver` itself on a real database file. The fsync is the real ``os.fdatasync``;
where a test needs a slow disk it wraps the real call with a delay (the data still goes to disk).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from colonies.storage import sqlite as sqlite_driver
from colonies.storage.base import StorageError
from colonies.storage.sqlite import SQLiteDriver, SQLiteTx

pytestmark = pytest.mark.timeout(60)


def make_table(tx: SQLiteTx) -> None:
    tx.conn.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")


def insert(tx: SQLiteTx, value: int) -> int:
    tx.conn.execute("INSERT INTO t (x) VALUES (?)", (value,))
    return value


def values(tx: SQLiteTx) -> list[int]:
    return [row["x"] for row in tx.conn.execute("SELECT x FROM t ORDER BY x").fetchall()]


def slow_fsync(driver: SQLiteDriver, seconds: float, log: list[str]) -> None:
    real = driver.fsync

    def fsync(fd: int) -> None:
        log.append("fsync start")
        time.sleep(seconds)
        real(fd)
        log.append("fsync done")

    driver.fsync = fsync


def run(path: Path, test: Callable[[SQLiteDriver], Any]) -> Any:
    async def main() -> Any:
        driver = SQLiteDriver(str(path / "c.db"))
        await driver.open()
        try:
            await driver.write(make_table)
            return await test(driver)
        finally:
            await driver.close()

    return asyncio.run(main())


@pytest.mark.parametrize("inline", [True, False], ids=["fsync-on-loop", "fsync-on-thread"])
def test_a_write_is_answered_after_its_fsync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inline: bool) -> None:
    if not inline:
        monkeypatch.setattr(sqlite_driver, "INLINE_FSYNC", -1.0)
    log: list[str] = []

    async def test(driver: SQLiteDriver) -> None:
        slow_fsync(driver, 0.2, log)
        assert await driver.write(insert, 1) == 1
        log.append("answered")

    run(tmp_path, test)
    assert log[:3] == ["fsync start", "fsync done", "answered"]


def test_a_read_does_not_see_a_commit_before_it_is_on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a slow disk the fsync runs on a thread and the loop goes on; a read made meanwhile waits for the fsync,
    so no one is shown a row that a power cut could still take back."""
    monkeypatch.setattr(sqlite_driver, "INLINE_FSYNC", -1.0)
    log: list[str] = []

    async def test(driver: SQLiteDriver) -> None:
        slow_fsync(driver, 0.3, log)
        write = asyncio.ensure_future(driver.write(insert, 7))
        await asyncio.sleep(0.1)  # committed, fsync under way; the loop is free
        log.append("loop ran")
        seen = await driver.read(values)
        log.append(f"read {seen}")
        await write

    run(tmp_path, test)
    assert log[:4] == ["fsync start", "loop ran", "fsync done", "read [7]"]


def test_jobs_queued_together_share_one_commit_and_one_fsync(tmp_path: Path) -> None:
    log: list[str] = []

    async def test(driver: SQLiteDriver) -> list[int]:
        slow_fsync(driver, 0.0, log)
        return list(await asyncio.gather(*(driver.write(insert, n) for n in range(50))))

    assert run(tmp_path, test) == list(range(50))
    assert log.count("fsync done") == 1


def test_a_failing_job_takes_nothing_else_with_it(tmp_path: Path) -> None:
    def fail(tx: SQLiteTx) -> None:
        tx.conn.execute("INSERT INTO t (x) VALUES (99)")
        raise ValueError("no")

    async def test(driver: SQLiteDriver) -> list[int]:
        results = await asyncio.gather(
            driver.write(insert, 1), driver.write(fail), driver.write(insert, 2), return_exceptions=True
        )
        assert results[0] == 1 and isinstance(results[1], ValueError) and results[2] == 2
        return await driver.read(values)

    assert run(tmp_path, test) == [1, 2]


def test_a_failed_fsync_is_an_error_and_the_driver_goes_on(tmp_path: Path) -> None:
    async def test(driver: SQLiteDriver) -> list[int]:
        real = driver.fsync

        def broken(fd: int) -> None:
            raise OSError(5, "Input/output error")

        driver.fsync = broken
        with pytest.raises(StorageError, match="could not be synced"):
            await driver.write(insert, 1)
        driver.fsync = real
        assert await driver.write(insert, 2) == 2
        return await driver.read(values)

    assert run(tmp_path, test) == [1, 2]  # the first one was committed: only its durability was unknown


def test_a_long_job_runs_off_the_loop_and_keeps_its_place(tmp_path: Path) -> None:
    order: list[str] = []

    def long_job(tx: SQLiteTx) -> None:
        time.sleep(0.5)  # a job that deletes a great many rows
        tx.conn.execute("INSERT INTO t (x) VALUES (100)")
        order.append("long done")

    async def test(driver: SQLiteDriver) -> None:
        await driver.write(insert, 1)
        started = time.monotonic()
        long = asyncio.ensure_future(driver.write(long_job, long=True))
        after = asyncio.ensure_future(driver.write(insert, 2))  # queued behind the long job
        await asyncio.sleep(0.05)
        assert await driver.read(values) == [1]  # reads go on while the long job runs
        order.append("read")
        assert time.monotonic() - started < 0.4
        assert await after == 2
        order.append("after")
        await long

    run(tmp_path, test)
    assert order == ["read", "long done", "after"]


def test_commits_reach_the_database_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer does not checkpoint; the checkpointer does, so the WAL does not grow without end and the rows
    reach the database file (a copy of that file alone, without its WAL, has them)."""
    monkeypatch.setattr(SQLiteDriver, "checkpoint_interval", 0.05)

    async def test(driver: SQLiteDriver) -> list[int]:
        for n in range(20):
            await driver.write(insert, n)
        await asyncio.sleep(0.5)
        shutil.copy(tmp_path / "c.db", tmp_path / "copy.db")
        conn = sqlite3.connect(tmp_path / "copy.db")
        try:
            return [x for (x,) in conn.execute("SELECT x FROM t ORDER BY x")]
        finally:
            conn.close()

    assert run(tmp_path, test) == list(range(20))


def test_close_leaves_everything_in_the_database_file(tmp_path: Path) -> None:
    async def test(driver: SQLiteDriver) -> None:
        await asyncio.gather(*(driver.write(insert, n) for n in range(5)))

    run(tmp_path, test)
    assert not os.path.exists(tmp_path / "c.db-wal")  # the last connection checkpointed and removed it
    conn = sqlite3.connect(tmp_path / "c.db")
    try:
        assert [x for (x,) in conn.execute("SELECT x FROM t ORDER BY x")] == list(range(5))
    finally:
        conn.close()


@pytest.mark.parametrize("inline", [True, False], ids=["fsync-on-loop", "fsync-on-thread"])
def test_the_wal_starts_over_under_a_steady_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inline: bool) -> None:
    """Writers that never pause: SQLite alone would append to the WAL for ever (a checkpoint beside them never
    catches up); the checkpointer holds the writes for a moment so that the WAL starts over, and nothing is lost."""
    if not inline:
        monkeypatch.setattr(sqlite_driver, "INLINE_FSYNC", -1.0)
    monkeypatch.setattr(SQLiteDriver, "checkpoint_interval", 0.02)
    monkeypatch.setattr(SQLiteDriver, "wal_restart_bytes", 256 * 1024)
    wal = tmp_path / "c.db-wal"

    def insert_page(tx: SQLiteTx, value: int) -> int:
        tx.conn.execute("INSERT INTO t (x, pad) VALUES (?, randomblob(3000))", (value,))
        return value

    async def test(driver: SQLiteDriver) -> tuple[int, int]:
        await driver.write(lambda tx: tx.conn.execute("ALTER TABLE t ADD COLUMN pad BLOB"))
        written, largest, done = 0, 0, asyncio.Event()

        async def writer(first: int) -> None:
            nonlocal written
            n = first
            while not done.is_set():
                await driver.write(insert_page, n)
                written += 1
                n += 4

        async def watch() -> None:
            nonlocal largest
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline and written < 3000:  # 3000 pages: 12 MB of frames at least
                largest = max(largest, wal.stat().st_size)
                await asyncio.sleep(0.01)
            done.set()

        await asyncio.gather(watch(), *(writer(i) for i in range(4)))
        rows = await driver.read(lambda tx: tx.conn.execute("SELECT count(*) AS n FROM t").fetchone()["n"])
        assert rows == written
        return written, largest

    written, largest = run(tmp_path, test)
    assert written * 4096 > 4 * 1024 * 1024, written  # enough frames that an endless WAL would show
    assert largest < written * 4096 / 2, (largest, written)  # the WAL was started over, not appended to

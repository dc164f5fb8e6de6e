"""Storage: one API (``SQLStore``) over a driver per database; SQL lives in ``sql/<backend>/*.sql``."""

from __future__ import annotations

from .base import Driver, StorageError
from .sqlstore import SQLStore


def check_url(url: str) -> None:
    """Refuse a database URL of another kind (``mysql://x/y`` would otherwise become a SQLite file of that name)."""
    scheme, sep, _ = url.partition("://")
    if not url.strip():
        raise StorageError("the database URL is empty: give sqlite:///path/to.db or postgresql://user@host/db")
    if sep and scheme.lower() not in ("sqlite", "postgres", "postgresql"):
        raise StorageError(f"unsupported database {scheme}://: use sqlite:///path/to.db (or a plain path) or "
                           "postgresql://user@host/db")  # fmt: skip


async def open_store(url: str) -> SQLStore:
    """Open a store from a URL: ``sqlite:///path/to.db`` (or a bare path) or ``postgresql://user@host/db``."""
    check_url(url)
    if url.startswith(("postgres://", "postgresql://")):
        from .postgres import PostgresDriver

        pg = PostgresDriver(url)
        await pg.open()
        return SQLStore(pg)
    from .sqlite import SQLiteDriver

    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url.removeprefix("sqlite://")
    driver = SQLiteDriver(path)
    await driver.open()
    return SQLStore(driver)


__all__ = ["Driver", "SQLStore", "StorageError", "check_url", "open_store"]

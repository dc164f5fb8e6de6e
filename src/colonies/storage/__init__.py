"""Storage: one API (``SQLStore``) over a driver per database; SQL lives in ``sql/<backend>/*.sql``."""

from __future__ import annotations

from .base import Driver, StorageError
from .sqlstore import SQLStore


async def open_store(url: str) -> SQLStore:
    """Open a store from a URL: ``sqlite:///path/to.db`` (or a bare path) or ``postgresql://user@host/db``."""
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


__all__ = ["Driver", "SQLStore", "StorageError", "open_store"]

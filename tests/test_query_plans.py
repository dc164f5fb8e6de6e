"""The process listings and the lookups of an executor's running processes use their partial indexes.

Issue 17: the indexes that serve only these queries are partial (running, ended), so that a submit writes none of
them and a state change rewrites one or two instead of six. A partial index is only used when the query repeats its
condition; these tests read the real query plan of each statement, as the server's schema and SQL files define
them, on SQLite and on PostgreSQL (with sequential scans disabled, so that an empty table still shows whether the
index can be used at all).
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path

import pytest

from colonies.storage.queries import load_queries
from colonies.storage.sqlite import SQLiteDriver

from conftest import PG_URL, drop_database, fresh_database

pytestmark = pytest.mark.timeout(60)

#: statement → the index its plan must use.
EXPECTED = {
    "get_processes_by_start": "processes_started",
    "get_processes_by_end": "processes_ended",
    "get_claimed_by_nonce": "processes_running_on",
    "get_executor_running": "processes_running_on",
    "move_running_processes": "processes_running_on",
    "get_processes_by_priority": "processes_waiting",
}

#: indexes an earlier schema had, which a server must drop when it opens such a database.
OLD_INDEXES = {
    "processes_colony_state": "(colonyname, state, prioritytime)",
    "processes_colony_start": "(colonyname, state, starttime)",
    "processes_colony_end": "(colonyname, state, endtime)",
    "processes_assigned": "(assignedexecutorid, state)",
}

_PARAM = re.compile(r"(?<!:):([a-z_]+)")


def params(sql: str) -> dict[str, object]:
    """A value of the right kind for every named parameter (the plan does not depend on them)."""
    names = set(_PARAM.findall(sql))
    ints = {"state", "count", "offset", "lease", "now", "since"}
    return {n: (2 if n == "state" else 10 if n in ints else "x") for n in names}


def as_psycopg(sql: str) -> str:
    """``:name`` placeholders → psycopg's ``%(name)s`` (the test reads plans with psycopg, not the server's driver)."""
    return _PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))


def sqlite_schema(path: Path) -> None:
    async def main() -> None:
        driver = SQLiteDriver(str(path))
        await driver.open()
        await driver.close()

    asyncio.run(main())


def sqlite_plan(conn: sqlite3.Connection, sql: str) -> str:
    return " | ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params(sql)))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sqlite_statements_use_their_index(tmp_path: Path, name: str) -> None:
    sqlite_schema(tmp_path / "c.db")
    sql = load_queries("sqlite")[name]
    with sqlite3.connect(tmp_path / "c.db") as conn:
        plan = sqlite_plan(conn, sql)
    assert EXPECTED[name] in plan, plan
    assert "TEMP B-TREE" not in plan, plan  # the index gives the order too: no sort of every matching row


def test_sqlite_listing_of_running_processes_uses_the_partial_index_with_rows_in_other_states(tmp_path: Path) -> None:
    """With statistics showing many ended rows, the planner still takes the partial index."""
    sqlite_schema(tmp_path / "c.db")
    with sqlite3.connect(tmp_path / "c.db") as conn:
        rows = [(f"p{i}", "c", "t", 2 if i % 10 else 1, i, i, i, i, "{}") for i in range(2000)]
        conn.executemany(
            "INSERT INTO processes (processid, colonyname, executortype, state, prioritytime, submissiontime,"
            " starttime, endtime, spec) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        conn.execute("ANALYZE")
        for name in ("get_processes_by_start", "get_processes_by_end"):
            plan = sqlite_plan(conn, load_queries("sqlite")[name])
            assert EXPECTED[name] in plan, (name, plan)


def test_sqlite_database_of_an_earlier_schema_loses_the_old_indexes(tmp_path: Path) -> None:
    """A database made before the partial indexes has three full ones that every write would keep paying for."""
    sqlite_schema(tmp_path / "c.db")
    with sqlite3.connect(tmp_path / "c.db") as conn:
        for index, columns in OLD_INDEXES.items():
            conn.execute(f"CREATE INDEX {index} ON processes {columns}")
    sqlite_schema(tmp_path / "c.db")  # the server opens it again
    with sqlite3.connect(tmp_path / "c.db") as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert not names & set(OLD_INDEXES)
    assert {"processes_waiting", "processes_started", "processes_ended", "processes_running_on"} <= names


def test_sqlite_counts_by_state_read_the_indexes_alone(tmp_path: Path) -> None:
    """Statistics count every process of a colony (or the server) by state: an index-only scan per state."""
    sqlite_schema(tmp_path / "c.db")
    with sqlite3.connect(tmp_path / "c.db") as conn:
        plan = sqlite_plan(conn, load_queries("sqlite")["count_processes"])
    for index in ("processes_waiting", "processes_started", "processes_ended"):
        assert f"COVERING INDEX {index}" in plan, plan


@pytest.mark.parametrize("state", [0, 1, 2, 3, 4])
def test_sqlite_history_of_any_state_searches_an_index(tmp_path: Path, state: int) -> None:
    sqlite_schema(tmp_path / "c.db")
    sql = load_queries("sqlite")["get_process_hist"]
    with sqlite3.connect(tmp_path / "c.db") as conn:
        plan = sqlite_plan(conn, sql).replace("SCAN p", "")  # the outer query over the union is no table scan
        assert "SCAN processes" not in plan, plan
        assert "SEARCH processes USING INDEX processes_ended" in plan, plan


def test_history_and_counts_return_the_right_rows(tmp_path: Path) -> None:
    """The rewritten statements against rows in every state, on the real schema (SQLite)."""
    sqlite_schema(tmp_path / "c.db")
    queries = load_queries("sqlite")
    with sqlite3.connect(tmp_path / "c.db") as conn:
        conn.row_factory = sqlite3.Row
        rows = [(f"{c}{s}{i}", c, "t", s, 100 + i, 100 + i, "{}", "e" if s == 1 else "")
                for c in ("c", "d") for s in range(5) for i in range(s + 1)]  # fmt: skip
        conn.executemany(
            "INSERT INTO processes (processid, colonyname, executortype, state, prioritytime, submissiontime, spec,"
            " assignedexecutorid) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        counts = {r["state"]: r["n"] for r in conn.execute(queries["count_processes"], {"colonyname": "c"})}
        assert counts == {0: 1, 1: 2, 2: 3, 3: 4, 4: 5}
        every = {r["state"]: r["n"] for r in conn.execute(queries["count_processes"], {"colonyname": ""})}
        assert every == {0: 2, 1: 4, 2: 6, 3: 8, 4: 10}
        for state in range(5):
            hist = conn.execute(queries["get_process_hist"],
                                {"colonyname": "c", "state": state, "since": 101, "executorid": ""}).fetchall()  # fmt: skip
            assert [r["processid"] for r in hist] == [f"c{state}{i}" for i in range(1, state + 1)]
        mine = conn.execute(queries["get_process_hist"],
                            {"colonyname": "c", "state": 1, "since": 0, "executorid": "e"}).fetchall()  # fmt: skip
        assert len(mine) == 2


@pytest.mark.skipif(not PG_URL, reason="needs COLONIES_TEST_PG_URL (set by .ci/run)")
def test_postgres_statements_use_their_index(tmp_path: Path) -> None:
    import psycopg

    from colonies.storage.postgres import PostgresDriver

    url = fresh_database("postgres", str(tmp_path))
    try:

        async def main() -> None:
            driver = PostgresDriver(url)
            await driver.open()
            await driver.close()

        asyncio.run(main())
        schema = url.rsplit("search_path%3D", 1)[1]
        queries = load_queries("postgres")
        with psycopg.connect(PG_URL, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f"SET search_path = {schema}")
            # an earlier schema's indexes are dropped by the next server start
            for index, columns in OLD_INDEXES.items():
                conn.execute(f"CREATE INDEX {index} ON processes {columns}")
        asyncio.run(main())
        with psycopg.connect(PG_URL, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f"SET search_path = {schema}")
            names = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = %s", (schema,))}
            assert not names & set(OLD_INDEXES)
            conn.execute("SET enable_seqscan = off")
            conn.execute("SET enable_bitmapscan = off")
            for name, index in EXPECTED.items():
                sql = queries[name]
                plan = " | ".join(r[0] for r in conn.execute("EXPLAIN " + as_psycopg(sql), params(sql)))
                assert index in plan, (name, plan)
    finally:
        drop_database(url)

"""Load the named statements (``-- name: x`` blocks) of ``sql/common/*.sql`` and ``sql/<backend>/*.sql``.

One file per area (``processes.sql``, ``crons.sql``, ...), as in ``storage/`` and ``server/handlers/``; a backend's
files hold only the statements that differ from the common ones, under the same names.
"""

from __future__ import annotations

import re
from importlib import resources

#: Statements that write the executors, users or colonies tables without changing who is a member with which
#: name, type, state or location (a heartbeat, reported allocations, capabilities): they keep cached memberships.
MEMBERSHIP_NEUTRAL = frozenset({"mark_executor_alive", "set_executor_allocations", "set_executor_capabilities"})
_MEMBERSHIP_WRITE = re.compile(r"\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(executors|users|colonies)\b", re.I)


def parse_queries(text: str) -> dict[str, str]:
    queries: dict[str, str] = {}
    name = None
    lines: list[str] = []
    for line in text.splitlines():
        if line.startswith("-- name:"):
            if name:
                queries[name] = "\n".join(lines).strip()
            name = line.removeprefix("-- name:").strip()
            lines = []
        elif name and not line.startswith("--"):
            lines.append(line)
    if name:
        queries[name] = "\n".join(lines).strip()
    return queries


def load_sql(backend: str, filename: str) -> str:
    return resources.files("colonies.storage").joinpath("sql", backend, filename).read_text()


def load_directory(directory: str) -> dict[str, str]:
    """Every statement of one directory's area files; a name defined twice is a packaging error."""
    queries: dict[str, str] = {}
    folder = resources.files("colonies.storage").joinpath("sql", directory)
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".sql") or entry.name == "schema.sql":
            continue
        for name, sql in parse_queries(entry.read_text()).items():
            if name in queries:
                raise RuntimeError(f"query {name} is defined twice in sql/{directory}/")
            queries[name] = sql
    return queries


def load_queries(backend: str) -> dict[str, str]:
    """The statements shared by every backend, overridden and completed by the backend's own."""
    return {**load_directory("common"), **load_directory(backend)}


def membership_writes(queries: dict[str, str]) -> frozenset[str]:
    """Names of the statements after whose commit a cached membership may be wrong (found from their SQL, so a
    statement added later cannot be forgotten; only :data:`MEMBERSHIP_NEUTRAL` is listed by hand)."""
    return frozenset(name for name, sql in queries.items()
                     if _MEMBERSHIP_WRITE.search(sql) and name not in MEMBERSHIP_NEUTRAL)  # fmt: skip

"""Load ``-- name: x`` blocks from a .sql file into a dict (procrastinate's habit: SQL kept in one file)."""

from __future__ import annotations

from importlib import resources


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


def load_queries(backend: str) -> dict[str, str]:
    """The statements shared by every backend, overridden and completed by the backend's own."""
    return {**parse_queries(load_sql("common", "queries.sql")), **parse_queries(load_sql(backend, "queries.sql"))}

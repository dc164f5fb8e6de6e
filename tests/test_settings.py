"""Server settings from the environment (the Go server's variables keep working)."""

from __future__ import annotations

import pytest

from colonies.settings import Settings, default_db_url


def test_database_url_from_the_go_servers_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("COLONIES_DB_URL", "COLONIES_DB_TYPE", "COLONIES_DB_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLONIES_DB_HOST", "db.example")
    monkeypatch.setenv("COLONIES_DB_PORT", "6543")
    monkeypatch.setenv("COLONIES_DB_USER", "colonies")
    monkeypatch.setenv("COLONIES_DB_PASSWORD", "p@ss/word")
    assert default_db_url() == "postgresql://colonies:p%40ss%2Fword@db.example:6543/postgres"
    monkeypatch.setenv("COLONIES_DB_NAME", "prod")
    assert Settings.from_env().db_url.endswith("@db.example:6543/prod")


def test_explicit_url_wins_and_sqlite_is_the_default(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.setenv("COLONIES_DB_HOST", "db.example")
    monkeypatch.setenv("COLONIES_DB_URL", "sqlite:////tmp/x.db")
    assert default_db_url() == "sqlite:////tmp/x.db"
    monkeypatch.delenv("COLONIES_DB_URL")
    monkeypatch.delenv("COLONIES_DB_HOST")
    monkeypatch.setenv("COLONIES_DATA_DIR", str(tmp_path))
    assert default_db_url() == f"sqlite:///{tmp_path}/colonies.db"

"""``process pause|resume|status`` (the original CLI's names; also under ``colony``): stop and restart the hand-out
of the colony's processes. Pausing and resuming take the colony owner key; the status any member key, or the
colony owner key when no member key is set."""

from __future__ import annotations

import typer

from .context import get_config
from .output import emit, info, plain

Name = typer.Option(None, "--colonyname", "--name", help="Colony name (default COLONIES_COLONY_NAME).")


def pause(colonyname: str | None = Name) -> None:
    """Pause process assignments for the colony (colony owner key)."""
    cfg = get_config()
    name = cfg.colony(colonyname)
    cfg.client().pause_assignments(name, cfg.key("colony_prvkey"))
    emit(
        {"colonyname": name, "ispaused": True},
        lambda _: info(f"Colony {name} process assignments are paused"),
    )


def resume(colonyname: str | None = Name) -> None:
    """Resume process assignments for the colony (colony owner key)."""
    cfg = get_config()
    name = cfg.colony(colonyname)
    cfg.client().resume_assignments(name, cfg.key("colony_prvkey"))
    emit(
        {"colonyname": name, "ispaused": False},
        lambda _: info(f"Colony {name} process assignments are resumed"),
    )


def status(colonyname: str | None = Name) -> None:
    """Whether process assignments are paused for the colony (member key, else the colony owner key)."""
    cfg = get_config()
    name = cfg.colony(colonyname)
    key = cfg.key() if cfg.prvkey or not cfg.colony_prvkey else cfg.key("colony_prvkey")
    data = plain(cfg.client().get_pause_status(name, key))
    state = "PAUSED" if data.get("ispaused") else "ACTIVE"
    emit({"colonyname": name, "ispaused": bool(data.get("ispaused"))},
         lambda _: info(f"Colony {name} process assignments are {state}"))  # fmt: skip


def add_commands(app: typer.Typer) -> None:
    for command in (pause, resume, status):
        app.command(command.__name__)(command)

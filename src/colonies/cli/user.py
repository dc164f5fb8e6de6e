"""``user``: users are added and removed by the colony owner (COLONIES_COLONY_PRVKEY)."""

from __future__ import annotations

from typing import Any

import typer

from .context import get_config
from .output import emit, info, kv_table, plain, table

app = typer.Typer(no_args_is_help=True, help="Manage users of the colony.")


def _user_pairs(u: Any) -> list[tuple[str, Any]]:
    return [("Name", u.get("name")), ("UserId", u.get("userid")), ("Email", u.get("email")),
            ("Phone", u.get("phone")), ("Colony", u.get("colonyname"))]  # fmt: skip


@app.command("add")
def add(
    name: str = typer.Option(..., "--name", help="User name (unique in the colony)."),
    userid: str = typer.Option(..., "--userid", help="The user's id (from `colonies key id`)."),
    email: str = typer.Option("", "--email"),
    phone: str = typer.Option("", "--phone"),
) -> None:
    """Add a user (colony owner key)."""
    cfg = get_config()
    user = {"colonyname": cfg.colony(), "userid": userid, "name": name, "email": email, "phone": phone}
    added = plain(cfg.client().add_user(user, cfg.key("colony_prvkey")))
    emit(added, lambda u: info(f"User {name} added to colony {user['colonyname']}"))


@app.command("ls")
def ls() -> None:
    """List the colony's users."""
    cfg = get_config()
    users = plain(cfg.client().get_users(cfg.colony(), cfg.key())) or []
    rows = [[u.get("name"), u.get("userid"), u.get("email"), u.get("phone")] for u in users]
    emit(users, lambda _: table(None, ["Name", "UserId", "Email", "Phone"], rows, empty="No users found"))


@app.command("get")
def get(name: str = typer.Option(..., "--name", help="User name.")) -> None:
    """Show one user."""
    cfg = get_config()
    user = plain(cfg.client().get_user(cfg.colony(), name, cfg.key()))
    emit(user, lambda u: kv_table("User", _user_pairs(u)))


@app.command("remove")
def remove(name: str = typer.Option(..., "--name", help="User name.")) -> None:
    """Remove a user (colony owner key)."""
    cfg = get_config()
    colonyname = cfg.colony()
    cfg.client().remove_user(colonyname, name, cfg.key("colony_prvkey"))
    emit({"colonyname": colonyname, "name": name, "removed": True}, lambda _: info(f"User {name} removed"))

"""``attribute``: key/value results an executor attaches to the process it runs."""

from __future__ import annotations

from typing import Any

import typer

from . import ids
from .context import get_config
from .output import ATTRIBUTE_TYPES, emit, kv_table, plain, state_name

app = typer.Typer(no_args_is_help=True, help="Process attributes.")


def _attribute_table(a: Any) -> None:
    kv_table("Attribute", [
        ("Id", a.get("attributeid")), ("TargetId", a.get("targetid")), ("Colony", a.get("targetcolonyname")),
        ("ProcessGraphId", a.get("targetprocessgraphid")),
        ("Type", state_name(a.get("attributetype"), ATTRIBUTE_TYPES)), ("Key", a.get("key")),
        ("Value", a.get("value")),
    ])  # fmt: skip


@app.command("add")
def add(
    processid: str = typer.Option(..., "--processid", "-p", help="Process id (or a unique prefix).",
                                   callback=ids.option("process")),
    key: str = typer.Option(..., "--key"),
    value: str = typer.Option(..., "--value"),
    prvkey: str | None = typer.Option(
        None, "--prvkey", help="Sign with this key instead of COLONIES_PRVKEY."
    ),
) -> None:
    """Add an output attribute to a running process (only its assigned executor may)."""
    cfg = get_config()
    attribute = plain(cfg.client().add_attribute(processid, key, value, cfg.key(override=prvkey)))
    emit(attribute, _attribute_table)


@app.command("get")
def get(attributeid: str = typer.Option(..., "--attributeid", help="Attribute id.")) -> None:
    """Show an attribute."""
    cfg = get_config()
    emit(plain(cfg.client().get_attribute(attributeid, cfg.key())), _attribute_table)

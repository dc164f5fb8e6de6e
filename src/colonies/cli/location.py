"""``location``: named places with coordinates, which executors and processes refer to by name."""

from __future__ import annotations

from typing import Any

import typer

from .context import get_config
from .output import emit, emit_id, info, kv_table, plain, table

app = typer.Typer(no_args_is_help=True, help="Manage the colony's locations.")

_NAME = typer.Option(..., "--name", help="Location name.")


def _locations_table(locations: Any) -> None:
    table(None, ["Name", "Description", "Longitude", "Latitude"],
          ([loc.get("name"), loc.get("description"), loc.get("long"), loc.get("lat")] for loc in locations),
          empty="No locations found")  # fmt: skip


@app.command("add")
def add(
    name: str = _NAME,
    desc: str = typer.Option("", "--desc", help="Description."),
    long: float = typer.Option(0.0, "--long", help="Longitude, -180 to 180."),
    lat: float = typer.Option(0.0, "--lat", help="Latitude, -90 to 90."),
) -> None:
    """Add a location (colony owner key)."""
    cfg = get_config()
    added = plain(cfg.client().add_location(cfg.colony(), name, cfg.key("colony_prvkey"), description=desc,
                                            long=long, lat=lat))  # fmt: skip
    emit_id(added, added.get("name"), f"Location {name} added")


@app.command("ls")
def ls() -> None:
    """List the colony's locations."""
    cfg = get_config()
    emit(plain(cfg.client().get_locations(cfg.colony(), cfg.key())) or [], _locations_table)


@app.command("get")
def get(name: str = _NAME) -> None:
    """Show a location."""
    cfg = get_config()
    found = plain(cfg.client().get_location(cfg.colony(), name, cfg.key()))
    emit(found, lambda d: kv_table("Location", [("Id", d.get("locationid")), ("Name", d.get("name")),
                                                ("Description", d.get("description")), ("Longitude", d.get("long")),
                                                ("Latitude", d.get("lat"))]))  # fmt: skip


@app.command("remove")
def remove(name: str = _NAME) -> None:
    """Remove a location (colony owner key)."""
    cfg = get_config()
    cfg.client().remove_location(cfg.colony(), name, cfg.key("colony_prvkey"))
    emit({"name": name, "removed": True}, lambda _: info(f"Location {name} removed"))

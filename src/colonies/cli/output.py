"""Rendering: Rich tables for people, raw JSON (``--json``) for scripts.

Data from the server goes into tables as ``rich.text.Text`` so that brackets in user data are never read as
Rich markup. Piped output gets a wide console, so 64-character ids are not folded.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..timefmt import parse_time
from .context import get_config

PROCESS_STATES = {0: "Waiting", 1: "Running", 2: "Successful", 3: "Failed", 4: "Cancelled"}
EXECUTOR_STATES = {0: "Pending", 1: "Approved", 2: "Rejected", 3: "Unregistered"}
ATTRIBUTE_TYPES = {0: "In", 1: "Out", 2: "Err", 3: "Env"}
_STATE_STYLE = {"Waiting": "yellow", "Running": "blue", "Successful": "green", "Failed": "red",
                "Cancelled": "magenta", "Pending": "yellow", "Approved": "green", "Rejected": "red",
                "Unregistered": "dim"}  # fmt: skip

_console: Console | None = None


def console() -> Console:
    global _console
    if _console is None:
        wide = None if sys.stdout.isatty() else 400
        _console = Console(width=wide, highlight=False, soft_wrap=False)
    return _console


def _box() -> box.Box:
    """Rounded like the original's tables; COLONIES_CLI_ASCII=true for terminals without box drawing."""
    ascii_only = os.environ.get("COLONIES_CLI_ASCII", "").lower() in ("1", "true", "yes")
    return box.ASCII if ascii_only else box.ROUNDED


# -- plain values --------------------------------------------------------------------------------------------
def plain(obj: Any) -> Any:
    """SDK replies → JSON-ready dicts and lists with wire keys (models via ``to_dict``: ``in``/``out``, not
    ``input``/``output``), so renderers and ``--json`` see exactly what the server sent."""
    to_dict = getattr(obj, "to_dict", None)
    if callable(to_dict):
        return plain(to_dict())
    if isinstance(obj, Mapping):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    return str(obj)


def jsonish(value: Any) -> str:
    """A cell's text: strings as they are, everything else compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(plain(value), separators=(",", ":"), ensure_ascii=False)


def fmt_time(value: Any) -> str:
    """RFC 3339 (or ns int) → local ``YYYY-MM-DD HH:MM:SS``; Go's zero time (any year-1 value) → empty."""
    if value in (None, "", 0):
        return ""
    try:
        ns = value if isinstance(value, int) else parse_time(str(value))
    except (ValueError, TypeError):
        return str(value)
    if not ns:
        return ""
    return datetime.fromtimestamp(ns / 1e9).strftime("%Y-%m-%d %H:%M:%S")


def state_name(value: Any, names: Mapping[int, str] = PROCESS_STATES) -> str:
    """A state number as a word; an unknown number stays a number rather than failing the whole table."""
    try:
        return names.get(int(value), str(value))
    except (TypeError, ValueError):
        return str(value)


def joined(values: Any, sep: str = ", ") -> str:
    """Args, kwargs, outputs and errors in one cell, as the original shows them."""
    if not values:
        return ""
    if isinstance(values, Mapping):
        return sep.join(f"{k}:{jsonish(v)}" for k, v in values.items())
    if isinstance(values, (list, tuple)):
        return sep.join(jsonish(v) for v in values)
    return jsonish(values)


def cell(value: Any) -> Text:
    """Literal text (never Rich markup), coloured when it is a state name."""
    text = value if isinstance(value, str) else jsonish(value)
    return Text(text, style=_STATE_STYLE.get(text, ""))


# -- printing ------------------------------------------------------------------------------------------------
def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(plain(data), indent=2, ensure_ascii=False) + "\n")


def emit(data: Any, render: Callable[[Any], None]) -> None:
    """Print ``data`` as JSON under ``--json``, else with the command's renderer."""
    if get_config().json:
        print_json(data)
    else:
        render(data)


def emit_id(data: Any, ident: str, message: str) -> None:
    """For commands that create something: JSON under ``--json``, else the bare id on stdout (for ``$(...)``)
    and a sentence on stderr."""
    if get_config().json:
        print_json(data)
    else:
        line(ident)
        info(message)


def table(
    title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]], empty: str | None = None
) -> None:
    """A table; with ``empty`` and no rows, that note goes to stderr instead of a header over nothing."""
    rows = list(rows)
    if not rows and empty:
        info(empty)
        return
    t = Table(title=title, box=_box(), title_justify="left", title_style="bold", min_width=len(title or ""))
    for col in columns:
        t.add_column(col, overflow="fold")
    for row in rows:
        t.add_row(*(cell(v) for v in row))
    console().print(t)


def kv_table(title: str | None, pairs: Iterable[tuple[str, Any]]) -> None:
    """A two-column property table, as the original prints single objects."""
    # min_width: a title wider than the table would otherwise wrap
    t = Table(title=title, box=_box(), show_header=False, title_justify="left", title_style="bold",
              min_width=len(title or ""))  # fmt: skip
    t.add_column(style="bold")
    t.add_column(overflow="fold")
    for key, value in pairs:
        t.add_row(Text(key), cell(value))
    console().print(t)


def info(message: str) -> None:
    """Status text goes to stderr so stdout stays clean for ids and data."""
    sys.stderr.write(message + "\n")


def line(text: str) -> None:
    sys.stdout.write(text + "\n")

"""Rendering: Rich tables for people, raw JSON (``--json``) for scripts.

Data from the server goes into tables as ``rich.text.Text`` so that brackets in user data are never read as
Rich markup. Piped output gets a wide console, so 64-character ids are not folded.
"""

from __future__ import annotations

import json
import os
import re
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


#: Ids as the server makes them: shown by their first SHORT_ID characters in a terminal, as git shows commits.
_ID = re.compile(r"[0-9a-f]{64}")
_SHORT = re.compile(r"[0-9a-f]+")
_ID_IN_TEXT = re.compile(r"\b[0-9a-f]{64}\b")
SHORT_ID = 12
#: The widest a cell of a terminal table gets before it is cut with "…"; no column is cut below FLOOR.
CELL_WIDTH = 40
FLOOR = 8
#: Columns of long values (arguments, outputs, errors) give way first: they are cut down to their header.
LONG = 20
_TIME = re.compile(r"(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)")


def compact() -> bool:
    """Whether tables are for a person's terminal: short ids and cut cells. Piped output and ``--wide`` get
    whole values, so scripts that read tables (and ``grep``) see the full ids."""
    return sys.stdout.isatty() and not get_config().wide


def short_value(value: Any) -> str:
    """A cell as a terminal table shows it: a short id, today's times without the date."""
    text = value if isinstance(value, str) else jsonish(value)
    if _ID.fullmatch(text):
        return text[:SHORT_ID]
    if len(text) > SHORT_ID and _ID_IN_TEXT.search(text):  # lists of ids ("Roots", "Dependencies")
        return _ID_IN_TEXT.sub(lambda m: m[0][:SHORT_ID], text)
    match = _TIME.fullmatch(text)
    if match:
        day, clock = match.groups()
        return clock if day == datetime.now().strftime("%Y-%m-%d") else f"{day[5:]} {clock[:5]}"
    return text


def _fit(headers: Sequence[str], rows: list[list[str]], width: int) -> tuple[list[str], list[list[str]], list[int]]:
    """Columns that fit ``width``: all-empty ones dropped, the widest cut one character at a time, none below
    FLOOR or its header's longest word (headers wrap between words, never inside one)."""
    keep = [i for i in range(len(headers)) if any(row[i] for row in rows)] or list(range(len(headers)))
    headers = [headers[i] for i in keep]
    rows = [[row[i] for i in keep] for row in rows]
    natural = [min(CELL_WIDTH, max([len(h), *(len(row[i]) for row in rows)])) for i, h in enumerate(headers)]
    ids = [all(len(row[i]) == SHORT_ID and _SHORT.fullmatch(row[i]) for row in rows if row[i])
           for i in range(len(headers))]  # fmt: skip
    floor = [max(max(map(len, h.split())), min(n, SHORT_ID if is_id else 1 if n > LONG else FLOOR))
             for h, n, is_id in zip(headers, natural, ids)]  # fmt: skip
    widths = list(natural)
    room = width - (3 * len(headers) + 1)  # borders and padding
    while sum(widths) > room:
        slack = [w - f for w, f in zip(widths, floor)]
        widest = max(range(len(widths)), key=lambda i: slack[i])
        if slack[widest] <= 0:
            break  # as narrow as it gets: the terminal folds the rest
        widths[widest] -= 1
    return headers, rows, widths


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def table(
    title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]], empty: str | None = None
) -> None:
    """A table; with ``empty`` and no rows, that note goes to stderr instead of a header over nothing.

    In a terminal every row is one line: ids are shortened (every command that takes an id takes a unique
    prefix), long cells are cut with "…", empty columns left out, headers never break inside a word; ``--wide``
    or a pipe shows everything."""
    rows = list(rows)
    if not rows and empty:
        info(empty)
        return
    t = Table(title=title, box=_box(), title_justify="left", title_style="bold", min_width=len(title or ""))
    if not compact():
        for col in columns:
            t.add_column(col, overflow="fold")
        for row in rows:
            t.add_row(*(cell(v) for v in row))
        console().print(t)
        return
    texts = [[short_value(v) for v in row] for row in rows]
    headers, texts, widths = _fit(list(columns), texts, console().width)
    for header, width in zip(headers, widths):
        t.add_column(header, width=width, no_wrap=False, overflow="fold")
    for row in texts:
        t.add_row(*(cell(_cut(text, width)) for text, width in zip(row, widths)))
    console().print(t)


def kv_table(title: str | None, pairs: Iterable[tuple[str, Any]]) -> None:
    """A two-column property table, as the original prints single objects."""
    # min_width: a title wider than the table would otherwise wrap
    t = Table(title=title, box=_box(), show_header=False, title_justify="left", title_style="bold",
              min_width=len(title or ""))  # fmt: skip
    t.add_column(style="bold")
    t.add_column(overflow="fold")
    small = compact()
    for key, value in pairs:
        t.add_row(Text(key), cell(short_value(value) if small else value))
    console().print(t)


def info(message: str) -> None:
    """Status text goes to stderr so stdout stays clean for ids and data; in a terminal its ids are short (a
    prefix names them), as in tables."""
    if sys.stderr.isatty() and not get_config().wide:
        message = _ID_IN_TEXT.sub(lambda m: m[0][:SHORT_ID], message)
    sys.stderr.write(message + "\n")


def line(text: str) -> None:
    sys.stdout.write(text + "\n")

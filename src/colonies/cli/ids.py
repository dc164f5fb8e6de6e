"""Ids as a person types them: a unique prefix of a process, workflow, cron or generator id, as git takes a
commit's. Tables in a terminal show 12 characters; any prefix of 4 or more that only one id starts with works.

The server only knows whole ids (the wire protocol has no prefix search), so the CLI looks the prefix up among what
the colony lists: the newest 100 of each process state, workflow state, cron and generator. A prefix that matches
nothing there, or several, is an error saying so; a whole id is used as given, without a lookup.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from ..exceptions import ColoniesError
from ..generations import is_state_refusal
from ..types import MAX_COUNT
from .context import CLIError, Config, get_config
from .output import plain

_FULL = re.compile(r"[0-9a-f]{64}")
_PREFIX = re.compile(r"[0-9a-f]{4,63}")
STATES = (0, 1, 2, 3, 4)


def _candidates(kind: str, cfg: Config) -> Iterable[str]:
    client, colonyname, key = cfg.client(), cfg.colony(), cfg.key()
    if kind == "process":
        for state in STATES:
            listed = _listed(lambda s=state: client.list_processes(colonyname, MAX_COUNT, s, key))
            yield from (str(p.get("processid", "")) for p in listed)
    elif kind == "workflow":
        for state in STATES:
            listed = _listed(lambda s=state: client.get_processgraphs(colonyname, MAX_COUNT, key, state=s))
            yield from (str(g.get("processgraphid", "")) for g in listed)
    elif kind == "cron":
        for c in plain(client.get_crons(colonyname, MAX_COUNT, key)) or []:
            yield str(c.get("cronid", ""))
    elif kind == "generator":
        for g in plain(client.get_generators(colonyname, key, MAX_COUNT)) or []:
            yield str(g.get("generatorid", ""))
    else:  # pragma: no cover - a programming error
        raise ValueError(kind)


def _listed(call: Callable[[], Any]) -> list[dict[str, Any]]:
    """A list call's items; none for a state the server does not list (the original servers: no cancelled)."""
    try:
        return plain(call()) or []
    except ColoniesError as exc:
        if is_state_refusal(exc.status, exc.message):
            return []
        raise


def resolve(kind: str, text: str, cfg: Config | None = None) -> str:
    """The whole id that ``text`` names: itself when whole (or not hex: the server then says what is wrong), else
    the one listed id that starts with it."""
    given = text.strip().rstrip("…").lower()
    if _FULL.fullmatch(given) or not _PREFIX.fullmatch(given):
        return text.strip()
    matches = sorted({ident for ident in _candidates(kind, cfg or get_config()) if ident.startswith(given)})
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise CLIError(f"no {kind} id starts with {given} (among the colony's newest); give the whole id")
    shown = ", ".join(m[:16] for m in matches[:5])
    raise CLIError(f"{given} is the start of {len(matches)} {kind} ids ({shown}…): give more characters")


def option(kind: str) -> Callable[[Any], Any]:
    """A Typer option callback that turns a prefix into the whole id (the root callback has set the config)."""

    def callback(value: Any) -> Any:
        return resolve(kind, value) if isinstance(value, str) and value else value

    return callback


__all__ = ["option", "resolve"]

"""Reading spec files and comma lists the way the original CLI does, with errors a user can act on."""

from __future__ import annotations

import json
from typing import Any

from .context import CLIError


def load_json_file(path: str) -> Any:
    """Parse a JSON file; a missing file or bad JSON is a CLIError naming the file (and line/column)."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise CLIError(f"cannot read spec file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise CLIError(f"cannot read spec file {path}: not UTF-8 text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CLIError(f"invalid JSON in {path}, line {exc.lineno} column {exc.colno}: {exc.msg}") from None


def split_list(text: str | None) -> list[str]:
    """``a,b,c`` → ``["a", "b", "c"]``; empty → ``[]`` (values stay strings, as in the original)."""
    if not text:
        return []
    return [part.strip() for part in text.split(",")]


def split_pairs(text: str | None, sep: str, option: str) -> dict[str, str]:
    """``k:v,k2:v2`` (or ``K=V``) → dict; a part without the separator is a CLIError naming the option."""
    pairs: dict[str, str] = {}
    for part in split_list(text):
        if not part:
            continue
        key, found, value = part.partition(sep)
        if not found or not key.strip():
            raise CLIError(f"{option}: expected key{sep}value, got {part!r}")
        pairs[key.strip()] = value.strip()
    return pairs


def normalise_funcspec(spec: Any, colonyname: str, where: str) -> dict[str, Any]:
    """Fill in the colony from the environment; 0 timeouts become -1 (no limit), as in Go's CLI."""
    if not isinstance(spec, dict):
        raise CLIError(f"{where}: a function spec must be a JSON object, not {type(spec).__name__}")
    spec = dict(spec)
    conditions = spec.get("conditions")
    if conditions is None:
        conditions = {}
    if not isinstance(conditions, dict):
        raise CLIError(f"{where}: conditions must be a JSON object")
    conditions = dict(conditions)
    if not conditions.get("colonyname"):
        if not colonyname:
            raise CLIError("COLONIES_COLONY_NAME is not set and the spec has no conditions.colonyname")
        conditions["colonyname"] = colonyname
    spec["conditions"] = conditions
    for key in ("maxwaittime", "maxexectime"):
        if spec.get(key) in (None, 0):
            spec[key] = -1
    return spec

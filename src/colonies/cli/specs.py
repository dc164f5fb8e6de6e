"""Reading spec files and comma lists the way the original CLI does, with errors a user can act on."""

from __future__ import annotations

import difflib
import json
from typing import Any

import typer

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


#: Keys the server reads in a function spec and its conditions (anything else is silently dropped by it).
SPEC_KEYS = ("nodename", "funcname", "args", "kwargs", "priority", "maxwaittime", "maxexectime", "maxretries",
             "conditions", "label", "fs", "env", "channels")  # fmt: skip
CONDITION_KEYS = ("colonyname", "executornames", "executortype", "locationname", "dependencies", "nodes", "cpu",
                  "processes", "processespernode", "processes-per-node", "mem", "storage", "gpu", "walltime")


def warn_unknown_keys(data: dict[str, Any], known: tuple[str, ...], where: str) -> None:
    """A typo such as ``"func"`` for ``"funcname"`` would be dropped by the server: say so, with a guess."""
    for key in data:
        if key not in known:
            guess = difflib.get_close_matches(key, known, n=1, cutoff=0.5)
            hint = f" (did you mean {guess[0]!r}?)" if guess else ""
            typer.echo(f"warning: {where}: unknown key {key!r} is ignored{hint}", err=True)


def normalise_funcspec(spec: Any, colonyname: str, where: str) -> dict[str, Any]:
    """Fill in the colony from the environment; 0 timeouts become -1 (no limit), as in Go's CLI. Unknown keys are
    warned about; a spec without a function name is refused here, with the hint, before it is sent."""
    if not isinstance(spec, dict):
        raise CLIError(f"{where}: a function spec must be a JSON object, not {type(spec).__name__}")
    spec = dict(spec)
    warn_unknown_keys(spec, SPEC_KEYS, where)
    if not isinstance(spec.get("funcname"), str) or not spec["funcname"].strip():
        raise CLIError(f"{where}: the spec has no funcname (the function an executor runs)")
    conditions = spec.get("conditions")
    if conditions is None:
        conditions = {}
    if not isinstance(conditions, dict):
        raise CLIError(f"{where}: conditions must be a JSON object")
    warn_unknown_keys(conditions, CONDITION_KEYS, f"{where} conditions")
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

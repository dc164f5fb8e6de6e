"""``blueprint``: desired state (spec) that a reconciler executor makes real and reports on (status).

``blueprint definition add|ls|get|remove`` manage the kinds (colony owner key for add and remove);
``blueprint add|ls|get|update|set|remove|history|status|reconcile`` the blueprints (``COLONIES_PRVKEY``).
"""

from __future__ import annotations

import json
from typing import Any

import typer

from .context import CLIError, get_config
from .output import emit, emit_id, fmt_time, info, jsonish, kv_table, plain, table
from .specs import load_json_file

app = typer.Typer(no_args_is_help=True, help="Manage blueprints: desired state that reconcilers make real.")
definition_app = typer.Typer(no_args_is_help=True, help="Manage the blueprint kinds (definitions) of the colony.")
app.add_typer(definition_app, name="definition")

_NAME = typer.Option(..., "--name", help="Blueprint name.")
_SPEC = typer.Option(..., "--spec", help="JSON file.")
#: Where ``set --key`` may write: status is the reconciler's (``status --set``), the rest is fixed.
_SETTABLE = ("spec.", "metadata.labels.", "metadata.annotations.", "handler.")


def _with_colony(obj: Any, what: str) -> dict[str, Any]:
    """A spec file's object with ``metadata.colonyname`` filled from COLONIES_COLONY_NAME when it has none."""
    if not isinstance(obj, dict):
        raise CLIError(f"the {what} must be a JSON object")
    meta = obj.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise CLIError(f"the {what}'s metadata must be a JSON object")
    if not meta.get("colonyname") and not meta.get("namespace"):
        meta["colonyname"] = get_config().colony()
    return obj


# -- definitions ------------------------------------------------------------------------------------------------


def _definitions_table(defs: Any) -> None:
    table(None, ["Name", "Kind", "Group/Version", "Reconciler (executor type)", "Interval"],
          ([d["metadata"].get("name"), d["spec"]["names"].get("kind"),
            f"{d['spec'].get('group')}/{d['spec'].get('version')}".strip("/"),
            d["spec"]["handler"].get("executorType") or "-", d["spec"]["handler"].get("reconcileInterval") or 60]
           for d in defs), empty="No blueprint definitions found")  # fmt: skip


def _definition_tables(d: Any) -> None:
    spec = d["spec"]
    kv_table("Blueprint definition", [
        ("Id", d.get("blueprintdefinitionid")), ("Name", d["metadata"].get("name")), ("Kind", spec["names"]["kind"]),
        ("Group", spec.get("group")), ("Version", spec.get("version")), ("Scope", spec.get("scope")),
        ("Reconciler", spec["handler"].get("executorType") or "-"),
        ("Interval", f"{spec['handler'].get('reconcileInterval') or 60} s"),
        ("Added", fmt_time(d["metadata"].get("createdAt"))),
    ])  # fmt: skip
    properties = (spec.get("schema") or {}).get("properties") or {}
    required = set((spec.get("schema") or {}).get("required") or [])
    table("Schema", ["Field", "Type", "Required", "Description"],
          ([name, p.get("type", ""), "yes" if name in required else "", p.get("description", "")]
           for name, p in properties.items()), empty="No schema: any spec is accepted")  # fmt: skip


@definition_app.command("add")
def definition_add(spec: str = _SPEC) -> None:
    """Add a blueprint definition (colony owner key)."""
    cfg = get_config()
    d = _with_colony(load_json_file(spec), "definition")
    added = plain(cfg.client().add_blueprint_definition(d, cfg.key("colony_prvkey")))
    emit_id(added, added["metadata"]["name"],
            f"Blueprint definition {added['metadata']['name']} (kind {added['spec']['names']['kind']}) added")


@definition_app.command("ls")
def definition_ls() -> None:
    """List the colony's blueprint definitions."""
    cfg = get_config()
    emit(plain(cfg.client().get_blueprint_definitions(cfg.colony(), cfg.key())) or [], _definitions_table)


@definition_app.command("get")
def definition_get(name: str = typer.Option(..., "--name", help="Definition name.")) -> None:
    """Show a blueprint definition and its schema."""
    cfg = get_config()
    emit(plain(cfg.client().get_blueprint_definition(cfg.colony(), name, cfg.key())), _definition_tables)


@definition_app.command("remove")
def definition_remove(name: str = typer.Option(..., "--name", help="Definition name.")) -> None:
    """Remove a blueprint definition (colony owner key); refused while blueprints of its kind exist."""
    cfg = get_config()
    cfg.client().remove_blueprint_definition(cfg.colony(), name, cfg.key("colony_prvkey"))
    emit({"name": name, "removed": True}, lambda _: info(f"Blueprint definition {name} removed"))


# -- blueprints -------------------------------------------------------------------------------------------------


def _ready(bp: Any) -> str:
    """What the status says about readiness, in the shape reconcilers commonly report it."""
    status = bp.get("status") or {}
    for ready, want in (("readyReplicas", "replicas"), ("runningInstances", "totalInstances")):
        if ready in status:
            return f"{status[ready]}/{status.get(want, bp.get('spec', {}).get('replicas', '?'))}"
    return "-" if not status else "reported"


def _blueprints_table(bps: Any) -> None:
    table(None, ["Name", "Kind", "Location", "Generation", "Ready", "Last reconciled"],
          ([b["metadata"].get("name"), b.get("kind"), b["metadata"].get("locationname", ""),
            b["metadata"].get("generation"), _ready(b), fmt_time(b["metadata"].get("lastReconciliationTime"))]
           for b in bps), empty="No blueprints found")  # fmt: skip


def _blueprint_tables(bp: Any) -> None:
    meta = bp["metadata"]
    kv_table("Blueprint", [
        ("Id", bp.get("blueprintid")), ("Name", meta.get("name")), ("Kind", bp.get("kind")),
        ("Location", meta.get("locationname", "")), ("Generation", meta.get("generation")),
        ("Reconciler", (bp.get("handler") or {}).get("executorType", "(the definition's)")),
        ("Labels", meta.get("labels", {})), ("Created", fmt_time(meta.get("createdAt"))),
        ("Updated", fmt_time(meta.get("updatedAt"))),
        ("Last reconcile process", meta.get("lastReconciliationProcess", "")),
        ("Last reconciled", fmt_time(meta.get("lastReconciliationTime"))),
    ])  # fmt: skip
    table("Spec (desired)", ["Key", "Value"], ([k, jsonish(v)] for k, v in bp.get("spec", {}).items()),
          empty="Empty spec")  # fmt: skip
    _status_table(bp)


def _status_table(bp: Any) -> None:
    """Scalars as key/value rows; a list of objects (a reconciler's instances) as a table of its own."""
    status = bp.get("status") or {}
    lists = {k: v for k, v in status.items() if isinstance(v, list) and v and all(isinstance(i, dict) for i in v)}
    table("Status (reported)", ["Key", "Value"], ([k, jsonish(v)] for k, v in status.items() if k not in lists),
          empty="No status reported yet")  # fmt: skip
    for key, items in lists.items():
        columns = list(dict.fromkeys(col for item in items for col in item))
        table(key, columns, ([jsonish(item.get(col)) for col in columns] for item in items))


@app.command("add")
def add(spec: str = _SPEC) -> None:
    """Add a blueprint (its kind needs a definition); the reconciler is asked to reconcile it at once."""
    cfg = get_config()
    added = plain(cfg.client().add_blueprint(_with_colony(load_json_file(spec), "blueprint"), cfg.key()))
    emit_id(added, added["blueprintid"], f"Blueprint {added['metadata']['name']} added")


@app.command("ls")
def ls(
    kind: str | None = typer.Option(None, "--kind", help="Only this kind."),
    location: str | None = typer.Option(None, "--location", help="Only blueprints at this location."),
) -> None:
    """List the colony's blueprints."""
    cfg = get_config()
    emit(plain(cfg.client().get_blueprints(cfg.colony(), cfg.key(), kind=kind, location=location)) or [],
         _blueprints_table)  # fmt: skip


@app.command("get")
def get(name: str = _NAME) -> None:
    """Show a blueprint: its spec (desired) and status (reported by the reconciler)."""
    cfg = get_config()
    emit(plain(cfg.client().get_blueprint(cfg.colony(), name, cfg.key())), _blueprint_tables)


def _updated(bp: dict[str, Any], force: bool) -> None:
    cfg = get_config()
    updated = plain(cfg.client().update_blueprint(bp, cfg.key(), force_generation=force))
    emit(updated, lambda u: info(f"Blueprint {u['metadata']['name']} is at generation {u['metadata']['generation']}"))


@app.command("update")
def update(
    spec: str = _SPEC,
    force_generation: bool = typer.Option(False, "--force-generation", help="A new generation even if the "
                                          "spec is unchanged (the reconciler redoes it)."),
) -> None:  # fmt: skip
    """Replace a blueprint's spec, labels and handler; a changed spec is a new generation, reconciled at once."""
    _updated(_with_colony(load_json_file(spec), "blueprint"), force_generation)


@app.command("set")
def set_value(
    name: str = _NAME,
    key: str = typer.Option(..., "--key", help="Dotted path, e.g. spec.replicas or metadata.labels.team."),
    value: str = typer.Option(..., "--value", help="JSON (5, true, [1,2], {...}) or else a string."),
) -> None:
    """Change one value of a blueprint, e.g. --key spec.replicas --value 5."""
    if not key.startswith(_SETTABLE) or key.endswith("."):
        raise CLIError(f"--key must start with {', '.join(_SETTABLE)} (status is the reconciler's: blueprint "
                       "status --set)")  # fmt: skip
    try:
        parsed: Any = json.loads(value)
    except ValueError:
        parsed = value
    cfg = get_config()
    bp = plain(cfg.client().get_blueprint(cfg.colony(), name, cfg.key()))
    *path, last = key.split(".")
    node = bp
    for part in path:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise CLIError(f"{key}: {part} is not an object")
        node = child
    node[last] = parsed
    _updated(bp, False)


@app.command("remove")
def remove(name: str = _NAME) -> None:
    """Remove a blueprint; the reconciler gets a cleanup process."""
    cfg = get_config()
    cfg.client().remove_blueprint(cfg.colony(), name, cfg.key())
    emit({"name": name, "removed": True}, lambda _: info(f"Blueprint {name} removed"))


@app.command("history")
def history(
    name: str = _NAME, limit: int = typer.Option(10, "--limit", help="How many changes, newest first.")
) -> None:
    """Show the spec of each generation of a blueprint, who changed it and when."""
    cfg = get_config()
    client, key = cfg.client(), cfg.key()
    bp = plain(client.get_blueprint(cfg.colony(), name, key))
    entries = plain(client.get_blueprint_history(bp["blueprintid"], key, limit=limit)) or []
    emit(entries, lambda hs: table(None, ["Generation", "Change", "When", "By", "Spec"], (
        [h.get("generation"), h.get("changetype"), fmt_time(h.get("timestamp")), h.get("changedby", "")[:12],
         jsonish(h.get("spec"))] for h in hs), empty="No history"))  # fmt: skip


@app.command("status")
def status(
    name: str = _NAME,
    set_: str | None = typer.Option(None, "--set", help="Report this status instead (a JSON object; what a "
                                    "reconciler does); @FILE reads it from a file."),
) -> None:  # fmt: skip
    """Show what the reconciler reported for a blueprint (or report a status with --set)."""
    cfg = get_config()
    client, key = cfg.client(), cfg.key()
    if set_ is not None:
        try:
            new = load_json_file(set_[1:]) if set_.startswith("@") else json.loads(set_)
        except ValueError as exc:
            raise CLIError(f"--set: not JSON: {exc}") from None
        if not isinstance(new, dict):
            raise CLIError("--set: the status must be a JSON object")
        client.update_blueprint_status(cfg.colony(), name, new, key)
    bp = plain(client.get_blueprint(cfg.colony(), name, key))
    shown = {"name": name, "generation": bp["metadata"].get("generation"), "status": bp.get("status") or {},
             "lastReconciliationProcess": bp["metadata"].get("lastReconciliationProcess", ""),
             "lastReconciliationTime": bp["metadata"].get("lastReconciliationTime")}  # fmt: skip
    emit(shown, lambda _: (info(f"Blueprint {name}, generation {shown['generation']}, ready {_ready(bp)}"),
                           _status_table(bp)))  # fmt: skip


@app.command("reconcile")
def reconcile(
    name: str = _NAME,
    force: bool = typer.Option(False, "--force", help="Bump the generation first: the reconciler redoes it."),
) -> None:
    """Ask the blueprint's reconciler to reconcile it now; prints the reconcile process id."""
    cfg = get_config()
    process = plain(cfg.client().reconcile_blueprint(cfg.colony(), name, cfg.key(), force=force))
    emit_id(process, process["processid"], f"Reconciliation of {name} submitted"
            + (" (forced: new generation)" if force else ""))  # fmt: skip

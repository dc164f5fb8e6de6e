"""Blueprint messages (protocol §3.14): the colony owner adds and removes definitions; approved members (and the
owner) add, read, update and remove blueprints; approved members report status and ask for reconciliation.

A blueprint is reconciled by the executor type of its ``handler.executorType``, else of its definition's
``spec.handler.executorType``, at its ``metadata.locationname``: adding one makes the kind's reconcile cron
(``reconcile-<kind>[-<location>]``, a ``reconcile`` process with ``kwargs {kind}`` every ``reconcileInterval`` s,
waiting for the previous run) and a ``reconcile`` process with ``kwargs {kind, blueprintName}``; a spec change or
``reconcileblueprintmsg`` adds another; removing one adds a ``cleanup`` process and, with the kind's last
blueprint at that location, removes the cron. Everything is ordinary processes and crons.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from ... import messages as m
from ... import schedule
from ...blueprints import (
    DEFAULT_RECONCILE_INTERVAL, Blueprint, Schema, canonical_json, check_schema, cron_name, cron_workflow,
    definition_json, handler_json, reconcile_spec, validate_spec,
)  # fmt: skip
from ...crypto import random_id
from ...exceptions import BadRequest, NotFound
from ...timefmt import format_ns
from ..auth import require_colony_owner, require_member, require_member_or_owner
from ..context import Context
from ..crons import next_run
from ..lifecycle import new_process, to_json
from ..views import blueprint_definition_view, blueprint_history_view, blueprint_view, process_view
from .common import check_count, check_id, check_name

Row = dict[str, Any]
MAX_INTERVAL = 2**31


@dataclass
class _Definition:
    """What a stored definition decides for its blueprints."""

    executortype: str
    interval: int
    schema: Schema | None


def _parse_definition(row: Row) -> _Definition:
    spec = orjson.loads(row["data"])["spec"]
    handler = spec.get("handler") or {}
    schema = Schema.model_validate(spec["schema"]) if "schema" in spec else None
    return _Definition(handler.get("executorType", ""),
                       handler.get("reconcileInterval") or DEFAULT_RECONCILE_INTERVAL, schema)  # fmt: skip


async def _definition_of(ctx: Context, colonyname: str, kind: str) -> _Definition:
    row = await ctx.storage.get_blueprint_definition_by_kind(colonyname, kind)
    if row is None:
        raise BadRequest(f"BlueprintDefinition for kind '{kind}' not found in colony '{colonyname}'")
    return _parse_definition(row)


def _executortype(handler: Any, definition: _Definition) -> str:
    """The blueprint's own handler wins over its definition's (``handler`` is the stored JSON text or a model)."""
    if isinstance(handler, str):
        handler = orjson.loads(handler) if handler else {}
    elif handler is not None:
        handler = handler.model_dump()
    return str((handler or {}).get("executorType") or definition.executortype)


def _initiator(member: Row) -> str:
    """An executor's or user's name; the colony owner (who is neither) initiates as "", as in the Go server."""
    return str(member.get("name", ""))


def _check_blueprint(bp: Blueprint | None, what: str) -> Blueprint:
    if bp is None:
        raise BadRequest(f"Failed to {what} blueprint, blueprint is nil")
    return bp


def _check_fields(bp: Blueprint) -> None:
    if not bp.kind:
        raise BadRequest("blueprint kind is required")
    check_name(bp.metadata.name, "blueprint name (metadata.name)")
    if bp.metadata.locationname:
        check_name(bp.metadata.locationname, "location name (metadata.locationname)")


# -- definitions ------------------------------------------------------------------------------------------------


async def add_blueprint_definition(ctx: Context, msg: m.AddBlueprintDefinitionMsg) -> Any:
    """addblueprintdefinitionmsg — the owner of ``metadata.colonyname``; one definition per kind in a colony."""
    d = msg.blueprintdefinition
    if d is None:
        raise BadRequest("Failed to add blueprint definition, blueprint definition is nil")
    colonyname = d.metadata.colony
    await require_colony_owner(ctx, colonyname)
    check_name(d.metadata.name, "blueprint definition name (metadata.name)")
    check_name(d.spec.names.kind, "blueprint kind (spec.names.kind)")
    if d.blueprintdefinitionid:
        check_id(d.blueprintdefinitionid, "blueprint definition id")
    if not 0 <= d.spec.handler.reconcileInterval <= MAX_INTERVAL:
        raise BadRequest(f"Invalid spec.handler.reconcileInterval {d.spec.handler.reconcileInterval}: seconds "
                         f"between 0 (the default, {DEFAULT_RECONCILE_INTERVAL}) and {MAX_INTERVAL}")  # fmt: skip
    check_schema(d.spec.schema_)
    definitionid = d.blueprintdefinitionid or random_id()
    data = definition_json(d, definitionid, colonyname, format_ns(ctx.now()))
    row = {"blueprintdefinitionid": definitionid, "colonyname": colonyname, "name": d.metadata.name,
           "kind": d.spec.names.kind, "data": to_json(data, "blueprint definition")}  # fmt: skip
    return blueprint_definition_view(await ctx.storage.add_blueprint_definition(row))


async def get_blueprint_definition(ctx: Context, msg: m.BlueprintDefinitionNameMsg) -> Any:
    """getblueprintdefinitionmsg — approved member or the colony owner; by name."""
    await require_member_or_owner(ctx, msg.colonyname)
    row = await ctx.storage.get_blueprint_definition(msg.colonyname, msg.name)
    if row is None:
        raise NotFound(f"Blueprint definition {msg.name} does not exist in colony {msg.colonyname}")
    return blueprint_definition_view(row)


async def get_blueprint_definitions(ctx: Context, msg: m.ColonyNameMsg) -> Any:
    """getblueprintdefinitionsmsg — approved member or the colony owner; by name, never null."""
    await require_member_or_owner(ctx, msg.colonyname)
    return [blueprint_definition_view(row) for row in await ctx.storage.get_blueprint_definitions(msg.colonyname)]


async def remove_blueprint_definition(ctx: Context, msg: m.NamespaceNameMsg) -> Any:
    """removeblueprintdefinitionmsg — colony owner; refused (409) while blueprints of its kind exist."""
    await require_colony_owner(ctx, msg.namespace)
    await ctx.storage.remove_blueprint_definition(msg.namespace, msg.name)
    return {}


# -- blueprints -------------------------------------------------------------------------------------------------


async def add_blueprint(ctx: Context, msg: m.AddBlueprintMsg) -> Any:
    """addblueprintmsg — approved member or the colony owner. The kind needs a definition; the spec must fit its
    schema. Makes the location and the kind's reconcile cron when missing, and a reconcile process."""
    bp = _check_blueprint(msg.blueprint, "add")
    colonyname = bp.metadata.colony
    member = await require_member_or_owner(ctx, colonyname)
    _check_fields(bp)
    if bp.blueprintid:
        check_id(bp.blueprintid, "blueprint id")
    definition = await _definition_of(ctx, colonyname, bp.kind)
    validate_spec(bp.spec, definition.schema)
    meta, now, initiator = bp.metadata, ctx.now(), _initiator(member)
    handler = handler_json(bp.handler)
    row: Row = {
        "blueprintid": bp.blueprintid or random_id(), "colonyname": colonyname, "name": meta.name, "kind": bp.kind,
        "locationname": meta.locationname, "labels": to_json(meta.labels, "metadata.labels"),
        "annotations": to_json(meta.annotations, "metadata.annotations"),
        "handler": to_json(handler, "handler") if handler else "", "spec": canonical_json(bp.spec, "spec"),
        "now": now, "lastreconciliationprocess": "", "lastreconciliationtime": 0,
    }  # fmt: skip
    location = None
    if meta.locationname:
        location = {"locationid": random_id(), "colonyname": colonyname, "name": meta.locationname,
                    "description": f"Auto-created from blueprint {meta.name}"}  # fmt: skip
    cron, process, attributes = None, None, []
    executortype = _executortype(bp.handler, definition)
    if executortype:
        cron = {"cronid": random_id(), "colonyname": colonyname, "name": cron_name(bp.kind, meta.locationname),
                "initiatorid": ctx.caller, "initiatorname": initiator, "intervalsec": definition.interval,
                "anchor": now, "workflowspec": cron_workflow(colonyname, bp.kind, executortype, meta.locationname)}
        cron["nextrun"] = next_run({**cron, "randomised": 0}, now, schedule.time_zone(ctx.settings.cron_tz))
        spec = reconcile_spec(colonyname, executortype, meta.locationname, "reconcile",
                              {"kind": bp.kind, "blueprintName": meta.name})  # fmt: skip
        process, attributes = new_process(spec, ctx.caller, initiator, now)
        row.update(lastreconciliationprocess=process["processid"], lastreconciliationtime=now)
    stored, made = await ctx.storage.add_blueprint(row, ctx.caller, location, cron, process, attributes)
    if made:
        ctx.state.cron_wakeup.set()
    ctx.events.publish((process,))
    return blueprint_view(stored)


async def get_blueprint(ctx: Context, msg: m.NamespaceNameMsg) -> Any:
    """getblueprintmsg — approved member or the colony owner."""
    await require_member_or_owner(ctx, msg.namespace)
    return blueprint_view(await _load(ctx, msg.namespace, msg.name))


async def _load(ctx: Context, colonyname: str, name: str) -> Row:
    row = await ctx.storage.get_blueprint(colonyname, name)
    if row is None:
        raise NotFound(f"Blueprint {name} does not exist in colony {colonyname}")
    return row


async def get_blueprints(ctx: Context, msg: m.GetBlueprintsMsg) -> Any:
    """getblueprintsmsg — approved member or the colony owner; ``kind`` and ``locationname`` filter (each
    optional), by name, never null."""
    await require_member_or_owner(ctx, msg.namespace)
    rows = await ctx.storage.get_blueprints(msg.namespace, msg.kind, msg.locationname)
    return [blueprint_view(row) for row in rows]


async def update_blueprint(ctx: Context, msg: m.UpdateBlueprintMsg) -> Any:
    """updateblueprintmsg — approved member or the colony owner. Replaces spec, labels, annotations and handler
    (status is the reconciler's, see updateblueprintstatusmsg); a new spec, or ``forcegeneration``, is a new
    generation with a history entry and a reconcile process."""
    bp = _check_blueprint(msg.blueprint, "update")
    colonyname = bp.metadata.colony
    member = await require_member_or_owner(ctx, colonyname)
    check_name(bp.metadata.name, "blueprint name (metadata.name)")
    old = await _load(ctx, colonyname, bp.metadata.name)
    _check_fields(bp)
    if bp.kind != old["kind"]:
        raise BadRequest(f"The kind of blueprint {old['name']} is {old['kind']}, not {bp.kind}: a kind cannot "
                         "change (remove the blueprint and add it again)")  # fmt: skip
    if bp.metadata.locationname != old["locationname"]:
        raise BadRequest(f"The location of blueprint {old['name']} is {old['locationname']!r}, not "
                         f"{bp.metadata.locationname!r}: a location cannot change (remove it and add it "
                         "again)")  # fmt: skip
    definition = await _definition_of(ctx, colonyname, bp.kind)
    validate_spec(bp.spec, definition.schema)
    handler = handler_json(bp.handler)
    fields = {"colonyname": colonyname, "name": old["name"], "labels": to_json(bp.metadata.labels, "labels"),
              "annotations": to_json(bp.metadata.annotations, "annotations"),
              "handler": to_json(handler, "handler") if handler else "", "spec": canonical_json(bp.spec, "spec")}
    now, process, attributes = ctx.now(), None, []
    executortype = _executortype(bp.handler, definition)
    if executortype:
        spec = reconcile_spec(colonyname, executortype, old["locationname"], "reconcile",
                              {"kind": bp.kind, "blueprintName": old["name"]})  # fmt: skip
        process, attributes = new_process(spec, ctx.caller, _initiator(member), now)
    result = await ctx.storage.update_blueprint(fields, msg.forcegeneration, ctx.caller, process, attributes, now)
    if result is None:  # removed meanwhile
        raise NotFound(f"Blueprint {old['name']} does not exist in colony {colonyname}")
    stored, changed = result
    if changed:
        ctx.events.publish((process,))
    return blueprint_view(stored)


async def remove_blueprint(ctx: Context, msg: m.NamespaceNameMsg) -> Any:
    """removeblueprintmsg — approved member or the colony owner; adds a ``cleanup`` process for the reconciler
    (``kwargs {kind, blueprintName}``) and removes the kind's cron at the location with its last blueprint."""
    member = await require_member_or_owner(ctx, msg.namespace)
    row = await _load(ctx, msg.namespace, msg.name)
    process, attributes = None, []
    definition = await ctx.storage.get_blueprint_definition_by_kind(msg.namespace, row["kind"])
    executortype = _executortype(row["handler"], _parse_definition(definition)) if definition else ""
    if executortype:
        spec = reconcile_spec(msg.namespace, executortype, row["locationname"], "cleanup",
                              {"kind": row["kind"], "blueprintName": row["name"]})  # fmt: skip
        process, attributes = new_process(spec, ctx.caller, _initiator(member), ctx.now())
    cronname = cron_name(row["kind"], row["locationname"])
    if await ctx.storage.remove_blueprint(row, cronname, process, attributes):
        ctx.state.cron_wakeup.set()
    ctx.events.publish((process,))
    return {}


async def get_blueprint_history(ctx: Context, msg: m.GetBlueprintHistoryMsg) -> Any:
    """getblueprinthistorymsg — approved member or the owner of the blueprint's colony; newest first, ``limit``
    entries (0: up to 100)."""
    row = await ctx.storage.get_blueprint_by_id(msg.blueprintid)
    if row is None:
        raise NotFound(f"Blueprint with id {msg.blueprintid} does not exist")
    await require_member_or_owner(ctx, row["colonyname"])
    history = await ctx.storage.get_blueprint_history(msg.blueprintid, check_count(msg.limit))
    return [blueprint_history_view(entry) for entry in history]


async def update_blueprint_status(ctx: Context, msg: m.UpdateBlueprintStatusMsg) -> Any:
    """updateblueprintstatusmsg — approved member (a reconciler); replaces the observed state, leaves the spec and
    generation alone."""
    await require_member(ctx, msg.colonyname)
    status = canonical_json(msg.status, "status")
    if not await ctx.storage.update_blueprint_status(msg.colonyname, msg.blueprintname, status):
        raise NotFound(f"Blueprint {msg.blueprintname} does not exist in colony {msg.colonyname}")
    return {}


async def reconcile_blueprint(ctx: Context, msg: m.ReconcileBlueprintMsg) -> Any:
    """reconcileblueprintmsg — approved member; adds a reconcile process now (``force``: bump the generation first
    and pass ``force: true``) and answers it."""
    member = await require_member(ctx, msg.namespace)
    row = await _load(ctx, msg.namespace, msg.name)
    definition = await _definition_of(ctx, msg.namespace, row["kind"])
    executortype = _executortype(row["handler"], definition)
    if not executortype:
        raise BadRequest("Blueprint has no handler with executor type defined")
    kwargs: dict[str, Any] = {"kind": row["kind"], "blueprintName": row["name"]}
    if msg.force:
        kwargs["force"] = True
    now = ctx.now()
    spec = reconcile_spec(msg.namespace, executortype, row["locationname"], "reconcile", kwargs)
    process, attributes = new_process(spec, ctx.caller, _initiator(member), now)
    stored = await ctx.storage.reconcile_blueprint(msg.namespace, msg.name, msg.force, process, attributes, now)
    if stored is None:
        raise NotFound(f"Blueprint {msg.name} does not exist in colony {msg.namespace}")
    ctx.events.publish((stored,))
    return process_view(stored)

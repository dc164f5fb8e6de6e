"""Blueprints (protocol §3.14, §4.16): declarative desired state that reconciler executors make real. Pure code:
the wire models, schema validation, canonical JSON and the reconciliation function specs (no I/O).

A *definition* names a kind (``spec.names.kind``), an optional schema for the spec and a handler (the executor
type that reconciles it). A *blueprint* of that kind holds the desired state (``spec``, set by users) and the
observed state (``status``, reported by the reconciler). Each spec change bumps ``metadata.generation``.

The Go server decodes these objects with ``encoding/json``, which matches keys case-insensitively: pycolonies sends
``handler.executortype`` for the field Go spells ``executorType``. ``GoWire`` models do the same.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import Field, model_validator

from .exceptions import BadRequest
from .models import Conditions, FunctionSpec, Int64, Wire
from .timefmt import ZERO_TIME

#: Reconcile cron interval when the definition gives no ``handler.reconcileInterval`` (the Go server's fixed 60 s).
DEFAULT_RECONCILE_INTERVAL = 60
#: How long a reconciler may hold a reconcile process before it is handed to another (ours; Go: no limit, so a
#: reconciler killed mid-run left its process RUNNING and the cron that waits for it held forever).
RECONCILE_MAX_EXEC_TIME = 600
SCHEMA_TYPES = frozenset({"", "string", "number", "integer", "boolean", "object", "array"})


class GoWire(Wire):
    """A wire model whose keys match case-insensitively, as Go's ``encoding/json`` matches struct fields (an exact
    match wins over a folded one). Maps inside (spec, status, labels) keep their keys as sent."""

    @model_validator(mode="before")
    @classmethod
    def _fold_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        known = {(f.alias or name): name for name, f in cls.model_fields.items()}
        folded = {key.lower(): key for key in known}
        out: dict[str, Any] = {}
        for key, value in data.items():
            if not isinstance(key, str):
                continue
            target = key if key in known else folded.get(key.lower())
            if target is not None and (target not in out or key == target):
                out[target] = value
        return out


class Metadata(GoWire):
    name: str = ""
    colonyname: str = ""
    #: The key before v1.9.x renamed it to ``colonyname``; read when ``colonyname`` is empty.
    namespace: str = ""
    locationname: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)

    @property
    def colony(self) -> str:
        return self.colonyname or self.namespace


class Handler(GoWire):
    """Which executors reconcile one blueprint (overrides the definition's executor type)."""

    executorType: str = ""
    executorName: str = ""
    executorNames: list[str] = Field(default_factory=list)


class Blueprint(GoWire):
    blueprintid: str = ""
    kind: str = ""
    metadata: Metadata = Field(default_factory=Metadata)
    handler: Handler | None = None
    spec: dict[str, Any] = Field(default_factory=dict)


class SchemaProperty(GoWire):
    type: str = ""
    description: str = ""
    enum: list[Any] = Field(default_factory=list)
    default: Any = None
    properties: dict[str, SchemaProperty] = Field(default_factory=dict)
    items: SchemaProperty | None = None
    #: Ours (the Go docs show it on nested objects; the Go server ignores it there).
    required: list[str] = Field(default_factory=list)


class Schema(GoWire):
    type: str = ""
    properties: dict[str, SchemaProperty] = Field(default_factory=dict)
    required: list[str] = Field(default_factory=list)


class Names(GoWire):
    kind: str = ""
    listKind: str = ""
    singular: str = ""
    plural: str = ""
    shortNames: list[str] = Field(default_factory=list)


class HandlerSpec(GoWire):
    executorType: str = ""
    functionName: str = ""
    reconcileInterval: Int64 = 0


class DefinitionSpec(GoWire):
    group: str = ""
    version: str = ""
    names: Names = Field(default_factory=Names)
    scope: str = ""
    schema_: Schema | None = Field(default=None, alias="schema")
    handler: HandlerSpec = Field(default_factory=HandlerSpec)


class BlueprintDefinition(GoWire):
    blueprintdefinitionid: str = ""
    kind: str = ""
    metadata: Metadata = Field(default_factory=Metadata)
    spec: DefinitionSpec = Field(default_factory=DefinitionSpec)


# -- JSON ---------------------------------------------------------------------------------------------------------


def _canonical_value(value: Any) -> Any:
    """Integral floats become ints, as Go (which holds every JSON number as float64) writes ``3.0`` as ``3``."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, dict):
        return {k: _canonical_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_canonical_value(v) for v in value]
    return value


def canonical_json(value: Any, what: str) -> str:
    """Spec and status as stored: keys sorted (Go writes maps sorted), so equal specs have equal text and a spec
    change is a text comparison. Integers beyond 64 bits are refused (the databases cannot keep them)."""
    try:
        return orjson.dumps(_canonical_value(value), option=orjson.OPT_SORT_KEYS).decode()
    except orjson.JSONEncodeError as exc:
        raise BadRequest(f"Invalid {what}: {exc}") from None


# -- schema validation --------------------------------------------------------------------------------------------


def _same(a: Any, b: Any) -> bool:
    """JSON equality: ``true`` is not ``1`` (Python's ``==`` says it is), ``3`` is ``3.0`` (Go's float64)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def _type_error(path: str, expected: str, value: Any) -> str | None:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = {
        "": True,
        "string": isinstance(value, str),
        "number": number,
        "integer": number and (isinstance(value, int) or value.is_integer()),
        "boolean": isinstance(value, bool),
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
    }[expected]
    return None if ok else f"field '{path}' must be {'an' if expected[0] in 'aeio' else 'a'} {expected}"


def _check_value(path: str, value: Any, prop: SchemaProperty) -> None:
    problem = _type_error(path, prop.type, value)
    if problem:
        raise BadRequest(f"blueprint validation failed: {problem}")
    if prop.enum and not any(_same(value, allowed) for allowed in prop.enum):
        raise BadRequest(f"blueprint validation failed: field '{path}' must be one of {prop.enum}, got {value!r}")
    if isinstance(value, dict):
        _check_object(path + ".", value, prop.properties, prop.required)
    if isinstance(value, list) and prop.items is not None:
        for i, item in enumerate(value):
            _check_value(f"{path}[{i}]", item, prop.items)


def _check_object(
    prefix: str, data: dict[str, Any], properties: dict[str, SchemaProperty], required: list[str]
) -> None:
    for name in required:
        if name not in data:
            raise BadRequest(f"blueprint validation failed: required field '{prefix}{name}' is missing")
    for name, value in data.items():
        if name in properties:
            _check_value(prefix + name, value, properties[name])


def validate_spec(spec: dict[str, Any], schema: Schema | None) -> None:
    """A blueprint's spec against its definition's schema: required fields, types, enums, nested objects, items.
    Fields the schema does not name are allowed."""
    if schema is not None:
        _check_object("", spec, schema.properties, schema.required)


def check_schema(schema: Schema | None) -> None:
    """Refuse a schema whose types the validator would not know (the Go server accepts them and checks nothing)."""

    def walk(path: str, prop: SchemaProperty) -> None:
        if prop.type not in SCHEMA_TYPES:
            raise BadRequest(f"Invalid schema: {path} has unknown type {prop.type!r} (use string, number, integer, "
                             "boolean, object or array)")  # fmt: skip
        for name, sub in prop.properties.items():
            walk(f"{path}.{name}", sub)
        if prop.items is not None:
            walk(f"{path}[]", prop.items)

    if schema is not None:
        for name, prop in schema.properties.items():
            walk(f"spec.schema.properties.{name}", prop)


# -- reconciliation -----------------------------------------------------------------------------------------------


def cron_name(kind: str, locationname: str) -> str:
    """One reconcile cron per kind and location, named as the Go server names it."""
    return f"reconcile-{kind}-{locationname}" if locationname else f"reconcile-{kind}"


def reconcile_spec(
    colonyname: str, executortype: str, locationname: str, funcname: str, kwargs: dict[str, Any]
) -> FunctionSpec:
    """A reconcile (or cleanup) function spec: funcname ``reconcile`` or ``cleanup``, for the handler's executor
    type at the blueprint's location, with what to reconcile in ``kwargs`` (``kind``, ``blueprintName``)."""
    return FunctionSpec(
        nodename=funcname, funcname=funcname, kwargs=kwargs, maxwaittime=0, maxexectime=RECONCILE_MAX_EXEC_TIME,
        maxretries=-1, conditions=Conditions(colonyname=colonyname, executortype=executortype,
                                             locationname=locationname),
    )  # fmt: skip


def cron_workflow(colonyname: str, kind: str, executortype: str, locationname: str) -> str:
    """The reconcile cron's workflow (JSON text): one ``reconcile`` process for every blueprint of the kind."""
    spec = reconcile_spec(colonyname, executortype, locationname, "reconcile", {"kind": kind})
    return orjson.dumps({"colonyname": colonyname, "functionspecs": [spec.model_dump()]}).decode()


# -- rendering (Go field order; empty optional fields left out as Go's omitempty does) ---------------------------


def metadata_json(
    name: str, colonyname: str, locationname: str = "", labels: Any = None, annotations: Any = None,
    generation: int = 0, created: str = "", updated: str = "", lastprocess: str = "", lasttime: str = "",
) -> dict[str, Any]:  # fmt: skip
    """``metadata`` as the Go server writes it; the three times are always there (Go's zero time when unset)."""
    meta: dict[str, Any] = {"name": name, "colonyname": colonyname}
    if locationname:
        meta["locationname"] = locationname
    if labels:
        meta["labels"] = labels
    if annotations:
        meta["annotations"] = annotations
    if generation:
        meta["generation"] = generation
    meta["createdAt"] = created or ZERO_TIME
    meta["updatedAt"] = updated or ZERO_TIME
    if lastprocess:
        meta["lastReconciliationProcess"] = lastprocess
    meta["lastReconciliationTime"] = lasttime or ZERO_TIME
    return meta


def _property_json(prop: SchemaProperty) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("type", "description", "enum"):
        if getattr(prop, key):
            out[key] = getattr(prop, key)
    if prop.default is not None:
        out["default"] = prop.default
    if prop.properties:
        out["properties"] = {name: _property_json(sub) for name, sub in prop.properties.items()}
    if prop.items is not None:
        out["items"] = _property_json(prop.items)
    if prop.required:
        out["required"] = prop.required
    return out


def definition_json(d: BlueprintDefinition, definitionid: str, colonyname: str, now: str) -> dict[str, Any]:
    """A definition as stored and answered."""
    spec = d.spec
    names: dict[str, Any] = {"kind": spec.names.kind, "listKind": spec.names.listKind,
                             "singular": spec.names.singular, "plural": spec.names.plural}  # fmt: skip
    if spec.names.shortNames:
        names["shortNames"] = spec.names.shortNames
    out: dict[str, Any] = {"group": spec.group, "version": spec.version, "names": names, "scope": spec.scope}
    if spec.schema_ is not None:
        schema: dict[str, Any] = {}
        if spec.schema_.type:
            schema["type"] = spec.schema_.type
        if spec.schema_.properties:
            schema["properties"] = {k: _property_json(p) for k, p in spec.schema_.properties.items()}
        if spec.schema_.required:
            schema["required"] = spec.schema_.required
        out["schema"] = schema
    handler: dict[str, Any] = {"executorType": spec.handler.executorType, "functionName": spec.handler.functionName}
    if spec.handler.reconcileInterval:
        handler["reconcileInterval"] = spec.handler.reconcileInterval
    out["handler"] = handler
    meta = d.metadata
    return {
        "blueprintdefinitionid": definitionid,
        "kind": d.kind,
        "metadata": metadata_json(meta.name, colonyname, meta.locationname, meta.labels, meta.annotations,
                                  created=now, updated=now),  # fmt: skip
        "spec": out,
    }


def handler_json(handler: Handler | None) -> dict[str, Any] | None:
    """A blueprint's ``handler`` with its non-empty fields, or None (left out) when it has none."""
    if handler is None:
        return None
    out = {k: v for k, v in handler.model_dump().items() if v}
    return out or None

"""SDK models with pycolonies 1.0.25 names (python-sdk.md §5), made lenient and dict-compatible.

Two generations of user code must run unchanged: seed-era code that indexes replies as dicts
(``process["spec"]["kwargs"]``) and current code that uses attributes (``process.spec.kwargs``). So every model
also answers ``m["json key"]``, ``"key" in m``, ``m.get(...)`` and ``m.keys()`` with its JSON keys (``in``/``out``
for ``Process.input``/``output``), and replies that pycolonies returns as plain dicts come back as ``AttrDict``.

Parsing is lenient where the strict pycolonies models break on harmless differences: unknown keys are ignored,
``null`` falls back to the field default unless the field accepts ``null`` (python-sdk.md §6), and list items are
not narrowed to ``str | int | float``.
"""

from __future__ import annotations

import base64
import copy
import functools
import inspect
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..types import processes_per_node

__all__ = [
    "AttrDict", "Attribute", "Conditions", "File", "Fs", "FuncSpec", "Gpu", "Model", "Position", "Process",
    "ProcessEdge", "ProcessGraph", "ProcessNode", "Reference", "S3Object", "Workflow", "func_spec", "to_attrdict",
]  # fmt: skip


class AttrDict(dict[str, Any]):
    """A reply object as pycolonies returns it (a plain, JSON-serialisable dict) whose keys also read as attributes.

    Nested dicts become AttrDicts too, so ``executor.capabilities.hardware`` and
    ``executor["capabilities"]["hardware"]`` both work.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for key, value in self.items():
            dict.__setitem__(self, key, to_attrdict(value))

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no key {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, to_attrdict(value))

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *(k for k in self if isinstance(k, str) and k.isidentifier())})

    def copy(self) -> AttrDict:
        return AttrDict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> AttrDict:
        return AttrDict({k: copy.deepcopy(v, memo) for k, v in self.items()})


def to_attrdict(value: Any) -> Any:
    """Turn decoded JSON into AttrDicts (dicts) and lists of them; other values pass through."""
    if isinstance(value, dict) and not isinstance(value, AttrDict):
        return AttrDict(value)
    if isinstance(value, list):
        return [to_attrdict(v) for v in value]
    return value


# --- the dict-compatible model base ------------------------------------------------------------------------------


@functools.cache
def _keymap(cls: type[BaseModel]) -> dict[str, str]:
    """JSON key (alias, else name) → field name; field names are accepted too."""
    keys: dict[str, str] = {}
    for name, info in cls.model_fields.items():
        keys[info.alias or name] = name
    for name in cls.model_fields:
        keys.setdefault(name, name)
    return keys


@functools.cache
def _json_keys(cls: type[BaseModel]) -> tuple[str, ...]:
    return tuple(info.alias or name for name, info in cls.model_fields.items())


def _accepts_none(annotation: Any) -> bool:
    if annotation is Any or annotation is None or annotation is type(None):
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return any(_accepts_none(arg) for arg in typing.get_args(annotation))
    return False


@functools.cache
def _nullable(cls: type[BaseModel]) -> frozenset[str]:
    """Keys (JSON and field names) whose field takes ``null`` as a value rather than as "use the default"."""
    found: set[str] = set()
    for name, info in cls.model_fields.items():
        if _accepts_none(info.annotation):
            found.update((name, info.alias or name))
    return frozenset(found)


class Model(BaseModel):
    """Base of the SDK models: lenient parsing, attribute *and* JSON-key dict access."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore", validate_assignment=True)

    @model_validator(mode="before")
    @classmethod
    def _null_means_default(cls, data: Any) -> Any:
        # Go sends null for empty slices and maps; a null where the model has no use for one takes the default.
        if isinstance(data, Mapping):
            nullable = _nullable(cls)
            return {k: v for k, v in data.items() if v is not None or k in nullable}
        return data

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, _keymap(type(self))[key])
        except KeyError:
            raise KeyError(key) from None

    def __setitem__(self, key: str, value: Any) -> None:
        try:
            name = _keymap(type(self))[key]
        except KeyError:
            raise KeyError(key) from None
        setattr(self, name, value)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in _keymap(type(self))

    def __iter__(self) -> Iterator[str]:  # type: ignore[override]
        """Iterate over JSON keys, as a dict would (pydantic's default yields (name, value) pairs)."""
        return iter(_json_keys(type(self)))

    def __len__(self) -> int:
        return len(_json_keys(type(self)))

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def keys(self) -> list[str]:
        return list(_json_keys(type(self)))

    def values(self) -> list[Any]:
        return [self[k] for k in _json_keys(type(self))]

    def items(self) -> list[tuple[str, Any]]:
        return [(k, self[k]) for k in _json_keys(type(self))]

    def to_dict(self) -> dict[str, Any]:
        """The wire JSON as a dict (JSON keys, datetimes as RFC 3339 text)."""
        return self.model_dump(mode="json", by_alias=True)

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True)


# --- function specs ----------------------------------------------------------------------------------------------


class Gpu(Model):
    name: str = ""
    mem: str = ""
    count: int = 0
    nodecount: int = 0


class Conditions(Model):
    colonyname: str = ""
    executornames: list[str] | None = None
    executortype: str = ""
    #: Not in pycolonies; the Go server (HEAD) and ours match it against the executor's location.
    locationname: str = ""
    #: Nodenames of the parents in a workflow.
    dependencies: list[str] = Field(default_factory=list)
    nodes: int = 0
    cpu: str = ""
    processes: int = 0
    processespernode: int = 0
    mem: str = ""
    storage: str = ""
    gpu: Gpu | None = Field(default_factory=Gpu)
    walltime: int = 0

    @model_validator(mode="before")
    @classmethod
    def _old_spelling(cls, data: Any) -> Any:
        """``processes-per-node`` (v1.7.8, the seed's specs) is read as ``processespernode`` (v1.8.7 and later)."""
        return processes_per_node(dict(data) if isinstance(data, Mapping) else data)


class Fs(Model):
    mount: str = ""
    snapshots: list[Any] | None = None
    dirs: list[Any] | None = None


class FuncSpec(Model):
    """What to run and where: a function name, its arguments, the conditions an executor must meet, and limits."""

    nodename: str = ""
    funcname: str = ""
    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] | None = Field(default_factory=dict)
    priority: int = 0
    maxwaittime: int = 0
    maxexectime: int = 0
    maxretries: int = 0
    conditions: Conditions = Field(default_factory=Conditions)
    label: str = ""
    fs: Fs | None = Field(default_factory=Fs)
    env: dict[str, Any] = Field(default_factory=dict)
    channels: list[str] = Field(default_factory=list)


class Attribute(Model):
    attributeid: str = ""
    targetid: str = ""
    targetcolonyname: str = ""
    targetprocessgraphid: str = ""
    state: int = 0
    #: 0 in, 1 out, 2 err, 3 env.
    attributetype: int = 0
    key: str = ""
    value: str = ""


class Process(Model):
    """A process as the server reports it; ``input``/``output`` are the JSON keys ``in``/``out``."""

    processid: str = ""
    initiatorid: str = ""
    initiatorname: str = ""
    assignedexecutorid: str = ""
    isassigned: bool = False
    #: 0 waiting, 1 running, 2 successful, 3 failed, 4 cancelled.
    state: int = 0
    prioritytime: int = 0
    submissiontime: datetime | None = None
    starttime: datetime | None = None
    endtime: datetime | None = None
    waitdeadline: datetime | None = None
    execdeadline: datetime | None = None
    retries: int = 0
    attributes: list[Attribute] | None = Field(default_factory=list)
    spec: FuncSpec = Field(default_factory=FuncSpec)
    waitforparents: bool = False
    parents: list[str] = Field(default_factory=list)
    children: list[str] = Field(default_factory=list)
    processgraphid: str = ""
    #: Parent outputs in a workflow (one entry per parent output), else empty.
    input: list[Any] | None = Field(default_factory=list, alias="in")
    output: list[Any] | None = Field(default_factory=list, alias="out")
    errors: list[Any] = Field(default_factory=list)

    def __init__(self, **data: Any) -> None:
        """Accepts the field names ``input``/``output`` as well as the JSON keys ``in``/``out`` (as pycolonies)."""
        super().__init__(**data)


# --- workflows ---------------------------------------------------------------------------------------------------


class Workflow(Model):
    """A DAG of function specs; dependencies are nodenames in ``conditions.dependencies``.

    ``Workflow("mycolony")`` and ``Workflow(colonyname="mycolony")`` both work (seed-era code passes it
    positionally).
    """

    colonyname: str = ""
    functionspecs: list[FuncSpec] = Field(default_factory=list)

    def __init__(self, colonyname: str | None = None, /, **data: Any) -> None:
        if colonyname is not None:
            data.setdefault("colonyname", colonyname)
        super().__init__(**data)

    def add(
        self,
        spec: FuncSpec | Mapping[str, Any],
        nodename: str | None = None,
        dependencies: list[str] | None = None,
    ) -> FuncSpec:
        """Append a copy of ``spec`` as node ``nodename`` depending on ``dependencies``; returns the copy.

        An empty ``conditions.colonyname`` is filled from the workflow (the server does the same), and a missing
        nodename defaults to the function name.
        """
        node = spec.model_copy(deep=True) if isinstance(spec, FuncSpec) else FuncSpec.model_validate(spec)
        if nodename is not None:
            node.nodename = nodename
        if dependencies is not None:
            node.conditions.dependencies = list(dependencies)
        if not node.conditions.colonyname:
            node.conditions.colonyname = self.colonyname
        if not node.nodename:
            node.nodename = node.funcname
        self.functionspecs.append(node)
        return node

    @property
    def func_specs(self) -> list[FuncSpec]:
        """The seed-era name of ``functionspecs``."""
        return self.functionspecs

    def workflow_spec(self) -> dict[str, Any]:
        """The seed-era accessor: the workflow as the JSON dict that is submitted."""
        return self.to_dict()


class Position(Model):
    x: int = 0
    y: int = 0


class ProcessNode(Model):
    id: str = ""
    data: dict[str, Any] = Field(default_factory=dict)
    position: Position = Field(default_factory=Position)
    type: str = ""
    style: dict[str, Any] = Field(default_factory=dict)


class ProcessEdge(Model):
    id: str = ""
    source: str = ""
    target: str = ""
    animated: bool = False


class ProcessGraph(Model):
    """A submitted workflow; ``nodes``/``edges`` are the dashboard layout (filled by ``get_processgraph``)."""

    processgraphid: str = ""
    initiatorid: str = ""
    initiatorname: str = ""
    colonyname: str = ""
    rootprocessids: list[str] = Field(default_factory=list)
    state: int = 0
    submissiontime: datetime | None = None
    starttime: datetime | None = None
    endtime: datetime | None = None
    processids: list[str] = Field(default_factory=list)
    nodes: list[ProcessNode] = Field(default_factory=list)
    edges: list[ProcessEdge] = Field(default_factory=list)


# --- files -------------------------------------------------------------------------------------------------------


class S3Object(Model):
    server: str = ""
    port: int = 0
    tls: bool = False
    accesskey: str = ""
    secretkey: str = ""
    region: str = ""
    encryptionkey: str = ""
    encryptionalg: str = ""
    object: str = ""
    bucket: str = ""


class Reference(Model):
    protocol: str = ""
    s3object: S3Object = Field(default_factory=S3Object)


class File(Model):
    fileid: str = ""
    colonyname: str = ""
    label: str = ""
    name: str = ""
    size: int = 0
    sequencenr: int = 0
    checksum: str = ""
    checksumalg: str = ""
    ref: Reference = Field(default_factory=Reference)
    added: datetime | None = None

    @field_validator("label")
    @classmethod
    def _one_leading_slash(cls, value: str) -> str:
        """``///a/b/`` → ``/a/b``, as pycolonies normalises labels."""
        return "/" + value.strip("/")


# --- helpers -----------------------------------------------------------------------------------------------------


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def func_spec(
    func: str | Callable[..., Any],
    args: list[Any] | None,
    colonyname: str,
    executortype: str,
    executorname: str | None = None,
    priority: int = 1,
    maxexectime: int = -1,
    maxretries: int = -1,
    maxwaittime: int = -1,
    code: str | None = None,
    kwargs: dict[str, Any] | None = None,
    fs: Fs | Mapping[str, Any] | None = None,
) -> FuncSpec:
    """Build a FuncSpec without contacting the server (pycolonies ``func_spec``, python-sdk.md §1.2).

    ``func`` is a function name, or a Python function whose source is shipped base64'd in ``env["code"]`` (with
    its parameter names in ``env["args_spec"]``) for executors that run injected code. The -1 limits mean "none".
    """
    conditions = Conditions(colonyname=colonyname, executortype=executortype)
    if executorname is not None:
        conditions.executornames = [executorname]
    common: dict[str, Any] = {
        "args": list(args or []), "kwargs": kwargs, "priority": priority, "maxwaittime": maxwaittime,
        "maxexectime": maxexectime, "maxretries": maxretries, "conditions": conditions,
    }  # fmt: skip
    if isinstance(func, str):
        fs_model = Fs.model_validate(fs) if isinstance(fs, Mapping) else fs
        spec = FuncSpec(nodename=func, funcname=func, fs=fs_model, **common)
        if code is not None:
            spec.env["code"] = _b64(code)
        return spec
    params = ",".join(inspect.getfullargspec(func).args)
    env = {"args_spec": params, "code": _b64(inspect.getsource(func))}
    return FuncSpec(nodename=func.__name__, funcname=func.__name__, env=env, **common)

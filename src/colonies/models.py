"""Wire models with the Go server's exact JSON keys (protocol §4).

Parsing follows Go's ``encoding/json`` leniency where clients rely on it (unknown keys ignored, missing keys and
``null`` take the zero value) and its strictness where it protects data (a string where an int belongs is a 400).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .exceptions import BadRequest


#: Integers the database and the Go clients can hold.
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
#: Durations in seconds; bounded so that deadlines in nanoseconds stay within 64 bits.
Seconds = Annotated[int, Field(ge=-(2**31), le=2**31)]


class Wire(BaseModel):
    """Base of every wire model: strict types, unknown keys ignored, ``null`` means "not given"."""

    model_config = ConfigDict(extra="ignore", strict=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _drop_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None}
        return data


class Gpu(Wire):
    name: str = ""
    mem: str = ""
    count: Int64 = 0
    nodecount: Int64 = 0


class Conditions(Wire):
    colonyname: str = ""
    executornames: list[str] = Field(default_factory=list)
    executortype: str = ""
    locationname: str = ""
    dependencies: list[str] = Field(default_factory=list)
    nodes: Int64 = 0
    cpu: str = ""
    processes: Int64 = 0
    processespernode: Int64 = 0
    mem: str = ""
    storage: str = ""
    gpu: Gpu = Field(default_factory=Gpu)
    walltime: Seconds = 0
    #: ``processes-per-node``, as v1.7.8 (the seed) spells it: read as ``processespernode`` (v1.8.7 and later),
    #: the newer spelling winning when both are given; never stored or rendered under this name.
    old_processespernode: Int64 | None = Field(default=None, alias="processes-per-node", exclude=True)

    def model_post_init(self, context: Any, /) -> None:
        # A plain field and this hook instead of a wrap validator with a private attribute: a third of the
        # cost of validating a submit (py-spy --gil, 8 clients submitting).
        if self.old_processespernode is not None and not self.processespernode:
            self.processespernode = self.old_processespernode

    @property
    def spelling(self) -> str:
        """Which spelling of processes-per-node the client sent: "v1.7.8" (``processes-per-node``), "v1.9"
        (``processespernode``) or "" (neither): a hint of the client's wire generation, never stored."""
        sent = self.model_fields_set
        if "old_processespernode" in sent:
            return "v1.7.8"
        return "v1.9" if "processespernode" in sent else ""


class FunctionSpec(Wire):
    nodename: str = ""
    funcname: str = ""
    args: list[Any] = Field(default_factory=list)
    kwargs: dict[str, Any] = Field(default_factory=dict)
    priority: Int64 = 0
    maxwaittime: Seconds = 0
    maxexectime: Seconds = 0
    maxretries: Int64 = 0
    conditions: Conditions = Field(default_factory=Conditions)
    label: str = ""
    fs: dict[str, Any] = Field(default_factory=lambda: {"mount": "", "snapshots": None, "dirs": None})
    env: dict[str, str] = Field(default_factory=dict)
    channels: list[str] = Field(default_factory=list)


class WorkflowSpec(Wire):
    colonyname: str = ""
    functionspecs: list[FunctionSpec] = Field(default_factory=list)


class Colony(Wire):
    colonyid: str = ""
    name: str = ""


class User(Wire):
    colonyname: str = ""
    userid: str = ""
    name: str = ""
    email: str = ""
    phone: str = ""


class ExecutorLocation(Wire):
    """An executor's own coordinates, as v1.7.8 clients send and parse them (``name``: v1.9.0-v1.9.5)."""

    long: float = 0.0
    lat: float = 0.0
    name: str = ""
    desc: str = ""


class Executor(Wire):
    executorid: str = ""
    executortype: str = ""
    executorname: str = ""
    colonyname: str = ""
    locationname: str = ""
    requirefuncreg: bool = False
    capabilities: dict[str, Any] = Field(default_factory=lambda: {"hardware": [], "software": []})
    allocations: dict[str, Any] = Field(default_factory=lambda: {"projects": {}})
    blueprintid: str = ""
    blueprintgen: Int64 = 0
    #: v1.7.8 clients' ``{long, lat, desc}`` (v1.9 clients name a location instead); kept as sent.
    location: ExecutorLocation | None = None


class Project(Wire):
    """One project's allocation of an executor (reportallocationmsg); Go's ``core.Project``."""

    allocatedcpu: Int64 = 0
    usedcpu: Int64 = 0
    allocatedgpu: Int64 = 0
    usedgpu: Int64 = 0
    allocatedstorage: Int64 = 0
    usedstorage: Int64 = 0


class Allocations(Wire):
    projects: dict[str, Project] = Field(default_factory=dict)


class FunctionArg(Wire):
    name: str = ""
    type: str = ""
    description: str = ""
    required: bool = False
    enum: list[Any] = Field(default_factory=list)


class Function(Wire):
    functionid: str = ""
    executorname: str = ""
    executortype: str = ""
    colonyname: str = ""
    funcname: str = ""
    description: str = ""
    args: list[dict[str, Any]] = Field(default_factory=list)


class Attribute(Wire):
    targetid: str = ""
    targetcolonyname: str = ""
    attributetype: Int64 = 1
    key: str = ""
    value: str = ""


# --- resources: stored as integers, rendered the way the Go server renders them (protocol §1.5) -------------------

_MEM_UNITS = [
    ("kib", 1024), ("mib", 1024**2), ("gib", 1024**3), ("tib", 1024**4),
    ("ki", 1024), ("mi", 1024**2), ("gi", 1024**3), ("ti", 1024**4),
    ("kb", 1000), ("mb", 1000**2), ("gb", 1000**3), ("tb", 1000**4),
    ("k", 1000), ("m", 1000**2), ("g", 1000**3), ("t", 1000**4),
]  # fmt: skip
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*$")
MIB = 1024**2


def parse_cpu(text: str) -> int:
    """"4000m" → 4000 millicores; "2" or "0.5" are cores (the Go server silently turns them into 0)."""
    text = text.strip()
    if not text:
        return 0
    if text.endswith("m") and _NUMBER.match(text[:-1]):
        return int(float(text[:-1]))
    if _NUMBER.match(text):
        return int(float(text) * 1000)
    raise BadRequest(f"Invalid cpu value {text!r}: use millicores such as \"500m\" or cores such as \"2\"")


def parse_memory(text: str) -> int:
    """"16Gi" → bytes; units as the Go server (Ki/Mi/Gi/Ti powers of 1024, K/M/G/T powers of 1000)."""
    text = text.strip()
    if not text:
        return 0
    if _NUMBER.match(text):
        return int(float(text))
    lower = text.lower()
    for unit, factor in _MEM_UNITS:
        if lower.endswith(unit) and _NUMBER.match(text[: -len(unit)]):
            return int(float(text[: -len(unit)]) * factor)
    raise BadRequest(f"Invalid memory value {text!r}: use a number with a unit such as \"500Mi\" or \"2Gi\"")


def render_cpu(millicores: int) -> str:
    return f"{millicores}m"


def render_memory(nbytes: int) -> str:
    return f"{nbytes // MIB}Mi"

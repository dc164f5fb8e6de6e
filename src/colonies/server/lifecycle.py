"""Pure constructors for new processes, attributes and graphs (no I/O), shared by submit, workflows and add-child."""

from __future__ import annotations

from typing import Any

import orjson

from ..crypto import hash_text, random_id
from ..exceptions import BadRequest
from ..models import FunctionSpec, WorkflowSpec, parse_cpu, parse_memory, render_cpu, render_memory
from ..types import MAX_CHANNELS, MAX_PRIORITY, MIN_PRIORITY, PRIORITY_UNIT_NS, AttributeType, ProcessState

Row = dict[str, Any]
NS = 1_000_000_000


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def to_json(value: Any, what: str) -> str:
    """Serialise client data, refusing what cannot be stored faithfully (integers beyond 64 bits)."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError as exc:
        where = what
        if isinstance(value, dict):  # name the offending field
            for key, item in value.items():
                try:
                    orjson.dumps(item)
                except orjson.JSONEncodeError:
                    where = f"{what} field {key!r}"
                    break
        raise BadRequest(f"Invalid {where}: {exc}") from None


def attribute_id(targetid: str, key: str, attributetype: int) -> str:
    """Deterministic, as in the Go server: the same key and type on one process collide."""
    return hash_text(targetid + key + str(attributetype))


def new_attribute(
    targetid: str, colonyname: str, graphid: str, attributetype: int, key: str, value: str, now: int, state: int = 0
) -> Row:
    return {
        "attributeid": attribute_id(targetid, key, attributetype),
        "targetid": targetid,
        "targetcolonyname": colonyname,
        "targetprocessgraphid": graphid,
        "state": state,
        "attributetype": attributetype,
        "key": key,
        "value": value,
        "added": now,
    }


def normalise_spec(spec: FunctionSpec) -> tuple[dict[str, Any], dict[str, int]]:
    """The spec as the server stores and renders it, and its parsed resources."""
    cond = spec.conditions
    resources = {
        "cpu": parse_cpu(cond.cpu),
        "mem": parse_memory(cond.mem),
        "storage": parse_memory(cond.storage),
        "gpumem": parse_memory(cond.gpu.mem),
    }
    data = spec.model_dump()
    # Both spellings go out: v1.7.8 clients (its HPC executor sizes --ntasks-per-node from it) read
    # processes-per-node, v1.8.7 and later processespernode; each generation ignores the other's key.
    conditions: dict[str, Any] = {}
    for key, value in data["conditions"].items():
        conditions[key] = value
        if key == "processespernode":
            conditions["processes-per-node"] = value
    data["conditions"] = conditions
    conditions["cpu"] = render_cpu(resources["cpu"])
    conditions["mem"] = render_memory(resources["mem"])
    conditions["storage"] = render_memory(resources["storage"])
    conditions["gpu"]["mem"] = render_memory(resources["gpumem"])
    if not conditions["locationname"]:
        del conditions["locationname"]
    if not data["channels"]:
        del data["channels"]
    return data, resources


def check_channels(names: list[str]) -> None:
    """The channels a spec declares (v1.9): at most MAX_CHANNELS, each named once with 1-256 printable characters.
    The Go server accepts more and fails when the 101st is used; a misnamed channel could never be used."""
    if len(names) > MAX_CHANNELS:
        raise BadRequest(f"Invalid function spec: {len(names)} channels exceed the limit of {MAX_CHANNELS} "
                         "per process")  # fmt: skip
    seen: set[str] = set()
    for name in names:
        if not name or len(name) > 256 or any(c < " " or c == "\x7f" for c in name):
            raise BadRequest(f"Invalid function spec: channel name {name[:64]!r} must be 1-256 printable characters")
        if name in seen:
            raise BadRequest(f"Invalid function spec: channel {name!r} is declared twice")
        seen.add(name)


def new_process(
    spec: FunctionSpec,
    initiatorid: str,
    initiatorname: str,
    now: int,
    graphid: str = "",
    waitforparents: bool = False,
) -> tuple[Row, list[Row]]:
    """A WAITING process row and its ENV attributes. Raises BadRequest for out-of-range values."""
    if not MIN_PRIORITY <= spec.priority <= MAX_PRIORITY:
        raise BadRequest(f"Priority {spec.priority} is outside [{MIN_PRIORITY}, {MAX_PRIORITY}]")
    if not spec.funcname.strip():  # the Go server queues it, for no executor to ever take (a "func" typo)
        raise BadRequest("Invalid function spec: funcname is empty")
    cond = spec.conditions
    if not cond.colonyname:
        raise BadRequest("Invalid function spec: conditions.colonyname is empty")
    if not cond.executortype:
        raise BadRequest("Invalid function spec: conditions.executortype is empty")
    check_channels(spec.channels)
    data, res = normalise_spec(spec)
    processid = random_id()
    row: Row = {
        "processid": processid,
        "colonyname": cond.colonyname,
        "executortype": cond.executortype,
        "executornames": dumps(cond.executornames),
        "locationname": cond.locationname,
        "state": ProcessState.WAITING,
        "isassigned": 0,
        "waitforparents": int(waitforparents),
        "pendingparents": -1,  # a workflow sets the count of its parents
        "prioritytime": now - spec.priority * PRIORITY_UNIT_NS,
        "submissiontime": now,
        # A workflow child's wait clock starts when its parents are done, not at submission.
        "waitdeadline": now + spec.maxwaittime * NS if spec.maxwaittime > 0 and not waitforparents else 0,
        "maxretries": spec.maxretries,
        # 0 and negatives mean "no limit" (the Go server requeues a maxexectime-0 process within a second).
        "maxexectime": max(spec.maxexectime, 0),
        "maxwaittime": max(spec.maxwaittime, 0),
        "cpu": res["cpu"],
        "mem": res["mem"],
        "storage": res["storage"],
        "nodes": cond.nodes,
        "processes": cond.processes,
        "processespernode": cond.processespernode,
        "funcname": spec.funcname,
        "nodename": spec.nodename,
        "label": spec.label,
        "initiatorid": initiatorid,
        "initiatorname": initiatorname,
        "processgraphid": graphid,
        "parents": "[]",
        "children": "[]",
        "input": "[]",
        "output": "[]",
        "errors": "[]",
        "spec": to_json(data, "function spec"),
    }
    attrs = [
        new_attribute(processid, cond.colonyname, graphid, AttributeType.ENV, key, value, now)
        for key, value in spec.env.items()
    ]
    return row, attrs


def new_graph(
    wf: WorkflowSpec, initiatorid: str, initiatorname: str, now: int, root_input: list[Any] | None = None
) -> tuple[Row, list[Row], list[Row]]:
    """A WAITING graph row, its process rows (linked, parents counted) and their ENV attributes, from a workflow
    spec whose DAG was already checked. Submissions, crons and generators all build graphs here; ``root_input``
    becomes the input of every root process (a cron hands on its previous run's leaf outputs)."""
    graphid = random_id()
    rows: dict[str, Row] = {}
    attributes: list[Row] = []
    for spec in wf.functionspecs:
        spec.conditions.colonyname = wf.colonyname
        row, attrs = new_process(spec, initiatorid, initiatorname, now, graphid, bool(spec.conditions.dependencies))
        rows[spec.nodename] = row
        attributes += attrs
    children: dict[str, list[str]] = {name: [] for name in rows}
    for spec in wf.functionspecs:
        for parent in spec.conditions.dependencies:
            children[parent].append(rows[spec.nodename]["processid"])
    roots = []
    for spec in wf.functionspecs:
        row = rows[spec.nodename]
        row["parents"] = dumps([rows[p]["processid"] for p in spec.conditions.dependencies])
        row["children"] = dumps(children[spec.nodename])
        row["pendingparents"] = len(spec.conditions.dependencies)
        if not spec.conditions.dependencies:
            roots.append(row["processid"])
            if root_input:
                row["input"] = to_json(root_input, "input")
    graph = {
        "processgraphid": graphid,
        "colonyname": wf.colonyname,
        "rootprocessids": dumps(roots),
        "state": ProcessState.WAITING,
        "submissiontime": now,
        "starttime": 0,
        "endtime": 0,
        "initiatorid": initiatorid,
        "initiatorname": initiatorname,
    }
    return graph, list(rows.values()), attributes

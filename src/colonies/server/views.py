"""Storage rows → wire JSON in the Go server's field order (protocol §4).

JSON columns are spliced in as ``orjson.Fragment`` so a stored spec or output is never parsed just to be
serialised again.
"""

from __future__ import annotations

from typing import Any

import orjson

from ..timefmt import format_ns
from ..types import JSONDict

Row = dict[str, Any]
Fragment = orjson.Fragment


def colony_view(row: Row) -> JSONDict:
    return {"colonyid": row["colonyid"], "name": row["name"]}


def user_view(row: Row) -> JSONDict:
    return {k: row[k] for k in ("colonyname", "userid", "name", "email", "phone")}


def executor_view(row: Row) -> JSONDict:
    view: JSONDict = {
        "executorid": row["executorid"],
        "executortype": row["executortype"],
        "executorname": row["executorname"],
        "colonyname": row["colonyname"],
        "state": row["state"],
        "requirefuncreg": bool(row["requirefuncreg"]),
        "commissiontime": format_ns(row["commissiontime"]),
        "lastheardfromtime": format_ns(row["lastheardfromtime"]),
        "locationname": row["locationname"],
        "capabilities": capabilities_view(row["capabilities"]),
        "allocations": Fragment(row["allocations"]),
    }
    if row["blueprintid"]:
        view["blueprintid"] = row["blueprintid"]
        view["blueprintgen"] = row["blueprintgen"]
    return view


def capabilities_view(stored: str) -> Any:
    """Capabilities in the shape v1.7.8 clients parse: ``hardware`` and ``software`` are objects (Go structs).

    Executors registered by v1.9 clients (and by older ``colonies dev``) hold arrays there, which the original CLI
    cannot parse ("cannot unmarshal array into ... core.Hardware"): the first element stands for the list. The
    stored value is kept as it was sent."""
    if '"hardware":[' not in stored and '"software":[' not in stored:
        return Fragment(stored)
    caps = orjson.loads(stored)
    if not isinstance(caps, dict):
        return caps
    for key in ("hardware", "software"):
        value = caps.get(key)
        if isinstance(value, list):
            first = value[0] if value and isinstance(value[0], dict) else {}
            caps[key] = first
    return caps


def function_view(row: Row) -> JSONDict:
    view: JSONDict = {
        "functionid": row["functionid"],
        "executorname": row["executorname"],
        "executortype": row["executortype"],
        "colonyname": row["colonyname"],
        "funcname": row["funcname"],
    }
    if row["description"]:
        view["description"] = row["description"]
    if row["args"] != "[]":
        view["args"] = Fragment(row["args"])
    for key in ("counter", "minwaittime", "maxwaittime", "minexectime", "maxexectime", "avgwaittime", "avgexectime"):
        view[key] = row[key]
    if row["locationname"]:
        view["locationname"] = row["locationname"]
    return view


def attribute_view(row: Row) -> JSONDict:
    return {
        "attributeid": row["attributeid"],
        "targetid": row["targetid"],
        "targetcolonyname": row["targetcolonyname"],
        "targetprocessgraphid": row["targetprocessgraphid"],
        "state": row["state"],
        "attributetype": row["attributetype"],
        "key": row["key"],
        "value": row["value"],
    }


def process_view(row: Row) -> JSONDict:
    return {
        "processid": row["processid"],
        "initiatorid": row["initiatorid"],
        "initiatorname": row["initiatorname"],
        "assignedexecutorid": row["assignedexecutorid"],
        "isassigned": bool(row["isassigned"]),
        "state": row["state"],
        "prioritytime": row["prioritytime"],
        "submissiontime": format_ns(row["submissiontime"]),
        "starttime": format_ns(row["starttime"]),
        "endtime": format_ns(row["endtime"]),
        "waitdeadline": format_ns(row["waitdeadline"]),
        "execdeadline": format_ns(row["execdeadline"]),
        "retries": row["retries"],
        "attributes": [attribute_view(a) for a in row.get("_attributes", ())],
        "spec": Fragment(row["spec"]),
        "waitforparents": bool(row["waitforparents"]),
        "parents": Fragment(row["parents"]),
        "children": Fragment(row["children"]),
        "processgraphid": row["processgraphid"],
        "in": Fragment(row["input"]),
        "out": Fragment(row["output"]),
        "errors": Fragment(row["errors"]),
    }


def graph_view(graph: Row, processids: list[str], nodes: list[Any] | None = None, edges: list[Any] | None = None) -> JSONDict:
    return {
        "processgraphid": graph["processgraphid"],
        "initiatorid": graph["initiatorid"],
        "initiatorname": graph["initiatorname"],
        "colonyname": graph["colonyname"],
        "rootprocessids": Fragment(graph["rootprocessids"]),
        "state": graph["state"],
        "submissiontime": format_ns(graph["submissiontime"]),
        "starttime": format_ns(graph["starttime"]),
        "endtime": format_ns(graph["endtime"]),
        "processids": processids,
        "nodes": nodes or [],
        "edges": edges or [],
    }


def log_view(row: Row) -> JSONDict:
    return {k: row[k] for k in ("processid", "colonyname", "executorname", "message", "timestamp")}


def cron_view(row: Row, checkerperiod: int = 0) -> JSONDict:
    """A cron in the Go field order (protocol §4.12)."""
    return {
        "cronid": row["cronid"],
        "initiatorid": row["initiatorid"],
        "initiatorname": row["initiatorname"],
        "colonyname": row["colonyname"],
        "name": row["name"],
        "cronexpression": row["cronexpression"],
        "interval": row["intervalsec"],
        "random": bool(row["randomised"]),
        "nextrun": format_ns(row["nextrun"]),
        "lastrun": format_ns(row["lastrun"]),
        "workflowspec": row["workflowspec"],
        "prevprocessgraphid": row["prevprocessgraphid"],
        "waitforprevprocessgraph": bool(row["waitforprevprocessgraph"]),
        "checkerperiod": checkerperiod,
    }


def cron_run_view(row: Row) -> JSONDict:
    """One firing of a cron (ours): the graph it started, when it was due, when it fired, and why."""
    return {
        "cronid": row["cronid"],
        "processgraphid": row["processgraphid"],
        "scheduled": format_ns(row["scheduled"]),
        "fired": format_ns(row["fired"]),
        "reason": row["reason"],
    }


def generator_view(row: Row, checkerperiod: int = 0) -> JSONDict:
    """A generator in the Go field order (protocol §4.11); ``queuesize`` when the row was read with its queue."""
    return {
        "generatorid": row["generatorid"],
        "initiatorid": row["initiatorid"],
        "initiatorname": row["initiatorname"],
        "colonyname": row["colonyname"],
        "name": row["name"],
        "workflowspec": row["workflowspec"],
        "trigger": row["triggersize"],
        "timeout": row["timeoutsec"],
        "firstpack": format_ns(row["firstpack"]),
        "lastrun": format_ns(row["lastrun"]),
        "queuesize": row.get("queued", 0),
        "checkerperiod": checkerperiod,
    }


def generator_run_view(row: Row) -> JSONDict:
    """One workflow a generator started (ours): how many args it took, when, and why."""
    return {
        "generatorid": row["generatorid"],
        "processgraphid": row["processgraphid"],
        "args": row["args"],
        "fired": format_ns(row["fired"]),
        "reason": row["reason"],
    }


def location_view(row: Row) -> JSONDict:
    return {"locationid": row["locationid"], "name": row["name"], "colonyname": row["colonyname"],
            "description": row["description"], "long": row["longitude"], "lat": row["latitude"]}  # fmt: skip

"""Storage rows → wire JSON in the Go server's field order (protocol §4).

JSON columns are spliced in as ``orjson.Fragment`` so a stored spec or output is never parsed just to be
serialised again.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson

from ..blueprints import metadata_json
from ..timefmt import format_ns
from ..types import JSONDict

Row = dict[str, Any]
Fragment = orjson.Fragment


def colony_view(row: Row) -> JSONDict:
    return {"colonyid": row["colonyid"], "name": row["name"]}


def user_view(row: Row) -> JSONDict:
    return {k: row[k] for k in ("colonyname", "userid", "name", "email", "phone")}


def executor_view(row: Row, generation: str = "v1.7.8", place: Row | None = None) -> JSONDict:
    """An executor for a client of ``generation`` (``server/wire.py``): capabilities in the shape it parses, and
    both ``locationname`` (v1.9) and ``location`` (v1.7.8); ``place`` is the named location's row, if any."""
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
        "capabilities": capabilities_view(row["capabilities"], generation),
        "allocations": Fragment(row["allocations"]),
    }
    if row["blueprintid"]:
        view["blueprintid"] = row["blueprintid"]
        view["blueprintgen"] = row["blueprintgen"]
    view["location"] = location_object(row, place)
    return view


def location_object(row: Row, place: Row | None) -> JSONDict:
    """The v1.7.8 ``location``: the coordinates a v1.7.8 client registered with, else those of the named location."""
    if row.get("location"):
        sent = orjson.loads(row["location"])
        return {"long": sent.get("long", 0.0), "lat": sent.get("lat", 0.0), "name": sent.get("name", ""),
                "desc": sent.get("desc", "")}  # fmt: skip
    if place is not None:
        return {"long": place["longitude"], "lat": place["latitude"], "name": place["name"],
                "desc": place["description"]}  # fmt: skip
    return {"long": 0.0, "lat": 0.0, "name": row["locationname"], "desc": ""}


def capabilities_view(stored: str, generation: str = "v1.7.8") -> Any:
    """Capabilities in the shape a client of ``generation`` parses; what the executor sent is kept as sent.

    v1.7.8: ``hardware`` and ``software`` are objects (Go structs); a list is answered with its first element.
    v1.9: lists; an object becomes a one-element list (an all-empty one, a v1.7.8 zero struct, an empty list).
    Unknown (""): ``null``, which every generation parses (an empty list, or a zero struct)."""
    if generation == "v1.7.8" and '"hardware":[' not in stored and '"software":[' not in stored:
        return Fragment(stored)
    caps = orjson.loads(stored)
    if not isinstance(caps, dict):
        return caps
    for key in ("hardware", "software"):
        if key in caps:
            caps[key] = _shaped(caps[key], generation)
    return caps


def _shaped(value: Any, generation: str) -> Any:
    if value is None or not generation:
        return None
    entries = value if isinstance(value, list) else [value]
    entries = [entry for entry in entries if isinstance(entry, dict)]
    if generation == "v1.7.8":
        return entries[0] if entries else {}
    if isinstance(value, dict) and _blank(value):
        return []  # a v1.7.8 client's zero struct: it declared nothing
    return entries


def _blank(value: Any) -> bool:
    """A Go zero value: empty strings, zeros, and objects or lists of nothing else."""
    if isinstance(value, dict):
        return all(_blank(v) for v in value.values())
    if isinstance(value, list):
        return all(_blank(v) for v in value)
    return value in ("", 0, None, False)


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


def file_view(row: Row) -> JSONDict:
    """A file revision in the Go field order (protocol §4.14). S3 secrets are never stored, so ``secretkey`` and
    ``encryptionkey`` are always ""."""
    return {
        "fileid": row["fileid"],
        "colonyname": row["colonyname"],
        "label": row["label"],
        "name": row["name"],
        "size": row["size"],
        "sequencenr": row["seqnr"],
        "checksum": row["checksum"],
        "checksumalg": row["checksumalg"],
        "ref": {
            "protocol": row["protocol"],
            "s3object": {
                "server": row["s3server"],
                "port": row["s3port"],
                "tls": bool(row["s3tls"]),
                "accesskey": row["s3accesskey"],
                "secretkey": "",
                "region": row["s3region"],
                "encryptionkey": "",
                "encryptionalg": row["s3encryptionalg"],
                "object": row["s3object"],
                "bucket": row["s3bucket"],
            },
        },
        "added": format_ns(row["added"]),
    }


def file_data_view(row: Row) -> JSONDict:
    """The newest revision of a name, as getfilesmsg lists it (Go's FileData)."""
    return {"name": row["name"], "checksum": row["checksum"], "size": row["size"], "s3filename": row["s3object"]}


def label_view(row: Row) -> JSONDict:
    """A label and how many file names it holds (Go's Label)."""
    return {"name": row["name"], "files": row["files"]}


def snapshot_view(row: Row) -> JSONDict:
    return {"snapshotid": row["snapshotid"], "colonyname": row["colonyname"], "label": row["label"],
            "name": row["name"], "fileids": Fragment(row["fileids"]), "added": format_ns(row["added"])}  # fmt: skip


def blueprint_definition_view(row: Row) -> Any:
    """A blueprint definition as stored at its addition (``blueprints.definition_json``)."""
    return Fragment(row["data"])


def blueprint_view(row: Row) -> JSONDict:
    """A blueprint in the Go field order (protocol §4.16); ``status`` only once a reconciler reported one."""
    view: JSONDict = {
        "blueprintid": row["blueprintid"],
        "kind": row["kind"],
        "metadata": metadata_json(
            row["name"], row["colonyname"], row["locationname"], orjson.loads(row["labels"]),
            orjson.loads(row["annotations"]), row["generation"], format_ns(row["createdat"]),
            format_ns(row["updatedat"]), row["lastreconciliationprocess"],
            format_ns(row["lastreconciliationtime"]),
        ),
    }  # fmt: skip
    if row["handler"]:
        view["handler"] = Fragment(row["handler"])
    view["spec"] = Fragment(row["spec"])
    if row["status"] != "{}":
        view["status"] = Fragment(row["status"])
    return view


def blueprint_history_view(row: Row) -> JSONDict:
    """One spec change of a blueprint: the spec and status of that generation, who changed it, how."""
    view: JSONDict = {"historyid": row["historyid"], "blueprintid": row["blueprintid"], "kind": row["kind"],
                      "namespace": row["colonyname"], "name": row["name"], "generation": row["generation"],
                      "spec": Fragment(row["spec"])}  # fmt: skip
    if row["status"] != "{}":
        view["status"] = Fragment(row["status"])
    view.update(timestamp=format_ns(row["changed"]), changedby=row["changedby"], changetype=row["changetype"])
    return view
def channel_entry_view(row: Row) -> JSONDict:
    """A channel entry as the Go server's MsgEntry: ``inreplyto`` only when set, ``payload`` as base64 (Go's
    ``[]byte``), ``type`` "data", "end" or "error"."""
    entry: JSONDict = {"sequence": row["sequence"]}
    if row["inreplyto"]:
        entry["inreplyto"] = row["inreplyto"]
    entry["timestamp"] = format_ns(row["timestamp"])
    entry["senderid"] = row["senderid"]
    entry["payload"] = base64.b64encode(bytes(row["payload"])).decode()
    if row["type"]:
        entry["type"] = row["type"]
    return entry

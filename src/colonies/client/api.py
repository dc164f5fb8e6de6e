"""Every SDK operation, defined once: which message it sends, with which fields, and how the reply is read.

``ColoniesAPI`` holds one ``@rpc`` method per operation of python-sdk.md §4 (same names, argument order and
defaults as pycolonies 1.0.25) plus the server's other messages. Each method only *builds* a ``Call``; the
``rpc`` descriptor hands it to the instance's ``_send``. ``Colonies._send`` posts it and returns the parsed reply,
``AsyncColonies._send`` returns a coroutine, so the two clients share every method body and differ only in how
they send (httpx's Client/AsyncClient share ``build_request`` the same way).
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Mapping
from typing import Any

from ..exceptions import ColoniesError, NotFound
from ..generations import is_state_refusal
from .calls import (
    WAIT_MARGIN, Call, Program, as_any, as_channel_entries, as_dict, as_graph, as_list, as_process, as_submitted,
    rpc,
)  # fmt: skip
from .frames import parse_frame, subscribe_frame
from .models import AttrDict, FuncSpec, Process, ProcessGraph, Workflow
from .transport import Verify, tls_context

__all__ = ["WAIT_MARGIN", "Call", "ColoniesAPI", "parse_frame", "rpc", "spec_json", "subscribe_frame", "workflow_json"]


# --- message pieces ----------------------------------------------------------------------------------------------


def spec_json(spec: FuncSpec | Mapping[str, Any]) -> dict[str, Any]:
    """A function spec as sent: a FuncSpec is dumped with JSON keys; a dict goes as given (seed-era code)."""
    return spec.to_dict() if isinstance(spec, FuncSpec) else dict(spec)


def workflow_json(workflow: Workflow | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(workflow, Workflow):
        return workflow.to_dict()
    wf = dict(workflow)
    wf["functionspecs"] = [spec_json(s) for s in wf.get("functionspecs") or []]
    return wf


def _logs_call(msg: dict[str, Any], count: int, prvkey: str, latest: bool) -> Call[list[AttrDict]]:
    if not latest:
        return Call("getlogsmsg", msg, prvkey, as_list)
    return Call("getlogsmsg", {**msg, "latest": True}, prvkey, as_list, when_legacy=True,
                feature="getlogsmsg:latest", legacy=lambda: _newest_logs(msg, count, prvkey))  # fmt: skip


def ssl_context(tls: bool, verify: Verify) -> ssl.SSLContext | None:
    """The client TLS context for ``verify`` (None without TLS); the clients keep theirs on ``_rpc.ssl``."""
    return tls_context(verify) if tls else None


def _leased(msg: dict[str, Any], lease: str) -> dict[str, Any]:
    """Add the fencing token when there is one (plain messages stay byte-identical to pycolonies')."""
    return {**msg, "lease": lease} if lease else msg



# --- how older servers are asked (Call.legacy: only messages the original v1.7.8 has) ---------------------------

#: getlogsmsg's largest ``count`` on the original servers.
MAX_LOG_COUNT = 500


def _state_refused(exc: ColoniesError) -> bool:
    return is_state_refusal(exc.status, exc.message)


def _server_info_from_version(reply: Any) -> AttrDict:
    """What ``versionmsg`` tells, in ``getserverinfomsg``'s shape (no backends)."""
    info = as_dict(reply)
    info.pop("msgtype", None)
    return AttrDict({**info, "backends": []})


def _find_by(listing: Call[list[AttrDict]], key: str, value: str, what: str) -> Program[AttrDict]:
    """One entry of a list call whose ``key`` is ``value`` (removed executors, state 3, do not count)."""
    for entry in (yield listing):
        if entry.get(key) == value and not (key == "executorid" and entry.get("state") == 3):
            return entry
    raise NotFound(f"No {what} with id {value} in colony {listing.msg.get('colonyname', '')}")


def _processes_of_graph(processgraphid: str, prvkey: str, count: int) -> Program[list[AttrDict]]:
    """A workflow's processes one by one: the original servers refuse ``getprocessesmsg`` with state -1."""
    graph = yield Call("getprocessgraphmsg", {"processgraphid": processgraphid}, prvkey, as_dict)
    found = []
    for processid in (graph.get("processids") or [])[:count]:
        found.append((yield Call("getprocessmsg", {"processid": processid}, prvkey, as_any)))
    return found


def _newest_logs(msg: dict[str, Any], count: int, prvkey: str) -> Program[list[AttrDict]]:
    """The newest ``count`` log lines, oldest first, from a server that ignores ``latest`` (v1.7.8): read every
    page after ``since`` and keep the tail."""
    kept: list[AttrDict] = []
    since = int(msg.get("since") or 0)
    while True:
        page = yield Call("getlogsmsg", {**msg, "count": MAX_LOG_COUNT, "since": since}, prvkey, as_list)
        kept = (kept + page)[-count:] if count > 0 else kept + page
        newest = max((int(entry.get("timestamp") or 0) for entry in page), default=since)
        if len(page) < MAX_LOG_COUNT or newest <= since:
            return kept
        since = newest


# --- the API -----------------------------------------------------------------------------------------------------


class ColoniesAPI:
    """Shared by Colonies and AsyncColonies: connection settings and every RPC method.

    Every method takes the caller's private key (``prvkey``); the server decides what the caller may do from the
    identity recovered from the signature. Errors from the server raise ``ColoniesError`` with its message and
    HTTP ``status``; an unreachable server raises ``ColoniesConnectionError``.
    """

    WAITING = 0
    RUNNING = 1
    SUCCESSFUL = 2
    FAILED = 3
    CANCELLED = 4

    def __init__(
        self, host: str, port: int | str, tls: bool = False, native_crypto: bool = False, timeout: float = 60,
        verify: Verify = True,
    ) -> None:  # fmt: skip
        """``native_crypto`` is accepted for pycolonies compatibility; signing always uses libsecp256k1."""
        self.host = host
        self.port = int(port)
        self.tls = tls
        self.native_crypto = native_crypto
        self.timeout = timeout
        self.verify = verify
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://{host}:{self.port}/api"
        self.ws_url = f"{'wss' if tls else 'ws'}://{host}:{self.port}/pubsub"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.host!r}, {self.port}, tls={self.tls})"

    # -- server ----------------------------------------------------------------------------------------------------

    @rpc
    def version(self, prvkey: str | None = None) -> Call[AttrDict]:
        """Server build version and time (unsigned; no key needed)."""
        return Call("versionmsg", {}, prvkey, as_dict)

    @rpc
    def get_server_info(self, prvkey: str | None = None) -> Call[AttrDict]:
        """Build version and listening backends (unsigned; no key needed). A server without this message (the
        original v1.7.8) is asked ``versionmsg`` instead; ``backends`` is then empty."""
        return Call("getserverinfomsg", {}, prvkey, as_dict,
                    legacy=lambda: Call("versionmsg", {}, prvkey, _server_info_from_version))  # fmt: skip

    @rpc
    def get_statistics(self, prvkey: str) -> Call[AttrDict]:
        """Server-wide counts of colonies, executors, processes and workflows (server owner)."""
        return Call("getstatisticsmsg", {}, prvkey, as_dict)

    @rpc
    def get_cluster(self, prvkey: str) -> Call[AttrDict]:
        """The server nodes (server owner)."""
        return Call("getclustermsg", {}, prvkey, as_dict)

    @rpc
    def change_server_id(self, serverid: str, prvkey: str) -> Call[AttrDict]:
        """Hand server ownership to another key's id (server owner)."""
        return Call("changeserveridmsg", {"serverid": serverid}, prvkey, as_dict)

    # -- colonies --------------------------------------------------------------------------------------------------

    @rpc
    def add_colony(self, colony: Mapping[str, Any], prvkey: str) -> Call[AttrDict]:
        """Create a colony ``{"colonyid": <owner id>, "name": ...}`` (server owner)."""
        return Call("addcolonymsg", {"colony": dict(colony)}, prvkey, as_dict)

    @rpc
    def del_colony(self, colonyname: str, prvkey: str) -> Call[AttrDict]:
        """Remove a colony and everything in it (server owner)."""
        return Call("removecolonymsg", {"colonyname": colonyname}, prvkey, as_dict)

    @rpc
    def list_colonies(self, prvkey: str) -> Call[list[AttrDict]]:
        """All colonies (server owner)."""
        return Call("getcoloniesmsg", {}, prvkey, as_list)

    @rpc
    def get_colony(self, colonyname: str, prvkey: str) -> Call[AttrDict]:
        return Call("getcolonymsg", {"colonyname": colonyname}, prvkey, as_dict)

    @rpc
    def stats(self, colonyname: str, prvkey: str) -> Call[AttrDict]:
        """Process and workflow counts per state in one colony (member)."""
        return Call("getcolonystatsmsg", {"colonyname": colonyname}, prvkey, as_dict)

    @rpc
    def change_colony_id(self, colonyname: str, colonyid: str, prvkey: str) -> Call[AttrDict]:
        """Hand colony ownership to another key's id (colony owner)."""
        return Call("changecolonyidmsg", {"colonyname": colonyname, "colonyid": colonyid}, prvkey, as_dict)

    # -- executors -------------------------------------------------------------------------------------------------

    @rpc
    def add_executor(self, executor: Mapping[str, Any], prvkey: str) -> Call[AttrDict]:
        """Register ``{"executorname", "executorid", "colonyname", "executortype"}`` (colony owner); it starts
        pending until approved."""
        return Call("addexecutormsg", {"executor": dict(executor)}, prvkey, as_dict)

    @rpc
    def list_executors(self, colonyname: str, prvkey: str) -> Call[list[AttrDict]]:
        return Call("getexecutorsmsg", {"colonyname": colonyname}, prvkey, as_list)

    @rpc
    def get_executor(self, colonyname: str, executorname: str, prvkey: str) -> Call[AttrDict]:
        return Call("getexecutormsg", {"colonyname": colonyname, "executorname": executorname}, prvkey, as_dict)

    @rpc
    def get_executor_by_id(self, colonyname: str, executorid: str, prvkey: str) -> Call[AttrDict]:
        """One executor by id; from a server without ``getexecutorbyidmsg`` (v1.7.8), found in the list."""
        listing = Call("getexecutorsmsg", {"colonyname": colonyname}, prvkey, as_list)
        return Call("getexecutorbyidmsg", {"colonyname": colonyname, "executorid": executorid}, prvkey, as_dict,
                    legacy=lambda: _find_by(listing, "executorid", executorid, "executor"))  # fmt: skip

    @rpc
    def approve_executor(self, colonyname: str, executorname: str, prvkey: str) -> Call[AttrDict]:
        """Let a registered executor take work (colony owner)."""
        return Call(
            "approveexecutormsg", {"colonyname": colonyname, "executorname": executorname}, prvkey, as_dict
        )

    @rpc
    def reject_executor(self, colonyname: str, executorname: str, prvkey: str) -> Call[AttrDict]:
        return Call(
            "rejectexecutormsg", {"colonyname": colonyname, "executorname": executorname}, prvkey, as_dict
        )

    @rpc
    def remove_executor(self, colonyname: str, executorname: str, prvkey: str) -> Call[AttrDict]:
        """Unregister an executor; its running processes go back to the queue (colony owner)."""
        return Call(
            "removeexecutormsg", {"colonyname": colonyname, "executorname": executorname}, prvkey, as_dict
        )

    @rpc
    def update_executor(
        self, colonyname: str, executorname: str, capabilities: Mapping[str, Any], prvkey: str
    ) -> Call[AttrDict]:
        """Replace the executor's ``{"hardware", "software"}`` capabilities, objects or lists (the executor
        itself)."""
        msg = {"colonyname": colonyname, "executorname": executorname, "capabilities": dict(capabilities)}
        return Call("updateexecutormsg", msg, prvkey, as_dict)

    @rpc
    def report_allocation(
        self, colonyname: str, executorname: str, allocations: Mapping[str, Any], prvkey: str
    ) -> Call[AttrDict]:
        """Replace the executor's ``{"projects": {name: {"allocatedcpu", "usedcpu", ...}}}`` (the executor
        itself; pycolonies' name)."""
        dump = getattr(allocations, "model_dump", None)  # pycolonies passes its pydantic Allocations
        body = dump(by_alias=True) if callable(dump) else dict(allocations)
        msg = {"colonyname": colonyname, "executorname": executorname, "allocations": body}
        return Call("reportallocationmsg", msg, prvkey, as_dict)

    # -- assignment pauses -----------------------------------------------------------------------------------------

    @rpc
    def pause_assignments(self, colonyname: str, prvkey: str) -> Call[AttrDict]:
        """Stop handing out the colony's processes until resumed (colony owner); submissions go on."""
        return Call("pauseassignmentsmsg", {"colonyname": colonyname}, prvkey, as_dict)

    @rpc
    def resume_assignments(self, colonyname: str, prvkey: str) -> Call[AttrDict]:
        """Hand out the colony's processes again (colony owner)."""
        return Call("resumeassignmentsmsg", {"colonyname": colonyname}, prvkey, as_dict)

    @rpc
    def get_pause_status(self, colonyname: str, prvkey: str) -> Call[AttrDict]:
        """``{"colonyname", "ispaused"}`` (a member or the colony owner)."""
        return Call("getpausestatusmsg", {"colonyname": colonyname}, prvkey, as_dict)

    # -- processes -------------------------------------------------------------------------------------------------

    @rpc
    def submit_func_spec(self, spec: FuncSpec | Mapping[str, Any], prvkey: str) -> Call[Process]:
        """Submit one function spec; returns the waiting process."""
        return Call("submitfuncspecmsg", {"spec": spec_json(spec)}, prvkey, as_process)

    @rpc
    def submit_workflow(self, workflow: Workflow | Mapping[str, Any], prvkey: str) -> Call[ProcessGraph]:
        """Submit a DAG of function specs; returns the process graph."""
        return Call("submitworkflowspecmsg", {"spec": workflow_json(workflow)}, prvkey, as_graph)

    @rpc
    def submit(
        self, spec: Workflow | FuncSpec | Mapping[str, Any], prvkey: str
    ) -> Call[Process | ProcessGraph]:
        """Seed-era submit: a Workflow (or a dict with ``functionspecs``) becomes a ProcessGraph, a function spec
        a Process."""
        if isinstance(spec, Workflow) or (isinstance(spec, Mapping) and "functionspecs" in spec):
            return Call("submitworkflowspecmsg", {"spec": workflow_json(spec)}, prvkey, as_submitted)
        return Call("submitfuncspecmsg", {"spec": spec_json(spec)}, prvkey, as_submitted)

    @rpc
    def assign(
        self, colonyname: str, timeout: int, prvkey: str, availablecpu: str = "", availablemem: str = ""
    ) -> Call[Process]:
        """Take the next process this executor may run, waiting up to ``timeout`` s (-1: do not wait).

        Raises ColoniesError with status 404 when nothing arrived in time.
        """
        msg: dict[str, Any] = {"timeout": timeout, "colonyname": colonyname}
        if availablecpu:
            msg["availablecpu"] = availablecpu
        if availablemem:
            msg["availablemem"] = availablemem
        return Call("assignprocessmsg", msg, prvkey, as_process, max(timeout, 0) + WAIT_MARGIN)

    @rpc
    def list_processes(
        self, colonyname: str, count: int, state: int, prvkey: str, executortype: str = "", label: str = "",
        initiator: str = "",
    ) -> Call[list[AttrDict]]:  # fmt: skip
        """Up to ``count`` processes in ``state`` (as dicts, like pycolonies); optionally one executortype, label
        or initiator name."""
        msg: dict[str, Any] = {"colonyname": colonyname, "count": count, "state": state}
        for key, value in (("executortype", executortype), ("label", label), ("initiator", initiator)):
            if value:
                msg[key] = value
        return Call("getprocessesmsg", msg, prvkey, as_list)

    @rpc
    def get_process(self, processid: str, prvkey: str) -> Call[Process]:
        return Call("getprocessmsg", {"processid": processid}, prvkey, as_process)

    @rpc
    def get_process_hist(
        self, colonyname: str, seconds: int, state: int, prvkey: str, executorid: str = ""
    ) -> Call[list[AttrDict]]:
        """Processes in ``state`` that changed within the last ``seconds`` (optionally run by one executor)."""
        msg = {"colonyname": colonyname, "executorid": executorid, "seconds": seconds, "state": state}
        return Call("getprocesshistmsg", msg, prvkey, as_list)

    @rpc
    def remove_process(self, processid: str, prvkey: str) -> Call[AttrDict]:
        return Call("removeprocessmsg", {"processid": processid}, prvkey, as_dict)

    @rpc
    def remove_all_processes(self, colonyname: str, prvkey: str, state: int = -1) -> Call[AttrDict]:
        """Remove the colony's processes outside workflows in ``state`` (-1: every state but running; owner)."""
        return Call("removeallprocessesmsg", {"colonyname": colonyname, "state": state}, prvkey, as_dict)

    @rpc
    def close(self, processid: str, output: list[Any] | None, prvkey: str, lease: str = "") -> Call[AttrDict]:
        """Close a running process as successful with ``output`` (the assigned executor). ``lease`` (the
        process's ``starttime`` from assign) makes the server refuse the call once that assignment ended."""
        msg = _leased({"processid": processid, "out": list(output or [])}, lease)
        return Call("closesuccessfulmsg", msg, prvkey, as_dict)

    @rpc
    def fail(self, processid: str, errors: list[str] | None, prvkey: str, lease: str = "") -> Call[AttrDict]:
        """Close a running process as failed with ``errors`` (the assigned executor)."""
        msg = _leased({"processid": processid, "errors": list(errors or [])}, lease)
        return Call("closefailedmsg", msg, prvkey, as_dict)

    @rpc
    def set_output(self, processid: str, arr: list[Any], prvkey: str, lease: str = "") -> Call[AttrDict]:
        """Publish output before closing (the assigned executor)."""
        return Call("setoutputmsg", _leased({"processid": processid, "out": list(arr)}, lease), prvkey, as_dict)

    @rpc
    def cancel_process(self, processid: str, prvkey: str) -> Call[AttrDict]:
        """Cancel a waiting or running process that is not part of a workflow."""
        return Call("cancelprocessmsg", {"processid": processid}, prvkey, as_dict)

    # -- attributes and logs ---------------------------------------------------------------------------------------

    @rpc
    def add_attribute(
        self, processid: str, key: str, value: str, prvkey: str, attributetype: int = 1, lease: str = ""
    ) -> Call[AttrDict]:
        """Attach a key/value to a running process (type 1 = out, as pycolonies)."""
        attribute = {"key": key, "value": value, "targetid": processid, "attributetype": attributetype}
        return Call("addattributemsg", _leased({"attribute": attribute}, lease), prvkey, as_dict)

    @rpc
    def get_attribute(self, attributeid: str, prvkey: str) -> Call[AttrDict]:
        return Call("getattributemsg", {"attributeid": attributeid}, prvkey, as_dict)

    @rpc
    def add_log(self, processid: str, logmsg: str, prvkey: str, lease: str = "") -> Call[AttrDict]:
        """Append a log line to a running process (the assigned executor)."""
        return Call("addlogmsg", _leased({"processid": processid, "message": logmsg}, lease), prvkey, as_dict)

    @rpc
    def add_executor_log(
        self, colonyname: str, executorname: str, message: str, prvkey: str
    ) -> Call[AttrDict]:
        """Append a log line not tied to a process (the executor itself)."""
        msg = {"colonyname": colonyname, "executorname": executorname, "message": message}
        return Call("addexecutorlogmsg", msg, prvkey, as_dict)

    @rpc
    def get_process_log(
        self, colonyname: str, processid: str, count: int, since: int, prvkey: str, latest: bool = False
    ) -> Call[list[AttrDict]]:
        """Up to ``count`` log lines of a process after ``since`` (Unix ns); ``latest`` gives the newest ones
        (from a server that ignores ``latest``, v1.7.8, by reading every page)."""
        msg: dict[str, Any] = {"colonyname": colonyname, "executorid": "", "processid": processid, "count": count,
                               "since": since}  # fmt: skip
        return _logs_call(msg, count, prvkey, latest)

    @rpc
    def get_executor_log(
        self, colonyname: str, executorname: str, count: int, since: int, prvkey: str, latest: bool = False
    ) -> Call[list[AttrDict]]:
        """Up to ``count`` log lines written by an executor after ``since`` (Unix ns)."""
        msg: dict[str, Any] = {"colonyname": colonyname, "executorname": executorname, "processid": "",
                               "count": count, "since": since}  # fmt: skip
        return _logs_call(msg, count, prvkey, latest)

    @rpc
    def search_logs(
        self, colonyname: str, text: str, days: int, count: int, prvkey: str
    ) -> Call[list[AttrDict]]:
        """Log lines of the last ``days`` days containing ``text``."""
        msg = {"colonyname": colonyname, "text": text, "days": days, "count": count}
        return Call("searchlogsmsg", msg, prvkey, as_list)

    # -- workflows -------------------------------------------------------------------------------------------------

    @rpc
    def get_processgraph(self, processgraphid: str, prvkey: str) -> Call[ProcessGraph]:
        """A workflow with its dashboard layout (``nodes``, ``edges``)."""
        return Call("getprocessgraphmsg", {"processgraphid": processgraphid}, prvkey, as_graph)

    @rpc
    def get_processgraphs(
        self, colonyname: str, count: int, prvkey: str, state: int | None = None
    ) -> Call[list[AttrDict]]:
        """Up to ``count`` workflows, newest first. Without ``state`` the server takes 0 (waiting), as Go does."""
        msg: dict[str, Any] = {"colonyname": colonyname, "count": count}
        if state is not None:
            msg["state"] = state
        return Call("getprocessgraphsmsg", msg, prvkey, as_list)

    @rpc
    def remove_processgraph(self, processgraphid: str, prvkey: str) -> Call[AttrDict]:
        return Call("removeprocessgraphmsg", {"processgraphid": processgraphid}, prvkey, as_dict)

    @rpc
    def remove_all_processgraphs(
        self, colonyname: str, prvkey: str, state: int | None = None
    ) -> Call[AttrDict]:
        """Remove the colony's workflows in ``state`` (-1: all but running). Without ``state`` the server takes 0
        (waiting), as pycolonies sends it."""
        msg: dict[str, Any] = {"colonyname": colonyname}
        if state is not None:
            msg["state"] = state
        return Call("removeallprocessgraphsmsg", msg, prvkey, as_dict)

    @rpc
    def cancel_processgraph(self, processgraphid: str, prvkey: str) -> Call[AttrDict]:
        """Cancel every waiting or running process of a workflow."""
        return Call("cancelprocessgraphmsg", {"processgraphid": processgraphid}, prvkey, as_dict)

    cancel_workflow = cancel_processgraph

    @rpc
    def get_processes_for_workflow(
        self, processgraphid: str, colonyname: str, prvkey: str, count: int = 100
    ) -> Call[list[AttrDict]]:
        """The processes of one workflow (as dicts). The original servers refuse state -1 (and ignore
        ``processgraphid``): from them the processes are read one by one through the graph's ``processids``."""
        msg = {"processgraphid": processgraphid, "colonyname": colonyname, "count": count, "state": -1}
        return Call("getprocessesmsg", msg, prvkey, as_list, when_legacy=True, legacy_on=_state_refused,
                    feature="getprocessesmsg:processgraphid",
                    legacy=lambda: _processes_of_graph(processgraphid, prvkey, count))  # fmt: skip

    @rpc
    def add_child(
        self, processgraphid: str, parentprocessid: str, childprocessid: str, funcspec: FuncSpec | Mapping[str, Any],
        nodename: str, insert: bool, prvkey: str,
    ) -> Call[AttrDict]:  # fmt: skip
        """Splice a new process named ``nodename`` into a running workflow below ``parentprocessid`` (before
        ``childprocessid`` when ``insert``); called by the executor running the parent."""
        spec = {**spec_json(funcspec), "nodename": nodename}
        msg = {"processgraphid": processgraphid, "parentprocessid": parentprocessid, "childprocessid": childprocessid,
               "insert": insert, "spec": spec}  # fmt: skip
        return Call("addchildmsg", msg, prvkey, as_dict)

    # -- functions -------------------------------------------------------------------------------------------------

    @rpc
    def add_function(
        self, colonyname: str, executorname: str, funcname: str, prvkey: str, description: str = ""
    ) -> Call[AttrDict]:
        """Announce that this executor offers ``funcname`` (the executor itself)."""
        fun = {"executorname": executorname, "colonyname": colonyname, "funcname": funcname}
        if description:
            fun["description"] = description
        return Call("addfunctionmsg", {"fun": fun}, prvkey, as_dict)

    @rpc
    def get_functions_by_executor(
        self, colonyname: str, executorname: str, prvkey: str
    ) -> Call[list[AttrDict]]:
        return Call(
            "getfunctionsmsg", {"colonyname": colonyname, "executorname": executorname}, prvkey, as_list
        )

    @rpc
    def get_functions_by_colony(self, colonyname: str, prvkey: str) -> Call[list[AttrDict]]:
        return Call("getfunctionsmsg", {"colonyname": colonyname}, prvkey, as_list)

    @rpc
    def remove_function(self, functionid: str, prvkey: str) -> Call[AttrDict]:
        return Call("removefunctionmsg", {"functionid": functionid}, prvkey, as_dict)

    # -- users -----------------------------------------------------------------------------------------------------

    @rpc
    def add_user(self, user: Mapping[str, Any], prvkey: str) -> Call[AttrDict]:
        """Add ``{"colonyname", "userid", "name", "email", "phone"}`` (colony owner)."""
        return Call("addusermsg", {"user": dict(user)}, prvkey, as_dict)

    @rpc
    def get_users(self, colonyname: str, prvkey: str) -> Call[list[AttrDict]]:
        return Call("getusersmsg", {"colonyname": colonyname}, prvkey, as_list)

    @rpc
    def get_user(self, colonyname: str, name: str, prvkey: str) -> Call[AttrDict]:
        return Call("getusermsg", {"colonyname": colonyname, "name": name}, prvkey, as_dict)

    @rpc
    def get_user_by_id(self, colonyname: str, userid: str, prvkey: str) -> Call[AttrDict]:
        """One user by id; from a server without ``getuserbyidmsg`` (v1.7.8), found in the list."""
        listing = Call("getusersmsg", {"colonyname": colonyname}, prvkey, as_list)
        return Call("getuserbyidmsg", {"colonyname": colonyname, "userid": userid}, prvkey, as_dict,
                    legacy=lambda: _find_by(listing, "userid", userid, "user"))  # fmt: skip

    @rpc
    def remove_user(self, colonyname: str, name: str, prvkey: str) -> Call[AttrDict]:
        return Call("removeusermsg", {"colonyname": colonyname, "name": name}, prvkey, as_dict)

    @rpc
    def change_user_id(self, colonyname: str, userid: str, prvkey: str) -> Call[AttrDict]:
        """Rotate the calling user's key: from now on ``userid`` (the new key's id) is this user."""
        return Call("changeuseridmsg", {"colonyname": colonyname, "userid": userid}, prvkey, as_dict)

    @rpc
    def change_executor_id(self, colonyname: str, executorid: str, prvkey: str) -> Call[AttrDict]:
        """Rotate the calling executor's key; the processes it runs follow it to ``executorid``."""
        return Call("changeexecutoridmsg", {"colonyname": colonyname, "executorid": executorid}, prvkey, as_dict)

    # -- locations ---------------------------------------------------------------------------------------------------

    @rpc
    def add_location(
        self, colonyname: str, name: str, prvkey: str, description: str = "", long: float = 0.0, lat: float = 0.0,
        locationid: str = "",
    ) -> Call[AttrDict]:  # fmt: skip
        """Add a named place (colony owner); executors and processes refer to it by ``name``."""
        location = {"locationid": locationid, "name": name, "colonyname": colonyname, "description": description,
                    "long": float(long), "lat": float(lat)}  # fmt: skip
        return Call("addlocationmsg", {"location": location}, prvkey, as_dict)

    @rpc
    def get_locations(self, colonyname: str, prvkey: str) -> Call[list[AttrDict]]:
        return Call("getlocationsmsg", {"colonyname": colonyname}, prvkey, as_list)

    @rpc
    def get_location(self, colonyname: str, name: str, prvkey: str) -> Call[AttrDict]:
        return Call("getlocationmsg", {"colonyname": colonyname, "name": name}, prvkey, as_dict)

    @rpc
    def remove_location(self, colonyname: str, name: str, prvkey: str) -> Call[AttrDict]:
        return Call("removelocationmsg", {"colonyname": colonyname, "name": name}, prvkey, as_dict)

    # -- crons and generators (sent as pycolonies sends them; a server without them answers 403) ----------------------

    @rpc
    def add_cron(
        self, cronname: str, cronexpr: str, wait: bool, workflow: Workflow | Mapping[str, Any], colonyname: str,
        prvkey: str, interval: int = -1, random: bool = False,
    ) -> Call[AttrDict]:  # fmt: skip
        """Run ``workflow`` on a schedule: ``cronexpr`` (six fields with seconds, or ``@daily``, ``@every 10s``),
        or every ``interval`` seconds (``cronexpr`` ignored), at a random time within each interval if ``random``.
        ``wait`` holds a run until the previous workflow has ended."""
        cron = {"name": cronname, "colonyname": colonyname, "interval": interval, "random": random,
                "waitforprevprocessgraph": wait, "cronexpression": cronexpr if interval == -1 else "",
                "workflowspec": json.dumps(workflow_json(workflow))}  # fmt: skip
        # QUIRK(python-sdk.md §4.5): pycolonies misspells the key; sent too so its servers see the same message.
        cron["waitforprevprocessgrap"] = wait
        return Call("addcronmsg", {"cron": cron}, prvkey, as_dict)

    @rpc
    def get_cron(self, cronid: str, prvkey: str) -> Call[AttrDict]:
        return Call("getcronmsg", {"cronid": cronid}, prvkey, as_dict)

    @rpc
    def get_crons(self, colonyname: str, count: int, prvkey: str) -> Call[list[AttrDict]]:
        return Call("getcronsmsg", {"colonyname": colonyname, "count": count}, prvkey, as_list)

    @rpc
    def del_cron(self, cronid: str, prvkey: str) -> Call[AttrDict]:
        return Call("removecronmsg", {"all": False, "cronid": cronid}, prvkey, as_dict)

    @rpc
    def run_cron(self, cronid: str, prvkey: str) -> Call[Any]:
        return Call("runcronmsg", {"cronid": cronid}, prvkey, as_any)

    @rpc
    def get_cron_runs(self, cronid: str, prvkey: str, count: int = 20) -> Call[list[AttrDict]]:
        """The cron's recent firings, newest first: the workflow each started, when it was due and fired, why."""
        return Call("getcronrunsmsg", {"cronid": cronid, "count": count}, prvkey, as_list)

    @rpc
    def get_generators(self, colonyname: str, prvkey: str, count: int = 100) -> Call[list[AttrDict]]:
        return Call("getgeneratorsmsg", {"colonyname": colonyname, "count": count}, prvkey, as_list)

    @rpc
    def get_generator(self, generatorid: str, prvkey: str) -> Call[AttrDict]:
        return Call("getgeneratormsg", {"generatorid": generatorid}, prvkey, as_dict)

    @rpc
    def add_generator(self, generator: Mapping[str, Any], prvkey: str) -> Call[AttrDict]:
        return Call("addgeneratormsg", {"generator": dict(generator)}, prvkey, as_dict)

    @rpc
    def remove_generator(self, generatorid: str, prvkey: str) -> Call[AttrDict]:
        return Call("removegeneratormsg", {"generatorid": generatorid}, prvkey, as_dict)

    @rpc
    def pack_generator(self, generatorid: str, arg: str, prvkey: str) -> Call[AttrDict]:
        """Queue ``arg``; every ``trigger`` args (or what waited ``timeout`` s) become the args of one workflow."""
        return Call("packgeneratormsg", {"generatorid": generatorid, "arg": arg}, prvkey, as_dict)

    @rpc
    def resolve_generator(self, colonyname: str, generatorname: str, prvkey: str) -> Call[AttrDict]:
        return Call("resolvegeneratormsg", {"colonyname": colonyname, "generatorname": generatorname}, prvkey, as_dict)

    @rpc
    def get_generator_runs(self, generatorid: str, prvkey: str, count: int = 20) -> Call[list[AttrDict]]:
        """The workflows the generator started, newest first, with how many args each took and why."""
        return Call("getgeneratorrunsmsg", {"generatorid": generatorid, "count": count}, prvkey, as_list)

    # -- snapshots and file metadata (the byte transfers, upload_file and friends, are on Colonies: colonies.fs) ----

    @rpc
    def add_file(self, file: Mapping[str, Any], prvkey: str) -> Call[AttrDict]:
        """Register a file revision's metadata; its bytes must already be in the store (see ``upload_file``)."""
        return Call("addfilemsg", {"file": dict(file)}, prvkey, as_dict)

    @rpc
    def remove_file(
        self, colonyname: str, prvkey: str, fileid: str = "", label: str = "", name: str = ""
    ) -> Call[AttrDict]:
        """Forget a revision (by id) or every revision of a name (label and name); the bytes stay in the store."""
        msg = {"colonyname": colonyname, "fileid": fileid, "label": label, "name": name}
        return Call("removefilemsg", msg, prvkey, as_dict)

    @rpc
    def remove_snapshot(self, colonyname: str, prvkey: str, snapshotid: str = "", name: str = "") -> Call[AttrDict]:
        msg = {"colonyname": colonyname, "snapshotid": snapshotid, "name": name}
        return Call("removesnapshotmsg", msg, prvkey, as_dict)

    @rpc
    def remove_all_snapshots(self, colonyname: str, prvkey: str) -> Call[AttrDict]:
        return Call("removeallsnapshotmsg", {"colonyname": colonyname}, prvkey, as_dict)

    @rpc
    def create_snapshot(self, colonyname: str, label: str, name: str, prvkey: str) -> Call[AttrDict]:
        return Call(
            "createsnapshotmsg", {"colonyname": colonyname, "label": label, "name": name}, prvkey, as_dict
        )

    @rpc
    def get_snapshots(self, colonyname: str, prvkey: str) -> Call[list[AttrDict]]:
        return Call("getsnapshotsmsg", {"colonyname": colonyname}, prvkey, as_list)

    @rpc
    def get_snapshot_by_name(self, colonyname: str, name: str, prvkey: str) -> Call[AttrDict]:
        msg = {"colonyname": colonyname, "snapshotid": "", "name": name}
        return Call("getsnapshotmsg", msg, prvkey, as_dict)

    @rpc
    def get_snapshot_by_id(self, colonyname: str, snapshotid: str, prvkey: str) -> Call[AttrDict]:
        msg = {"colonyname": colonyname, "snapshotid": snapshotid, "name": ""}
        return Call("getsnapshotmsg", msg, prvkey, as_dict)

    @rpc
    def get_files(self, label: str, colonyname: str, prvkey: str) -> Call[list[AttrDict]]:
        return Call("getfilesmsg", {"colonyname": colonyname, "label": label}, prvkey, as_list)

    @rpc
    def get_file_labels(
        self, colonyname: str, prvkey: str, name: str = "", exact: bool = False
    ) -> Call[list[AttrDict]]:
        return Call(
            "getfilelabelsmsg", {"colonyname": colonyname, "name": name, "exact": exact}, prvkey, as_list
        )

    @rpc
    def get_file(
        self, colonyname: str, prvkey: str, label: str | None = None, fileid: str | None = None,
        filename: str | None = None, latest: bool = True,
    ) -> Call[list[AttrDict]]:  # fmt: skip
        """File metadata by id, or by label and name (a list: one entry, or every revision unless ``latest``)."""
        if fileid is not None and filename is not None:
            raise ValueError("fileid and filename are mutually exclusive")
        msg = {"colonyname": colonyname, "fileid": fileid, "label": label, "name": filename, "latest": latest}
        return Call("getfilemsg", msg, prvkey, as_list)

    # -- channels --------------------------------------------------------------------------------------------------

    @rpc
    def channel_append(
        self, processid: str, channel_name: str, sequence: int, payload: bytes | str, prvkey: str,
        in_reply_to: int = 0, payload_type: str = "",
    ) -> Call[Any]:  # fmt: skip
        """Append a message to a running process's channel (payload sent as a list of byte values)."""
        data = payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)
        msg = {"processid": processid, "name": channel_name, "sequence": sequence, "inreplyto": in_reply_to,
               "payload": list(data), "payloadtype": payload_type}  # fmt: skip
        return Call("channelappendmsg", msg, prvkey, as_any)

    @rpc
    def channel_read(
        self, processid: str, channel_name: str, after_seq: int, limit: int, prvkey: str
    ) -> Call[list[AttrDict]]:
        msg = {"processid": processid, "name": channel_name, "afterseq": after_seq, "limit": limit}
        return Call("channelreadmsg", msg, prvkey, as_channel_entries)

    # -- blueprints ------------------------------------------------------------------------------------------------

    @rpc
    def add_blueprint_definition(self, definition: Mapping[str, Any], prvkey: str) -> Call[Any]:
        return Call("addblueprintdefinitionmsg", {"blueprintdefinition": dict(definition)}, prvkey, as_any)

    @rpc
    def get_blueprint_definition(self, colony_name: str, name: str, prvkey: str) -> Call[Any]:
        return Call("getblueprintdefinitionmsg", {"colonyname": colony_name, "name": name}, prvkey, as_any)

    @rpc
    def get_blueprint_definitions(self, colony_name: str, prvkey: str) -> Call[Any]:
        return Call("getblueprintdefinitionsmsg", {"colonyname": colony_name}, prvkey, as_any)

    @rpc
    def remove_blueprint_definition(self, colony_name: str, name: str, prvkey: str) -> Call[Any]:
        return Call("removeblueprintdefinitionmsg", {"namespace": colony_name, "name": name}, prvkey, as_any)

    @rpc
    def add_blueprint(self, blueprint: Mapping[str, Any], prvkey: str) -> Call[Any]:
        return Call("addblueprintmsg", {"blueprint": dict(blueprint)}, prvkey, as_any)

    @rpc
    def get_blueprint(self, colony_name: str, name: str, prvkey: str) -> Call[Any]:
        return Call("getblueprintmsg", {"namespace": colony_name, "name": name}, prvkey, as_any)

    @rpc
    def get_blueprints(
        self, colony_name: str, prvkey: str, kind: str | None = None, location: str | None = None
    ) -> Call[Any]:
        msg: dict[str, Any] = {"namespace": colony_name}
        if kind:
            msg["kind"] = kind
        if location:
            msg["locationname"] = location
        return Call("getblueprintsmsg", msg, prvkey, as_any)

    @rpc
    def update_blueprint(
        self, blueprint: Mapping[str, Any], prvkey: str, force_generation: bool = False
    ) -> Call[Any]:
        msg = {"blueprint": dict(blueprint), "forcegeneration": force_generation}
        return Call("updateblueprintmsg", msg, prvkey, as_any)

    @rpc
    def remove_blueprint(self, colony_name: str, name: str, prvkey: str) -> Call[Any]:
        return Call("removeblueprintmsg", {"namespace": colony_name, "name": name}, prvkey, as_any)

    @rpc
    def update_blueprint_status(
        self, colony_name: str, name: str, status: Mapping[str, Any], prvkey: str
    ) -> Call[Any]:
        msg = {"colonyname": colony_name, "blueprintname": name, "status": dict(status)}
        return Call("updateblueprintstatusmsg", msg, prvkey, as_any)

    @rpc
    def reconcile_blueprint(self, colony_name: str, name: str, prvkey: str, force: bool = False) -> Call[Any]:
        return Call(
            "reconcileblueprintmsg", {"namespace": colony_name, "name": name, "force": force}, prvkey, as_any
        )

    @rpc
    def get_blueprint_history(self, blueprint_id: str, prvkey: str, limit: int | None = None) -> Call[Any]:
        msg: dict[str, Any] = {"blueprintid": blueprint_id}
        if limit is not None:
            msg["limit"] = limit
        return Call("getblueprinthistorymsg", msg, prvkey, as_any)

"""``--wire-generation 1.7.8``: answer as the original v1.7.8 server does. A test and compatibility aid, so
clients can be tried against "an old server" without one; not meant for production.

In that generation the server
* refuses every message v1.7.8 does not have (colonies.generations.V1_7_8) exactly as v1.7.8 does: the signature is
  checked first (so an unsigned ``getserverinfomsg`` gets 403 from the signature check), then 403
  ``invalid rpcMsg.PayloadType, <type>``; the same on /pubsub;
* is as strict as v1.7.8 where this server is lenient: process and workflow lists take states 0-3 only (400
  ``invalid msg.State``), and an executor whose ``capabilities.hardware`` or ``.software`` is an array (the v1.9
  shape) cannot be parsed (400 ``Failed to add executor, invalid JSON``);
* ignores the request fields v1.7.8 does not know and that change a reply: ``latest`` of ``getlogsmsg``, and this
  server's paging and filters (``offset``, ``funcname``, ``processgraphid``) of the process and workflow lists;
* leaves out of statistics the counts v1.9 added.
Everything else (roles, validation, the fixes listed in compatibility.md) stays as in the current generation.
"""

from __future__ import annotations

from typing import Any

from ..exceptions import BadRequest
from ..generations import NEWER_STATISTICS, V1_7_8

LEGACY = "1.7.8"


def knows(generation: str, payloadtype: str) -> bool:
    """Whether the generation has the message (the current one: every message this server has)."""
    return generation != LEGACY or payloadtype in V1_7_8


#: Request fields v1.7.8 does not have, per message, and the value that means "not given".
UNKNOWN_FIELDS: dict[str, dict[str, Any]] = {
    "getlogsmsg": {"latest": False},
    "getprocessesmsg": {"offset": 0, "funcname": "", "processgraphid": ""},
    "getprocessgraphsmsg": {"offset": 0},
}


def read_message(generation: str, payloadtype: str, msg: Any) -> Any:
    """The message as v1.7.8 reads it: refused where v1.7.8 refuses what this server accepts, without the fields
    it does not know."""
    if generation != LEGACY:
        return msg
    if payloadtype == "getprocessesmsg" and not 0 <= msg.state <= 3:
        raise BadRequest("Failed to get processes, invalid msg.State")
    if payloadtype == "getprocessgraphsmsg" and not 0 <= msg.state <= 3:
        raise BadRequest("invalid msg.State")
    if payloadtype == "addexecutormsg" and "capabilities" in msg.executor.model_fields_set:
        caps = msg.executor.capabilities
        if isinstance(caps.get("hardware"), list) or isinstance(caps.get("software"), list):
            raise BadRequest("Failed to add executor, invalid JSON")
    unknown = UNKNOWN_FIELDS.get(payloadtype)
    return msg.model_copy(update=unknown) if unknown else msg


def shape_reply(generation: str, payloadtype: str, result: Any) -> Any:
    """A reply as v1.7.8 gives it (statistics without the v1.9 counts)."""
    if generation == LEGACY and payloadtype in ("getstatisticsmsg", "getcolonystatsmsg") and isinstance(result, dict):
        return {k: v for k, v in result.items() if k not in NEWER_STATISTICS}
    return result

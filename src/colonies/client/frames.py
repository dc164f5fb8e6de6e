"""The /pubsub frames of ``wait``: the signed subscription the client sends and the process it gets back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import envelope
from ..exceptions import ColoniesError
from .calls import as_process
from .models import Process


def _process_ref(process: Process | Mapping[str, Any] | str) -> tuple[str, str, str]:
    """(processid, colonyname, executortype) of a Process, a process dict, or a bare process id."""
    if isinstance(process, str):
        return process, "", ""
    conditions = process["spec"]["conditions"]
    return process["processid"], conditions.get("colonyname") or "", conditions.get("executortype") or ""


def subscribe_frame(process: Process | Mapping[str, Any] | str, timeout: int, state: int, prvkey: str) -> str:
    """The one /pubsub text frame of ``wait``: a signed subscribeprocessmsg envelope."""
    processid, colonyname, executortype = _process_ref(process)
    msg = {"colonyname": colonyname, "processid": processid, "executortype": executortype, "state": state,
           "timeout": timeout}  # fmt: skip
    return envelope.build_request("subscribeprocessmsg", msg, prvkey).decode()


def parse_frame(frame: str | bytes) -> Process:
    """A /pubsub reply frame: the process, or the server's error (408 when the subscription timed out)."""
    try:
        is_error, payload = envelope.decode_reply(frame.encode() if isinstance(frame, str) else frame)
    except ValueError:
        raise ColoniesError("Unexpected frame from the server", 502) from None
    if is_error:
        raise ColoniesError(str(payload.get("message", "")), int(payload.get("status") or 500))
    return as_process(payload)

"""Enums and limits shared by server, SDK and CLI (protocol §4.1)."""

from __future__ import annotations

from enum import IntEnum
from typing import Any

JSONDict = dict[str, Any]


class ProcessState(IntEnum):
    WAITING = 0
    RUNNING = 1
    SUCCESS = 2
    FAILED = 3
    CANCELLED = 4


#: ``removeall*`` uses -1 for "every state".
NOTSET = -1


class ExecutorState(IntEnum):
    PENDING = 0
    APPROVED = 1
    REJECTED = 2
    UNREGISTERED = 3


class AttributeType(IntEnum):
    IN = 0
    OUT = 1
    ERR = 2
    ENV = 3


def processes_per_node(conditions: Any) -> Any:
    """Conditions with ``processes-per-node`` (v1.7.8, the seed's specs) read as ``processespernode`` (v1.8.7 and
    later); the newer spelling wins when both are given. Anything but a mapping is returned unchanged."""
    if not isinstance(conditions, dict) or "processes-per-node" not in conditions:
        return conditions
    conditions = dict(conditions)
    old = conditions.pop("processes-per-node")
    if conditions.get("processespernode") in (None, 0):
        conditions["processespernode"] = old
    return conditions


MAX_COUNT = 100  #: list calls
MAX_LOG_COUNT = 500
MAX_LOG_DAYS = 30
#: Channels a function spec may declare (the Go server's limit per process).
MAX_CHANNELS = 100
MIN_PRIORITY = -50_000
MAX_PRIORITY = 50_000
#: One priority unit moves a process one day ahead in the queue.
PRIORITY_UNIT_NS = 86_400_000_000_000

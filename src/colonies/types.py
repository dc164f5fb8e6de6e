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


MAX_COUNT = 100  #: list calls
MAX_LOG_COUNT = 500
MAX_LOG_DAYS = 30
MIN_PRIORITY = -50_000
MAX_PRIORITY = 50_000
#: One priority unit moves a process one day ahead in the queue.
PRIORITY_UNIT_NS = 86_400_000_000_000

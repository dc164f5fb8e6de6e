"""``SQLStore``: the storage API the handlers call, one class per area put together over one driver."""

from __future__ import annotations

from .attributes import AttributeStore
from .base import UniqueViolation
from .blueprints import BlueprintStore
from .channels import ChannelStore
from .colonies import ColonyStore
from .core import PendingNonce, request_nonce
from .crons import CronStore
from .executors import ExecutorStore
from .files import FileStore
from .functions import FunctionStore
from .generators import GeneratorStore
from .locations import LocationStore
from .logs import LogStore
from .pauses import PauseStore
from .processes import ProcessStore
from .replicas import ReplicaStore
from .server import ServerStore
from .users import UserStore
from .wire import WireStore
from .workflows import WorkflowStore


class SQLStore(
    ServerStore, ColonyStore, UserStore, ExecutorStore, FunctionStore, ProcessStore, WorkflowStore, AttributeStore,
    LogStore, CronStore, GeneratorStore, LocationStore, FileStore, PauseStore, WireStore, ReplicaStore,
    BlueprintStore, ChannelStore,
):  # fmt: skip
    """Every storage operation, over a driver (SQLite or PostgreSQL); each area's methods live in its module."""


__all__ = ["PendingNonce", "SQLStore", "UniqueViolation", "request_nonce"]

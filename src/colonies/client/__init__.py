"""Client side: the SDK (``Colonies``, ``AsyncColonies``), its models, and the signed RPC transport."""

from .aio import AsyncColonies
from .api import ColoniesAPI
from .calls import Call
from .client import Colonies, ColoniesConfigError, colonies_client
from .models import (
    AttrDict,
    Attribute,
    Conditions,
    File,
    Fs,
    FuncSpec,
    Gpu,
    Position,
    Process,
    ProcessEdge,
    ProcessGraph,
    ProcessNode,
    Reference,
    S3Object,
    Workflow,
    func_spec,
)
from .transport import AsyncRPCClient, RPCClient

__all__ = [
    "AsyncColonies", "AsyncRPCClient", "AttrDict", "Attribute", "Call", "Colonies", "ColoniesAPI",
    "ColoniesConfigError", "Conditions", "File", "Fs", "FuncSpec", "Gpu", "Position", "Process", "ProcessEdge",
    "ProcessGraph", "ProcessNode", "RPCClient", "Reference", "S3Object", "Workflow", "colonies_client", "func_spec",
]  # fmt: skip

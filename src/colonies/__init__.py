"""ColonyOS in Python: a wire-compatible Colonies server, SDK and CLI."""

from .client import (
    AsyncColonies,
    AttrDict,
    Attribute,
    Colonies,
    ColoniesConfigError,
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
    colonies_client,
    func_spec,
)
from .crypto import Crypto
from .exceptions import ColoniesConnectionError, ColoniesError

__version__ = "0.1.0"
__all__ = [
    "AsyncColonies", "AttrDict", "Attribute", "Colonies", "ColoniesConfigError", "ColoniesConnectionError",
    "ColoniesError", "Conditions", "Crypto", "File", "Fs", "FuncSpec", "Gpu", "Position", "Process", "ProcessEdge",
    "ProcessGraph", "ProcessNode", "Reference", "S3Object", "Workflow", "__version__", "colonies_client", "func_spec",
]  # fmt: skip

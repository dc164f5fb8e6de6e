"""pycolonies compatibility: ``from pycolonies import Colonies, colonies_client, func_spec, Workflow``.

The names of pycolonies 1.0.25 (python-sdk.md §1), served by ``colonies.client``. Unlike the original wheel this
installs no top-level ``crypto`` or ``model`` modules, whose generic names would collide with user code.
"""

from colonies.client import (
    AttrDict,
    Attribute,
    Colonies,
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
from colonies.crypto import Crypto
from colonies.exceptions import ColoniesConnectionError, ColoniesError

__all__ = [
    "AttrDict", "Attribute", "Colonies", "ColoniesConnectionError", "ColoniesError", "Conditions", "Crypto", "File",
    "Fs", "FuncSpec", "Gpu", "Position", "Process", "ProcessEdge", "ProcessGraph", "ProcessNode", "Reference",
    "S3Object", "Workflow", "colonies_client", "func_spec",
]  # fmt: skip

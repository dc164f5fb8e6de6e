"""ColonyOS in Python: a wire-compatible Colonies server, SDK and CLI.

The SDK names are loaded on first use (PEP 562), so ``colonies server start`` and quick CLI commands do not pay
for importing the whole client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .exceptions import ColoniesConnectionError, ColoniesError, ServerTooOld

if TYPE_CHECKING:
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

__version__ = "0.1.0"
__all__ = [
    "AsyncColonies", "AttrDict", "Attribute", "Colonies", "ColoniesConfigError", "ColoniesConnectionError",
    "ColoniesError", "Conditions", "Crypto", "File", "Fs", "FuncSpec", "Gpu", "Position", "Process", "ProcessEdge",
    "ProcessGraph", "ProcessNode", "Reference", "S3Object", "ServerTooOld", "Workflow", "__version__",
    "colonies_client", "func_spec",
]  # fmt: skip

_EAGER = {"ColoniesConnectionError", "ColoniesError", "ServerTooOld", "__version__"}


def __getattr__(name: str) -> Any:
    if name == "Crypto":
        from .crypto import Crypto

        return Crypto
    if name in __all__ and name not in _EAGER:
        from . import client

        return getattr(client, name)
    raise AttributeError(f"module 'colonies' has no attribute {name!r}")

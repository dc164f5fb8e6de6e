"""ColonyOS in Python: a wire-compatible Colonies server, SDK and CLI."""

from .crypto import Crypto
from .exceptions import ColoniesConnectionError, ColoniesError

__version__ = "0.1.0"
__all__ = ["ColoniesConnectionError", "ColoniesError", "Crypto", "__version__"]

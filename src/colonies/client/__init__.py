"""Client side: signed RPC transport (the full SDK builds on it)."""

from .transport import RPCClient

__all__ = ["RPCClient"]

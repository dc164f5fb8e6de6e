"""Client side: signed RPC transport (the full SDK builds on it)."""

from .transport import AsyncRPCClient, RPCClient

__all__ = ["AsyncRPCClient", "RPCClient"]

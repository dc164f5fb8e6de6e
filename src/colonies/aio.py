"""asyncio SDK: ``from colonies.aio import AsyncColonies``."""

from .client.aio import AsyncColonies
from .client.transport import AsyncRPCClient

__all__ = ["AsyncColonies", "AsyncRPCClient"]

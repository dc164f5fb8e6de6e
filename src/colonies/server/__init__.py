"""The Colonies server: ASGI app, RPC dispatcher, handlers and background loops."""

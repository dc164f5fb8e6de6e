"""Which web pages may talk to the server: the browser-facing rules for ``/api`` and ``/pubsub``.

Authentication is the signature inside the body, so a web page that knows a key (the public dev keys, say) could
otherwise drive a server on the developer's machine: a cross-origin "simple request" (``text/plain`` body, no
preflight) or a WebSocket handshake from any page. Non-browser clients send no ``Origin`` header and are not
affected; browsers always send one with a POST or a WebSocket handshake, which is what these rules key on.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

Headers = Iterable[tuple[bytes, bytes]]

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def _host_only(host: str) -> str:
    """``example.org:50080`` → ``example.org``; ``[::1]:50080`` → ``::1``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_loopback_name(host: str) -> bool:
    name = _host_only(host)
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_loopback_bind(bind: str) -> bool:
    return is_loopback_name(bind)


class OriginPolicy:
    """Decides whether a browser request may proceed (same origin, or an origin the operator allowed)."""

    def __init__(self, allowed: Iterable[str], bind_host: str) -> None:
        self.allowed = frozenset(o.strip().rstrip("/").lower() for o in allowed if o.strip())
        self.any = "*" in self.allowed
        #: A server bound to loopback only answers browsers that name a loopback host: a DNS-rebinding page
        #: (``http://attacker.example:50080`` resolved to 127.0.0.1) is then cross-origin and refused.
        self.loopback = is_loopback_bind(bind_host)

    def configured(self, origin: str) -> bool:
        """An origin the operator listed (CORS headers are sent only for these)."""
        return self.any or origin.rstrip("/").lower() in self.allowed

    def allows(self, origin: str, host: str) -> bool:
        """``origin`` is the request's ``Origin`` header (non-empty), ``host`` its ``Host`` header."""
        if self.configured(origin):
            return True
        parts = urlsplit(origin.strip().lower())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return False  # "null" (sandboxed iframes, file://) and anything odd
        if parts.netloc != host.strip().lower():
            return False
        return not self.loopback or is_loopback_name(host)


def header(headers: Headers, name: bytes) -> str:
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return ""

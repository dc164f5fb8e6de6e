"""The web dashboard: static files shipped in the package, served same-origin under ``/dashboard/``.

The pages sign requests in the browser with a key that never leaves the tab, so what matters here is that nothing
else can run in that tab: a strict Content-Security-Policy (scripts and styles from this origin only, no inline
code, no eval, no framing, no connections elsewhere), no sniffing, no referrer. The files are read once at start
and served from memory with an ETag; there is nothing to configure.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import PurePosixPath

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

#: Only what the dashboard is made of is served; anything else in the folder (a README, say) is not.
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".png": "image/png",
         ".ico": "image/x-icon", ".txt": "text/plain; charset=utf-8"}  # fmt: skip

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")  # fmt: skip

HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}


class Asset:
    __slots__ = ("body", "media_type", "etag")

    def __init__(self, body: bytes, media_type: str) -> None:
        self.body = body
        self.media_type = media_type
        self.etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def load_assets() -> dict[str, Asset]:
    """Every servable file under ``colonies/dashboard/static``, by its path relative to it."""
    assets: dict[str, Asset] = {}
    root = resources.files("colonies.dashboard") / "static"

    def walk(node: resources.abc.Traversable, prefix: str) -> None:
        for child in node.iterdir():
            rel = f"{prefix}{child.name}"
            if child.is_dir():
                walk(child, rel + "/")
                continue
            media_type = TYPES.get(PurePosixPath(child.name).suffix.lower())
            if media_type is not None:
                assets[rel] = Asset(child.read_bytes(), media_type)

    walk(root, "")
    return assets


class DashboardEndpoint:
    def __init__(self) -> None:
        self.assets = load_assets()

    async def serve(self, request: Request) -> Response:
        path = request.path_params.get("path", "") or "index.html"
        asset = self.assets.get(path)
        if asset is None:
            # Client-side routes (#/...) never reach here; anything unknown is a plain 404, not the index page.
            return Response("Not found", status_code=404, media_type="text/plain", headers=HEADERS)
        headers = {**HEADERS, "ETag": asset.etag, "Cache-Control": "no-cache"}
        if request.headers.get("if-none-match") == asset.etag:
            return Response(status_code=304, headers=headers)
        return Response(asset.body, media_type=asset.media_type, headers=headers)


async def to_dashboard(request: Request) -> Response:
    return RedirectResponse("/dashboard/", status_code=302)


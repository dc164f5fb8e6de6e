"""create_app(settings): the routes list and a lifespan that opens storage and starts the background loops."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute

from ..settings import Settings
from ..storage import SQLStore, open_store
from .api import APIEndpoint
from .dashboard import DashboardEndpoint, to_dashboard
from .context import ServerState
from .events import EventBus
from .metrics import Metrics, install_collector, metrics_endpoint
from .pubsub import PubSubEndpoint
from .replicas import replica_loop
from .crons import cron_loop
from .generators import generator_loop
from .timeouts import timeout_loop

log = logging.getLogger(__name__)


async def health(request: Request) -> Response:
    return Response(status_code=200)


class ColoniesApp:
    """The ASGI entry point: ``POST /api`` goes straight to the RPC endpoint (the hot path skips the framework's
    middleware stack); everything else (health, WebSocket, lifespan) goes through Starlette."""

    def __init__(self, app: Starlette, api: APIEndpoint, state: ServerState) -> None:
        self.app = app
        self.api = api
        self.state = state

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/api":
            await self.api(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def create_app(settings: Settings, store: SQLStore | None = None) -> ColoniesApp:
    state = ServerState(storage=store, events=EventBus(), settings=settings)  # type: ignore[arg-type]
    state.metrics = Metrics()
    install_collector(state.metrics)

    async def metrics(request: Request) -> Response:
        return await metrics_endpoint(state, request)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        storage = state.storage or await open_store(settings.db_url)
        if settings.server_id:
            await storage.set_server_id(settings.server_id)
        state.storage = storage
        state.instance_id = await storage.get_instance_id()
        state.started = time.time()
        if storage.replicated:  # other replicas' events wake our long-polls and subscriptions, and ours theirs
            state.events.relay = storage.relay
            storage.start_events(state.events.deliver_remote)
        app.state.colonies = state
        loops = [
            asyncio.create_task(timeout_loop(state), name="timeouts"),
            asyncio.create_task(cron_loop(state), name="crons"),
            asyncio.create_task(generator_loop(state), name="generators"),
            asyncio.create_task(replica_loop(state), name="replicas"),
        ]
        try:
            yield
        finally:
            for task in loops:
                task.cancel()
            await asyncio.gather(*loops, return_exceptions=True)
            await storage.close()

    api = APIEndpoint(state)
    dashboard = DashboardEndpoint()
    routes = [
        Route("/", to_dashboard, methods=["GET"]),
        Route("/dashboard", to_dashboard, methods=["GET"]),
        Route("/dashboard/{path:path}", dashboard.serve, methods=["GET", "HEAD"]),
        Route("/api", api, methods=["POST", "GET", "OPTIONS"]),
        Route("/health", health, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        WebSocketRoute("/pubsub", PubSubEndpoint(state)),
    ]
    return ColoniesApp(Starlette(routes=routes, lifespan=lifespan), api, state)

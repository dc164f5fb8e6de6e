"""GET /metrics in Prometheus format: RPC counts and latencies (recorded per request), and gauges (queue depth,
processes by state, long-polls waiting, leadership).

Not public: a scrape needs ``Authorization: Bearer $COLONIES_METRICS_TOKEN`` (without a token the endpoint is off),
because the gauges name colonies and executor types. The gauges come from a snapshot refreshed at most every
``COLONIES_METRICS_INTERVAL`` seconds (15) by counting queries that run off the event loop, so scrapes cost the server nothing
however large the tables are; queue-depth series are capped at ``MAX_DEPTH_SERIES`` (the rest are summed into
``other``), so clients cannot grow the label set by inventing executor types."""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from ..types import ProcessState
from .context import ServerState
from .handlers import HANDLERS


class Metrics:
    """One registry per server app (several apps may live in one test process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("colonies_rpc_requests", "RPC requests by message type and HTTP status",
                                ["msgtype", "status"], registry=self.registry)  # fmt: skip
        self.latency = Histogram(
            "colonies_rpc_duration_seconds", "RPC handling time by message type (assign includes its long-poll)",
            ["msgtype"], registry=self.registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        )  # fmt: skip
        #: Read by the collector; refreshed by :func:`refresh` (``refreshed``: when, monotonic seconds).
        self.snapshot: dict[str, Any] = {}
        self.refreshed = -1e9
        self.refreshing = asyncio.Lock()
        #: (message type label, status) -> (request counter, latency histogram) children; bounded by the handlers
        #: and the few statuses the server answers with.
        self._children: dict[tuple[str, int], tuple[Any, Any]] = {}

    def observe(self, msgtype: str, status: int, started: float) -> None:
        # Unknown payload types are folded into one label so a client cannot blow up the label set.
        label = msgtype if msgtype in HANDLERS else "unknown"
        children = self._children.get((label, status))
        if children is None:  # looked up once per (type, status): labels() takes a lock and builds a tuple
            children = self._children[(label, status)] = (self.requests.labels(label, str(status)),
                                                          self.latency.labels(label))  # fmt: skip
        children[0].inc()
        children[1].observe(time.perf_counter() - started)


class _StateCollector(Collector):
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        snap = self.metrics.snapshot
        depth = GaugeMetricFamily("colonies_queue_depth", "Waiting processes", labels=["colony", "executortype"])
        for row in snap.get("depths", ()):
            depth.add_metric([row["colonyname"], row["executortype"]], row["n"])
        yield depth
        procs = GaugeMetricFamily("colonies_processes", "Processes by state", labels=["state"])
        stats = snap.get("stats", {})
        for state, key in ((ProcessState.WAITING, "waitingprocesses"), (ProcessState.RUNNING, "runningprocesses"),
                           (ProcessState.SUCCESS, "successfulprocesses"), (ProcessState.FAILED, "failedprocesses"),
                           (ProcessState.CANCELLED, "cancelledprocesses")):  # fmt: skip
            procs.add_metric([state.name.lower()], stats.get(key, 0))
        yield procs
        yield GaugeMetricFamily("colonies_assign_waiters", "Executors blocked in an assign long-poll",
                                value=snap.get("waiters", 0))  # fmt: skip
        yield CounterMetricFamily("colonies_assign_handoffs", "Processes claimed for a waiting long-poll by the "
                                  "transaction that submitted them", value=snap.get("handoffs", 0))  # fmt: skip
        yield GaugeMetricFamily("colonies_leader", "1 if this replica runs the background duties",
                                value=1 if snap.get("leader") else 0)  # fmt: skip


def install_collector(metrics: Metrics) -> None:
    metrics.registry.register(_StateCollector(metrics))


MAX_DEPTH_SERIES = 50


def cap_depths(rows: list[dict[str, Any]], limit: int = MAX_DEPTH_SERIES) -> list[dict[str, Any]]:
    """The ``limit - 1`` deepest (colony, executortype) queues, and the rest summed into ("other", "other")."""
    if len(rows) <= limit:
        return rows
    ranked = sorted(rows, key=lambda r: r["n"], reverse=True)
    rest = sum(r["n"] for r in ranked[limit - 1 :])
    return ranked[: limit - 1] + [{"colonyname": "other", "executortype": "other", "n": rest}]


async def refresh(state: ServerState) -> None:
    """Recount the gauges (off the event loop) unless the snapshot is fresh; one refresh at a time."""
    metrics, interval = state.metrics, state.settings.metrics_interval
    if time.monotonic() - metrics.refreshed < interval:
        return
    async with metrics.refreshing:
        if time.monotonic() - metrics.refreshed < interval:
            return
        metrics.snapshot = {
            "depths": cap_depths(await state.storage.get_queue_depths()),
            "stats": await state.storage.get_statistics(),
        }
        metrics.refreshed = time.monotonic()


async def metrics_endpoint(state: ServerState, request: Request) -> Response:
    token = state.settings.metrics_token
    if not token:
        return Response("metrics are off: set COLONIES_METRICS_TOKEN and scrape with that bearer token\n",
                        status_code=404, media_type="text/plain")  # fmt: skip
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return Response("a bearer token is required\n", status_code=401, media_type="text/plain",
                        headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
    metrics = state.metrics
    await refresh(state)
    metrics.snapshot = {**metrics.snapshot, "waiters": state.events.waiting_count(), "leader": state.leader,
                        "handoffs": state.events.handoffs}  # fmt: skip
    return Response(generate_latest(metrics.registry), media_type="text/plain; version=0.0.4; charset=utf-8")

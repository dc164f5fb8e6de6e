"""GET /metrics: Prometheus text with RPC counts and latencies, queue depth, processes by state, waiting long-polls
and leadership."""

from __future__ import annotations

import re
import threading
import time

import httpx
from conftest import METRICS_AUTH, Colony

from colonies import envelope


def scrape(colony: Colony) -> str:
    response = httpx.get(colony.server.url + "/metrics", timeout=10, headers=METRICS_AUTH)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def value(text: str, name: str, **labels: str) -> float:
    """The sample ``name{labels}`` (labels in any order); fails if absent."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()) and line.split("{")[0].split(" ")[0] == name:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {name}{labels} in /metrics")


def test_requests_latency_queue_depth_and_states(colony: Colony) -> None:
    before = scrape(colony)
    try:
        submits_before = value(before, "colonies_rpc_requests_total", msgtype="submitfuncspecmsg", status="200")
    except AssertionError:
        submits_before = 0
    for _ in range(3):
        colony.submit()
    httpx.post(colony.server.url + "/api", content=envelope.build_request("nosuchmsg", {}, colony.executor.prvkey))
    text = scrape(colony)
    assert value(text, "colonies_rpc_requests_total", msgtype="submitfuncspecmsg", status="200") == submits_before + 3
    assert value(text, "colonies_rpc_requests_total", msgtype="unknown", status="403") >= 1
    assert value(text, "colonies_rpc_duration_seconds_count", msgtype="submitfuncspecmsg") >= 3
    assert value(text, "colonies_queue_depth", colony=colony.name, executortype=colony.executortype) == 3
    assert value(text, "colonies_processes", state="waiting") >= 3
    assert value(text, "colonies_leader") == 1  # a single server always leads


def test_assign_waiters_gauge_counts_parked_long_polls(colony: Colony) -> None:
    thread = threading.Thread(target=lambda: colony.assign(timeout=3), daemon=True)
    thread.start()
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and value(scrape(colony), "colonies_assign_waiters") < 1:
        time.sleep(0.05)
    assert value(scrape(colony), "colonies_assign_waiters") >= 1
    colony.submit()
    thread.join(10)
    assert f'colony="{colony.name}"' not in scrape(colony)  # no waiting process left: the series is gone

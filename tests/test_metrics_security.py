"""/metrics is for the operator only, cheap to scrape whatever the table sizes, and bounded in its label set."""

from __future__ import annotations

import sqlite3
import threading
import time
from typing import Any

import httpx
import pytest
from conftest import METRICS_AUTH, Colony, create_colony, start_server

pytestmark = pytest.mark.timeout(180)


def test_metrics_need_the_token(colony: Colony) -> None:
    url = colony.server.url + "/metrics"
    assert httpx.get(url, timeout=10).status_code == 401
    assert httpx.get(url, timeout=10, headers={"Authorization": "Bearer wrong"}).status_code == 401
    response = httpx.get(url, timeout=10, headers=METRICS_AUTH)
    assert response.status_code == 200 and "colonies_rpc_requests" in response.text


def test_without_a_token_metrics_are_off(make_server: Any) -> None:
    srv = make_server(env={"COLONIES_METRICS_TOKEN": ""})
    colony = create_colony(srv)
    response = httpx.get(srv.url + "/metrics", timeout=10, headers=METRICS_AUTH)
    assert response.status_code == 404 and colony.name not in response.text


def test_invented_executor_types_do_not_grow_the_label_set(colony: Colony) -> None:
    for i in range(120):
        colony.submit(colony.user, conditions={"executortype": f"invented-{i}"})
    text = httpx.get(colony.server.url + "/metrics", timeout=10, headers=METRICS_AUTH).text
    series = [line for line in text.splitlines() if line.startswith("colonies_queue_depth{")]
    assert len(series) <= 50
    assert any('executortype="other"' in line for line in series)


def test_a_scrape_of_a_large_database_does_not_stall_other_clients(tmp_path: Any) -> None:
    """400 000 processes; every scrape recounts them (interval 0 in tests) off the event loop, so /health answers
    at once meanwhile (before: the counts ran on the event loop)."""
    srv = start_server(str(tmp_path), backend="sqlite")
    try:
        colony = create_colony(srv)
        seed = colony.submit(colony.user)["processid"]
        path = srv.db[len("sqlite:///"):]
        conn = sqlite3.connect(path, timeout=30)
        columns = [row[1] for row in conn.execute("PRAGMA table_info(processes)")]
        values = ", ".join("lower(hex(randomblob(32)))" if c == "processid" else f"p.{c}" for c in columns)
        conn.execute(f"INSERT INTO processes ({', '.join(columns)}) SELECT {values} FROM processes p, "
                     "(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 400000) "
                     "SELECT x FROM c) WHERE p.processid = ?", (seed,))  # fmt: skip
        conn.commit()
        conn.close()
        latencies: list[float] = []
        done = threading.Event()

        def probe() -> None:
            with httpx.Client(timeout=30) as client:
                while not done.is_set():
                    started = time.perf_counter()
                    client.get(srv.url + "/health")
                    latencies.append(time.perf_counter() - started)
                    time.sleep(0.005)

        prober = threading.Thread(target=probe)
        prober.start()
        scrapes = []
        try:
            for _ in range(3):
                started = time.perf_counter()
                text = httpx.get(srv.url + "/metrics", timeout=60, headers=METRICS_AUTH).text
                scrapes.append(time.perf_counter() - started)
        finally:
            done.set()
            prober.join()
        assert 'colonies_processes{state="waiting"} 400001.0' in text
        # On the event loop, the counts held /health for about as long as a scrape took (0.5 s here); off it,
        # /health answers in a fraction of that, however loaded the machine is.
        slowest = max(scrapes)
        assert max(latencies) < max(0.1, slowest / 3), (f"/health waited {max(latencies):.3f} s during scrapes "
                                                        f"of up to {slowest:.3f} s")  # fmt: skip
    finally:
        srv.stop()

"""The dashboard's server side, without a browser: how its files are served, the live colony subscription it
listens to, and the paging and filters its tables use."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import Colony, Server, create_colony, expect_error
from sched_helpers import ws_decode, ws_frame
from websockets.sync.client import ClientConnection, connect

pytestmark = pytest.mark.timeout(60)

STATIC = Path(__file__).resolve().parents[1] / "src" / "colonies" / "dashboard" / "static"
CSP_MUST = ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'",
            "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'"]  # fmt: skip


# -- files ----------------------------------------------------------------------------------------------------


def test_dashboard_is_served_same_origin_with_a_strict_policy(server: Server) -> None:
    page = httpx.get(server.url + "/dashboard/", timeout=10)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    for directive in CSP_MUST:
        assert directive in csp, csp
    assert "unsafe" not in csp and "*" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert '<script type="module" src="js/app.js">' in page.text
    for route in ("/", "/dashboard"):
        moved = httpx.get(server.url + route, timeout=10, follow_redirects=False)
        assert moved.status_code in (302, 307) and moved.headers["location"] == "/dashboard/"
    script = httpx.get(server.url + "/dashboard/js/app.js", timeout=10)
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    again = httpx.get(server.url + "/dashboard/js/app.js", headers={"If-None-Match": script.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


@pytest.mark.parametrize("path", ["nope.js", "../pyproject.toml", "%2e%2e/%2e%2e/server/app.py", "vendor/",
                                  "js/../../__init__.py", "vendor/VERSIONS.md"])  # fmt: skip
def test_only_dashboard_files_are_served(server: Server, path: str) -> None:
    response = httpx.get(server.url + "/dashboard/" + path, timeout=10)
    assert response.status_code == 404


def test_the_api_still_refuses_browser_form_posts_next_to_the_dashboard(server: Server) -> None:
    """Being same-origin with the dashboard opens nothing: text/plain and cross-origin requests stay refused."""
    response = httpx.post(server.url + "/api", content=b"{}", headers={"Content-Type": "text/plain"}, timeout=10)
    assert response.status_code in (400, 415)


def test_page_weight_and_vendored_code_are_pinned_with_licences() -> None:
    """Issue 12: under 500 kB without images; third-party code vendored at pinned versions with its licence."""
    total = sum(p.stat().st_size for p in STATIC.rglob("*") if p.is_file() and p.suffix in (".js", ".css", ".html"))
    assert total < 500_000, total
    vendor = STATIC / "vendor"
    versions = (vendor / "VERSIONS.txt").read_text()
    for package in ("@noble/secp256k1@", "@noble/hashes@", "@dagrejs/dagre@"):
        assert package in versions
    assert len(list(vendor.rglob("LICENSE*"))) >= 3


def test_dashboard_code_never_writes_html_from_strings() -> None:
    """Everything shown comes from other people (process input, log lines, names): text nodes only."""
    sinks = re.compile(r"\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(")
    for path in (STATIC / "js").rglob("*.js"):
        text = path.read_text()
        assert not sinks.search(text), f"{path}: {sinks.search(text)}"
        assert "localStorage.setItem" not in text or path.name == "app.js", path  # only the theme and colony name
    api = (STATIC / "js" / "api.js").read_text()
    assert "console.log" not in api and "console.error" not in api


# -- the live colony subscription ------------------------------------------------------------------------------


@contextmanager
def subscribe(colony: Colony, who: Any, timeout: int = 10) -> Iterator[ClientConnection]:
    with connect(f"ws://127.0.0.1:{colony.server.port}/pubsub", open_timeout=5, close_timeout=2) as ws:
        ws.send(ws_frame("subscribecolonymsg", {"colonyname": colony.name, "timeout": timeout}, who.prvkey))
        yield ws


def frames(ws: ClientConnection, until: Any, timeout: float = 5.0) -> list[dict[str, Any]]:
    """Frames' events, at least one frame, until ``until(events)`` holds."""
    events: list[dict[str, Any]] = []
    while True:
        is_error, payload = ws_decode(ws.recv(timeout=timeout))
        assert not is_error, payload
        events.extend(payload["events"])
        if until(events):
            return events


def test_colony_subscription_carries_process_and_log_events(colony: Colony) -> None:
    with subscribe(colony, colony.user) as ws:
        is_error, first = ws_decode(ws.recv(timeout=5))
        assert not is_error and first == {"colonyname": colony.name, "events": [], "resync": True}
        process = colony.submit(colony.user)
        pid = process["processid"]
        assigned = colony.assign()
        assert assigned["processid"] == pid
        colony.call("addlogmsg", {"processid": pid, "message": "hello\n"}, colony.executor)
        colony.close(pid, ["done"])
        events = frames(ws, lambda ev: any(e.get("state") == 2 for e in ev))
    states = [e["state"] for e in events if e["kind"] == "process"]
    assert states == [0, 1, 2]
    assert all(e["processid"] == pid for e in events)
    assert all(e["executortype"] == colony.executortype for e in events if e["kind"] == "process")
    assert {"kind": "log", "processid": pid} in events


def test_colony_subscription_gives_the_owner_counts_but_no_ids(colony: Colony) -> None:
    with subscribe(colony, colony.owner) as ws:
        frames(ws, lambda ev: True)  # the resync frame
        colony.submit(colony.user)
        events = frames(ws, lambda ev: len(ev) > 0)
    assert events == [{"kind": "process", "state": 0}]


def test_colony_subscription_refuses_strangers_and_other_colonies(server: Server, colony: Colony) -> None:
    other = create_colony(server)
    pending = colony.add_executor(approve=False)
    for who in (other.user, other.executor, other.owner, pending):
        with subscribe(colony, who) as ws:
            is_error, payload = ws_decode(ws.recv(timeout=5))
            assert is_error and payload["status"] == 403, payload
    with subscribe(other, other.user) as ws:  # events of one colony never reach another's subscribers
        frames(ws, lambda ev: True)
        colony.submit(colony.user)
        with pytest.raises(TimeoutError):
            ws.recv(timeout=1)


def test_colony_subscription_ends_for_a_removed_user(colony: Colony) -> None:
    user = colony.add_user()
    with subscribe(colony, user, timeout=30) as ws:
        frames(ws, lambda ev: True)
        colony.call("removeusermsg", {"colonyname": colony.name, "name": user.name}, colony.owner)
        colony.submit(colony.user)
        is_error, payload = ws_decode(ws.recv(timeout=10))
        assert is_error and payload["status"] == 403, payload


# -- paging and filters of the tables ------------------------------------------------------------------------------


def test_processes_page_by_offset_and_filter_by_function_combined(colony: Colony) -> None:
    for i in range(5):
        colony.submit(colony.user, funcname="alpha", label="x" if i % 2 else "y")
    colony.submit(colony.user, funcname="beta", label="x")
    base = {"colonyname": colony.name, "state": 0}
    every = colony.call("getprocessesmsg", {**base, "count": 100}, colony.user)
    assert len(every) == 6
    alpha = colony.call("getprocessesmsg", {**base, "count": 100, "funcname": "alpha"}, colony.user)
    assert {p["spec"]["funcname"] for p in alpha} == {"alpha"} and len(alpha) == 5
    both = colony.call("getprocessesmsg", {**base, "count": 100, "funcname": "alpha", "label": "x"}, colony.user)
    assert len(both) == 2  # the filters combine
    pages = [colony.call("getprocessesmsg", {**base, "count": 2, "offset": o}, colony.user) for o in (0, 2, 4, 6)]
    assert [len(p) for p in pages] == [2, 2, 2, 0]
    assert [p["processid"] for page in pages for p in page] == [p["processid"] for p in every]
    expect_error(400, colony.call, "getprocessesmsg", {**base, "offset": -1}, colony.user)
    expect_error(400, colony.call, "getprocessgraphsmsg", {**base, "offset": 10**9}, colony.user)


def test_workflows_page_by_offset(colony: Colony) -> None:
    spec = colony.spec(nodename="only", conditions={"executortype": "nobody"})
    ids = [colony.call("submitworkflowspecmsg", {"spec": {"colonyname": colony.name, "functionspecs": [spec]}},
                       colony.user)["processgraphid"] for _ in range(3)]  # fmt: skip
    msg = {"colonyname": colony.name, "state": 0, "count": 2}
    first = colony.call("getprocessgraphsmsg", msg, colony.user)
    second = colony.call("getprocessgraphsmsg", {**msg, "offset": 2}, colony.user)
    assert [g["processgraphid"] for g in first + second] == ids[::-1]  # newest first


def test_vendor_versions_file_names_what_the_rebuild_script_fetches() -> None:
    script = (Path(__file__).resolve().parents[1] / "scripts" / "vendor-js.sh").read_text()
    versions = (STATIC / "vendor" / "VERSIONS.txt").read_text()
    for pinned in re.findall(r"(@[\w./-]+@\d+\.\d+\.\d+)", script):
        assert pinned in versions, pinned
    json.dumps(versions)  # plain text


def test_a_workflows_processes_page_by_offset(colony: Colony) -> None:
    """The DAG page of a large workflow fetches its processes page by page."""
    specs = [colony.spec(nodename=f"n{i}", conditions={"executortype": "nobody"}) for i in range(5)]
    graph = colony.call("submitworkflowspecmsg", {"spec": {"colonyname": colony.name, "functionspecs": specs}},
                        colony.user)  # fmt: skip
    msg = {"colonyname": colony.name, "processgraphid": graph["processgraphid"], "state": -1, "count": 2}
    pages = [colony.call("getprocessesmsg", {**msg, "offset": o}, colony.user) for o in (0, 2, 4)]
    assert [len(p) for p in pages] == [2, 2, 1]
    names = [p["spec"]["nodename"] for page in pages for p in page]
    assert sorted(names) == [f"n{i}" for i in range(5)]
    expect_error(400, colony.call, "getprocessesmsg", {**msg, "offset": -2}, colony.user)

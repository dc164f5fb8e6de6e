"""Dashboard speed in real headless Chromium against a seeded ``colonies dev``: first view, sign-in to overview,
page weight, and a 1,000-node workflow page (layout, render, a live state change).

    .venv/bin/python benchmarks/dashboard.py --runs 5

Medians of ``--runs`` fresh browser contexts (nothing cached). Needs Debian's chromium (PLAYWRIGHT_CHROMIUM).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from conftest import free_port  # noqa: E402
from dashboard_world import World, make_world  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

CHROMIUM = os.environ.get("PLAYWRIGHT_CHROMIUM", "/usr/bin/chromium")


def big_workflow(colony: str, layers: int = 10, width: int = 100) -> dict[str, Any]:
    """layers × width nodes; each node depends on two nodes of the layer before."""
    specs = []
    for layer in range(layers):
        for i in range(width):
            deps = [] if layer == 0 else sorted({f"n{layer - 1}-{i}", f"n{layer - 1}-{(i + 1) % width}"})
            specs.append({"nodename": f"n{layer}-{i}", "funcname": "step", "maxexectime": 600,
                          "conditions": {"colonyname": colony, "executortype": "big", "dependencies": deps}})  # fmt: skip
    return {"colonyname": colony, "functionspecs": specs}


def measure(world: World, runs: int, graphid: str) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {"first view ms": [], "sign-in to overview ms": [], "page weight kB": [],
                                       "1,000-node page ms": [], "live node update ms": []}  # fmt: skip
    big = world.executors["big"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for _ in range(runs):
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            page = context.new_page()
            sizes: list[int] = []
            page.on("response", lambda r: sizes.append(len(r.body())) if r.url.endswith((".js", ".css", ".html", "/")) else None)  # noqa: E501
            start = time.perf_counter()
            page.goto(world.url)
            page.get_by_label("Private key").wait_for()
            results["first view ms"].append((time.perf_counter() - start) * 1000)
            page.get_by_label("Private key").fill(world.keys["user"].prvkey)
            page.get_by_label("Colony").fill(world.colony)
            start = time.perf_counter()
            page.get_by_role("button", name="Sign in").click()
            page.get_by_text("Recent failures").wait_for()
            results["sign-in to overview ms"].append((time.perf_counter() - start) * 1000)
            results["page weight kB"].append(sum(sizes) / 1000)
            start = time.perf_counter()
            page.evaluate("h => { location.hash = h; }", f"#/workflow/{graphid}")
            page.locator("g.wf-node[data-nodename]").nth(999).wait_for(state="attached", timeout=60_000)
            results["1,000-node page ms"].append((time.perf_counter() - start) * 1000)
            page.wait_for_timeout(500)
            start = time.perf_counter()
            process = world.call("assignprocessmsg", {"colonyname": world.colony, "timeout": 5}, big)
            world.call("closesuccessfulmsg", {"processid": process["processid"], "out": []}, big)
            name = process["spec"]["nodename"]
            page.locator(f"g.wf-node[data-nodename='{name}'][data-state=successful]").wait_for(state="attached")
            results["live node update ms"].append((time.perf_counter() - start) * 1000)
            context.close()
        browser.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    world = make_world(free_port())
    try:
        from dashboard_world import add_executor

        world.executors["big"] = add_executor(world, "big-01", "big")
        graph = world.call("submitworkflowspecmsg", {"spec": big_workflow(world.colony)}, "user")
        results = measure(world, options.runs, graph["processgraphid"])
    finally:
        world.stop()
    print(f"dashboard, medians of {options.runs} runs (fresh browser context each):")
    for name, values in results.items():
        print(f"  {name:24} {statistics.median(values):8.1f}   (min {min(values):.1f}, max {max(values):.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

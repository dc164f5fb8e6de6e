"""Make the DAG screenshots in docs/images/ from real runs of both seed examples.

    .venv/bin/python scripts/dashboard_docs_images.py [--out docs/images]

Starts a dev server (tests/dashboard_world.py, no demo data), runs the secure multi-party computation example
(examples/smpc: two hospital executors and the cloud executor, the real Paillier workflow) and the cross-platform
workflow (examples/cross-platform/run.py --start-executors), and photographs each workflow's page in headless
Chromium (Debian's /usr/bin/chromium, or PLAYWRIGHT_CHROMIUM): the SMPC one when it is done, the cross-platform
one half way, as the seed's own screenshots show them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from dashboard_world import World, make_world  # noqa: E402

CHROMIUM = os.environ.get("PLAYWRIGHT_CHROMIUM", "/usr/bin/chromium")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def client_env(world: World) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
    env.update({"COLONIES_SERVER_HOST": "127.0.0.1", "COLONIES_SERVER_PORT": str(world.port),
                "COLONIES_SERVER_TLS": "false", "COLONIES_TLS": "false", "COLONIES_COLONY_NAME": world.colony,
                "COLONIES_COLONY_PRVKEY": world.keys["owner"].prvkey, "COLONIES_PRVKEY": world.keys["devuser"].prvkey,
                "MPLBACKEND": "Agg"})  # fmt: skip
    return env


def run_smpc(env: dict[str, str], work: Path) -> tuple[str, list[subprocess.Popen[str]]]:
    """The seed's SMPC example as `make demo` runs it; returns the workflow's id and the executors to stop."""
    smpc = ROOT / "examples" / "smpc"
    workflow = work / "workflow.json"
    subprocess.run([sys.executable, "generate_keys.py", "--private-key", str(work / "private_key.json"),
                    "--workflow", str(workflow)], cwd=smpc, env=env, check=True, capture_output=True)  # fmt: skip
    executors = [subprocess.Popen([sys.executable, *argv], cwd=smpc, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, text=True)  # fmt: skip
                 for argv in (["hospital_executor.py", "r1-hospital_executor", "55"],
                              ["hospital_executor.py", "r2-hospital_executor", "5"], ["cloud_executor.py"])]
    colonies = str(Path(sys.executable).parent / "colonies")
    done = subprocess.run([colonies, "workflow", "submit", "--spec", str(workflow), "--wait", "--timeout", "120",
                           "--json"], env=env, capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"colonies workflow submit failed: {done.stderr.strip()}")
    return json.loads(done.stdout)["processgraphid"], executors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "docs" / "images"))
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import sync_playwright

    world = make_world(free_port(), seed=False)
    started: list[subprocess.Popen[str]] = []
    try:
        env = client_env(world)
        with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
            smpc_id, executors = run_smpc(env, Path(tmp))
            started += executors
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 800}, color_scheme=args.theme)
            page.goto(world.url)
            page.get_by_label("Private key").fill(world.keys["devuser"].prvkey)
            page.get_by_label("Colony").fill(world.colony)
            page.get_by_role("button", name="Sign in").click()
            page.locator("#who .role").wait_for(timeout=10_000)

            page.evaluate(f"location.hash = '#/workflow/{smpc_id}'")
            page.locator("g.wf-node[data-nodename='cloud:sum_patent_data'][data-state=successful]").wait_for()
            page.wait_for_timeout(500)
            page.screenshot(path=str(out / "dashboard-smpc-workflow.png"), full_page=True)
            print(f"SMPC workflow {smpc_id}: {out / 'dashboard-smpc-workflow.png'}")

            run = subprocess.Popen([sys.executable, str(ROOT / "examples" / "cross-platform" / "run.py"), "--sleep",
                                    "3", "--start-executors"], env=env, cwd=tmp, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)  # fmt: skip
            started.append(run)
            assert run.stdout is not None
            graphid = next((m.group(1) for line in run.stdout
                            if (m := re.match(r"submitted workflow ([0-9a-f]{64})", line))), "")  # fmt: skip
            if not graphid:
                print("run.py submitted no workflow", file=sys.stderr)
                return 1
            page.evaluate(f"location.hash = '#/workflow/{graphid}'")
            # Half way: the first lumi nodes done, others running or waiting, leonardo-0 and ice-1 still to come.
            page.locator("g.wf-node[data-nodename=lumi-0][data-state=successful]").wait_for(timeout=120_000)
            page.locator("g.wf-node[data-state=running]").first.wait_for(timeout=60_000)
            page.wait_for_timeout(300)
            page.screenshot(path=str(out / "dashboard-seed-workflow.png"), full_page=True)
            print(f"cross-platform workflow {graphid}: {out / 'dashboard-seed-workflow.png'}")
            browser.close()
            run.communicate(timeout=180)
    finally:
        for proc in reversed(started):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
        world.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

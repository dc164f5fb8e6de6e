"""Look at the dashboard with demo data: a dev server seeded by tests/dashboard_world.py, signed in per role.

    .venv/bin/python scripts/dashboard_preview.py --port 50700 serve
    .venv/bin/python scripts/dashboard_preview.py --port 50700 --out /tmp/shots shot user '#/workflows' workflows ...

``shot`` takes triples of role (server, owner, user, executor, other), hash and file name, signs in in headless
Chromium (Debian's /usr/bin/chromium, or PLAYWRIGHT_CHROMIUM), saves <out>/<name>.png and prints the page's
console errors and failed requests.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from dashboard_world import World, make_world  # noqa: E402

CHROMIUM = os.environ.get("PLAYWRIGHT_CHROMIUM", "/usr/bin/chromium")


def sign_in(page, world: World, role: str) -> None:  # type: ignore[no-untyped-def]
    """Fill the sign-in form as a person would."""
    page.goto(world.url)
    page.get_by_label("Private key").fill(world.keys[role].prvkey)
    colony = "" if role == "server" else world.other_colony if role == "other" else world.colony
    page.get_by_label("Colony").fill(colony)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#who .role").wait_for(timeout=10_000)


def shots(world: World, out: Path, triples: list[str], theme: str, width: int, height: int) -> int:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    problems = 0
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for i in range(0, len(triples), 3):
            role, hash_, name = triples[i : i + 3]
            context = browser.new_context(viewport={"width": width, "height": height}, color_scheme=theme)
            page = context.new_page()
            errors: list[str] = []
            page.on("console", lambda msg: errors.append(f"console.{msg.type}: {msg.text}") if msg.type in (
                "error", "warning") else None)  # fmt: skip
            page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
            page.on("requestfailed", lambda req: errors.append(f"requestfailed: {req.url} {req.failure}"))
            sign_in(page, world, role)
            page.evaluate(f"location.hash = {hash_!r}")
            page.wait_for_timeout(1500)
            path = out / f"{name}.png"
            page.screenshot(path=str(path), full_page=True)
            print(f"{name}: {path} ({role} {hash_})")
            for line in errors:
                print("   ", line)
            problems += len(errors)
            context.close()
        browser.close()
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=50700)
    parser.add_argument("--out", default="/tmp/dashboard-shots")
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    parser.add_argument("--width", type=int, default=1440)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("mode", choices=("serve", "shot"))
    parser.add_argument("triples", nargs="*", help="role hash name, repeated (shot)")
    options = parser.parse_args()
    if options.mode == "shot" and (not options.triples or len(options.triples) % 3):
        parser.error("shot takes triples: role hash name")
    world = make_world(options.port)
    try:
        if options.mode == "serve":
            print(f"dashboard: {world.url}")
            for role, key in world.keys.items():
                print(f"{role:10} {key.name:12} prvkey {key.prvkey}")
            print("ids:", world.ids)
            sys.stdout.flush()
            while True:
                time.sleep(3600)
        shots(world, Path(options.out), options.triples, options.theme, options.width, options.height)
    except KeyboardInterrupt:
        pass
    finally:
        world.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

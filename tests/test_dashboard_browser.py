"""The dashboard as a person uses it: real headless Chromium (Debian's, driven by Playwright) against a real
``colonies dev`` seeded through the API (tests/dashboard_world.py).

Every request and WebSocket frame a page sends is recorded; each test ends by checking that no private key, in any
encoding we can think of, left the tab. Screenshots of every page go to ``artifacts/dashboard/``. These tests never
skip: without Chromium they fail (``.ci/run`` installs it).
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import free_port
from dashboard_world import World, make_world
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("COLONIES_TEST_ARTIFACTS", ROOT / "artifacts")) / "dashboard"
CHROMIUM = os.environ.get("PLAYWRIGHT_CHROMIUM", "/usr/bin/chromium")

pytestmark = pytest.mark.timeout(240)

NAV = {
    "server": ["Overview", "Colonies"],
    "owner": ["Overview", "Executors", "Functions", "Users"],
    "user": ["Overview", "Processes", "Workflows", "Executors", "Submit", "Crons", "Generators", "Functions",
             "Users", "Logs"],  # fmt: skip
    "executor": ["Overview", "Processes", "Workflows", "Executors", "Submit", "Crons", "Generators", "Functions",
                 "Users", "Logs"],  # fmt: skip
}
ROLE_LABELS = {"server": "Server owner", "owner": "Colony owner", "user": "User", "executor": "Executor"}


# -- fixtures ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    w = make_world(free_port())
    yield w
    w.stop()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium; .ci/run does it)")
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
    yield b
    b.close()


@dataclass
class Recorder:
    """What a page sent: HTTP requests (URL, headers, body, decoded payload) and WebSocket frames."""

    sent: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on("request", self._request)
        page.on("websocket", lambda ws: ws.on("framesent", lambda payload: self._body(str(payload))))
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def _request(self, request: Any) -> None:
        self.sent.append(request.url)
        self.sent.append(json.dumps(request.headers))
        if request.post_data:
            self._body(request.post_data)

    def _body(self, text: str) -> None:
        self.sent.append(text)
        try:
            payload = json.loads(text).get("payload", "")
            self.sent.append(base64.b64decode(payload).decode("utf-8", "replace"))
        except (ValueError, AttributeError):
            pass

    def assert_no_secret(self, prvkeys: list[str]) -> None:
        forms = []
        for key in prvkeys:
            raw = bytes.fromhex(key)
            forms += [key, key.upper(), base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode(),
                      base64.b64encode(key.encode()).decode()[:40], key[:16], key[-16:]]  # fmt: skip
        for text in self.sent:
            for form in forms:
                assert form not in text, "a private key (or part of one) left the tab"


@dataclass
class Session:
    page: Page
    recorder: Recorder
    world: World
    role: str

    def go(self, hash_: str) -> None:
        self.page.evaluate("h => { location.hash = h; }", hash_)

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
def open_as(browser: Browser, world: World) -> Iterator[Any]:
    """open_as(role, world=world, theme='light') → a signed-in Session; checks for leaked keys at the end."""
    sessions: list[Session] = []

    def sign_in(role: str, w: World | None = None, theme: str = "light", colony: str | None = None) -> Session:
        w = w or world
        context = browser.new_context(viewport={"width": 1440, "height": 900}, color_scheme=theme)
        page = context.new_page()
        page.set_default_timeout(15_000)
        recorder = Recorder()
        recorder.attach(page)
        page.goto(w.url)
        page.get_by_label("Private key").fill(w.keys[role].prvkey)
        if colony is None:
            colony = "" if role == "server" else w.other_colony if role == "other" else w.colony
        page.get_by_label("Colony").fill(colony)
        page.get_by_role("button", name="Sign in").click()
        session = Session(page, recorder, w, role)
        sessions.append(session)
        return session

    yield sign_in
    keys = [k.prvkey for k in world.keys.values()] + [k.prvkey for k in world.executors.values()]
    for session in sessions:
        session.recorder.assert_no_secret(keys + [k.prvkey for k in session.world.keys.values()])
        assert not session.recorder.errors, session.recorder.errors
        session.page.context.close()


# -- sign-in and roles -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["server", "owner", "user", "executor"])
def test_each_role_sees_its_pages(open_as: Any, role: str) -> None:
    s = open_as(role)
    expect(s.page.locator("#who .role")).to_have_text(ROLE_LABELS[role])
    nav = s.page.locator("#nav a")
    expect(nav).to_have_text(NAV[role])
    expect(s.page.get_by_role("heading", level=1)).to_be_visible()
    s.shot(f"overview-{role}")
    if role == "owner":  # a colony owner manages but does not read processes: the page is not offered
        s.go("#/processes")
        expect(s.page.get_by_role("heading", name="Not here")).to_be_visible()


def test_key_stays_in_the_tab_and_sign_out_forgets_it(open_as: Any, world: World) -> None:
    s = open_as("user")
    expect(s.page.locator("#who .role")).to_have_text("User")
    storage = s.page.evaluate("() => JSON.stringify([{...localStorage}, {...sessionStorage}])")
    assert world.keys["user"].prvkey not in storage
    s.page.get_by_role("button", name="Sign out").click()
    expect(s.page.get_by_label("Private key")).to_be_visible()
    s.page.reload()
    expect(s.page.get_by_label("Private key")).to_be_visible()  # nothing kept: signed out after a reload too


def test_remembered_key_lives_in_session_storage_only(open_as: Any, world: World) -> None:
    s = open_as("user")
    s.page.get_by_role("button", name="Sign out").click()
    s.page.get_by_label("Private key").fill(world.keys["user"].prvkey)
    s.page.get_by_label("Colony").fill(world.colony)
    s.page.get_by_label(re.compile("Keep me signed in")).check()
    s.page.get_by_role("button", name="Sign in").click()
    expect(s.page.locator("#who .role")).to_have_text("User")
    assert world.keys["user"].prvkey not in s.page.evaluate("() => JSON.stringify({...localStorage})")
    s.page.reload()
    expect(s.page.locator("#who .role")).to_have_text("User")  # resumed from this tab's session storage


def test_wrong_key_or_colony_is_told_clearly(open_as: Any, world: World) -> None:
    s = open_as("other", colony=world.colony)  # mallory is a user of othercolony, not of dev
    expect(s.page.get_by_role("alert")).to_contain_text("neither a member nor the owner")
    s.page.get_by_label("Private key").fill("not a key")
    s.page.get_by_role("button", name="Sign in").click()
    expect(s.page.get_by_role("alert")).not_to_be_empty()


def test_a_user_of_colony_b_never_sees_colony_a(open_as: Any, world: World) -> None:
    s = open_as("other")
    expect(s.page.locator("#who .colony")).to_have_text(world.other_colony)
    secret_ids = [v for v in world.ids.values()]
    for hash_ in ("#/overview", "#/processes?state=2", "#/processes?state=3", "#/workflows?state=1", "#/executors",
                  "#/users", "#/functions", "#/crons", "#/generators"):  # fmt: skip
        s.go(hash_)
        s.page.wait_for_timeout(400)
        text = s.page.locator("main").inner_text()
        for name in ("alice", "echo-01", "nightly-report", "lumi-01", "hello 0"):
            assert name not in text, (hash_, name)
        for pid in secret_ids:
            assert pid[:8] not in text, (hash_, pid)
    s.go(f"#/process/{world.ids['successful']}")
    expect(s.page.locator("main [role=alert], main .form-error").first).to_be_visible()
    assert "hello 0" not in s.page.locator("main").inner_text()


# -- processes, executors, submit ---------------------------------------------------------------------------------


def test_process_page_shows_output_errors_and_a_live_log(open_as: Any, world: World) -> None:
    s = open_as("user")
    s.go(f"#/process/{world.ids['successful']}")
    main = s.page.locator("main")
    expect(main).to_contain_text("hello 0")  # the output
    expect(main).to_contain_text("starting echo")  # the log
    s.shot("process-successful")
    s.go(f"#/process/{world.ids['failed']}")
    expect(main).to_contain_text("file not found: /data/input.csv")
    s.shot("process-failed")
    s.go(f"#/process/{world.ids['running']}")
    expect(main).to_contain_text("working on it")
    world.call("addlogmsg", {"processid": world.ids["running"], "message": "line that arrives live\n"},
               world.executors["echo"])  # fmt: skip
    expect(main).to_contain_text("line that arrives live", timeout=10_000)  # no reload: the log follows


def test_processes_list_filters_and_opens_a_process(open_as: Any, world: World) -> None:
    s = open_as("executor")
    s.go("#/processes?state=2")
    expect(s.page.locator("main table")).to_be_visible()
    s.shot("processes")
    s.go("#/processes?state=0&funcname=echo")
    rows = s.page.locator("main tbody tr")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 3
    rows.first.click()
    expect(s.page).to_have_url(re.compile(r"#/process/[0-9a-f]{64}"))


def test_processes_by_keyboard_and_focus_survives_live_updates(open_as: Any, world: World) -> None:
    """Arrow keys move between the state tabs; a live update redraws the counts without taking the focus away;
    Enter on a row opens the process."""
    s = open_as("user")
    s.go("#/processes?state=0")
    waiting = s.page.get_by_role("tab", name=re.compile("^Waiting"))
    waiting.focus()
    s.page.keyboard.press("ArrowRight")
    running = s.page.get_by_role("tab", name=re.compile("^Running"))
    expect(running).to_be_focused()
    expect(running).to_have_attribute("aria-selected", "true")
    expect(s.page).to_have_url(re.compile(r"#/processes\?state=1"))
    count = s.page.get_by_role("tab", name=re.compile("^Waiting")).locator("[data-count]")
    before = int(count.inner_text())
    world.call("submitfuncspecmsg", {"spec": world.spec("echo", "nobody-serves-this")}, "user")
    expect(count).to_have_text(str(before + 1))  # the live channel redrew the tabs
    expect(s.page.get_by_role("tab", name=re.compile("^Running"))).to_be_focused()
    row = s.page.locator("main tbody tr").first
    row.focus()
    s.page.keyboard.press("Enter")
    expect(s.page).to_have_url(re.compile(r"#/process/[0-9a-f]{64}"))


def test_owner_approves_a_pending_executor(open_as: Any, world: World) -> None:
    s = open_as("owner")
    s.go("#/executors")
    s.page.get_by_role("button", name="Approve lumi-02").click()
    dialog = s.page.get_by_role("dialog")
    if dialog.count():  # an approval may ask first
        dialog.get_by_role("button", name=re.compile("Approve|Confirm")).click()
    expect(s.page.get_by_role("button", name="Approve lumi-02")).to_have_count(0)
    executors = world.call("getexecutorsmsg", {"colonyname": world.colony}, "owner")
    assert next(e for e in executors if e["executorname"] == "lumi-02")["state"] == 1
    s.shot("executors-owner")


def test_a_member_cannot_approve(open_as: Any) -> None:
    s = open_as("user")
    s.go("#/executors")
    expect(s.page.locator("main table")).to_be_visible()
    expect(s.page.get_by_role("button", name=re.compile("^Approve "))).to_have_count(0)


def test_submit_a_workflow_and_see_a_server_error(open_as: Any, world: World) -> None:
    s = open_as("user")
    s.go("#/submit")
    editor = s.page.get_by_label("Specification (JSON)")
    nodes = [{"nodename": n, "funcname": "echo", "conditions": {"executortype": "nobody", "dependencies": deps}}
             for n, deps in (("a", ["b"]), ("b", ["a"]))]  # fmt: skip
    s.page.get_by_role("radio", name="Workflow").check()
    editor.fill(json.dumps({"colonyname": world.colony, "functionspecs": nodes}))
    s.page.get_by_role("button", name="Submit").click()
    expect(s.page.get_by_role("alert")).to_contain_text(re.compile("cycle", re.I))
    nodes[0]["conditions"]["dependencies"] = []
    editor.fill(json.dumps({"colonyname": world.colony, "functionspecs": nodes}))
    s.page.get_by_role("button", name="Submit").click()
    expect(s.page).to_have_url(re.compile(r"#/workflow/[0-9a-f]{64}"))
    expect(s.page.locator("g.wf-node[data-nodename=b]")).to_have_attribute("data-state", "waiting")
    s.shot("submitted-workflow")


# -- workflows, live --------------------------------------------------------------------------------------------


def test_seed_workflows_look_right(open_as: Any, world: World) -> None:
    for theme in ("light", "dark"):
        s = open_as("user", theme=theme)
        s.go(f"#/workflow/{world.ids['seed']}")
        nodes = s.page.locator("g.wf-node[data-nodename]")
        expect(nodes).to_have_count(11)
        expect(s.page.locator("g.wf-node[data-nodename=ice-0]")).to_have_attribute("data-state", "successful")
        expect(s.page.locator("g.wf-node[data-nodename=ice-1]")).to_have_attribute("data-state", "waiting")
        s.shot(f"workflow-seed-{theme}")
        s.go(f"#/workflow/{world.ids['smpc']}")
        expect(s.page.locator("g.wf-node[data-nodename='cloud:sum_patent_data']")).to_have_attribute("data-state", "successful")
        expect(s.page.locator("main")).to_contain_text("<encrypted sum>")  # the last process's output
        s.shot(f"workflow-smpc-{theme}")
    s.go(f"#/workflow/{world.ids['seed']}")
    expect(s.page.locator("g.wf-node[data-nodename]")).to_have_count(11)
    boxes = {name: s.page.locator(f"g.wf-node[data-nodename={name}]").bounding_box()
             for name in ("ice-0", "lumi-0", "leonardo-0", "ice-1")}  # fmt: skip
    assert boxes["ice-0"]["x"] < boxes["lumi-0"]["x"] < boxes["leonardo-0"]["x"] < boxes["ice-1"]["x"]  # left to right
    s.page.locator("g.wf-node[data-nodename=ice-0]").click()
    expect(s.page).to_have_url(re.compile(r"#/process/[0-9a-f]{64}"))


def test_seed_cross_platform_workflow_turns_green_live_with_real_executors(open_as: Any, tmp_path: Path) -> None:
    """examples/cross-platform/run.py starts three container executors (local backend) and submits the seed's
    11-node workflow; the page, opened once, must see every node turn successful without a reload."""
    bare = make_world(free_port(), seed=False)
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
        env.update({"COLONIES_SERVER_HOST": "127.0.0.1", "COLONIES_SERVER_PORT": str(bare.port),
                    "COLONIES_SERVER_TLS": "false", "COLONIES_TLS": "false", "COLONIES_COLONY_NAME": bare.colony,
                    "COLONIES_COLONY_PRVKEY": bare.keys["owner"].prvkey, "COLONIES_PRVKEY": bare.keys["devuser"].prvkey,
                    "MPLBACKEND": "Agg"})  # fmt: skip
        s = open_as("user", w=bare)
        expect(s.page.locator("#live")).to_have_text("Live")
        run = subprocess.Popen([sys.executable, str(ROOT / "examples" / "cross-platform" / "run.py"), "--sleep", "1",
                                "--start-executors"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)  # fmt: skip
        try:
            graphid = ""
            assert run.stdout is not None
            for line in run.stdout:
                match = re.match(r"submitted workflow ([0-9a-f]{64})", line)
                if match:
                    graphid = match.group(1)
                    break
            assert graphid, "run.py did not submit its workflow"
            s.go(f"#/workflow/{graphid}")
            expect(s.page.locator("g.wf-node[data-nodename]")).to_have_count(11)
            for name in ("ice-0", *(f"lumi-{i}" for i in range(8)), "leonardo-0", "ice-1"):
                node = s.page.locator(f"g.wf-node[data-nodename={name}]")
                expect(node).to_have_attribute("data-state", "successful", timeout=90_000)
            s.shot("workflow-seed-live-done")
            out, _ = run.communicate(timeout=60)
            assert run.returncode == 0, out
        finally:
            if run.poll() is None:
                run.terminate()
                run.wait(timeout=30)
        requests = [t for t in s.recorder.sent if t.startswith("http") and t.endswith("/api")]
        assert len(requests) < 200, "the page polls instead of following /pubsub"
    finally:
        bare.stop()


def test_every_page_renders_in_both_themes(open_as: Any, world: World) -> None:
    """Screenshots for people to look at (artifacts/dashboard/), and no script errors on any page."""
    pages = ["overview", "processes", "workflows", "executors", "submit", "crons", "generators", "functions", "users",
             "logs"]  # fmt: skip
    for theme in ("light", "dark"):
        s = open_as("user", theme=theme)
        for name in pages:
            s.go(f"#/{name}")
            expect(s.page.get_by_role("heading", level=1)).to_be_visible()
            s.page.wait_for_timeout(300)
            assert "Not here" not in s.page.locator("main h1").first.inner_text()
            s.shot(f"page-{name}-{theme}")
    s = open_as("server")
    s.go("#/colonies")
    expect(s.page.locator("main table")).to_contain_text(world.other_colony)
    s.shot("page-colonies")


def test_live_view_resumes_after_the_server_restarts_without_a_reload(open_as: Any, tmp_path: Path) -> None:
    from dashboard_world import start_dev_server

    port = free_port()
    w = make_world(port, seed=False, data_dir=str(tmp_path / "data"))
    try:
        s = open_as("user", w=w)
        s.go("#/processes?state=0&funcname=after-restart")
        expect(s.page.locator("#live")).to_have_text("Live")
        expect(s.page.locator("main")).to_contain_text(re.compile("No |Nothing", re.I))
        s.page.evaluate("() => { window.__notReloaded = true; }")
        assert w.proc is not None
        w.proc.terminate()
        w.proc.wait(timeout=20)
        expect(s.page.locator("#live")).not_to_have_text("Live", timeout=10_000)
        w.proc, _ = start_dev_server(port, str(tmp_path / "data"))
        expect(s.page.locator("#live")).to_have_text("Live", timeout=30_000)
        spec = {"funcname": "after-restart", "conditions": {"colonyname": w.colony, "executortype": "nobody"}}
        process = w.call("submitfuncspecmsg", {"spec": spec}, "user")
        expect(s.page.locator("main")).to_contain_text(process["processid"][:8], timeout=10_000)
        assert s.page.evaluate("() => window.__notReloaded === true")
    finally:
        w.stop()

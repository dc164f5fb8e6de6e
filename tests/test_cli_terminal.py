"""The CLI as a person sees it: commands run in a real terminal (tmux, 80 columns), and the test reads the screen.

A workflow followed live shows one line per node while it runs and names each failed node at the end; tables fit
80 columns with short ids, which every command that takes an id accepts; ``--wide`` and pipes get whole ids."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Colony, Server, create_colony

from colonies.client.transport import RPCClient
from colonies.exceptions import ColoniesError

pytestmark = pytest.mark.timeout(120)
WIDTH = 80
FULL_ID = re.compile(r"\b[0-9a-f]{64}\b")


class Terminal:
    """A tmux session of its own (its own server socket), WIDTH columns wide, running one shell command."""

    def __init__(self, env: dict[str, str], tmp: Path, width: int = WIDTH) -> None:
        self.width = width
        if not shutil.which("tmux"):
            raise RuntimeError("tmux is not installed (apt-get install tmux; .ci/run installs it)")
        self.socket = f"colonies-{uuid.uuid4().hex[:8]}"
        self.env = {**env, "TERM": "xterm-256color", "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
        self.tmp = tmp

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-u", "-L", self.socket, *args], env=self.env, capture_output=True,
                              text=True, timeout=20, check=True).stdout  # fmt: skip

    def run(self, command: str) -> None:
        script = f"{command}; echo __DONE__ $?; sleep 600"
        self.tmux("new-session", "-d", "-s", "t", "-x", str(self.width), "-y", "50", "sh", "-c", script)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "t", "-S", "-200")

    def wait_for(self, pattern: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if re.search(pattern, text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} never showed up; the screen:\n{text}")
            time.sleep(0.1)

    def finished(self, timeout: float = 60) -> tuple[int, str]:
        text = self.wait_for(r"__DONE__ \d+", timeout)
        code = int(re.search(r"__DONE__ (\d+)", text).group(1))  # type: ignore[union-attr]
        return code, text[: text.index("__DONE__")]

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], env=self.env, capture_output=True, timeout=20,
                       check=False)  # fmt: skip


class SlowExecutor(threading.Thread):
    """Takes every process of the colony: ``boom`` fails with an error, anything else succeeds after a while."""

    def __init__(self, server: Server, colony: Colony, seconds: float = 1.5) -> None:
        super().__init__(daemon=True)
        self.colony, self.seconds = colony, seconds
        self.client = RPCClient("127.0.0.1", server.port, timeout=30)
        self.stop_event = threading.Event()

    def run(self) -> None:
        key = self.colony.executor.prvkey
        while not self.stop_event.is_set():
            try:
                process = self.client.call("assignprocessmsg", {"colonyname": self.colony.name, "timeout": 1},
                                           key, 10)  # fmt: skip
            except ColoniesError:
                continue
            time.sleep(self.seconds)
            pid = process["processid"]
            if process["spec"]["funcname"] == "boom":
                self.client.call("closefailedmsg", {"processid": pid, "errors": ["ValueError: the input was bad",
                                                                                  "second line"]}, key)
            else:
                self.client.call("closesuccessfulmsg", {"processid": pid, "out": ["x" * 300]}, key)


@pytest.fixture
def world(server: Server, tmp_path: Path) -> Iterator[tuple[Colony, Terminal, dict[str, str]]]:
    colony = create_colony(server)
    executor = SlowExecutor(server, colony)
    executor.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
    env.update({"COLONIES_SERVER_HOST": "127.0.0.1", "COLONIES_SERVER_PORT": str(server.port), "COLONIES_TLS":
                "false", "COLONIES_COLONY_NAME": colony.name, "COLONIES_PRVKEY": colony.user.prvkey,
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"})  # fmt: skip
    terminal = Terminal(env, tmp_path)
    try:
        yield colony, terminal, env
    finally:
        terminal.close()
        executor.stop_event.set()
        executor.join(10)


def workflow_file(tmp: Path, colony: Colony, second: str) -> Path:
    nodes = [{"nodename": "prepare-the-input-data", "funcname": "prepare", "args": ["a" * 200],
              "conditions": {"executortype": colony.executortype, "dependencies": []}},
             {"nodename": "train", "funcname": second,
              "conditions": {"executortype": colony.executortype, "dependencies": ["prepare-the-input-data"]}}]
    path = tmp / "wf.json"
    path.write_text(json.dumps(nodes))
    return path


def test_a_workflow_is_followed_live_and_its_tables_fit_80_columns(world: tuple[Colony, Terminal, Any],
                                                                   tmp_path: Path) -> None:  # fmt: skip
    colony, terminal, env = world
    spec = workflow_file(tmp_path, colony, "fit")
    terminal.run(f"colonies workflow submit --spec {shlex.quote(str(spec))} --wait")
    live = terminal.wait_for(r"▶ prepare-the-input-data +Running")  # redrawn in place while it runs
    assert re.search(r"· train +Waiting", live), live
    code, screen = terminal.finished()
    assert code == 0, screen
    assert re.search(r"✓ prepare-the-input-data +Successful +\d+\.\d s", screen), screen
    assert re.search(r"✓ train +Successful", screen), screen
    lines = screen.splitlines()
    assert max(len(line) for line in lines) <= WIDTH, screen
    assert not FULL_ID.search(screen), screen  # ids are shortened...
    short = re.search(r"│ prepare\S* +│ ([0-9a-f]{12}) │", screen)
    assert short, screen
    prefix = short.group(1)
    # ...and every command that takes an id takes that prefix.
    got = subprocess.run(["colonies", "process", "get", "-p", prefix, "--json"], env=env, capture_output=True,
                         text=True, timeout=30, check=True)  # fmt: skip
    assert json.loads(got.stdout)["processid"].startswith(prefix)
    # Piped, the same table has whole ids; --wide in a terminal too.
    piped = subprocess.run(["colonies", "process", "pss"], env=env, capture_output=True, text=True, timeout=30,
                           check=True).stdout  # fmt: skip
    assert FULL_ID.search(piped)
    wide = Terminal(env, tmp_path, width=250)
    try:
        wide.run("colonies process pss")
        assert not FULL_ID.search(wide.finished()[1])  # a wide terminal alone does not change that
    finally:
        wide.close()
    wide = Terminal(env, tmp_path, width=250)
    try:
        wide.run("colonies process pss --wide")
        code, text = wide.finished()
        assert code == 0 and FULL_ID.search(text), text
    finally:
        wide.close()


def test_a_failed_workflow_names_each_failed_node_and_its_error(world: tuple[Colony, Terminal, Any],
                                                                tmp_path: Path) -> None:  # fmt: skip
    colony, terminal, _ = world
    spec = workflow_file(tmp_path, colony, "boom")
    terminal.run(f"colonies workflow submit --spec {shlex.quote(str(spec))} --wait")
    code, screen = terminal.finished()
    assert code == 1, screen
    assert re.search(r"✗ train +Failed", screen), screen
    assert re.search(r"✗ train \([0-9a-f]{12}\): ValueError: the input was bad", screen), screen
    assert "second line" not in screen
    assert re.search(r"Error: workflow [0-9a-f]{64} failed: 1 of 2 nodes failed", screen.replace("\n", "")), screen
    assert "Traceback" not in screen


def test_watch_follows_a_workflow_submitted_elsewhere_and_an_unknown_prefix_is_one_line(
        world: tuple[Colony, Terminal, Any], tmp_path: Path) -> None:  # fmt: skip
    colony, terminal, env = world
    spec = workflow_file(tmp_path, colony, "fit")
    graphid = subprocess.run(["colonies", "workflow", "submit", "--spec", str(spec)], env=env, capture_output=True,
                             text=True, timeout=30, check=True).stdout.strip()  # fmt: skip
    terminal.run(f"colonies workflow watch -w {graphid[:8]}")
    code, screen = terminal.finished()
    assert code == 0 and re.search(r"✓ train +Successful", screen), screen
    wrong = subprocess.run(["colonies", "process", "get", "-p", "0000ffff"], env=env, capture_output=True,
                           text=True, timeout=30, check=False)  # fmt: skip
    assert wrong.returncode == 1
    assert wrong.stderr.strip() == ("Error: no process id starts with 0000ffff (among the colony's newest); give "
                                    "the whole id")  # fmt: skip


def test_piped_waiting_prints_one_plain_line_per_change(world: tuple[Colony, Terminal, Any],
                                                        tmp_path: Path) -> None:  # fmt: skip
    colony, _, env = world
    spec = workflow_file(tmp_path, colony, "fit")
    proc = subprocess.run(["colonies", "workflow", "submit", "--spec", str(spec), "--wait"], env=env,
                          capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    changes = [line for line in proc.stderr.splitlines() if re.match(r"\d\d:\d\d:\d\d ", line)]
    assert any(line.endswith("train: Successful") for line in changes), proc.stderr
    assert "\x1b[" not in proc.stderr  # no cursor movement or colour when not a terminal
    as_json = subprocess.run(["colonies", "workflow", "submit", "--spec", str(spec), "--wait", "--json"], env=env,
                             capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    assert json.loads(as_json.stdout)["state"] == 2
    assert not [line for line in as_json.stderr.splitlines() if re.match(r"\d\d:\d\d:\d\d ", line)]

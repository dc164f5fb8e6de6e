"""The documentation's walkthroughs, run as written: every shell and Python block of a page, in order, in one
bash session, against the real `colonies dev` the page itself starts (on a free port: COLONIES_SERVER_PORT).

Conventions the pages follow (and this test relies on):

* ```sh, ```bash and ```console blocks run in one bash session, in page order, with ``set -eo pipefail``: any
  failing command fails the test. In ```console blocks only the ``$ `` lines run. Variables, the working
  directory and background jobs carry over from block to block.
* A command that keeps running (the dev server, an executor) ends in ``&`` and is commented ``# runs in the
  background``. Background jobs still running at the end are killed.
* A ```python block whose first line is a comment naming a file (``# hello_executor.py``) is that file: it is
  written to the session's current directory at that point of the page, and a later shell block runs it. Any
  other ```python block runs with ``python`` and must exit 0.
* ```text, ```json and other blocks are never run (sample output, file contents shown for reading).
* ``<!-- docs-test: skip … -->`` right before a block skips it. Only installation blocks may use it (the test
  already runs inside the installed virtualenv).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import free_port

DOCS = Path(__file__).resolve().parent.parent / "docs"
SHELL_LANGS = {"sh", "bash", "console", "shell"}
FENCE = re.compile(r"^```([\w-]*)\s*$")
SKIP = re.compile(r"^<!--\s*docs-test:\s*skip\b")
FILE_HEADER = re.compile(r"^#\s*([\w./-]+\.py)\s*$")
#: What a skipped (installation) block may contain.
INSTALL_COMMAND = re.compile(
    r"^(make install|pip install|python3? -m (venv|pip install)|source \S*activate|git clone|cd )"
)
MARK = "@@docs-test"


@dataclass
class Block:
    lang: str
    text: str
    line: int  # 1-based line of the opening fence
    skip: bool

    @property
    def filename(self) -> str | None:
        """The file a Python block stands for (``# name.py`` on its first line), else None."""
        if self.lang != "python":
            return None
        first = self.text.split("\n", 1)[0]
        match = FILE_HEADER.match(first)
        return match.group(1) if match else None

    @property
    def runnable(self) -> bool:
        return not self.skip and (self.lang in SHELL_LANGS or self.lang == "python")

    def shell_text(self) -> str:
        if self.lang != "console":
            return self.text
        return "\n".join(line[2:] for line in self.text.splitlines() if line.startswith("$ "))


def parse_blocks(markdown: str) -> list[Block]:
    """Fenced code blocks in page order; a block is skipped if a skip comment is the line before its fence."""
    blocks: list[Block] = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines) and lines[i].rstrip() != "```":
            body.append(lines[i])
            i += 1
        if i == len(lines):
            raise AssertionError(f"unclosed code block at line {start + 1}")
        before = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        text = "\n".join(body) + "\n"
        blocks.append(Block(match.group(1).lower(), text, start + 1, bool(SKIP.match(before))))
        i += 1
    return blocks


def driver_script(blocks: list[Block], blockdir: Path) -> str:
    """One bash script that runs the page's blocks in order, with a start and an end marker around each."""
    out = ["set -eo pipefail"]
    for n, block in enumerate(blocks):
        if not block.runnable:
            continue
        out.append(f'echo "{MARK} block {n} line {block.line} start"')
        if block.lang == "python" and block.filename:
            path = blockdir / f"{n:02d}.py"
            path.write_text(block.text)
            out.append(f'cp "{path}" "{block.filename}"')
        elif block.lang == "python":
            path = blockdir / f"{n:02d}.py"
            path.write_text(block.text)
            out.append(f'python "{path}"')
        else:
            path = blockdir / f"{n:02d}.sh"
            path.write_text(block.shell_text())
            out.append(f'source "{path}"')
        out.append(f'echo "{MARK} block {n} line {block.line} end"')
    out.append(f'echo "{MARK} done"')
    # whatever the page left running (it should have stopped its jobs itself)
    out.append("for pid in $(jobs -p); do kill $pid 2>/dev/null || true; done")
    out.append("wait")
    return "\n".join(out) + "\n"


def run_page(page: str, tmp_path: Path, timeout: float = 90) -> str:
    """Run every block of ``docs/<page>``; returns the session's output (stdout and stderr, interleaved)."""
    blocks = parse_blocks((DOCS / page).read_text(encoding="utf-8"))
    for block in blocks:
        if block.skip:
            commands = [ln.strip() for ln in block.text.splitlines() if ln.strip() and not ln.startswith("#")]
            bad = [c for c in commands if not INSTALL_COMMAND.match(c)]
            assert not bad, f"{page} line {block.line}: only installation blocks may be skipped, not {bad}"
    blockdir = tmp_path / "blocks"
    workdir = tmp_path / "work"
    tmpdir = tmp_path / "tmp"
    for d in (blockdir, workdir, tmpdir):
        d.mkdir()
    script = blockdir / "driver.sh"
    script.write_text(driver_script(blocks, blockdir))

    env = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
    env.update({
        # `colonies` and `python` of the virtualenv this test runs in, as after `source .venv/bin/activate`
        "PATH": os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""),
        "COLONIES_SERVER_PORT": str(free_port()),  # the page's default is 50080; `colonies dev` honours this
        "TMPDIR": str(tmpdir),
        "PYTHONUNBUFFERED": "1",
    })  # fmt: skip
    log = tmp_path / "session.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(["bash", "--noprofile", "--norc", str(script)], cwd=workdir, env=env,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
        finally:
            try:
                os.killpg(proc.pid, signal.SIGTERM)  # background jobs share the session's process group
                time.sleep(0.5)
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)
    text = log.read_text(errors="replace")
    tail = "\n".join(text.splitlines()[-60:])
    assert f"{MARK} done" in text, f"{page}: the session did not finish (exit {proc.returncode}):\n{tail}"
    assert proc.returncode == 0, f"{page}: the session exited with {proc.returncode}:\n{tail}"
    for n, block in enumerate(blocks):
        if block.runnable:
            ended = f"{MARK} block {n} line {block.line} end" in text
            assert ended, f"{page}: the block at line {block.line} failed:\n{tail}"
    return text


def test_getting_started_runs_as_written(tmp_path: Path) -> None:
    page = (DOCS / "getting-started.md").read_text(encoding="utf-8")
    assert "50080" in page, "the page should name the default port"
    blocks = parse_blocks(page)
    assert any(b.lang == "python" and b.filename for b in blocks), "the page should write an executor file"
    assert any(b.runnable and "# runs in the background" in b.text for b in blocks)

    text = run_page("getting-started.md", tmp_path)

    for expected in (
        "Hello, world!",  # process wait --out, after the executor picked up the waiting process
        "Hello, Bob!",  # function exec --out
        "Hello, Python!",  # the SDK script
        "HELLO, ALICE!",  # the workflow's second node got the first one's output
        "saying hello to world",  # log get
        "shout successful",  # the tail of the executor's own log
    ):
        assert expected in text, f"{expected!r} missing from the getting-started session:\n{text[-3000:]}"
    assert "Traceback" not in text, text[-3000:]


def test_parse_blocks_reads_fences_skip_markers_and_file_headers() -> None:
    page = (
        "intro\n\n<!-- docs-test: skip -->\n```sh\nmake install\n```\n\n"
        "```python\n# tool.py\nprint(1)\n```\n```text\nout\n```\n```console\n$ echo hi\nhi\n```\n"
    )
    blocks = parse_blocks(page)
    assert [(b.lang, b.skip, b.filename) for b in blocks] == [
        ("sh", True, None), ("python", False, "tool.py"), ("text", False, None), ("console", False, None),
    ]  # fmt: skip
    assert [b.runnable for b in blocks] == [False, True, False, True]
    assert blocks[3].shell_text() == "echo hi"


@pytest.mark.parametrize("page", sorted(p.name for p in DOCS.glob("*.md")))
def test_pages_have_closed_fences_and_links_to_existing_pages(page: str) -> None:
    text = (DOCS / page).read_text(encoding="utf-8")
    parse_blocks(text)  # raises on an unclosed fence
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    for target in re.findall(r"\]\(([^)#\s]+\.md)(?:#[^)]*)?\)", prose):
        assert (DOCS / target).exists(), f"{page} links to {target}, which does not exist"


def test_developing_an_executor_runs_as_written(tmp_path: Path) -> None:
    text = run_page("developing-an-executor.md", tmp_path)
    for expected in (
        "4\n",  # wordcount, private-key mode
        "Hi, Ada!",  # greet, self-registered
        "3.142857142857143",  # typed args from a JSON spec
        "│ Successful │ 4.0",  # the workflow node averaging its parents' outputs
        "ZeroDivisionError: float division by zero",  # a failed process and its log
        "Maximum execution time limit exceeded",  # maxexectime with no retries left
    ):
        assert expected in text, f"{expected!r} missing from the session:\n{text[-3000:]}"
    listing = text[text.rindex("Last heard"):]  # the last executor table
    assert "wordcount-1" in listing and "greeter-" not in listing  # the self-registered executor removed itself

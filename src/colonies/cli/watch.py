"""Following work while it runs: one line per workflow node (or the one process) with its state, retries and
elapsed time, redrawn in place in a terminal (Rich's live display on stderr), or one plain line per change of state
when stderr is not a terminal. ``--json`` prints nothing while waiting. At the end every failed node is named with
its first error line, so a failure is understood without another command."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from ..timefmt import parse_time
from .context import CLIError, get_config
from .output import info, state_name

WAITING, RUNNING, SUCCESS, FAILED, CANCELLED = 0, 1, 2, 3, 4
FINAL = (SUCCESS, FAILED, CANCELLED)
_MARK = {WAITING: ("·", "yellow"), RUNNING: ("▶", "blue"), SUCCESS: ("✓", "green"), FAILED: ("✗", "red"),
         CANCELLED: ("⊘", "magenta")}  # fmt: skip
POLL = 0.5


def _ns(value: Any) -> int:
    try:
        return parse_time(str(value or ""))
    except (TypeError, ValueError):
        return 0


def elapsed(process: dict[str, Any]) -> str:
    """Time spent so far: queued until it started, then running until it ended (or now)."""
    start, end = _ns(process.get("starttime")), _ns(process.get("endtime"))
    if not start:
        since = _ns(process.get("submissiontime"))
        return f"queued {(time.time_ns() - since) / 1e9:.1f} s" if since else ""
    return f"{((end or time.time_ns()) - start) / 1e9:.1f} s"


def node_name(process: dict[str, Any]) -> str:
    spec = process.get("spec") or {}
    return str(spec.get("nodename") or spec.get("funcname") or str(process.get("processid", ""))[:12])


def first_error(process: dict[str, Any]) -> str:
    errors = process.get("errors") or []
    text = str(errors[0]) if errors else ""
    return text.strip().splitlines()[0] if text.strip() else "no error given"


def _view(title: str, processes: list[dict[str, Any]]) -> Group:
    """What the live display shows: a title and one line per node, narrow enough for 80 columns."""
    grid = Table.grid(padding=(0, 1))
    for _ in range(5):
        grid.add_column(no_wrap=True, overflow="ellipsis")
    for p in processes:
        state = int(p.get("state") or 0)
        mark, style = _MARK.get(state, ("?", ""))
        retries = int(p.get("retries") or 0)
        grid.add_row(Text(mark, style=style), Text(node_name(p)[:28]), Text(state_name(state), style=style),
                     Text(elapsed(p)), Text(f"retry {retries}" if retries else ""))  # fmt: skip
    return Group(Text(title, style="bold"), grid)


def follow(fetch: Callable[[], dict[str, Any]], nodes: Callable[[dict[str, Any]], list[dict[str, Any]]],
           title: str, what: str, timeout: float | None) -> dict[str, Any]:  # fmt: skip
    """Poll ``fetch`` until its state is final, showing ``nodes`` of it; CLIError when ``timeout`` passes."""
    deadline = None if timeout is None or timeout <= 0 else time.monotonic() + timeout
    quiet = get_config().json
    live = not quiet and sys.stderr.isatty()
    seen: dict[str, int] = {}
    display = Live(console=Console(stderr=True), refresh_per_second=4, transient=False) if live else None
    if display is not None:
        display.start()
    try:
        while True:
            obj = fetch()
            processes = nodes(obj)
            if display is not None:
                display.update(_view(f"{title}: {state_name(obj.get('state'))}", processes))
            elif not quiet and not (not seen and obj.get("state") in FINAL):  # nothing to follow: no lines
                for p in processes:
                    pid, state = str(p.get("processid")), int(p.get("state") or 0)
                    if seen.get(pid) != state:
                        seen[pid] = state
                        info(f"{time.strftime('%H:%M:%S')} {node_name(p)}: {state_name(state)}")
            if obj.get("state") in FINAL:
                return obj
            if deadline is not None and time.monotonic() >= deadline:
                raise CLIError(f"timed out after {timeout:g} s waiting for {what} "
                               f"(still {state_name(obj.get('state')).lower()})")  # fmt: skip
            time.sleep(POLL if deadline is None else max(0.0, min(POLL, deadline - time.monotonic())))
    finally:
        if display is not None:
            display.stop()


def failure_summary(processes: list[dict[str, Any]]) -> list[str]:
    """One line per failed or cancelled node: its name, short id and first error line."""
    lines = []
    for p in processes:
        state = int(p.get("state") or 0)
        if state == FAILED:
            lines.append(f"  ✗ {node_name(p)} ({str(p.get('processid'))[:12]}): {first_error(p)}")
        elif state == CANCELLED:
            lines.append(f"  ⊘ {node_name(p)} ({str(p.get('processid'))[:12]}): cancelled")
    return lines


__all__ = ["failure_summary", "follow"]

"""A removed or rejected executor gets no more work (issue 10, item 8).

* Its long-poll, started while it was still approved, ends with 403 instead of claiming (and receiving the
  ``env`` of) the next process; another approved executor gets that process.
* What it was running goes back to WAITING (not counted as a retry), another executor completes it, and the
  removed executor's late close is refused.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from conftest import Colony, expect_error

from colonies.exceptions import ColoniesError

WAITING, RUNNING, SUCCESS = 0, 1, 2
HOW = {"remove": "removeexecutormsg", "reject": "rejectexecutormsg"}


def take_away(colony: Colony, name: str, how: str) -> None:
    colony.call(HOW[how], {"colonyname": colony.name, "executorname": name}, colony.owner)


@pytest.mark.parametrize("how", ["remove", "reject"])
def test_long_poll_of_removed_executor_ends_with_403(colony: Colony, how: str) -> None:
    doomed = colony.add_executor()
    result: dict[str, Any] = {}

    def poll() -> None:
        started = time.monotonic()
        try:
            result["process"] = colony.assign(who=doomed, timeout=15)
        except ColoniesError as err:
            result["error"] = err
        result["took"] = time.monotonic() - started

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    time.sleep(1.0)  # the long-poll is waiting (nothing is queued)
    take_away(colony, doomed.name, how)
    submitted = colony.submit(env={"SECRET": "only-for-members"})
    thread.join(20)
    assert not thread.is_alive()
    assert "process" not in result, "a removed executor received a process"
    assert result["error"].status == 403 and result["took"] < 10
    got = colony.assign(timeout=5)
    assert got["processid"] == submitted["processid"]


@pytest.mark.parametrize("how", ["remove", "reject"])
def test_running_process_of_removed_executor_is_requeued(colony: Colony, how: str) -> None:
    doomed = colony.add_executor()
    submitted = colony.submit()
    assert colony.assign(who=doomed)["processid"] == submitted["processid"]
    take_away(colony, doomed.name, how)
    requeued = colony.get(submitted["processid"])
    assert requeued["state"] == WAITING and not requeued["isassigned"] and requeued["retries"] == 0
    taken = colony.assign()
    assert taken["processid"] == submitted["processid"]
    expect_error(403, colony.close, submitted["processid"], ["late"], who=doomed)
    colony.close(submitted["processid"], ["done"])
    done = colony.get(submitted["processid"])
    assert done["state"] == SUCCESS and done["out"] == ["done"]
    assert done["assignedexecutorid"] == colony.executor.id

"""maxexectime / maxwaittime / maxretries (protocol §5.3) against the real server's timeout loop (every 0.5 s).

Every wait is a bounded poll with getprocessmsg.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from conftest import Colony, expect_error
from sched_helpers import wait_for

from colonies.exceptions import ColoniesError

pytestmark = pytest.mark.timeout(60)

EXEC_LIMIT = "Maximum execution time limit exceeded"
WAIT_LIMIT = "Maximum waiting time limit exceeded"


def pid(process: dict[str, Any]) -> str:
    return str(process["processid"])


def wait_requeued(colony: Colony, processid: str, retries: int, timeout: float = 4.0) -> dict[str, Any]:
    return wait_for(lambda: colony.get(processid), lambda p: p["state"] != 1, timeout,
                    what=f"requeue #{retries} of {processid}")  # fmt: skip


def test_exec_timeout_requeues_then_fails_after_retries(colony: Colony) -> None:
    b = colony.add_executor("exec-b")
    p = colony.submit(colony.user, maxexectime=1, maxretries=2)
    processid = pid(p)
    runners = [colony.executor, b, colony.executor]
    for attempt, runner in enumerate(runners):
        got = colony.assign(runner)
        assert pid(got) == processid
        assert got["state"] == 1 and got["retries"] == attempt
        t_assign = time.monotonic()
        time.sleep(0.6)
        still = colony.get(processid)
        assert still["state"] == 1, f"expired after {time.monotonic() - t_assign:.2f}s < maxexectime 1 s"
        after = wait_requeued(colony, processid, attempt + 1)
        waited = time.monotonic() - t_assign
        assert waited < 3.0, waited
        if attempt < len(runners) - 1:
            # Requeued: waiting again, one more retry, nobody assigned.
            assert after["state"] == 0, after
            assert after["retries"] == attempt + 1
            assert after["assignedexecutorid"] == ""
            assert after["isassigned"] is False
            assert after["errors"] == []
            # The executor that lost it can no longer close or fail it.
            expect_error(403, colony.close, processid, ["late"], runner)
            expect_error(403, colony.fail, processid, ["late"], runner)
            assert colony.get(processid)["state"] == 0
        else:
            # Executed maxretries + 1 = 3 times: now it fails for good.
            assert after["state"] == 3, after
            assert after["errors"] == [EXEC_LIMIT]
            assert after["retries"] == 2
    expect_error(404, colony.assign)  # not requeued again
    expect_error(400, colony.close, processid, [], colony.executor)  # its assignee, but it has ended (Go: 400)


def test_requeued_process_goes_to_another_executor_whose_close_works(colony: Colony) -> None:
    b = colony.add_executor("exec-b")
    p = colony.submit(colony.user, maxexectime=1, maxretries=3)
    colony.assign(colony.executor)
    wait_requeued(colony, pid(p), 1)
    got = colony.assign(b)
    assert pid(got) == pid(p) and got["assignedexecutorid"] == b.id
    expect_error(403, colony.close, pid(p), ["stale"], colony.executor)
    colony.close(pid(p), ["fresh"], b)
    final = colony.get(pid(p))
    assert final["state"] == 2 and final["out"] == ["fresh"]


def test_requeue_wakes_a_long_polling_executor(colony: Colony) -> None:
    b = colony.add_executor("exec-b")
    p = colony.submit(colony.user, maxexectime=1, maxretries=3)
    colony.assign(colony.executor)
    out: dict[str, Any] = {}

    def poll() -> None:
        try:
            out["process"] = colony.assign(b, timeout=10)
        except ColoniesError as exc:
            out["status"] = exc.status
        out["t"] = time.monotonic()

    t = threading.Thread(target=poll)
    t.start()
    requeued = wait_requeued(colony, pid(p), 1)
    seen = time.monotonic()
    t.join(15)
    assert "process" in out, out
    assert pid(out["process"]) == pid(p)
    assert out["process"]["retries"] == 1
    # The requeue woke b (the idle re-check is 5 s away); allow for our own polling interval.
    assert out["t"] - seen < 1.0, (out["t"] - seen, requeued)


def test_wait_timeout_fails_waiting_process(colony: Colony) -> None:
    p = colony.submit(colony.user, maxwaittime=1)
    t0 = time.monotonic()
    time.sleep(0.5)
    assert colony.get(pid(p))["state"] == 0
    failed = wait_for(lambda: colony.get(pid(p)), lambda x: x["state"] != 0, 4.0, what="wait timeout")
    assert time.monotonic() - t0 < 3.0
    assert failed["state"] == 3, failed
    assert failed["errors"] == [WAIT_LIMIT]
    assert failed["isassigned"] is False
    expect_error(404, colony.assign)


def test_wait_timeout_does_not_touch_assigned_process(colony: Colony) -> None:
    p = colony.submit(colony.user, maxwaittime=1)
    colony.assign()
    time.sleep(2.0)
    proc = colony.get(pid(p))
    assert proc["state"] == 1, proc
    colony.close(pid(p))
    assert colony.get(pid(p))["state"] == 2


def test_zero_and_negative_limits_mean_no_limit(colony: Colony) -> None:
    zero = colony.submit(colony.user, maxexectime=0, maxretries=0)
    neg = colony.submit(colony.user, maxexectime=-1, maxretries=0)
    got = {pid(colony.assign()), pid(colony.assign())}
    assert got == {pid(zero), pid(neg)}
    # Waiting processes (of a type nobody serves) with maxwaittime 0 / -1 are never failed either.
    idle = {"executortype": "nobody_serves_this"}
    wait_zero = colony.submit(colony.user, maxwaittime=0, conditions=idle)
    wait_neg = colony.submit(colony.user, maxwaittime=-1, conditions=idle)
    time.sleep(3.0)
    for p in (zero, neg):
        proc = colony.get(pid(p))
        assert proc["state"] == 1, proc
        assert proc["retries"] == 0
        assert proc["assignedexecutorid"] == colony.executor.id
        assert proc["errors"] == []
    for p in (wait_zero, wait_neg):
        proc = colony.get(pid(p))
        assert proc["state"] == 0 and proc["errors"] == [], proc
    colony.close(pid(zero), ["z"])
    colony.fail(pid(neg), ["n"])
    assert colony.get(pid(zero))["state"] == 2
    assert colony.get(pid(neg))["errors"] == ["n"]


def test_unlimited_retries(colony: Colony) -> None:
    p = colony.submit(colony.user, maxexectime=1, maxretries=-1)
    for attempt in range(4):
        got = colony.assign()
        assert pid(got) == pid(p) and got["retries"] == attempt
        after = wait_requeued(colony, pid(p), attempt + 1)
        assert after["state"] == 0, after
        assert after["retries"] == attempt + 1
        assert after["errors"] == []
    # After 4 expiries it is still in the queue and can finish normally.
    got = colony.assign()
    colony.close(pid(got), ["finally"])
    final = colony.get(pid(p))
    assert final["state"] == 2 and final["out"] == ["finally"] and final["retries"] == 4


def test_maxretries_zero_fails_on_first_expiry(colony: Colony) -> None:
    p = colony.submit(colony.user, maxexectime=1, maxretries=0)
    colony.assign()
    after = wait_requeued(colony, pid(p), 1)
    assert after["state"] == 3 and after["errors"] == [EXEC_LIMIT] and after["retries"] == 0
    expect_error(404, colony.assign)


def test_requeue_restarts_wait_clock(colony: Colony) -> None:
    """After an exec-timeout requeue, maxwaittime counts again from the requeue (waitdeadline refreshed)."""
    p = colony.submit(colony.user, maxexectime=1, maxwaittime=2, maxretries=5)
    time.sleep(1.2)  # spend most of the first wait budget before assignment
    colony.assign()
    after = wait_requeued(colony, pid(p), 1)
    assert after["state"] == 0, after
    t_requeue = time.monotonic()
    # Not failed right away (the original deadline has passed, the refreshed one has not) ...
    time.sleep(0.8)
    assert colony.get(pid(p))["state"] == 0
    # ... but failed once the refreshed deadline passes.
    failed = wait_for(lambda: colony.get(pid(p)), lambda x: x["state"] != 0, 4.0, what="refreshed wait timeout")
    assert failed["state"] == 3 and failed["errors"] == [WAIT_LIMIT], failed
    assert time.monotonic() - t_requeue < 3.5

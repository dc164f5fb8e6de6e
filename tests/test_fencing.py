"""Fencing: once a process's lease (its assignment) has expired, the old owner can no longer act on it.

The race: executor A is assigned a process with maxexectime 1 s and stalls; the server's timeout loop requeues the
process; the next owner (another executor, or A itself through a new assignment) runs it. Every late call from A's
first assignment (close, fail, set output, add log, add attribute) is refused with 403 and a clear message, and the
next owner's result is what stays. Without a lease (Go clients) the server fences by executor and state; with one
(our SDK sends the assignment's starttime) it also fences a stale assignment of the same executor.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import Colony, Identity, expect_error
from sched_helpers import wait_for

from colonies.exceptions import ColoniesError

pytestmark = pytest.mark.timeout(60)


def requeue(colony: Colony, processid: str) -> None:
    wait_for(lambda: colony.get(processid), lambda p: p["state"] == 0, 5.0, what=f"requeue of {processid}")


def late_calls(colony: Colony, processid: str, who: Identity, lease: str | None) -> dict[str, Any]:
    """Every call a stale owner might still make; returns {message: ColoniesError or reply}."""
    extra = {} if lease is None else {"lease": lease}
    attribute = {"targetid": processid, "key": "late", "value": "x", "attributetype": 1}
    calls = {
        "closesuccessfulmsg": {"processid": processid, "out": ["late"], **extra},
        "closefailedmsg": {"processid": processid, "errors": ["late"], **extra},
        "setoutputmsg": {"processid": processid, "out": ["late"], **extra},
        "addlogmsg": {"processid": processid, "message": "late line", **extra},
        "addattributemsg": {"attribute": attribute, **extra},
    }
    results: dict[str, Any] = {}
    for msgtype, msg in calls.items():
        try:
            results[msgtype] = colony.call(msgtype, msg, who)
        except ColoniesError as exc:
            results[msgtype] = exc
    return results


def assert_all_refused(results: dict[str, Any], wording: str) -> None:
    for msgtype, got in results.items():
        assert isinstance(got, ColoniesError), f"{msgtype} was accepted from a stale owner: {got}"
        assert got.status == 403, (msgtype, got.status, got.message)
        assert wording in got.message, (msgtype, got.message)


def logs_of(colony: Colony, processid: str) -> list[str]:
    got = colony.call("getlogsmsg", {"colonyname": colony.name, "processid": processid, "count": 100}, colony.user)
    return [line["message"] for line in got or []]


def test_stale_owner_is_refused_and_the_new_owners_result_stays(colony: Colony) -> None:
    b = colony.add_executor("fence-b")
    p = colony.submit(colony.user, maxexectime=1, maxretries=3)
    processid = p["processid"]
    first = colony.assign(colony.executor)
    requeue(colony, processid)
    second = colony.assign(b)
    assert second["processid"] == processid and second["assignedexecutorid"] == b.id
    # A (stale, without and with its old lease) is refused while B runs the process...
    assert_all_refused(late_calls(colony, processid, colony.executor, None), "not assigned to the caller")
    assert_all_refused(late_calls(colony, processid, colony.executor, first["starttime"]), "not assigned")
    colony.call("addlogmsg", {"processid": processid, "message": "b was here", "lease": second["starttime"]}, b)
    colony.call("closesuccessfulmsg", {"processid": processid, "out": ["b"], "lease": second["starttime"]}, b)
    # ...and after B closed it.
    assert_all_refused(late_calls(colony, processid, colony.executor, None), "not assigned")
    final = colony.get(processid)
    assert final["state"] == 2 and final["out"] == ["b"] and final["errors"] == []
    assert final["attributes"] == [] or all(a["key"] != "late" for a in final["attributes"])
    assert logs_of(colony, processid) == ["b was here"]


def test_same_executor_reassigned_is_fenced_by_lease(colony: Colony) -> None:
    p = colony.submit(colony.user, maxexectime=1, maxretries=3)
    processid = p["processid"]
    first = colony.assign(colony.executor)
    requeue(colony, processid)
    second = colony.assign(colony.executor)
    assert second["processid"] == processid and second["retries"] == 1
    assert first["starttime"] != second["starttime"]
    # The first assignment's late calls are refused: the process is the same, the executor is the same, the lease
    # is not.
    assert_all_refused(late_calls(colony, processid, colony.executor, first["starttime"]), "lease expired")
    assert colony.get(processid)["out"] == []
    assert logs_of(colony, processid) == []
    # The current assignment's calls work.
    lease = second["starttime"]
    colony.call("setoutputmsg", {"processid": processid, "out": ["partial"], "lease": lease}, colony.executor)
    colony.call("addlogmsg", {"processid": processid, "message": "second run", "lease": lease}, colony.executor)
    attribute = {"targetid": processid, "key": "k", "value": "v", "attributetype": 1}
    colony.call("addattributemsg", {"attribute": attribute, "lease": lease}, colony.executor)
    colony.call("closesuccessfulmsg", {"processid": processid, "out": ["second"], "lease": lease}, colony.executor)
    final = colony.get(processid)
    assert final["state"] == 2 and final["out"] == ["second"]
    assert logs_of(colony, processid) == ["second run"]


def test_calls_without_a_lease_keep_the_go_behaviour(colony: Colony) -> None:
    """Go clients send no lease: the current assignee may act, as in the original."""
    p = colony.submit(colony.user, maxexectime=1, maxretries=3)
    colony.assign(colony.executor)
    requeue(colony, p["processid"])
    colony.assign(colony.executor)
    colony.close(p["processid"], ["go-client"], colony.executor)
    assert colony.get(p["processid"])["out"] == ["go-client"]


@pytest.mark.parametrize("lease", ["yesterday", "2026-13-45T99:00:00Z", "9" * 40])
def test_malformed_lease_is_400(colony: Colony, lease: str) -> None:
    p = colony.submit(colony.user)
    colony.assign(colony.executor)
    err = expect_error(400, colony.call, "closesuccessfulmsg", {"processid": p["processid"], "lease": lease},
                       colony.executor)  # fmt: skip
    assert "lease" in err.message
    assert colony.get(p["processid"])["state"] == 1


def test_sdk_executor_sends_its_lease(colony: Colony) -> None:
    """The executor framework closes with the lease it was given, so a correct close carries a matching token."""
    import asyncio

    from colonies.executor.api import ExecutorAPI
    from colonies.client.transport import AsyncRPCClient

    p = colony.submit(colony.user, maxexectime=1, maxretries=3)
    first = colony.assign(colony.executor)
    requeue(colony, p["processid"])
    second = colony.assign(colony.executor)

    async def run() -> None:
        api = ExecutorAPI(AsyncRPCClient("127.0.0.1", colony.server.port), colony.name, colony.executor.prvkey)
        try:
            with pytest.raises(ColoniesError, match="lease expired"):
                await api.close(p["processid"], ["stale"], first["starttime"])
            await api.close(p["processid"], ["fresh"], second["starttime"])
        finally:
            await api.aclose()

    asyncio.run(run())
    assert colony.get(p["processid"])["out"] == ["fresh"]

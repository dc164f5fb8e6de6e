"""Assignment pauses (v1.9: pauseassignmentsmsg, resumeassignmentsmsg, getpausestatusmsg): while a colony is
paused, assign answers 503 at once for timeout < 0 and 408 once a long-poll's timeout passes paused; a resume wakes
the waiting long-polls. Across replicas: tests/test_replicas.py. Role refusals: tests/test_security.py."""

from __future__ import annotations

import base64
import json
import threading
import time
from typing import Any

import httpx
import pytest
from conftest import Colony, Server, create_colony, expect_error

from colonies import envelope

pytestmark = pytest.mark.timeout(90)


def pause(colony: Colony) -> Any:
    return colony.call("pauseassignmentsmsg", {"colonyname": colony.name}, colony.owner)


def resume(colony: Colony) -> Any:
    return colony.call("resumeassignmentsmsg", {"colonyname": colony.name}, colony.owner)


def paused(colony: Colony, who: Any = None) -> bool:
    reply = colony.call("getpausestatusmsg", {"colonyname": colony.name}, who or colony.user)
    assert reply == {
        "msgtype": "pausestatusreplymsg",
        "colonyname": colony.name,
        "ispaused": reply["ispaused"],
    }
    return bool(reply["ispaused"])


def test_pause_status_and_resume(colony: Colony) -> None:
    assert not paused(colony)
    assert pause(colony) == {} and pause(colony) == {}  # pausing twice is no error
    for who in (colony.user, colony.executor, colony.owner):
        assert paused(colony, who)
    waiting = colony.submit(colony.user)  # submissions go on
    err = expect_error(503, colony.assign, timeout=-1)
    assert err.message == "No processes available: colony assignments are paused"
    assert resume(colony) == {} and not paused(colony)
    assert colony.assign(timeout=-1)["processid"] == waiting["processid"]
    assert resume(colony) == {}  # resuming a running colony is no error either


def test_a_long_poll_that_stays_paused_ends_with_408(colony: Colony) -> None:
    colony.submit(colony.user)
    pause(colony)
    started = time.monotonic()
    err = expect_error(408, colony.assign, timeout=1)
    assert err.message == "Assignment timeout: colony assignments are paused"
    assert time.monotonic() - started >= 0.9


def test_a_resume_wakes_a_waiting_long_poll(colony: Colony) -> None:
    pause(colony)
    waiting = colony.submit(colony.user)
    got: dict[str, Any] = {}

    def poll() -> None:
        try:
            got["process"] = colony.assign(timeout=30)
        except Exception as exc:  # noqa: BLE001 - reported below
            got["error"] = exc

    thread = threading.Thread(target=poll)
    thread.start()
    time.sleep(0.5)  # the long-poll is paused now
    assert "process" not in got
    started = time.monotonic()
    resume(colony)
    thread.join(timeout=40)
    assert got.get("process", {}).get("processid") == waiting["processid"], got
    assert time.monotonic() - started < 20  # woken by the resume, not by its own timeout


def test_a_pause_holds_one_colony_only_and_running_work_carries_on(server: Server, colony: Colony) -> None:
    other = create_colony(server)
    running = colony.submit(colony.user)
    assert colony.assign(timeout=-1)["processid"] == running["processid"]
    pause(colony)
    queued = other.submit(other.user)
    assert other.assign(timeout=-1)["processid"] == queued["processid"]
    colony.call("closesuccessfulmsg", {"processid": running["processid"], "out": ["done"]}, colony.executor)
    assert colony.get(running["processid"])["state"] == 2
    assert not paused(other)


def test_a_removed_colony_forgets_its_pause(server: Server) -> None:
    colony = create_colony(server)
    pause(colony)
    server.call("removecolonymsg", {"colonyname": colony.name}, server.prvkey)
    again = create_colony(server, colony.name)
    assert not paused(again)


def test_the_status_reply_is_a_pausestatusreplymsg(colony: Colony) -> None:
    """The Go client parses the reply as rpc.PauseStatusReplyMsg, and the envelope says so."""
    pause(colony)
    body = envelope.build_request("getpausestatusmsg", {"colonyname": colony.name}, colony.user.prvkey)
    reply = httpx.post(colony.server.url + "/api", content=body, timeout=10,
                       headers={"Content-Type": "application/json"}).json()  # fmt: skip
    assert reply["payloadtype"] == "pausestatusreplymsg"
    assert json.loads(base64.b64decode(reply["payload"])) == {
        "msgtype": "pausestatusreplymsg",
        "colonyname": colony.name,
        "ispaused": True,
    }


def test_sdk_methods(colony: Colony) -> None:
    from colonies.client import Colonies

    sdk = Colonies("127.0.0.1", colony.server.port)
    try:
        assert sdk.pause_assignments(colony.name, colony.owner.prvkey) == {}
        assert sdk.get_pause_status(colony.name, colony.user.prvkey)["ispaused"] is True
        sdk.resume_assignments(colony.name, colony.owner.prvkey)
        assert sdk.get_pause_status(colony.name, colony.owner.prvkey)["ispaused"] is False
    finally:
        sdk.close_connection()

"""WebSocket /pubsub (protocol §1.6): subscribeprocessmsg and subscribeprocessesmsg with a real sync client.

Every receive has a timeout; "nothing arrives" is asserted with a short recv timeout raising TimeoutError.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from conftest import Colony, Identity, create_colony, new_identity
from sched_helpers import ws_decode, ws_frame
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

pytestmark = pytest.mark.timeout(60)


def pid(process: dict[str, Any]) -> str:
    return str(process["processid"])


@contextmanager
def pubsub(colony: Colony) -> Iterator[ClientConnection]:
    url = f"ws://127.0.0.1:{colony.server.port}/pubsub"
    with connect(url, open_timeout=5, close_timeout=2) as ws:
        yield ws


def sub_process(ws: ClientConnection, colony: Colony, processid: str, state: int, timeout: int = 10,
                who: Identity | None = None, executortype: str | None = None) -> None:  # fmt: skip
    msg = {"colonyname": colony.name, "processid": processid, "state": state, "timeout": timeout,
           "executortype": colony.executortype if executortype is None else executortype}  # fmt: skip
    ws.send(ws_frame("subscribeprocessmsg", msg, (who or colony.executor).prvkey))


def sub_processes(ws: ClientConnection, colony: Colony, state: int, timeout: int = 10,
                  who: Identity | None = None, executortype: str | None = None) -> None:  # fmt: skip
    msg = {"colonyname": colony.name, "executortype": executortype or colony.executortype, "state": state,
           "timeout": timeout}  # fmt: skip
    ws.send(ws_frame("subscribeprocessesmsg", msg, (who or colony.executor).prvkey))


def recv(ws: ClientConnection, timeout: float = 5.0) -> tuple[bool, Any]:
    text = ws.recv(timeout=timeout)
    envelope = json.loads(text)
    is_error, payload = ws_decode(text)
    if not is_error:
        assert envelope["payloadtype"] == "subscribeprocessmsg", envelope
    return is_error, payload


def recv_process(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    is_error, payload = recv(ws, timeout)
    assert not is_error, payload
    assert isinstance(payload, dict) and "processid" in payload and "spec" in payload, payload
    return payload  # type: ignore[no-any-return]


def recv_error(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    is_error, payload = recv(ws, timeout)
    assert is_error, payload
    return payload  # type: ignore[no-any-return]


def assert_silent(ws: ClientConnection, seconds: float) -> None:
    with pytest.raises(TimeoutError):
        text = ws.recv(timeout=seconds)
        pytest.fail(f"unexpected frame: {ws_decode(text)}")


# -- subscribeprocessmsg -----------------------------------------------------------------------------------------


def test_subscribe_process_fires_when_state_is_reached(colony: Colony) -> None:
    p = colony.submit(colony.user)
    with pubsub(colony) as ws:
        sub_process(ws, colony, pid(p), state=2)
        assert_silent(ws, 0.7)  # still waiting
        colony.assign()
        assert_silent(ws, 0.5)  # running is not the state we asked for
        t0 = time.monotonic()
        colony.close(pid(p), ["result"])
        proc = recv_process(ws)
        assert time.monotonic() - t0 < 1.0
    assert pid(proc) == pid(p)
    assert proc["state"] == 2
    assert proc["out"] == ["result"]
    assert proc["spec"]["funcname"] == "test_func"


def test_subscribe_process_running_state(colony: Colony) -> None:
    p = colony.submit(colony.user)
    with pubsub(colony) as ws:
        sub_process(ws, colony, pid(p), state=1)
        assert_silent(ws, 0.5)
        colony.assign()
        proc = recv_process(ws)
    assert pid(proc) == pid(p) and proc["state"] == 1
    assert proc["assignedexecutorid"] == colony.executor.id


def test_subscribe_process_failed_state(colony: Colony) -> None:
    p = colony.submit(colony.user)
    with pubsub(colony) as ws:
        sub_process(ws, colony, pid(p), state=3)
        colony.assign()
        colony.fail(pid(p), ["boom"])
        proc = recv_process(ws)
    assert proc["state"] == 3 and proc["errors"] == ["boom"]


def test_subscribe_process_already_in_state_is_immediate(colony: Colony) -> None:
    p = colony.submit(colony.user)
    colony.assign()
    colony.close(pid(p), ["done"])
    with pubsub(colony) as ws:
        t0 = time.monotonic()
        sub_process(ws, colony, pid(p), state=2, timeout=10)
        proc = recv_process(ws, timeout=3)
        assert time.monotonic() - t0 < 1.0
    assert pid(proc) == pid(p) and proc["state"] == 2 and proc["out"] == ["done"]


def test_subscribe_process_waiting_state_is_immediate(colony: Colony) -> None:
    p = colony.submit(colony.user)
    with pubsub(colony) as ws:
        sub_process(ws, colony, pid(p), state=0)
        proc = recv_process(ws, timeout=2)
    assert pid(proc) == pid(p) and proc["state"] == 0


def test_subscribe_process_empty_executortype_uses_the_process_type(colony: Colony) -> None:
    p = colony.submit(colony.user)
    with pubsub(colony) as ws:
        sub_process(ws, colony, pid(p), state=2, executortype="")
        colony.assign()
        colony.close(pid(p))
        assert pid(recv_process(ws)) == pid(p)


def test_subscribe_process_timeout_gives_408_and_closes(colony: Colony) -> None:
    p = colony.submit(colony.user)
    with pubsub(colony) as ws:
        t0 = time.monotonic()
        sub_process(ws, colony, pid(p), state=2, timeout=1)
        err = recv_error(ws, timeout=5)
        elapsed = time.monotonic() - t0
        assert err["status"] == 408, err
        assert 0.8 <= elapsed < 3.0, elapsed
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=3)


def test_subscribe_unknown_process_gives_404(colony: Colony) -> None:
    with pubsub(colony) as ws:
        sub_process(ws, colony, "0" * 64, state=2)
        assert recv_error(ws)["status"] == 404


def test_unsigned_frame_gives_403(colony: Colony) -> None:
    p = colony.submit(colony.user)
    with pubsub(colony) as ws:
        msg = {"colonyname": colony.name, "processid": pid(p), "executortype": colony.executortype, "state": 0,
               "timeout": 5}  # fmt: skip
        ws.send(ws_frame("subscribeprocessmsg", msg, None))
        assert recv_error(ws)["status"] == 403


def test_badly_signed_frame_gives_403(colony: Colony) -> None:
    p = colony.submit(colony.user)
    msg = {"colonyname": colony.name, "processid": pid(p), "executortype": colony.executortype, "state": 0,
           "timeout": 5}  # fmt: skip
    frame = json.loads(ws_frame("subscribeprocessmsg", msg, colony.executor.prvkey))
    sig = frame["signature"]
    bad = dict(frame, signature=sig[:10] + ("0" if sig[10] != "0" else "1") + sig[11:])
    garbage = dict(frame, signature="zz-not-hex")
    # A valid signature over a different payload than the one sent.
    other = json.loads(ws_frame("subscribeprocessmsg", {**msg, "state": 1}, colony.executor.prvkey))
    swapped = dict(frame, signature=other["signature"])
    with pubsub(colony) as ws:
        for variant in (bad, garbage, swapped):
            ws.send(json.dumps(variant))
            err = recv_error(ws)
            assert err["status"] == 403, (variant["signature"][:16], err)
            assert_silent(ws, 0.3)  # and no process frame follows


def test_non_member_gets_403(colony: Colony) -> None:
    p = colony.submit(colony.user)
    stranger = new_identity("stranger")
    with pubsub(colony) as ws:
        sub_process(ws, colony, pid(p), state=0, who=stranger)
        assert recv_error(ws)["status"] == 403


def test_two_subscriptions_on_one_socket(colony: Colony) -> None:
    p = colony.submit(colony.user)
    with pubsub(colony) as ws:
        sub_process(ws, colony, pid(p), state=1)
        sub_process(ws, colony, pid(p), state=2)
        assert_silent(ws, 0.5)
        colony.assign()
        first = recv_process(ws)
        colony.close(pid(p))
        second = recv_process(ws)
    assert (first["state"], second["state"]) == (1, 2)


def test_every_subscriber_of_a_process_is_told(colony: Colony) -> None:
    p = colony.submit(colony.user)
    with pubsub(colony) as ws1, pubsub(colony) as ws2:
        sub_process(ws1, colony, pid(p), state=2)
        sub_process(ws2, colony, pid(p), state=2, who=colony.user)
        time.sleep(0.3)
        colony.assign()
        colony.close(pid(p))
        assert pid(recv_process(ws1)) == pid(p)
        assert pid(recv_process(ws2)) == pid(p)


def test_frame_payload_is_base64_process_json(colony: Colony) -> None:
    p = colony.submit(colony.user)
    with pubsub(colony) as ws:
        sub_process(ws, colony, pid(p), state=0)
        raw = json.loads(ws.recv(timeout=3))
    assert raw["payloadtype"] == "subscribeprocessmsg"
    assert not raw.get("error")
    assert json.loads(base64.b64decode(raw["payload"]))["processid"] == pid(p)


# -- subscribeprocessesmsg -------------------------------------------------------------------------------------------


def test_subscribe_processes_waiting_events_of_type(colony: Colony) -> None:
    with pubsub(colony) as ws:
        sub_processes(ws, colony, state=0)
        time.sleep(0.3)
        colony.submit(colony.user, conditions={"executortype": "another_type"})
        assert_silent(ws, 0.5)
        submitted = [pid(colony.submit(colony.user)) for _ in range(3)]
        got = [recv_process(ws) for _ in range(3)]
    assert [pid(g) for g in got] == submitted
    assert all(g["state"] == 0 and g["spec"]["conditions"]["executortype"] == colony.executortype for g in got)


def test_subscribe_processes_success_events(colony: Colony) -> None:
    with pubsub(colony) as ws:
        sub_processes(ws, colony, state=2)
        time.sleep(0.3)
        p = colony.submit(colony.user)
        assert_silent(ws, 0.3)
        colony.assign()
        assert_silent(ws, 0.3)
        colony.close(pid(p), ["ok"])
        proc = recv_process(ws)
    assert pid(proc) == pid(p) and proc["state"] == 2 and proc["out"] == ["ok"]


def test_subscribe_processes_is_per_colony(colony: Colony, server: Any) -> None:
    other = create_colony(server)
    with pubsub(colony) as ws:
        sub_processes(ws, colony, state=0)
        time.sleep(0.3)
        other.submit(other.user)  # same executortype, other colony
        assert_silent(ws, 0.5)
        p = colony.submit(colony.user)
        assert pid(recv_process(ws)) == pid(p)


def test_subscribe_processes_timeout_gives_408(colony: Colony) -> None:
    with pubsub(colony) as ws:
        t0 = time.monotonic()
        sub_processes(ws, colony, state=2, timeout=1)
        err = recv_error(ws)
        assert err["status"] == 408
        assert 0.8 <= time.monotonic() - t0 < 3.0


def test_subscribe_processes_non_member_gets_403(colony: Colony) -> None:
    with pubsub(colony) as ws:
        sub_processes(ws, colony, state=0, who=new_identity("stranger"))
        assert recv_error(ws)["status"] == 403


def test_malformed_frame_gives_400_and_socket_stays_usable(colony: Colony) -> None:
    p = colony.submit(colony.user)
    with pubsub(colony) as ws:
        ws.send("this is not json")
        assert recv_error(ws)["status"] == 400
        sub_process(ws, colony, pid(p), state=0)
        assert pid(recv_process(ws)) == pid(p)


def test_subscribe_processes_each_event_reaches_one_subscriber(colony: Colony) -> None:
    """§1.6: a general subscription is a work wake-up, not a broadcast: each event goes to exactly one subscriber."""
    with pubsub(colony) as ws1, pubsub(colony) as ws2:
        sub_processes(ws1, colony, state=0)
        sub_processes(ws2, colony, state=0)
        time.sleep(0.3)
        submitted = {pid(colony.submit(colony.user)) for _ in range(4)}
        got: list[str] = []
        per_socket = []
        for ws in (ws1, ws2):
            mine = []
            while True:
                try:
                    mine.append(pid(recv_process(ws, timeout=0.7)))
                except TimeoutError:
                    break
            per_socket.append(mine)
            got += mine
    assert sorted(got) == sorted(submitted), per_socket  # every event once, none twice
    assert all(per_socket), per_socket  # round robin: both subscribers were used


def test_waiting_for_success_ends_when_the_process_fails(colony: Colony) -> None:
    """A process that failed will never succeed: the subscriber gets the frame (state 3) at once, not a timeout."""
    from websockets.sync.client import connect

    from colonies import envelope

    process = colony.submit()
    assigned = colony.assign(timeout=1)
    msg = {"colonyname": colony.name, "processid": process["processid"], "executortype": colony.executortype,
           "state": 2, "timeout": 20}  # fmt: skip
    with connect(colony.server.url.replace("http", "ws") + "/pubsub") as ws:
        ws.send(envelope.build_request("subscribeprocessmsg", msg, colony.executor.prvkey).decode())
        colony.fail(assigned["processid"], ["boom"])
        is_error, payload = envelope.decode_reply(ws.recv(timeout=5).encode())
    assert not is_error
    assert payload["processid"] == process["processid"]
    assert payload["state"] == 3
    assert payload["errors"] == ["boom"]

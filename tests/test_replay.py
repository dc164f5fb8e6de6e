"""Replay protection: a signed request captured once cannot be replayed to do anything twice.

Our SDK adds a ``nonce`` ("<issue time ns>-<random hex>") to every signed payload. The server accepts a nonce only
within its replay window of the issue time and records it with the request's first write, in the same transaction;
a replay is refused with 409 (inside the window) or 400 (stale, outside it). Requests without a nonce (Go clients)
behave as in the original. Design: docs/security.md.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from conftest import Colony, Server, create_colony, expect_error

from colonies import envelope
from colonies.envelope import new_nonce

pytestmark = pytest.mark.timeout(60)


def post(server: Server, body: bytes) -> tuple[int, Any]:
    response = httpx.post(server.url + "/api", content=body, timeout=30)
    is_error, payload = envelope.decode_reply(response.content)
    assert is_error == (response.status_code != 200), response.content
    return response.status_code, payload


def count_waiting(colony: Colony) -> int:
    msg = {"colonyname": colony.name, "count": 100, "state": 0}
    return len(colony.call("getprocessesmsg", msg, colony.user) or [])


def submit_body(colony: Colony, **msg_extra: Any) -> bytes:
    return envelope.build_request("submitfuncspecmsg", {"spec": colony.spec(), **msg_extra}, colony.user.prvkey)


def test_sdk_requests_carry_a_fresh_nonce(colony: Colony) -> None:
    a = envelope.Envelope.parse(submit_body(colony)).decode_payload()
    b = envelope.Envelope.parse(submit_body(colony)).decode_payload()
    assert b'"nonce"' in a and a != b


def test_replayed_submit_is_refused_and_creates_nothing(server: Server) -> None:
    colony = create_colony(server)
    body = submit_body(colony)
    status, first = post(server, body)
    assert status == 200
    for _ in range(3):
        status, err = post(server, body)
        assert status == 409 and "Replayed request" in err["message"], err
    assert count_waiting(colony) == 1
    assert colony.get(first["processid"])["state"] == 0


def test_replayed_workflow_and_log_are_refused(colony: Colony) -> None:
    spec = colony.spec(nodename="a")
    body = envelope.build_request(
        "submitworkflowspecmsg", {"spec": {"colonyname": colony.name, "functionspecs": [spec]}}, colony.user.prvkey
    )
    assert post(colony.server, body)[0] == 200
    assert post(colony.server, body)[0] == 409
    graphs = colony.call("getprocessgraphsmsg", {"colonyname": colony.name, "count": 10, "state": 0}, colony.user)
    assert len(graphs) == 1
    process = colony.assign(colony.executor)
    log = envelope.build_request("addlogmsg", {"processid": process["processid"], "message": "once"},
                                 colony.executor.prvkey)  # fmt: skip
    assert post(colony.server, log)[0] == 200
    assert post(colony.server, log)[0] == 409
    logs = colony.call("getlogsmsg", {"colonyname": colony.name, "processid": process["processid"], "count": 10},
                       colony.user)  # fmt: skip
    assert [line["message"] for line in logs] == ["once"]


def test_replayed_assign_does_not_take_another_process(colony: Colony) -> None:
    first = colony.submit(colony.user)
    second = colony.submit(colony.user)
    body = envelope.build_request("assignprocessmsg", {"colonyname": colony.name, "timeout": -1},
                                  colony.executor.prvkey)  # fmt: skip
    status, got = post(colony.server, body)
    assert status == 200 and got["processid"] == first["processid"]
    # The replay takes nothing new: it is answered with the process the request claimed (a retry whose first
    # reply was lost gets its work; tests/test_lost_reply.py), and 404 once that process no longer runs.
    status, again = post(colony.server, body)
    assert status == 200 and again["processid"] == first["processid"], again
    assert colony.get(second["processid"])["state"] == 0
    colony.close(first["processid"])
    status, err = post(colony.server, body)
    assert status == 404, err
    assert colony.get(second["processid"])["state"] == 0


def test_replayed_close_does_not_close_twice(colony: Colony) -> None:
    p = colony.submit(colony.user)
    colony.assign(colony.executor)
    body = envelope.build_request("closesuccessfulmsg", {"processid": p["processid"], "out": [1]},
                                  colony.executor.prvkey)  # fmt: skip
    assert post(colony.server, body)[0] == 200
    status, err = post(colony.server, body)
    assert status in (403, 409), err
    assert colony.get(p["processid"])["out"] == [1]


def test_same_nonce_in_another_message_is_refused_but_other_callers_are_independent(colony: Colony) -> None:
    nonce = new_nonce()
    first = envelope.build_request("submitfuncspecmsg", {"spec": colony.spec(), "nonce": nonce}, colony.user.prvkey)
    assert post(colony.server, first)[0] == 200
    # build_request keeps a nonce the caller gave; the same nonce in another payload is still a replay.
    payload = envelope.encode_payload({"spec": colony.spec(priority=5), "nonce": nonce, "msgtype": "submitfuncspecmsg"})
    reused = _signed("submitfuncspecmsg", payload, colony.user.prvkey)
    assert post(colony.server, reused)[0] == 409
    other = _signed("submitfuncspecmsg", payload, colony.owner.prvkey)  # the owner is not a member: 403, not 409
    assert post(colony.server, other)[0] == 403
    user2 = colony.add_user()
    assert post(colony.server, _signed("submitfuncspecmsg", payload, user2.prvkey))[0] == 200
    assert count_waiting(colony) == 2


def _signed(payloadtype: str, payload: str, prvkey: str) -> bytes:
    from colonies import crypto

    import orjson

    signature = crypto.sign(payload, prvkey)
    return orjson.dumps({"signature": signature, "payloadtype": payloadtype, "payload": payload})


@pytest.mark.parametrize("nonce", ["x", "123", "123-abc", "1-" + "A" * 32, "-" + "a" * 32, "1" * 20 + "-" + "a" * 32])
def test_malformed_nonce_is_400(colony: Colony, nonce: str) -> None:
    payload = envelope.encode_payload({"spec": colony.spec(), "nonce": nonce, "msgtype": "submitfuncspecmsg"})
    status, err = post(colony.server, _signed("submitfuncspecmsg", payload, colony.user.prvkey))
    assert status == 400 and "nonce" in err["message"], err
    assert count_waiting(colony) == 0


@pytest.mark.parametrize("offset_s", [-3600, 3600])
def test_nonce_outside_the_window_is_stale(colony: Colony, offset_s: int) -> None:
    nonce = f"{time.time_ns() + offset_s * 1_000_000_000}-{'ab' * 12}"
    payload = envelope.encode_payload({"spec": colony.spec(), "nonce": nonce, "msgtype": "submitfuncspecmsg"})
    status, err = post(colony.server, _signed("submitfuncspecmsg", payload, colony.user.prvkey))
    assert status == 400 and "Stale request" in err["message"], err
    assert count_waiting(colony) == 0


def test_requests_without_a_nonce_keep_the_go_behaviour(colony: Colony) -> None:
    """Go clients send identical signed bytes for identical submits (RFC 6979 signatures): both are accepted."""
    payload = envelope.encode_payload({"spec": colony.spec(), "msgtype": "submitfuncspecmsg"})
    body = _signed("submitfuncspecmsg", payload, colony.user.prvkey)
    assert post(colony.server, body)[0] == 200
    assert post(colony.server, body)[0] == 200
    assert count_waiting(colony) == 2


def test_replay_after_the_window_is_refused_as_stale(make_server: Any) -> None:
    server = make_server(env={"COLONIES_REPLAY_WINDOW": "1"})
    colony = create_colony(server)
    body = submit_body(colony)
    assert post(server, body)[0] == 200
    assert post(server, body)[0] == 409
    time.sleep(1.3)
    status, err = post(server, body)
    assert status == 400 and "Stale request" in err["message"], err
    assert count_waiting(colony) == 1


def test_a_refused_request_does_not_use_up_its_nonce(colony: Colony) -> None:
    """The nonce commits with the request's effect: a request refused by a business rule may be sent again."""
    p = colony.submit(colony.user)
    body = envelope.build_request("closesuccessfulmsg", {"processid": p["processid"], "out": [2]},
                                  colony.executor.prvkey)  # fmt: skip
    assert post(colony.server, body)[0] == 403  # not assigned yet
    colony.assign(colony.executor)
    assert post(colony.server, body)[0] == 200
    assert colony.get(p["processid"])["out"] == [2]
    expect_error(404, colony.get, "0" * 64)

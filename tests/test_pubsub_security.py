"""/pubsub as an attacker meets it: a web page's handshake, a captured subscription frame, a user removed while
subscribed, and a socket that opens subscriptions without end."""

from __future__ import annotations

import time
from typing import Any

import pytest
from conftest import Colony, Server, create_colony, start_server
from sched_helpers import ws_decode, ws_frame
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

pytestmark = pytest.mark.timeout(60)


def url(server: Server) -> str:
    return f"ws://127.0.0.1:{server.port}/pubsub"


def processes_frame(colony: Colony, who: Any, timeout: int = 30) -> str:
    msg = {"colonyname": colony.name, "executortype": colony.executortype, "state": 0, "timeout": timeout}
    return ws_frame("subscribeprocessesmsg", msg, who.prvkey)


def test_a_cross_origin_handshake_is_refused(colony: Colony) -> None:
    with pytest.raises(InvalidStatus) as info:
        connect(url(colony.server), open_timeout=5, additional_headers={"Origin": "http://evil.example"})
    assert info.value.response.status_code == 403
    rebinding = f"attacker.example:{colony.server.port}"
    with pytest.raises(InvalidStatus):
        connect(url(colony.server), open_timeout=5,
                additional_headers={"Origin": f"http://{rebinding}", "Host": rebinding})  # fmt: skip
    # Same origin (a dashboard served by this server) and clients without an Origin (SDKs) are served.
    with connect(url(colony.server), open_timeout=5,
                 additional_headers={"Origin": f"http://127.0.0.1:{colony.server.port}"}):  # fmt: skip
        pass
    with connect(url(colony.server), open_timeout=5):
        pass


def test_a_captured_subscription_frame_cannot_be_replayed(colony: Colony) -> None:
    frame = processes_frame(colony, colony.user, timeout=5)
    with connect(url(colony.server), open_timeout=5) as ws:
        ws.send(frame)
        time.sleep(0.3)  # subscribed
        colony.submit(colony.user)
        is_error, payload = ws_decode(ws.recv(timeout=10))
        assert not is_error, payload
    with connect(url(colony.server), open_timeout=5) as ws:  # the eavesdropper's socket
        ws.send(frame)
        is_error, payload = ws_decode(ws.recv(timeout=10))
        assert is_error and payload["status"] == 409, payload


def test_a_removed_user_stops_receiving_processes(colony: Colony) -> None:
    user = colony.add_user()
    with connect(url(colony.server), open_timeout=5) as ws:
        ws.send(processes_frame(colony, user))
        time.sleep(0.3)  # subscribed
        colony.call("removeusermsg", {"colonyname": colony.name, "name": user.name}, colony.owner)
        colony.submit(colony.user, env={"SECRET": "s3cr3t"})
        is_error, payload = ws_decode(ws.recv(timeout=10))
        assert is_error and payload["status"] == 403, payload  # the subscription ended, nothing delivered


def test_an_idle_subscription_of_a_removed_executor_ends(colony: Colony) -> None:
    ex = colony.add_executor()
    with connect(url(colony.server), open_timeout=5) as ws:
        ws.send(processes_frame(colony, ex))
        time.sleep(0.3)
        colony.call("removeexecutormsg", {"colonyname": colony.name, "executorname": ex.name}, colony.owner)
        is_error, payload = ws_decode(ws.recv(timeout=10))  # within the 5 s re-check, with no event at all
        assert is_error and payload["status"] == 403, payload


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory, backend: str) -> Any:
    srv = start_server(str(tmp_path_factory.mktemp("capped")), backend=backend,
                       env={"COLONIES_MAX_SUBSCRIPTIONS_PER_SOCKET": "3"})  # fmt: skip
    yield srv
    srv.stop()


def test_subscriptions_per_socket_are_capped(capped: Server) -> None:
    colony = create_colony(capped)
    with connect(url(capped), open_timeout=5) as ws:
        for _ in range(3):
            ws.send(processes_frame(colony, colony.user))
        ws.send(processes_frame(colony, colony.user))
        is_error, payload = ws_decode(ws.recv(timeout=10))
        assert is_error and payload["status"] == 429, payload
        time.sleep(0.3)
        colony.submit(colony.user)
        is_error, payload = ws_decode(ws.recv(timeout=10))  # the first three still work
        assert not is_error and payload["processid"], payload

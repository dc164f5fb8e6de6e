"""Configured maxima (body size, workflow nodes, log line size, long waits) give clear errors, and a slow client
cannot hold the server: each limit is set low through its environment variable on a real server."""

from __future__ import annotations

import socket
import time
from typing import Any

import httpx
import pytest
from conftest import Colony, Server, create_colony, expect_error, start_server
from sched_helpers import ws_decode, ws_frame
from websockets.sync.client import connect

pytestmark = pytest.mark.timeout(60)

LIMITS = {
    "COLONIES_MAX_BODY_BYTES": "20000",
    "COLONIES_MAX_WORKFLOW_NODES": "5",
    "COLONIES_MAX_LOG_BYTES": "100",
    "COLONIES_MAX_WAIT_TIMEOUT": "5",
    "COLONIES_READ_TIMEOUT": "1",
}


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory, backend: str) -> Any:
    srv = start_server(str(tmp_path_factory.mktemp("limits")), env=LIMITS, backend=backend)
    yield srv
    srv.stop()


@pytest.fixture
def colony(limited: Server) -> Colony:
    return create_colony(limited)


def workflow(colony: Colony, n: int) -> dict[str, Any]:
    specs = [colony.spec(nodename=f"n{i}", **({"conditions": {"colonyname": colony.name,
                                                             "executortype": colony.executortype,
                                                             "dependencies": [f"n{i - 1}"]}} if i else {}))
             for i in range(n)]  # fmt: skip
    return {"spec": {"colonyname": colony.name, "functionspecs": specs}}


def test_workflow_node_limit(colony: Colony) -> None:
    colony.call("submitworkflowspecmsg", workflow(colony, 5), colony.user)
    err = expect_error(400, colony.call, "submitworkflowspecmsg", workflow(colony, 6), colony.user)
    assert "5" in err.message and "node" in err.message.lower(), err.message


def test_log_line_limit(colony: Colony) -> None:
    p = colony.submit(colony.user)
    colony.assign(colony.executor)
    colony.call("addlogmsg", {"processid": p["processid"], "message": "x" * 100}, colony.executor)
    err = expect_error(400, colony.call, "addlogmsg", {"processid": p["processid"], "message": "x" * 101},
                       colony.executor)  # fmt: skip
    assert "exceeds the limit of 100 bytes" in err.message
    # Bytes, not characters: 26 four-byte characters are 104 bytes.
    expect_error(400, colony.call, "addlogmsg", {"processid": p["processid"], "message": "😀" * 26}, colony.executor)
    exe = {"colonyname": colony.name, "executorname": colony.executor.name, "message": "y" * 101}
    expect_error(400, colony.call, "addexecutorlogmsg", exe, colony.executor)


def test_assign_timeout_limit(colony: Colony) -> None:
    err = expect_error(400, colony.call, "assignprocessmsg", {"colonyname": colony.name, "timeout": 6},
                       colony.executor)  # fmt: skip
    assert "maximum of 5 s" in err.message
    started = time.monotonic()
    expect_error(404, colony.call, "assignprocessmsg", {"colonyname": colony.name, "timeout": 1}, colony.executor)
    assert time.monotonic() - started < 4


def test_subscription_timeout_limit(colony: Colony) -> None:
    p = colony.submit(colony.user)
    with connect(f"ws://127.0.0.1:{colony.server.port}/pubsub", open_timeout=5) as ws:
        msg = {"colonyname": colony.name, "processid": p["processid"], "state": 2, "timeout": 60,
               "executortype": colony.executortype}  # fmt: skip
        ws.send(ws_frame("subscribeprocessmsg", msg, colony.user.prvkey))
        is_error, payload = ws_decode(ws.recv(timeout=5))
        assert is_error and payload["status"] == 400 and "maximum of 5 s" in payload["message"], payload


def test_body_limit(colony: Colony) -> None:
    err = expect_error(413, colony.call, "submitfuncspecmsg", {"spec": colony.spec(env={"k": "v" * 30000})},
                       colony.user)  # fmt: skip
    assert "20000 bytes" in err.message


def raw_request(port: int, head: bytes, body: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(head + body)
    return sock


def read_status(sock: socket.socket) -> tuple[int, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    line = data.split(b"\r\n", 1)[0]
    return int(line.split()[1]), data


def test_slow_body_is_cut_off_with_408_while_others_are_served(colony: Colony) -> None:
    port = colony.server.port
    head = (b"POST /api HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n")  # fmt: skip
    slow = [raw_request(port, head, b'{"payloadtype": ') for _ in range(20)]
    # The server keeps answering others at once while twenty slow clients trickle.
    for _ in range(5):
        started = time.monotonic()
        colony.get(colony.submit(colony.user)["processid"])
        assert time.monotonic() - started < 0.5
    started = time.monotonic()
    for sock in slow:
        status, data = read_status(sock)
        assert status == 408, data
        assert b"not received within 1 s" in data or b"408" in data
        sock.close()
    assert time.monotonic() - started < 5


def test_stalled_headers_do_not_block_others(colony: Colony) -> None:
    port = colony.server.port
    stalled = [raw_request(port, b"POST /api HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le", b"") for _ in range(20)]
    try:
        started = time.monotonic()
        for _ in range(5):
            colony.get(colony.submit(colony.user)["processid"])
        assert time.monotonic() - started < 2.5
    finally:
        for sock in stalled:
            sock.close()


def test_chunked_body_over_the_limit_is_413(colony: Colony) -> None:
    def chunks() -> Any:
        for _ in range(30):
            yield b"x" * 1000

    response = httpx.post(f"http://127.0.0.1:{colony.server.port}/api", content=chunks(), timeout=10)
    assert response.status_code == 413


def test_limits_leave_the_server_serving(colony: Colony) -> None:
    p = colony.submit(colony.user)
    assert colony.assign(colony.executor)["processid"] == p["processid"]
    colony.close(p["processid"], ["ok"], colony.executor)
    assert colony.get(p["processid"])["state"] == 2

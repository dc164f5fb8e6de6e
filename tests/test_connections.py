"""Sockets that never send a request, or send it a byte at a time, are closed; one address cannot hold all the
server's sockets; long-polls, which are requests in progress, are not cut. A dedicated server with small limits."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from conftest import Server, closed_within, connect, create_colony, expect_error, start_server

pytestmark = pytest.mark.timeout(90)

LIMITS = {"COLONIES_HEADER_TIMEOUT": "1", "COLONIES_IDLE_TIMEOUT": "1", "COLONIES_MAX_CONNECTIONS_PER_ADDRESS": "20"}


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory, backend: str) -> Any:
    srv = start_server(str(tmp_path_factory.mktemp("guarded")), env=LIMITS, backend=backend)
    yield srv
    srv.stop()


def test_a_silent_socket_is_closed(guarded: Server) -> None:
    with connect(guarded) as sock:
        assert closed_within(sock, 4)


def test_headers_sent_a_byte_at_a_time_are_cut_off(guarded: Server) -> None:
    with connect(guarded) as sock:
        request = b"POST /api HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Slow: "
        sock.sendall(request)
        started = time.monotonic()
        try:
            while time.monotonic() - started < 6:
                sock.sendall(b"a")
                time.sleep(0.2)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert time.monotonic() - started < 4  # the server hung up on us after about a second


def test_one_address_cannot_hold_every_socket(guarded: Server) -> None:
    hogs = [connect(guarded) for _ in range(20)]
    try:
        extra = connect(guarded)
        assert closed_within(extra, 2)  # accepted by the kernel, then closed at once
        extra.close()
    finally:
        for sock in hogs:
            sock.close()
    time.sleep(0.3)
    assert httpx.get(guarded.url + "/health", timeout=5).status_code == 200


def test_idle_sockets_time_out_and_make_room(guarded: Server) -> None:
    hogs = [connect(guarded) for _ in range(20)]
    try:
        time.sleep(2.5)  # the header timeout closes them all
        assert httpx.get(guarded.url + "/health", timeout=5).status_code == 200
    finally:
        for sock in hogs:
            sock.close()


def test_a_long_poll_outlives_the_header_and_idle_timeouts(guarded: Server) -> None:
    colony = create_colony(guarded)
    started = time.monotonic()
    expect_error(404, colony.assign, colony.executor, timeout=3)  # nothing to assign: answered after 3 s
    assert time.monotonic() - started >= 2.9

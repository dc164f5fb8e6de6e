"""``POST /api`` is answered by the HTTP protocol itself (``server/direct.py``), not through ASGI: what HTTP/1.1
allows a client to do with it still works, byte for byte on a raw socket: several requests in one write
(pipelining) are answered in order, a chunked body, ``Expect: 100-continue``, HTTP/1.0 (answered, then closed),
keep-alive with its idle timeout, size limits declared and undeclared, and the same answer as the ASGI path
(``/api?...`` takes that one)."""

from __future__ import annotations

import base64
import socket
import time
from typing import Any

import orjson
import pytest
from conftest import Colony, Server, closed_within, connect, create_colony, start_server

from colonies.envelope import build_request

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory, backend: str) -> Any:
    """A server with a 1 s idle timeout and a 64 KiB body limit."""
    env = {"COLONIES_IDLE_TIMEOUT": "1", "COLONIES_MAX_BODY_BYTES": str(64 * 1024)}
    srv = start_server(str(tmp_path_factory.mktemp("direct")), env=env, backend=backend)
    yield srv
    srv.stop()


def head(body: bytes, path: bytes = b"/api", extra: bytes = b"", version: bytes = b"1.1") -> bytes:
    return (b"POST " + path + b" HTTP/" + version + b"\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + b"Content-Length: %d\r\n" % len(body) + extra + b"\r\n")  # fmt: skip


class Reader:
    """HTTP/1.1 responses off a socket, one at a time (Content-Length framed, as the server sends them)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        self.buf += data
        return bool(data)

    def response(self) -> tuple[int, dict[bytes, bytes], bytes]:
        while b"\r\n\r\n" not in self.buf:
            assert self._fill(), f"connection closed before a full response: {self.buf!r}"
        top, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = top.split(b"\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(b":", 1) for line in lines[1:])}
        length = int(headers.get(b"content-length", b"0"))
        while len(self.buf) < length:
            assert self._fill(), "connection closed in the middle of a body"
        body, self.buf = self.buf[:length], self.buf[length:]
        return status, headers, body


def payload(body: bytes) -> Any:
    return orjson.loads(base64.b64decode(orjson.loads(body)["payload"]))


def submit_body(colony: Colony, label: str) -> bytes:
    return build_request("submitfuncspecmsg", {"spec": colony.spec(label=label)}, colony.executor.prvkey)


def test_pipelined_requests_are_answered_in_order(small: Server) -> None:
    colony, other = create_colony(small), create_colony(small)
    slow = build_request("assignprocessmsg", {"colonyname": other.name, "timeout": 1}, other.executor.prvkey)
    bodies = [slow] + [submit_body(colony, f"pipelined-{i}") for i in range(4)]
    with connect(small, 10) as sock:
        sock.sendall(b"".join(head(b) + b for b in bodies))  # five requests in one write, the first one slow
        reader = Reader(sock)
        status, _, body = reader.response()
        assert status == 404, body  # the long-poll found nothing in its second, and is answered first
        labels = []
        for _ in bodies[1:]:
            status, headers, body = reader.response()
            assert status == 200, body
            assert headers[b"content-type"] == b"application/json"
            labels.append(payload(body)["spec"]["label"])
    assert labels == [f"pipelined-{i}" for i in range(4)]


def test_a_chunked_body_is_read_whole(small: Server) -> None:
    colony = create_colony(small)
    body = submit_body(colony, "chunked")
    chunks = [body[i : i + 100] for i in range(0, len(body), 100)]
    framed = b"".join(b"%x\r\n" % len(c) + c + b"\r\n" for c in chunks) + b"0\r\n\r\n"
    request = (b"POST /api HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n")  # fmt: skip
    with connect(small, 10) as sock:
        sock.sendall(request)
        for piece in framed[:50], framed[50:]:  # the body arrives after the headers were handled
            time.sleep(0.1)
            sock.sendall(piece)
        status, _, reply = Reader(sock).response()
    assert status == 200, reply
    assert payload(reply)["spec"]["label"] == "chunked"


def test_expect_100_continue_is_honoured(small: Server) -> None:
    colony = create_colony(small)
    body = submit_body(colony, "continued")
    with connect(small, 10) as sock:
        sock.sendall(head(body, extra=b"Expect: 100-continue\r\n"))
        reader = Reader(sock)
        status, _, _ = reader.response()
        assert status == 100  # the server asks for the body before the client sends it
        sock.sendall(body)
        status, _, reply = reader.response()
    assert status == 200, reply
    assert payload(reply)["spec"]["label"] == "continued"


def test_http_1_0_is_answered_and_closed(small: Server) -> None:
    colony = create_colony(small)
    body = submit_body(colony, "old-http")
    with connect(small, 10) as sock:
        sock.sendall(head(body, version=b"1.0") + body)
        reader = Reader(sock)
        status, headers, reply = reader.response()
        assert status == 200, reply
        assert headers.get(b"connection") == b"close"
        assert closed_within(sock, 3)


def test_keep_alive_serves_many_then_the_idle_socket_is_closed(small: Server) -> None:
    colony = create_colony(small)
    with connect(small, 10) as sock:
        reader = Reader(sock)
        for i in range(3):
            body = submit_body(colony, f"kept-{i}")
            sock.sendall(head(body) + body)
            status, headers, reply = reader.response()
            assert status == 200, reply
            assert b"connection" not in headers
        started = time.monotonic()
        assert closed_within(sock, 5)  # COLONIES_IDLE_TIMEOUT=1
        assert time.monotonic() - started < 4


def test_a_declared_body_over_the_limit_is_refused_at_once(small: Server) -> None:
    with connect(small, 10) as sock:
        sock.sendall(head(b"x" * (64 * 1024 + 1))[:-2] + b"\r\n")  # headers only: the body is never sent
        status, _, reply = Reader(sock).response()
    assert status == 413
    assert b"limit" in base64.b64decode(orjson.loads(reply)["payload"])


def test_an_undeclared_body_over_the_limit_is_refused(small: Server) -> None:
    request = (b"POST /api HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n")  # fmt: skip
    chunk = b"x" * 16384
    with connect(small, 10) as sock:
        sock.sendall(request)
        try:
            for _ in range(5):  # 80 KiB, over the 64 KiB limit
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        status, _, _ = Reader(sock).response()
    assert status == 413


def test_the_asgi_path_gives_the_same_answers(small: Server) -> None:
    colony = create_colony(small)
    with connect(small, 10) as sock:
        reader = Reader(sock)
        answers = []
        for path in (b"/api", b"/api?via=asgi"):
            body = submit_body(colony, "same")
            sock.sendall(head(body, path=path) + body)
            status, headers, reply = reader.response()
            assert status == 200, reply
            answers.append((headers[b"content-type"], sorted(payload(reply)), payload(reply)["spec"]))
            bad = build_request("nosuchmsg", {}, colony.executor.prvkey)
            sock.sendall(head(bad, path=path) + bad)
            status, _, reply = reader.response()
            answers.append((status, payload(reply)))
    assert answers[:2] == answers[2:]
    assert answers[1][0] == 403


def test_a_browser_page_is_refused_on_the_direct_path_too(small: Server) -> None:
    colony = create_colony(small)
    body = submit_body(colony, "from-a-page")
    with connect(small, 10) as sock:
        sock.sendall(head(body, extra=b"Origin: http://evil.example\r\n") + body)
        status, headers, _ = Reader(sock).response()
    assert status == 403
    assert b"access-control-allow-origin" not in headers

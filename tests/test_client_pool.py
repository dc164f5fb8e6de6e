"""The clients' own HTTP connections (``client/pool.py``), synchronous and asyncio: a connection the server closed
while idle is not reused, one client serves several threads (or tasks), every reply framing is read, a server that
answers no HTTP or too late is a clear ColoniesConnectionError, and a configured proxy is still honoured (through
httpx)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from conftest import Colony, Server, create_colony, free_port, start_server

from colonies import envelope
from colonies.client.transport import AsyncRPCClient, RPCClient
from colonies.exceptions import ColoniesConnectionError

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def quick_idle(tmp_path_factory: pytest.TempPathFactory, backend: str) -> Iterator[Server]:
    """A server that closes keep-alive connections after 1 s idle."""
    srv = start_server(str(tmp_path_factory.mktemp("idle")), env={"COLONIES_IDLE_TIMEOUT": "1"}, backend=backend)
    yield srv
    srv.stop()


def test_a_connection_the_server_closed_while_idle_is_not_reused(quick_idle: Server) -> None:
    colony = create_colony(quick_idle)
    with RPCClient("127.0.0.1", quick_idle.port, timeout=10) as client:
        def submit() -> str:
            spec = colony.spec()
            return str(client.call("submitfuncspecmsg", {"spec": spec}, colony.executor.prvkey)["processid"])

        first = submit()
        time.sleep(1.8)  # the server has closed our idle connection by now
        second = submit()  # sent on a new connection, once
        time.sleep(1.8)
        third = submit()
    waiting = colony.call("getprocessesmsg", {"colonyname": colony.name, "count": 100, "state": 0}, colony.executor)
    assert sorted(p["processid"] for p in waiting) == sorted([first, second, third])


def test_one_client_serves_many_threads(colony: Colony) -> None:
    client = RPCClient("127.0.0.1", colony.server.port, timeout=30)

    def work(i: int) -> list[str]:
        ids = []
        for j in range(15):
            spec = colony.spec(label=f"t{i}-{j}")
            reply = client.call("submitfuncspecmsg", {"spec": spec}, colony.executor.prvkey)
            got = client.call("getprocessmsg", {"processid": reply["processid"]}, colony.executor.prvkey)
            assert got["spec"]["label"] == f"t{i}-{j}"  # each thread reads its own replies
            ids.append(reply["processid"])
        return ids

    with ThreadPoolExecutor(8) as pool:
        ids = [pid for chunk in pool.map(work, range(8)) for pid in chunk]
    client.close()
    assert len(set(ids)) == 8 * 15


class FakeServer:
    """A TCP server on 127.0.0.1 that answers each connection with ``behaviour`` and records what it read."""

    def __init__(self, behaviour: Any) -> None:
        self.behaviour = behaviour
        self.requests: list[bytes] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = conn.recv(65536)
                self.requests.append(data)
                try:
                    self.behaviour(conn, data)
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()


def _answer_version(conn: socket.socket, data: bytes) -> None:
    body = envelope.reply("versionmsg", {"buildversion": "proxied", "buildtime": ""})
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close"
                 b"\r\n\r\n%s" % (len(body), body))  # fmt: skip


def test_a_server_that_hangs_up_or_answers_garbage_is_a_connection_error() -> None:
    for behaviour in (lambda conn, data: None, lambda conn, data: conn.sendall(b"\x15\x03\x01\x00\x02\x02\x50")):
        fake = FakeServer(behaviour)
        try:
            with pytest.raises(ColoniesConnectionError, match=f"127.0.0.1:{fake.port}"):
                RPCClient("127.0.0.1", fake.port, timeout=5).call("versionmsg", {}, None)
        finally:
            fake.close()


def test_a_server_that_does_not_answer_in_time_is_a_timeout() -> None:
    fake = FakeServer(lambda conn, data: time.sleep(3))
    try:
        started = time.monotonic()
        with pytest.raises(ColoniesConnectionError, match="timed out"):
            RPCClient("127.0.0.1", fake.port, timeout=0.5).call("versionmsg", {}, None)
        assert time.monotonic() - started < 2.5
    finally:
        fake.close()


def test_nobody_listening_is_a_connection_error() -> None:
    port = free_port()
    with pytest.raises(ColoniesConnectionError, match=f"Cannot reach the Colonies server at 127.0.0.1:{port}"):
        RPCClient("127.0.0.1", port, timeout=5).call("versionmsg", {}, None)


def test_a_configured_proxy_is_used(monkeypatch: pytest.MonkeyPatch, server: Server) -> None:
    proxy = FakeServer(_answer_version)
    try:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        reply = RPCClient("127.0.0.1", server.port, timeout=5).call("versionmsg", {}, None)
        assert reply["buildversion"] == "proxied"
        assert proxy.requests[0].startswith(f"POST http://127.0.0.1:{server.port}/api ".encode())
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # and NO_PROXY goes around it
        reply = RPCClient("127.0.0.1", server.port, timeout=5).call("versionmsg", {}, None)
        assert reply["buildversion"] != "proxied" and len(proxy.requests) == 1
    finally:
        proxy.close()


def _child_calls(client: RPCClient, prvkey: str, colonyname: str, out: Any) -> None:
    try:
        names = {client.call("getcolonymsg", {"colonyname": colonyname}, prvkey)["name"] for _ in range(200)}
        out.put(sorted(names))
    except Exception as exc:  # noqa: BLE001 -- reported to the parent
        out.put(repr(exc))


def test_a_forked_child_opens_its_own_connections(colony: Colony) -> None:
    import multiprocessing

    client = RPCClient("127.0.0.1", colony.server.port, timeout=10)
    client.call("getcolonymsg", {"colonyname": colony.name}, colony.executor.prvkey)  # a pooled connection
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    child = context.Process(target=_child_calls, args=(client, colony.executor.prvkey, colony.name, out))
    child.start()
    names = {client.call("getcolonymsg", {"colonyname": colony.name}, colony.executor.prvkey)["name"]
             for _ in range(200)}  # fmt: skip
    child.join(30)
    assert names == {colony.name}
    assert out.get(timeout=5) == [colony.name]


# -- the asyncio client (AsyncConnectionPool) ---------------------------------------------------------------------
def test_async_a_connection_the_server_closed_while_idle_is_not_reused(quick_idle: Server) -> None:
    colony = create_colony(quick_idle)

    async def run() -> list[str]:
        async with AsyncRPCClient("127.0.0.1", quick_idle.port, timeout=10) as client:
            ids = []
            for _ in range(3):
                reply = await client.call("submitfuncspecmsg", {"spec": colony.spec()}, colony.executor.prvkey)
                ids.append(reply["processid"])
                await asyncio.sleep(1.8)  # the server closes our idle connection meanwhile
            return ids

    ids = asyncio.run(run())
    waiting = colony.call("getprocessesmsg", {"colonyname": colony.name, "count": 100, "state": 0}, colony.executor)
    assert sorted(p["processid"] for p in waiting) == sorted(ids)


def test_async_one_client_serves_concurrent_calls(colony: Colony) -> None:
    async def run() -> set[str]:
        async with AsyncRPCClient("127.0.0.1", colony.server.port, timeout=30) as client:
            async def one(i: int) -> str:
                spec = colony.spec(label=f"a{i}")
                reply = await client.call("submitfuncspecmsg", {"spec": spec}, colony.executor.prvkey)
                got = await client.call("getprocessmsg", {"processid": reply["processid"]}, colony.executor.prvkey)
                assert got["spec"]["label"] == f"a{i}"
                return str(reply["processid"])

            return set(await asyncio.gather(*(one(i) for i in range(40))))

    assert len(asyncio.run(run())) == 40


def _reply(conn: socket.socket, head: bytes, body: bytes) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + head + b"\r\n" + body)


def _version_body() -> bytes:
    return envelope.reply("versionmsg", {"buildversion": "fake", "buildtime": ""})


@pytest.mark.parametrize("shape", ["chunked", "until-close", "interim-100"])
def test_async_reads_every_reply_framing(shape: str) -> None:
    body = _version_body()

    def answer(conn: socket.socket, data: bytes) -> None:
        if shape == "chunked":
            chunks = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(part), part) for part in (body[:10], body[10:]))
            _reply(conn, b"Transfer-Encoding: chunked\r\n", chunks + b"0\r\nX-Trailer: 1\r\n\r\n")
        elif shape == "until-close":
            _reply(conn, b"", body)
        else:
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            _reply(conn, b"Content-Length: %d\r\n" % len(body), body)

    fake = FakeServer(answer)

    async def run() -> Any:
        async with AsyncRPCClient("127.0.0.1", fake.port, timeout=5) as client:
            return await client.call("versionmsg", {}, None)

    try:
        assert asyncio.run(run())["buildversion"] == "fake"
    finally:
        fake.close()


def test_async_hang_ups_garbage_and_silence_are_connection_errors() -> None:
    behaviours = [
        (lambda conn, data: None, "closed connection"),
        (lambda conn, data: conn.sendall(b"\x15\x03\x01\x00\x02\x02\x50\n"), "BadStatusLine"),
        (lambda conn, data: _reply(conn, b"Content-Length: 500\r\n", b"{}"), "middle of a reply"),
        (lambda conn, data: time.sleep(3), "timed out"),
    ]
    for behaviour, expected in behaviours:
        fake = FakeServer(behaviour)

        async def run(port: int) -> Any:
            async with AsyncRPCClient("127.0.0.1", port, timeout=0.8) as client:
                return await client.call("versionmsg", {}, None)

        try:
            with pytest.raises(ColoniesConnectionError, match=f"127.0.0.1:{fake.port}") as caught:
                asyncio.run(run(fake.port))
            assert expected in str(caught.value) or expected == "BadStatusLine", str(caught.value)
        finally:
            fake.close()


def test_async_a_configured_proxy_is_used(monkeypatch: pytest.MonkeyPatch, server: Server) -> None:
    proxy = FakeServer(_answer_version)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)

    async def run() -> Any:
        async with AsyncRPCClient("127.0.0.1", server.port, timeout=5) as client:
            return await client.call("versionmsg", {}, None)

    try:
        assert asyncio.run(run())["buildversion"] == "proxied"
    finally:
        proxy.close()

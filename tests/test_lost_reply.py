"""Replies lost on the way back: the request took effect on the server, the executor never heard. A TCP proxy
between a real executor and a real server drops chosen replies (it closes the connection instead of forwarding
the answer), which is what a server killed between its commit and its reply, or a network cut, does.

Before: a lost ``addlogmsg`` reply made the executor send the line again with a fresh nonce, so the process had
its "run" line twice (what `test_workflow_survives_a_server_kill_midway` saw as a node run twice), and a lost
``assignprocessmsg`` reply left the process RUNNING, unrun, until its maxexectime requeued it. Now retries resend
the same nonce: a repeated log line or close is refused as a replay (and counted as done), and a repeated assign
is answered with the process it claimed.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import threading
import time
from typing import Any

import pytest
from conftest import Colony, free_port
from sched_helpers import wait_for

from colonies.executor import Executor

pytestmark = pytest.mark.timeout(90)

SUCCESS = 2
_TYPE = re.compile(rb'"payloadtype"\s*:\s*"(\w+)"')


class DroppingProxy:
    """127.0.0.1:port → the server; the first ``drops[type]`` successful replies to that message type are never
    delivered: the proxy closes the client's connection instead. The first successful reply of each type in
    ``delays`` is held back that many seconds (a reply on its way)."""

    def __init__(self, upstream: int, drops: dict[str, int], delays: dict[str, float] | None = None) -> None:
        self.upstream = upstream
        self.drops = dict(drops)
        self.delays = dict(delays or {})
        #: Set when a delayed reply is being held back.
        self.holding = threading.Event()
        self.dropped: list[str] = []
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", free_port()))
        self.port = self.listener.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        """Stop listening for real: a socket closed while another thread waits in accept() keeps listening until
        that accept returns (Linux), and took a connection meant for a later test."""
        self.closed = True
        _close(self.listener)

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.upstream))
            except OSError:
                _close(client)
                continue
            state = {"type": b""}
            threading.Thread(target=self._up, args=(client, server, state), daemon=True).start()
            threading.Thread(target=self._down, args=(server, client, state), daemon=True).start()

    def _up(self, client: socket.socket, server: socket.socket, state: dict[str, bytes]) -> None:
        try:
            while data := client.recv(65536):
                found = _TYPE.search(data)
                if found:
                    state["type"] = found.group(1)
                server.sendall(data)
        except OSError:
            pass
        finally:
            _close(server)

    def _down(self, server: socket.socket, client: socket.socket, state: dict[str, bytes]) -> None:
        try:
            while data := server.recv(65536):
                kind = state["type"].decode()
                with self.lock:
                    drop = data.startswith(b"HTTP/1.1 200") and self.drops.get(kind, 0) > 0
                    if drop:
                        self.drops[kind] -= 1
                        self.dropped.append(kind)
                    delay = self.delays.pop(kind, 0.0) if data.startswith(b"HTTP/1.1 200") else 0.0
                if drop:
                    break  # the request took effect; its answer is lost
                if delay:
                    self.holding.set()
                    time.sleep(delay)
                client.sendall(data)
        except OSError:
            pass
        finally:
            _close(client)
            _close(server)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def run_one(colony: Colony, drops: dict[str, int], maxexectime: int = 60) -> tuple[dict[str, Any], list[str], Any]:
    """One process through an executor behind the proxy; returns (the closed process, its log lines, proxy)."""
    ident = colony.add_executor(executortype="lossy")
    proxy = DroppingProxy(colony.server.port, drops)
    executor = Executor(host="127.0.0.1", port=proxy.port, colonyname=colony.name, prvkey=ident.prvkey,
                        assign_timeout=2, backoff_initial=0.1, backoff_cap=0.5)  # fmt: skip

    @executor.function("work")
    def work(n: int, *, ctx: Any) -> int:
        ctx.log(f"run {n}")
        return n * 2

    executor.run_in_thread()
    try:
        assert executor.wait_ready(20)
        spec = colony.spec(funcname="work", args=[21], kwargs={}, maxexectime=maxexectime, maxretries=3,
                           conditions={"executortype": "lossy"})  # fmt: skip
        pid = colony.call("submitfuncspecmsg", {"spec": spec}, colony.user)["processid"]
        done = wait_for(lambda: colony.get(pid, colony.user), lambda p: p["state"] == SUCCESS, 30,
                        what="the process to succeed")  # fmt: skip
        time.sleep(0.5)  # any late duplicate line would have arrived by now
        logs = colony.call("getlogsmsg", {"colonyname": colony.name, "processid": pid, "count": 100},
                           colony.user) or []  # fmt: skip
        return done, [entry["message"].strip() for entry in logs], proxy
    finally:
        executor.stop()
        executor.join(20)
        proxy.close()


def test_a_log_line_whose_reply_is_lost_is_stored_once(colony: Colony) -> None:
    done, lines, proxy = run_one(colony, {"addlogmsg": 1})
    assert proxy.dropped == ["addlogmsg"]
    assert [line for line in lines if line.startswith("run ")] == ["run 21"]
    assert done["out"] == [42]


def test_an_assignment_whose_reply_is_lost_runs_once_and_at_once(colony: Colony) -> None:
    """The lost claim is handed out again to the retry: the process runs once, long before its maxexectime
    (60 s) could requeue it, and no retry is counted."""
    started = time.monotonic()
    done, lines, proxy = run_one(colony, {"assignprocessmsg": 1}, maxexectime=60)
    assert proxy.dropped == ["assignprocessmsg"]
    assert time.monotonic() - started < 30
    assert done["retries"] == 0
    assert [line for line in lines if line.startswith("run ")] == ["run 21"]


def test_a_close_whose_reply_is_lost_is_known_to_have_landed(colony: Colony, caplog: Any) -> None:
    """The retry is refused as a replay, which tells the executor the first close landed (before: a second close,
    refused as "not running", and a warning that the process could not be closed)."""
    caplog.set_level(logging.INFO, logger="colonies.executor")
    done, lines, proxy = run_one(colony, {"closesuccessfulmsg": 1})
    assert proxy.dropped == ["closesuccessfulmsg"]
    assert done["out"] == [42] and [line for line in lines if line.startswith("run ")] == ["run 21"]
    assert "closed by an earlier attempt whose reply was lost" in caplog.text
    assert "could not be closed" not in caplog.text


def test_a_stop_while_a_claimed_process_is_on_its_way_does_not_orphan_it(colony: Colony) -> None:
    """The server claimed a process for the executor's long-poll; the reply is still on its way when the executor
    is told to stop. Before: the stop cut the request, and the process stayed RUNNING, unrun, for its maxexectime
    (for ever with -1). Now the same nonce gets it back and it runs under the shutdown grace period: a function
    that outlives the grace fails with the shutdown error, as every running process does."""
    ident = colony.add_executor(executortype="stopping")
    proxy = DroppingProxy(colony.server.port, {}, delays={"assignprocessmsg": 3.0})
    executor = Executor(host="127.0.0.1", port=proxy.port, colonyname=colony.name, prvkey=ident.prvkey,
                        assign_timeout=10, shutdown_grace=0.5)  # fmt: skip

    @executor.function("forever")
    async def forever() -> None:
        await asyncio.sleep(30)

    executor.run_in_thread()
    try:
        assert executor.wait_ready(20)
        spec = colony.spec(funcname="forever", args=[], kwargs={}, maxexectime=-1, maxretries=0,
                           conditions={"executortype": "stopping"})  # fmt: skip
        pid = colony.call("submitfuncspecmsg", {"spec": spec}, colony.user)["processid"]
        assert proxy.holding.wait(20), "the assign reply was never held back"
        assert colony.get(pid, colony.user)["state"] == 1  # claimed on the server, unknown to the executor
        executor.stop()
        assert executor.join(20), "executor did not stop"
    finally:
        executor.stop()
        executor.join(20)
        proxy.close()
    done = wait_for(lambda: colony.get(pid, colony.user), lambda p: p["state"] != 1, 10,
                    what="the process to be closed")  # fmt: skip
    assert (done["state"], done["errors"]) == (3, ["executor shutting down"])

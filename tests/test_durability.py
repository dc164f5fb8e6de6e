"""An answered write survives ``kill -9``: submits and closes that got a 200 are there after a restart.

A dedicated server is killed with SIGKILL while a thread pool is writing; we record exactly which calls were answered
200 (the others see connection errors), restart on the same database and check every answered write.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

import pytest
from conftest import Colony, Server, create_colony

from colonies.client import RPCClient
from colonies.exceptions import ColoniesConnectionError, ColoniesError

pytestmark = pytest.mark.timeout(90)


def pid(process: dict[str, Any]) -> str:
    return str(process["processid"])


class KillSwitch:
    """Counts answered calls; a watcher thread SIGKILLs the server once ``after`` calls were answered."""

    def __init__(self, srv: Server, after: int) -> None:
        self.srv = srv
        self.after = after
        self.lock = threading.Lock()
        self.answered = 0
        self.reached = threading.Event()
        self.killed = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def count(self) -> None:
        with self.lock:
            self.answered += 1
            if self.answered >= self.after:
                self.reached.set()

    def _watch(self) -> None:
        if self.reached.wait(60):
            self.srv.kill()
        self.killed.set()


def run_with_kill(srv: Server, jobs: list[Any], call: Any, kill_after: int, workers: int = 8) -> dict[int, Any]:
    """Run ``call(client, job)`` for every job on a pool; kill the server after ``kill_after`` answers.

    Returns {job index: reply} for the answered calls only; any error other than a connection error fails the test.
    """
    switch = KillSwitch(srv, kill_after)
    answered: dict[int, Any] = {}
    unexpected: list[str] = []
    lock = threading.Lock()
    local = threading.local()
    clients: list[RPCClient] = []

    def client() -> RPCClient:
        if not hasattr(local, "client"):
            local.client = RPCClient("127.0.0.1", srv.port, timeout=10)
            with lock:
                clients.append(local.client)
        return local.client  # type: ignore[no-any-return]

    def one(i: int, job: Any) -> None:
        try:
            reply = call(client(), job)
        except ColoniesConnectionError:
            return
        except ColoniesError as exc:
            if switch.killed.is_set():  # a half-read reply from the dying server
                return
            with lock:
                unexpected.append(f"job {i}: {exc.status} {exc.message}")
            return
        with lock:
            answered[i] = reply
        switch.count()

    try:
        with ThreadPoolExecutor(workers) as pool:
            futures = [pool.submit(one, i, job) for i, job in enumerate(jobs)]
            for f in as_completed(futures, timeout=60):
                f.result()
    finally:
        switch.reached.set()  # make sure the server is dead before we look, even if few calls were answered
        switch.thread.join(15)
        for c in clients:
            c.close()
    assert not unexpected, unexpected[:5]
    assert srv.proc.poll() is not None, "server still running"
    return answered


def by_label(colony: Colony, label: str) -> list[dict[str, Any]]:
    msg = {"colonyname": colony.name, "label": label, "state": 0, "count": 10}
    return list(colony.call("getprocessesmsg", msg, colony.user) or [])


def test_answered_submits_survive_kill_9(make_server: Any) -> None:
    srv: Server = make_server()
    colony: Colony = create_colony(srv)
    n = 200
    specs = [colony.spec(funcname=f"fn_{i}", args=[i, "x" * (i % 7)], kwargs={"i": i}, label=f"lbl-{i}",
                         priority=i % 5, env={"k": str(i)})  # fmt: skip
             for i in range(n)]  # fmt: skip

    def submit(client: RPCClient, spec: dict[str, Any]) -> Any:
        return client.call("submitfuncspecmsg", {"spec": spec}, colony.user.prvkey)

    answered = run_with_kill(srv, specs, submit, kill_after=100)
    assert len(answered) >= 100, len(answered)
    assert len(answered) < n, "the server was killed only after every call was answered"
    srv.restart()

    lost = []
    for i, reply in answered.items():
        try:
            proc = colony.get(pid(reply))
        except ColoniesError as exc:
            lost.append((i, pid(reply), exc.status))
            continue
        spec = proc["spec"]
        assert proc["state"] == 0, proc
        assert spec["funcname"] == f"fn_{i}"
        assert spec["args"] == [i, "x" * (i % 7)]
        assert spec["kwargs"] == {"i": i}
        assert spec["label"] == f"lbl-{i}"
        assert spec["priority"] == i % 5
        assert spec["conditions"]["colonyname"] == colony.name
        assert spec == reply["spec"]
        assert proc["prioritytime"] == reply["prioritytime"]
        assert [(a["key"], a["value"]) for a in proc["attributes"]] == [("k", str(i))]
    assert lost == [], f"{len(lost)} answered submits lost: {lost[:5]}"
    # Every spec is stored at most once, answered or not (its label is unique): duplicated = 0.
    stored = {i: by_label(colony, f"lbl-{i}") for i in range(n)}
    duplicated = [i for i, found in stored.items() if len(found) > 1]
    print(f"submitted {n}, answered {len(answered)}, stored {sum(map(len, stored.values()))}, "
          f"duplicated {len(duplicated)}, lost {len(lost)}")  # fmt: skip
    assert duplicated == [], duplicated[:5]
    assert all(len(stored[i]) == 1 for i in answered)
    # The restarted server works normally.
    colony.submit(colony.user)
    assert colony.assign()["state"] == 1


def test_answered_closes_survive_kill_9(make_server: Any) -> None:
    srv: Server = make_server()
    colony: Colony = create_colony(srv)
    n = 80
    ids = [pid(colony.submit(colony.user, args=[i])) for i in range(n)]
    running = {pid(colony.assign()) for _ in range(n)}
    assert running == set(ids)

    def close(client: RPCClient, job: tuple[int, str]) -> Any:
        i, processid = job
        ok = i % 2 == 0
        if ok:
            client.call("closesuccessfulmsg", {"processid": processid, "out": [f"out-{i}"]}, colony.executor.prvkey)
        else:
            client.call("closefailedmsg", {"processid": processid, "errors": [f"err-{i}"]}, colony.executor.prvkey)
        return processid

    answered = run_with_kill(srv, list(enumerate(ids)), close, kill_after=n // 2)
    assert len(answered) >= n // 2
    assert len(answered) < n, "the server was killed only after every call was answered"
    srv.restart()

    for i, processid in enumerate(ids):
        proc = colony.get(processid)
        if i in answered:
            if i % 2 == 0:
                assert proc["state"] == 2 and proc["out"] == [f"out-{i}"], (i, proc["state"], proc["out"])
            else:
                assert proc["state"] == 3 and proc["errors"] == [f"err-{i}"], (i, proc["state"], proc["errors"])
        else:
            # Not answered: either never applied (still running) or applied completely, never half-way.
            assert proc["state"] in (1, 2, 3), proc
            if proc["state"] == 2:
                assert proc["out"] == [f"out-{i}"]
            if proc["state"] == 3:
                assert proc["errors"] == [f"err-{i}"]
    # A closed process is not handed out again after the restart.
    left = [p for p in ids if colony.get(p)["state"] == 1]
    try:
        extra = colony.assign()
    except ColoniesError as exc:
        assert exc.status == 404
    else:
        pytest.fail(f"assigned {pid(extra)} after restart; running ones were {left[:3]}")


def test_single_close_then_immediate_kill(make_server: Any) -> None:
    """The simplest form: one answered close, then kill -9 at once, then restart."""
    srv: Server = make_server()
    colony: Colony = create_colony(srv)
    p = colony.submit(colony.user)
    colony.assign()
    colony.close(pid(p), ["kept"])
    srv.kill()
    t0 = time.monotonic()
    srv.restart()
    assert time.monotonic() - t0 < 20
    proc = colony.get(pid(p))
    assert proc["state"] == 2 and proc["out"] == ["kept"]

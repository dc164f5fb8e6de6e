"""Several server replicas on one PostgreSQL database: no double assignment, wake-ups across replicas, and the
background duties (timeouts) moving to another replica when the leader dies (kill -9)."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from conftest import METRICS_AUTH, PG_URL, Colony, Server, create_colony, fresh_database, start_server
from sched_helpers import wait_for

from colonies.client import RPCClient
from colonies.exceptions import ColoniesError

pytestmark = pytest.mark.skipif(not PG_URL, reason="replicas need PostgreSQL (set COLONIES_TEST_PG_URL)")


@pytest.fixture
def replicas(tmp_path: Any) -> Iterator[list[Server]]:
    db = fresh_database("postgres", str(tmp_path))
    first = start_server(str(tmp_path), db=db)
    servers = [first] + [start_server(str(tmp_path), db=db, prvkey=first.prvkey) for _ in range(2)]
    yield servers
    for srv in servers:
        srv.stop()


def leaders(servers: list[Server]) -> list[int]:
    """Ports of the replicas whose /metrics report colonies_leader 1."""
    found = []
    for srv in servers:
        text = httpx.get(srv.url + "/metrics", timeout=5, headers=METRICS_AUTH).text
        if re.search(r"^colonies_leader 1(\.0)?$", text, re.M):
            found.append(srv.port)
    return found


def on(colony: Colony, server: Server) -> Colony:
    """The same colony, talked to through another replica."""
    return Colony(server, colony.name, colony.owner, colony.executor, colony.user, colony.executortype)


def test_no_process_is_assigned_twice_across_replicas(replicas: list[Server]) -> None:
    colony = create_colony(replicas[0])
    executors = [colony.add_executor(f"replica-exec-{i}") for i in range(9)]
    total = 150
    assigned: list[str] = []
    lock = threading.Lock()
    done = threading.Event()

    def work(index: int) -> None:
        server = replicas[index % 3]
        client = RPCClient("127.0.0.1", server.port, timeout=30)
        ident = executors[index]
        while not done.is_set():
            try:
                proc = client.call("assignprocessmsg", {"colonyname": colony.name, "timeout": 1}, ident.prvkey, 10)
            except ColoniesError as exc:
                if exc.status == 404:
                    continue
                raise
            client.call("closesuccessfulmsg", {"processid": proc["processid"], "out": [index]}, ident.prvkey)
            with lock:
                assigned.append(proc["processid"])
                if len(assigned) >= total:
                    done.set()

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(9)]
    for thread in threads:
        thread.start()
    submitted = [on(colony, replicas[i % 3]).submit()["processid"] for i in range(total)]
    assert done.wait(60), f"only {len(assigned)} of {total} processes were assigned"
    done.set()
    for thread in threads:
        thread.join(15)
    duplicated = [pid for pid, n in Counter(assigned).items() if n > 1]
    assert duplicated == []
    assert sorted(assigned) == sorted(submitted)
    assert all(colony.get(pid)["state"] == 2 for pid in submitted[:20])


def test_executor_waiting_on_one_replica_is_woken_by_a_submit_on_another(replicas: list[Server]) -> None:
    colony = create_colony(replicas[0])
    result: dict[str, Any] = {}

    def wait_on_a() -> None:
        result["process"] = on(colony, replicas[0]).assign(timeout=10)
        result["at"] = time.monotonic()

    thread = threading.Thread(target=wait_on_a, daemon=True)
    thread.start()
    time.sleep(0.5)  # the long-poll is parked on replica A
    sent = time.monotonic()
    submitted = on(colony, replicas[1]).submit()
    thread.join(15)
    assert result["process"]["processid"] == submitted["processid"]
    # Far below the 5 s periodic re-check: the NOTIFY from replica B woke A's long-poll.
    assert result["at"] - sent < 1.0


def test_subscription_on_one_replica_sees_a_close_on_another(replicas: list[Server]) -> None:
    from websockets.sync.client import connect

    from colonies import envelope

    colony = create_colony(replicas[0])
    process = on(colony, replicas[1]).submit()
    msg = {"colonyname": colony.name, "processid": process["processid"], "executortype": colony.executortype,
           "state": 2, "timeout": 20}  # fmt: skip
    with connect(replicas[0].url.replace("http", "ws") + "/pubsub") as ws:
        ws.send(envelope.build_request("subscribeprocessmsg", msg, colony.executor.prvkey).decode())
        time.sleep(0.3)
        replica_c = on(colony, replicas[2])
        replica_c.close(replica_c.assign(timeout=5)["processid"], ["done"])
        is_error, payload = envelope.decode_reply(ws.recv(timeout=5).encode())
    assert not is_error and payload["state"] == 2 and payload["out"] == ["done"]


def test_timeouts_move_to_another_replica_when_the_leader_dies(tmp_path: Any) -> None:
    db = fresh_database("postgres", str(tmp_path))
    leader = start_server(str(tmp_path), db=db)  # alone, so it takes the leader lock
    servers = [leader]
    try:
        colony = create_colony(leader)
        first = colony.submit(maxwaittime=1)
        wait_for(lambda: colony.get(first["processid"])["state"], lambda s: s == 3, 10, what="the leader's timeouts")
        servers += [start_server(str(tmp_path), db=db, prvkey=leader.prvkey) for _ in range(2)]
        time.sleep(1.5)  # the newcomers have tried for the lock at least once
        assert leaders(servers) == [leader.port], "exactly one replica leads"
        leader.kill()  # kill -9: its session ends, PostgreSQL releases the advisory lock
        survivor = on(colony, servers[1])
        second = survivor.submit(maxwaittime=1)
        started = time.monotonic()
        failed = wait_for(lambda: survivor.get(second["processid"]), lambda p: p["state"] == 3, 15,
                          what="a surviving replica to take over the timeouts")  # fmt: skip
        assert failed["errors"] == ["Maximum waiting time limit exceeded"]
        assert time.monotonic() - started < 8
        assert len(leaders(servers[1:])) == 1, "exactly one survivor took over"
    finally:
        for srv in servers:
            srv.stop()


def test_a_request_replayed_on_another_replica_is_refused(replicas: list[Server]) -> None:
    """The nonce is recorded in the shared database, so a replay is refused whichever replica it reaches."""
    from colonies import envelope

    colony = create_colony(replicas[0])
    body = envelope.build_request("submitfuncspecmsg", {"spec": colony.spec()}, colony.user.prvkey)
    statuses = [httpx.post(srv.url + "/api", content=body, timeout=10).status_code for srv in replicas]
    assert statuses == [200, 409, 409]
    waiting = colony.call("getprocessesmsg", {"colonyname": colony.name, "state": 0, "count": 10}, colony.user)
    assert len(waiting) == 1


def test_a_pause_on_one_replica_holds_on_every_replica(replicas: list[Server]) -> None:
    """The pause is a database row: every replica refuses to assign, and a resume on one replica wakes a
    long-poll waiting on another."""
    colony = create_colony(replicas[0])
    colony.call("pauseassignmentsmsg", {"colonyname": colony.name}, colony.owner)
    waiting = colony.submit()
    for srv in replicas[1:]:
        there = on(colony, srv)
        assert there.call("getpausestatusmsg", {"colonyname": colony.name}, colony.user)["ispaused"] is True
        with pytest.raises(ColoniesError) as err:
            there.assign(timeout=-1)
        assert err.value.status == 503
    got: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: got.update(on(colony, replicas[2]).assign(timeout=30)))
    thread.start()
    time.sleep(0.5)
    assert not got
    colony.call("resumeassignmentsmsg", {"colonyname": colony.name}, colony.owner)  # on replica 0
    thread.join(timeout=40)
    assert got.get("processid") == waiting["processid"]


def test_the_cluster_lists_every_replica_and_the_leader(replicas: list[Server]) -> None:
    def cluster(srv: Server) -> dict[str, Any]:
        return dict(srv.call("getclustermsg", {}, srv.prvkey))

    ports = sorted(srv.port for srv in replicas)
    wait_for(lambda: cluster(replicas[0]), lambda c: sorted(n["apiport"] for n in c["nodes"]) == ports
             and c["leader"]["apiport"] in ports, 15, what="every replica in the cluster")  # fmt: skip
    leader = leaders(replicas)
    assert len(leader) == 1
    wait_for(lambda: [cluster(srv)["leader"]["apiport"] for srv in replicas], lambda got: got == leader * 3, 15,
             what="every replica to name the same leader")  # fmt: skip
    replicas[1].proc.terminate()  # a clean stop leaves the set at once (stop() would drop the database)
    replicas[1].proc.wait(timeout=20)
    rest = sorted(srv.port for srv in (replicas[0], replicas[2]))
    wait_for(lambda: sorted(n["apiport"] for n in cluster(replicas[0])["nodes"]), lambda got: got == rest, 15,
             what="the stopped replica to leave the cluster")  # fmt: skip

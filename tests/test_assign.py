"""assignprocessmsg: eligibility and order (protocol §5.2), long-poll wake-ups, concurrency, disconnects.

Everything runs against the real server subprocess over HTTP. Assign with ``timeout=-1`` is a single attempt, so an
ineligible executor gets 404 at once; long-polls are measured with monotonic clocks.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from conftest import Colony, Identity, create_colony, expect_error, new_identity
from sched_helpers import NS_PER_DAY, parse_rfc3339_ns

from colonies import envelope
from colonies.client import RPCClient
from colonies.exceptions import ColoniesError

pytestmark = pytest.mark.timeout(60)


def pid(process: dict[str, Any]) -> str:
    return str(process["processid"])


def timed_assign(colony: Colony, who: Identity, timeout: int, out: dict[str, Any], **extra: Any) -> None:
    """Thread target: long-poll and record (result or error status, return time)."""
    try:
        out["process"] = colony.assign(who, timeout=timeout, **extra)
    except ColoniesError as exc:
        out["status"] = exc.status
    out["t"] = time.monotonic()


# -- eligibility ---------------------------------------------------------------------------------------------------


def test_executortype_must_match(colony: Colony) -> None:
    other = colony.add_executor("other-type-exec", executortype="other_type")
    p = colony.submit(colony.user)
    expect_error(404, colony.assign, other)
    # Naming an executor does not bypass the type check.
    named = colony.submit(colony.user, conditions={"executornames": [other.name]})
    expect_error(404, colony.assign, other)
    # A process of the other type goes to the other executor only.
    q = colony.submit(colony.user, conditions={"executortype": "other_type"})
    assert pid(colony.assign(other)) == pid(q)
    assert pid(colony.assign(colony.executor)) == pid(p)
    expect_error(404, colony.assign, colony.executor)  # `named` names `other`, not this executor
    assert colony.get(pid(named))["state"] == 0


def test_executornames_targeting(colony: Colony) -> None:
    a = colony.add_executor("exec-a")
    b = colony.add_executor("exec-b")
    for_b = colony.submit(colony.user, conditions={"executornames": [b.name]})
    expect_error(404, colony.assign, a)
    got = colony.assign(b)
    assert pid(got) == pid(for_b)
    assert got["assignedexecutorid"] == b.id

    pool = colony.submit(colony.user, conditions={"executornames": []})
    assert pid(colony.assign(a)) == pid(pool)
    star = colony.submit(colony.user, conditions={"executornames": ["*"]})
    assert pid(colony.assign(a)) == pid(star)
    both = colony.submit(colony.user, conditions={"executornames": [a.name, b.name]})
    assert pid(colony.assign(a)) == pid(both)


def test_named_targeting_gives_no_precedence(colony: Colony) -> None:
    b = colony.add_executor("exec-b")
    older_pool = colony.submit(colony.user)
    newer_named = colony.submit(colony.user, conditions={"executornames": [b.name]})
    assert pid(colony.assign(b)) == pid(older_pool)
    assert pid(colony.assign(b)) == pid(newer_named)


def test_available_cpu_filter(colony: Colony) -> None:
    p = colony.submit(colony.user, conditions={"cpu": "2000m"})
    expect_error(404, colony.assign, availablecpu="1000m")
    expect_error(404, colony.assign, availablecpu="1999m")
    got = colony.assign(availablecpu="4000m")
    assert pid(got) == pid(p)
    q = colony.submit(colony.user, conditions={"cpu": "2000m"})
    assert pid(colony.assign(availablecpu="2000m")) == pid(q)  # equal is enough
    r = colony.submit(colony.user, conditions={"cpu": "2000m"})
    assert pid(colony.assign()) == pid(r)  # no availablecpu = unlimited


def test_available_mem_filter(colony: Colony) -> None:
    p = colony.submit(colony.user, conditions={"mem": "2Gi"})
    expect_error(404, colony.assign, availablemem="1Gi")
    expect_error(404, colony.assign, availablemem="2047Mi")
    assert pid(colony.assign(availablemem="2048Mi")) == pid(p)
    q = colony.submit(colony.user, conditions={"mem": "2Gi"})
    assert pid(colony.assign(availablemem="4Gi")) == pid(q)
    # Both filters at once: cpu fits, memory does not.
    r = colony.submit(colony.user, conditions={"cpu": "500m", "mem": "2Gi"})
    expect_error(404, colony.assign, availablecpu="1000m", availablemem="1Gi")
    assert pid(colony.assign(availablecpu="1000m", availablemem="3Gi")) == pid(r)


def test_locationname_matching(colony: Colony) -> None:
    east = colony.add_executor("exec-east", locationname="Lab-East")
    west = colony.add_executor("exec-west", locationname="LAB-WEST")
    nowhere = colony.add_executor("exec-nowhere", locationname="")

    p_east = colony.submit(colony.user, conditions={"locationname": "lab-east"})
    expect_error(404, colony.assign, west)
    expect_error(404, colony.assign, nowhere)
    assert pid(colony.assign(east)) == pid(p_east)  # case-insensitive

    p_west = colony.submit(colony.user, conditions={"locationname": "Lab-West"})
    expect_error(404, colony.assign, east)
    assert pid(colony.assign(west)) == pid(p_west)

    anywhere = colony.submit(colony.user)  # no location: any executor
    assert pid(colony.assign(east)) == pid(anywhere)


def test_priority_then_age_order(colony: Colony) -> None:
    low = colony.submit(colony.user, priority=0)
    high = colony.submit(colony.user, priority=10)
    mid = colony.submit(colony.user, priority=5)
    high2 = colony.submit(colony.user, priority=10)
    neg = colony.submit(colony.user, priority=-3)
    mid2 = colony.submit(colony.user, priority=5)
    for proc, prio in ((low, 0), (high, 10), (mid, 5), (high2, 10), (neg, -3), (mid2, 5)):
        submitted = parse_rfc3339_ns(proc["submissiontime"])
        assert proc["prioritytime"] == submitted - prio * NS_PER_DAY, (prio, proc["prioritytime"], submitted)
    order = [pid(colony.assign()) for _ in range(6)]
    assert order == [pid(high), pid(high2), pid(mid), pid(mid2), pid(low), pid(neg)]
    expect_error(404, colony.assign)


# -- timeouts and long-poll ----------------------------------------------------------------------------------------


def test_timeout_zero_is_bad_request(colony: Colony) -> None:
    colony.submit(colony.user)
    expect_error(400, colony.assign, timeout=0)
    assert colony.assign(timeout=-1)["state"] == 1  # the process was not taken by the bad request


def test_single_attempt_on_empty_queue_is_immediate_404(colony: Colony) -> None:
    t0 = time.monotonic()
    expect_error(404, colony.assign, timeout=-1)
    assert time.monotonic() - t0 < 0.5


def test_long_poll_times_out_after_its_timeout(colony: Colony) -> None:
    t0 = time.monotonic()
    expect_error(404, colony.assign, timeout=1)
    elapsed = time.monotonic() - t0
    assert 0.9 <= elapsed < 2.0, elapsed


def test_long_poll_is_woken_quickly_by_submit(colony: Colony) -> None:
    latencies = []
    for _ in range(3):
        out: dict[str, Any] = {}
        thread = threading.Thread(target=timed_assign, args=(colony, colony.executor, 10, out))
        thread.start()
        time.sleep(0.5)  # let the long-poll register
        assert thread.is_alive(), out
        t0 = time.monotonic()
        p = colony.submit(colony.user)
        thread.join(15)
        assert not thread.is_alive()
        assert "process" in out, out
        assert pid(out["process"]) == pid(p)
        latencies.append(out["t"] - t0)
        colony.close(pid(p))
    assert max(latencies) < 0.5, latencies


def test_one_process_goes_to_exactly_one_of_many_waiters(colony: Colony) -> None:
    execs = [colony.add_executor() for _ in range(5)]
    outs: list[dict[str, Any]] = [{} for _ in execs]
    threads = [threading.Thread(target=timed_assign, args=(colony, e, 3, o)) for e, o in zip(execs, outs)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    t0 = time.monotonic()
    p = colony.submit(colony.user)
    for t in threads:
        t.join(15)
    winners = [o for o in outs if "process" in o]
    assert len(winners) == 1, outs
    assert pid(winners[0]["process"]) == pid(p)
    assert winners[0]["t"] - t0 < 0.5
    assert sorted(o.get("status", 0) for o in outs if "process" not in o) == [404] * 4


def test_burst_wakes_every_waiter(colony: Colony) -> None:
    """5 waiters, 5 processes submitted back to back: each waiter gets one at once (no lost wake-up)."""
    execs = [colony.add_executor() for _ in range(5)]
    outs: list[dict[str, Any]] = [{} for _ in execs]
    threads = [threading.Thread(target=timed_assign, args=(colony, e, 10, o)) for e, o in zip(execs, outs)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    t0 = time.monotonic()
    submitted = {pid(colony.submit(colony.user)) for _ in range(5)}
    for t in threads:
        t.join(15)
    assert all("process" in o for o in outs), outs
    assert {pid(o["process"]) for o in outs} == submitted
    slowest = max(o["t"] for o in outs) - t0
    assert slowest < 1.5, slowest  # a lost wake-up would wait for the 5 s re-check or the 10 s timeout


def test_targeted_process_wakes_the_named_executor(colony: Colony) -> None:
    a = colony.add_executor("exec-a")
    b = colony.add_executor("exec-b")
    out_a: dict[str, Any] = {}
    out_b: dict[str, Any] = {}
    ta = threading.Thread(target=timed_assign, args=(colony, a, 2, out_a))
    ta.start()
    time.sleep(0.2)  # a registers first, so a naive "wake the first waiter" would pick it
    tb = threading.Thread(target=timed_assign, args=(colony, b, 10, out_b))
    tb.start()
    time.sleep(0.5)
    t0 = time.monotonic()
    p = colony.submit(colony.user, conditions={"executornames": [b.name]})
    ta.join(15)
    tb.join(15)
    assert out_a.get("status") == 404, out_a
    assert "process" in out_b, out_b
    assert pid(out_b["process"]) == pid(p)
    assert out_b["t"] - t0 < 0.5


def test_long_poll_for_other_colony_is_not_served(colony: Colony, server: Any) -> None:
    other = create_colony(server)
    out: dict[str, Any] = {}
    t = threading.Thread(target=timed_assign, args=(other, other.executor, 2, out))
    t.start()
    time.sleep(0.3)
    p = colony.submit(colony.user)  # same executortype, other colony
    t.join(15)
    assert out.get("status") == 404, out
    assert colony.get(pid(p))["state"] == 0
    assert pid(colony.assign()) == pid(p)


# -- colonies and roles ----------------------------------------------------------------------------------------------


def test_processes_never_cross_colonies(colony: Colony, server: Any) -> None:
    other = create_colony(server)
    p = colony.submit(colony.user)
    expect_error(404, other.assign, other.executor)
    # B's executor may not even ask in A's colony.
    expect_error(403, colony.assign, other.executor)
    q = other.submit(other.user)
    got = colony.assign()
    assert pid(got) == pid(p)
    expect_error(404, colony.assign)
    assert pid(other.assign()) == pid(q)


def test_only_approved_executors_can_assign(colony: Colony) -> None:
    colony.submit(colony.user)
    expect_error(403, colony.assign, colony.user)
    expect_error(403, colony.assign, colony.owner)
    pending = colony.add_executor(approve=False)
    expect_error(403, colony.assign, pending)
    stranger = new_identity("stranger")
    expect_error(403, colony.assign, stranger)
    assert colony.assign()["state"] == 1  # still there for a real executor


# -- concurrency -----------------------------------------------------------------------------------------------------


def test_concurrent_executors_assign_each_process_exactly_once(colony: Colony) -> None:
    n_exec, n_proc, n_submitters = 20, 300, 5
    execs = [colony.add_executor(f"worker-{i}") for i in range(n_exec)]
    host, port = "127.0.0.1", colony.server.port
    lock = threading.Lock()
    assigned: list[tuple[str, str]] = []  # (processid, executor id)
    errors: list[str] = []
    submitted: list[str] = []
    stop = threading.Event()
    deadline = time.monotonic() + 35

    def work(ident: Identity) -> None:
        with RPCClient(host, port, timeout=30) as client:
            while not stop.is_set() and time.monotonic() < deadline:
                try:
                    proc = client.call("assignprocessmsg", {"colonyname": colony.name, "timeout": 1}, ident.prvkey)
                except ColoniesError as exc:
                    if exc.status != 404:
                        with lock:
                            errors.append(f"assign {exc.status}: {exc.message}")
                    continue
                with lock:
                    assigned.append((pid(proc), ident.id))
                try:
                    client.call("closesuccessfulmsg", {"processid": pid(proc), "out": [ident.name]}, ident.prvkey)
                except ColoniesError as exc:
                    with lock:
                        errors.append(f"close {exc.status}: {exc.message}")

    def submit(count: int) -> None:
        with RPCClient(host, port, timeout=30) as client:
            for i in range(count):
                proc = client.call("submitfuncspecmsg", {"spec": colony.spec(args=[i])}, colony.user.prvkey)
                with lock:
                    submitted.append(pid(proc))

    workers = [threading.Thread(target=work, args=(e,)) for e in execs]
    for w in workers:
        w.start()
    try:
        with ThreadPoolExecutor(n_submitters) as pool:
            for f in [pool.submit(submit, n_proc // n_submitters) for _ in range(n_submitters)]:
                f.result(timeout=30)
        while time.monotonic() < deadline:
            with lock:
                if len(assigned) >= n_proc:
                    break
            time.sleep(0.05)
        time.sleep(0.3)  # give a duplicate assignment, if any, a chance to show up
    finally:
        stop.set()
        for w in workers:
            w.join(10)
    assert not any(w.is_alive() for w in workers)
    assert not errors, errors[:5]
    assert len(submitted) == n_proc
    ids = [p for p, _ in assigned]
    assert len(ids) == len(set(ids)), "a process was assigned twice"
    assert set(ids) == set(submitted), f"{len(set(submitted) - set(ids))} processes never assigned"
    by_exec = dict(assigned)
    name_of = {e.id: e.name for e in execs}
    for processid in submitted:
        proc = colony.get(processid)
        assert proc["state"] == 2, proc
        assert proc["assignedexecutorid"] == by_exec[processid]
        assert proc["out"] == [name_of[by_exec[processid]]]
    assert colony.call("getprocessesmsg", {"colonyname": colony.name, "state": 0, "count": 100}, colony.user) == []
    assert len({e for _, e in assigned}) > 1  # the work was actually spread


# -- disconnects -----------------------------------------------------------------------------------------------------


def _abandoned_long_poll(colony: Colony, who: Identity, server_timeout: int, client_timeout: float) -> None:
    """Start an assign long-poll and hang up after ``client_timeout`` s (a fresh connection, closed on timeout)."""
    body = envelope.build_request("assignprocessmsg", {"colonyname": colony.name, "timeout": server_timeout},
                                  who.prvkey)  # fmt: skip
    with pytest.raises(httpx.TimeoutException):
        with httpx.Client() as client:
            client.post(colony.server.url + "/api", content=body, timeout=client_timeout)


def test_disconnected_long_poll_does_not_swallow_later_process(colony: Colony) -> None:
    a = colony.add_executor("exec-gone")
    b = colony.add_executor("exec-next")
    _abandoned_long_poll(colony, a, 10, 0.5)
    time.sleep(0.3)
    p = colony.submit(colony.user)
    time.sleep(0.5)
    proc = colony.get(pid(p))
    assert proc["state"] == 0 and not proc["isassigned"], proc  # nobody holds it
    got = colony.assign(b, timeout=3)
    assert pid(got) == pid(p)
    assert got["assignedexecutorid"] == b.id


def test_disconnected_long_poll_does_not_steal_wake_up(colony: Colony) -> None:
    """The gone executor registered first; the live one must still be woken at once."""
    a = colony.add_executor("exec-gone")
    b = colony.add_executor("exec-live")
    gone = threading.Thread(target=_abandoned_long_poll, args=(colony, a, 10, 1.0))
    gone.start()
    time.sleep(0.4)
    out: dict[str, Any] = {}
    live = threading.Thread(target=timed_assign, args=(colony, b, 10, out))
    live.start()
    gone.join(5)
    assert not gone.is_alive()
    time.sleep(0.3)
    t0 = time.monotonic()
    p = colony.submit(colony.user)
    live.join(15)
    assert "process" in out, out
    assert pid(out["process"]) == pid(p)
    assert out["process"]["assignedexecutorid"] == b.id
    assert out["t"] - t0 < 0.5


def test_colony_name_with_random_suffix_is_isolated(server: Any) -> None:
    """Two colonies whose names share a prefix do not see each other's work."""
    base = f"iso-{os.urandom(4).hex()}"
    c1 = create_colony(server, base)
    c2 = create_colony(server, base + "x")
    p = c1.submit(c1.user)
    expect_error(404, c2.assign)
    assert pid(c1.assign()) == pid(p)


def test_wake_up_is_not_lost_when_woken_executor_takes_other_work(colony: Colony) -> None:
    """Two processes become ready at once (one workflow, two roots): a small one any executor can run and a
    high-priority big one only the unrestricted executor can run. The unrestricted executor (registered first) is
    woken for the small one but claims the big one (higher priority); the small executor must still be woken at once.
    """
    big_exec = colony.add_executor("exec-big")
    small_exec = colony.add_executor("exec-small")
    out_big: dict[str, Any] = {}
    out_small: dict[str, Any] = {}
    tb = threading.Thread(target=timed_assign, args=(colony, big_exec, 10, out_big))
    tb.start()
    time.sleep(0.3)  # big_exec is first in line
    ts = threading.Thread(target=timed_assign, args=(colony, small_exec, 10, out_small),
                          kwargs={"availablecpu": "1000m"})  # fmt: skip
    ts.start()
    time.sleep(0.5)
    small = colony.spec(nodename="small", priority=0, conditions={"cpu": "500m"})
    big = colony.spec(nodename="big", priority=10, conditions={"cpu": "2000m"})
    t0 = time.monotonic()
    graph = colony.call("submitworkflowspecmsg", {"spec": {"colonyname": colony.name, "functionspecs": [small, big]}},
                        colony.user)  # fmt: skip
    tb.join(15)
    ts.join(15)
    assert "process" in out_big and "process" in out_small, (out_big, out_small)
    assert out_big["process"]["spec"]["nodename"] == "big"
    assert out_small["process"]["spec"]["nodename"] == "small"
    assert {pid(out_big["process"]), pid(out_small["process"])} == set(graph["processids"])
    assert out_big["t"] - t0 < 0.5
    assert out_small["t"] - t0 < 1.0, f"small executor woken only after {out_small['t'] - t0:.2f}s"


def test_invalid_available_resources_are_bad_requests(colony: Colony) -> None:
    colony.submit(colony.user)
    expect_error(400, colony.assign, availablecpu="lots")
    expect_error(400, colony.assign, availablemem="much")
    assert colony.assign()["state"] == 1

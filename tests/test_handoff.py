"""The hand-off: a submit that finds an executor parked in an assign long-poll claims the process for it in the
submit's own transaction, instead of committing, waking the long-poll and letting it claim in a second one.

The real-server tests prove it happens (the ``colonies_assign_handoffs`` counter), that the executor gets exactly
what a claim of its own would give it, and that a lost reply is answered again. The in-process tests hold the
submit's transaction open (a gate in front of the real SQLite store) to reach the races: the executor hanging up
meanwhile, and an older process of higher priority that the claim prefers.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from conftest import Colony, new_identity
from test_metrics import scrape, value

from colonies import crypto, envelope
from colonies.messages import SubmitFuncSpecMsg
from colonies.server.api import dispatch
from colonies.server.context import ServerState
from colonies.server.events import EventBus
from colonies.server.lifecycle import new_process
from colonies.settings import Settings
from colonies.storage import open_store


def handoffs(colony: Colony) -> float:
    return value(scrape(colony), "colonies_assign_handoffs_total")


def waiters(colony: Colony) -> float:
    return value(scrape(colony), "colonies_assign_waiters")


def parked_assign(colony: Colony, body: bytes) -> tuple[threading.Thread, dict[str, Any]]:
    """Send an assign long-poll (the signed ``body``) from a thread; returns once the server holds it parked."""
    result: dict[str, Any] = {}

    def run() -> None:
        result["response"] = httpx.post(colony.server.url + "/api", content=body, timeout=40,
                                        headers={"Content-Type": "application/json"})  # fmt: skip

    before = waiters(colony)
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while waiters(colony) <= before and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)  # its first claim (an empty queue) is a millisecond; then it parks
    return thread, result


def assign_body(colony: Colony, who: Any, timeout: int = 20) -> bytes:
    return envelope.build_request("assignprocessmsg", {"colonyname": colony.name, "timeout": timeout},
                                  who.prvkey)  # fmt: skip


def reply_of(response: httpx.Response) -> Any:
    is_error, payload = envelope.decode_reply(response.content)
    assert not is_error and response.status_code == 200, payload
    return payload


def handed_over(colony: Colony, who: Any) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    """Park ``who`` in an assign, submit, and return (submit reply, assign reply, the assign's body); retried a
    few times in case the long-poll was not parked yet (then it claims for itself and no hand-off is counted)."""
    for _ in range(3):
        before = handoffs(colony)
        body = assign_body(colony, who)
        thread, result = parked_assign(colony, body)
        submitted = colony.submit()
        thread.join(30)
        assigned = reply_of(result["response"])
        if handoffs(colony) == before + 1:
            return submitted, assigned, body
    raise AssertionError("no submit was handed to the parked long-poll in three tries")


def test_a_parked_long_poll_gets_the_process_from_the_submits_own_transaction(colony: Colony) -> None:
    submitted, assigned, _ = handed_over(colony, colony.executor)
    assert submitted["state"] == 0 and not submitted["isassigned"]  # the submit answers what it submitted
    assert assigned["processid"] == submitted["processid"]
    assert assigned["state"] == 1 and assigned["isassigned"]
    assert assigned["assignedexecutorid"] == colony.executor.id
    now = colony.get(submitted["processid"])
    assert now["state"] == 1 and now["assignedexecutorid"] == colony.executor.id
    assert now["starttime"] == assigned["starttime"]
    colony.close(submitted["processid"], out=["done"])  # the lease it was given fences its calls as usual
    assert colony.get(submitted["processid"])["state"] == 2


def test_a_lost_reply_of_a_handed_over_assign_is_answered_again_with_the_same_process(colony: Colony) -> None:
    _, assigned, body = handed_over(colony, colony.executor)
    again = httpx.post(colony.server.url + "/api", content=body, timeout=30,
                       headers={"Content-Type": "application/json"})  # fmt: skip
    assert reply_of(again)["processid"] == assigned["processid"]  # the long-poll's nonce rode on the claim


def test_a_process_the_parked_executor_may_not_take_is_not_handed_to_it(colony: Colony) -> None:
    other = colony.add_executor("other-exec")
    before = handoffs(colony)
    thread, result = parked_assign(colony, assign_body(colony, colony.executor, timeout=2))
    named = colony.submit(conditions={"executornames": [other.name]})
    thread.join(30)
    assert result["response"].status_code == 404  # its long-poll ended with nothing
    assert handoffs(colony) == before
    assert colony.get(named["processid"])["state"] == 0
    assert colony.assign(other)["processid"] == named["processid"]


def test_a_waiter_removed_meanwhile_gets_nothing_and_the_process_waits(colony: Colony) -> None:
    gone = colony.add_executor("gone-exec")
    thread, result = parked_assign(colony, assign_body(colony, gone, timeout=3))
    colony.call("removeexecutormsg", {"colonyname": colony.name, "executorname": gone.name}, colony.owner)
    submitted = colony.submit()
    thread.join(30)
    assert result["response"].status_code in (403, 404)
    assert colony.get(submitted["processid"])["state"] == 0
    assert colony.assign(colony.executor)["processid"] == submitted["processid"]


# -- in process: the races, with the submit's transaction held open ------------------------------------------------


class World:
    """A real SQLite store and server state in this process, driven through ``dispatch`` as requests are."""

    def __init__(self, state: ServerState, server_key: str) -> None:
        self.state = state
        self.server_key = server_key
        self.owner = new_identity("owner")
        self.colonyname = "c-" + os.urandom(4).hex()
        self.executors: list[Any] = []

    async def call(self, payloadtype: str, msg: dict[str, Any], prvkey: str) -> tuple[int, Any]:
        status, body = await dispatch(self.state, envelope.build_request(payloadtype, msg, prvkey))
        return status, envelope.decode_reply(body)[1]

    async def ok(self, payloadtype: str, msg: dict[str, Any], prvkey: str) -> Any:
        status, reply = await self.call(payloadtype, msg, prvkey)
        assert status == 200, reply
        return reply

    async def setup(self) -> None:
        await self.ok("addcolonymsg", {"colony": {"colonyid": self.owner.id, "name": self.colonyname}},
                      self.server_key)  # fmt: skip
        for i in range(2):
            ident = new_identity(f"e{i}")
            await self.ok("addexecutormsg", {"executor": {"executorid": ident.id, "executorname": ident.name,
                          "executortype": "t", "colonyname": self.colonyname, "locationname": ""}},
                          self.owner.prvkey)  # fmt: skip
            await self.ok("approveexecutormsg", {"colonyname": self.colonyname, "executorname": ident.name},
                          self.owner.prvkey)  # fmt: skip
            self.executors.append(ident)

    def spec(self, priority: int = 0) -> dict[str, Any]:
        return {"funcname": "f", "priority": priority, "maxwaittime": -1, "maxexectime": -1, "maxretries": 0,
                "conditions": {"colonyname": self.colonyname, "executortype": "t"}}  # fmt: skip

    async def parked(self, who: Any) -> asyncio.Task[tuple[int, Any]]:
        task = asyncio.ensure_future(self.call("assignprocessmsg", {"colonyname": self.colonyname, "timeout": 10},
                                               who.prvkey))  # fmt: skip
        for _ in range(500):
            await asyncio.sleep(0.002)
            waiting = [w for ws in self.state.events._waiters.values() for w in ws]
            if waiting and all(w.parked for w in waiting):
                return task
        raise AssertionError("the long-poll never parked")


def in_world(tmp_path: Path, scenario: Any) -> None:
    async def main() -> None:
        server_key = crypto.generate_prvkey()
        settings = Settings(db_url=f"sqlite:///{tmp_path}/c.db", server_id=crypto.id_from_prvkey(server_key))
        store = await open_store(settings.db_url)
        try:
            await store.set_server_id(settings.server_id)
            state = ServerState(storage=store, events=EventBus(), settings=settings)
            state.instance_id = await store.get_instance_id()
            world = World(state, server_key)
            await world.setup()
            await scenario(world)
        finally:
            await store.close()

    asyncio.run(main())


def gate_handing(store: Any) -> tuple[asyncio.Event, asyncio.Event]:
    """Hold every hand-off transaction until ``release`` is set; ``entered`` is set when one is held."""
    entered, release = asyncio.Event(), asyncio.Event()
    real = store.add_process_handing

    async def held(*args: Any) -> Any:
        entered.set()
        await release.wait()
        return await real(*args)

    store.add_process_handing = held
    return entered, release


async def process_state(world: World, processid: str) -> dict[str, Any]:
    return await world.ok("getprocessmsg", {"processid": processid}, world.executors[1].prvkey)  # type: ignore[no-any-return]


def test_an_executor_hanging_up_during_the_hand_off_leaves_the_process_waiting(tmp_path: Path) -> None:
    async def scenario(world: World) -> None:
        first, second = world.executors
        events = world.state.events
        reserve = events.reserve
        for when in ("as it is chosen", "while the transaction runs"):
            entered, release = gate_handing(world.state.storage)
            task = await world.parked(first)

            def reserve_and_hang_up(row: Any) -> Any:
                chosen = reserve(row)
                if when == "as it is chosen":
                    task.cancel()  # before the long-poll runs again: the submit finds it gone afterwards
                return chosen

            events.reserve = reserve_and_hang_up  # type: ignore[method-assign]
            submit = asyncio.ensure_future(world.ok("submitfuncspecmsg", {"spec": world.spec()}, second.prvkey))
            await entered.wait()
            await asyncio.sleep(0.01)  # the long-poll now waits on the submit's transaction (or is gone)
            task.cancel()  # its HTTP client hung up (the endpoint cancels the request's task)
            await asyncio.sleep(0.01)
            release.set()
            submitted = await submit
            assert isinstance((await asyncio.gather(task, return_exceptions=True))[0], asyncio.CancelledError)
            row = await process_state(world, submitted["processid"])
            assert row["state"] == 0 and not row["isassigned"], (when, row)  # back in the queue, not orphaned
            taken = await world.ok("assignprocessmsg", {"colonyname": world.colonyname, "timeout": -1},
                                   second.prvkey)  # fmt: skip
            assert taken["processid"] == submitted["processid"]
            await world.ok("closesuccessfulmsg", {"processid": taken["processid"], "out": []}, second.prvkey)
            events.reserve = reserve  # type: ignore[method-assign]
        assert events.handoffs == 1  # the second was handed over, and its long-poll put it back

    in_world(tmp_path, scenario)


def test_the_hand_off_claims_by_priority_like_any_claim(tmp_path: Path) -> None:
    async def scenario(world: World) -> None:
        first, second = world.executors
        # A process committed without waking anyone, as another replica's submit is before its notice arrives.
        msg = SubmitFuncSpecMsg.model_validate({"msgtype": "submitfuncspecmsg", "spec": world.spec(priority=9)})
        row, attrs = new_process(msg.spec, second.id, second.name, time.time_ns())
        task = await world.parked(first)
        older = await world.state.storage.add_process(row, attrs)
        plain = await world.ok("submitfuncspecmsg", {"spec": world.spec(priority=0)}, second.prvkey)
        status, got = await task
        assert status == 200 and got["processid"] == older["processid"]  # the claim's order, not the newest
        assert world.state.events.handoffs == 0  # not counted: what it took was not the submitted process
        assert (await process_state(world, plain["processid"]))["state"] == 0  # still waiting for someone
        taken = await world.ok("assignprocessmsg", {"colonyname": world.colonyname, "timeout": -1}, second.prvkey)
        assert taken["processid"] == plain["processid"]

    in_world(tmp_path, scenario)

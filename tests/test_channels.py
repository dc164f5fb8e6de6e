"""Channels (v1.9): append-only message logs between a process's submitter and its executor, against a real
server on both backends: the wire shapes of the Go server and pycolonies, who may use a channel, the limits, the
/pubsub stream, entries surviving a restart and seen across replicas, cleanup, the SDK, the executor's ctx helpers
and the CLI."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import PG_URL, Colony, Identity, Server, create_colony, expect_error, fresh_database, start_server
from sched_helpers import wait_for
from websockets.sync.client import connect

from colonies import envelope
from colonies.aio import AsyncColonies
from colonies.client import Colonies
from colonies.exceptions import ColoniesError

CHAT = "chat"


# -- helpers ---------------------------------------------------------------------------------------------------


def running(colony: Colony, channels: list[str] | None = None, who: Identity | None = None) -> dict[str, Any]:
    """A RUNNING process with channels, submitted by the colony's user (or ``who``), assigned to its executor."""
    submitted = colony.submit(who or colony.user, channels=channels if channels is not None else [CHAT])
    assigned = colony.assign(colony.executor, timeout=-1)
    assert assigned["processid"] == submitted["processid"]
    return assigned


def append(colony: Colony, pid: str, payload: Any, who: Identity, name: str = CHAT, **extra: Any) -> Any:
    msg = {"processid": pid, "name": name, "sequence": extra.pop("sequence", 1), "payload": payload, **extra}
    return colony.call("channelappendmsg", msg, who)


def read(colony: Colony, pid: str, who: Identity, after: int = 0, limit: int = 0, name: str = CHAT) -> list[Any]:
    return list(colony.call("channelreadmsg", {"processid": pid, "name": name, "afterseq": after, "limit": limit},
                            who))  # fmt: skip


def text(entry: dict[str, Any]) -> str:
    return base64.b64decode(entry["payload"]).decode()


def subscribe_frames(server: Server, who: Identity, pid: str, after: int = 0, timeout: int = 10,
                     name: str = CHAT) -> Iterator[tuple[bool, Any]]:  # fmt: skip
    """Every frame of one subscribechannelmsg, as (is_error, payload), until [] or an error."""
    msg = {"processid": pid, "name": name, "afterseq": after, "timeout": timeout}
    with connect(server.url.replace("http", "ws") + "/pubsub") as ws:
        ws.send(envelope.build_request("subscribechannelmsg", msg, who.prvkey).decode())
        while True:
            is_error, payload = envelope.decode_reply(ws.recv(timeout=timeout + 30).encode())
            yield is_error, payload
            if is_error or payload == []:
                return


# -- the wire: shapes of the Go server -------------------------------------------------------------------------


def test_append_and_read_in_the_go_servers_shapes(colony: Colony) -> None:
    pid = running(colony)["processid"]
    # pycolonies and colonies.js send a list of byte values; the Go client sends base64 ([]byte)
    assert append(colony, pid, list(b"hello"), colony.user, sequence=1) == {}
    append(colony, pid, base64.b64encode(b"world").decode(), colony.executor, sequence=1, inreplyto=1)
    append(colony, pid, None, colony.executor, sequence=2, payloadtype="end")
    entries = read(colony, pid, colony.user)
    assert [text(e) for e in entries] == ["hello", "world", ""]
    first, second, last = entries
    assert list(first) == ["sequence", "timestamp", "senderid", "payload", "type"]  # inreplyto omitted when 0
    assert (first["senderid"], first["type"], first["sequence"]) == (colony.user.id, "data", 1)
    assert (second["senderid"], second["inreplyto"], second["type"]) == (colony.executor.id, 1, "data")
    assert (last["type"], last["sequence"]) == ("end", 2)
    assert first["timestamp"].endswith("Z") and first["timestamp"] <= second["timestamp"]


def test_read_pages_by_position_not_by_sequence(colony: Colony) -> None:
    pid = running(colony)["processid"]
    for i in range(5):
        append(colony, pid, list(f"m{i}".encode()), colony.executor, sequence=100 + i)
    assert [text(e) for e in read(colony, pid, colony.user, after=2)] == ["m2", "m3", "m4"]
    assert [text(e) for e in read(colony, pid, colony.user, after=1, limit=2)] == ["m1", "m2"]
    assert read(colony, pid, colony.user, after=5) == []
    assert [text(e) for e in read(colony, pid, colony.user, after=-3, limit=-1)] == ["m0", "m1", "m2", "m3", "m4"]


def test_entries_keep_arrival_order_and_the_senders_sequences(colony: Colony) -> None:
    """Sequences are the sender's own (kept as given, duplicates allowed); the log is in arrival order."""
    pid = running(colony)["processid"]
    for seq, who in ((7, colony.user), (3, colony.executor), (1, colony.user), (3, colony.executor)):
        append(colony, pid, [seq], who, sequence=seq)
    entries = read(colony, pid, colony.executor)
    assert [(e["sequence"], e["senderid"]) for e in entries] == [
        (7, colony.user.id), (3, colony.executor.id), (1, colony.user.id), (3, colony.executor.id)]


def test_a_waiting_process_accepts_its_submitters_entries(colony: Colony) -> None:
    """Channels exist from submission (the Go server creates them then): the submitter may write ahead."""
    submitted = colony.submit(colony.user, channels=[CHAT], conditions={"executortype": "nobody-runs-this"})
    append(colony, submitted["processid"], list(b"early"), colony.user)
    assert [text(e) for e in read(colony, submitted["processid"], colony.user)] == ["early"]


def test_undeclared_channels_and_unknown_processes_are_404(colony: Colony) -> None:
    pid = running(colony)["processid"]
    err = expect_error(404, append, colony, pid, [1], colony.user, name="other")
    assert "other" in err.message
    expect_error(404, read, colony, pid, colony.user, name="other")
    expect_error(404, append, colony, "0" * 64, [1], colony.user)
    expect_error(404, read, colony, "0" * 64, colony.user)


def test_only_the_submitter_and_the_assigned_executor_may_use_a_channel(colony: Colony) -> None:
    pid = running(colony)["processid"]
    another_user, executor2 = colony.add_user(), colony.add_executor()
    for who in (another_user, executor2, colony.owner):
        expect_error(403, append, colony, pid, [1], who)
        expect_error(403, read, colony, pid, who)
    other = create_colony(colony.server)
    expect_error(403, read, other, pid, other.user)


def test_after_the_process_ends_entries_stay_readable_but_no_more_are_taken(colony: Colony) -> None:
    pid = running(colony)["processid"]
    append(colony, pid, list(b"last words"), colony.executor)
    colony.close(pid, ["done"])
    err = expect_error(400, append, colony, pid, [1], colony.user)
    assert "ended" in err.message
    assert [text(e) for e in read(colony, pid, colony.user)] == ["last words"]
    assert [text(e) for e in read(colony, pid, colony.executor)] == ["last words"]


def test_bad_input_is_refused_with_400(colony: Colony) -> None:
    pid = running(colony)["processid"]
    expect_error(400, append, colony, pid, [256], colony.user)
    expect_error(400, append, colony, pid, [1.5], colony.user)
    expect_error(400, append, colony, pid, "not base64!", colony.user)
    err = expect_error(400, append, colony, pid, [1], colony.user, payloadtype="progress")
    assert "payloadtype" in err.message
    assert read(colony, pid, colony.user) == []


@pytest.mark.parametrize(("channels", "what"), [
    ([f"c{i}" for i in range(101)], "limit of 100"), (["a", "a"], "twice"), ([""], "printable"),
    (["bad\nname"], "printable"), (["x" * 257], "printable"),
])  # fmt: skip
def test_function_specs_declare_at_most_100_well_named_channels(colony: Colony, channels: list[str],
                                                                 what: str) -> None:  # fmt: skip
    err = expect_error(400, colony.submit, colony.user, channels=channels)
    assert what in err.message
    colony.submit(colony.user, channels=[f"c{i}" for i in range(100)], conditions={"executortype": "idle"})


# -- /pubsub ---------------------------------------------------------------------------------------------------


def test_subscription_sends_the_backlog_then_new_entries_then_ends_with_the_process(colony: Colony) -> None:
    pid = running(colony)["processid"]
    append(colony, pid, list(b"a"), colony.executor, sequence=1)
    append(colony, pid, list(b"b"), colony.executor, sequence=2)
    frames = subscribe_frames(colony.server, colony.user, pid, after=1, timeout=20)
    is_error, first = next(frames)
    assert not is_error and [text(e) for e in first] == ["b"]
    append(colony, pid, list(b"c"), colony.executor, sequence=3)
    is_error, second = next(frames)
    assert not is_error and [text(e) for e in second] == ["c"]
    started = time.monotonic()
    colony.close(pid)
    assert next(frames) == (False, [])  # the process ended: the stream is over, well before its timeout
    assert time.monotonic() - started < 10


def test_subscription_times_out_with_an_empty_frame(colony: Colony) -> None:
    pid = running(colony)["processid"]
    assert list(subscribe_frames(colony.server, colony.executor, pid, timeout=1)) == [(False, [])]


def test_subscription_to_an_ended_process_gets_everything_at_once(colony: Colony) -> None:
    pid = running(colony)["processid"]
    for i in range(3):
        append(colony, pid, [i], colony.executor, sequence=i)
    colony.close(pid)
    frames = list(subscribe_frames(colony.server, colony.user, pid, timeout=30))
    assert [[base64.b64decode(e["payload"]) for e in payload] for _, payload in frames] == [
        [b"\x00", b"\x01", b"\x02"], []]


def test_subscription_refusals_come_as_error_frames(colony: Colony) -> None:
    pid = running(colony)["processid"]
    outsider = colony.add_user()
    for who, name, status in ((outsider, CHAT, 403), (colony.user, "nope", 404)):
        frames = list(subscribe_frames(colony.server, who, pid, name=name))
        assert len(frames) == 1 and frames[0][0] is True and frames[0][1]["status"] == status
    frames = list(subscribe_frames(colony.server, colony.user, "0" * 64))
    assert frames[0][0] is True and frames[0][1]["status"] == 404


# -- limits ----------------------------------------------------------------------------------------------------

LIMITS = {"COLONIES_CHANNEL_MAX_PAYLOAD_BYTES": "1000", "COLONIES_CHANNEL_MAX_ENTRIES": "4",
          "COLONIES_CHANNEL_RATE": "0.5", "COLONIES_CHANNEL_BURST": "6"}  # fmt: skip


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory, backend: str) -> Iterator[Server]:
    srv = start_server(str(tmp_path_factory.mktemp("limited")), env=LIMITS, backend=backend)
    yield srv
    srv.stop()


def test_payload_size_limit(limited: Server) -> None:
    colony = create_colony(limited)
    pid = running(colony)["processid"]
    append(colony, pid, [7] * 1000, colony.user)
    err = expect_error(413, append, colony, pid, [7] * 1001, colony.user)
    assert "1001 bytes" in err.message and "1000" in err.message
    err = expect_error(413, append, colony, pid, base64.b64encode(b"x" * 1001).decode(), colony.user)
    assert [len(base64.b64decode(e["payload"])) for e in read(colony, pid, colony.user)] == [1000]


def test_entries_per_channel_limit(limited: Server) -> None:
    colony = create_colony(limited)
    pid = running(colony, channels=[CHAT, "other"])["processid"]
    for i in range(4):
        append(colony, pid, [i], colony.executor, sequence=i)
    err = expect_error(400, append, colony, pid, [9], colony.executor)
    assert "full" in err.message and "4 entries" in err.message
    append(colony, pid, [9], colony.executor, name="other")  # per channel
    assert len(read(colony, pid, colony.user)) == 4


def test_rate_limit_per_process(limited: Server) -> None:
    """A burst of 6 appends, then 0.5 a second: the 7th within the second is refused with 429, on any channel of
    the process; another process has its own bucket."""
    colony = create_colony(limited)
    pid = running(colony, channels=["a", "b", "c", "d"])["processid"]
    for i in range(6):
        append(colony, pid, [i], colony.user, name="abcd"[i % 4], sequence=i)
    err = expect_error(429, append, colony, pid, [6], colony.user, name="d")
    assert "Rate limit" in err.message
    other = running(colony)["processid"]
    append(colony, other, [1], colony.user)


def test_a_large_payload_in_both_encodings(server: Server, colony: Colony) -> None:
    """Channel appends may be larger than other messages (COLONIES_MAX_MESSAGE_BYTES): a 2 MiB payload as
    pycolonies sends it (a list of byte values, ~11 MiB of request) and as the Go client sends it (base64)."""
    pid = running(colony)["processid"]
    data = os.urandom(2 * 1024 * 1024)
    append(colony, pid, list(data), colony.user)
    append(colony, pid, base64.b64encode(data).decode(), colony.executor)
    entries = read(colony, pid, colony.user)
    assert [base64.b64decode(e["payload"]) for e in entries] == [data, data]


# -- durability, replicas, cleanup -----------------------------------------------------------------------------


def test_entries_survive_a_server_restart(tmp_path: Any, backend: str) -> None:
    srv = start_server(str(tmp_path), backend=backend)
    try:
        colony = create_colony(srv)
        pid = running(colony)["processid"]
        append(colony, pid, list(b"before"), colony.executor)
        srv.kill()  # kill -9: an answered append is on disk
        srv.restart()
        append(colony, pid, list(b"after"), colony.executor, sequence=2)
        assert [text(e) for e in read(colony, pid, colony.user)] == ["before", "after"]
    finally:
        srv.stop()


@pytest.mark.skipif(not PG_URL, reason="replicas need PostgreSQL (set COLONIES_TEST_PG_URL)")
def test_a_subscriber_on_one_replica_sees_entries_appended_through_another(tmp_path: Any) -> None:
    db = fresh_database("postgres", str(tmp_path))
    first = start_server(str(tmp_path), db=db)
    second = start_server(str(tmp_path), db=db, prvkey=first.prvkey)
    try:
        colony = create_colony(first)
        on_second = Colony(second, colony.name, colony.owner, colony.executor, colony.user, colony.executortype)
        pid = running(colony)["processid"]
        append(colony, pid, list(b"one"), colony.executor)
        frames = subscribe_frames(second, colony.user, pid, timeout=30)
        assert [text(e) for e in next(frames)[1]] == ["one"]  # stored through the first, read through the second
        sent = time.monotonic()
        append(colony, pid, list(b"two"), colony.executor, sequence=2)
        is_error, batch = next(frames)
        assert not is_error and [text(e) for e in batch] == ["two"]
        # woken by the first replica's notification, not by the subscription's 5 s re-read
        assert time.monotonic() - sent < 3
        on_second.close(pid)  # the process ends through the second: the stream ends
        assert next(frames) == (False, [])
        assert [text(e) for e in read(colony, pid, colony.user)] == ["one", "two"]
    finally:
        first.stop()
        second.stop()


def channel_rows(db: str) -> int:
    """Rows left in the channel tables (read straight from the database)."""
    queries = ["SELECT count(*) FROM channels", "SELECT count(*) FROM channel_entries",
               "SELECT count(*) FROM channel_rates"]  # fmt: skip
    if db.startswith("sqlite:///"):
        import sqlite3

        with sqlite3.connect(db.removeprefix("sqlite:///")) as conn:
            return sum(conn.execute(q).fetchone()[0] for q in queries)
    import psycopg

    with psycopg.connect(db) as conn:
        return sum(conn.execute(q).fetchone()[0] for q in queries)  # type: ignore[index]


def test_channels_go_with_their_process(tmp_path: Any, backend: str) -> None:
    srv = start_server(str(tmp_path), backend=backend)
    try:
        colony = create_colony(srv)

        def used() -> str:
            pid = running(colony)["processid"]
            append(colony, pid, [1], colony.executor)
            colony.close(pid)
            return str(pid)

        colony.call("removeprocessmsg", {"processid": used()}, colony.user)
        assert channel_rows(srv.db) == 0
        used()
        colony.call("removeallprocessesmsg", {"colonyname": colony.name, "state": -1}, colony.owner)
        assert channel_rows(srv.db) == 0
        spec = colony.spec(nodename="n", channels=[CHAT])
        colony.call("submitworkflowspecmsg", {"spec": {"colonyname": colony.name, "functionspecs": [spec]}},
                    colony.user)  # fmt: skip
        node = colony.assign(colony.executor)
        append(colony, node["processid"], [1], colony.executor)
        colony.close(node["processid"])
        colony.call("removeprocessgraphmsg", {"processgraphid": node["processgraphid"]}, colony.user)
        assert channel_rows(srv.db) == 0
        used()
        kept = create_colony(srv)
        kept_pid = running(kept)["processid"]
        append(kept, kept_pid, [2], kept.executor)
        srv.call("removecolonymsg", {"colonyname": colony.name}, srv.prvkey)
        assert channel_rows(srv.db) == 3  # only the other colony's channel, entry and bucket
        assert len(read(kept, kept_pid, kept.user)) == 1
    finally:
        srv.stop()


# -- the SDK ---------------------------------------------------------------------------------------------------


def test_sdk_calls_in_pycolonies_argument_order(server: Server, colony: Colony) -> None:
    pid = running(colony)["processid"]
    with Colonies("127.0.0.1", server.port, timeout=30) as sdk:
        # channel_append(processid, channel_name, sequence, payload, prvkey, in_reply_to=0, payload_type="")
        assert sdk.channel_append(pid, CHAT, 1, "question?", colony.user.prvkey) == {}
        sdk.channel_append(pid, CHAT, 1, b"answer", colony.executor.prvkey, 1)
        sdk.channel_append(pid, CHAT, 2, "", colony.executor.prvkey, payload_type="end")
        # channel_read(processid, channel_name, after_seq, limit, prvkey)
        entries = sdk.channel_read(pid, CHAT, 0, 0, colony.user.prvkey)
        assert [e["payload"] for e in entries] == [b"question?", b"answer", b""]  # always bytes (pycolonies: "")
        assert entries[1].inreplyto == 1 and entries[2]["type"] == "end"
        assert [e.payload for e in sdk.channel_read(pid, CHAT, 1, 1, colony.user.prvkey)] == [b"answer"]
        # subscribe_channel(processid, channel_name, prvkey, after_seq=0, timeout=30, callback=None)
        got = sdk.subscribe_channel(pid, CHAT, colony.user.prvkey, 1, 1)
        assert [e["payload"] for e in got or []] == [b"answer", b""]
        batches: list[list[Any]] = []
        stop_at_first = lambda batch: batches.append(batch) or False  # noqa: E731
        assert sdk.subscribe_channel(pid, CHAT, colony.user.prvkey, callback=stop_at_first) is None
        assert [e["payload"] for e in batches[0]] == [b"question?", b"answer", b""] and len(batches) == 1
        with pytest.raises(ColoniesError) as info:
            sdk.subscribe_channel(pid, CHAT, colony.add_user().prvkey, timeout=1)
        assert info.value.status == 403


def test_sdk_follow_channel_yields_everything_until_the_process_ends(server: Server, colony: Colony) -> None:
    pid = running(colony)["processid"]

    def produce() -> None:
        for i in range(5):
            append(colony, pid, list(f"t{i} ".encode()), colony.executor, sequence=i + 1)
            time.sleep(0.05)
        colony.close(pid)

    threading.Thread(target=produce, daemon=True).start()
    with Colonies("127.0.0.1", server.port, timeout=30) as sdk:
        got = [e["payload"] for e in sdk.follow_channel(pid, CHAT, colony.user.prvkey, timeout=2)]
    assert got == [b"t0 ", b"t1 ", b"t2 ", b"t3 ", b"t4 "]


def test_async_sdk(server: Server, colony: Colony) -> None:
    import asyncio

    pid = running(colony)["processid"]

    async def main() -> list[Any]:
        async with AsyncColonies("127.0.0.1", server.port, timeout=30) as sdk:
            await sdk.channel_append(pid, CHAT, 1, "hi", colony.user.prvkey)
            assert [e.payload for e in await sdk.channel_read(pid, CHAT, 0, 0, colony.executor.prvkey)] == [b"hi"]
            seen: list[Any] = []

            async def callback(batch: list[Any]) -> bool:
                seen.extend(batch)
                return False

            await sdk.subscribe_channel(pid, CHAT, colony.executor.prvkey, 0, 5, callback)
            seen += await sdk.subscribe_channel(pid, CHAT, colony.executor.prvkey, 1, 1) or []
            await asyncio.to_thread(colony.close, pid)
            return seen + [entry async for entry in sdk.follow_channel(pid, CHAT, colony.user.prvkey)]

    got = asyncio.run(main())
    assert [e["payload"] for e in got] == [b"hi", b"hi"]


def test_pycolonies_wire_format(server: Server, colony: Colony) -> None:
    """What pycolonies 1.0.25 sends, byte for byte in its style: json.dumps with its default separators, no
    content type, the payload as a list of byte values, and a websocket-client subscription it reads until []."""
    import requests
    from websocket import create_connection

    from colonies import crypto

    pid = running(colony)["processid"]

    def rpc(msg: dict[str, Any], key: str) -> Any:
        payload = base64.b64encode(json.dumps(msg).encode()).decode()
        body = json.dumps({"payloadtype": msg["msgtype"], "payload": payload, "signature": crypto.sign(payload, key)})
        reply = requests.post(f"http://127.0.0.1:{server.port}/api", data=body, timeout=30).json()
        assert reply["error"] is False, reply
        return json.loads(base64.b64decode(reply["payload"]))

    msg = {"msgtype": "channelappendmsg", "processid": pid, "name": CHAT, "sequence": 1, "inreplyto": 0,
           "payload": list("héllo".encode()), "payloadtype": ""}  # fmt: skip
    assert rpc(msg, colony.user.prvkey) == {}
    read_msg = {"msgtype": "channelreadmsg", "processid": pid, "name": CHAT, "afterseq": 0, "limit": 0}
    assert [base64.b64decode(e["payload"]).decode() for e in rpc(read_msg, colony.executor.prvkey)] == ["héllo"]
    sub = {"processid": pid, "name": CHAT, "afterseq": 0, "timeout": 1, "msgtype": "subscribechannelmsg"}
    payload = base64.b64encode(json.dumps(sub).encode()).decode()
    ws = create_connection(f"ws://127.0.0.1:{server.port}/pubsub", timeout=30)
    try:
        ws.send(json.dumps({"payloadtype": sub["msgtype"], "payload": payload,
                            "signature": crypto.sign(payload, colony.user.prvkey)}))  # fmt: skip
        frames = []
        while True:
            frame = json.loads(ws.recv())
            assert frame["error"] is False and frame["payloadtype"] == "subscribechannelmsg"
            frames.append(json.loads(base64.b64decode(frame["payload"])))
            if frames[-1] == []:
                break
    finally:
        ws.close()
    assert [[e["senderid"] for e in f] for f in frames] == [[colony.user.id], []]


# -- the executor's ctx helpers --------------------------------------------------------------------------------


def test_an_executor_function_streams_tokens_while_a_client_follows(server: Server, colony: Colony) -> None:
    """A plain function streams through ctx.channel_append and waits for the submitter's reply with
    ctx.channel_read(wait=...); an async one does the same with the _async twins; the client follows both."""
    from colonies.executor import Executor

    executor = Executor(host="127.0.0.1", port=server.port, colonyname=colony.name, prvkey=colony.executor.prvkey,
                        assign_timeout=2, backoff_cap=1.0)  # fmt: skip

    @executor.function("generate")
    def generate(prompt: str, ctx: Any = None) -> str:
        for token in prompt.split():
            ctx.channel_append(CHAT, token + " ")
        ctx.channel_append(CHAT, "", payload_type="end")
        reply = ctx.channel_read("input", wait=20)  # the submitter answers on another channel
        return reply[0]["payload"].decode() if reply else "no reply"

    @executor.function("agenerate")
    async def agenerate(prompt: str, ctx: Any = None) -> str:
        seqs = [await ctx.channel_append_async(CHAT, token) for token in prompt.split()]
        await ctx.channel_append_async(CHAT, "", payload_type="end", in_reply_to=seqs[-1])
        with pytest.raises(RuntimeError, match="_async"):
            ctx.channel_append(CHAT, "blocking call on the event loop")
        return str(len(await ctx.channel_read_async(CHAT)))

    executor.run_in_thread()
    try:
        assert executor.wait_ready(20)
        with Colonies("127.0.0.1", server.port, timeout=30) as sdk:
            spec = colony.spec(funcname="generate", args=["the quick brown fox"], kwargs={}, channels=[CHAT, "input"])
            pid = sdk.submit(spec, colony.user.prvkey).processid
            tokens: list[bytes] = []
            for entry in sdk.follow_channel(pid, CHAT, colony.user.prvkey, timeout=10):
                if entry["type"] == "end":
                    break
                tokens.append(entry["payload"])
            assert b"".join(tokens) == b"the quick brown fox "
            sdk.channel_append(pid, "input", 1, "thanks", colony.user.prvkey)
            done = sdk.wait(pid, 30, colony.user.prvkey)
            assert done.output == ["thanks"]
            assert {e["senderid"] for e in sdk.channel_read(pid, CHAT, 0, 0, colony.user.prvkey)} == {
                colony.executor.id}
            assert [e.sequence for e in sdk.channel_read(pid, CHAT, 0, 0, colony.user.prvkey)] == [1, 2, 3, 4, 5]

            spec = colony.spec(funcname="agenerate", args=["a b c"], kwargs={}, channels=[CHAT])
            pid = sdk.submit(spec, colony.user.prvkey).processid
            assert sdk.wait(pid, 30, colony.user.prvkey).output == ["4"]
            entries = sdk.channel_read(pid, CHAT, 0, 0, colony.user.prvkey)
            assert [(e["payload"], e["type"], e.get("inreplyto")) for e in entries] == [
                (b"a", "data", None), (b"b", "data", None), (b"c", "data", None), (b"", "end", 3)]
    finally:
        executor.stop()
        assert executor.join(20)


# -- the CLI ---------------------------------------------------------------------------------------------------


def cli(server: Server, colony: Colony, who: Identity, *args: str, input: str | None = None,
        ok: bool = True) -> subprocess.CompletedProcess[str]:  # fmt: skip
    base = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
    env = {**base, "COLONIES_SERVER_HOST": "127.0.0.1", "COLONIES_SERVER_PORT": str(server.port),
           "COLONIES_TLS": "false", "COLONIES_COLONY_NAME": colony.name, "COLONIES_PRVKEY": who.prvkey}  # fmt: skip
    proc = subprocess.run([sys.executable, "-m", "colonies", *args], env=env, input=input, text=True,
                          errors="surrogateescape", capture_output=True, timeout=60, check=False)  # fmt: skip
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_cli_append_read_and_follow(server: Server, colony: Colony) -> None:
    pid = running(colony)["processid"]
    cli(server, colony, colony.user, "channel", "append", "-p", pid, "-c", CHAT, "-m", "hello ")
    cli(server, colony, colony.executor, "channel", "append", "-p", pid, "-c", CHAT, "-f", "-", input="world\n")
    out = cli(server, colony, colony.user, "channel", "append", "-p", pid, "-c", CHAT, "-m", "again", "--json")
    assert json.loads(out.stdout)["sequence"] == 2  # the user's own next sequence
    rows = json.loads(cli(server, colony, colony.user, "channel", "read", "-p", pid, "-c", CHAT, "--json").stdout)
    assert [(r["payload"], r["sequence"], r["type"]) for r in rows] == [("hello ", 1, "data"), ("world\n", 1, "data"),
                                                                        ("again", 2, "data")]
    table = cli(server, colony, colony.user, "channel", "read", "-p", pid, "-c", CHAT).stdout
    assert "submitter" in table and "executor" in table and "world" in table

    follower = subprocess.Popen(
        [sys.executable, "-m", "colonies", "channel", "follow", "-p", pid, "-c", CHAT, "--after", "3", "--json"],
        env={**os.environ, "COLONIES_SERVER_HOST": "127.0.0.1", "COLONIES_SERVER_PORT": str(server.port),
             "COLONIES_TLS": "false", "COLONIES_COLONY_NAME": colony.name, "COLONIES_PRVKEY": colony.user.prvkey},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        time.sleep(0.5)
        append(colony, pid, list(b"\xff\x00"), colony.executor, sequence=2)
        append(colony, pid, list(b"bye"), colony.executor, sequence=3, payloadtype="end")
        colony.close(pid)
        stdout, stderr = follower.communicate(timeout=60)
    finally:
        follower.kill()
    assert follower.returncode == 0, stderr
    lines = [json.loads(ln) for ln in stdout.splitlines()]
    assert [(ln["payload"], ln.get("encoding"), ln["type"]) for ln in lines] == [
        ("/wA=", "base64", "data"), ("bye", None, "end")]
    plain_out = cli(server, colony, colony.user, "channel", "follow", "-p", pid, "-c", CHAT).stdout
    assert plain_out == "hello world\nagain\udcff\x00bye"  # payloads as they are, bytes included
    err = cli(server, colony, colony.add_user(), "channel", "read", "-p", pid, "-c", CHAT, ok=False)
    assert err.returncode == 1 and err.stderr.startswith("Error: Not authorized")


def test_the_channels_page_runs_as_written(tmp_path: Any) -> None:
    """docs/channels.md, every block in order against the `colonies dev` it starts (see test_docs.py)."""
    from test_docs import run_page

    text = run_page("channels.md", tmp_path, timeout=120)
    assert "You said: hello channels" in text
    assert "1 5 characters" in text and "3 3 characters" in text


def test_following_goes_on_across_a_server_restart(tmp_path: Any, backend: str) -> None:
    srv = start_server(str(tmp_path), backend=backend)
    try:
        colony = create_colony(srv)
        pid = running(colony)["processid"]
        append(colony, pid, list(b"a"), colony.executor, sequence=1)
        got: list[bytes] = []
        failed: list[BaseException] = []

        def follow() -> None:
            try:
                with Colonies("127.0.0.1", srv.port, timeout=10) as sdk:
                    got.extend(e["payload"] for e in sdk.follow_channel(pid, CHAT, colony.user.prvkey, timeout=5))
            except BaseException as exc:  # noqa: BLE001 - reported below
                failed.append(exc)

        follower = threading.Thread(target=follow, daemon=True)
        follower.start()
        wait_for(lambda: list(got), lambda g: g == [b"a"], 15, what="the first entry")
        srv.kill()
        srv.restart()
        append(colony, pid, list(b"b"), colony.executor, sequence=2)
        colony.close(pid)
        follower.join(60)
        assert not failed and not follower.is_alive()
        assert got == [b"a", b"b"]
    finally:
        srv.stop()

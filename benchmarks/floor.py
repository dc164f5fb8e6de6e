"""The floor: a bare server that does only the work a submit needs, to see how far ours is from it.

Issue 17 asks for a server "close to what the work itself costs: HTTP parse, one signature recovery, one JSON decode,
one transaction, one reply". This script is that and nothing else, on the same libraries our server uses (uvloop,
httptools, orjson, coincurve through ``colonies.crypto``, SQLite in WAL mode): no validation, no authorisation
(beyond recovering the signer), no replay protection, no events, no metrics. Every write message is answered with a
reply of the same shape as ours, so ``bench.py`` drives it unchanged::

    .venv/bin/python benchmarks/floor.py --port 50090 &
    .venv/bin/python benchmarks/bench.py --host 127.0.0.1 --port 50090 --server-prvkey <any> \\
        --server-pid $! --only submit

A submit inserts one row into a table with the queue index the assign path would need, in a batch of the submits
that arrived in one turn of the loop, committed with one fsync, before the replies go out. Not a server to use.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import sqlite3
import tempfile
import time
from typing import Any

import httptools
import orjson
import uvloop

from colonies import crypto, envelope

SCHEMA = """
CREATE TABLE IF NOT EXISTS processes (
    processid TEXT PRIMARY KEY, colonyname TEXT NOT NULL, executortype TEXT NOT NULL, state INTEGER NOT NULL,
    priority INTEGER NOT NULL, submissiontime INTEGER NOT NULL, spec TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS processes_queue ON processes (colonyname, executortype, state, priority DESC);
"""
HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"


class Store:
    """One connection; the inserts queued in one turn of the loop commit together (``synchronous=FULL``)."""

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = FULL")
        self.conn.executescript(SCHEMA)
        self.pending: list[tuple[dict[str, Any], asyncio.Future[None]]] = []

    async def insert(self, row: dict[str, Any]) -> None:
        fut = asyncio.get_running_loop().create_future()
        if not self.pending:
            asyncio.get_running_loop().call_soon(self.flush)
        self.pending.append((row, fut))
        await fut

    def flush(self) -> None:
        batch, self.pending = self.pending, []
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.executemany(
            "INSERT INTO processes VALUES (:processid, :colonyname, :executortype, :state, :priority, "
            ":submissiontime, :spec)",
            [row for row, _fut in batch],
        )
        self.conn.execute("COMMIT")
        for _row, fut in batch:
            fut.set_result(None)


async def handle(store: Store, body: bytes) -> bytes:
    env = orjson.loads(body)
    if env["signature"]:  # the SDK's first message, getserverinfomsg, is unsigned
        crypto.recover_id(env["payload"], env["signature"])
    msg = orjson.loads(base64.b64decode(env["payload"]))
    payloadtype = env["payloadtype"]
    if payloadtype != "submitfuncspecmsg":
        return envelope.reply(payloadtype, {})
    spec = msg["spec"]
    process = {
        "processid": os.urandom(32).hex(), "colonyname": spec["conditions"]["colonyname"],
        "executortype": spec["conditions"].get("executortype", ""), "state": 0, "priority": spec.get("priority", 0),
        "submissiontime": time.time_ns(), "spec": orjson.dumps(spec).decode(),
    }  # fmt: skip
    await store.insert(process)
    return envelope.reply(payloadtype, {**process, "spec": spec, "isassigned": False, "retries": 0, "errors": []})


class Protocol(asyncio.Protocol):
    def __init__(self, store: Store) -> None:
        self.store = store
        self.parser = httptools.HttpRequestParser(self)
        self.body: list[bytes] = []
        self.transport: Any = None
        self.tail: asyncio.Future[None] | None = None  # replies go out in request order

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self.transport.close()

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        body, self.body = b"".join(self.body), []
        self.tail = asyncio.ensure_future(self.answer(body, self.tail))

    async def answer(self, body: bytes, before: asyncio.Future[None] | None) -> None:
        try:
            reply = await handle(self.store, body)
        except Exception as exc:  # noqa: BLE001 - a bad request is answered, never left hanging
            reply = envelope.error_reply(400, f"floor server: {exc!r}")
        if before is not None:
            await before
        if not self.transport.is_closing():
            self.transport.write(HEAD % len(reply) + reply)


async def serve(port: int, path: str) -> None:
    store = Store(path)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Protocol(store), "127.0.0.1", port)
    print(f"floor server on 127.0.0.1:{port}, database {path}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, default=50090)
    p.add_argument("--db", default="", help="SQLite file (default: a fresh one in a temp dir)")
    opts = p.parse_args()
    uvloop.run(serve(opts.port, opts.db or os.path.join(tempfile.mkdtemp(prefix="colonies-floor-"), "floor.db")))


if __name__ == "__main__":
    main()

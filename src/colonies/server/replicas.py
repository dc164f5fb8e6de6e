"""The replica set: every server process on a database keeps a row there fresh (every ``HEARTBEAT`` seconds, and
at once when it becomes or stops being the leader), so ``getclustermsg`` on any replica describes them all. The Go
server answers with its etcd membership; here the database is the one thing the replicas share."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from typing import Any

from .context import ServerState

log = logging.getLogger(__name__)

#: Seconds between two refreshes of a replica's row.
HEARTBEAT = 5.0
#: A replica whose row is older than this is gone (killed, or cut off from the database).
LIVE_NS = int(3 * HEARTBEAT * 1e9)
#: Rows of replicas gone this long are deleted.
FORGET_NS = 3600 * 1_000_000_000

Row = dict[str, Any]


def this_replica(host: str, port: int) -> Row:
    """This process's row: a random id, and the address clients reach it at (a wildcard bind → the host name)."""
    if host in ("", "0.0.0.0", "::"):
        host = socket.gethostname()
    return {"replicaid": os.urandom(16).hex(), "name": f"{host}:{port}", "host": host, "apiport": port,
            "started": time.time_ns()}  # fmt: skip


def node(row: Row | None) -> Row:
    """A replica as the Go server's ``Node``; it has no etcd, peer or relay ports (0). No row: Go's zero Node."""
    if row is None:
        return {"name": "", "host": "", "port": 0, "peerport": 0, "relayport": 0, "apiport": 0}
    return {"name": row["name"], "host": row["host"], "port": 0, "peerport": 0, "relayport": 0,
            "apiport": row["apiport"]}  # fmt: skip


async def cluster(state: ServerState) -> Row:
    """``{"nodes", "leader"}``: the live replicas, oldest first, and the one that last said it leads."""
    now = time.time_ns()
    rows = await state.storage.get_replicas(now - LIVE_NS)
    leaders = sorted((r for r in rows if r["leader"]), key=lambda r: r["heartbeat"], reverse=True)
    return {"nodes": [node(r) for r in rows], "leader": node(leaders[0] if leaders else None)}


async def replica_loop(state: ServerState) -> None:
    me = this_replica(state.settings.host, state.settings.port)
    beaten, was_leader = 0.0, None
    try:
        while True:
            if state.leader != was_leader or time.monotonic() - beaten >= HEARTBEAT:
                try:
                    now, leader = time.time_ns(), state.leader
                    await state.storage.beat_replica(me, now, leader, now - FORGET_NS)
                    # what was written, not state.leader now: the timeout loop may have changed it meanwhile, and
                    # that change must be written at the next turn, not a heartbeat (5 s) later
                    beaten, was_leader = time.monotonic(), leader
                    if any(r["replicaid"] != me["replicaid"] for r in await state.storage.get_replicas(now - LIVE_NS)):
                        state.storage.saw_peers()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("replica heartbeat failed")
            await asyncio.sleep(0.25)
    finally:
        try:  # a clean stop leaves the set at once (a killed replica drops out after LIVE_NS)
            await asyncio.shield(state.storage.remove_replica(me["replicaid"]))
        except Exception as exc:  # noqa: BLE001 - the database may be gone already
            log.debug("could not leave the replica set: %s", exc)

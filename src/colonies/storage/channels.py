"""Channels (v1.9): append-only message logs of a process, between its submitter and its assigned executor.

Unlike the Go server (one server's memory, gone when the process closes) the log is in the database: every
replica sees it, it survives a restart, and it stays readable after the process ends until the process is removed.
Who may use a channel, and whether it exists, is decided here inside the job that reads or writes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..exceptions import BadRequest, ColoniesError, Forbidden, NotFound, approved_member
from ..types import ProcessState
from .base import Row, Tx
from .core import CANCELLED, FAILED, SUCCESS, StoreBase, loads
from .shared import find_member

ENDED = frozenset({SUCCESS, FAILED, CANCELLED})
#: A read returns at most this many entries whatever its limit (one page; read on from the last one).
MAX_READ_ENTRIES = 100_000


@dataclass(frozen=True, slots=True)
class ChannelLimits:
    """The Go server's limits (settings.py): entries per channel, appends per second per process and burst."""

    max_entries: int
    rate: float
    burst: int


class RateLimited(ColoniesError):
    """Too many appends for one process (429); the sender should slow down and retry."""

    status = 429


def declared(process: Row) -> list[str]:
    """The channel names the process's spec declares (the spec is stored without ``channels`` when empty)."""
    return list(loads(process["spec"]).get("channels") or [])


def check_access(tx: Tx, process: Row | None, processid: str, name: str, caller: str, action: str) -> Row:
    """The process if ``caller`` may ``action`` its channel ``name``: an approved member of its colony that is
    its submitter or its assigned executor, and the channel declared in its spec."""
    if process is None:
        raise NotFound(f"Process with id {processid} does not exist")
    approved_member(find_member(tx, process["colonyname"], caller), process["colonyname"])
    if name not in declared(process):
        raise NotFound(f"Channel {name!r} not found: process {processid} declares no such channel")
    if caller != process["initiatorid"] and not (process["isassigned"] and caller == process["assignedexecutorid"]):
        raise Forbidden(f"Not authorized to {action} channel {name!r}: only the process's submitter and its "
                        "assigned executor may")  # fmt: skip
    return process


class ChannelStore(StoreBase):
    """The channels operations of the store."""

    async def append_channel_entry(self, processid: str, name: str, caller: str, entry: Row,
                                   limits: ChannelLimits, now: int) -> None:  # fmt: skip
        """Add ``entry`` (sequence, inreplyto, type, payload) at the end of the channel's log. Refused when the
        process has ended, the process appends faster than the limits allow (429), or the log is full."""
        await self._write(_append, processid, name, caller, entry, limits, now)

    async def read_channel(
        self, processid: str, name: str, caller: str, after: int, limit: int, budget: int
    ) -> tuple[Row, list[Row]]:
        """(the process, entries ``after``+1 … ): at most ``limit`` (0: no count limit) and, past the first,
        no more payload bytes than ``budget``. The process is read first, so a process seen ended has every
        entry it will ever have in the log."""
        return await self.driver.read(_read, processid, name, caller, after, limit, budget)


def _append(tx: Tx, processid: str, name: str, caller: str, entry: Row, limits: ChannelLimits, now: int) -> None:
    # The process row lock orders appends (positions, the rate bucket) and closes across replicas.
    process = check_access(tx, tx.one("lock_process", processid=processid), processid, name, caller, "write to")
    if process["state"] in ENDED:
        state = ProcessState(process["state"]).name
        raise BadRequest(f"Process {processid} has ended ({state}): its channels take no more entries")
    _take_token(tx, process, limits, now)
    channel = tx.one("get_channel", processid=processid, name=name)
    if channel is None:
        tx.run("add_channel", processid=processid, name=name)
        count = 0
    else:
        count = channel["entries"]
    if count >= limits.max_entries:
        raise BadRequest(f"Channel {name!r} is full: it holds the maximum of {limits.max_entries} entries")
    tx.run("add_channel_entry", processid=processid, name=name, pos=count + 1, timestamp=now, senderid=caller,
           size=len(entry["payload"]), **entry)  # fmt: skip
    tx.run("set_channel_entries", processid=processid, name=name, entries=count + 1)


def _take_token(tx: Tx, process: Row, limits: ChannelLimits, now: int) -> None:
    """Token bucket per process: ``burst`` appends at once, then ``rate`` a second (clocks of replicas may differ
    a little: time never runs backwards for the bucket)."""
    bucket = tx.one("get_channel_rate", processid=process["processid"])
    if bucket is None:
        tokens = float(limits.burst)
    else:
        elapsed = max(0, now - bucket["refilled"]) / 1e9
        tokens = min(float(limits.burst), bucket["tokens"] + elapsed * limits.rate)
    if tokens < 1.0:
        raise RateLimited(f"Rate limit exceeded: process {process['processid']} may append {limits.rate:g} "
                          f"channel messages a second (bursts of {limits.burst}); slow down and retry")  # fmt: skip
    if bucket is None:
        tx.run("add_channel_rate", processid=process["processid"], colonyname=process["colonyname"],
               tokens=tokens - 1, now=now)  # fmt: skip
    else:
        refilled = max(now, bucket["refilled"])
        tx.run("set_channel_rate", processid=process["processid"], tokens=tokens - 1, now=refilled)


def _read(
    tx: Tx, processid: str, name: str, caller: str, after: int, limit: int, budget: int
) -> tuple[Row, list[Row]]:
    process = check_access(tx, tx.one("get_process", processid=processid), processid, name, caller, "read from")
    count = min(limit, MAX_READ_ENTRIES) if limit > 0 else MAX_READ_ENTRIES
    last, total = None, 0
    for row in tx.all("get_channel_sizes", processid=processid, name=name, after=max(after, 0), limit=count):
        if last is not None and total + row["size"] > budget:
            break
        last, total = row["pos"], total + row["size"]
    if last is None:
        return process, []
    return process, tx.all("get_channel_entries", processid=processid, name=name, after=max(after, 0), last=last)


def remove_channels(tx: Tx, processid: str) -> None:
    """Forget the channels of a removed process."""
    for query in ("remove_process_channel_entries", "remove_process_channels", "remove_process_channel_rate"):
        tx.run(query, processid=processid)


def remove_orphan_channels(tx: Tx, colonyname: str) -> None:
    """Forget the channels of every process of the colony that is gone (removed with a graph, a removeall or the
    colony itself)."""
    for row in tx.all("get_orphan_channel_processes", colonyname=colonyname):
        remove_channels(tx, row["processid"])

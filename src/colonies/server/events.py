"""In-process event bus: wakes assign long-polls and feeds /pubsub subscriptions.

Delivery rules (protocol §1.6): a subscription to one process gets every matching event; a wake-up for waiting
work goes to exactly **one** eligible long-poll (no thundering herd). The colony is part of every key, so a process
of colony A never wakes an executor of colony B.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from ..storage.processes import Claim

Row = dict[str, Any]


FINAL_STATES = frozenset({2, 3, 4})


def reached(wanted: int, state: int) -> bool:
    """A subscription to a final state also ends when the process ends in another final state: a process that
    failed will never succeed, so its waiter should not sit out its whole timeout (the Go server lets it)."""
    return state == wanted or (state in FINAL_STATES and wanted in FINAL_STATES)


class Waiter:
    """An executor blocked in assign; ``event`` is set when a matching process may be available.

    A submit that finds a parked waiter for its process claims for it in the submit's own transaction (the
    hand-off): ``offer`` is then a future the waiter awaits instead of claiming again, resolved with the claimed
    row (or None: the waiter claims as usual). ``claim`` is what that claim needs (and what the waiter is: the
    fields below are read from it, for ``accepts``); ``gone`` tells the submit that the waiter left meanwhile (its
    caller hung up), so what was claimed for it goes back to the queue."""

    __slots__ = ("colonyname", "executortype", "executorname", "locationname", "cpu", "mem", "event", "woken_for",
                 "claim", "parked", "offer", "gone")  # fmt: skip

    def __init__(self, claim: Claim) -> None:
        executor = claim.executor
        self.colonyname = claim.colonyname
        self.executortype: str = executor["executortype"]
        self.executorname: str = executor["name"]
        self.locationname = (executor.get("locationname") or "").lower()
        self.cpu = claim.cpu
        self.mem = claim.mem
        self.event = asyncio.Event()
        #: Processes this waiter was woken for; handed on if it ends up taking something else.
        self.woken_for: list[Row] = []
        self.claim = claim
        self.parked = False
        self.offer: asyncio.Future[Row | None] | None = None
        self.gone = False

    def give(self, row: Row | None) -> bool:
        """Resolve the hand-off; False if the waiter left first (``row`` is then the caller's to put back)."""
        offer, self.offer = self.offer, None
        if self.gone or offer is None or offer.done():
            return row is None
        offer.set_result(row)
        return True

    def take_wakeups(self) -> list[Row]:
        rows, self.woken_for = self.woken_for, []
        return rows

    def accepts(self, row: Row) -> bool:
        names = row["executornames"]
        if names not in ("[]", '["*"]') and self.executorname not in orjson.loads(names):
            return False
        location = row["locationname"]
        if location and location.lower() != self.locationname:
            return False
        return row["cpu"] <= self.cpu and row["mem"] <= self.mem


class Subscription:
    """A /pubsub subscription: events are queued for the WebSocket task."""

    __slots__ = ("colonyname", "processid", "executortype", "state", "queue")

    def __init__(self, colonyname: str, processid: str, executortype: str, state: int) -> None:
        self.colonyname = colonyname
        self.processid = processid
        self.executortype = executortype
        self.state = state
        self.queue: asyncio.Queue[Row] = asyncio.Queue(maxsize=100)

    def deliver(self, row: Row) -> None:
        if not self.queue.full():
            self.queue.put_nowait(row)


class ColonySubscription(Subscription):
    """A dashboard's view of a colony: every process event of the colony, not one per event round robin.

    Events are small (state, ids); the page re-reads what it shows. When the page falls behind, the oldest
    events are dropped and ``overflowed`` tells it to re-read everything rather than show a wrong state."""

    __slots__ = ("overflowed",)

    def __init__(self, colonyname: str) -> None:
        super().__init__(colonyname, "", "", -1)
        self.queue = asyncio.Queue(maxsize=1000)
        self.overflowed = False

    def deliver(self, row: Row) -> None:
        if self.queue.full():
            self.overflowed = True
            return
        self.queue.put_nowait(row)


class ChannelWatch:
    """A /pubsub channel subscription: ``event`` is set when its channel may have new entries, or its process
    ended (it then reads the log again: entries live in the database, not in the event)."""

    __slots__ = ("processid", "name", "event")

    def __init__(self, processid: str, name: str) -> None:
        self.processid = processid
        self.name = name
        self.event = asyncio.Event()


#: What crosses between replicas: enough of a process to route the event (subscribers re-read the process).
SUMMARY_KEYS = ("processid", "colonyname", "executortype", "state", "waitforparents", "isassigned", "executornames",
                "locationname", "cpu", "mem", "processgraphid")  # fmt: skip


def summary(row: Row) -> Row:
    return {key: row[key] for key in SUMMARY_KEYS}


class EventBus:
    """Routes process events to local long-polls and subscriptions; ``relay`` (if set) forwards them to the other
    server replicas, whose buses receive them through ``deliver_remote``."""

    def __init__(self, relay: Callable[[list[Row]], None] | None = None) -> None:
        self.relay = relay
        self._waiters: dict[tuple[str, str], list[Waiter]] = {}
        self._by_process: dict[str, list[Subscription]] = {}
        self._by_type: dict[tuple[str, str, int], list[Subscription]] = {}
        self._by_colony: dict[str, list[Subscription]] = {}
        self._channels: dict[str, list[ChannelWatch]] = {}
        #: Processes claimed for a parked long-poll by the transaction that submitted them (a metric).
        self.handoffs = 0

    # -- assign long-polls -------------------------------------------------------------------------------------

    def add_waiter(self, waiter: Waiter) -> None:
        self._waiters.setdefault((waiter.colonyname, waiter.executortype), []).append(waiter)

    def remove_waiter(self, waiter: Waiter) -> None:
        key = (waiter.colonyname, waiter.executortype)
        waiters = self._waiters.get(key)
        if waiters and waiter in waiters:
            waiters.remove(waiter)
            if not waiters:
                del self._waiters[key]

    def reserve(self, row: Row) -> Waiter | None:
        """A parked long-poll that would take ``row`` (the next in round-robin order), now waiting on its
        ``offer`` instead of the queue; None when every eligible waiter is busy or none can take it."""
        waiters = self._waiters.get((row["colonyname"], row["executortype"]))
        if not waiters:
            return None
        for i, waiter in enumerate(waiters):
            if waiter.parked and waiter.offer is None and not waiter.event.is_set() and waiter.accepts(row):
                waiters.append(waiters.pop(i))
                waiter.offer = asyncio.get_running_loop().create_future()
                waiter.event.set()
                return waiter
        return None

    def waiting_count(self) -> int:
        return sum(len(w) for w in self._waiters.values())

    def _wake_one(self, row: Row) -> None:
        waiters = self._waiters.get((row["colonyname"], row["executortype"]))
        if not waiters:
            return
        for i, waiter in enumerate(waiters):
            if waiter.accepts(row) and not waiter.event.is_set():
                # Round robin: the chosen waiter goes to the back of the line.
                waiters.append(waiters.pop(i))
                waiter.woken_for.append(row)
                waiter.event.set()
                return
        # Every eligible waiter is already about to re-check the queue; waking more would be a herd.

    def pass_on(self, rows: Iterable[Row]) -> None:
        """Wake-ups a waiter received but did not use (it took other work): give them to someone else."""
        for row in rows:
            self._wake_one(row)

    # -- subscriptions -------------------------------------------------------------------------------------------

    def subscribe(self, sub: Subscription) -> None:
        if isinstance(sub, ColonySubscription):
            self._by_colony.setdefault(sub.colonyname, []).append(sub)
        elif sub.processid:
            self._by_process.setdefault(sub.processid, []).append(sub)
        else:
            self._by_type.setdefault((sub.colonyname, sub.executortype, sub.state), []).append(sub)

    def unsubscribe(self, sub: Subscription) -> None:
        if isinstance(sub, ColonySubscription):
            key: Any = sub.colonyname
            bucket = self._by_colony.get(key)
            table: dict[Any, list[Subscription]] = self._by_colony
        elif sub.processid:
            bucket = self._by_process.get(sub.processid)
            key = sub.processid
            table = self._by_process
        else:
            key = (sub.colonyname, sub.executortype, sub.state)
            bucket = self._by_type.get(key)
            table = self._by_type
        if bucket and sub in bucket:
            bucket.remove(sub)
            if not bucket:
                del table[key]

    def watch_channel(self, watch: ChannelWatch) -> None:
        self._channels.setdefault(watch.processid, []).append(watch)

    def unwatch_channel(self, watch: ChannelWatch) -> None:
        watches = self._channels.get(watch.processid)
        if watches and watch in watches:
            watches.remove(watch)
            if not watches:
                del self._channels[watch.processid]

    # -- publishing ----------------------------------------------------------------------------------------------

    def publish(self, rows: Iterable[Row | None]) -> None:
        """Announce processes whose state changed (call after the change is committed)."""
        present = [row for row in rows if row is not None]
        if not present:
            return
        self.deliver_remote(present)
        if self.relay is not None:
            self.relay([summary(row) for row in present])

    def publish_handed(self, submitted: Row, claimed: Row) -> None:
        """A process claimed in the transaction that submitted it: subscribers see it waiting, then running, as
        for any other process, but no long-poll is woken for the waiting state it already left."""
        self.handoffs += 1
        self.deliver_remote([submitted], wake=False)
        self.deliver_remote([claimed])
        if self.relay is not None:  # other replicas re-read the process; marked assigned, it wakes none of theirs
            self.relay([{**summary(submitted), "isassigned": 1}, summary(claimed)])

    def publish_log(self, colonyname: str, processid: str) -> None:
        """A process got a log line: only a colony's live views care (a process page follows its log)."""
        if self._by_colony.get(colonyname) or self.relay is not None:
            self.deliver_remote([{"kind": "log", "colonyname": colonyname, "processid": processid}])
            if self.relay is not None:
                self.relay([{"kind": "log", "colonyname": colonyname, "processid": processid}])

    def publish_resume(self, colonyname: str) -> None:
        """A colony's assignments were resumed: every long-poll of the colony, here and on the other replicas,
        looks at the queue again (the paused ones were told nothing while paused)."""
        event = {"kind": "resume", "colonyname": colonyname}
        self.deliver_remote([event])
        if self.relay is not None:
            self.relay([event])

    def publish_channel(self, processid: str, name: str) -> None:
        """A channel got an entry (committed): wake its subscriptions here and on the other replicas."""
        event = {"kind": "channel", "processid": processid, "name": name}
        self.deliver_remote([event])
        if self.relay is not None:
            self.relay([event])

    def deliver_remote(self, rows: Iterable[Row], wake: bool = True) -> None:
        """Deliver events to this replica's listeners only (``wake``: and wake a long-poll for waiting work)."""
        for row in rows:
            if row.get("kind") == "resume":
                for (colonyname, _type), waiters in self._waiters.items():
                    if colonyname == row["colonyname"]:
                        for waiter in waiters:
                            waiter.event.set()
                continue
            watches = self._channels.get(row["processid"])
            if watches and (row.get("kind") == "channel" or row.get("state") in FINAL_STATES):
                for watch in watches:  # a new entry, or the process ended: its channel subscriptions re-read
                    if row.get("kind") != "channel" or watch.name == row["name"]:
                        watch.event.set()
            if row.get("kind") == "channel":
                continue
            if row.get("kind") == "log":
                for sub in self._by_colony.get(row["colonyname"], ()):
                    sub.deliver(row)
                continue
            state = row["state"]
            for sub in self._by_process.get(row["processid"], ()):
                if reached(sub.state, state):
                    sub.deliver(row)
            subs = self._by_type.get((row["colonyname"], row["executortype"], state))
            if subs:
                # One subscriber per event, round robin (the Go server's anti-thundering-herd rule).
                sub = subs.pop(0)
                subs.append(sub)
                sub.deliver(row)
            for sub in self._by_colony.get(row["colonyname"], ()):
                sub.deliver(row)
            if wake and state == 0 and not row["waitforparents"] and not row["isassigned"]:
                self._wake_one(row)

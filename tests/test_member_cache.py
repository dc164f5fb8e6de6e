"""The server caches who is a member of a colony (issue 17: one read saved per request), and a change of
membership is seen by the next request: on this server at once, on another replica of a PostgreSQL database as
soon as the change's NOTIFY arrives (and never later than the cache's lifetime, should it be lost)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import PG_URL, Colony, Server, create_colony, expect_error, fresh_database, new_identity, start_server

from colonies.exceptions import ColoniesError


def warm(colony: Colony, who: Any) -> None:
    """A few requests as ``who``: its membership is now in the cache."""
    for _ in range(3):
        colony.submit(who=who)


@pytest.mark.parametrize("how", ["removeexecutormsg", "rejectexecutormsg"])
def test_an_executor_taken_away_is_refused_by_its_next_request(colony: Colony, how: str) -> None:
    doomed = colony.add_executor()
    warm(colony, doomed)
    colony.call(how, {"colonyname": colony.name, "executorname": doomed.name}, colony.owner)
    expect_error(403, colony.submit, who=doomed)


def test_a_removed_user_is_refused_by_its_next_request(colony: Colony) -> None:
    doomed = colony.add_user()
    warm(colony, doomed)
    colony.call("removeusermsg", {"colonyname": colony.name, "name": doomed.name}, colony.owner)
    expect_error(403, colony.submit, who=doomed)


def test_a_rotated_key_stops_working_at_once(colony: Colony) -> None:
    old = colony.add_executor()
    warm(colony, old)
    new = new_identity(old.name)
    colony.call("changeexecutoridmsg", {"colonyname": colony.name, "executorid": new.id}, old)
    expect_error(403, colony.submit, who=old)
    colony.submit(who=new)


def test_a_removed_colony_refuses_its_cached_members(server: Server) -> None:
    colony = create_colony(server)
    warm(colony, colony.executor)
    colony.call("removecolonymsg", {"colonyname": colony.name}, server.prvkey)
    with pytest.raises(ColoniesError) as info:
        colony.submit()
    assert info.value.status in (403, 404)


def test_a_pending_executor_is_served_as_soon_as_it_is_approved(colony: Colony) -> None:
    pending = colony.add_executor(approve=False)
    expect_error(403, colony.submit, who=pending)  # refused, and not cached as a refusal either
    colony.call("approveexecutormsg", {"colonyname": colony.name, "executorname": pending.name}, colony.owner)
    colony.submit(who=pending)


@pytest.fixture
def two_replicas(tmp_path: Any) -> Iterator[list[Server]]:
    if not PG_URL:
        pytest.skip("replicas need PostgreSQL (set COLONIES_TEST_PG_URL)")
    db = fresh_database("postgres", str(tmp_path))
    first = start_server(str(tmp_path), db=db)
    servers = [first, start_server(str(tmp_path), db=db, prvkey=first.prvkey)]
    yield servers
    for srv in servers:
        srv.stop()


def refused_within(colony: Colony, who: Any, seconds: float) -> float:
    """Seconds until ``who``'s submit is refused with 403 (fails the test after ``seconds``)."""
    started = time.monotonic()
    while True:
        try:
            colony.submit(who=who)
        except ColoniesError as err:
            assert err.status == 403, err
            return time.monotonic() - started
        assert time.monotonic() - started < seconds, f"still served {seconds} s after the change"
        time.sleep(0.02)


@pytest.mark.parametrize("how", ["removeexecutormsg", "rejectexecutormsg"])
def test_another_replica_hears_of_a_removal(two_replicas: list[Server], how: str) -> None:
    here, there = two_replicas
    colony = create_colony(here)
    elsewhere = Colony(there, colony.name, colony.owner, colony.executor, colony.user, colony.executortype)
    doomed = colony.add_executor()
    warm(elsewhere, doomed)  # cached on the other replica
    colony.call(how, {"colonyname": colony.name, "executorname": doomed.name}, colony.owner)
    # NOTIFY is delivered within milliseconds; the cache's lifetime (1 s) bounds it should it be lost.
    assert refused_within(elsewhere, doomed, 3.0) < 1.5


def test_a_cached_executor_is_still_heard_from_every_second(colony: Colony) -> None:
    """The cached membership carries an old lastheardfromtime; assigns still mark the executor alive (at most
    once a second), so the executor list does not show a busy executor as silent."""
    from colonies.timefmt import parse_time

    def heard() -> int:
        got = colony.call("getexecutormsg", {"colonyname": colony.name, "executorname": colony.executor.name},
                          colony.user)  # fmt: skip
        return parse_time(got["lastheardfromtime"])

    expect_error(404, colony.assign)  # nothing to do, but heard from
    first = heard()
    assert first > 0
    expect_error(404, colony.assign)
    assert heard() == first  # within the second: no write
    time.sleep(1.1)
    expect_error(404, colony.assign)
    assert heard() > first


def test_a_new_colony_owner_key_takes_over_at_once(colony: Colony) -> None:
    """Colonies are cached too (every owner check reads one): a changed owner key is seen by the next request."""
    listing = {"colonyname": colony.name}
    for _ in range(3):
        colony.call("getexecutorsmsg", listing, colony.owner)  # the colony row is now cached
    new_owner = new_identity(colony.name)
    colony.call("changecolonyidmsg", {"colonyname": colony.name, "colonyid": new_owner.id}, colony.owner)
    expect_error(403, colony.call, "getexecutorsmsg", listing, colony.owner)
    colony.call("getexecutorsmsg", listing, new_owner)

"""Cron schedules as pure functions: expressions with seconds, descriptors, durations, time zones, windows."""

from __future__ import annotations

import random
from datetime import datetime, timezone

import pytest

from colonies import schedule

NS = 1_000_000_000
UTC = timezone.utc


def ns(*args: int, tz: object = UTC) -> int:
    return int(datetime(*args, tzinfo=tz).timestamp()) * NS  # type: ignore[arg-type]


def nxt(expr: str, after: int, tz: object = UTC) -> int:
    return schedule.next_by_expression(expr, after, tz)  # type: ignore[arg-type]


@pytest.mark.parametrize(("expr", "after", "expected"), [
    ("0/5 * * * * *", (2026, 1, 1, 0, 0, 0), (2026, 1, 1, 0, 0, 5)),
    ("*/5 * * * * *", (2026, 1, 1, 0, 0, 7), (2026, 1, 1, 0, 0, 10)),
    ("0 0 15 24 12 *", (2026, 1, 1), (2026, 12, 24, 15, 0, 0)),  # the original's example
    ("30 0 9 * * MON-FRI", (2026, 1, 3), (2026, 1, 5, 9, 0, 30)),  # Saturday → Monday
    ("0 0 0 1 JAN,JUL ?", (2026, 2, 1), (2026, 7, 1)),
    ("0 12 * * *", (2026, 1, 1, 12, 0, 0), (2026, 1, 2, 12, 0, 0)),  # five fields: no seconds, second 0
    ("@daily", (2026, 1, 1, 0, 0, 0), (2026, 1, 2)),
    ("@midnight", (2026, 3, 3, 5), (2026, 3, 4)),
    ("@hourly", (2026, 1, 1, 10, 30), (2026, 1, 1, 11)),
    ("@weekly", (2026, 1, 1), (2026, 1, 4)),  # Sunday
    ("@monthly", (2026, 1, 15), (2026, 2, 1)),
    ("@yearly", (2026, 1, 15), (2027, 1, 1)),
    ("@annually", (2026, 1, 15), (2027, 1, 1)),
])  # fmt: skip
def test_expressions(expr: str, after: tuple[int, ...], expected: tuple[int, ...]) -> None:
    assert nxt(expr, ns(*after)) == ns(*expected)


def test_every_takes_go_durations() -> None:
    start = ns(2026, 1, 1)
    assert nxt("@every 5s", start) == start + 5 * NS
    assert nxt("@every 1h30m", start) == start + 5400 * NS
    assert nxt("@every 1.5m", start) == start + 90 * NS
    assert nxt("@every 300ms", start) == start + NS  # at least a second, as the original rounds
    assert schedule.parse_duration("2h45m30.5s") == int((2 * 3600 + 45 * 60 + 30.5) * NS)


@pytest.mark.parametrize("bad", ["61 * * * * *", "* * *", "* * * * * * * *", "@fortnightly", "@every", "@every 5",
                                 "@every -5s", "@every 0s", "* * * * * BLURSDAY", ""])  # fmt: skip
def test_bad_expressions_raise(bad: str) -> None:
    with pytest.raises(schedule.ScheduleError):
        schedule.check_expression(bad)


def test_time_zone() -> None:
    stockholm = schedule.time_zone("Europe/Stockholm")
    assert schedule.time_zone("") is UTC and schedule.time_zone("utc") is UTC
    # 03:00 in Stockholm (UTC+1 in January) is 02:00 UTC
    assert nxt("0 0 3 * * *", ns(2026, 1, 1), stockholm) == ns(2026, 1, 1, 2)
    with pytest.raises(schedule.ScheduleError):
        schedule.time_zone("Mars/Olympus")


def test_interval_windows() -> None:
    anchor, period = ns(2026, 1, 1), 60 * NS
    assert schedule.next_by_interval(60, anchor, anchor, False) == anchor + period
    assert schedule.next_by_interval(60, anchor, anchor + period, False) == anchor + 2 * period  # no drift
    assert schedule.next_by_interval(60, anchor, anchor + 10 * period + 5, False) == anchor + 11 * period  # catch-up
    rng = random.Random(7)
    picks = [schedule.next_by_interval(60, anchor, anchor + k * period, True, rng) for k in range(200)]
    for k, pick in enumerate(picks):
        assert anchor + (k + 1) * period <= pick < anchor + (k + 2) * period  # inside the next window
    offsets = {(p - anchor) % period for p in picks}
    assert len(offsets) > 150  # spread over the window

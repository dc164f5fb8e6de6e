"""When a cron fires next: pure functions over cron expressions and intervals (no I/O, no clock).

Expressions follow the original server's parser (robfig/cron with seconds): six fields
``sec min hour day-of-month month day-of-week`` with ``*``, lists, ranges, steps (``0/5``), names (``MON``, ``JAN``)
and ``?``; the descriptors ``@yearly @annually @monthly @weekly @daily @midnight @hourly`` and ``@every <duration>``
(a Go duration: ``1h30m``, ``5s``, ``1.5m``). Five-field expressions (no seconds) are accepted too and fire at second
0. Matching is done by ``croniter`` in the configured time zone; times in and out are Unix nanoseconds.
"""

from __future__ import annotations

import random as _random
import re
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

NS = 1_000_000_000

_DESCRIPTORS = {
    "@yearly": "0 0 0 1 1 *",
    "@annually": "0 0 0 1 1 *",
    "@monthly": "0 0 0 1 * *",
    "@weekly": "0 0 0 * * 0",
    "@daily": "0 0 0 * * *",
    "@midnight": "0 0 0 * * *",
    "@hourly": "0 0 * * * *",
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": NS, "m": 60 * NS, "h": 3600 * NS}


class ScheduleError(ValueError):
    """An expression, duration or time zone that cannot be scheduled."""


def time_zone(name: str) -> ZoneInfo | timezone:
    """The zone crons are evaluated in (``COLONIES_CRON_TZ``); empty or ``UTC`` means UTC."""
    if not name or name.upper() == "UTC":
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"unknown time zone {name!r} (use an IANA name such as Europe/Stockholm)") from None


def parse_duration(text: str) -> int:
    """A Go duration (``1h30m``, ``500ms``) in nanoseconds; must be positive."""
    text = text.strip()
    pos, total = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_NS[match.group(2)]
        pos = match.end()
    if not text or pos != len(text):
        raise ScheduleError(f"invalid duration {text!r} (expected e.g. 30s, 5m, 1h30m)")
    if total < 1:
        raise ScheduleError(f"duration {text!r} must be positive")
    return int(total)


def _fields(expr: str) -> str:
    """The expression as six croniter fields, seconds first."""
    expr = " ".join(expr.split())
    if expr.lower() in _DESCRIPTORS:
        return _DESCRIPTORS[expr.lower()]
    parts = expr.split(" ")
    if len(parts) == 5:
        parts = ["0", *parts]
    if len(parts) != 6:
        raise ScheduleError(
            f"invalid cron expression {expr!r}: expected 6 fields (sec min hour day-of-month month day-of-week), "
            "5 fields, or a descriptor such as @daily or @every 10s"
        )
    parts = ["*" if p == "?" else p for p in parts]
    fields = " ".join(parts)
    if not croniter.is_valid(fields, second_at_beginning=True):
        raise ScheduleError(f"invalid cron expression {expr!r}")
    return fields


def every(expr: str) -> int | None:
    """The period of an ``@every`` expression in ns, else None."""
    stripped = expr.strip()
    if not stripped.lower().startswith("@every"):
        return None
    rest = stripped[len("@every") :].strip()
    # The original rounds to whole seconds, at least one (a sub-second cron would only load the server).
    return max(round(parse_duration(rest) / NS), 1) * NS


def check_expression(expr: str) -> None:
    """Raise ScheduleError unless ``expr`` can be scheduled."""
    if every(expr) is None:
        _fields(expr)


def next_by_expression(expr: str, after: int, tz: ZoneInfo | timezone) -> int:
    """The first time strictly after ``after`` (ns) that the expression matches."""
    period = every(expr)
    if period is not None:
        return after + period
    start = datetime.fromtimestamp(after // NS, tz)  # whole seconds: croniter steps from the second after
    found = croniter(_fields(expr), start, second_at_beginning=True).get_next(datetime)
    return int(found.timestamp()) * NS


def next_by_interval(interval: int, anchor: int, now: int, randomised: bool, rng: _random.Random | None = None) -> int:
    """The next run of an interval cron: in the first window ``[anchor + k·interval, anchor + (k+1)·interval)``
    that starts after ``now``; at its start, or at a uniformly random time inside it when ``randomised``.

    Windows are fixed by the anchor (the cron's creation), so runs do not drift and a randomised cron runs once
    per window, never twice in one."""
    period = interval * NS
    k = max((now - anchor) // period + 1, 0)
    start = anchor + k * period
    if not randomised:
        return start
    return start + int((rng or _random).random() * period)

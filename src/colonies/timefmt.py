"""Time as the wire sees it: Go ``time.Time`` JSON (RFC 3339, nanoseconds, trailing zeros trimmed).

Internally every time is an int of Unix nanoseconds in UTC; 0 means unset and renders as Go's zero time.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

ZERO_TIME = "0001-01-01T00:00:00Z"


def now_ns() -> int:
    return time.time_ns()


#: The last second formatted and its text (one tuple, so a thread never sees half of an update): most times in
#: a reply, and in replies close together, fall in the same second.
_last_second: tuple[int, str] = (-1, "")


def format_ns(ns: int) -> str:
    if not ns:
        return ZERO_TIME
    global _last_second
    secs, frac = divmod(ns, 1_000_000_000)
    last = _last_second
    if last[0] == secs:
        base = last[1]
    else:
        base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
        _last_second = (secs, base)
    if frac:
        return f"{base}.{frac:09d}".rstrip("0") + "Z"
    return base + "Z"


def parse_time(text: str) -> int:
    """RFC 3339 text → Unix ns; any year-1 time (Go's zero, in any zone) is 0."""
    if not text or text.startswith("0001-01-01"):
        return 0
    main, _, rest = text.partition(".")
    frac = ""
    zone = ""
    if rest:
        i = 0
        while i < len(rest) and rest[i].isdigit():
            i += 1
        frac, zone = rest[:i], rest[i:]
    else:
        for sep in ("Z", "+", "-"):
            idx = main.find(sep, 10)
            if idx != -1:
                main, zone = main[:idx], main[idx:]
                break
    if zone in ("", "Z", "z"):
        zone = "+00:00"
    dt = datetime.fromisoformat(main + zone)
    ns = int(dt.astimezone(timezone.utc).timestamp()) * 1_000_000_000
    return ns + int((frac + "000000000")[:9] or 0)

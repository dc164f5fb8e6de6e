"""Helpers shared by the scheduling tests (assign, timeouts, pubsub, durability). Bounded waits only."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from colonies import envelope

T = TypeVar("T")

NS_PER_DAY = 86_400_000_000_000


def wait_for(fetch: Callable[[], T], pred: Callable[[T], bool], timeout: float, interval: float = 0.05,
             what: str = "condition") -> T:  # fmt: skip
    """Call ``fetch`` until ``pred(value)`` holds; fail (AssertionError) with the last value after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    value = fetch()
    while not pred(value):
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {value!r}")
        time.sleep(interval)
        value = fetch()
    return value


def ws_frame(payloadtype: str, msg: dict[str, Any], prvkey: str | None) -> str:
    return envelope.build_request(payloadtype, msg, prvkey).decode()


def ws_decode(text: str | bytes) -> tuple[bool, Any]:
    return envelope.decode_reply(text.encode() if isinstance(text, str) else text)


def parse_rfc3339_ns(text: str) -> int:
    """'2024-01-02T03:04:05.123456789Z' → Unix ns (independent of the package's own parser)."""
    import calendar

    assert text.endswith("Z"), text
    main, _, frac = text[:-1].partition(".")
    secs = calendar.timegm(time.strptime(main, "%Y-%m-%dT%H:%M:%S"))
    return secs * 1_000_000_000 + int((frac + "000000000")[:9])


def eventually(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    """The first truthy value ``predicate()`` returns within ``timeout`` seconds (polled every 50 ms)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")

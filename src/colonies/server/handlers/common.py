"""Small input checks shared by handlers."""

from __future__ import annotations

import re

from ...exceptions import BadRequest
from ...timefmt import parse_time
from ...types import MAX_COUNT, ProcessState

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def check_id(value: str, what: str) -> None:
    if not _HEX64.match(value):
        raise BadRequest(f"Invalid {what}: expected 64 lowercase hex characters")


def check_name(value: str, what: str) -> None:
    if not value or len(value) > 256 or any(c in value for c in "\x00\n\r"):
        raise BadRequest(f"Invalid {what}: must be 1-256 printable characters")


def lease_of(lease: str) -> int | None:
    """The fencing token of a leased message as Unix ns (None when the client sent none)."""
    if not lease:
        return None
    try:
        return parse_time(lease)
    except (ValueError, OverflowError):
        raise BadRequest(f"Invalid lease {lease[:64]!r}: expected the process's starttime (RFC 3339)") from None


def check_wait(timeout: int, limit: int, what: str) -> int:
    """A long wait (assign long-poll, subscription) within the server's configured maximum."""
    if timeout > limit:
        raise BadRequest(f"{what} timeout {timeout} s exceeds the server's maximum of {limit} s")
    return timeout


def check_count(count: int, limit: int = MAX_COUNT) -> int:
    if count > limit:
        raise BadRequest(f"Count {count} exceeds the limit of {limit}")
    if count < 0:
        raise BadRequest(f"Count {count} must not be negative")
    return count or limit


MAX_OFFSET = 1_000_000


def check_offset(offset: int) -> int:
    """Paging (ours): deep offsets scan and skip rows, so they are bounded like counts."""
    if not 0 <= offset <= MAX_OFFSET:
        raise BadRequest(f"Offset {offset} must be between 0 and {MAX_OFFSET}")
    return offset


def check_state(state: int) -> int:
    if state not in tuple(ProcessState):
        raise BadRequest(f"Invalid state {state}: expected 0 (waiting) to 4 (cancelled)")
    return state

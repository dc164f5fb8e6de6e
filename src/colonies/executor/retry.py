"""Retry policy for talking to a server that may be briefly away: capped exponential backoff with jitter."""

from __future__ import annotations

import random

from ..exceptions import ColoniesConnectionError, ColoniesError


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: the server could not be reached, or it failed on its side (5xx)."""
    if isinstance(exc, ColoniesConnectionError):
        return True
    return isinstance(exc, ColoniesError) and exc.status >= 500


def refusal_hint(exc: ColoniesError) -> str:
    """What a 403 most likely means for an executor when it is about its membership (our server's and the Go
    servers' wordings), else "": the hint must not send a person looking for an approval that is not missing."""
    text = exc.message.lower()
    if "pending" in text or "not approved" in text:
        return "not approved yet?"
    if "rejected" in text:
        return "rejected by the colony owner?"
    if "unregistered" in text:
        return "removed from the colony?"
    if "not a member" in text or "no executor with id" in text:
        return "not added to the colony, or not approved yet?"
    return ""


def landed(exc: BaseException, attempt: int) -> bool:
    """A retry (``attempt`` > 0, same nonce) refused as a replay: the first attempt took effect although its reply
    was lost, so the call is done and must not be repeated with a fresh nonce (that would do it twice)."""
    return attempt > 0 and isinstance(exc, ColoniesError) and exc.status == 409 and "Replayed" in str(exc)


class Backoff:
    """Delays of ``initial``, ``initial*factor``, … capped at ``cap``; ``reset()`` after a success.

    A little jitter (±``jitter`` of the delay) keeps a fleet of executors from reconnecting in lockstep after an
    outage.
    """

    def __init__(
        self, initial: float = 0.2, cap: float = 5.0, factor: float = 2.0, jitter: float = 0.1
    ) -> None:
        self.initial, self.cap, self.factor, self.jitter = initial, cap, factor, jitter
        self._next = initial

    def next(self) -> float:
        """The delay to wait now; the following one grows."""
        delay = self._next
        self._next = min(self._next * self.factor, self.cap)
        return max(0.0, delay * (1 + random.uniform(-self.jitter, self.jitter)))

    def reset(self) -> None:
        self._next = self.initial

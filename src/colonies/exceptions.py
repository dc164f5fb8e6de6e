"""Errors shared by the server and the SDK.

    ColoniesError(status, message)
    ├── BadRequest        400  malformed input, business rule violated
    ├── Forbidden         403  bad signature or wrong role
    ├── NotFound          404  unknown object, nothing to assign
    ├── Conflict          409
    ├── RequestTimeout    408
    ├── PayloadTooLarge   413
    ├── Unavailable       503
    ├── ServerTooOld      (SDK) the server does not know a message (an older generation); the server's status
    └── ColoniesConnectionError   (SDK) the server could not be reached

Only ``server/api.py`` and ``server/pubsub.py`` turn these into the error envelope.
"""

from __future__ import annotations

from .types import ExecutorState


class ColoniesError(Exception):
    status = 500

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status

    def __str__(self) -> str:
        return self.message


class BadRequest(ColoniesError):
    status = 400


class Forbidden(ColoniesError):
    status = 403


class NotFound(ColoniesError):
    status = 404


class RequestTimeout(ColoniesError):
    status = 408


class Conflict(ColoniesError):
    status = 409


class PayloadTooLarge(ColoniesError):
    status = 413


class Unavailable(ColoniesError):
    status = 503


class ServerTooOld(ColoniesError):
    """The server refused a message as unknown (``invalid rpcMsg.PayloadType``): it is of an older generation
    and has no way to do this. Not worth retrying; the message says what is needed, in one line."""

    status = 403

    def __init__(self, payloadtype: str, where: str, answer: str, needs: str, status: int | None = None) -> None:
        super().__init__(f"{payloadtype}: this needs {needs} (the server at {where} answered: {answer})", status)
        self.payloadtype = payloadtype


class ColoniesConnectionError(ColoniesError):
    """The server could not be reached (or answered something that is not a Colonies reply)."""

    status = 0


def approved_member(member: dict | None, colonyname: str) -> dict:
    """The member row if it may act in the colony, else the 403 every membership check gives (one wording for
    the server's role checks and for the checks storage makes inside a transaction)."""
    if member is not None and member["state"] == ExecutorState.APPROVED:
        return member
    if member is not None:
        state = ExecutorState(member["state"]).name.lower()
        raise Forbidden(f"Access denied, executor {member['name']} is {state} in colony {colonyname}")
    raise Forbidden(f"Access denied, not a member of colony {colonyname} (or no such colony)")

"""How an SDK method becomes a request: a ``Call`` (message, key, reply parser) and the ``rpc`` descriptor that
hands it to the client's ``_send``, plus the reply parsers.

``Colonies`` sends synchronously, ``AsyncColonies`` returns coroutines; they say which by deriving from
``SyncSender`` or ``AsyncSender``, so type checkers see ``Colonies().get_process(...)`` return a ``Process`` and
the async one a coroutine of it, without this module knowing either client.
"""

from __future__ import annotations

import base64
import functools
import inspect
from collections.abc import Awaitable, Callable, Coroutine, Generator
from dataclasses import dataclass
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, Self, TypeAlias, TypeVar, overload

from ..exceptions import ColoniesError, ServerTooOld
from .models import AttrDict, Process, ProcessGraph, to_attrdict

T = TypeVar("T")
P = ParamSpec("P")

#: Spare seconds on top of a server-side wait (assign long-poll, subscription) before the client gives up.
WAIT_MARGIN = 30.0


class SyncSender:
    """A client whose SDK methods return the parsed reply (``Colonies``)."""

    def _send(self, call: Call[Any]) -> Any:
        raise NotImplementedError


class AsyncSender:
    """A client whose SDK methods return coroutines (``AsyncColonies``)."""

    async def _send(self, call: Call[Any]) -> Any:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One RPC ready to send: payload type, message fields (``msgtype`` is added on signing), key, reply parser."""

    payloadtype: str
    msg: dict[str, Any]
    prvkey: str | None
    parse: Callable[[Any], T]
    #: HTTP timeout for this call; None uses the client's. Long-polls need more than their own timeout.
    timeout: float | None = None
    #: The same done with the messages of an older server (colonies.generations): a Call, or a Program. Used
    #: once the server refused this message as unknown, or refused it as ``legacy_on`` says; from the start when
    #: ``when_legacy`` and the server is known to be of the v1.7.8 generation (which ignores a newer field).
    legacy: Callable[[], Call[T] | Program[T]] | None = None
    legacy_on: Callable[[ColoniesError], bool] | None = None
    when_legacy: bool = False
    #: Under which name a ``legacy_on`` refusal is remembered by the client (default: the payload type).
    feature: str = ""


#: A fallback of several requests: a generator that yields Calls, gets each one's parsed reply (or its error,
#: thrown in) and returns the result. The same program runs on the sync and the async client.
Program: TypeAlias = Generator["Call[Any]", Any, T]


class Endpoint(Protocol):
    """What the fallback decisions need from a transport (RPCClient, AsyncRPCClient)."""

    refused: dict[str, str]
    legacy: bool | None


def use_legacy(call: Call[Any], rpc: Endpoint) -> bool:
    """Whether to go straight to the call's fallback: this client saw the server refuse it before, or the server
    is of the v1.7.8 generation and the call differs there only by a field the old server would ignore."""
    if call.legacy is None:
        return False
    return (call.feature or call.payloadtype) in rpc.refused or (call.when_legacy and rpc.legacy is True)


def falls_back(call: Call[Any], rpc: Endpoint, exc: ColoniesError) -> bool:
    """Whether ``exc`` (the server's answer to ``call``) means: do it the older way. A ``legacy_on`` refusal is
    remembered, so the client does not ask again."""
    if call.legacy is None:
        return False
    if isinstance(exc, ServerTooOld):
        return True
    if call.legacy_on is not None and call.legacy_on(exc):
        rpc.refused[call.feature or call.payloadtype] = exc.message
        return True
    return False


def run_program(send: Callable[[Call[Any]], Any], program: Call[T] | Program[T]) -> T:
    """Run a fallback with a synchronous ``send``."""
    if isinstance(program, Call):
        return send(program)  # type: ignore[no-any-return]
    try:
        call = next(program)
        while True:
            try:
                reply = send(call)
            except ColoniesError as exc:
                call = program.throw(exc)
            else:
                call = program.send(reply)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


async def run_program_async(send: Callable[[Call[Any]], Awaitable[Any]], program: Call[T] | Program[T]) -> T:
    """Run a fallback with an asynchronous ``send``."""
    if isinstance(program, Call):
        return await send(program)  # type: ignore[no-any-return]
    try:
        call = next(program)
        while True:
            try:
                reply = await send(call)
            except ColoniesError as exc:
                call = program.throw(exc)
            else:
                call = program.send(reply)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]


class rpc(Generic[P, T]):
    """Turn a Call-building method into an SDK method: sync on Colonies, a coroutine on AsyncColonies."""

    def __init__(self, build: Callable[Concatenate[Any, P], Call[T]]) -> None:
        self.build = build
        functools.update_wrapper(self, build)
        signature = inspect.signature(build)
        params = list(signature.parameters.values())[1:]
        returns = signature.return_annotation
        if isinstance(returns, str) and returns.startswith("Call[") and returns.endswith("]"):
            returns = returns[5:-1]  # what the caller gets back is the parsed reply, not the Call
        self._signature = signature.replace(parameters=params, return_annotation=returns)
        self.__signature__ = signature.replace(return_annotation=returns)  # for help() on the class

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Self: ...
    @overload
    def __get__(
        self, obj: AsyncSender, owner: type | None = None
    ) -> Callable[P, Coroutine[Any, Any, T]]: ...
    @overload
    def __get__(self, obj: SyncSender, owner: type | None = None) -> Callable[P, T]: ...
    @overload
    def __get__(self, obj: Any, owner: type | None = None) -> Callable[P, Any]: ...
    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        build, send = self.build, obj._send

        def method(*args: P.args, **kwargs: P.kwargs) -> Any:
            return send(build(obj, *args, **kwargs))

        method.__name__ = self.build.__name__
        method.__qualname__ = self.build.__qualname__
        method.__doc__ = self.build.__doc__
        method.__signature__ = self._signature  # type: ignore[attr-defined]
        return method

    def __call__(self, obj: Any, *args: P.args, **kwargs: P.kwargs) -> Any:
        """Called through the class, like a plain method: ``Colonies.get_process(client, pid, key)``."""
        return obj._send(self.build(obj, *args, **kwargs))


# --- reply parsers -----------------------------------------------------------------------------------------------


def as_dict(reply: Any) -> AttrDict:
    return AttrDict(reply) if isinstance(reply, dict) else AttrDict()


def as_list(reply: Any) -> list[AttrDict]:
    """Go sends ``null`` for an empty list; callers get ``[]``."""
    return [to_attrdict(item) for item in reply or []]


def as_any(reply: Any) -> Any:
    return to_attrdict(reply)


def as_process(reply: Any) -> Process:
    return Process.model_validate(reply)


def as_graph(reply: Any) -> ProcessGraph:
    return ProcessGraph.model_validate(reply)


def as_submitted(reply: Any) -> Process | ProcessGraph:
    """``submit`` returns what the server made: a graph has ``processgraphid`` and ``rootprocessids``."""
    return as_graph(reply) if isinstance(reply, dict) and "rootprocessids" in reply else as_process(reply)


def as_channel_entries(reply: Any) -> list[AttrDict]:
    """Channel payloads arrive as a list of byte values or as base64 text; callers get bytes."""
    entries = as_list(reply)
    for entry in entries:
        payload = entry.get("payload")
        if isinstance(payload, list):
            entry["payload"] = bytes(payload)
        elif isinstance(payload, str):
            entry["payload"] = base64.b64decode(payload)
    return entries

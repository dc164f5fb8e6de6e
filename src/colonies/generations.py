"""Generations of the original server's wire protocol: which messages v1.7.8 has, and how a server says it does
not know one. Shared by the server (``--wire-generation 1.7.8``) and the clients (which fall back to these
messages when a server refuses a newer one).

v1.7.8 is the release the original executors of 2024 were built against (``colonyos/executors`` requires
``github.com/colonyos/colonies v1.7.8``). Its dispatcher is the ``switch rpcMsg.PayloadType`` of
``pkg/server/colonies_server.go`` before the handlers moved into packages; an unknown type falls through to
``default``: HTTP 403, ``"invalid rpcMsg.PayloadType, <type>"`` (v1.9 writes ``"invalid rpcMsg.PayloadType: <type>"``).
Only ``versionmsg`` is answered without a signature there, so an unsigned ``getserverinfomsg`` is refused by the
signature check (403) before its type is looked at.
"""

from __future__ import annotations

#: Every payload type the original v1.7.8 server answers.
V1_7_8 = frozenset({
    "versionmsg",
    "addusermsg", "getusersmsg", "getusermsg", "removeusermsg", "changeuseridmsg",
    "addcolonymsg", "removecolonymsg", "getcoloniesmsg", "getcolonymsg", "getcolonystatsmsg", "changecolonyidmsg",
    "addexecutormsg", "getexecutorsmsg", "getexecutormsg", "approveexecutormsg", "rejectexecutormsg",
    "removeexecutormsg", "changeexecutoridmsg",
    "addfunctionmsg", "getfunctionsmsg", "removefunctionmsg",
    "submitfuncspecmsg", "assignprocessmsg", "getprocesshistmsg", "getprocessesmsg", "getprocessmsg",
    "removeprocessmsg", "removeallprocessesmsg", "closesuccessfulmsg", "closefailedmsg", "setoutputmsg",
    "addattributemsg", "getattributemsg",
    "submitworkflowspecmsg", "getprocessgraphmsg", "getprocessgraphsmsg", "removeprocessgraphmsg",
    "removeallprocessgraphsmsg", "addchildmsg",
    "addgeneratormsg", "getgeneratormsg", "resolvegeneratormsg", "getgeneratorsmsg", "packgeneratormsg",
    "removegeneratormsg",
    "addcronmsg", "getcronmsg", "getcronsmsg", "runcronmsg", "removecronmsg",
    "getstatisticsmsg", "getclustermsg", "changeserveridmsg",
    "addlogmsg", "getlogsmsg",
    "addfilemsg", "getfilemsg", "getfilesmsg", "getfilelabelsmsg", "removefilemsg",
    "createsnapshotmsg", "getsnapshotmsg", "getsnapshotsmsg", "removesnapshotmsg", "removeallsnapshotmsg",
    # /pubsub
    "subscribeprocessmsg", "subscribeprocessesmsg",
})  # fmt: skip

#: Messages only this implementation has (the original servers of every generation refuse them).
OURS = frozenset({"getcronrunsmsg", "getgeneratorrunsmsg", "subscribecolonymsg"})

#: The wire generations a server can be asked to speak (``--wire-generation``).
GENERATIONS = ("current", "1.7.8")

#: Statistics keys v1.9 added (v1.7.8's replies do not have them).
NEWER_STATISTICS = ("activeexecutors", "unregisteredexecutors", "cancelledprocesses", "cancelledworkflows")


def unknown_type_message(payloadtype: str) -> str:
    """How v1.7.8 refuses a payload type it does not know (with status 403)."""
    return f"invalid rpcMsg.PayloadType, {payloadtype}"


def is_unknown_type(status: int, message: str) -> bool:
    """Whether an error reply is a server saying it does not know the message: 403 and "invalid
    rpcMsg.PayloadType" in the v1.7.8 (``, type``) or the v1.9 (``: type``) spelling."""
    return status == 403 and message.startswith("invalid rpcMsg.PayloadType")


def is_state_refusal(status: int, message: str) -> bool:
    """The original servers list processes and workflows in states 0-3 only: 4 (cancelled) and -1 are answered 400
    "invalid msg.State" (v1.7.8 and v1.9 alike)."""
    return status == 400 and "invalid msg.State" in message


def requirement(payloadtype: str) -> str:
    """What a client needs for a message its server refused as unknown, for a one-line error."""
    if payloadtype in OURS:
        return "a Colonies for Python server"
    return "a Colonies server v1.8 or later"

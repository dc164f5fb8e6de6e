"""The RPC envelope (protocol §1.2): base64 JSON payload, hex signature, reply and error envelopes."""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import time
from typing import Any

import orjson

from . import crypto
from .exceptions import BadRequest

EMPTY_PAYLOAD = "e30="  # base64("{}")


#: A JSON-escaped NUL: an odd number of backslashes before u0000 (an even number is a literal backslash).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")

def encode_payload(msg: Any) -> str:
    return base64.b64encode(orjson.dumps(msg)).decode("ascii")


def new_nonce() -> str:
    """A replay-protection nonce: issue time (the server checks its window) and 96 random bits."""
    return f"{time.time_ns()}-{secrets.token_hex(12)}"


def build_request(payloadtype: str, msg: dict[str, Any], prvkey: str | None) -> bytes:
    """A signed request envelope; ``msgtype`` and, when signed, a fresh ``nonce`` are added to the message, so a
    captured request cannot be replayed (Go servers ignore the extra key)."""
    if prvkey:
        msg = {"nonce": new_nonce(), **msg}  # a nonce the caller chose wins
    payload = encode_payload({**msg, "msgtype": payloadtype})
    signature = crypto.sign(payload, prvkey) if prvkey else ""
    return orjson.dumps({"signature": signature, "payloadtype": payloadtype, "payload": payload})


def reply(payloadtype: str, value: Any) -> bytes:
    return orjson.dumps({"payloadtype": payloadtype, "payload": encode_payload(value), "error": False})


def error_reply(status: int, message: str) -> bytes:
    payload = encode_payload({"status": status, "message": message})
    return orjson.dumps({"payloadtype": "error", "payload": payload, "error": True})


class Envelope:
    """A parsed request envelope; the payload is decoded lazily so unsigned types skip the work."""

    __slots__ = ("payloadtype", "payload", "signature")

    def __init__(self, payloadtype: str, payload: str, signature: str) -> None:
        self.payloadtype = payloadtype
        self.payload = payload
        self.signature = signature

    @classmethod
    def parse(cls, body: bytes) -> Envelope:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise BadRequest(f"Invalid RPC envelope: malformed JSON ({exc})") from None
        if not isinstance(data, dict):
            raise BadRequest("Invalid RPC envelope: expected a JSON object")
        fields = []
        for key in ("payloadtype", "payload", "signature"):
            value = data.get(key)
            if value is None:
                value = ""
            if not isinstance(value, str):
                raise BadRequest(f"Invalid RPC envelope: {key} must be a string")
            fields.append(value)
        return cls(*fields)

    def decode_payload(self) -> bytes:
        """The payload's JSON bytes. A JSON-escaped NUL is refused here, for /api and /pubsub and every backend
        alike: PostgreSQL cannot store it, and no name, label or log line needs it."""
        try:
            payload = base64.b64decode(self.payload, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest("Invalid RPC payload: not valid base64") from None
        if b"u0000" in payload and _JSON_NUL.search(payload):
            raise BadRequest("Invalid text: NUL (\\u0000) characters are not allowed in a payload")
        return payload


def decode_reply(body: bytes) -> tuple[bool, Any]:
    """Client side: (is_error, decoded payload)."""
    data = orjson.loads(body)
    payload = orjson.loads(base64.b64decode(data.get("payload") or EMPTY_PAYLOAD))
    return bool(data.get("error")), payload

"""Bad input never produces a 5xx or a traceback, and the server keeps serving (protocol §1.2-§1.4).

Every case POSTs a raw body to /api and checks both the HTTP status and the error envelope
``{"payloadtype":"error","payload":base64({"status":int,"message":str}),"error":true}``, whose status
equals the HTTP status. A process submitted before all of them must come out unchanged at the end.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from conftest import Colony, Identity, Server, create_colony, expect_error, new_identity

from colonies import crypto, envelope

#: secp256k1 group order.
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
IDLE = "idle_type_nobody_runs"


# -- helpers -------------------------------------------------------------------------------------------------


def post(server: Server, body: bytes | str | Iterator[bytes], **kwargs: Any) -> httpx.Response:
    content = body.encode() if isinstance(body, str) else body
    return httpx.post(server.url + "/api", content=content, timeout=10, **kwargs)


def check_error(resp: httpx.Response, status: int, *needles: str) -> str:
    """The reply is a proper error envelope with this status (HTTP and payload); returns the message."""
    assert resp.status_code == status, f"expected HTTP {status}, got {resp.status_code}: {resp.text[:500]}"
    assert b"Traceback" not in resp.content and b'File "' not in resp.content
    data = json.loads(resp.content)
    assert isinstance(data, dict), data
    assert data.get("payloadtype") == "error", data
    assert data.get("error") is True, data
    payload = json.loads(base64.b64decode(data["payload"], validate=True))
    assert isinstance(payload, dict), payload
    assert type(payload.get("status")) is int and payload["status"] == status, payload
    message = payload.get("message")
    assert isinstance(message, str) and message, payload
    for needle in needles:
        assert needle.lower() in message.lower(), f"{needle!r} not in {message!r}"
    return message


def check_ok(resp: httpx.Response) -> Any:
    assert resp.status_code == 200, resp.text[:500]
    data = json.loads(resp.content)
    assert data["error"] is False
    return json.loads(base64.b64decode(data["payload"]))


def check_not_5xx(resp: httpx.Response, *allowed: int) -> None:
    """For inputs where more than one answer is reasonable: one of ``allowed``, never a server error."""
    assert resp.status_code in allowed, f"got HTTP {resp.status_code}: {resp.text[:500]}"
    if resp.status_code != 200:
        check_error(resp, resp.status_code)


def envelope_with(payloadtype: str, payload: str, prvkey: str | None, signature: str | None = None) -> bytes:
    """An envelope around a raw payload text (signed over that text unless a signature is given)."""
    if signature is None:
        signature = crypto.sign(payload, prvkey) if prvkey else ""
    return json.dumps({"signature": signature, "payloadtype": payloadtype, "payload": payload}).encode()


def b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def signed(payloadtype: str, msg: dict[str, Any], who: Identity) -> bytes:
    """Like envelope.build_request, but with the stdlib encoder so integers beyond 64 bits can be sent."""
    payload = b64(json.dumps({**msg, "msgtype": payloadtype}))
    return envelope_with(payloadtype, payload, who.prvkey)


def rnd_id() -> str:
    return os.urandom(32).hex()


def case_id(value: Any) -> str:
    """Readable test ids for message dicts: ``count=huge-state=0``."""
    if isinstance(value, dict):
        return "-".join(
            f"{k}={case_id(v)}" for k, v in value.items() if k not in ("executorid", "executorname")
        )
    if isinstance(value, int) and abs(value) > 10**6:
        return "huge" if value > 0 else "-huge"
    return str(value)


# -- fixtures ------------------------------------------------------------------------------------------------


class Baseline:
    def __init__(self, server: Server) -> None:
        self.colony: Colony = create_colony(server)
        self.process = self.colony.submit(
            self.colony.user, conditions={"executortype": IDLE}, args=["keep", 1], label="baseline"
        )
        self.before = self.colony.get(self.process["processid"])


@pytest.fixture(scope="module")
def base(server: Server) -> Baseline:
    """Data stored before any bad request; the last test checks it is intact."""
    return Baseline(server)


@pytest.fixture(scope="module", autouse=True)
def _baseline_first(base: Baseline) -> None:
    pass


# -- transport -----------------------------------------------------------------------------------------------


def test_health_is_200(server: Server) -> None:
    assert httpx.get(server.url + "/health", timeout=5).status_code == 200


def test_get_api_is_a_4xx_error_envelope(server: Server) -> None:
    resp = httpx.get(server.url + "/api", timeout=5)
    assert 400 <= resp.status_code < 500
    check_error(resp, resp.status_code)


# -- the envelope --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b'{"payloadtype": "getcolonymsg", ',
        b"",
        b"not json at all",
        b"{'a': 1}",
        b'{"payloadtype": "x"} trailing',
        b"\xff\xfe\x00{",
    ],
    ids=["truncated", "empty", "text", "single-quotes", "trailing", "binary"],
)
def test_malformed_json_envelope(server: Server, body: bytes) -> None:
    check_error(post(server, body), 400, "envelope")


@pytest.mark.parametrize("body", [b"[]", b'["payloadtype"]', b'"getcolonymsg"', b"42", b"null", b"true"])
def test_envelope_not_an_object(server: Server, body: bytes) -> None:
    check_error(post(server, body), 400, "object")


@pytest.mark.parametrize("field", ["payloadtype", "payload", "signature"])
def test_envelope_field_of_wrong_type(server: Server, base: Baseline, field: str) -> None:
    body = json.loads(signed("getcolonymsg", {"colonyname": base.colony.name}, base.colony.executor))
    body[field] = {"not": "a string"}
    check_error(post(server, json.dumps(body)), 400, field)


@pytest.mark.parametrize("payload", ["!!!not-base64###", "e30", "e30=\n", "é30=", "eyJ==a"])
def test_payload_not_valid_base64(server: Server, base: Baseline, payload: str) -> None:
    """Correctly signed (the signature covers the text as sent), so only the decoding can fail."""
    check_error(
        post(server, envelope_with("getcolonymsg", payload, base.colony.executor.prvkey)), 400, "base64"
    )


@pytest.mark.parametrize(
    "text",
    ['{"colonyname": ', "{not json}", '{"a": 1,}', "\x00", '{"label": "\\ud800"}'],
    ids=["truncated", "bare-words", "trailing-comma", "nul", "lone-surrogate"],
)
def test_payload_base64_of_invalid_json(server: Server, base: Baseline, text: str) -> None:
    resp = post(server, envelope_with("getcolonymsg", b64(text), base.colony.executor.prvkey))
    check_error(resp, 400, "JSON")


@pytest.mark.parametrize("text", ["[1, 2]", "42", "null", '"getcolonymsg"', "true"])
def test_payload_json_not_an_object(server: Server, base: Baseline, text: str) -> None:
    check_error(post(server, envelope_with("getcolonymsg", b64(text), base.colony.executor.prvkey)), 400)


def test_payload_invalid_utf8(server: Server, base: Baseline) -> None:
    payload = b64(b'{"colonyname": "\xff\xfe", "msgtype": "getcolonymsg"}')
    check_error(post(server, envelope_with("getcolonymsg", payload, base.colony.executor.prvkey)), 400)


# -- the signature -------------------------------------------------------------------------------------------


def getcolony_payload(base: Baseline) -> str:
    return str(envelope.encode_payload({"colonyname": base.colony.name, "msgtype": "getcolonymsg"}))


def test_correct_signature_is_accepted(server: Server, base: Baseline) -> None:
    """The control for the cases below: the same message, properly signed, is answered."""
    payload = getcolony_payload(base)
    resp = post(server, envelope_with("getcolonymsg", payload, base.colony.executor.prvkey))
    assert check_ok(resp)["name"] == base.colony.name


def test_missing_signature(server: Server, base: Baseline) -> None:
    body = json.dumps({"payloadtype": "getcolonymsg", "payload": getcolony_payload(base)})
    check_error(post(server, body), 403, "signature")
    check_error(post(server, envelope_with("getcolonymsg", getcolony_payload(base), None, signature="")), 403)


def test_signature_not_hex(server: Server, base: Baseline) -> None:
    resp = post(server, envelope_with("getcolonymsg", getcolony_payload(base), None, signature="zz" * 65))
    check_error(resp, 403, "hex")


@pytest.mark.parametrize(
    "cut",
    [(0, 2), (0, 128), (0, 132), (0, 260), (0, 129)],
    ids=["1-byte", "64-bytes", "66-bytes", "130-bytes", "odd-digits"],
)
def test_signature_wrong_length(server: Server, base: Baseline, cut: tuple[int, int]) -> None:
    payload = getcolony_payload(base)
    good = crypto.sign(payload, base.colony.executor.prvkey)
    sig = (good * 2)[cut[0] : cut[1]]
    check_error(post(server, envelope_with("getcolonymsg", payload, None, signature=sig)), 403)


def test_signature_with_bad_recovery_id(server: Server, base: Baseline) -> None:
    payload = getcolony_payload(base)
    good = crypto.sign(payload, base.colony.executor.prvkey)
    for v in ("04", "1b", "ff"):
        check_error(post(server, envelope_with("getcolonymsg", payload, None, signature=good[:128] + v)), 403)


def test_unrecoverable_signature(server: Server, base: Baseline) -> None:
    payload = getcolony_payload(base)
    for sig in ("00" * 65, "ff" * 64 + "00"):
        check_error(post(server, envelope_with("getcolonymsg", payload, None, signature=sig)), 403)


def test_signature_by_a_different_key(server: Server, base: Baseline) -> None:
    """A valid signature whose signer the server does not know: 403, not 404 or 200."""
    stranger = new_identity("stranger")
    resp = post(server, signed("getprocessmsg", {"processid": base.process["processid"]}, stranger))
    check_error(resp, 403)
    resp = post(server, signed("getcolonymsg", {"colonyname": base.colony.name}, stranger))
    check_error(resp, 403)


def test_tampered_payload(server: Server, base: Baseline) -> None:
    """A signature over one payload sent with another recovers some other identity: 403."""
    good = getcolony_payload(base)
    sig = crypto.sign(good, base.colony.executor.prvkey)
    other = envelope.encode_payload({"colonyname": base.colony.name, "msgtype": "getcolonymsg", "x": 1})
    check_error(post(server, envelope_with("getcolonymsg", other, None, signature=sig)), 403)


def test_high_s_signature_is_refused(server: Server, base: Baseline) -> None:
    """(r, n-s, v^1) is the malleated twin of a valid signature: it recovers the same key, but is refused."""
    from coincurve import PublicKey

    payload = getcolony_payload(base)
    good = bytes.fromhex(crypto.sign(payload, base.colony.executor.prvkey))
    s = int.from_bytes(good[32:64], "big")
    assert s <= N // 2
    high = good[:32] + (N - s).to_bytes(32, "big") + bytes([good[64] ^ 1])
    digest = hashlib.sha3_256(payload.encode()).digest()
    twin = PublicKey.from_signature_and_message(high, digest, hasher=None).format(compressed=False)
    assert crypto.id_from_pubkey(twin) == base.colony.executor.id  # really the same signer
    check_ok(post(server, envelope_with("getcolonymsg", payload, None, signature=good.hex())))
    check_error(post(server, envelope_with("getcolonymsg", payload, None, signature=high.hex())), 403)


# -- payloadtype and msgtype ---------------------------------------------------------------------------------


def test_unknown_payloadtype(server: Server, base: Baseline) -> None:
    resp = post(server, signed("nosuchthingmsg", {"colonyname": base.colony.name}, base.colony.executor))
    check_error(resp, 403, "nosuchthingmsg")


def test_empty_payloadtype(server: Server, base: Baseline) -> None:
    payload = envelope.encode_payload({"colonyname": base.colony.name, "msgtype": ""})
    check_error(post(server, envelope_with("", payload, base.colony.executor.prvkey)), 403)
    body = json.dumps({"payload": payload, "signature": crypto.sign(payload, base.colony.executor.prvkey)})
    check_error(post(server, body), 403)


def test_msgtype_different_from_payloadtype(server: Server, base: Baseline) -> None:
    """The signed msgtype is what counts: an envelope relabelled to another type is refused."""
    for msgtype in ("getcoloniesmsg", "", "GETCOLONYMSG"):
        payload = envelope.encode_payload({"colonyname": base.colony.name, "msgtype": msgtype})
        resp = post(server, envelope_with("getcolonymsg", payload, base.colony.executor.prvkey))
        check_error(resp, 400, "msgtype")
    payload = envelope.encode_payload({"colonyname": base.colony.name})  # no msgtype at all
    check_error(
        post(server, envelope_with("getcolonymsg", payload, base.colony.executor.prvkey)), 400, "msgtype"
    )


# -- field types ---------------------------------------------------------------------------------------------

WRONG_TYPES: list[tuple[str, Callable[[Colony], dict[str, Any]], str]] = [
    ("assignprocessmsg", lambda c: {"colonyname": c.name, "timeout": "ten"}, "timeout"),
    ("getprocessesmsg", lambda c: {"colonyname": c.name, "count": "5", "state": 0}, "count"),
    ("getprocessesmsg", lambda c: {"colonyname": c.name, "count": 5, "state": "waiting"}, "state"),
    ("submitfuncspecmsg", lambda c: {"spec": "x"}, "spec"),
    ("submitfuncspecmsg", lambda c: {"spec": c.spec(priority=1.5)}, "priority"),
    ("submitfuncspecmsg", lambda c: {"spec": c.spec(args="not-a-list")}, "args"),
    ("submitfuncspecmsg", lambda c: {"spec": c.spec(kwargs=[1, 2])}, "kwargs"),
    ("submitfuncspecmsg", lambda c: {"spec": c.spec(maxretries=True)}, "maxretries"),
    ("submitfuncspecmsg", lambda c: {"spec": c.spec(conditions={"colonyname": 5})}, "colonyname"),
    ("submitfuncspecmsg", lambda c: {"spec": c.spec(conditions={"dependencies": "a"})}, "dependencies"),
    ("submitfuncspecmsg", lambda c: {"spec": c.spec(env={"A": 1})}, "env"),
    ("getcolonymsg", lambda c: {"colonyname": ["a"]}, "colonyname"),
    ("getprocessmsg", lambda c: {"processid": 123}, "processid"),
    ("closesuccessfulmsg", lambda c: {"processid": rnd_id(), "out": "done"}, "out"),
    ("addlogmsg", lambda c: {"processid": rnd_id(), "message": {"m": 1}}, "message"),
    (
        "getlogsmsg",
        lambda c: {"colonyname": c.name, "processid": rnd_id(), "count": 1, "latest": "yes"},
        "latest",
    ),
    (
        "submitworkflowspecmsg",
        lambda c: {"spec": {"colonyname": c.name, "functionspecs": {"a": 1}}},
        "functionspecs",
    ),
    (
        "addattributemsg",
        lambda c: {"attribute": {"targetid": rnd_id(), "attributetype": "in", "key": "k"}},
        "attributetype",
    ),
    ("addfilemsg", lambda c: {"file": {"colonyname": c.name, "label": "/a", "name": "b", "size": "5"}}, "size"),
    (
        "addfilemsg",
        lambda c: {"file": {"colonyname": c.name, "name": "b", "ref": {"s3object": {"port": "9000"}}}},
        "port",
    ),
    ("getfilemsg", lambda c: {"colonyname": c.name, "fileid": 5}, "fileid"),
    ("getfilelabelsmsg", lambda c: {"colonyname": c.name, "name": "/a", "exact": "yes"}, "exact"),
    ("createsnapshotmsg", lambda c: {"colonyname": c.name, "label": ["/a"], "name": "s"}, "label"),
]


@pytest.mark.parametrize(
    ("msgtype", "make", "field"), WRONG_TYPES, ids=[f"{t}-{f}" for t, _, f in WRONG_TYPES]
)
def test_wrong_field_type_names_the_field(
    server: Server, base: Baseline, msgtype: str, make: Callable[[Colony], dict[str, Any]], field: str
) -> None:
    resp = post(server, signed(msgtype, make(base.colony), base.colony.executor))
    check_error(resp, 400, field)


# -- unknown ids ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("msgtype", "key"),
    [
        ("getprocessmsg", "processid"),
        ("getprocessgraphmsg", "processgraphid"),
        ("getattributemsg", "attributeid"),
        ("removefunctionmsg", "functionid"),
        ("cancelprocessmsg", "processid"),
        ("removeprocessmsg", "processid"),
    ],
)
def test_unknown_id_is_404(server: Server, base: Baseline, msgtype: str, key: str) -> None:
    for value in (rnd_id(), "", "not-an-id"):
        check_error(post(server, signed(msgtype, {key: value}, base.colony.executor)), 404)


def test_unknown_process_in_logs_and_children_is_404(server: Server, base: Baseline) -> None:
    c = base.colony
    check_error(post(server, signed("getlogsmsg", {"processid": rnd_id(), "count": 10}, c.executor)), 404)
    msg = {"processgraphid": rnd_id(), "parentprocessid": rnd_id(), "spec": c.spec()}
    check_error(post(server, signed("addchildmsg", msg, c.executor)), 404)
    check_error(post(server, signed("addlogmsg", {"processid": rnd_id(), "message": "x"}, c.executor)), 404)


# -- body size -----------------------------------------------------------------------------------------------


def test_body_over_the_limit_is_413(make_server: Callable[..., Server]) -> None:
    srv = make_server("--max-body-bytes", "1000")
    check_error(post(srv, b"x" * 2000), 413)
    # A well-formed but large envelope, too.
    big = envelope.build_request("versionmsg", {"buildversion": "v" * 2000}, None)
    check_error(post(srv, big), 413)

    # Chunked, without content-length: the limit applies while reading.
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"y" * 100

    resp = post(srv, chunks())
    assert "content-length" not in {k.lower() for k in resp.request.headers}
    check_error(resp, 413)
    # Under the limit, the same server answers normally.
    assert check_ok(post(srv, envelope.build_request("versionmsg", {}, None)))["msgtype"] == "versionmsg"
    assert srv.proc.poll() is None


# -- values out of range -------------------------------------------------------------------------------------


@pytest.mark.parametrize("priority", [50_001, -50_001, 2**40, -(2**63)])
def test_priority_out_of_range(server: Server, base: Baseline, priority: int) -> None:
    c = base.colony
    resp = post(server, signed("submitfuncspecmsg", {"spec": c.spec(priority=priority)}, c.executor))
    check_error(resp, 400, "priority")


def test_priority_at_the_bounds_is_accepted(server: Server, base: Baseline) -> None:
    c = base.colony
    for priority in (50_000, -50_000):
        spec = c.spec(priority=priority, conditions={"executortype": IDLE})
        assert (
            check_ok(post(server, signed("submitfuncspecmsg", {"spec": spec}, c.executor)))["spec"][
                "priority"
            ]
            == priority
        )


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("cpu", "lots", "cpu"),
        ("cpu", "-5m", "cpu"),
        ("cpu", "1.2.3", "cpu"),
        ("mem", "12 parsecs", "memory"),
        ("mem", "Gi", "memory"),
        ("storage", "x1", "memory"),
    ],
)
def test_bad_cpu_or_memory_in_a_spec(
    server: Server, base: Baseline, field: str, value: str, needle: str
) -> None:
    c = base.colony
    spec = c.spec(conditions={field: value})
    check_error(post(server, signed("submitfuncspecmsg", {"spec": spec}, c.executor)), 400, needle, value)


def test_bad_gpu_memory_in_a_spec(server: Server, base: Baseline) -> None:
    c = base.colony
    spec = c.spec(conditions={"gpu": {"name": "a100", "mem": "huge", "count": 1}})
    check_error(post(server, signed("submitfuncspecmsg", {"spec": spec}, c.executor)), 400, "huge")


@pytest.mark.parametrize(("field", "value"), [("availablecpu", "abc"), ("availablemem", "zz")])
def test_bad_available_resources_in_assign(server: Server, base: Baseline, field: str, value: str) -> None:
    c = base.colony
    msg = {"colonyname": c.name, "timeout": -1, field: value}
    check_error(post(server, signed("assignprocessmsg", msg, c.executor)), 400, value)


@pytest.mark.parametrize(
    ("msgtype", "msg"),
    [
        ("getprocessesmsg", {"count": 101, "state": 0}),
        ("getprocessesmsg", {"count": -1, "state": 0}),
        ("getprocessesmsg", {"count": 10, "state": 5}),
        ("getprocessesmsg", {"count": 10, "state": -2}),
        ("getprocessesmsg", {"count": 10**30, "state": 0}),
        ("getprocessesmsg", {"count": 10, "state": 2**70}),
        ("getprocessgraphsmsg", {"count": 101, "state": 0}),
        ("getprocessgraphsmsg", {"count": 1, "state": 9}),
        ("searchlogsmsg", {"text": "x", "days": 31, "count": 10}),
        ("searchlogsmsg", {"text": "x", "days": 1, "count": 101}),
        ("removeallprocessesmsg", {"state": 1}),
        ("removeallprocessesmsg", {"state": 7}),
        ("assignprocessmsg", {"timeout": 0}),
    ],
    ids=case_id,
)
def test_out_of_range_values_are_400(
    server: Server, base: Baseline, msgtype: str, msg: dict[str, Any]
) -> None:
    c = base.colony
    who = c.owner if msgtype.startswith("removeall") else c.executor
    check_error(post(server, signed(msgtype, {"colonyname": c.name, **msg}, who)), 400)


@pytest.mark.parametrize(
    ("msgtype", "msg"),
    [
        ("getprocesshistmsg", {"executorid": "", "seconds": 10**30, "state": 0}),
        ("getprocesshistmsg", {"executorid": "", "seconds": -(10**30), "state": 0}),
        ("getlogsmsg", {"executorname": "executor", "count": 10, "since": 10**30}),
        ("getlogsmsg", {"executorname": "executor", "count": 10, "since": -(10**30)}),
        ("searchlogsmsg", {"text": "x", "days": -(10**30), "count": 10}),
        ("assignprocessmsg", {"timeout": -(10**30)}),
    ],
    ids=case_id,
)
def test_huge_integers_in_queries_are_not_a_server_error(
    server: Server, base: Baseline, msgtype: str, msg: dict[str, Any]
) -> None:
    """No range is documented for these: clamping (200/404) or refusing (400) are both fine, a 500 is not."""
    c = base.colony
    check_not_5xx(post(server, signed(msgtype, {"colonyname": c.name, **msg}, c.executor)), 200, 400, 404)


SPEC_INT_FIELDS = [
    "maxwaittime",
    "maxexectime",
    "maxretries",
    "conditions.nodes",
    "conditions.processes",
    "conditions.processespernode",
    "conditions.walltime",
    "conditions.gpu.count",
    "args.0",
    "kwargs.n",
]


def spec_with(c: Colony, path: str, value: Any) -> dict[str, Any]:
    spec = c.spec(conditions={"executortype": IDLE})
    *parents, leaf = path.split(".")
    node: Any = spec
    for key in parents:
        node = node.setdefault(key, {}) if isinstance(node, dict) else node
    if isinstance(node, list):
        node[int(leaf)] = value
    else:
        node[leaf] = value
    return spec


def dig(data: Any, path: str) -> Any:
    for key in path.split("."):
        data = data[int(key)] if isinstance(data, list) else data[key]
    return data


@pytest.mark.parametrize("path", SPEC_INT_FIELDS)
def test_huge_integers_in_a_spec_are_refused_or_kept(server: Server, base: Baseline, path: str) -> None:
    """An integer beyond 64 bits is refused (400, naming the field) or stored and given back exactly."""
    c = base.colony
    parts = [p for p in path.split(".") if not p.isdigit()]
    field = parts[0] if parts[0] in ("args", "kwargs") else parts[-1]
    for value in (2**63, 10**30):
        resp = post(server, signed("submitfuncspecmsg", {"spec": spec_with(c, path, value)}, c.executor))
        check_not_5xx(resp, 200, 400)
        if resp.status_code == 400:
            check_error(resp, 400, field)
        else:
            process = check_ok(resp)
            assert dig(c.get(process["processid"])["spec"], path) == value


@pytest.mark.parametrize("field", ["maxwaittime", "maxexectime"])
def test_far_future_deadline_does_not_poison_the_queue(server: Server, field: str) -> None:
    """A timeout of 2^40 s fits in 64 bits but its deadline in ns does not. Refusing it is fine; accepting
    it and then failing on assignment would leave a process nobody can take, read or list."""
    c = create_colony(server)
    resp = post(server, signed("submitfuncspecmsg", {"spec": c.spec(**{field: 2**40})}, c.user))
    check_not_5xx(resp, 200, 400)
    if resp.status_code == 400:
        check_error(resp, 400, field)
        return
    processid = check_ok(resp)["processid"]
    assigned = check_ok(
        post(server, signed("assignprocessmsg", {"colonyname": c.name, "timeout": -1}, c.executor))
    )
    assert assigned["processid"] == processid
    assert check_ok(post(server, signed("getprocessmsg", {"processid": processid}, c.user)))["state"] == 1
    listed = check_ok(
        post(server, signed("getprocessesmsg", {"colonyname": c.name, "count": 10, "state": 1}, c.user))
    )
    assert [p["processid"] for p in listed] == [processid]
    check_ok(post(server, signed("closesuccessfulmsg", {"processid": processid, "out": []}, c.executor)))


def test_huge_integers_in_output_are_refused_or_kept(server: Server) -> None:
    c = create_colony(server)
    c.submit(c.user)
    processid = c.assign(timeout=-1)["processid"]
    resp = post(server, signed("closesuccessfulmsg", {"processid": processid, "out": [10**30]}, c.executor))
    check_not_5xx(resp, 200, 400)
    if resp.status_code == 200:
        assert c.get(processid)["out"] == [10**30]
    else:
        assert c.get(processid)["state"] == 1  # still running, the executor can close it properly
        c.close(processid, ["ok"])


def test_deeply_nested_payload(server: Server, base: Baseline) -> None:
    c = base.colony
    depth = 5000
    args = "[" * depth + "]" * depth
    text = '{"spec": {"args": ' + args + '}, "msgtype": "submitfuncspecmsg"}'
    resp = post(server, envelope_with("submitfuncspecmsg", b64(text), c.executor.prvkey))
    check_error(resp, 400)


def test_duplicate_client_chosen_function_id(server: Server) -> None:
    """addfunctionmsg lets the client choose the functionid; reusing one (even from another colony) is the
    caller's mistake: 400/409, not a storage error, and the first registration is untouched."""
    a, b = create_colony(server), create_colony(server)
    functionid = rnd_id()
    fun = {
        "functionid": functionid,
        "executorname": a.executor.name,
        "executortype": a.executortype,
        "colonyname": a.name,
        "funcname": "first",
    }
    a.call("addfunctionmsg", {"fun": fun}, a.executor)
    again = post(server, signed("addfunctionmsg", {"fun": {**fun, "funcname": "second"}}, a.executor))
    check_not_5xx(again, 400, 409)
    other = {**fun, "executorname": b.executor.name, "colonyname": b.name, "funcname": "third"}
    check_not_5xx(post(server, signed("addfunctionmsg", {"fun": other}, b.executor)), 400, 409)
    funcs = a.call("getfunctionsmsg", {"colonyname": a.name, "executorname": ""}, a.executor)
    assert [(f["functionid"], f["funcname"]) for f in funcs] == [(functionid, "first")]


# -- workflows -----------------------------------------------------------------------------------------------


def workflow(c: Colony, *nodes: tuple[str, list[str]]) -> dict[str, Any]:
    specs = [
        c.spec(nodename=name, conditions={"executortype": IDLE, "dependencies": deps}) for name, deps in nodes
    ]
    return {"spec": {"colonyname": c.name, "functionspecs": specs}}


@pytest.mark.parametrize(
    ("nodes", "needles"),
    [
        ((("alpha", ["beta"]), ("beta", ["alpha"])), ("cycle", "alpha", "beta")),
        (
            (("alpha", []), ("beta", ["gamma"]), ("gamma", ["delta"]), ("delta", ["beta"])),
            ("cycle", "beta", "gamma", "delta"),
        ),
        ((("alpha", []), ("beta", ["ghost"])), ("unknown", "beta", "ghost")),
        ((("alpha", []), ("alpha", [])), ("duplicate", "alpha")),
        ((("alpha", ["alpha"]),), ("alpha", "itself")),
        ((("alpha", []), ("", ["alpha"])), ("nodename",)),
        ((), ("no function specs",)),
    ],
    ids=[
        "cycle",
        "long-cycle",
        "unknown-dependency",
        "duplicate-nodename",
        "self-dependency",
        "empty-nodename",
        "zero-nodes",
    ],
)
def test_invalid_workflow_is_400_naming_the_problem(
    server: Server, nodes: tuple[tuple[str, list[str]], ...], needles: tuple[str, ...]
) -> None:
    c = create_colony(server)
    check_error(post(server, signed("submitworkflowspecmsg", workflow(c, *nodes), c.user)), 400, *needles)
    # Nothing half-made is left behind.
    graphs = c.call("getprocessgraphsmsg", {"colonyname": c.name, "count": 100, "state": 0}, c.executor)
    assert graphs == []
    assert c.call("getprocessesmsg", {"colonyname": c.name, "count": 100, "state": 0}, c.executor) == []


# -- WebSocket /pubsub ---------------------------------------------------------------------------------------


def test_pubsub_bad_frames_get_error_frames_and_the_socket_keeps_serving(
    server: Server, base: Baseline
) -> None:
    from websockets.sync.client import connect

    c = base.colony
    good_msg = {
        "colonyname": c.name,
        "processid": base.process["processid"],
        "executortype": "",
        "state": 0,
        "timeout": 2,
    }
    mismatched = envelope_with(
        "subscribeprocessmsg",
        b64(json.dumps({**good_msg, "msgtype": "subscribeprocessesmsg"})),
        c.executor.prvkey,
    )
    bad_frames = [
        ("not json", 400),
        ("[]", 400),
        (signed("nosuchmsg", good_msg, c.executor).decode(), 403),
        (envelope_with("subscribeprocessmsg", "!!!", c.executor.prvkey).decode(), 400),
        (mismatched.decode(), 400),
        (signed("subscribeprocessmsg", {**good_msg, "timeout": "soon"}, c.executor).decode(), 400),
        (signed("subscribeprocessmsg", {**good_msg, "processid": rnd_id()}, c.executor).decode(), 404),
        (signed("subscribeprocessmsg", {**good_msg, "executortype": "a\x00"}, c.executor).decode(), 400),
    ]
    with connect(f"ws://127.0.0.1:{server.port}/pubsub", open_timeout=5, close_timeout=2) as ws:
        for frame, status in bad_frames:
            ws.send(frame)
            reply = ws.recv(timeout=5)
            assert isinstance(reply, str) and "Traceback" not in reply
            is_error, payload = envelope.decode_reply(reply.encode())
            assert is_error and payload["status"] == status, (frame[:60], payload)
            assert isinstance(payload["message"], str) and payload["message"]
        ws.send(signed("subscribeprocessmsg", good_msg, c.executor).decode())
        is_error, payload = envelope.decode_reply(str(ws.recv(timeout=5)).encode())
        assert not is_error and payload["processid"] == base.process["processid"]


# -- afterwards ----------------------------------------------------------------------------------------------


def test_zz_server_still_serves_and_data_is_intact(server: Server, base: Baseline) -> None:
    """Runs last in this file: after everything above, the server answers and earlier data is unchanged."""
    assert server.proc.poll() is None
    assert httpx.get(server.url + "/health", timeout=5).status_code == 200
    c = base.colony
    after = c.get(base.process["processid"])
    assert after == base.before
    assert after["spec"]["args"] == ["keep", 1] and after["spec"]["label"] == "baseline"
    listed = c.call("getprocessesmsg", {"colonyname": c.name, "count": 100, "state": 0}, c.user)
    assert base.process["processid"] in [p["processid"] for p in listed]
    # A normal write and read still work.
    fresh = c.submit(c.user, conditions={"executortype": IDLE})
    assert c.get(fresh["processid"])["state"] == 0


@pytest.mark.parametrize("where", ["name", "label", "log"])
def test_nul_characters_are_refused_on_every_backend(server: Server, where: str) -> None:
    """PostgreSQL cannot store NUL; rather than differ by backend, every payload with an escaped NUL is a 400."""
    colony = create_colony(server)
    if where == "name":
        msg: dict[str, Any] = {"colonyname": "bad\x00name"}
        err = expect_error(400, colony.call, "getcolonymsg", msg, colony.owner)
    elif where == "label":
        err = expect_error(400, colony.submit, colony.user, label="a\x00b")
    else:
        p = colony.submit(colony.user)
        colony.assign(colony.executor)
        err = expect_error(400, colony.call, "addlogmsg", {"processid": p["processid"], "message": "x\x00"},
                           colony.executor)  # fmt: skip
    assert "NUL" in err.message
    # A literal backslash followed by u0000 is ordinary text.
    p = colony.submit(colony.user, label="a\\u0000b")
    assert colony.get(p["processid"])["spec"]["label"] == "a\\u0000b"

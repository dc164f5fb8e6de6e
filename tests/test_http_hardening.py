"""What a web page, an unknown signer or a captured request can no longer do (docs/security.md, threat model).

Each test sends what the attacker would send, as raw HTTP: the ``Origin`` and ``Content-Type`` a browser puts on a
cross-origin "simple request", a 16 MB payload signed by a key nobody registered, a nonce from the future, a request
signed for another server.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest
from conftest import Colony, Server, create_colony, expect_error, start_server

from colonies import crypto, envelope
from colonies.client import RPCClient

pytestmark = pytest.mark.timeout(120)


def post(server: Server, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, Any, httpx.Response]:
    response = httpx.post(server.url + "/api", content=body, headers=headers or {}, timeout=60)
    _, payload = envelope.decode_reply(response.content)
    return response.status_code, payload, response


def waiting(colony: Colony) -> int:
    return len(colony.call("getprocessesmsg", {"colonyname": colony.name, "count": 100, "state": 0}, colony.user) or [])


def submit_body(colony: Colony) -> bytes:
    return envelope.build_request("submitfuncspecmsg", {"spec": colony.spec()}, colony.user.prvkey)


# --- drive-by requests from a web page --------------------------------------------------------------------------


@pytest.mark.parametrize("ctype", ["text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
                                   "multipart/form-data; boundary=x", None])  # fmt: skip
def test_a_cross_origin_simple_request_changes_nothing(colony: Colony, ctype: str | None) -> None:
    """fetch(url, {method: "POST", mode: "no-cors", body}) from http://evil.example: refused, nothing submitted."""
    headers = {"Origin": "http://evil.example"}
    if ctype:
        headers["Content-Type"] = ctype
    status, payload, response = post(colony.server, submit_body(colony), headers)
    assert status in (403, 415), (status, payload)
    assert "access-control-allow-origin" not in response.headers
    assert waiting(colony) == 0


def test_a_same_host_page_with_a_form_content_type_is_refused_too(colony: Colony) -> None:
    host = f"127.0.0.1:{colony.server.port}"
    headers = {"Origin": f"http://{host}", "Content-Type": "text/plain"}
    status, payload, _ = post(colony.server, submit_body(colony), headers)
    assert status == 415, payload
    assert "application/json" in payload["message"]
    assert waiting(colony) == 0


def test_json_from_a_foreign_origin_is_refused_and_no_cors_is_granted(colony: Colony) -> None:
    """Even when a (non-browser) attacker sends JSON with a foreign Origin; and a preflight grants nothing."""
    status, payload, _ = post(colony.server, submit_body(colony),
                              {"Origin": "http://evil.example", "Content-Type": "application/json"})  # fmt: skip
    assert status == 403 and "Cross-origin" in payload["message"]
    pre = httpx.options(colony.server.url + "/api", headers={"Origin": "http://evil.example",
                        "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
    assert "access-control-allow-origin" not in pre.headers
    assert waiting(colony) == 0


def test_dns_rebinding_origin_is_refused(colony: Colony) -> None:
    """A page at http://attacker.example:PORT whose name now resolves to 127.0.0.1: Origin and Host agree, but a
    loopback server answers only loopback host names."""
    where = f"attacker.example:{colony.server.port}"
    status, payload, _ = post(colony.server, submit_body(colony),
                              {"Origin": f"http://{where}", "Host": where, "Content-Type": "application/json"})
    assert status == 403, payload
    assert waiting(colony) == 0


def test_same_origin_json_and_clients_without_origin_work(colony: Colony) -> None:
    host = f"127.0.0.1:{colony.server.port}"
    status, payload, _ = post(colony.server, submit_body(colony),
                              {"Origin": f"http://{host}", "Content-Type": "application/json"})
    assert status == 200, payload
    # pycolonies 1.x sends no Content-Type at all (and no Origin): still served.
    status, payload, _ = post(colony.server, submit_body(colony))
    assert status == 200, payload
    assert waiting(colony) == 2


@pytest.fixture(scope="module")
def cors_server(tmp_path_factory: pytest.TempPathFactory, backend: str) -> Any:
    srv = start_server(str(tmp_path_factory.mktemp("cors")), backend=backend,
                       env={"COLONIES_CORS_ORIGINS": "https://dash.example.org"})
    yield srv
    srv.stop()


def test_a_configured_origin_gets_cors_headers(cors_server: Server) -> None:
    colony = create_colony(cors_server)
    origin = "https://dash.example.org"
    pre = httpx.options(cors_server.url + "/api", headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
    assert pre.headers["access-control-allow-origin"] == origin
    status, payload, response = post(cors_server, submit_body(colony),
                                     {"Origin": origin, "Content-Type": "application/json"})
    assert status == 200, payload
    assert response.headers["access-control-allow-origin"] == origin
    status, _, response = post(cors_server, submit_body(colony),
                               {"Origin": "https://other.example.org", "Content-Type": "application/json"})
    assert status == 403 and "access-control-allow-origin" not in response.headers


# --- big payloads ----------------------------------------------------------------------------------------------


def heavy_workflow(colony: Colony, megabytes: int) -> dict[str, Any]:
    """A workflow whose kwargs hold many small objects: the costliest JSON to parse per byte."""
    per_node = [{"a": [1, 2]}] * 2000  # ~24 KB per node
    nodes = megabytes * 1024 * 1024 // (24 * 1024)
    specs = [colony.spec(nodename=f"n{i}", kwargs={"x": per_node}) for i in range(nodes)]
    return {"spec": {"colonyname": colony.name, "functionspecs": specs}}


def test_unknown_signer_cannot_freeze_the_server(colony: Colony) -> None:
    """Four ~15 MB requests signed by unknown keys, in parallel: each is refused (403) without being decoded, and
    /health stays responsive meanwhile (before: ~4.5 s of parsing per request on the event loop)."""
    msg = heavy_workflow(colony, 11)
    bodies = [envelope.build_request("submitworkflowspecmsg", msg, crypto.generate_prvkey()) for _ in range(4)]
    statuses: list[int] = []
    latencies: list[float] = []
    done = threading.Event()

    def attack(body: bytes) -> None:
        statuses.append(httpx.post(colony.server.url + "/api", content=body, timeout=60,
                                   headers={"Content-Type": "application/json"}).status_code)  # fmt: skip

    def probe() -> None:
        with httpx.Client(timeout=30) as client:
            while not done.is_set():
                started = time.perf_counter()
                client.get(colony.server.url + "/health")
                latencies.append(time.perf_counter() - started)
                time.sleep(0.01)

    prober = threading.Thread(target=probe)
    prober.start()
    attackers = [threading.Thread(target=attack, args=(body,)) for body in bodies]
    for t in attackers:
        t.start()
    for t in attackers:
        t.join()
    done.set()
    prober.join()
    assert statuses == [403] * 4
    assert latencies and max(latencies) < 1.0, f"/health waited {max(latencies):.2f} s"  # before: seconds


def test_a_member_cannot_send_a_huge_non_workflow_message(colony: Colony) -> None:
    spec = colony.spec(args=["x" * (5 * 1024 * 1024)])
    err = expect_error(413, colony.call, "submitfuncspecmsg", {"spec": spec}, colony.user)
    assert "COLONIES_MAX_MESSAGE_BYTES" in err.message


def test_too_many_json_objects_are_refused_before_parsing(colony: Colony) -> None:
    msg = heavy_workflow(colony, 8)  # ~350 nodes x 4000 containers, over 200 000
    err = expect_error(413, colony.call, "submitworkflowspecmsg", msg, colony.user)
    assert "COLONIES_MAX_JSON_CONTAINERS" in err.message


def test_a_large_legitimate_workflow_from_a_member_is_accepted(colony: Colony) -> None:
    specs = [colony.spec(nodename=f"n{i}", args=["y" * 1000],
                         conditions={"dependencies": [f"n{i - 1}"]} if i else {}) for i in range(500)]  # fmt: skip
    graph = colony.call("submitworkflowspecmsg", {"spec": {"colonyname": colony.name, "functionspecs": specs}},
                        colony.user)  # fmt: skip
    assert len(graph["processids"]) == 500


def test_dense_workflow_over_the_edge_limit_is_refused(colony: Colony) -> None:
    """330 nodes, each depending on all earlier ones: 54 285 edges > 50 000 (about 1 MB of JSON)."""
    n = 330
    specs = [{"nodename": f"n{i}", "funcname": "f",
              "conditions": {"colonyname": colony.name, "executortype": colony.executortype,
                             "dependencies": [f"n{j}" for j in range(i)]}} for i in range(n)]  # fmt: skip
    err = expect_error(400, colony.call, "submitworkflowspecmsg",
                       {"spec": {"colonyname": colony.name, "functionspecs": specs}}, colony.user)  # fmt: skip
    assert "edges" in err.message and "50000" in err.message
    assert colony.call("getprocessgraphsmsg", {"colonyname": colony.name, "count": 10}, colony.user) in (None, [])


# --- replay edges ----------------------------------------------------------------------------------------------


def test_a_nonce_from_the_future_is_refused(colony: Colony) -> None:
    future = f"{time.time_ns() + 120 * 1_000_000_000}-{'ab' * 12}"
    body = envelope.build_request("submitfuncspecmsg", {"spec": colony.spec(), "nonce": future}, colony.user.prvkey)
    status, payload, _ = post(colony.server, body, {"Content-Type": "application/json"})
    assert status == 400 and "clock skew" in payload["message"], payload
    assert waiting(colony) == 0
    near = f"{time.time_ns() + 5 * 1_000_000_000}-{'cd' * 12}"  # within the skew: fine
    body = envelope.build_request("submitfuncspecmsg", {"spec": colony.spec(), "nonce": near}, colony.user.prvkey)
    assert post(colony.server, body)[0] == 200


def test_a_request_captured_on_one_server_is_refused_by_another(server: Server, make_server: Any) -> None:
    """Two servers with the same owner key and the same colony keys (a staging copy of production, say)."""
    other = make_server()  # a fresh database: its own instance id
    colony = create_colony(server)
    other.call("addcolonymsg", {"colony": {"colonyid": colony.owner.id, "name": colony.name}}, other.prvkey)
    other.call("addusermsg", {"user": {"colonyname": colony.name, "userid": colony.user.id, "name": "user",
                "email": "", "phone": ""}}, colony.owner.prvkey)  # fmt: skip
    client = RPCClient("127.0.0.1", server.port)
    client.call("getcolonymsg", {"colonyname": colony.name}, colony.user.prvkey)  # learns server 1's instance id
    assert client._audience, "getserverinfomsg did not give an instance id"
    captured = envelope.build_request("submitfuncspecmsg", {"spec": colony.spec(), "audience": client._audience},
                                      colony.user.prvkey)  # fmt: skip
    assert post(server, captured)[0] == 200
    status, payload, _ = post(other, captured)
    assert status == 403 and "another server" in payload["message"], payload
    assert len(other.call("getprocessesmsg", {"colonyname": colony.name, "count": 10, "state": 0},
                          colony.user.prvkey) or []) == 0  # fmt: skip
    # Our SDK learns each server's id, so the same keys keep working against both.
    RPCClient("127.0.0.1", other.port).call("submitfuncspecmsg", {"spec": colony.spec()}, colony.user.prvkey)


def test_sdk_requests_name_their_server(colony: Colony) -> None:
    client = RPCClient("127.0.0.1", colony.server.port)
    client.call("submitfuncspecmsg", {"spec": colony.spec()}, colony.user.prvkey)
    info = client.call("getserverinfomsg", {}, None)
    assert client._audience == info["instanceid"] and len(info["instanceid"]) == 32

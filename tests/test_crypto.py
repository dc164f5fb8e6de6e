"""Every crypto test vector of protocol.md §1.3 and python-sdk.md §3.4, plus the signature checks a server
relies on.

The envelope vectors are also sent byte for byte to a real server whose owner is the well-known server key.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import httpx
import orjson
import pytest
from coincurve import PrivateKey

from colonies import crypto
from colonies.crypto import CryptoError

SERVER_KEY = "fcc79953d8a751bf41db661592dc34d30004b1a651ffa0725b03ac227641499d"
SERVER_ID = "039231c7644e04b6895471dd5335cf332681c54e27f81fac54f9067b3f2c0103"
SERVER_PUB = (
    "0426aa26fe2d354aeb42265141eb7b42dc74b092c3809d2288ae1cb73feae7aaf"
    "c906b4252aee3855676941423a2df8f83aada0c3e1dbb19c263c9bef53471964b"
)
COLONY_KEY = "ba949fa134981372d6da62b6a56f336ab4d843b22c02a4257dcf7d0d73097514"
COLONY_ID = "4787a5071856a4acf702b2ffcea422e3237a679c681314113d86139461290cf4"
EXECUTOR_KEY = "ddf7f7791208083b6a9ed975a72684f6406a269cfa36f1b1c32045c0a71fff05"
EXECUTOR_ID = "3fc05cf3df4b494e95d6a3d297a34f19938f7daa7422ab0d4f794454133341ac"
ID_VECTOR_KEY = "6d2fb6f546bacfd98c68769e61e0b44a697a30596c018a50e28200aa59b01c0a"
ID_VECTOR_ID = "4fef2b5a82d134d058c1883c72d6d9caf77cd59ca82d73105017590dea3dcb87"
SIGN_VECTOR_KEY = "d6eb959e9aec2e6fdc44b5862b269e987b8a4d6f2baca542d8acaa97ee5e74f6"
SIGN_VECTOR_ID = "5d6568f883451ae2e407d1a0a7992e414f2a67b69d0e6e9176d353b98f06f696"

#: The repo interop vector (internal/crypto/signature_test.go); not RFC 6979, so only recovery is checked.
INTEROP_SIG = (
    "997eca36736d465e0e8d64e6d657ff4c939c8f5cad4272797ea0fe372bfd8d095"
    "3d21b3d06ded5dd80aee8cfa3a9be7ce615ce690eb64184fe15962943fe541300"
)

#: Worked example (protocol §1.3): executor key signs getcolonymsg for colony "dev".
GETCOLONY_JSON = '{"colonyname":"dev","msgtype":"getcolonymsg"}'
GETCOLONY_PAYLOAD = "eyJjb2xvbnluYW1lIjoiZGV2IiwibXNndHlwZSI6ImdldGNvbG9ueW1zZyJ9"
GETCOLONY_DIGEST = "743afddc3c074e2f5c87729c36bdff0b76bd4f6b783d76431f81ad35f170fa59"
GETCOLONY_SIG = (
    "aaea4f14c8bf827267377593bd2253940b5602d06e392cf7752f54f956e24b7d2"
    "85fe6f21446ed28f25259f6ad2a64ca90dd20eeeb9532c0b443c73d191e1e5900"
)
GETCOLONY_PUB = (
    "040e1930031d82f79fb53008c4ad81c8933f9fdb4d55bf9f385eca9f1275b2cfd"
    "6ed08ae04fd9e3b72daeea8d3e836148d4d3dc27df58fb45878d126cddf4d2fcf"
)

#: Full envelope vector (python-sdk §3.4): server key, getcoloniesmsg.
GETCOLONIES_JSON = '{"msgtype": "getcoloniesmsg"}'
GETCOLONIES_PAYLOAD = "eyJtc2d0eXBlIjogImdldGNvbG9uaWVzbXNnIn0="
GETCOLONIES_DIGEST = "eadda7cf07edf81c2803ef44e180181d037cc68dfce136f18b91891f1e39be17"
GETCOLONIES_SIG = (
    "82a2287f7fa7aad2f7a476c2b91743d67792c4f1f580f7cad92ecc6c3504bc6f2"
    "f542e984ed0d7d8b5a90a6fc1a381bb18e29dceabb6e97600395d37706732af01"
)

#: pycolonies sign(...) vectors (RFC 6979, low-S), python-sdk §3.4.
SIGN_VECTORS = [
    (SERVER_KEY, "hello", (
        "ff142300ec91116d6aab0371251b9e6cf931e478d8c0d8e985d3ff45aafcbed5"
        "181411334945c938b91f6f755919986db5f6cc65f5f3d0fc9744aa5236f327d001"
    )),
    (SERVER_KEY, "", (
        "9a8669c6eeaea50b9c3fc27d699e02def538c8b916ef428a64870d2cd0b00eda"
        "5c342f8a2854f3ef8a09d59237b2d5d266b4e370d36d9d9f9bb99a79f271876001"
    )),
    (SERVER_KEY, "åäö", (
        "7427cf4d020ddd16c736480597218da83aeb51f1de10be3262d443d766edfa65"
        "57cdc6d288c6d0d7f1e8a75b4d218617339bc73ca6e8d0e0aad347fbf12f326a00"
    )),
    (COLONY_KEY, "hello", (
        "6007da6e46cf25b373cf3fbc263e5f5ccab0509bc3f165f8339ef44c39180723"
        "20a0b842408f91e816057c4f9c9052a233c14ab15d40d2437e46708acc2eaec001"
    )),
    (EXECUTOR_KEY, "hello", (
        "887d6a2291487951e99ea07c3a15a37e29971856c85ff732d8d6cd087c525a5a"
        "1019ef841dc4880f8a592e5d45cbddfcd94b3ca2c9651b4c990f2b959793adc701"
    )),
    (SIGN_VECTOR_KEY, "hello", (
        "e713a1bb015fecabb5a084b0fe6d6e7271fca6f79525a634183cfdb175fe6924"
        "1f4da161779d8e6b761200e1cf93766010a19072fa778f9643363e2cfadd640900"
    )),
]  # fmt: skip

CURVE_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


# --- ids and hashes -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prvkey", "expected"),
    [
        (ID_VECTOR_KEY, ID_VECTOR_ID),
        (SERVER_KEY, SERVER_ID),
        (COLONY_KEY, COLONY_ID),
        (EXECUTOR_KEY, EXECUTOR_ID),
        (SIGN_VECTOR_KEY, SIGN_VECTOR_ID),
    ],
)
def test_id_of_known_private_keys(prvkey: str, expected: str) -> None:
    assert crypto.id_from_prvkey(prvkey) == expected
    assert crypto.Crypto().id(prvkey) == expected


def test_id_vector_public_key_prefix() -> None:
    pub = PrivateKey(bytes.fromhex(ID_VECTOR_KEY)).public_key.format(compressed=False).hex()
    assert pub.startswith("0408e903") and pub.endswith("a01a7ad4")
    assert crypto.id_from_pubkey(bytes.fromhex(pub)) == ID_VECTOR_ID


def test_server_key_public_key_and_id_is_hash_of_hex_text() -> None:
    pub = PrivateKey(bytes.fromhex(SERVER_KEY)).public_key.format(compressed=False)
    assert pub.hex() == SERVER_PUB
    # The id hashes the 130-char hex *text*, not the 65 raw bytes.
    assert hashlib.sha3_256(SERVER_PUB.encode("ascii")).hexdigest() == SERVER_ID
    assert crypto.id_from_pubkey(pub) == SERVER_ID
    assert hashlib.sha3_256(pub).hexdigest() != SERVER_ID


def test_sha3_vectors() -> None:
    assert (
        crypto.hash_text("hello world") == "644bcc7e564373040999aac89e7622f3ca71fba1d972fd94a31c3bfbf24e3938"
    )
    assert crypto.hash_text("hello") == "3338be694f50c5f338814986cdf0686453a888b84f424d792af4b9202398f392"
    assert crypto.Crypto().hash("hello") == crypto.hash_text("hello")
    # SHA3-256, not Keccak-256 (keccak256("hello") starts with 1c8aff95).
    assert not crypto.hash_text("hello").startswith("1c8aff95")


def test_generated_keys_are_64_hex_and_distinct() -> None:
    keys = {crypto.generate_prvkey() for _ in range(5)}
    assert len(keys) == 5
    for key in keys:
        assert len(key) == 64 and int(key, 16) > 0
        ident = crypto.id_from_prvkey(key)
        assert len(ident) == 64 and ident == ident.lower()


@pytest.mark.parametrize("bad", ["", "00" * 32, "ab" * 31, "ab" * 33, "zz" * 32, f"{CURVE_N:064x}"])
def test_invalid_private_keys_raise_crypto_error(bad: str) -> None:
    with pytest.raises(CryptoError):
        crypto.id_from_prvkey(bad)
    with pytest.raises(CryptoError):
        crypto.sign("hello", bad)


# --- recovery -----------------------------------------------------------------------------------------------


def test_repo_interop_vector_recovers() -> None:
    assert crypto.recover_id("hello", INTEROP_SIG) == SIGN_VECTOR_ID
    assert crypto.recover_id(b"hello", INTEROP_SIG) == SIGN_VECTOR_ID
    assert crypto.Crypto().recoverid("hello", INTEROP_SIG) == SIGN_VECTOR_ID


def test_recovery_of_other_message_gives_other_id() -> None:
    assert crypto.recover_id("hellO", INTEROP_SIG) != SIGN_VECTOR_ID


def test_getcolonymsg_worked_example_byte_exact() -> None:
    payload = base64.b64encode(GETCOLONY_JSON.encode()).decode()
    assert payload == GETCOLONY_PAYLOAD
    assert crypto.hash_text(payload) == GETCOLONY_DIGEST
    assert crypto.sign(payload, EXECUTOR_KEY) == GETCOLONY_SIG
    assert GETCOLONY_SIG[-2:] == "00"  # recovery id 0
    digest = bytes.fromhex(GETCOLONY_DIGEST)
    from coincurve import PublicKey

    recovered = PublicKey.from_signature_and_message(bytes.fromhex(GETCOLONY_SIG), digest, hasher=None)
    assert recovered.format(compressed=False).hex() == GETCOLONY_PUB
    assert crypto.recover_id(payload, GETCOLONY_SIG) == EXECUTOR_ID


@pytest.mark.parametrize(("prvkey", "message", "signature"), SIGN_VECTORS)
def test_pycolonies_sign_vectors_byte_exact(prvkey: str, message: str, signature: str) -> None:
    produced = crypto.sign(message, prvkey)
    assert crypto.recover_id(message, produced) == crypto.id_from_prvkey(prvkey)
    assert crypto.recover_id(message, signature) == crypto.id_from_prvkey(prvkey)
    assert produced == signature  # RFC 6979 + low-S: deterministic, byte for byte
    assert crypto.Crypto().sign(message, prvkey) == signature


def test_sign_is_deterministic_low_s_and_v_in_0_to_3() -> None:
    key = crypto.generate_prvkey()
    for i in range(20):
        sig = crypto.sign(f"payload-{i}", key)
        assert sig == crypto.sign(f"payload-{i}", key)
        raw = bytes.fromhex(sig)
        assert len(raw) == 65
        assert raw[64] in (0, 1, 2, 3)
        assert int.from_bytes(raw[32:64], "big") <= CURVE_N // 2


def test_getcoloniesmsg_envelope_vector() -> None:
    payload = base64.b64encode(GETCOLONIES_JSON.encode()).decode()
    assert payload == GETCOLONIES_PAYLOAD
    assert crypto.hash_text(payload) == GETCOLONIES_DIGEST
    assert crypto.sign(payload, SERVER_KEY) == GETCOLONIES_SIG
    assert crypto.recover_id(payload, GETCOLONIES_SIG) == SERVER_ID


# --- refused signatures -------------------------------------------------------------------------------------


def _high_s_twin(signature: str) -> str:
    """The malleable twin (r, n - s, v ^ 1): recovers the same key in a lax verifier."""
    raw = bytes.fromhex(signature)
    s = int.from_bytes(raw[32:64], "big")
    return (raw[:32] + (CURVE_N - s).to_bytes(32, "big") + bytes([raw[64] ^ 1])).hex()


def test_high_s_signature_refused() -> None:
    twin = _high_s_twin(GETCOLONY_SIG)
    assert int(twin[64:128], 16) > CURVE_N // 2
    # Sanity: a lax recovery of the twin yields the same key, so refusing it is a deliberate check.
    from coincurve import PublicKey

    lax = PublicKey.from_signature_and_message(
        bytes.fromhex(twin), bytes.fromhex(GETCOLONY_DIGEST), hasher=None
    )
    assert crypto.id_from_pubkey(lax.format(compressed=False)) == EXECUTOR_ID
    with pytest.raises(CryptoError):
        crypto.recover_id(GETCOLONY_PAYLOAD, twin)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        GETCOLONY_SIG[:-2],  # 64 bytes
        GETCOLONY_SIG + "00",  # 66 bytes
        GETCOLONY_SIG[:-1],  # odd length
        "zz" * 65,  # not hex
        "g" + GETCOLONY_SIG[1:],  # one non-hex char
        GETCOLONY_SIG[:-2] + "04",  # recovery id out of range
        GETCOLONY_SIG[:-2] + "1b",  # 27: Ethereum-style v is not accepted
        "00" * 65,  # r = s = 0
    ],
)
def test_malformed_signatures_raise_crypto_error(bad: str) -> None:
    with pytest.raises(CryptoError):
        crypto.recover_id(GETCOLONY_PAYLOAD, bad)


# --- the vectors against a real server ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def known_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A server owned by the well-known server key, with colony "dev" and the well-known approved executor."""
    from conftest import start_server

    srv = start_server(str(tmp_path_factory.mktemp("known")), "--server-id", SERVER_ID, "--allow-well-known-keys")
    try:
        srv.call("addcolonymsg", {"colony": {"colonyid": COLONY_ID, "name": "dev"}}, SERVER_KEY)
        srv.call(
            "addexecutormsg",
            {
                "executor": {
                    "executorid": EXECUTOR_ID,
                    "executorname": "myexecutor",
                    "executortype": "cli",
                    "colonyname": "dev",
                }
            },
            COLONY_KEY,
        )
        srv.call("approveexecutormsg", {"colonyname": "dev", "executorname": "myexecutor"}, COLONY_KEY)
        yield srv
    finally:
        srv.stop()


def _post(srv: Any, body: bytes) -> tuple[int, dict[str, Any], Any]:
    response = httpx.post(srv.url + "/api", content=body, timeout=10)
    envelope = orjson.loads(response.content)
    return response.status_code, envelope, orjson.loads(base64.b64decode(envelope["payload"]))


def test_server_accepts_getcoloniesmsg_envelope_vector(known_server: Any) -> None:
    # Exactly the body pycolonies sends (spaces after separators, this key order).
    body = (
        '{"payloadtype": "getcoloniesmsg", "payload": "'
        + GETCOLONIES_PAYLOAD
        + '", "signature": "'
        + GETCOLONIES_SIG
        + '"}'
    )
    status, envelope, payload = _post(known_server, body.encode())
    assert status == 200
    assert envelope["payloadtype"] == "getcoloniesmsg" and envelope["error"] is False
    assert payload == [{"colonyid": COLONY_ID, "name": "dev"}]


def test_server_accepts_worked_example_envelope(known_server: Any) -> None:
    body = (
        '{"signature":"'
        + GETCOLONY_SIG
        + '","payloadtype":"getcolonymsg","payload":"'
        + GETCOLONY_PAYLOAD
        + '"}'
    )
    status, envelope, payload = _post(known_server, body.encode())
    assert status == 200, payload
    assert envelope["payloadtype"] == "getcolonymsg"
    assert payload == {"colonyid": COLONY_ID, "name": "dev"}


def test_server_refuses_high_s_twin_with_403(known_server: Any) -> None:
    body = orjson.dumps(
        {
            "signature": _high_s_twin(GETCOLONY_SIG),
            "payloadtype": "getcolonymsg",
            "payload": GETCOLONY_PAYLOAD,
        }
    )
    status, envelope, payload = _post(known_server, body)
    assert status == 403
    assert envelope["error"] is True and envelope["payloadtype"] == "error"
    assert payload["status"] == 403


@pytest.mark.parametrize("bad", [GETCOLONY_SIG[:-2], "zz" * 65, GETCOLONY_SIG[:-2] + "07"])
def test_server_refuses_malformed_signature_with_403(known_server: Any, bad: str) -> None:
    body = orjson.dumps({"signature": bad, "payloadtype": "getcolonymsg", "payload": GETCOLONY_PAYLOAD})
    status, _, payload = _post(known_server, body)
    assert status == 403 and payload["status"] == 403


def test_signature_over_other_payload_is_someone_else(known_server: Any) -> None:
    """The signature covers the base64 text: on another payload it recovers another id → 403."""
    other = base64.b64encode(b'{"colonyname":"dev","msgtype":"getcolonymsg" }').decode()
    body = orjson.dumps({"signature": GETCOLONY_SIG, "payloadtype": "getcolonymsg", "payload": other})
    status, _, payload = _post(known_server, body)
    assert status == 403, payload

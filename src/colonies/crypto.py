"""secp256k1 identities exactly as ColonyOS defines them (protocol §1.3).

Signatures are recoverable ECDSA over SHA3-256 of the *base64 payload text*; an identity (server, colony, executor,
user) is SHA3-256 of the lowercase hex text of the uncompressed public key. libsecp256k1 (via coincurve) does the
curve work; nothing here is hand-rolled.
"""

from __future__ import annotations

import functools
import hashlib
import os

from coincurve import PrivateKey, PublicKey

#: Half the curve order: signatures with s above it are malleable twins and are refused.
_HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0


class CryptoError(Exception):
    """A key or signature that cannot be used."""


def hash_text(text: str) -> str:
    """SHA3-256 (FIPS-202, not Keccak) of a text, as lowercase hex."""
    return hashlib.sha3_256(text.encode("utf-8")).hexdigest()


def random_id() -> str:
    """A random 64-hex id for processes, graphs, functions (the Go server hashes a UUID; any 256 random bits do)."""
    return os.urandom(32).hex()


def generate_prvkey() -> str:
    """A new private key as 64 hex chars."""
    return PrivateKey().secret.hex()


@functools.lru_cache(maxsize=256)
def _private_key(prvkey: str) -> PrivateKey:
    """Parsed once per key: deriving the public key is most of the cost of signing."""
    try:
        secret = bytes.fromhex(prvkey)
        if len(secret) != 32:
            raise ValueError("a private key is 32 bytes (64 hex characters)")
        return PrivateKey(secret)
    except (ValueError, TypeError) as exc:
        raise CryptoError(f"Invalid private key: {exc}") from None


def id_from_pubkey(pubkey65: bytes) -> str:
    return hashlib.sha3_256(pubkey65.hex().encode("ascii")).hexdigest()


def id_from_prvkey(prvkey: str) -> str:
    """The identity of a key: SHA3-256 of the hex text of its uncompressed public key."""
    return id_from_pubkey(_private_key(prvkey).public_key.format(compressed=False))


def sign(payload: str, prvkey: str) -> str:
    """Sign a payload text; returns hex of r(32)||s(32)||v(1), v in 0..3, low-S (RFC 6979 nonce)."""
    digest = hashlib.sha3_256(payload.encode("utf-8")).digest()
    return _private_key(prvkey).sign_recoverable(digest, hasher=None).hex()


def recover_id(payload: str | bytes, signature: str) -> str:
    """Recover the signer's identity from a payload text and a hex signature; raises CryptoError."""
    try:
        sig = bytes.fromhex(signature)
    except (ValueError, TypeError):
        raise CryptoError("Invalid signature: not hex") from None
    if len(sig) != 65:
        raise CryptoError("Invalid signature length")
    if sig[64] > 3:
        raise CryptoError("Invalid signature recovery id")
    if int.from_bytes(sig[32:64], "big") > _HALF_N:
        raise CryptoError("Signature s value is over half the order")
    data = payload.encode("utf-8") if isinstance(payload, str) else payload
    digest = hashlib.sha3_256(data).digest()
    try:
        pub = PublicKey.from_signature_and_message(sig, digest, hasher=None)
    except Exception:  # coincurve raises plain Exception on unrecoverable signatures
        raise CryptoError("Invalid signature: public key cannot be recovered") from None
    return id_from_pubkey(pub.format(compressed=False))


class Crypto:
    """pycolonies-compatible facade: ``Crypto().prvkey()``, ``.id(key)``, ``.sign(data, key)``."""

    def __init__(self, native: bool = False) -> None:
        self.native = native

    def prvkey(self) -> str:
        return generate_prvkey()

    def id(self, prvkey: str) -> str:
        return id_from_prvkey(prvkey)

    def sign(self, data: str, prvkey: str) -> str:
        return sign(data, prvkey)

    def hash(self, data: str) -> str:
        return hash_text(data)

    def recoverid(self, data: str, signature: str) -> str:
        return recover_id(data, signature)

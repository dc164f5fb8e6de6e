"""How Paillier keys and ciphertexts travel through the workflow, as text.

* Public key: base64 of the JSON ``{"n": "<decimal>"}``, as in the original ColonyOS example. It is the
  ``paillier-pubkey`` keyword argument of every node of the workflow.
* Encrypted number: base64 of the JSON ``{"ciphertext": "<decimal>", "exponent": <int>}``. This is the only thing a
  hospital sends out, and the only thing the cloud sees and returns. The original example's format, base64 of the
  bare decimal ciphertext, is also accepted (exponent 0).
* Private key: the JSON ``{"p": "<decimal>", "q": "<decimal>"}`` in ``private_key.json``. Only ``generate_keys.py``
  writes it and only ``decrypt.py`` reads it; it is never part of a workflow.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from phe import paillier


def _b64_json(data: Any) -> str:
    return base64.b64encode(json.dumps(data).encode()).decode()


def public_key_to_b64(public_key: paillier.PaillierPublicKey) -> str:
    return _b64_json({"n": str(public_key.n)})


def public_key_from_b64(text: str) -> paillier.PaillierPublicKey:
    data = json.loads(base64.b64decode(text))
    return paillier.PaillierPublicKey(n=int(data["n"]))


def encrypted_to_b64(number: paillier.EncryptedNumber) -> str:
    # ciphertext(be_secure=True) re-randomises a ciphertext that has not been obfuscated yet.
    return _b64_json({"ciphertext": str(number.ciphertext()), "exponent": number.exponent})


def decode_encrypted(text: str) -> dict[str, Any]:
    """The ciphertext object behind ``text``: ``{"ciphertext": int, "exponent": int}``. Raises ValueError."""
    raw = base64.b64decode(text, validate=True).decode()
    if raw.strip().isdigit():  # the original example: base64(str(ciphertext))
        return {"ciphertext": int(raw), "exponent": 0}
    data = json.loads(raw)
    if not isinstance(data, dict) or set(data) != {"ciphertext", "exponent"}:
        raise ValueError("not an encrypted number: expected the keys ciphertext and exponent")
    return {"ciphertext": int(data["ciphertext"]), "exponent": int(data["exponent"])}


def encrypted_from_b64(public_key: paillier.PaillierPublicKey, text: str) -> paillier.EncryptedNumber:
    data = decode_encrypted(text)
    return paillier.EncryptedNumber(public_key, data["ciphertext"], data["exponent"])


def private_key_to_json(private_key: paillier.PaillierPrivateKey) -> str:
    return json.dumps({"p": str(private_key.p), "q": str(private_key.q)})


def private_key_from_json(text: str) -> paillier.PaillierPrivateKey:
    data = json.loads(text)
    p, q = int(data["p"]), int(data["q"])
    return paillier.PaillierPrivateKey(paillier.PaillierPublicKey(n=p * q), p, q)

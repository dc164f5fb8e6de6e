"""Client-side encryption of ColonyFS contents: the store (S3, or a directory) only ever holds ciphertext, and the
key never leaves the clients that share it (the server sees neither key nor plaintext).

Set ``COLONIES_FS_ENCRYPTION_KEY`` (64 hex digits, 32 random bytes: ``python -c "import os;
print(os.urandom(32).hex())"``) or ``COLONIES_FS_ENCRYPTION_KEY_FILE`` on every client and executor that shares the
files. Uploads are then encrypted, and the file's ``ref.s3object.encryptionalg`` says how and with which key:
``AES-256-GCM-STREAM:<key id>`` (the id is a hash of the key, so a client with another key fails with a clear
error, not with garbage). The original's ``encryptionkey`` field stays empty: a key stored on the server would
protect nothing. Checksums and sizes are those of the plaintext, so sync compares contents, not ciphertexts.

Format: ``CFSE1`` and a 7-byte random prefix, then the plaintext in 1 MiB chunks, each sealed with AES-256-GCM
(nonce = prefix, chunk number, last-chunk flag), so a truncated, reordered or spliced object fails to decrypt.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import IO, Any

from .stores import FsError

ALGORITHM = "AES-256-GCM-STREAM"
MAGIC = b"CFSE1"
PREFIX = 7
CHUNK = 1024 * 1024
TAG = 16


def _aesgcm(key: bytes) -> Any:
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    except ImportError:  # pragma: no cover - the extra is missing
        raise FsError("encrypted files need the cryptography package (pip install 'colonies[encryption]')") from None
    return AESGCM(key)


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"colonies-fs-key:" + key).hexdigest()[:16]


def configured_key() -> bytes | None:
    """This client's key, from ``COLONIES_FS_ENCRYPTION_KEY`` or ``..._FILE``; None when files go unencrypted."""
    text = os.environ.get("COLONIES_FS_ENCRYPTION_KEY", "").strip()
    path = os.environ.get("COLONIES_FS_ENCRYPTION_KEY_FILE", "").strip()
    if not text and path:
        try:
            text = Path(path).read_text().strip()
        except OSError as exc:
            raise FsError(f"cannot read COLONIES_FS_ENCRYPTION_KEY_FILE {path}: {exc.strerror or exc}") from None
    if not text:
        return None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != 32:
        raise FsError("the ColonyFS encryption key must be 64 hex digits (32 bytes)")
    return key


def algorithm_for(key: bytes) -> str:
    """The ``encryptionalg`` recorded with files encrypted under ``key``."""
    return f"{ALGORITHM}:{key_id(key)}"


def key_for(algorithm: str) -> bytes:
    """The key that opens a file recorded with ``algorithm``; a clear error when this client does not have it."""
    name, _, wanted = algorithm.partition(":")
    if name != ALGORITHM:
        raise FsError(f"the file is encrypted with {algorithm!r}, which this client cannot read")
    key = configured_key()
    if key is None:
        raise FsError(f"the file is encrypted (key {wanted}): set COLONIES_FS_ENCRYPTION_KEY to read it")
    if key_id(key) != wanted:
        raise FsError(f"the file is encrypted with key {wanted}, but this client's key is {key_id(key)}")
    return key


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    return prefix + index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


class EncryptingReader:
    """Reads ``source`` and gives its ciphertext, for a store's ``put`` (which only calls ``read``)."""

    def __init__(self, source: IO[bytes], key: bytes) -> None:
        self._source = source
        self._aead = _aesgcm(key)
        self._prefix = os.urandom(PREFIX)
        self._out = bytearray(MAGIC + self._prefix)
        self._index = 0
        self._next = source.read(CHUNK)
        self._done = False

    def _seal_next(self) -> None:
        current, self._next = self._next, self._source.read(CHUNK)
        last = not self._next
        if self._index >= 2**32:
            raise FsError("file too large to encrypt")
        self._out += self._aead.encrypt(_nonce(self._prefix, self._index, last), current, MAGIC)
        self._index += 1
        self._done = last

    def read(self, size: int = -1) -> bytes:
        while not self._done and (size < 0 or len(self._out) < size):
            self._seal_next()
        size = len(self._out) if size < 0 else min(size, len(self._out))
        data = bytes(self._out[:size])
        del self._out[:size]
        return data


class DecryptingWriter:
    """Takes ciphertext as a store's ``get`` writes it and writes the plaintext to ``target``; :meth:`finish`
    checks that the object ended where its writer ended it."""

    def __init__(self, target: IO[bytes], key: bytes) -> None:
        self._target = target
        self._aead = _aesgcm(key)
        self._buffer = bytearray()
        self._prefix: bytes | None = None
        self._index = 0

    def write(self, data: bytes) -> int:
        self._buffer += data
        if self._prefix is None and len(self._buffer) >= len(MAGIC) + PREFIX:
            if bytes(self._buffer[:len(MAGIC)]) != MAGIC:
                raise FsError("the stored object is not a ColonyFS encrypted file")
            self._prefix = bytes(self._buffer[len(MAGIC):len(MAGIC) + PREFIX])
            del self._buffer[:len(MAGIC) + PREFIX]
        while self._prefix is not None and len(self._buffer) > CHUNK + TAG:  # more follows: not the last chunk
            self._open(bytes(self._buffer[:CHUNK + TAG]), last=False)
            del self._buffer[:CHUNK + TAG]
        return len(data)

    def _open(self, sealed: bytes, last: bool) -> None:
        from cryptography.exceptions import InvalidTag

        assert self._prefix is not None
        try:
            plain = self._aead.decrypt(_nonce(self._prefix, self._index, last), sealed, MAGIC)
        except InvalidTag:
            raise FsError("the stored object does not decrypt: altered, truncated, or another key") from None
        self._index += 1
        self._target.write(plain)

    def finish(self) -> None:
        if self._prefix is None or len(self._buffer) < TAG:
            raise FsError("the stored object is truncated")
        self._open(bytes(self._buffer), last=True)
        self._buffer.clear()


__all__ = ["ALGORITHM", "DecryptingWriter", "EncryptingReader", "algorithm_for", "configured_key", "key_for",
           "key_id"]

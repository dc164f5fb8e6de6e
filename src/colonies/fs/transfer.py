"""Files in and out of ColonyFS: bytes to the store first, then the metadata to the server (so an interrupted
upload never leaves a registered file without its bytes), checksums verified on every download.

These functions take a synchronous :class:`~colonies.client.Colonies`; the SDK's ``upload_file`` and friends call
them with the pycolonies argument order.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from .crypt import DecryptingWriter, EncryptingReader, algorithm_for, configured_key, key_for
from .stores import ChecksumMismatch, FsError, new_object_name, store_for, upload_store

if TYPE_CHECKING:
    from ..client.client import Colonies

CHUNK = 1024 * 1024


def normalise_label(label: str | None) -> str:
    """One leading "/", no trailing one: the original's label form."""
    return "/" + (label or "").strip().strip("/")


def sha256_of(path: str | Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


class _HashingWriter:
    """Writes through to ``target`` and hashes on the way; no ``seek``, so boto3 writes it in order."""

    def __init__(self, target: IO[bytes]) -> None:
        self.target = target
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.target.write(data)


def _register(client: Colonies, colonyname: str, prvkey: str, label: str, name: str, checksum: str, size: int,
              source: IO[bytes]) -> dict[str, Any]:  # fmt: skip
    store = upload_store()
    obj = new_object_name()
    ref = store.ref(obj)
    key = configured_key()
    if key is not None:  # the store gets ciphertext; the checksum and size stay the plaintext's
        source = EncryptingReader(source, key)  # type: ignore[assignment]
        ref["s3object"]["encryptionalg"] = algorithm_for(key)
    store.put(obj, source)
    file = {"fileid": "", "colonyname": colonyname, "label": normalise_label(label), "name": name, "size": size,
            "sequencenr": 1, "checksum": checksum, "checksumalg": "SHA256", "ref": ref, "added": None}
    try:
        return dict(client.add_file(file, prvkey))
    except BaseException:
        store.delete(obj)  # not registered: the bytes go too
        raise


def upload_file(client: Colonies, colonyname: str, prvkey: str, filepath: str | Path, label: str) -> dict[str, Any]:
    """Upload ``filepath`` under ``label`` (a new revision if the name is there already); the file's metadata."""
    path = Path(filepath)
    if not path.is_file():
        raise FsError(f"{path} is not a file")
    checksum, size = sha256_of(path)
    with open(path, "rb") as source:
        return _register(client, colonyname, prvkey, label, path.name, checksum, size, source)


def upload_data(client: Colonies, colonyname: str, prvkey: str, filename: str, data: bytes,
                label: str) -> dict[str, Any]:  # fmt: skip
    data = bytes(data)
    checksum = hashlib.sha256(data).hexdigest()
    return _register(client, colonyname, prvkey, label, filename, checksum, len(data), io.BytesIO(data))


def _one(client: Colonies, colonyname: str, prvkey: str, label: str | None, fileid: str | None,
         filename: str | None, latest: bool = True) -> dict[str, Any]:  # fmt: skip
    files = client.get_file(colonyname, prvkey, label=label, fileid=fileid, filename=filename, latest=latest)
    if not files:
        raise FsError(f"no file {fileid or f'{label}/{filename}'} in colony {colonyname}")
    return dict(files[0])


def _fetch(file: dict[str, Any], target: IO[bytes]) -> None:
    """The file's bytes into ``target``; raises ChecksumMismatch (after writing) when they are not what the server
    recorded."""
    writer = _HashingWriter(target)
    ref = file.get("ref") or {}
    s3object = ref.get("s3object") or {}
    algorithm = str(s3object.get("encryptionalg") or "")
    if algorithm:
        decrypting = DecryptingWriter(writer, key_for(algorithm))  # type: ignore[arg-type]
        store_for(ref).get(str(s3object.get("object", "")), decrypting)  # type: ignore[arg-type]
        decrypting.finish()
    else:
        store_for(ref).get(str(s3object.get("object", "")), writer)  # type: ignore[arg-type]
    expected = str(file.get("checksum", "")).lower()
    if expected and writer.digest.hexdigest() != expected:
        raise ChecksumMismatch(f"{file.get('label')}/{file.get('name')}: checksum {writer.digest.hexdigest()} "
                               f"does not match the recorded {expected}; the download was discarded")  # fmt: skip


def download_to(file: dict[str, Any], path: str | Path) -> Path:
    """Download one file (metadata as the server gives it) to ``path`` atomically: a temporary file in the same
    directory, renamed only once its checksum is right."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            _fetch(file, out)
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return path


def download_file(client: Colonies, colonyname: str, prvkey: str, dst: str | Path | None = None,
                  label: str | None = None, fileid: str | None = None, filename: str | None = None,
                  latest: bool = True) -> str:  # fmt: skip
    file = _one(client, colonyname, prvkey, label, fileid, filename, latest)
    name = str(file.get("name", ""))
    if not name or "/" in name or name in (".", ".."):
        raise FsError(f"refusing to write a file named {name!r}")
    return str(download_to(file, Path(dst or ".") / name))


def download_data(client: Colonies, colonyname: str, prvkey: str, label: str | None = None,
                  fileid: str | None = None, filename: str | None = None, latest: bool = True) -> bytes:  # fmt: skip
    file = _one(client, colonyname, prvkey, label, fileid, filename, latest)
    buffer = io.BytesIO()
    _fetch(file, buffer)
    return buffer.getvalue()


def delete_file(client: Colonies, colonyname: str, prvkey: str, label: str | None = None,
                fileid: str | None = None, filename: str | None = None) -> None:  # fmt: skip
    """Every revision (by label and name) or the one revision (by id): bytes, then metadata."""
    files = client.get_file(colonyname, prvkey, label=label, fileid=fileid, filename=filename, latest=False)
    for file in files or []:
        ref = file.get("ref") or {}
        store_for(ref).delete(str(ref.get("s3object", {}).get("object", "")))
        client.remove_file(colonyname, prvkey, fileid=file["fileid"])


def download_snapshot(client: Colonies, colonyname: str, prvkey: str, directory: str | Path,
                      snapshotid: str = "", name: str = "") -> list[Path]:  # fmt: skip
    """Every file of a snapshot into ``directory``, sub-labels as sub-directories; the paths written."""
    if snapshotid:
        snapshot = client.get_snapshot_by_id(colonyname, snapshotid, prvkey)
    else:
        snapshot = client.get_snapshot_by_name(colonyname, name, prvkey)
    base = normalise_label(snapshot["label"])
    written = []
    for fid in snapshot.get("fileids") or []:
        file = _one(client, colonyname, prvkey, None, fid, None)
        relative = normalise_label(file["label"])[len(base):].strip("/")
        if ".." in relative.split("/"):
            raise FsError(f"refusing label {file['label']!r}")
        written.append(download_to(file, Path(directory) / relative / file["name"]))
    return written

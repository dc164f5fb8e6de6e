"""ColonyFS from the client side against a real server and a real S3 API (moto_server on localhost) or the local
directory store: the original SDK's names (upload_data, download_data, get_files, create_snapshot...), revisions,
snapshots, sync, checksums, and uploads that fail half-way."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from conftest import Colony, Server, create_colony
from s3_server import S3Server, s3_server

from colonies.fs import ChecksumMismatch, FsError, sync
from colonies.fs.transfer import _register
from pycolonies import Colonies

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with s3_server(tmp_path_factory.mktemp("moto")) as running:
        yield running


@pytest.fixture(params=["s3", "local"])
def store(request: pytest.FixtureRequest, s3: S3Server, tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> str:  # fmt: skip
    """Which store the client uses: S3 (AWS_S3_*) or a local directory (COLONIES_FS_DIR)."""
    for name in [n for n in os.environ if n.startswith("AWS_S3_") or n == "COLONIES_FS_DIR"]:
        monkeypatch.delenv(name)
    if request.param == "s3":
        for key, value in s3.env(bucket=f"b{os.urandom(4).hex()}").items():
            monkeypatch.setenv(key, value)
    else:
        monkeypatch.setenv("COLONIES_FS_DIR", str(tmp_path / "store"))
    return str(request.param)


@pytest.fixture
def sdk(server: Server) -> Iterator[tuple[Colonies, Colony]]:
    client = Colonies("127.0.0.1", server.port)
    try:
        yield client, create_colony(server)
    finally:
        client.close_connection()


def stored_objects() -> dict[str, bytes]:
    """Every object in the current store, by name."""
    if os.environ.get("AWS_S3_ENDPOINT"):
        s3 = boto3.client("s3", endpoint_url=f"http://{os.environ['AWS_S3_ENDPOINT']}", aws_access_key_id="testing",
                          aws_secret_access_key="testing-secret", region_name="us-east-1")  # fmt: skip
        try:
            listing = s3.list_objects_v2(Bucket=os.environ["AWS_S3_BUCKET"]).get("Contents", [])
        except s3.exceptions.NoSuchBucket:
            return {}
        return {o["Key"]: s3.get_object(Bucket=os.environ["AWS_S3_BUCKET"], Key=o["Key"])["Body"].read()
                for o in listing}  # fmt: skip
    root = Path(os.environ["COLONIES_FS_DIR"])
    return {p.name: p.read_bytes() for p in root.glob("*") if p.is_file()} if root.exists() else {}


def overwrite_object(name: str, data: bytes) -> None:
    if os.environ.get("AWS_S3_ENDPOINT"):
        s3 = boto3.client("s3", endpoint_url=f"http://{os.environ['AWS_S3_ENDPOINT']}", aws_access_key_id="testing",
                          aws_secret_access_key="testing-secret", region_name="us-east-1")  # fmt: skip
        s3.put_object(Bucket=os.environ["AWS_S3_BUCKET"], Key=name, Body=data)
    else:
        (Path(os.environ["COLONIES_FS_DIR"]) / name).write_bytes(data)


# -- the original SDK's calls ----------------------------------------------------------------------------------------


def test_upload_and_download_with_the_original_sdk_names(sdk: tuple[Colonies, Colony], store: str,
                                                         tmp_path: Path) -> None:  # fmt: skip
    client, colony = sdk
    key = colony.user.prvkey
    first = client.upload_data(colony.name, key, filename="data.csv", data=b"a,b\n1,2\n", label="results/")
    assert first["label"] == "/results" and first["name"] == "data.csv" and first["size"] == 8
    assert first["checksum"] == hashlib.sha256(b"a,b\n1,2\n").hexdigest() and first["checksumalg"] == "SHA256"
    s3object = first["ref"]["s3object"]
    assert first["ref"]["protocol"] == store and s3object["secretkey"] == "" and s3object["encryptionkey"] == ""
    assert client.download_data(colony.name, key, label="/results", filename="data.csv") == b"a,b\n1,2\n"

    second = client.upload_data(colony.name, key, filename="data.csv", data=b"a,b\n3,4\n", label="/results")
    assert second["sequencenr"] > first["sequencenr"]
    assert client.download_data(colony.name, key, label="/results", filename="data.csv") == b"a,b\n3,4\n"
    assert client.download_data(colony.name, key, fileid=first["fileid"]) == b"a,b\n1,2\n"
    revisions = client.get_file(colony.name, key, label="/results", filename="data.csv", latest=False)
    assert [r["fileid"] for r in revisions] == [second["fileid"], first["fileid"]]
    listed = client.get_files("/results", colony.name, key)
    assert [(f["name"], f["checksum"]) for f in listed] == [("data.csv", second["checksum"])]

    path = client.download_file(colony.name, key, dst=str(tmp_path), label="/results", filename="data.csv")
    assert Path(path) == tmp_path / "data.csv" and Path(path).read_bytes() == b"a,b\n3,4\n"
    source = tmp_path / "model.bin"
    source.write_bytes(os.urandom(3000))
    uploaded = client.upload_file(colony.name, key, filepath=str(source), label="/models")
    assert client.download_data(colony.name, key, fileid=uploaded["fileid"]) == source.read_bytes()
    labels = {entry["name"]: entry["files"] for entry in client.get_file_labels(colony.name, key)}
    assert labels == {"/results": 1, "/models": 1}

    client.delete_file(colony.name, key, label="/results", filename="data.csv")
    assert client.get_files("/results", colony.name, key) == []
    assert len(stored_objects()) == 1  # the bytes of both revisions are gone; the model's remain


def test_a_snapshot_freezes_the_latest_revisions_and_downloads_as_a_tree(sdk: tuple[Colonies, Colony], store: str,
                                                                        tmp_path: Path) -> None:  # fmt: skip
    client, colony = sdk
    key = colony.user.prvkey
    client.upload_data(colony.name, key, filename="a.txt", data=b"old", label="/data")
    client.upload_data(colony.name, key, filename="a.txt", data=b"new", label="/data")
    client.upload_data(colony.name, key, filename="b.txt", data=b"deep", label="/data/sub")
    client.upload_data(colony.name, key, filename="c.txt", data=b"sibling", label="/data2")
    snapshot = client.create_snapshot(colony.name, "/data", "v1", key)
    assert len(snapshot["fileids"]) == 2
    client.upload_data(colony.name, key, filename="a.txt", data=b"newer", label="/data")  # after the snapshot
    assert client.get_snapshot_by_name(colony.name, "v1", key)["snapshotid"] == snapshot["snapshotid"]
    written = client.download_snapshot(colony.name, key, str(tmp_path / "out"), name="v1")
    assert sorted(Path(p).relative_to(tmp_path / "out").as_posix() for p in written) == ["a.txt", "sub/b.txt"]
    assert (tmp_path / "out" / "a.txt").read_bytes() == b"new"
    assert [s["name"] for s in client.get_snapshots(colony.name, key)] == ["v1"]


# -- integrity ----------------------------------------------------------------------------------------------------


def test_a_checksum_mismatch_is_an_error_and_nothing_is_kept(sdk: tuple[Colonies, Colony], store: str,
                                                             tmp_path: Path) -> None:  # fmt: skip
    client, colony = sdk
    key = colony.user.prvkey
    file = client.upload_data(colony.name, key, filename="x.bin", data=b"the real bytes", label="/x")
    overwrite_object(file["ref"]["s3object"]["object"], b"tampered bytes")
    with pytest.raises(ChecksumMismatch, match="does not match the recorded"):
        client.download_data(colony.name, key, fileid=file["fileid"])
    with pytest.raises(ChecksumMismatch):
        client.download_file(colony.name, key, dst=str(tmp_path), fileid=file["fileid"])
    assert list(tmp_path.iterdir()) == [] or not any(p.name.startswith("x.bin") for p in tmp_path.iterdir())


class _Breaks(io.RawIOBase):
    """A source that fails after ``after`` bytes, as a disk error or a killed client would."""

    def __init__(self, after: int) -> None:
        self.left = after

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.left <= 0:
            raise OSError("disk read error")
        n = min(len(buffer), self.left, 65536)
        buffer[:n] = b"x" * n
        self.left -= n
        return n


def test_an_interrupted_upload_registers_nothing(sdk: tuple[Colonies, Colony], store: str) -> None:
    client, colony = sdk
    key = colony.user.prvkey
    with pytest.raises((FsError, OSError)):
        _register(client, colony.name, key, "/broken", "big.bin", "0" * 64, 20 * 1024 * 1024,
                  io.BufferedReader(_Breaks(9 * 1024 * 1024)))  # fmt: skip
    assert client.get_files("/broken", colony.name, key) == []
    # Refused by the server (not a member): the bytes already stored are removed again.
    with pytest.raises(Exception, match="403|[Aa]ccess|member"):
        client.upload_data(colony.name, colony.owner.prvkey, filename="y", data=b"y", label="/refused")
    assert stored_objects() == {}


def test_large_files_go_in_parts_and_come_back_whole(sdk: tuple[Colonies, Colony], store: str,
                                                     tmp_path: Path) -> None:  # fmt: skip
    client, colony = sdk
    key = colony.user.prvkey
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(20 * 1024 * 1024 + 5))
    file = client.upload_file(colony.name, key, filepath=str(big), label="/big")
    back = client.download_file(colony.name, key, dst=str(tmp_path / "back"), fileid=file["fileid"])
    assert hashlib.sha256(Path(back).read_bytes()).hexdigest() == file["checksum"]


# -- sync ---------------------------------------------------------------------------------------------------------


def test_sync_uploads_downloads_and_resolves_conflicts_by_keeplocal(sdk: tuple[Colonies, Colony], store: str,
                                                                    tmp_path: Path) -> None:  # fmt: skip
    client, colony = sdk
    key = colony.user.prvkey
    mine = tmp_path / "mine"
    (mine / "sub").mkdir(parents=True)
    (mine / "a.txt").write_text("a1")
    (mine / "sub" / "b.txt").write_text("b1")
    first = client.sync(str(mine), "/proj", True, colony.name, key)
    assert sorted((c.action, c.label, c.name) for c in first.changes) == [
        ("upload", "/proj", "a.txt"), ("upload", "/proj/sub", "b.txt")]
    assert client.sync(str(mine), "/proj", True, colony.name, key).changes == []  # incremental: nothing to do

    theirs = tmp_path / "theirs"
    pulled = client.sync(str(theirs), "/proj", False, colony.name, key)
    assert sorted(c.action for c in pulled.changes) == ["download", "download"]
    assert (theirs / "sub" / "b.txt").read_text() == "b1"

    (theirs / "a.txt").write_text("a2-theirs")
    client.sync(str(theirs), "/proj", True, colony.name, key)  # keeplocal: their copy becomes the latest
    (mine / "a.txt").write_text("a3-mine")
    dry = sync(client, colony.name, key, mine, "/proj", keeplocal=False, dry=True)
    assert [(c.action, c.name, c.conflict) for c in dry.changes] == [("download", "a.txt", True)]
    assert (mine / "a.txt").read_text() == "a3-mine"  # a dry run changes nothing
    client.sync(str(mine), "/proj", False, colony.name, key)
    assert (mine / "a.txt").read_text() == "a2-theirs"  # not keeplocal: the server's copy wins


def test_the_async_client_transfers_too(server: Server, store: str) -> None:
    import asyncio

    from colonies.client import AsyncColonies

    colony = create_colony(server)

    async def roundtrip() -> bytes:
        async with AsyncColonies("127.0.0.1", server.port) as client:
            await client.upload_data(colony.name, colony.user.prvkey, filename="a", data=b"async", label="/aio")
            return await client.download_data(colony.name, colony.user.prvkey, label="/aio", filename="a")

    assert asyncio.run(roundtrip()) == b"async"


def test_the_fs_command(server: Server, tmp_path: Path) -> None:
    """colonies fs sync / ls / label ls / get / snapshot, as a person types them (local store)."""
    import json
    import subprocess
    import sys

    colony = create_colony(server)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COLONIES_", "AWS_S3_"))}
    env.update({"COLONIES_SERVER_HOST": "127.0.0.1", "COLONIES_SERVER_PORT": str(server.port),
                "COLONIES_SERVER_TLS": "false", "COLONIES_COLONY_NAME": colony.name,
                "COLONIES_PRVKEY": colony.user.prvkey, "COLONIES_FS_DIR": str(tmp_path / "store")})  # fmt: skip
    colonies = str(Path(sys.executable).parent / "colonies")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([colonies, *args], env=env, capture_output=True, text=True, timeout=60)

    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    (work / "a.txt").write_text("alpha")
    (work / "sub" / "b.txt").write_text("beta")
    dry = run("--json", "fs", "sync", "-l", "/proj", "-d", str(work), "--dry")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["uploads"] == 2
    done = run("fs", "sync", "-l", "/proj", "-d", str(work), "--yes")
    assert done.returncode == 0 and "2 uploaded" in done.stderr + done.stdout, done.stderr
    listed = run("--json", "fs", "ls", "-l", "/proj")
    assert [f["name"] for f in json.loads(listed.stdout)] == ["a.txt"]
    labels = run("--json", "fs", "label", "ls")
    assert {x["name"] for x in json.loads(labels.stdout)} == {"/proj", "/proj/sub"}
    got = run("fs", "get", "-l", "/proj/sub", "-n", "b.txt", "-d", str(tmp_path / "got"))
    assert got.returncode == 0 and (tmp_path / "got" / "b.txt").read_text() == "beta"
    assert run("fs", "snapshot", "create", "-l", "/proj", "-n", "s1").returncode == 0
    out = run("fs", "snapshot", "download", "-n", "s1", "-d", str(tmp_path / "snap"))
    assert out.returncode == 0 and (tmp_path / "snap" / "sub" / "b.txt").read_text() == "beta"
    missing = run("fs", "get", "-l", "/proj", "-n", "nope.txt")
    assert missing.returncode != 0 and "Traceback" not in missing.stderr
    env.pop("COLONIES_FS_DIR")
    nostore = run("fs", "sync", "-l", "/other", "-d", str(work), "--yes")
    assert nostore.returncode != 0 and "no store for file contents" in nostore.stderr
    assert "Traceback" not in nostore.stderr


# -- client-side encryption ------------------------------------------------------------------------------------------


def test_encrypted_files_are_ciphertext_in_the_store_and_plaintext_to_key_holders(
        sdk: tuple[Colonies, Colony], store: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:  # fmt: skip
    client, colony = sdk
    key = os.urandom(32).hex()
    monkeypatch.setenv("COLONIES_FS_ENCRYPTION_KEY", key)
    secret = b"patient 17: glucose 5.4 mmol/L\n"
    big = os.urandom(2 * 1024 * 1024 + 5)  # three chunks, the last one short
    exact = os.urandom(1024 * 1024)  # exactly one full chunk
    files = {name: client.upload_data(colony.name, colony.user.prvkey, name, data, "/enc")
             for name, data in (("secret.txt", secret), ("big.bin", big), ("exact.bin", exact), ("empty", b""))}
    stored = stored_objects()
    for name, data in (("secret.txt", secret), ("big.bin", big), ("exact.bin", exact), ("empty", b"")):
        ref = files[name]["ref"]["s3object"]
        assert ref["encryptionalg"].startswith("AES-256-GCM-STREAM:") and ref["encryptionkey"] == ""
        ciphertext = stored[ref["object"]]
        assert files[name]["size"] == len(data) and files[name]["checksum"] == hashlib.sha256(data).hexdigest()
        assert len(ciphertext) > len(data) and (not data or data[:16] not in ciphertext)
        assert client.download_data(colony.name, colony.user.prvkey, label="/enc", filename=name) == data
    assert b"glucose" not in b"".join(stored.values())
    # Sync compares plaintext checksums: nothing to do for a directory holding the same files.
    local = tmp_path / "enc"
    client.sync(str(local), "/enc", False, colony.name, colony.user.prvkey)
    assert (local / "secret.txt").read_bytes() == secret
    assert not client.sync(str(local), "/enc", False, colony.name, colony.user.prvkey).changes

    monkeypatch.setenv("COLONIES_FS_ENCRYPTION_KEY", os.urandom(32).hex())
    with pytest.raises(FsError, match="encrypted with key .*, but this client's key is"):
        client.download_data(colony.name, colony.user.prvkey, label="/enc", filename="secret.txt")
    monkeypatch.delenv("COLONIES_FS_ENCRYPTION_KEY")
    with pytest.raises(FsError, match="set COLONIES_FS_ENCRYPTION_KEY to read it"):
        client.download_data(colony.name, colony.user.prvkey, label="/enc", filename="secret.txt")
    monkeypatch.setenv("COLONIES_FS_ENCRYPTION_KEY", "not hex")
    with pytest.raises(FsError, match="64 hex digits"):
        client.upload_data(colony.name, colony.user.prvkey, "x", b"x", "/enc")


def test_an_altered_or_truncated_encrypted_object_is_refused(sdk: tuple[Colonies, Colony], store: str,
                                                             monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:  # fmt: skip
    client, colony = sdk
    key_file = tmp_path / "fs.key"  # the key from a file this time
    key_file.write_text(os.urandom(32).hex() + "\n")
    monkeypatch.setenv("COLONIES_FS_ENCRYPTION_KEY_FILE", str(key_file))
    data = os.urandom(1024 * 1024 + 100)
    for name, change in (("flipped", lambda c: c[:40] + bytes([c[40] ^ 1]) + c[41:]),
                         ("truncated", lambda c: c[:1024 * 1024 + 12 + 16]),  # ends after a whole first chunk
                         ("short", lambda c: c[:10])):  # fmt: skip
        file = client.upload_data(colony.name, colony.user.prvkey, name, data, "/tamper")
        obj = file["ref"]["s3object"]["object"]
        overwrite_object(obj, change(stored_objects()[obj]))
        with pytest.raises(FsError, match="does not decrypt|truncated|not a ColonyFS encrypted file"):
            client.download_data(colony.name, colony.user.prvkey, label="/tamper", filename=name)

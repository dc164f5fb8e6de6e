"""Where ColonyFS bytes live: S3 (any S3-compatible endpoint, through boto3) or a local directory.

The server keeps only metadata; a file's ``ref`` says which store holds its bytes (``protocol`` "s3" or "local")
and under which object name. Credentials never travel through the server: each client takes its own from the
original's ``AWS_S3_*`` variables (``AWS_S3_ENDPOINT`` host:port, ``AWS_S3_ACCESSKEY``, ``AWS_S3_SECRETKEY``,
``AWS_S3_REGION``, ``AWS_S3_BUCKET``, ``AWS_S3_TLS``, ``AWS_S3_SKIPVERIFY``). Without them, ``COLONIES_FS_DIR``
names a directory that serves as the store on one machine (``colonies dev`` sets it).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

#: Parts of 8 MiB: files above that are uploaded in parts, several at once.
PART_SIZE = 8 * 1024 * 1024


class FsError(Exception):
    """A ColonyFS operation failed (no store configured, an object missing, a transfer error)."""


class ChecksumMismatch(FsError):
    """The bytes read do not have the checksum the server recorded: nothing is kept."""


class Store(Protocol):
    protocol: str

    def put(self, name: str, source: IO[bytes]) -> None: ...

    def get(self, name: str, target: IO[bytes]) -> None: ...

    def delete(self, name: str) -> None: ...

    def ref(self, name: str) -> dict[str, Any]: ...


def new_object_name() -> str:
    """A random object name, as the original SDK makes them (sha256 of a uuid4)."""
    return hashlib.sha256(uuid.uuid4().bytes).hexdigest()


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes")


def _ref(protocol: str, name: str, **s3: Any) -> dict[str, Any]:
    s3object = {"server": "", "port": 0, "tls": False, "accesskey": "", "secretkey": "", "region": "",
                "encryptionkey": "", "encryptionalg": "", "object": name, "bucket": ""}  # fmt: skip
    s3object.update(s3)
    return {"protocol": protocol, "s3object": s3object}


@dataclass(frozen=True)
class S3Settings:
    endpoint: str
    accesskey: str = ""
    secretkey: str = ""
    region: str = ""
    bucket: str = "colonies"
    tls: bool = False
    skip_verify: bool = False

    @classmethod
    def from_env(cls) -> S3Settings | None:
        endpoint = os.environ.get("AWS_S3_ENDPOINT", "").strip()
        if not endpoint:
            return None
        env = os.environ
        return cls(endpoint=endpoint, accesskey=env.get("AWS_S3_ACCESSKEY", ""),
                   secretkey=env.get("AWS_S3_SECRETKEY", ""), region=env.get("AWS_S3_REGION", ""),
                   bucket=env.get("AWS_S3_BUCKET", "") or "colonies", tls=_flag("AWS_S3_TLS"),
                   skip_verify=_flag("AWS_S3_SKIPVERIFY"))  # fmt: skip


class S3Store:
    """An S3 bucket through boto3: multipart uploads above :data:`PART_SIZE`, the bucket made when missing."""

    protocol = "s3"

    def __init__(self, settings: S3Settings) -> None:
        try:
            import boto3
            from boto3.s3.transfer import TransferConfig
            from botocore.config import Config
        except ImportError:
            raise FsError("S3 needs boto3: pip install 'colonies[s3]'") from None
        self.settings = settings
        host, _, port = settings.endpoint.rpartition(":")
        self.host, self.port = (host, int(port)) if port.isdigit() else (settings.endpoint, 443 if settings.tls else 80)
        scheme = "https" if settings.tls else "http"
        self.client = boto3.client(
            "s3", endpoint_url=f"{scheme}://{settings.endpoint}", aws_access_key_id=settings.accesskey or None,
            aws_secret_access_key=settings.secretkey or None, region_name=settings.region or "us-east-1",
            verify=not settings.skip_verify,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 5, "mode": "standard"}),
        )  # fmt: skip
        self.transfer = TransferConfig(multipart_threshold=PART_SIZE, multipart_chunksize=PART_SIZE,
                                       max_concurrency=4)  # fmt: skip
        self._bucket_ready = False

    def _ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.settings.bucket)
        except ClientError:
            try:
                self.client.create_bucket(Bucket=self.settings.bucket)
            except ClientError as exc:
                if "BucketAlready" not in str(exc):
                    raise FsError(f"S3 bucket {self.settings.bucket}: {exc}") from None
        self._bucket_ready = True

    def put(self, name: str, source: IO[bytes]) -> None:
        self._ensure_bucket()
        try:
            self.client.upload_fileobj(source, self.settings.bucket, name, Config=self.transfer)
        except Exception as exc:  # noqa: BLE001 - boto3's ClientError, S3UploadFailedError, connection errors
            raise FsError(f"upload to S3 {self.settings.endpoint}/{self.settings.bucket} failed: {exc}") from None

    def get(self, name: str, target: IO[bytes]) -> None:
        try:
            self.client.download_fileobj(self.settings.bucket, name, target, Config=self.transfer)
        except Exception as exc:  # noqa: BLE001
            raise FsError(f"download of {name} from S3 {self.settings.endpoint}/{self.settings.bucket} failed: "
                          f"{exc}") from None  # fmt: skip

    def delete(self, name: str) -> None:
        try:
            self.client.delete_object(Bucket=self.settings.bucket, Key=name)
        except Exception as exc:  # noqa: BLE001
            raise FsError(f"delete of {name} from S3 failed: {exc}") from None

    def ref(self, name: str) -> dict[str, Any]:
        return _ref("s3", name, server=self.host, port=self.port, tls=self.settings.tls,
                    region=self.settings.region, bucket=self.settings.bucket)  # fmt: skip


class LocalStore:
    """A directory as the store, for one machine (``colonies dev``) and tests; objects are written to a temporary
    name and renamed, so a reader never sees half an object."""

    protocol = "local"

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, name: str) -> Path:
        if not name or "/" in name or name in (".", "..") or "\0" in name:
            raise FsError(f"invalid object name {name!r}")
        return self.root / name

    def put(self, name: str, source: IO[bytes]) -> None:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self._path(name)
        partial = path.with_name(f".{name}.part")
        try:
            with open(partial, "wb") as out:
                while chunk := source.read(1024 * 1024):
                    out.write(chunk)
            os.replace(partial, path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise

    def get(self, name: str, target: IO[bytes]) -> None:
        try:
            with open(self._path(name), "rb") as source:
                while chunk := source.read(1024 * 1024):
                    target.write(chunk)
        except FileNotFoundError:
            raise FsError(f"object {name} is not in the local store {self.root}") from None

    def delete(self, name: str) -> None:
        self._path(name).unlink(missing_ok=True)

    def ref(self, name: str) -> dict[str, Any]:
        return _ref("local", name)


def upload_store() -> S3Store | LocalStore:
    """Where new files go: S3 when ``AWS_S3_ENDPOINT`` is set, else the ``COLONIES_FS_DIR`` directory."""
    settings = S3Settings.from_env()
    if settings is not None:
        return S3Store(settings)
    local = os.environ.get("COLONIES_FS_DIR", "").strip()
    if local:
        return LocalStore(local)
    raise FsError("no store for file contents: set AWS_S3_ENDPOINT (and AWS_S3_ACCESSKEY, AWS_S3_SECRETKEY, "
                  "AWS_S3_BUCKET) for S3, or COLONIES_FS_DIR for a local directory")  # fmt: skip


def store_for(ref: Mapping[str, Any]) -> S3Store | LocalStore:
    """The store that holds a file: its ``ref`` says which; credentials are this client's own."""
    protocol = str(ref.get("protocol") or "s3")
    s3object = ref.get("s3object") or {}
    if protocol == "local":
        local = os.environ.get("COLONIES_FS_DIR", "").strip()
        if not local:
            raise FsError("this file is in a local store: set COLONIES_FS_DIR to its directory")
        return LocalStore(local)
    if protocol != "s3":
        raise FsError(f"unknown store protocol {protocol!r}")
    settings = S3Settings.from_env()
    if settings is None:
        raise FsError("this file is in S3: set AWS_S3_ENDPOINT, AWS_S3_ACCESSKEY and AWS_S3_SECRETKEY")
    server, port = str(s3object.get("server") or ""), int(s3object.get("port") or 0)
    endpoint = f"{server}:{port}" if server and port else settings.endpoint
    bucket = str(s3object.get("bucket") or settings.bucket)
    return S3Store(S3Settings(endpoint=endpoint, accesskey=settings.accesskey, secretkey=settings.secretkey,
                              region=str(s3object.get("region") or settings.region), bucket=bucket,
                              tls=bool(s3object.get("tls", settings.tls)), skip_verify=settings.skip_verify))

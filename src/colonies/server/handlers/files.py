"""File and snapshot messages (protocol §3.12, ColonyFS metadata): every one needs an approved member of the
colony (a user or an approved executor; not the colony owner as such).

The server stores where a file's bytes are, never the credentials to read them: ``ref.s3object.secretkey`` and
``encryptionkey`` are dropped and come back "" (the Go server stores them and hands them to every member). Clients
read and write the bytes with their own ``AWS_S3_*`` credentials.

Labels are normalised as the original's clients do: one leading "/", no trailing or doubled "/" ("", "/" and "//"
are the root "/"). A label becomes a directory on the machines that download it, so "." and ".." segments,
backslashes and control characters are refused, in labels and in file names.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from ... import messages as m
from ...crypto import random_id
from ...exceptions import BadRequest, NotFound
from ...types import MAX_COUNT
from ..auth import require_member
from ..context import Context
from ..views import file_data_view, file_view, label_view, snapshot_view
from .common import check_name

#: Longest label, file name, and any other text of a file (checksum, S3 fields).
MAX_LABEL, MAX_FILENAME, MAX_TEXT = 1024, 255, 1024
#: File names one label may hold: getfilesmsg lists them all.
MAX_NAMES_PER_LABEL = 10_000
#: Labels one colony's files may have: getfilelabelsmsg lists them all.
MAX_LABELS_PER_COLONY = 10_000
#: Files one snapshot may hold.
MAX_SNAPSHOT_FILES = 10_000
#: Revisions getfilemsg returns for a name (the newest).
MAX_REVISIONS = 1_000
#: Snapshots getsnapshotsmsg returns (the newest).
MAX_SNAPSHOTS = MAX_COUNT

_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


def _has_control(text: str) -> bool:
    return any(unicodedata.category(c) == "Cc" for c in text)


def normalise_label(label: str, what: str = "label") -> str:
    """``"data//sub/"`` → ``"/data/sub"``; 400 for "." or ".." segments, backslashes and control characters."""
    if len(label) > MAX_LABEL:
        raise BadRequest(f"Invalid {what} {label[:64]!r}...: at most {MAX_LABEL} characters")
    if _has_control(label) or "\\" in label:
        raise BadRequest(f"Invalid {what} {label[:64]!r}: control characters and backslashes are not allowed")
    segments = [part for part in label.split("/") if part]
    if any(part in (".", "..") for part in segments):
        raise BadRequest(f"Invalid {what} {label[:64]!r}: '.' and '..' segments are not allowed")
    return "/" + "/".join(segments)


def check_filename(name: str) -> str:
    """A single path segment: what a downloading machine writes under the label's directory."""
    if (not name or name in (".", "..") or "/" in name or "\\" in name or len(name) > MAX_FILENAME
            or _has_control(name)):  # fmt: skip
        raise BadRequest(f"Invalid file name {name[:64]!r}: one path segment of 1 to {MAX_FILENAME} characters, "
                         "without '/', '\\' or control characters, and not '.' or '..'")  # fmt: skip
    return name


def _check_text(value: str, what: str) -> str:
    if len(value) > MAX_TEXT or _has_control(value):
        raise BadRequest(f"Invalid {what}: at most {MAX_TEXT} characters, no control characters")
    return value


def _file_row(ctx: Context, f: m.File) -> dict[str, Any]:
    label, name = normalise_label(f.label), check_filename(f.name)
    if f.size < 0:
        raise BadRequest(f"Invalid file size {f.size}: must not be negative")
    alg = _check_text(f.checksumalg, "checksumalg")
    if len(alg) > 64:
        raise BadRequest("Invalid checksumalg: at most 64 characters")
    checksum = _check_text(f.checksum, "checksum")
    if alg.upper() == "SHA256":
        if not _SHA256.match(checksum):
            raise BadRequest(f"Invalid checksum {checksum[:80]!r}: a SHA256 checksum is 64 hexadecimal characters")
        checksum = checksum.lower()
    s3 = f.ref.s3object
    if not 0 <= s3.port <= 65535:
        raise BadRequest(f"Invalid ref.s3object.port {s3.port}: must be 0-65535")
    if not s3.object:
        raise BadRequest("Invalid file: ref.s3object.object (where the bytes are) is empty")
    return {
        "fileid": random_id(),
        "colonyname": f.colonyname,
        "label": label,
        "name": name,
        "size": f.size,
        "checksum": checksum,
        "checksumalg": alg,
        "added": ctx.now(),
        "protocol": _check_text(f.ref.protocol, "ref.protocol") or "s3",
        "s3server": _check_text(s3.server, "ref.s3object.server"),
        "s3port": s3.port,
        "s3tls": int(s3.tls),
        "s3accesskey": _check_text(s3.accesskey, "ref.s3object.accesskey"),
        "s3region": _check_text(s3.region, "ref.s3object.region"),
        "s3encryptionalg": _check_text(s3.encryptionalg, "ref.s3object.encryptionalg"),
        "s3object": _check_text(s3.object, "ref.s3object.object"),
        "s3bucket": _check_text(s3.bucket, "ref.s3object.bucket"),
    }  # secretkey and encryptionkey are deliberately not here


async def add_file(ctx: Context, msg: m.AddFileMsg) -> Any:
    """addfilemsg — approved member; a new revision: the server makes its id, sequence number and time."""
    await require_member(ctx, msg.file.colonyname)
    row = _file_row(ctx, msg.file)
    return file_view(await ctx.storage.add_file(row, MAX_NAMES_PER_LABEL, MAX_LABELS_PER_COLONY))


async def get_file(ctx: Context, msg: m.GetFileMsg) -> Any:
    """getfilemsg — approved member; always a list: by id the one revision, by label and name every revision
    (newest first, at most MAX_REVISIONS) or only the newest with ``latest``. An empty label is the root "/"."""
    await require_member(ctx, msg.colonyname)
    if msg.fileid:
        row = await ctx.storage.get_file(msg.colonyname, msg.fileid)
        rows = [row] if row else []
        what = f"File with id {msg.fileid}"
    elif msg.name:
        label = normalise_label(msg.label)
        count = 1 if msg.latest else MAX_REVISIONS
        rows = await ctx.storage.get_file_revisions(msg.colonyname, label, msg.name, count)
        what = f"File {msg.name} with label {label}"
    else:
        raise BadRequest("Invalid getfilemsg: give a fileid, or a label and a name")
    if not rows:
        raise NotFound(f"{what} does not exist in colony {msg.colonyname}")
    return [file_view(row) for row in rows]


async def get_files(ctx: Context, msg: m.GetFilesMsg) -> Any:
    """getfilesmsg — approved member; the newest revision of every name under exactly this label, by name."""
    await require_member(ctx, msg.colonyname)
    label = normalise_label(msg.label)
    return [file_data_view(row) for row in await ctx.storage.get_latest_files(msg.colonyname, label,
                                                                              MAX_NAMES_PER_LABEL)]  # fmt: skip


async def get_file_labels(ctx: Context, msg: m.GetFileLabelsMsg) -> Any:
    """getfilelabelsmsg — approved member; name "" → every label; ``exact`` → the label ``name`` and the labels
    below it (``/data/...``, not ``/data2``); else every label starting with ``name``. Each with its number of
    file names; by label, never null."""
    await require_member(ctx, msg.colonyname)
    if not msg.name:
        label, prefix = "/", "/"
    else:
        label = normalise_label(msg.name, "label name")
        if msg.exact:
            prefix = "/" if label == "/" else label + "/"
        else:  # a prefix: "/da" matches "/data"; a trailing "/" keeps its meaning ("/data/" is what is below)
            prefix = label + "/" if msg.name.endswith("/") and label != "/" else label
            label = prefix
    rows = await ctx.storage.get_file_labels(msg.colonyname, label, prefix, MAX_LABELS_PER_COLONY)
    return [label_view(row) for row in rows]


async def remove_file(ctx: Context, msg: m.RemoveFileMsg) -> Any:
    """removefilemsg — approved member; by id the one revision, by label and name every revision of the name.
    Metadata only: the client deletes the bytes. Snapshots keep the ids they froze."""
    await require_member(ctx, msg.colonyname)
    if msg.fileid:
        removed = await ctx.storage.remove_file(msg.colonyname, msg.fileid)
        what = f"File with id {msg.fileid}"
    elif msg.name:
        label = normalise_label(msg.label)
        removed = await ctx.storage.remove_file_revisions(msg.colonyname, label, msg.name)
        what = f"File {msg.name} with label {label}"
    else:
        raise BadRequest("Invalid removefilemsg: give a fileid, or a label and a name")
    if not removed:
        raise NotFound(f"{what} does not exist in colony {msg.colonyname}")
    return {}


async def create_snapshot(ctx: Context, msg: m.CreateSnapshotMsg) -> Any:
    """createsnapshotmsg — approved member; freezes the newest revision of every file under the label and its
    sub-labels (``/data`` takes ``/data/x``, not ``/data2``); names are unique in a colony (400)."""
    await require_member(ctx, msg.colonyname)
    check_name(msg.name, "snapshot name")
    row = {"snapshotid": random_id(), "colonyname": msg.colonyname, "label": normalise_label(msg.label),
           "name": msg.name, "added": ctx.now()}  # fmt: skip
    return snapshot_view(await ctx.storage.create_snapshot(row, MAX_SNAPSHOT_FILES))


async def _find_snapshot(ctx: Context, msg: m.SnapshotMsg) -> dict[str, Any]:
    """The snapshot a message names: by id, else by name (approved member)."""
    await require_member(ctx, msg.colonyname)
    if msg.snapshotid:
        row = await ctx.storage.get_snapshot(msg.colonyname, msg.snapshotid)
    elif msg.name:
        row = await ctx.storage.get_snapshot_by_name(msg.colonyname, msg.name)
    else:
        raise BadRequest(f"Invalid {msg.msgtype or 'snapshot message'}: give a snapshotid or a name")
    if row is None:
        raise NotFound(f"Snapshot {msg.snapshotid or msg.name} does not exist in colony {msg.colonyname}")
    return row


async def get_snapshot(ctx: Context, msg: m.SnapshotMsg) -> Any:
    """getsnapshotmsg — approved member; by id, else by name."""
    return snapshot_view(await _find_snapshot(ctx, msg))


async def get_snapshots(ctx: Context, msg: m.ColonyNameMsg) -> Any:
    """getsnapshotsmsg — approved member; the newest MAX_SNAPSHOTS, newest first, never null."""
    await require_member(ctx, msg.colonyname)
    return [snapshot_view(row) for row in await ctx.storage.get_snapshots(msg.colonyname, MAX_SNAPSHOTS)]


async def remove_snapshot(ctx: Context, msg: m.SnapshotMsg) -> Any:
    """removesnapshotmsg — approved member; by id, else by name; the files stay."""
    row = await _find_snapshot(ctx, msg)
    await ctx.storage.remove_snapshot(msg.colonyname, row["snapshotid"])
    return {}


async def remove_all_snapshots(ctx: Context, msg: m.ColonyNameMsg) -> Any:
    """removeallsnapshotmsg (singular, as the original) — approved member; every snapshot of the colony."""
    await require_member(ctx, msg.colonyname)
    await ctx.storage.remove_snapshots(msg.colonyname)
    return {}

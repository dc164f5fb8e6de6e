"""The spec's ``fs`` section around a job (protocol §4.4, user journeys §1.7): ColonyFS labels and snapshots brought
into the executor's fs directory before the job, results sent back after it.

The executor's fs directory (``--fs-dir`` / ``EXECUTOR_FS_DIR``) is what the job sees at ``fs.mount``: a bind mount
on docker, podman and Apptainer, a shared volume on Kubernetes; on the local backend (and Slurm without a container
runtime) there is no mount, and ``COLONIES_FS_MOUNT`` names the directory instead. Each ``dir`` of the spec is a
path under it: ``{"label": "/data", "dir": "/data"}`` with mount ``/cfs`` is ``/cfs/data`` in the job.

Before the job (only when ``mount`` is set, as in the original executors): every ``snapshots[]`` entry is
downloaded into its dir, then every ``dirs[]`` entry is synced with its label, the server's copy winning a conflict
unless ``onconflicts.onstart.keeplocal``. After the job: snapshots are removed from the server unless
``keepsnapshot`` and their files from the disk unless ``keepfiles``; every ``dirs[]`` entry is synced again, a
conflict going to the local copy when ``onconflicts.onclose.keeplocal`` (that is how results are uploaded), and the
dir is removed unless ``keepfiles``.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from ..exceptions import ColoniesError
from ..fs import FsError, download_snapshot, sync
from ..fs.transfer import normalise_label

if TYPE_CHECKING:
    from ..client.client import Colonies


class FsSpecError(ValueError):
    """The spec's ``fs`` section cannot be carried out as written."""


@dataclass(frozen=True)
class SnapshotEntry:
    snapshotid: str
    dir: str
    keepfiles: bool
    keepsnapshot: bool


@dataclass(frozen=True)
class SyncDir:
    label: str
    dir: str
    keepfiles: bool
    keeplocal_on_start: bool
    keeplocal_on_close: bool


@dataclass(frozen=True)
class FsSpec:
    mount: str = ""
    snapshots: tuple[SnapshotEntry, ...] = ()
    dirs: tuple[SyncDir, ...] = ()

    @property
    def active(self) -> bool:
        """Whether anything is synced: the original executors sync only when ``mount`` is set."""
        return bool(self.mount) and bool(self.snapshots or self.dirs)


def _bool(entry: Mapping[str, Any], key: str, where: str, *aliases: str) -> bool:
    for name in (key, *aliases):
        if name in entry and entry[name] is not None:
            value = entry[name]
            if not isinstance(value, bool):
                raise FsSpecError(f"{where}.{key} must be true or false, not {value!r}")
            return value
    return False


def _text(entry: Mapping[str, Any], key: str, where: str, processid: str) -> str:
    value = entry.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FsSpecError(f"{where}.{key} must be a string, not {type(value).__name__}")
    return value.replace("{processid}", processid).strip()


def _relative_dir(text: str, where: str) -> str:
    """A dir of the spec as a path relative to the fs directory: never empty (the whole fs directory could be
    removed afterwards), never climbing out of it."""
    parts = [part for part in PurePosixPath("/" + text).parts[1:] if part not in ("", ".")]
    if not parts:
        raise FsSpecError(f"{where}.dir must name a directory under the mount, not {text!r}")
    if ".." in parts or "\\" in text or "\0" in text:
        raise FsSpecError(f"{where}.dir {text!r} must stay under the mount (no '..')")
    return "/".join(parts)


def _keeplocal(entry: Mapping[str, Any], when: str, where: str) -> bool:
    conflicts = entry.get("onconflicts") or {}
    if not isinstance(conflicts, Mapping):
        raise FsSpecError(f"{where}.onconflicts must be an object")
    side = conflicts.get(when) or {}
    if not isinstance(side, Mapping):
        raise FsSpecError(f"{where}.onconflicts.{when} must be an object")
    return _bool(side, "keeplocal", f"{where}.onconflicts.{when}")


def parse_fs(spec: Mapping[str, Any], processid: str) -> FsSpec:
    """The spec's ``fs`` section, validated, with ``{processid}`` substituted in labels and dirs."""
    fs = spec.get("fs") or {}
    if not isinstance(fs, Mapping):
        raise FsSpecError("spec.fs must be an object")
    mount = _text(fs, "mount", "spec.fs", processid)
    if mount and (not mount.startswith("/") or ".." in PurePosixPath(mount).parts):
        raise FsSpecError(f"spec.fs.mount must be an absolute path, not {mount!r}")
    snapshots, dirs = [], []
    for name in ("snapshots", "dirs"):
        if not isinstance(fs.get(name) or [], list):
            raise FsSpecError(f"spec.fs.{name} must be a list")
    for i, entry in enumerate(fs.get("snapshots") or []):
        where = f"spec.fs.snapshots[{i}]"
        if not isinstance(entry, Mapping):
            raise FsSpecError(f"{where} must be an object")
        snapshotid = _text(entry, "snapshotid", where, processid)
        if not snapshotid:
            raise FsSpecError(f"{where}.snapshotid is required (create the snapshot before submitting)")
        snapshots.append(SnapshotEntry(snapshotid, _relative_dir(_text(entry, "dir", where, processid), where),
                                       _bool(entry, "keepfiles", where),
                                       _bool(entry, "keepsnapshot", where, "keepsnaphot")))  # fmt: skip
    for i, entry in enumerate(fs.get("dirs") or []):
        where = f"spec.fs.dirs[{i}]"
        if not isinstance(entry, Mapping):
            raise FsSpecError(f"{where} must be an object")
        label = _text(entry, "label", where, processid)
        if not label.strip("/"):
            raise FsSpecError(f"{where}.label is required")
        dirs.append(SyncDir(normalise_label(label), _relative_dir(_text(entry, "dir", where, processid), where),
                            _bool(entry, "keepfiles", where), _keeplocal(entry, "onstart", where),
                            _keeplocal(entry, "onclose", where)))  # fmt: skip
    return FsSpec(mount, tuple(snapshots), tuple(dirs))


def _remove_tree(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


class JobFiles:
    """Moves one executor's processes' files between ColonyFS and its fs directory, with the executor's own key.

    ``client`` makes a synchronous :class:`~colonies.client.Colonies` for the server (one per call: jobs run in
    threads). Bytes go to the store the environment names (``AWS_S3_*`` or ``COLONIES_FS_DIR``)."""

    def __init__(self, root: str | Path, client: Callable[[], Colonies], colonyname: str, prvkey: str) -> None:
        self.root = Path(root).expanduser().resolve()
        self._client = client
        self._colonyname = colonyname
        self._prvkey = prvkey
        self._lock = threading.Lock()

    def path(self, relative: str) -> Path:
        """Where a spec's dir lives on this machine; refuses one that a symbolic link (left by an earlier job)
        leads out of the fs directory."""
        target = self.root / relative
        if not target.resolve().is_relative_to(self.root):
            raise FsSpecError(f"{relative} leads out of the executor's fs directory (a symbolic link?)")
        return target

    def before(self, fs: FsSpec, say: Callable[[str], None]) -> dict[str, int]:
        """Snapshots down, then labels synced; counts of files moved."""
        counts = {"downloaded": 0, "uploaded": 0, "conflicts": 0}
        self.root.mkdir(parents=True, exist_ok=True)
        with self._client() as client:
            for snap in fs.snapshots:
                target = self.path(snap.dir)
                written = download_snapshot(client, self._colonyname, self._prvkey, target, snap.snapshotid)
                counts["downloaded"] += len(written)
                say(f"fs: snapshot {snap.snapshotid[:12]} into {fs.mount}/{snap.dir}: {len(written)} files")
            for entry in fs.dirs:
                self._sync(client, fs, entry, entry.keeplocal_on_start, counts, say)
        return counts

    def after(self, fs: FsSpec, say: Callable[[str], None], *, upload: bool, ran: bool = True) -> dict[str, int]:
        """Snapshots released, labels synced back (unless ``upload`` is False: the job was cancelled), dirs
        removed unless ``keepfiles``. A job that never ran (``ran`` False) leaves its snapshots on the server, for
        a retry. Every step is tried; the first failure is raised at the end."""
        counts = {"downloaded": 0, "uploaded": 0, "conflicts": 0}
        first: Exception | None = None
        with self._client() as client:
            for snap in fs.snapshots:
                try:
                    if ran and not snap.keepsnapshot:
                        client.remove_snapshot(self._colonyname, self._prvkey, snapshotid=snap.snapshotid)
                    if not snap.keepfiles:
                        _remove_tree(self.path(snap.dir))
                except (ColoniesError, FsError, OSError, FsSpecError) as exc:
                    first = first or exc
                    say(f"fs: snapshot {snap.snapshotid[:12]}: {exc}")
            for entry in fs.dirs:
                try:
                    if upload:
                        self._sync(client, fs, entry, entry.keeplocal_on_close, counts, say)
                    if not entry.keepfiles:
                        _remove_tree(self.path(entry.dir))
                except (ColoniesError, FsError, OSError, FsSpecError) as exc:
                    first = first or exc
                    say(f"fs: {entry.label} ↔ {fs.mount}/{entry.dir}: {exc}")
        if first is not None:
            raise first
        return counts

    def _sync(self, client: Colonies, fs: FsSpec, entry: SyncDir, keeplocal: bool, counts: dict[str, int],
              say: Callable[[str], None]) -> None:  # fmt: skip
        done = sync(client, self._colonyname, self._prvkey, self.path(entry.dir), entry.label, keeplocal)
        up, down, conflicts = len(done.uploads), len(done.downloads), len(done.conflicts)
        counts["uploaded"] += up
        counts["downloaded"] += down
        counts["conflicts"] += conflicts
        say(f"fs: {entry.label} ↔ {fs.mount}/{entry.dir}: {up} uploaded, {down} downloaded, {conflicts} conflicts "
            f"(keeplocal={str(keeplocal).lower()})")


__all__ = ["FsSpec", "FsSpecError", "JobFiles", "SnapshotEntry", "SyncDir", "parse_fs"]

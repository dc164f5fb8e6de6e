"""``sync(dir, label, keeplocal)``: a directory tree and a label tree made the same, incrementally by checksum, as
the original's ``colonies fs sync`` (which the original Python SDK can only reach through a native Go library).

Each directory ``dir/a/b`` pairs with the label ``label/a/b``. A file only on this side is uploaded, one only on the
server is downloaded, and one on both sides with different checksums is a conflict: ``keeplocal`` uploads this
side's copy as a new revision, otherwise the server's copy is downloaded over it. Nothing is deleted on either
side, as in the original.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .stores import FsError
from .transfer import download_to, normalise_label, sha256_of, upload_file

if TYPE_CHECKING:
    from ..client.client import Colonies


@dataclass
class Change:
    """One transfer: ``action`` "upload" or "download"; ``conflict`` when both sides had the name."""

    action: str
    label: str
    name: str
    path: Path
    size: int
    conflict: bool = False


@dataclass
class SyncPlan:
    directory: Path
    label: str
    keeplocal: bool
    changes: list[Change] = field(default_factory=list)

    @property
    def uploads(self) -> list[Change]:
        return [c for c in self.changes if c.action == "upload"]

    @property
    def downloads(self) -> list[Change]:
        return [c for c in self.changes if c.action == "download"]

    @property
    def conflicts(self) -> list[Change]:
        return [c for c in self.changes if c.conflict]


def _inside(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root)


def _local_files(root: Path) -> dict[str, dict[str, Path]]:
    """Relative directory ("" for the root) → file name → path. Symbolic links are not followed out of ``root``:
    a job that leaves ``out/key -> /home/executor/.colonies/key`` behind does not get that file uploaded."""
    found: dict[str, dict[str, Path]] = {}
    for current, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not Path(current, d).is_symlink())
        relative = Path(current).relative_to(root).as_posix()
        relative = "" if relative == "." else relative
        found[relative] = {name: Path(current, name) for name in sorted(files)
                           if Path(current, name).is_file() and not name.endswith(".part")
                           and (not Path(current, name).is_symlink() or _inside(Path(current, name), root))}
    return found


def plan(client: Colonies, colonyname: str, prvkey: str, directory: str | Path, label: str,
         keeplocal: bool) -> SyncPlan:  # fmt: skip
    """What a sync would do, without doing it."""
    root = Path(directory).resolve()
    if root.exists() and not root.is_dir():
        raise FsError(f"{root} is not a directory")
    base = normalise_label(label)
    local = _local_files(root) if root.exists() else {"": {}}
    listed = client.get_file_labels(colonyname, prvkey, name="" if base == "/" else base, exact=True)
    remote_labels = {normalise_label(entry["name"]) for entry in listed or []}
    relatives = set(local)
    for remote in remote_labels:
        if remote == base or remote.startswith(base.rstrip("/") + "/"):
            relatives.add(remote[len(base):].strip("/") if base != "/" else remote.strip("/"))
    result = SyncPlan(root, base, keeplocal)
    for relative in sorted(relatives):
        sublabel = normalise_label(f"{base}/{relative}") if relative else base
        if ".." in relative.split("/"):
            raise FsError(f"refusing label {sublabel!r}")
        mine = local.get(relative, {})
        theirs = {str(f["name"]): f for f in client.get_files(sublabel, colonyname, prvkey) or []}
        for name, path in mine.items():
            checksum, size = sha256_of(path)
            remote = theirs.get(name)
            if remote is None:
                result.changes.append(Change("upload", sublabel, name, path, size))
            elif str(remote.get("checksum", "")).lower() != checksum:
                if keeplocal:
                    result.changes.append(Change("upload", sublabel, name, path, size, conflict=True))
                else:
                    result.changes.append(Change("download", sublabel, name, path, int(remote.get("size", 0)),
                                                 conflict=True))  # fmt: skip
        for name, remote in theirs.items():
            if name not in mine:
                if "/" in name or name in (".", ".."):
                    raise FsError(f"refusing file name {name!r} in {sublabel}")
                path = root / relative / name if relative else root / name
                if not _inside(path.parent, root):  # a directory link would send the bytes elsewhere
                    raise FsError(f"refusing to download {sublabel}/{name}: {path.parent} leads out of {root}")
                result.changes.append(Change("download", sublabel, name, path, int(remote.get("size", 0))))
    return result


def apply(client: Colonies, colonyname: str, prvkey: str, sync_plan: SyncPlan, workers: int = 8,
          progress: Callable[[Change], None] | None = None) -> None:  # fmt: skip
    """Carry out a plan, ``workers`` transfers at a time; ``progress`` is called after each."""

    def one(change: Change) -> None:
        if change.action == "upload":
            upload_file(client, colonyname, prvkey, change.path, change.label)
        else:
            files = client.get_file(colonyname, prvkey, label=change.label, filename=change.name, latest=True)
            if not files:
                raise FsError(f"{change.label}/{change.name} is gone from the server")
            download_to(dict(files[0]), change.path)
        if progress is not None:
            progress(change)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for future in [pool.submit(one, change) for change in sync_plan.changes]:
            future.result()


def sync(client: Colonies, colonyname: str, prvkey: str, directory: str | Path, label: str, keeplocal: bool,
         dry: bool = False, progress: Callable[[Change], None] | None = None) -> SyncPlan:  # fmt: skip
    """Plan and (unless ``dry``) carry out a sync; returns the plan."""
    sync_plan = plan(client, colonyname, prvkey, directory, label, keeplocal)
    if not dry:
        Path(directory).mkdir(parents=True, exist_ok=True)
        apply(client, colonyname, prvkey, sync_plan, progress=progress)
    return sync_plan


__all__ = ["Change", "SyncPlan", "apply", "plan", "sync"]

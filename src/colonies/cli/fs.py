"""``fs``: ColonyFS, files under labels (metadata on the server, bytes in S3 or ``COLONIES_FS_DIR``), sync of a
directory with a label, and snapshots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from .context import CLIError, get_config
from .output import console, emit, fmt_time, info, kv_table, plain, table

app = typer.Typer(no_args_is_help=True, help="Files, labels and snapshots (ColonyFS).")
label_app = typer.Typer(no_args_is_help=True, help="Labels (directories of files).")
snapshot_app = typer.Typer(no_args_is_help=True, help="Snapshots: the latest revision of every file under a label.")
app.add_typer(label_app, name="label")
app.add_typer(snapshot_app, name="snapshot")

_LABEL = typer.Option(..., "--label", "-l", help="Label, e.g. /results.")


def _fs_call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Store problems (no store configured, a checksum mismatch) as one line, not a traceback."""
    from ..fs import FsError

    try:
        return fn(*args, **kwargs)
    except FsError as exc:
        raise CLIError(str(exc)) from None


def _short(value: Any) -> str:
    """A 64-character id or checksum cut to 12 in tables; ``--json`` keeps it whole."""
    text = str(value or "")
    return text[:12] + "…" if len(text) > 16 else text


def _size(n: Any) -> str:
    value = float(n or 0)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return str(n)


@app.command("sync")
def sync(
    label: str = _LABEL,
    directory: Path = typer.Option(..., "--dir", "-d", help="Local directory."),
    keeplocal: bool = typer.Option(True, "--keeplocal/--keepremote", help="Which copy wins a conflict."),
    dry: bool = typer.Option(False, "--dry", help="Only show what would be uploaded and downloaded."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask before transferring."),
) -> None:
    """Make a directory and a label the same: upload what is only here, download what is only there."""
    from .. import fs

    cfg = get_config()
    client, colony, key = cfg.client(), cfg.colony(), cfg.key()
    plan = _fs_call(fs.plan, client, colony, key, directory, label, keeplocal)
    rows = [[c.action, c.label, c.name, _size(c.size), "yes" if c.conflict else ""] for c in plan.changes]
    summary = {"uploads": len(plan.uploads), "downloads": len(plan.downloads), "conflicts": len(plan.conflicts),
               "changes": [{"action": r[0], "label": r[1], "name": r[2], "conflict": bool(r[4])} for r in rows]}
    if dry or not plan.changes:
        emit(summary, lambda _: table(None, ["Action", "Label", "Name", "Size", "Conflict"], rows,
                                      empty=f"{directory} and {label} are in sync"))  # fmt: skip
        return
    if not yes and console().is_terminal:
        table(None, ["Action", "Label", "Name", "Size", "Conflict"], rows)
        if not typer.confirm(f"{len(plan.uploads)} upload(s), {len(plan.downloads)} download(s). Go ahead?"):
            raise typer.Exit(1)
    from rich.progress import Progress

    with Progress(console=console(), transient=True, disable=not console().is_terminal) as progress:
        task = progress.add_task("syncing", total=len(plan.changes))
        _fs_call(fs.apply, client, colony, key, plan, progress=lambda _c: progress.advance(task))
    emit(summary, lambda s: info(f"Synced {directory} with {label}: {s['uploads']} uploaded, "
                                 f"{s['downloads']} downloaded ({s['conflicts']} conflict(s))"))


@label_app.command("ls")
def label_ls(
    name: str = typer.Option("", "--label", "-l", help="Only this label and those under it."),
) -> None:
    """List labels and how many files each holds."""
    cfg = get_config()
    labels = plain(cfg.client().get_file_labels(cfg.colony(), cfg.key(), name=name, exact=bool(name))) or []
    emit(labels, lambda ls: table(None, ["Label", "Files"], ([x.get("name"), x.get("files")] for x in ls),
                                  empty="No labels found"))  # fmt: skip


@app.command("ls")
def ls(label: str = _LABEL) -> None:
    """List the files under a label (their latest revisions)."""
    cfg = get_config()
    files = plain(cfg.client().get_files(label, cfg.colony(), cfg.key())) or []
    emit(files, lambda fs_: table(None, ["Name", "Size", "Checksum"],
                                  ([f.get("name"), _size(f.get("size")), _short(f.get("checksum"))] for f in fs_),
                                  empty=f"No files under {label}"))  # fmt: skip


@app.command("get")
def get(
    label: str = typer.Option("", "--label", "-l", help="Label (with --name)."),
    name: str = typer.Option("", "--name", "-n", help="File name (with --label)."),
    fileid: str = typer.Option("", "--fileid", "-i", help="A revision's id."),
    directory: Path = typer.Option(Path("."), "--dir", "-d", help="Where to save it."),
) -> None:
    """Download a file (the latest revision, or one by id); its checksum is verified."""
    cfg = get_config()
    if not fileid and not (label and name):
        raise CLIError("give --fileid, or --label and --name")
    path = _fs_call(cfg.client().download_file, cfg.colony(), cfg.key(), dst=str(directory), label=label or None,
                    fileid=fileid or None, filename=name or None)  # fmt: skip
    emit({"path": path}, lambda d: info(f"Downloaded {d['path']}"))


@app.command("remove")
def remove(
    label: str = typer.Option("", "--label", "-l", help="Label (with --name)."),
    name: str = typer.Option("", "--name", "-n", help="File name (with --label): every revision."),
    fileid: str = typer.Option("", "--fileid", "-i", help="One revision's id."),
) -> None:
    """Remove a file's revisions: bytes from the store, then the metadata."""
    cfg = get_config()
    if not fileid and not (label and name):
        raise CLIError("give --fileid, or --label and --name")
    _fs_call(cfg.client().delete_file, cfg.colony(), cfg.key(), label=label or None, fileid=fileid or None,
             filename=name or None)  # fmt: skip
    emit({"removed": True}, lambda _: info("File removed"))


def _snapshot_view(s: Any) -> None:
    kv_table("Snapshot", [("Id", s.get("snapshotid")), ("Name", s.get("name")), ("Label", s.get("label")),
                          ("Files", len(s.get("fileids") or [])), ("Added", fmt_time(s.get("added")))])


@snapshot_app.command("create")
def snapshot_create(label: str = _LABEL, name: str = typer.Option(..., "--name", "-n", help="Snapshot name.")) -> None:
    """Freeze the latest revision of every file under a label and its sub-labels."""
    cfg = get_config()
    emit(plain(cfg.client().create_snapshot(cfg.colony(), label, name, cfg.key())), _snapshot_view)


@snapshot_app.command("ls")
def snapshot_ls() -> None:
    cfg = get_config()
    snapshots = plain(cfg.client().get_snapshots(cfg.colony(), cfg.key())) or []
    emit(snapshots, lambda ss: table(None, ["Name", "Label", "Files", "Added", "Id"],
                                     ([s.get("name"), s.get("label"), len(s.get("fileids") or []),
                                       fmt_time(s.get("added")), _short(s.get("snapshotid"))] for s in ss),
                                     empty="No snapshots found"))  # fmt: skip


def _by(snapshotid: str, name: str) -> dict[str, str]:
    if bool(snapshotid) == bool(name):
        raise CLIError("give --snapshotid or --name")
    return {"snapshotid": snapshotid, "name": name}


@snapshot_app.command("get")
def snapshot_get(snapshotid: str = typer.Option("", "--snapshotid", "-i"),
                 name: str = typer.Option("", "--name", "-n")) -> None:  # fmt: skip
    cfg = get_config()
    which = _by(snapshotid, name)
    client = cfg.client()
    found = (client.get_snapshot_by_id(cfg.colony(), snapshotid, cfg.key()) if which["snapshotid"]
             else client.get_snapshot_by_name(cfg.colony(), name, cfg.key()))  # fmt: skip
    emit(plain(found), _snapshot_view)


@snapshot_app.command("remove")
def snapshot_remove(snapshotid: str = typer.Option("", "--snapshotid", "-i"),
                    name: str = typer.Option("", "--name", "-n")) -> None:  # fmt: skip
    """Remove a snapshot (the files stay)."""
    cfg = get_config()
    cfg.client().remove_snapshot(cfg.colony(), cfg.key(), **_by(snapshotid, name))
    emit({"removed": True}, lambda _: info("Snapshot removed"))


@snapshot_app.command("download")
def snapshot_download(
    snapshotid: str = typer.Option("", "--snapshotid", "-i"), name: str = typer.Option("", "--name", "-n"),
    directory: Path = typer.Option(..., "--dir", "-d", help="Where to write the files."),
) -> None:
    """Download every file of a snapshot, sub-labels as sub-directories."""
    cfg = get_config()
    written = _fs_call(cfg.client().download_snapshot, cfg.colony(), cfg.key(), str(directory),
                       **_by(snapshotid, name))  # fmt: skip
    emit({"files": written}, lambda d: info(f"Downloaded {len(d['files'])} file(s) into {directory}"))

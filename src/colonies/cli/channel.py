"""``channel``: a process's message streams (v1.9) — append an entry, read the log, follow it as it grows.

Only the process's submitter and its assigned executor may use its channels, so these commands sign with
COLONIES_PRVKEY (or ``--prvkey``) as that identity.
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import typer

from .context import CLIError, get_config
from .output import emit, fmt_time, info, line, plain, print_json, table

app = typer.Typer(no_args_is_help=True,
                  help="Process channels: message streams between a submitter and its executor.")

PROCESS = typer.Option(..., "--processid", "-p", help="Process id.")
CHANNEL = typer.Option(..., "--channel", "-c", help="Channel name (declared in the process's spec).")
TYPES = ("data", "end", "error")


def entry_json(entry: Mapping[str, Any]) -> dict[str, Any]:
    """An entry for ``--json``: the server's keys, the payload as text when it is UTF-8 (else base64, with
    ``"encoding": "base64"``)."""
    out = {str(k): plain(v) for k, v in entry.items() if k != "payload"}
    payload = entry.get("payload") or b""
    data = payload if isinstance(payload, bytes) else str(payload).encode()
    try:
        out["payload"] = data.decode("utf-8")
    except UnicodeDecodeError:
        out["payload"] = base64.b64encode(data).decode()
        out["encoding"] = "base64"
    return out


def _own_next_sequence(processid: str, channel: str, key: str) -> int:
    """1 + the highest sequence this key has sent on the channel (a sender numbers its own entries)."""
    from ..crypto import id_from_prvkey

    cfg = get_config()
    me, highest, after = id_from_prvkey(key), 0, 0
    while batch := cfg.client().channel_read(processid, channel, after, 0, key):
        highest = max([highest, *(int(e["sequence"]) for e in batch if e.get("senderid") == me)])
        after += len(batch)
    return highest + 1


@app.command("append")
def append(
    processid: str = PROCESS,
    channel: str = CHANNEL,
    message: str | None = typer.Option(None, "--message", "-m", help="The payload (text)."),
    file: str | None = typer.Option(None, "--file", "-f", help="Take the payload from a file ('-' = stdin)."),
    type_: str = typer.Option("data", "--type", "-t", help="Entry type: data, end (end of stream) or error."),
    sequence: int | None = typer.Option(None, "--sequence", help="Sequence number (default: the next of yours)."),
    in_reply_to: int = typer.Option(0, "--in-reply-to", help="Sequence number this entry answers."),
) -> None:
    """Append an entry to a process's channel."""
    if type_ not in TYPES:
        raise CLIError(f"--type must be one of {', '.join(TYPES)}")
    if (message is None) == (file is None) and type_ == "data":
        raise CLIError("give the payload with --message or --file (one of them)")
    if file == "-":
        payload = sys.stdin.buffer.read()
    elif file:
        try:
            with open(file, "rb") as f:
                payload = f.read()
        except OSError as exc:
            raise CLIError(f"cannot read {file}: {exc.strerror or exc}") from None
    else:
        payload = (message or "").encode()
    cfg = get_config()
    key = cfg.key()
    seq = sequence if sequence is not None else _own_next_sequence(processid, channel, key)
    payload_type = "" if type_ == "data" else type_
    cfg.client().channel_append(processid, channel, seq, payload, key, in_reply_to, payload_type)
    result = {"processid": processid, "channel": channel, "sequence": seq, "type": type_, "size": len(payload)}
    emit(result, lambda r: info(f"Appended entry {r['sequence']} ({r['size']} bytes) to channel {channel}"))


@app.command("read")
def read(
    processid: str = PROCESS,
    channel: str = CHANNEL,
    after: int = typer.Option(0, "--after", help="Skip this many entries of the log."),
    limit: int = typer.Option(0, "--limit", help="At most this many entries (0 = all)."),
) -> None:
    """Print the entries of a process's channel."""
    cfg = get_config()
    client, key = cfg.client(), cfg.key()
    entries: list[Any] = []
    while batch := client.channel_read(processid, channel, after + len(entries), limit and limit - len(entries), key):
        entries += batch
        if limit and len(entries) >= limit:
            break
    if cfg.json:
        print_json([entry_json(e) for e in entries])
        return
    roles = _roles(processid, key)
    rows = [[after + i + 1, e.get("sequence"), e.get("type", ""), roles.get(str(e.get("senderid")), _short(e)),
             fmt_time(e.get("timestamp")), entry_json(e)["payload"]] for i, e in enumerate(entries)]  # fmt: skip
    table(None, ["#", "Seq", "Type", "Sender", "Time", "Payload"], rows, empty="No entries")


def _short(entry: Mapping[str, Any]) -> str:
    return str(entry.get("senderid", ""))[:12]


def _roles(processid: str, key: str) -> dict[str, str]:
    """Sender ids → "submitter"/"executor", to show who wrote what."""
    cfg = get_config()
    process = plain(cfg.client().get_process(processid, key))
    roles = {str(process.get("initiatorid", "")): "submitter"}
    if process.get("assignedexecutorid"):
        roles.setdefault(str(process["assignedexecutorid"]), "executor")
    return roles


@app.command("follow")
def follow(
    processid: str = PROCESS,
    channel: str = CHANNEL,
    after: int = typer.Option(0, "--after", help="Skip this many entries of the log first."),
) -> None:
    """Print a channel's entries as they are appended, until the process ends (or Ctrl-C).

    Payloads are written as they are, one after another (a stream of tokens reads as text); an "error" entry
    goes to stderr. With --json, one JSON object per entry and line."""
    cfg = get_config()
    entries = cfg.client().follow_channel(processid, channel, cfg.key(), after)
    if cfg.json:
        for entry in entries:
            line(json.dumps(entry_json(entry), separators=(",", ":"), ensure_ascii=False))
            sys.stdout.flush()
        return
    _write_stream(entries)


def _write_stream(entries: Iterable[Mapping[str, Any]]) -> None:
    out = sys.stdout.buffer
    last = b"\n"
    for entry in entries:
        payload = entry.get("payload") or b""
        data = payload if isinstance(payload, bytes) else str(payload).encode()
        if entry.get("type") == "error":
            sys.stdout.flush()
            sys.stderr.write(f"error: {data.decode('utf-8', 'replace')}\n")
            continue
        if data:
            out.write(data)
            out.flush()
            last = data[-1:]
    if last != b"\n" and sys.stdout.isatty():
        out.write(b"\n")
        out.flush()

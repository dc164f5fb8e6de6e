"""Where private keys come from, and keeping them out of places other processes can read.

A key in an environment variable or on the command line is readable by every process of the same user
(``/proc/<pid>/environ``, ``/proc/<pid>/cmdline``, ``ps``), including the jobs an executor runs. So each key
``COLONIES_X`` may instead come from a file (``COLONIES_X_FILE``) or an inherited descriptor (``COLONIES_X_FD``),
and :func:`take_key` removes every form it found from ``os.environ`` so child processes never inherit it.
"""

from __future__ import annotations

import ctypes
import os
import stat
import sys

#: The variables that hold private keys (each also as _FILE and _FD).
KEY_VARIABLES = ("COLONIES_PRVKEY", "COLONIES_COLONY_PRVKEY", "COLONIES_SERVER_PRVKEY")


class KeySourceError(ValueError):
    """A key file or descriptor that cannot be used (one line, names the source)."""


def read_key_file(path: str) -> str:
    """The first line of ``path`` (``-`` = standard input), stripped. Warns when others may read the file."""
    if path == "-":
        return sys.stdin.readline().strip()
    try:
        with open(path, encoding="ascii") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            value = handle.readline().strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise KeySourceError(f"cannot read the key file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):  # warned, not refused: Kubernetes mounts secrets 0644 by default
        print(f"warning: key file {path} is readable by other users (chmod 600 {path})", file=sys.stderr)
    return value


def _read_fd(number: str, name: str) -> str:
    try:
        fd = int(number)
        with os.fdopen(fd, encoding="ascii", closefd=True) as handle:
            return handle.readline().strip()
    except (ValueError, OSError) as exc:
        raise KeySourceError(f"{name}_FD={number}: cannot read a key from that descriptor ({exc})") from None


def take_key(name: str, environ: dict[str, str] | None = None) -> str:
    """The key ``name`` from ``name_FILE``, ``name_FD`` or ``name`` (first found), and remove all three from
    ``environ`` (default ``os.environ``) so that no child process inherits it. "" when none is set."""
    env = os.environ if environ is None else environ
    path = env.pop(name + "_FILE", "").strip()
    fd = env.pop(name + "_FD", "").strip()
    value = env.pop(name, "").strip()
    if path:
        return read_key_file(path)
    if fd:
        return _read_fd(fd, name)
    return value


def peek_key(name: str) -> str:
    """Like :func:`take_key` but leaves the environment alone (for short-lived commands such as the CLI)."""
    path = os.environ.get(name + "_FILE", "").strip()
    if path:
        return read_key_file(path)
    return os.environ.get(name, "").strip()


def make_undumpable() -> bool:
    """``prctl(PR_SET_DUMPABLE, 0)``: no core dumps, and processes of the same user that are not privileged can
    no longer read this process's memory, ``/proc/<pid>/environ`` or ptrace it. Linux only; False elsewhere."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(4, 0, 0, 0, 0)) == 0  # PR_SET_DUMPABLE = 4
    except (OSError, AttributeError):
        return False


def is_dumpable() -> bool:
    if not sys.platform.startswith("linux"):
        return True
    libc = ctypes.CDLL(None, use_errno=True)
    return int(libc.prctl(3, 0, 0, 0, 0)) == 1  # PR_GET_DUMPABLE = 3


def scrub_initial_environment(names: tuple[str, ...] = KEY_VARIABLES) -> int:
    """Overwrite the values of ``names`` (and their _FILE/_FD forms) in this process's *initial* environment
    block, which is what ``/proc/<pid>/environ`` shows for the life of the process (removing a variable from
    ``os.environ`` does not change it). Returns how many values were wiped. Linux only; 0 elsewhere."""
    try:
        with open("/proc/self/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        start, end = int(fields[47]), int(fields[48])  # env_start, env_end (fields 50 and 51 of stat)
    except (OSError, IndexError, ValueError):
        return 0
    targets = {(n + suffix).encode() + b"=" for n in names for suffix in ("", "_FILE", "_FD")}
    wiped = 0
    try:
        with open("/proc/self/mem", "r+b", buffering=0) as mem:
            mem.seek(start)
            block = mem.read(end - start)
            offset = 0
            for entry in block.split(b"\0"):
                prefix = entry.split(b"=", 1)[0] + b"="
                if prefix in targets and len(entry) > len(prefix):
                    mem.seek(start + offset + len(prefix))
                    mem.write(b"\0" * (len(entry) - len(prefix)))
                    wiped += 1
                offset += len(entry) + 1
    except OSError:
        return wiped
    return wiped

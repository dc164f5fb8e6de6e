"""Keys nobody else knows: `colonies dev` makes its own, `colonies server start` refuses the published ones, the
data stays private, and the CLI takes keys from files instead of the command line. Real subprocesses throughout."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest
from conftest import free_port

from colonies import crypto
from colonies.client import Colonies
from colonies.settings import DEV_COLONY_PRVKEY, DEV_PRVKEY, DEV_SERVER_PRVKEY

pytestmark = pytest.mark.timeout(120)

COLONIES = [sys.executable, "-m", "colonies"]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
    return {**env, **extra}


def start_dev(data_dir: str, *flags: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], dict[str, str], str]:
    """`colonies dev` until it prints its exports; returns (process, exports, all it printed)."""
    port = free_port()
    proc = subprocess.Popen([*COLONIES, "dev", "--data-dir", data_dir, "--port", str(port), *flags],
                            env=env or clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    exports: dict[str, str] = {}
    printed = []
    assert proc.stdout is not None
    for line in proc.stdout:
        printed.append(line)
        match = re.match(r"export (\w+)=(.*)", line.strip())
        if match:
            exports[match.group(1)] = match.group(2)
        if line.startswith("# of executor shells"):
            break
    return proc, exports, "".join(printed)


def stop(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    _, err = proc.communicate(timeout=10)
    return err


def mode(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_dev_makes_private_random_keys_and_reuses_them(tmp_path: Any) -> None:
    data = str(tmp_path / "dev")
    proc, exports, printed = start_dev(data)
    try:
        assert exports["COLONIES_PRVKEY"] not in (DEV_PRVKEY,) and exports["COLONIES_COLONY_PRVKEY"] != DEV_COLONY_PRVKEY
        assert "COLONIES_SERVER_PRVKEY" not in exports  # not for pasting into executor shells
        assert DEV_SERVER_PRVKEY not in printed
        client = Colonies("127.0.0.1", int(exports["COLONIES_SERVER_PORT"]))
        assert client.get_colony("dev", exports["COLONIES_PRVKEY"])["name"] == "dev"
        with pytest.raises(Exception):  # the published keys are worth nothing here
            client.get_colony("dev", DEV_PRVKEY)
    finally:
        stop(proc)
    assert mode(data) == 0o700
    for name in ("dev-keys.json", "server.key", "colonies.db"):
        assert mode(os.path.join(data, name)) == 0o600, name
    saved = json.load(open(os.path.join(data, "dev-keys.json")))
    assert saved["prvkey"] == exports["COLONIES_PRVKEY"]
    assert open(os.path.join(data, "server.key")).read().strip() == saved["server"]
    proc, again, _ = start_dev(data)
    stop(proc)
    assert again["COLONIES_PRVKEY"] == exports["COLONIES_PRVKEY"]  # same directory, same keys


def test_dev_uses_the_published_keys_only_when_asked(tmp_path: Any) -> None:
    proc, exports, _ = start_dev(str(tmp_path / "a"), "--insecure-well-known-keys")
    err = stop(proc)
    assert exports["COLONIES_PRVKEY"] == DEV_PRVKEY
    assert "anyone who can reach this port" in err
    refused = subprocess.run([*COLONIES, "dev", "--data-dir", str(tmp_path / "b"), "--port", str(free_port())],
                             env=clean_env(COLONIES_PRVKEY=DEV_PRVKEY), capture_output=True, text=True, timeout=30)
    assert refused.returncode != 0 and "--insecure-well-known-keys" in refused.stderr


def server_start(*args: str, env: dict[str, str] | None = None, wait: float = 30) -> tuple[int | None, str]:
    """`colonies server start ...`: (exit code, or None once it serves /health, stderr). Waits for one or the other
    (up to ``wait`` s), not for a fixed time, so a loaded machine gives the same answer."""
    port = args[args.index("--port") + 1]
    proc = subprocess.Popen([*COLONIES, "server", "start", *args], env=env or clean_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    code: int | None = None
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        code = proc.poll()
        if code is not None:
            break
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    else:
        raise AssertionError(f"server start neither served nor exited within {wait} s")
    if code is None:
        proc.terminate()
    _, err = proc.communicate(timeout=10)
    return code, err


def test_server_start_refuses_the_published_server_key(tmp_path: Any) -> None:
    db = f"sqlite:///{tmp_path}/a/colonies.db"
    code, err = server_start("--host", "127.0.0.1", "--port", str(free_port()), "--db", db,
                             env=clean_env(COLONIES_SERVER_PRVKEY=DEV_SERVER_PRVKEY))  # fmt: skip
    assert code not in (0, None) and "well-known" in err and len(err.strip().splitlines()) == 1, err
    code, err = server_start("--host", "127.0.0.1", "--port", str(free_port()), "--db", db, "--allow-well-known-keys",
                             env=clean_env(COLONIES_SERVER_PRVKEY=DEV_SERVER_PRVKEY))  # fmt: skip
    assert code is None, err


def test_server_start_refuses_a_dev_database(tmp_path: Any) -> None:
    data = str(tmp_path / "dev")
    proc, _, _ = start_dev(data)
    stop(proc)
    sid = crypto.id_from_prvkey(crypto.generate_prvkey())
    code, err = server_start("--host", "127.0.0.1", "--port", str(free_port()), "--db",
                             f"sqlite:///{data}/colonies.db", "--server-id", sid)  # fmt: skip
    assert code not in (0, None) and "colonies dev" in err, err


def test_server_start_refuses_a_database_owned_by_published_keys(tmp_path: Any) -> None:
    data = str(tmp_path / "old")
    proc, _, _ = start_dev(data, "--insecure-well-known-keys")
    stop(proc)
    os.remove(os.path.join(data, "server.key"))
    os.rename(os.path.join(data, "colonies.db"), str(tmp_path / "colonies.db"))  # away from the dev marker
    sid = crypto.id_from_prvkey(crypto.generate_prvkey())
    code, err = server_start("--host", "127.0.0.1", "--port", str(free_port()), "--db",
                             f"sqlite:///{tmp_path}/colonies.db", "--server-id", sid)  # fmt: skip
    assert code not in (0, None) and "well-known" in err, err


def test_server_start_warns_about_plain_http_on_the_network_and_keeps_data_private(tmp_path: Any) -> None:
    sid = crypto.id_from_prvkey(crypto.generate_prvkey())
    data = tmp_path / "prod" / "data"
    code, err = server_start("--host", "0.0.0.0", "--port", str(free_port()), "--db", f"sqlite:///{data}/c.db",
                             "--server-id", sid)  # fmt: skip
    assert code is None, err
    assert "WARNING: serving plain HTTP on 0.0.0.0" in err
    assert mode(str(data)) == 0o700
    assert mode(str(data / "c.db")) == 0o600
    code, err = server_start("--host", "127.0.0.1", "--port", str(free_port()), "--db", f"sqlite:///{data}/c.db",
                             "--server-id", sid)  # fmt: skip
    assert "plain HTTP" not in err


# --- keys on the command line ----------------------------------------------------------------------------------


@pytest.fixture
def dev(tmp_path: Any) -> Any:
    data = str(tmp_path / "dev")
    proc, exports, _ = start_dev(data)
    yield {**exports, "data": data}
    stop(proc)


def cli(args: list[str], env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*COLONIES, *args], env=env, input=stdin, capture_output=True, text=True, timeout=60)


def test_cli_reads_keys_from_a_file_or_stdin_and_warns_about_argv(dev: dict[str, str], tmp_path: Any) -> None:
    env = clean_env(**{k: v for k, v in dev.items() if k.startswith("COLONIES_") and k != "COLONIES_PRVKEY"})
    keyfile = tmp_path / "user.key"
    keyfile.write_text(dev["COLONIES_PRVKEY"] + "\n")
    keyfile.chmod(0o600)
    via_file = cli(["--prvkey-file", str(keyfile), "process", "ps", "--json"], env)
    assert via_file.returncode == 0, via_file.stderr
    assert "visible" not in via_file.stderr
    via_env_file = cli(["process", "ps", "--json"], {**env, "COLONIES_PRVKEY_FILE": str(keyfile)})
    assert via_env_file.returncode == 0, via_env_file.stderr
    via_stdin = cli(["--prvkey", "-", "process", "ps", "--json"], env, stdin=dev["COLONIES_PRVKEY"] + "\n")
    assert via_stdin.returncode == 0, via_stdin.stderr
    via_argv = cli(["--prvkey", dev["COLONIES_PRVKEY"], "process", "ps", "--json"], env)
    assert via_argv.returncode == 0 and "visible to other users" in via_argv.stderr
    # The dev server's owner key, from the file its export comment names.
    stats = cli(["server", "stats", "--json"], {**env, "COLONIES_SERVER_PRVKEY_FILE": dev["data"] + "/server.key"})
    assert stats.returncode == 0, stats.stderr
    assert cli(["server", "stats", "--json"], env).returncode != 0  # not in the exports

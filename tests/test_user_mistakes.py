"""What a new user stumbles on (issue 16): mistakes are refused or warned about in one line, never queued to wait
forever or written to a file nobody asked for; the CLI's help and version behave as in other tools."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Colony, expect_error
from test_cli import CLI, EXECUTOR_TYPE, cli  # noqa: F401 - the fixture

from colonies import crypto

pytestmark = pytest.mark.timeout(60)


def colonies(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
             timeout: float = 30) -> subprocess.CompletedProcess[str]:  # fmt: skip
    base = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
    return subprocess.run([sys.executable, "-m", "colonies", *args], env={**base, **(env or {})}, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout, check=False)  # fmt: skip


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), proc.stderr
    return lines[0]


# -- the server refuses what would wait forever ------------------------------------------------------------------------


def test_a_spec_without_a_function_name_is_refused(colony: Colony) -> None:
    exc = expect_error(400, colony.submit, funcname="")
    assert "funcname is empty" in str(exc)
    nodes = [colony.spec(nodename="a", funcname="f"), colony.spec(nodename="b", funcname=" ")]
    expect_error(400, colony.call, "submitworkflowspecmsg",
                 {"spec": {"colonyname": colony.name, "functionspecs": nodes}}, colony.user)  # fmt: skip
    cron = {"colonyname": colony.name, "name": "c1", "cronexpression": "0 * * * * *", "interval": -1,
            "workflowspec": json.dumps({"colonyname": colony.name, "functionspecs": nodes})}  # fmt: skip
    exc = expect_error(400, colony.call, "addcronmsg", {"cron": cron}, colony.user)
    assert "function spec b has no funcname" in str(exc)


def test_the_cli_warns_about_unknown_spec_keys_and_refuses_a_spec_without_a_function(cli: CLI,
                                                                                      tmp_path: Path) -> None:  # fmt: skip
    spec = tmp_path / "typo.json"
    spec.write_text('{"func": "echo", "conditions": {"executortype": "t"}}')
    proc = cli.run("function", "submit", "--spec", str(spec), ok=False)
    assert "warning: " in proc.stderr and "unknown key 'func' is ignored (did you mean 'funcname'?)" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == f"Error: {spec}: the spec has no funcname (the function an " \
                                                   "executor runs)"
    spec.write_text('{"funcname": "echo", "conditions": {"executortyp": "t", "executortype": "t"}}')
    proc = cli.run("function", "submit", "--spec", str(spec), ok=False)
    assert "unknown key 'executortyp' is ignored (did you mean 'executortype'?)" in proc.stderr


# -- server start -------------------------------------------------------------------------------------------------


def test_server_start_mistakes_are_one_line(tmp_path: Path) -> None:
    sid = crypto.id_from_prvkey(crypto.generate_prvkey())
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_error_line(colonies("server", "start", "--host", "127.0.0.1", "--port", str(port),
                                       "--server-id", sid, "--db", f"sqlite:///{tmp_path}/a.db"))  # fmt: skip
        assert line == (f"Error: port {port} is in use on 127.0.0.1 (another Colonies server?); choose another "
                        "with --port or COLONIES_SERVER_PORT")  # fmt: skip
    assert not (tmp_path / "a.db").exists()  # nothing opened before the port was ours
    line = one_error_line(colonies("server", "start", "--port", "1", "--server-id", sid, "--db", "mysql://x/y",
                                   cwd=tmp_path))  # fmt: skip
    assert "unsupported database mysql://" in line
    assert not list(tmp_path.iterdir())  # no SQLite file named after the URL
    line = one_error_line(colonies("server", "start", "--server-id", "not-an-id", cwd=tmp_path))
    assert "--server-id must be 64 hex digits" in line
    line = one_error_line(colonies("server", "start", cwd=tmp_path, env={"COLONIES_SERVER_ID": "ab" * 31}))
    assert "COLONIES_SERVER_ID must be 64 hex digits" in line


def test_a_first_start_without_a_server_id_says_nobody_is_server_owner(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "colonies", "server", "start", "--host", "127.0.0.1", "--port",
                             str(port), "--db", f"sqlite:///{tmp_path}/s.db"], stderr=subprocess.PIPE, text=True,
                            env={k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")})  # fmt: skip
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        assert "no server id given and none stored: nobody can act as the server owner" in first, first
        assert "keeping the one stored" not in first
    finally:
        proc.terminate()
        proc.wait(15)


# -- the CLI itself -------------------------------------------------------------------------------------------------


def test_version_flag_and_flags_shown_without_a_value_type() -> None:
    proc = colonies("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("colonies ")
    for args in (["--help"], ["workflow", "submit", "--help"], ["process", "ps", "--help"]):
        text = colonies(*args, env={"COLUMNS": "100"}).stdout
        assert "<bool>" not in text, text
    assert "--install-completion" in colonies("--help", env={"COLUMNS": "100"}).stdout


def test_an_executor_without_configuration_says_what_is_missing_in_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
    proc = subprocess.run([sys.executable, "-m", "colonies.executor.echo"], env=env, capture_output=True, text=True,
                          timeout=30, check=False)  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == "error: colonyname is required (COLONIES_COLONY_NAME)"


# -- one configuration -------------------------------------------------------------------------------------------


def test_the_cli_the_sdk_and_executors_read_the_server_settings_alike(cli: CLI,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """``colonies dev`` exports both TLS names; when they disagree all three tools take the same one."""
    from colonies.executor import Executor
    from pycolonies import colonies_client

    mixed = {"COLONIES_SERVER_TLS": "false", "COLONIES_TLS": "true"}
    proc = cli.run("config", "--json", env=mixed)
    config = json.loads(proc.stdout)
    assert config["tls"] is False and config["sources"]["tls"] == "COLONIES_SERVER_TLS; ignored: COLONIES_TLS=true"
    assert "COLONIES_SERVER_TLS=false is used; COLONIES_TLS=true is ignored" in proc.stderr
    cli.run("colony", "get", env=mixed)  # plain HTTP, as configured
    for key, value in {**cli.env, **mixed}.items():
        monkeypatch.setenv(key, value)
    client, colonyname, _, _, prvkey = colonies_client()
    assert client.get_colony(colonyname, prvkey)["name"] == colonyname  # the SDK talks plain HTTP too
    executor = Executor.from_env(executortype="t", colonyname=colonyname, prvkey=cli.colony.executor.prvkey)
    assert (executor.host, executor.port, executor.tls) == ("127.0.0.1", cli.server.port, False)
    assert cli.error("colony", "get", env={"COLONIES_SERVER_TLS": "maybe"}, strict=False) == \
        "Error: COLONIES_SERVER_TLS must be true or false, not 'maybe'"


def test_key_generate_writes_a_private_key_file_and_prints_the_id(tmp_path: Path) -> None:
    made = colonies("key", "generate", "--key-file", str(tmp_path / "server.key"))
    assert made.returncode == 0, made.stderr
    ident = made.stdout.strip()
    key = (tmp_path / "server.key").read_text().strip()
    assert crypto.id_from_prvkey(key) == ident and key not in made.stdout + made.stderr
    assert (tmp_path / "server.key").stat().st_mode & 0o777 == 0o600
    assert colonies("key", "id", "--key-file", str(tmp_path / "server.key")).stdout.strip() == ident
    again = colonies("key", "generate", "--key-file", str(tmp_path / "server.key"))
    assert one_error_line(again).startswith("Error: --key-file") and "File exists" in again.stderr
    assert (tmp_path / "server.key").read_text().strip() == key  # never overwritten
    assert "Example: colonies workflow submit" in colonies("workflow", "submit", "--help",
                                                           env={"COLUMNS": "120"}).stdout  # fmt: skip


def test_the_echo_executor_logs_what_a_person_wants_and_requests_only_with_v(cli: CLI) -> None:
    env = {**cli.env, "COLONIES_PRVKEY": cli.colony.executor.prvkey, "COLONIES_EXECUTOR_TYPE": EXECUTOR_TYPE}
    for verbose, expect_requests in ((False, False), (True, True)):
        proc = subprocess.Popen([sys.executable, "-m", "colonies.executor.echo", *(["-v"] if verbose else [])],
                                env=env, stderr=subprocess.PIPE, text=True)  # fmt: skip
        try:
            pid = cli.run("function", "exec", "--func", "echo", "--args", "hi", "--targettype", EXECUTOR_TYPE,
                          "--wait").stderr  # fmt: skip
            assert pid
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "serving echo" in err and re.search(r"echo successful in \d+\.\d\d s", err), err
        assert ("HTTP Request:" in err) == expect_requests, err


def test_pytest_says_which_backends_run(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "COLONIES_TEST_PG_URL"}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "--co", "tests/test_crypto.py"], env=env,
                          capture_output=True, text=True, timeout=120, check=False,
                          cwd=Path(__file__).resolve().parent.parent)  # fmt: skip
    assert "colonies backends: sqlite only; set COLONIES_TEST_PG_URL" in proc.stdout, proc.stdout[-2000:]


def test_the_install_docs_have_no_placeholders_without_the_command_that_makes_them() -> None:
    text = (Path(__file__).resolve().parent.parent / "docs" / "installing.md").read_text()
    for placeholder in ("<server key>", "<server id>", "<colony id>", "<colony key>", "<alice's id>"):
        assert placeholder not in text
    assert "colonies key generate --key-file server.key" in text


def test_the_servers_own_socket_sends_small_replies_at_once() -> None:
    """The server binds its socket itself (for the one-line port-in-use error); asyncio turns Nagle off only on a
    socket that says it is TCP, and with Nagle on every small reply waited ~40 ms for the client's delayed ACK."""
    import asyncio

    from colonies.cli.server import listening_socket

    sock = listening_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    seen: list[int] = []

    async def main() -> None:
        def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            conn = writer.get_extra_info("socket")
            seen.append(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(accepted, sock=sock)
        async with server:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            for _ in range(100):
                if seen:
                    break
                await asyncio.sleep(0.01)
            writer.close()

    asyncio.run(main())
    assert seen and seen[0] != 0

"""Real TLS: ``colonies server start --tls-cert --tls-key`` serves HTTPS and WSS, and the SDK and the CLI verify
the server's certificate (system CA store by default, a CA bundle on request, ``--insecure`` to skip the check).

The certificate is self-signed and made here with the ``openssl`` command, exactly as docs/installing.md shows,
for 127.0.0.1 and localhost. TLS does not depend on the storage backend, so one SQLite server serves the module.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import METRICS_AUTH, Colony, Server, create_colony, free_port, start_server

from colonies import crypto
from colonies.client import AsyncColonies, Colonies, ColoniesConfigError, colonies_client, func_spec
from colonies.client.transport import tls_context
from colonies.exceptions import ColoniesConnectionError


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A self-signed certificate for 127.0.0.1/localhost with its key, and a second, unrelated key."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    directory = tmp_path_factory.mktemp("tls")
    cert, key, other = (str(directory / name) for name in ("cert.pem", "key.pem", "other-key.pem"))
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout", key, "-out", cert,
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(["openssl", "genrsa", "-out", other, "2048"], check=True, capture_output=True)
    return {"cert": cert, "key": key, "other_key": other, "dir": str(directory)}


@pytest.fixture(scope="module")
def tls_server(certs: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(str(tmp_path_factory.mktemp("tls-server")), "--tls-cert", certs["cert"],
                       "--tls-key", certs["key"], tls=True, verify=certs["cert"])  # fmt: skip
    yield srv
    srv.stop()


@pytest.fixture
def tls_colony(tls_server: Server) -> Colony:
    return create_colony(tls_server)


def _spec(colony: Colony) -> Any:
    return func_spec("echo", ["hello"], colony.name, colony.executortype)


def _close_later(client: Colonies, colony: Colony, delay: float = 0.5) -> threading.Thread:
    """Assign and close the next process in a thread, once the caller is already waiting."""

    def run() -> None:
        time.sleep(delay)
        process = client.assign(colony.name, 10, colony.executor.prvkey)
        client.close(process.processid, ["done"], colony.executor.prvkey)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _is_certificate_error(exc: BaseException) -> bool:
    text = str(exc)
    return isinstance(exc, ColoniesConnectionError) and "certificate" in text and "Traceback" not in text


# --- the server ---------------------------------------------------------------------------------------------------


def test_api_health_and_metrics_over_https_only(tls_server: Server, certs: dict[str, str]) -> None:
    verify = tls_context(certs["cert"])
    for path in ("/health", "/metrics"):
        assert httpx.get(f"https://127.0.0.1:{tls_server.port}{path}", verify=verify, timeout=10,
                         headers=METRICS_AUTH).status_code == 200  # fmt: skip
        with pytest.raises(httpx.HTTPError):  # plain HTTP on the TLS port gets no HTTP answer
            httpx.get(f"http://127.0.0.1:{tls_server.port}{path}", timeout=10)
    plain = Colonies("127.0.0.1", tls_server.port, tls=False, timeout=10)
    with pytest.raises(ColoniesConnectionError) as info:
        plain.version()
    assert "tls=True" in str(info.value)  # the hint: this port may want TLS
    with pytest.raises(ColoniesConnectionError):
        plain.wait("0" * 64, 1, crypto.generate_prvkey())  # ws:// to the TLS port
    plain.close_connection()


def _run_server(directory: str, *args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
    cmd = [sys.executable, "-m", "colonies", "server", "start", "--host", "127.0.0.1", "--port", str(free_port()),
           "--db", "sqlite:///" + os.path.join(directory, "never.db"), *args]  # fmt: skip
    return subprocess.run(cmd, env={**base, **(env or {})}, capture_output=True, text=True, timeout=60, check=False)


def _clean_failure(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode != 0, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("Error: "), proc.stderr
    return lines[-1]


def test_server_refuses_half_or_unusable_tls_settings(certs: dict[str, str]) -> None:
    cert, key, other, directory = certs["cert"], certs["key"], certs["other_key"], certs["dir"]
    missing = os.path.join(directory, "missing.pem")
    cases: list[tuple[tuple[str, ...], dict[str, str], list[str]]] = [
        (("--tls-cert", cert), {}, ["--tls-cert", "--tls-key"]),
        (("--tls-key", key), {}, ["--tls-key", "--tls-cert"]),
        ((), {"COLONIES_TLS_CERT": cert}, ["--tls-key", "COLONIES_TLS_KEY"]),
        (("--tls-cert", missing, "--tls-key", key), {}, ["cannot read the TLS certificate", "missing.pem"]),
        (("--tls-cert", cert, "--tls-key", other), {}, ["cannot serve TLS", "key values mismatch"]),
        (("--tls-cert", key, "--tls-key", key), {}, ["cannot serve TLS", "PEM"]),
    ]
    for args, env, expected in cases:
        line = _clean_failure(_run_server(directory, *args, env=env))
        for text in expected:
            assert text in line, (args, env, line)


def test_server_reads_tls_files_from_the_environment_and_says_https(
    certs: dict[str, str], tmp_path: Path
) -> None:  # fmt: skip
    port = free_port()
    log = tmp_path / "server.log"
    base = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
    env = {**base, "COLONIES_TLS_CERT": certs["cert"], "COLONIES_TLS_KEY": certs["key"],
           "COLONIES_SERVER_ID": crypto.id_from_prvkey(crypto.generate_prvkey())}  # fmt: skip
    cmd = [sys.executable, "-m", "colonies", "server", "start", "--host", "127.0.0.1", "--port", str(port),
           "--db", f"sqlite:///{tmp_path / 'colonies.db'}"]  # fmt: skip
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stderr=out)
    try:
        deadline = time.monotonic() + 30
        while f"listening on https://127.0.0.1:{port}" not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.05)
        assert f"listening on https://127.0.0.1:{port}" in log.read_text(), log.read_text()
        with Colonies("localhost", port, tls=True, verify=certs["cert"], timeout=10) as client:  # SAN localhost
            assert client.version()["buildversion"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# --- the SDK ------------------------------------------------------------------------------------------------------


def test_sdk_verifies_with_the_ca_file(tls_server: Server, tls_colony: Colony, certs: dict[str, str]) -> None:
    with Colonies("127.0.0.1", tls_server.port, tls=True, verify=certs["cert"], timeout=10) as client:
        assert client.url.startswith("https://") and client.ws_url.startswith("wss://")
        process = client.submit_func_spec(_spec(tls_colony), tls_colony.user.prvkey)
        assert client.get_process(process.processid, tls_colony.user.prvkey).processid == process.processid
    with Colonies("127.0.0.1", tls_server.port, tls=True, verify=Path(certs["dir"]), timeout=10) as client:
        with pytest.raises(ColoniesConnectionError) as info:  # a directory of CAs that is not c_rehash-ed
            client.version()
        assert _is_certificate_error(info.value), info.value


def test_default_verification_rejects_a_self_signed_certificate(tls_server: Server, tls_colony: Colony) -> None:
    with Colonies("127.0.0.1", tls_server.port, tls=True, timeout=10) as client:
        with pytest.raises(ColoniesConnectionError) as info:
            client.get_colony(tls_colony.name, tls_colony.user.prvkey)
        assert _is_certificate_error(info.value), info.value
        assert f"127.0.0.1:{tls_server.port}" in str(info.value)
        with pytest.raises(ColoniesConnectionError) as ws_info:  # the /pubsub WebSocket verifies the same way
            client.wait("0" * 64, 1, tls_colony.user.prvkey)
        assert _is_certificate_error(ws_info.value), ws_info.value


def test_verify_false_skips_the_check(tls_server: Server, tls_colony: Colony) -> None:
    with Colonies("127.0.0.1", tls_server.port, tls=True, verify=False, timeout=10) as client:
        assert client.get_colony(tls_colony.name, tls_colony.user.prvkey).name == tls_colony.name


def test_an_unreadable_ca_bundle_is_a_config_error(certs: dict[str, str]) -> None:
    with pytest.raises(ColoniesConfigError, match="missing.pem"):
        Colonies("127.0.0.1", 1, tls=True, verify=os.path.join(certs["dir"], "missing.pem"))
    with pytest.raises(ColoniesConfigError, match="CA certificate"):
        Colonies("127.0.0.1", 1, tls=True, verify=certs["other_key"])  # a key, no certificate in it


def test_wait_over_wss(tls_server: Server, tls_colony: Colony, certs: dict[str, str]) -> None:
    with Colonies("127.0.0.1", tls_server.port, tls=True, verify=certs["cert"], timeout=10) as client:
        process = client.submit_func_spec(_spec(tls_colony), tls_colony.user.prvkey)
        thread = _close_later(client, tls_colony)
        done = client.wait(process, 20, tls_colony.user.prvkey)
        thread.join()
    assert done.state == Colonies.SUCCESSFUL and done.output == ["done"]


def test_async_client_over_https_and_wss(tls_server: Server, tls_colony: Colony, certs: dict[str, str]) -> None:
    async def main() -> None:
        async with AsyncColonies("127.0.0.1", tls_server.port, tls=True, verify=certs["cert"]) as client:
            process = await client.submit_func_spec(_spec(tls_colony), tls_colony.user.prvkey)
            assigned = await client.assign(tls_colony.name, 10, tls_colony.executor.prvkey)
            await client.close(assigned.processid, ["async"], tls_colony.executor.prvkey)
            done = await client.wait(process, 10, tls_colony.user.prvkey)
            assert done.output == ["async"]
        async with AsyncColonies("127.0.0.1", tls_server.port, tls=True) as client:
            with pytest.raises(ColoniesConnectionError) as info:
                await client.version()
            assert _is_certificate_error(info.value), info.value
            with pytest.raises(ColoniesConnectionError) as ws_info:
                await client.wait("0" * 64, 1, tls_colony.user.prvkey)
            assert _is_certificate_error(ws_info.value), ws_info.value

    asyncio.run(main())


def test_colonies_client_reads_the_ca_and_insecure_variables(
    tls_server: Server, tls_colony: Colony, certs: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:  # fmt: skip
    for name in [n for n in os.environ if n.startswith("COLONIES_")]:
        monkeypatch.delenv(name)
    for name, value in {"COLONIES_SERVER_HOST": "127.0.0.1", "COLONIES_SERVER_PORT": str(tls_server.port),
                        "COLONIES_SERVER_TLS": "true", "COLONIES_COLONY_NAME": tls_colony.name,
                        "COLONIES_PRVKEY": tls_colony.user.prvkey}.items():  # fmt: skip
        monkeypatch.setenv(name, value)

    def colony_name() -> str:
        client, colonyname, _, _, prvkey = colonies_client()
        with client:
            return str(client.get_colony(colonyname, prvkey).name)

    with pytest.raises(ColoniesConnectionError, match="certificate"):
        colony_name()
    monkeypatch.setenv("COLONIES_TLS_CA", certs["cert"])
    assert colony_name() == tls_colony.name
    monkeypatch.delenv("COLONIES_TLS_CA")
    monkeypatch.setenv("COLONIES_TLS_INSECURE", "true")
    assert colony_name() == tls_colony.name


# --- the CLI ------------------------------------------------------------------------------------------------------


def test_cli_verifies_the_certificate(tls_server: Server, tls_colony: Colony, certs: dict[str, str]) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
    env = {**base, "COLONIES_SERVER_HOST": "127.0.0.1", "COLONIES_SERVER_PORT": str(tls_server.port),
           "COLONIES_TLS": "true", "COLONIES_COLONY_NAME": tls_colony.name,
           "COLONIES_PRVKEY": tls_colony.user.prvkey}  # fmt: skip

    def cli(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "colonies", *args], env={**env, **extra}, capture_output=True,
                              text=True, timeout=60, check=False)  # fmt: skip

    def ok(*args: str, **extra: str) -> None:
        proc = cli(*args, **extra)
        assert proc.returncode == 0, (args, extra, proc.stderr)
        assert "executor" in proc.stdout, proc.stdout  # the colony's executor is listed

    ok("--ca-cert", certs["cert"], "executor", "ls", "--json")
    ok("executor", "ls", "--json", "--ca-cert", certs["cert"])  # global options may follow the subcommand
    ok("executor", "ls", "--json", COLONIES_TLS_CA=certs["cert"])
    ok("--insecure", "executor", "ls", "--json")
    ok("executor", "ls", "--skip-tls-verify", "--json")
    ok("executor", "ls", "--json", COLONIES_TLS_INSECURE="true")

    failed = cli("executor", "ls")
    assert failed.returncode == 1
    assert "Traceback" not in failed.stderr and failed.stderr.count("\n") == 1, failed.stderr
    assert failed.stderr.startswith("Error: ") and "certificate" in failed.stderr, failed.stderr
    assert "--ca-cert" in failed.stderr and "--insecure" in failed.stderr

    plain = cli("executor", "ls", COLONIES_TLS="false")  # plain HTTP is still selectable, and fails on this port
    assert plain.returncode == 1 and "Traceback" not in plain.stderr, plain.stderr

    bad_ca = cli("--ca-cert", os.path.join(certs["dir"], "missing.pem"), "executor", "ls")
    assert bad_ca.returncode == 1 and "missing.pem" in bad_ca.stderr and "Traceback" not in bad_ca.stderr

    shown = cli("config", "--json", "--ca-cert", certs["cert"])
    assert shown.returncode == 0 and certs["cert"] in shown.stdout, shown.stderr

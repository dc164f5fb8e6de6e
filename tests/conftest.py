"""Fixtures: a real server process on a free port, and fresh colonies with real keys.

``server`` is shared by the session (each test works in its own colony, so tests do not see each other);
``make_server`` starts a dedicated one with its own options when a test needs them (limits, kill -9).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from colonies import crypto
from colonies.client import RPCClient
from colonies.client.transport import tls_context
from colonies.exceptions import ColoniesError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A server subprocess and an RPC client to it."""

    port: int
    prvkey: str
    db: str
    proc: subprocess.Popen[bytes]
    args: list[str]
    env: dict[str, str]
    #: Started with --tls-cert/--tls-key: the tests' client speaks HTTPS, verifying with ``verify`` (a CA file).
    tls: bool = False
    verify: bool | str = True
    client: RPCClient = field(init=False)

    def __post_init__(self) -> None:
        self.client = RPCClient("127.0.0.1", self.port, self.tls, timeout=30, verify=self.verify)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def call(self, payloadtype: str, msg: dict[str, Any], prvkey: str | None, timeout: float | None = None) -> Any:
        return self.client.call(payloadtype, msg, prvkey, timeout)

    def wait_ready(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}")
            try:
                verify = tls_context(self.verify) if self.tls else True
                if httpx.get(self.url + "/health", timeout=1, verify=verify).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not become ready")

    def kill(self) -> None:
        """kill -9: no shutdown, no flush."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        self.client.close()  # first: an idle TLS keep-alive connection would hold up the graceful shutdown
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        drop_database(self.db)

    def restart(self) -> None:
        """Start again on the same port and database (after kill or stop)."""
        self.proc = subprocess.Popen(self.args, env=self.env)
        self.wait_ready()


def connect(server: Server, timeout: float = 5) -> socket.socket:
    """A raw TCP socket to the server, for tests that speak HTTP byte by byte."""
    return socket.create_connection(("127.0.0.1", server.port), timeout=timeout)


def closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server closes ``sock`` within ``seconds`` (reading sees EOF or a reset)."""
    sock.settimeout(seconds)
    try:
        while sock.recv(1024):
            pass
        return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


#: Backends the suite runs on: SQLite always; PostgreSQL when COLONIES_TEST_PG_URL is set (then it must work:
#: an unreachable database fails the run instead of skipping it).
PG_URL = os.environ.get("COLONIES_TEST_PG_URL", "")
BACKENDS = ["sqlite", "postgres"] if PG_URL else ["sqlite"]


def pytest_sessionstart(session: pytest.Session) -> None:
    """Say which databases the server tests run on, and why one is left out: the count of tests depends on it.
    Written as a line of its own, so ``-q`` (make test), which drops pytest's header, shows it too."""
    if PG_URL:
        line = "colonies backends: sqlite and postgres (COLONIES_TEST_PG_URL is set)"
    else:
        line = ("colonies backends: sqlite only; set COLONIES_TEST_PG_URL=postgresql://user@host/db to run the "
                "server tests on PostgreSQL too (about twice as many tests; .ci/run sets it)")
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(line)


#: PostgreSQL schemas this session made; any a test left behind is dropped at the end (pytest_sessionfinish).
_SCHEMAS: set[str] = set()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Leave the shared PostgreSQL database as it was: drop what this session's tests made and did not drop."""
    if not PG_URL or not _SCHEMAS:
        return
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True, connect_timeout=10) as conn:
        for schema in sorted(_SCHEMAS):
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def fresh_database(backend: str, tmp_dir: str) -> str:
    """A database URL nobody else uses: a SQLite file, or a new PostgreSQL schema in COLONIES_TEST_PG_URL."""
    if backend == "sqlite":
        return "sqlite:///" + os.path.join(tmp_dir, "colonies.db")
    import psycopg

    schema = f"test_{os.urandom(6).hex()}"
    with psycopg.connect(PG_URL, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    _SCHEMAS.add(schema)
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def drop_database(url: str) -> None:
    """Drop the PostgreSQL schema a test server used (SQLite files go with the temp dir)."""
    if "search_path%3D" not in url:
        return
    import psycopg

    schema = url.rsplit("search_path%3D", 1)[1]
    with psycopg.connect(PG_URL, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


#: Test servers serve /metrics to this token, and recount its gauges on every scrape.
METRICS_TOKEN = "test-metrics-token"
METRICS_ENV = {"COLONIES_METRICS_TOKEN": METRICS_TOKEN, "COLONIES_METRICS_INTERVAL": "0"}
METRICS_AUTH = {"Authorization": f"Bearer {METRICS_TOKEN}"}


def start_server(tmp_dir: str, *extra: str, env: dict[str, str] | None = None, port: int | None = None,
                 backend: str = "sqlite", db: str | None = None, prvkey: str | None = None, tls: bool = False,
                 verify: bool | str = True) -> Server:  # fmt: skip
    """A server subprocess; pass ``db`` (and the same ``prvkey``) to start another replica on one database.

    With ``--tls-cert``/``--tls-key`` in ``extra`` pass ``tls=True`` and the CA file as ``verify``."""
    prvkey = prvkey or crypto.generate_prvkey()
    port = port or free_port()
    db = db or fresh_database(backend, tmp_dir)
    args = [sys.executable, "-m", "colonies", "server", "start", "--host", "127.0.0.1", "--port", str(port),
            "--db", db, "--server-id", crypto.id_from_prvkey(prvkey), *extra]  # fmt: skip
    full_env = {**os.environ, **METRICS_ENV, **(env or {})}
    proc = subprocess.Popen(args, env=full_env)
    server = Server(port=port, prvkey=prvkey, db=db, proc=proc, args=args, env=full_env, tls=tls, verify=verify)
    server.wait_ready()
    return server


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, backend: str) -> Iterator[Server]:
    srv = start_server(str(tmp_path_factory.mktemp("server")), backend=backend)
    yield srv
    srv.stop()


@pytest.fixture
def make_server(tmp_path_factory: pytest.TempPathFactory, backend: str) -> Iterator[Any]:
    started: list[Server] = []

    def make(*extra: str, env: dict[str, str] | None = None) -> Server:
        srv = start_server(str(tmp_path_factory.mktemp("srv")), *extra, env=env, backend=backend)
        started.append(srv)
        return srv

    yield make
    for srv in started:
        srv.stop()


@dataclass
class Identity:
    prvkey: str
    id: str
    name: str


def new_identity(name: str) -> Identity:
    key = crypto.generate_prvkey()
    return Identity(key, crypto.id_from_prvkey(key), name)


@dataclass
class Colony:
    """A fresh colony on ``server`` with its owner, one approved executor and one user."""

    server: Server
    name: str
    owner: Identity
    executor: Identity
    user: Identity
    executortype: str = "test_executor_type"

    def call(self, payloadtype: str, msg: dict[str, Any], who: Identity | str | None, timeout: float | None = None) -> Any:
        key = who.prvkey if isinstance(who, Identity) else who
        return self.server.call(payloadtype, msg, key, timeout)

    def add_executor(self, name: str | None = None, executortype: str | None = None, approve: bool = True,
                     locationname: str = "") -> Identity:  # fmt: skip
        ident = new_identity(name or f"exec-{os.urandom(4).hex()}")
        self.call("addexecutormsg", {"executor": {"executorid": ident.id, "executorname": ident.name,
                  "executortype": executortype or self.executortype, "colonyname": self.name,
                  "locationname": locationname}}, self.owner)  # fmt: skip
        if approve:
            self.call("approveexecutormsg", {"colonyname": self.name, "executorname": ident.name}, self.owner)
        return ident

    def add_user(self, name: str | None = None) -> Identity:
        ident = new_identity(name or f"user-{os.urandom(4).hex()}")
        self.call("addusermsg", {"user": {"colonyname": self.name, "userid": ident.id, "name": ident.name,
                  "email": "a@b.c", "phone": "1"}}, self.owner)  # fmt: skip
        return ident

    def spec(self, **overrides: Any) -> dict[str, Any]:
        """A function spec like the Go tests' CreateTestFunctionSpec."""
        spec: dict[str, Any] = {
            "nodename": "test_name", "funcname": "test_func", "args": ["test_arg"], "kwargs": {"name": "test_arg"},
            "priority": 1, "maxwaittime": -1, "maxexectime": -1, "maxretries": 1, "label": "test_label",
            "conditions": {"colonyname": self.name, "executortype": self.executortype},
        }  # fmt: skip
        conditions = overrides.pop("conditions", {})
        spec.update(overrides)
        spec["conditions"] = {**spec["conditions"], **conditions}
        return spec

    def submit(self, who: Identity | None = None, **overrides: Any) -> dict[str, Any]:
        return self.call("submitfuncspecmsg", {"spec": self.spec(**overrides)}, who or self.executor)

    def assign(self, who: Identity | None = None, timeout: int = -1, **extra: Any) -> dict[str, Any]:
        return self.call("assignprocessmsg", {"colonyname": self.name, "timeout": timeout, **extra},
                         who or self.executor, timeout=max(timeout, 0) + 30)  # fmt: skip

    def close(self, processid: str, out: list[Any] | None = None, who: Identity | None = None) -> Any:
        return self.call("closesuccessfulmsg", {"processid": processid, "out": out or []}, who or self.executor)

    def fail(self, processid: str, errors: list[str] | None = None, who: Identity | None = None) -> Any:
        return self.call("closefailedmsg", {"processid": processid, "errors": errors or []}, who or self.executor)

    def get(self, processid: str, who: Identity | None = None) -> dict[str, Any]:
        return self.call("getprocessmsg", {"processid": processid}, who or self.executor)


def create_colony(server: Server, name: str | None = None) -> Colony:
    owner = new_identity(name or f"colony-{os.urandom(6).hex()}")
    server.call("addcolonymsg", {"colony": {"colonyid": owner.id, "name": owner.name}}, server.prvkey)
    colony = Colony(server, owner.name, owner, new_identity("placeholder"), new_identity("placeholder"))
    colony.executor = colony.add_executor("executor")
    colony.user = colony.add_user("user")
    return colony


@pytest.fixture
def colony(server: Server) -> Colony:
    return create_colony(server)


def expect_error(status: int, fn: Any, *args: Any, **kwargs: Any) -> ColoniesError:
    """Run ``fn`` and assert it fails with this HTTP status; returns the error for message checks."""
    with pytest.raises(ColoniesError) as info:
        fn(*args, **kwargs)
    assert info.value.status == status, f"expected {status}, got {info.value.status}: {info.value.message}"
    return info.value

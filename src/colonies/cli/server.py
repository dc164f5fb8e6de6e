"""``server``: start a Colonies server, or ask a running one how it is."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import re
import socket
from typing import Any

import typer

from ..crypto import CryptoError, id_from_prvkey
from ..generations import GENERATIONS
from ..schedule import ScheduleError, time_zone
from ..server.origins import is_loopback_bind
from ..settings import DEV_COLONY_PRVKEY, DEV_SERVER_PRVKEY, Settings
from ..storage import StorageError, check_url
from .context import CLIError, get_config
from .output import emit, info, kv_table, plain

server_app = typer.Typer(no_args_is_help=True, help="Run a Colonies server, or ask one how it is.")


@server_app.command("status")
def server_status() -> None:
    """Build version and backends of the server (no key needed)."""
    cfg = get_config()
    data = plain(cfg.client().get_server_info())
    emit(data, lambda d: kv_table(f"Server {cfg.address}", [
        ("BuildVersion", d.get("buildversion")), ("BuildTime", d.get("buildtime")),
        *((f"Backend {b.get('type')}", f"{b.get('host')}:{b.get('port')}") for b in d.get("backends") or []),
    ]))  # fmt: skip


@server_app.command("stats")
def server_stats() -> None:
    """Counts over the whole server (server owner key)."""
    cfg = get_config()
    data = plain(cfg.client().get_statistics(cfg.key("server_prvkey")))
    emit(data, lambda d: kv_table("Server statistics", [(k, v) for k, v in d.items() if k != "msgtype"]))


@server_app.command("alive")
def server_alive() -> None:
    """Exit 0 if the server answers, 1 (with the reason) if not."""
    cfg = get_config()
    cfg.client().version()
    emit({"alive": True, "server": cfg.address}, lambda _: info(f"Server {cfg.address} is alive"))


def check_tls(cert: str, key: str) -> None:
    """Refuse a half TLS setup, or a certificate and key that cannot serve, before anything starts."""
    import ssl

    if not cert and not key:
        return
    if not cert or not key:
        given, missing = ("--tls-cert", "--tls-key") if cert else ("--tls-key", "--tls-cert")
        raise CLIError(f"{given} needs {missing} too (or COLONIES_TLS_CERT and COLONIES_TLS_KEY): "
                       "give both the certificate and its private key, or neither for plain HTTP")  # fmt: skip

    for what, path in (("certificate", cert), ("key", key)):
        try:
            with open(path, "rb"):
                pass
        except OSError as exc:
            raise CLIError(f"cannot read the TLS {what} {path}: {exc.strerror or exc}") from None

    def no_password() -> bytes:
        raise CLIError(f"the TLS key {key} is encrypted; give an unencrypted PEM key")

    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert, key, password=no_password)
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        reason = getattr(exc, "reason", None)  # e.g. KEY_VALUES_MISMATCH -> key values mismatch
        reason = reason.lower().replace("_", " ") if reason else "not a PEM certificate and its matching key"
        raise CLIError(f"cannot serve TLS with certificate {cert} and key {key}: {reason}") from None


def _server_id(server_id: str | None) -> str:
    """The server owner's id from the flag, COLONIES_SERVER_ID or COLONIES_SERVER_PRVKEY; "" when none is given.
    A malformed id is refused: stored, it would lock every server-owner call out."""
    given, source = (server_id, "--server-id") if server_id else (os.environ.get("COLONIES_SERVER_ID", ""),
                                                                    "COLONIES_SERVER_ID")  # fmt: skip
    if given:
        given = given.strip().lower()
        if not re.fullmatch(r"[0-9a-f]{64}", given):
            raise CLIError(f"{source} must be 64 hex digits (a server key's id: colonies key id), not {given!r}")
        return given
    key = os.environ.get("COLONIES_SERVER_PRVKEY")
    return id_from_prvkey(key) if key else ""


def redact_url(url: str) -> str:
    """A database URL fit for a log line: the password is replaced."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(":" + parts.password + "@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def listening_socket(host: str, port: int) -> socket.socket:
    """The server's socket, bound here rather than by uvicorn, whose bind failure is a traceback and exit 1."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say they are TCP, and without it
    # every small reply waits for the client's delayed ACK (about 40 ms a request).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart must not wait for TIME_WAIT
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise CLIError(f"port {port} is in use on {host} (another Colonies server?); choose another with "
                           "--port or COLONIES_SERVER_PORT") from None  # fmt: skip
        raise CLIError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def run_server(main: Any) -> None:
    """Run the server's coroutine on uvloop where it is installed (it comes with ``uvicorn[standard]``; not on
    Windows), else on asyncio's own loop. Under load the event loop itself (selector, handles, transports) was
    a fifth of the server's CPU per request; uvloop does that work in C."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


async def serve(settings: Settings, setup: Any = None, on_started: Any = None) -> None:
    """Open the store, run ``setup`` on it, serve; ``on_started`` runs once the port is really listening."""
    import uvicorn

    from ..server.app import create_app
    from ..storage import open_store

    sock = listening_socket(settings.host, settings.port)  # first: a port in use is one line, nothing opened
    try:
        store = await open_store(settings.db_url)
    except StorageError as exc:
        sock.close()
        raise CLIError(str(exc)) from None
    if setup is not None:
        await setup(store)
    tls: dict[str, Any] = {}
    if settings.tls:  # then the port speaks only HTTPS and WSS
        tls = {"ssl_certfile": settings.tls_cert, "ssl_keyfile": settings.tls_key}
    from ..server.connections import ConnectionLimits, protocol_class, raise_fd_limit

    raise_fd_limit(settings.max_connections + 256)  # room for the sockets we accept, the database and files
    limits = ConnectionLimits(settings.max_connections, settings.max_connections_per_address)
    app = create_app(settings, store)
    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level="warning",
        access_log=False, timeout_graceful_shutdown=2, ws_max_size=settings.max_body_bytes,
        http=protocol_class(settings.header_timeout, limits, app.api), timeout_keep_alive=int(settings.idle_timeout),
        **tls,
    )  # fmt: skip
    server = uvicorn.Server(config)
    serving = asyncio.ensure_future(server.serve(sockets=[sock]))
    while not server.started and not serving.done():
        await asyncio.sleep(0.02)
    if server.started and on_started is not None:
        on_started()
    await serving


@server_app.command("start", epilog="Example: colonies server start --db postgresql://colonies@db/colonies "
                    "--server-id \"$(colonies key id --key-file server.key)\"")
def server_start(
    host: str | None = typer.Option(
        None, "--host", help="Address to listen on (env COLONIES_SERVER_HOST_BIND, default 0.0.0.0)."
    ),
    port: int | None = typer.Option(None, "--port", help="Port (env COLONIES_SERVER_PORT, default 50080)."),
    db: str | None = typer.Option(None, "--db", help="Database URL (default a SQLite file in the data dir)."),
    server_id: str | None = typer.Option(
        None, "--server-id", help="Server owner id (env COLONIES_SERVER_ID)."
    ),
    max_body: int | None = typer.Option(None, "--max-body-bytes", help="Largest request body accepted."),
    tls_cert: str | None = typer.Option(
        None, "--tls-cert", help="Serve HTTPS/WSS with this certificate (PEM, chain; env COLONIES_TLS_CERT)."
    ),
    tls_key: str | None = typer.Option(
        None, "--tls-key", help="The certificate's private key (PEM, unencrypted; env COLONIES_TLS_KEY)."
    ),
    cors_origin: list[str] = typer.Option(
        [], "--cors-origin", help="A web origin whose pages may call the API (repeatable; env COLONIES_CORS_ORIGINS)."
    ),
    allow_well_known: bool = typer.Option(
        False, "--allow-well-known-keys", help="Serve even though the server key or the database uses the "
        "published development keys (anyone can sign as their owners)."),
    wire_generation: str | None = typer.Option(
        None, "--wire-generation", help="current (default), or 1.7.8: answer as the original v1.7.8 server, "
        "refusing the messages it lacks (for testing clients; env COLONIES_WIRE_GENERATION)."),
) -> None:
    """Start a Colonies server (HTTPS and WSS with --tls-cert and --tls-key)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.umask(0o077)  # the data directory and the database files are private to the server's user
    try:
        sid = _server_id(server_id)
    except CryptoError as exc:
        raise typer.BadParameter(f"COLONIES_SERVER_PRVKEY: {exc}") from None
    settings = Settings.from_env(host=host, port=port, db_url=db, server_id=sid, max_body_bytes=max_body,
                                 tls_cert=tls_cert, tls_key=tls_key, cors_origins=cors_origin or None,
                                 wire_generation=wire_generation)  # fmt: skip
    if settings.wire_generation not in GENERATIONS:
        raise CLIError(f"--wire-generation (COLONIES_WIRE_GENERATION) must be one of {', '.join(GENERATIONS)}, "
                       f"not {settings.wire_generation!r}")  # fmt: skip
    if settings.wire_generation != "current":
        typer.echo(f"answering as the original v{settings.wire_generation} server (--wire-generation): newer "
                   "messages are refused", err=True)  # fmt: skip
    check_tls(settings.tls_cert, settings.tls_key)
    try:
        check_url(settings.db_url)
    except StorageError as exc:
        raise CLIError(str(exc)) from None
    try:
        time_zone(settings.cron_tz)
    except ScheduleError as exc:
        raise CLIError(f"COLONIES_CRON_TZ: {exc}") from None
    if not allow_well_known:
        refuse_dev_setup(sid, settings.db_url)
    if not settings.tls and not is_loopback_bind(settings.host):
        typer.echo(f"WARNING: serving plain HTTP on {settings.host}: signed requests, process inputs, outputs "
                   "and env travel unencrypted; use --tls-cert/--tls-key or a TLS proxy", err=True)  # fmt: skip
    def started() -> None:
        scheme = "https" if settings.tls else "http"
        where = f"{scheme}://{settings.host}:{settings.port}, database {redact_url(settings.db_url)}"
        typer.echo(f"Colonies server listening on {where}", err=True)

    async def check_store(store: Any) -> None:
        if not sid:
            stored = await store.get_server_id()
            if stored:
                typer.echo(f"warning: no server id given (--server-id, COLONIES_SERVER_ID or COLONIES_SERVER_PRVKEY); "
                           f"keeping the one stored in the database ({stored[:12]}…)", err=True)  # fmt: skip
            else:
                typer.echo("warning: no server id given and none stored: nobody can act as the server owner (add "
                           "colonies) until the server starts with --server-id or COLONIES_SERVER_ID", err=True)
        if allow_well_known:
            return
        if await store.get_server_id() == id_from_prvkey(DEV_SERVER_PRVKEY):
            raise CLIError("the database is owned by the well-known development server key (made by "
                           "'colonies dev --insecure-well-known-keys'?); pass --allow-well-known-keys to serve it")
        owners = {c["colonyid"] for c in await store.get_colonies()}
        if id_from_prvkey(DEV_COLONY_PRVKEY) in owners:
            raise CLIError("a colony in the database is owned by the well-known development colony key; "
                           "pass --allow-well-known-keys to serve it anyway")  # fmt: skip

    run_server(serve(settings, check_store, on_started=started))


def refuse_dev_setup(server_id: str, db_url: str) -> None:
    """A production start must not serve the published development identity or a ``colonies dev`` database."""
    if server_id and server_id == id_from_prvkey(DEV_SERVER_PRVKEY):
        raise CLIError("the server id is the well-known development server key's: anyone can sign as server "
                       "owner; use a key of your own (colonies key generate) or pass --allow-well-known-keys")
    if db_url.startswith("sqlite:///"):
        directory = os.path.dirname(os.path.abspath(db_url[len("sqlite:///"):]))
        if os.path.exists(os.path.join(directory, "dev-keys.json")):
            raise CLIError(f"{directory} holds a 'colonies dev' database (its keys are in dev-keys.json there); "
                           "serve it with 'colonies dev --data-dir', or pass --allow-well-known-keys")

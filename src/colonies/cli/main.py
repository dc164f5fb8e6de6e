"""The ``colonies`` command: the original CLI's tree (protocol §8.3) over the SDK, plus the server itself.

Every command group lives in its own module; this one wires them together, holds the global options and turns
errors into one ``Error:`` line on stderr (with the traceback only under ``--verbose``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import tempfile
import traceback
from typing import Any

import typer

from ..crypto import CryptoError, id_from_prvkey
from ..exceptions import ColoniesConnectionError, ColoniesError
from ..keys import KeySourceError, read_key_file
from ..server.origins import is_loopback_bind
from ..settings import DEV_COLONY_NAME, DEV_COLONY_PRVKEY, DEV_PRVKEY, DEV_SERVER_PRVKEY, Settings
from . import (
    attribute, colony, cron, executor, function, generator, keys, location, log, process, user, workflow,
)
from .config import show_config
from .context import CLIError, Config, get_config, set_config
from .output import emit, info, kv_table, plain

app = typer.Typer(
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    help="ColonyOS in Python: run a server and drive colonies, executors, processes and workflows.",
)  # fmt: skip
server_app = typer.Typer(no_args_is_help=True, help="Run a Colonies server, or ask one how it is.")
app.add_typer(server_app, name="server")
app.add_typer(keys.key_app, name="key")
app.add_typer(keys.security_app, name="security")
app.add_typer(colony.app, name="colony")
app.add_typer(user.app, name="user")
app.add_typer(executor.app, name="executor")
app.add_typer(function.app, name="function")
app.add_typer(process.app, name="process")
app.add_typer(workflow.app, name="workflow")
app.add_typer(log.app, name="log")
app.add_typer(attribute.app, name="attribute")
app.add_typer(cron.app, name="cron")
app.add_typer(generator.app, name="generator")
app.add_typer(location.app, name="location")
app.command("config")(show_config)


@app.callback()
def root(
    ctx: typer.Context,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging; tracebacks on errors."),
    json_out: bool = typer.Option(False, "--json", help="Print raw JSON (for scripts)."),
    host: str | None = typer.Option(None, "--host", help="Server (env COLONIES_SERVER_HOST)."),
    port: int | None = typer.Option(None, "--port", help="Server port (env COLONIES_SERVER_PORT, 50080)."),
    insecure: bool = typer.Option(
        False, "--insecure", help="Do not verify the server's TLS certificate (env COLONIES_TLS_INSECURE)."
    ),
    skip_verify: bool = typer.Option(False, "--skip-tls-verify", help="Same as --insecure."),
    ca_cert: str | None = typer.Option(
        None, "--ca-cert", help="Verify the server's TLS certificate with this CA bundle (env COLONIES_TLS_CA)."
    ),
    prvkey: str | None = typer.Option(
        None, "--prvkey", help="Sign with this key, not COLONIES_PRVKEY; '-' reads it from standard input. A key "
        "given here is visible to other users (ps): prefer --prvkey-file."),
    prvkey_file: str | None = typer.Option(
        None, "--prvkey-file", help="Sign with the key in this file (env COLONIES_PRVKEY_FILE; '-' = stdin)."
    ),
) -> None:
    """Global options; they may also be given after the subcommand (``colonies process ps --json``)."""
    if verbose:  # each request (httpx logs them at INFO) and our own debug output, not the wire chatter
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("colonies").setLevel(logging.DEBUG)
    prvkey = _flag_key(prvkey, prvkey_file)
    cfg = Config.from_env(host=host, port=port, insecure=insecure, skip_verify=skip_verify, prvkey=prvkey,
                          verbose=verbose, json=json_out, ca_cert=ca_cert)  # fmt: skip
    set_config(cfg)
    ctx.call_on_close(cfg.close)


def _flag_key(prvkey: str | None, prvkey_file: str | None) -> str | None:
    """The key of ``--prvkey``/``--prvkey-file``; a literal key on the command line works but is warned about."""
    try:
        if prvkey_file:
            return read_key_file(prvkey_file)
        if prvkey == "-":
            return read_key_file("-")
    except KeySourceError as exc:
        raise CLIError(str(exc)) from None
    if prvkey:
        typer.echo("warning: a key given with --prvkey is visible to other users of this machine (ps, "
                   "/proc/<pid>/cmdline); use --prvkey-file or COLONIES_PRVKEY_FILE", err=True)  # fmt: skip
    return prvkey


@app.command("version")
def version() -> None:
    """The CLI's version (the server's: `colonies server status`)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        ver = dist_version("colonies")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        ver = "dev"
    emit({"version": ver}, lambda d: typer.echo(f"colonies {d['version']}"))


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
    if server_id:
        return server_id
    if os.environ.get("COLONIES_SERVER_ID"):
        return os.environ["COLONIES_SERVER_ID"]
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


async def _serve(settings: Settings, setup: Any = None, on_started: Any = None) -> None:
    """Open the store, run ``setup`` on it, serve; ``on_started`` runs once the port is really listening."""
    import uvicorn

    from ..server.app import create_app
    from ..storage import open_store

    store = await open_store(settings.db_url)
    if setup is not None:
        await setup(store)
    tls: dict[str, Any] = {}
    if settings.tls:  # then the port speaks only HTTPS and WSS
        tls = {"ssl_certfile": settings.tls_cert, "ssl_keyfile": settings.tls_key}
    from ..server.connections import ConnectionLimits, protocol_class, raise_fd_limit

    raise_fd_limit(settings.max_connections + 256)  # room for the sockets we accept, the database and files
    limits = ConnectionLimits(settings.max_connections, settings.max_connections_per_address)
    config = uvicorn.Config(
        create_app(settings, store), host=settings.host, port=settings.port, log_level="warning",
        access_log=False, timeout_graceful_shutdown=2, ws_max_size=settings.max_body_bytes,
        http=protocol_class(settings.header_timeout, limits), timeout_keep_alive=int(settings.idle_timeout), **tls,
    )  # fmt: skip
    server = uvicorn.Server(config)
    serving = asyncio.ensure_future(server.serve())
    while not server.started and not serving.done():
        await asyncio.sleep(0.02)
    if server.started and on_started is not None:
        on_started()
    await serving


@server_app.command("start")
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
) -> None:
    """Start a Colonies server (HTTPS and WSS with --tls-cert and --tls-key)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.umask(0o077)  # the data directory and the database files are private to the server's user
    try:
        sid = _server_id(server_id)
    except CryptoError as exc:
        raise typer.BadParameter(f"COLONIES_SERVER_PRVKEY: {exc}") from None
    settings = Settings.from_env(host=host, port=port, db_url=db, server_id=sid, max_body_bytes=max_body,
                                 tls_cert=tls_cert, tls_key=tls_key, cors_origins=cors_origin or None)  # fmt: skip
    check_tls(settings.tls_cert, settings.tls_key)
    if not allow_well_known:
        refuse_dev_setup(sid, settings.db_url)
    if not settings.tls and not is_loopback_bind(settings.host):
        typer.echo(f"WARNING: serving plain HTTP on {settings.host}: signed requests, process inputs, outputs "
                   "and env travel unencrypted; use --tls-cert/--tls-key or a TLS proxy", err=True)  # fmt: skip
    if not sid:
        typer.echo("warning: no server id given (COLONIES_SERVER_ID or COLONIES_SERVER_PRVKEY); "
                   "keeping the one stored in the database", err=True)  # fmt: skip
    def started() -> None:
        scheme = "https" if settings.tls else "http"
        where = f"{scheme}://{settings.host}:{settings.port}, database {redact_url(settings.db_url)}"
        typer.echo(f"Colonies server listening on {where}", err=True)

    async def check_store(store: Any) -> None:
        if allow_well_known:
            return
        if await store.get_server_id() == id_from_prvkey(DEV_SERVER_PRVKEY):
            raise CLIError("the database is owned by the well-known development server key (made by "
                           "'colonies dev --insecure-well-known-keys'?); pass --allow-well-known-keys to serve it")
        owners = {c["colonyid"] for c in await store.get_colonies()}
        if id_from_prvkey(DEV_COLONY_PRVKEY) in owners:
            raise CLIError("a colony in the database is owned by the well-known development colony key; "
                           "pass --allow-well-known-keys to serve it anyway")  # fmt: skip

    asyncio.run(_serve(settings, check_store, on_started=started))


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


WELL_KNOWN_FLAG = "--insecure-well-known-keys"
WELL_KNOWN_WARNING = ("WARNING: serving with the well-known public development keys: anyone who can reach this port, "
                      "including any web page you visit, can sign as server owner, colony owner and executor, and "
                      "so run commands on this machine through any executor you start")  # fmt: skip


def dev_keys(directory: str, well_known: bool) -> dict[str, str]:
    """The dev server's keys: from the environment if set, else from ``dev-keys.json`` in the data directory,
    else fresh random ones saved there (mode 0600), or the published ones with ``--insecure-well-known-keys``."""
    import json

    from ..crypto import generate_prvkey

    path = os.path.join(directory, "dev-keys.json")
    saved: dict[str, str] = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            saved = json.load(handle)
    published = {"server": DEV_SERVER_PRVKEY, "colony": DEV_COLONY_PRVKEY, "prvkey": DEV_PRVKEY}
    chosen = {}
    for role, var in (("server", "COLONIES_SERVER_PRVKEY"), ("colony", "COLONIES_COLONY_PRVKEY"),
                      ("prvkey", "COLONIES_PRVKEY")):  # fmt: skip
        from_env = os.environ.get(var, "").strip()
        if from_env == published[role] and not well_known:
            raise CLIError(f"{var} is a well-known public development key; pass {WELL_KNOWN_FLAG} to use it anyway")
        chosen[role] = from_env or (published[role] if well_known else saved.get(role) or generate_prvkey())
    if not well_known and any(saved.get(role) != key for role, key in chosen.items()):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(chosen, handle)
        os.chmod(path, 0o600)
    return chosen


@app.command("dev")
def dev(
    port: int | None = typer.Option(None, "--port", help="Port (env COLONIES_SERVER_PORT, default 50080)."),
    data_dir: str | None = typer.Option(
        None, "--data-dir", help="Where the SQLite file and the keys go (default: fresh temp dir)."
    ),
    well_known: bool = typer.Option(
        False, WELL_KNOWN_FLAG, help="Use the published development keys instead of fresh random ones. Anyone "
        "who can reach the port, including web pages you visit, can then sign as server and colony owner."),
) -> None:
    """A development server on 127.0.0.1 and a fresh SQLite database, with a colony, an executor and a user ready
    to use. Keys are random per data directory (kept in dev-keys.json there, mode 0600)."""
    logging.basicConfig(level=logging.WARNING)
    os.umask(0o077)  # the database, its journal and the key file are private to this user
    directory = data_dir or tempfile.mkdtemp(prefix="coloniesdev-")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    chosen = dev_keys(directory, well_known)
    server_key, colony_key, prvkey = chosen["server"], chosen["colony"], chosen["prvkey"]
    if well_known:
        typer.echo(WELL_KNOWN_WARNING, err=True)
    server_key_file = os.path.join(directory, "server.key")
    fd = os.open(server_key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(server_key + "\n")
    colony = os.environ.get("COLONIES_COLONY_NAME") or DEV_COLONY_NAME
    executor_name = os.environ.get("COLONIES_EXECUTOR_NAME") or "myexecutor"
    executor_type = os.environ.get("COLONIES_EXECUTOR_TYPE") or "cli"
    settings = Settings.from_env(
        host="127.0.0.1", port=port, db_url="sqlite:///" + os.path.join(directory, "colonies.db"),
        server_id=id_from_prvkey(server_key), tls_cert="", tls_key="",  # plain HTTP, as the exports below say
    )  # fmt: skip

    async def setup(store) -> None:  # type: ignore[no-untyped-def]
        import time

        await store.set_server_id(id_from_prvkey(server_key))
        if await store.get_colony(colony) is None:
            await store.add_colony(colony, id_from_prvkey(colony_key))
        ident = id_from_prvkey(prvkey)
        if await store.get_executor(colony, executor_name) is None:
            await store.add_executor({
                "colonyname": colony, "executorname": executor_name, "executorid": ident,
                "executortype": executor_type, "state": 1, "requirefuncreg": 0, "commissiontime": time.time_ns(),
                "lastheardfromtime": 0, "locationname": "", "capabilities": '{"hardware":{},"software":{}}',
                "allocations": '{"projects":{}}', "blueprintid": "", "blueprintgen": 0,
            })  # fmt: skip
        if await store.get_user_by_id(colony, ident) is None:
            await store.add_user(
                {"colonyname": colony, "name": "myuser", "userid": ident, "email": "", "phone": ""}
            )

    lines = [
        "export COLONIES_SERVER_HOST=localhost",
        f"export COLONIES_SERVER_PORT={settings.port}",
        "export COLONIES_SERVER_TLS=false",
        "export COLONIES_TLS=false",
        f"export COLONIES_COLONY_NAME={colony}",
        f"export COLONIES_COLONY_PRVKEY={colony_key}",
        f"export COLONIES_EXECUTOR_NAME={executor_name}",
        f"export COLONIES_EXECUTOR_TYPE={executor_type}",
        f"export COLONIES_PRVKEY={prvkey}",
        "# The server owner's key is needed only for 'colonies colony add/remove' and 'server stats'; keep it out",
        f"# of executor shells. When you need it: export COLONIES_SERVER_PRVKEY_FILE={server_key_file}",
    ]
    def started() -> None:  # printed once the port listens, so a script reading these lines can go ahead
        typer.echo("# Colonies development server; data and keys in " + directory)
        typer.echo("\n".join(lines), nl=True)
        sys.stdout.flush()
        typer.echo(f"# listening on http://127.0.0.1:{settings.port} (Ctrl-C to stop)", err=True)

    asyncio.run(_serve(settings, setup, started))


#: Root flags that users also type after the subcommand, as the original allows (``process get -p X --json``).
_GLOBAL_FLAGS = frozenset({"--json", "--verbose", "-v", "--insecure", "--skip-tls-verify"})
_GLOBAL_VALUED = frozenset({"--host", "--port", "--prvkey", "--prvkey-file", "--ca-cert"})


def _option_names(command: Any) -> tuple[set[str], set[str]]:
    """(all option names, names of options that take a value) of one command.

    Duck-typed: recent Typer versions vendor their own click, so isinstance checks against click would fail.
    """
    names: set[str] = set()
    valued: set[str] = set()
    for param in command.params:
        if getattr(param, "param_type_name", "") == "option":
            decls = set(param.opts) | set(param.secondary_opts)
            names |= decls
            if not param.is_flag and not param.count:
                valued |= decls
    return names, valued


def _is_group(command: Any) -> bool:
    return isinstance(getattr(command, "commands", None), dict)


def hoist_global_options(argv: list[str]) -> list[str]:
    """Move root options found after the subcommand to the front, unless that command has its own of the name.

    Tokens after ``--`` and tokens that are the value of the preceding option are left alone.
    """
    root = typer.main.get_command(app)
    _, root_valued = _option_names(root)
    command: Any = root
    i = 0
    while i < len(argv):  # find the leaf command: skip root options (and their values), descend on names
        token = argv[i]
        if token == "--":
            return argv
        if token.startswith("-"):
            i += 2 if token in root_valued else 1
            continue
        if _is_group(command) and token in command.commands:
            command = command.commands[token]
            i += 1
            if not _is_group(command):
                break
            continue
        return argv
    if command is root or _is_group(command):
        return argv
    own, own_valued = _option_names(command)
    front: list[str] = []
    rest: list[str] = argv[:i]
    j = i
    while j < len(argv):
        token = argv[j]
        if token == "--":
            rest.extend(argv[j:])
            break
        name = token.split("=", 1)[0]
        if token in own_valued:
            rest.extend(argv[j : j + 2])
            j += 2
            continue
        if name not in own and token in _GLOBAL_FLAGS:
            front.append(token)
        elif name not in own and name in _GLOBAL_VALUED:
            if "=" in token:
                front.append(token)
            else:
                front.extend(argv[j : j + 2])
                j += 1
        else:
            rest.append(token)
        j += 1
    return front + rest


def _one_line(text: str) -> str:
    return " ".join(str(text).split()) or "unknown error"


def describe(exc: BaseException, verbose: bool) -> str:
    """The one line a user sees for a failure."""
    if isinstance(exc, (CLIError, ColoniesConnectionError)):
        return str(exc)
    if isinstance(exc, ColoniesError):
        status = getattr(exc, "status", 0)
        return (exc.message or "request failed") + (f" (HTTP {status})" if verbose and status else "")
    if isinstance(exc, CryptoError):
        return f"bad key: {exc}"
    return f"{type(exc).__name__}: {exc}" + ("" if verbose else " (run with --verbose for details)")


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; user-facing failures become one ``Error: ...`` line on stderr and exit code 1."""
    args = hoist_global_options(list(sys.argv[1:] if argv is None else argv))
    verbose = any(a in ("-v", "--verbose") for a in args)
    try:
        app(args=args, prog_name="colonies")
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the point: no traceback for users; SystemExit passes through
        if verbose:
            traceback.print_exception(exc)
        sys.stderr.write(f"Error: {_one_line(describe(exc, verbose))}\n")
        sys.exit(1)


if __name__ == "__main__":
    main()

"""``dev``: a development server on 127.0.0.1 with a colony, an executor and a user ready to use."""

from __future__ import annotations

import logging
import os
import sys
import tempfile

import typer

from ..crypto import id_from_prvkey
from ..settings import DEV_COLONY_NAME, DEV_COLONY_PRVKEY, DEV_PRVKEY, DEV_SERVER_PRVKEY, Settings
from .context import CLIError
from .server import run_server, serve

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
        "# File contents (ColonyFS) in a directory of this server's; set AWS_S3_* instead to use S3.",
        f"export COLONIES_FS_DIR={os.path.join(directory, 'files')}",
        "# The server owner's key is needed only for 'colonies colony add/remove' and 'server stats'; keep it out",
        f"# of executor shells. When you need it: export COLONIES_SERVER_PRVKEY_FILE={server_key_file}",
    ]
    def started() -> None:  # printed once the port listens, so a script reading these lines can go ahead
        typer.echo("# Colonies development server; data and keys in " + directory)
        typer.echo("\n".join(lines), nl=True)
        sys.stdout.flush()
        typer.echo(f"# listening on http://127.0.0.1:{settings.port} (Ctrl-C to stop)", err=True)

    run_server(serve(settings, setup, started))

"""The ``colonies`` command (server side for now: ``server start`` and ``dev``)."""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from typing import Optional

import typer

from ..crypto import CryptoError, id_from_prvkey
from ..settings import DEV_COLONY_NAME, DEV_COLONY_PRVKEY, DEV_PRVKEY, DEV_SERVER_PRVKEY, Settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help="ColonyOS in Python.")
server_app = typer.Typer(no_args_is_help=True, help="Run a Colonies server.")
app.add_typer(server_app, name="server")


def _server_id(server_id: str | None) -> str:
    if server_id:
        return server_id
    if os.environ.get("COLONIES_SERVER_ID"):
        return os.environ["COLONIES_SERVER_ID"]
    key = os.environ.get("COLONIES_SERVER_PRVKEY")
    return id_from_prvkey(key) if key else ""


async def _serve(settings: Settings, setup: object = None) -> None:
    import uvicorn

    from ..server.app import create_app
    from ..storage import open_store

    store = await open_store(settings.db_url)
    if setup is not None:
        await setup(store)  # type: ignore[operator]
    config = uvicorn.Config(
        create_app(settings, store), host=settings.host, port=settings.port, log_level="warning",
        access_log=False, timeout_graceful_shutdown=2, ws_max_size=settings.max_body_bytes,
    )  # fmt: skip
    await uvicorn.Server(config).serve()


@server_app.command("start")
def server_start(
    host: str = typer.Option("0.0.0.0", "--host", help="Address to listen on."),
    port: Optional[int] = typer.Option(None, "--port", help="Port (env COLONIES_SERVER_PORT, default 50080)."),
    db: Optional[str] = typer.Option(None, "--db", help="Database URL (default a SQLite file in the data dir)."),
    server_id: Optional[str] = typer.Option(None, "--server-id", help="Server owner id (env COLONIES_SERVER_ID)."),
    max_body: Optional[int] = typer.Option(None, "--max-body-bytes", help="Largest request body accepted."),
) -> None:
    """Start a Colonies server."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        sid = _server_id(server_id)
    except CryptoError as exc:
        raise typer.BadParameter(f"COLONIES_SERVER_PRVKEY: {exc}") from None
    settings = Settings.from_env(host=host, port=port, db_url=db, server_id=sid, max_body_bytes=max_body)
    if not sid:
        typer.echo("warning: no server id given (COLONIES_SERVER_ID or COLONIES_SERVER_PRVKEY); "
                   "keeping the one stored in the database", err=True)  # fmt: skip
    typer.echo(f"Colonies server listening on {settings.host}:{settings.port}, database {settings.db_url}", err=True)
    asyncio.run(_serve(settings))


@app.command("dev")
def dev(
    port: Optional[int] = typer.Option(None, "--port", help="Port (env COLONIES_SERVER_PORT, default 50080)."),
    data_dir: Optional[str] = typer.Option(None, "--data-dir", help="Where the SQLite file goes (default: fresh temp dir)."),
) -> None:
    """A development server on a fresh SQLite database, with a colony, an executor and a user ready to use."""
    logging.basicConfig(level=logging.WARNING)
    server_key = os.environ.get("COLONIES_SERVER_PRVKEY") or DEV_SERVER_PRVKEY
    colony_key = os.environ.get("COLONIES_COLONY_PRVKEY") or DEV_COLONY_PRVKEY
    prvkey = os.environ.get("COLONIES_PRVKEY") or DEV_PRVKEY
    colony = os.environ.get("COLONIES_COLONY_NAME") or DEV_COLONY_NAME
    executor_name = os.environ.get("COLONIES_EXECUTOR_NAME") or "myexecutor"
    executor_type = os.environ.get("COLONIES_EXECUTOR_TYPE") or "cli"
    directory = data_dir or tempfile.mkdtemp(prefix="coloniesdev-")
    settings = Settings.from_env(
        host="127.0.0.1", port=port, db_url="sqlite:///" + os.path.join(directory, "colonies.db"),
        server_id=id_from_prvkey(server_key),
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
                "lastheardfromtime": 0, "locationname": "", "capabilities": '{"hardware":[],"software":[]}',
                "allocations": '{"projects":{}}', "blueprintid": "", "blueprintgen": 0,
            })  # fmt: skip
        if await store.get_user_by_id(colony, ident) is None:
            await store.add_user({"colonyname": colony, "name": "myuser", "userid": ident, "email": "", "phone": ""})

    lines = [
        "export COLONIES_SERVER_HOST=localhost",
        f"export COLONIES_SERVER_PORT={settings.port}",
        "export COLONIES_SERVER_TLS=false",
        "export COLONIES_TLS=false",
        f"export COLONIES_SERVER_PRVKEY={server_key}",
        f"export COLONIES_COLONY_NAME={colony}",
        f"export COLONIES_COLONY_PRVKEY={colony_key}",
        f"export COLONIES_EXECUTOR_NAME={executor_name}",
        f"export COLONIES_EXECUTOR_TYPE={executor_type}",
        f"export COLONIES_PRVKEY={prvkey}",
    ]
    typer.echo("# Colonies development server; data in " + directory)
    typer.echo("\n".join(lines), nl=True)
    typer.echo(f"# listening on http://127.0.0.1:{settings.port} (Ctrl-C to stop)", err=True)
    asyncio.run(_serve(settings, setup))


def main() -> None:
    app()


if __name__ == "__main__":
    main()

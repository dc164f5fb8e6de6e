"""The ``colonies`` command: the original CLI's tree (protocol §8.3) over the SDK, plus the server itself.

Every command group lives in its own module; this one wires them together, holds the global options and turns
errors into one ``Error:`` line on stderr (with the traceback only under ``--verbose``).
"""

from __future__ import annotations

import logging
import sys
import traceback
from typing import Any

import typer

from ..crypto import CryptoError
from ..exceptions import ColoniesConnectionError, ColoniesError
from ..keys import KeySourceError, read_key_file
from . import (
    assignments, attribute, blueprint, channel, cluster, colony, cron, dev, executor, fs, function, generator, keys,
    location, log, process, server, user, workflow,
)
from .config import show_config
from .context import CLIError, Config, set_config
from .output import emit

def _flags_take_no_value() -> None:
    """Typer 0.27+ prints ``<bool>`` beside every flag, which invites ``--wait true`` (an error): a flag's help
    row shows no type, as in click and earlier Typer."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich
    if getattr(shown, "_colonies", False):
        return

    def display_type_rich(self: Any, ctx: Any) -> str | None:
        return None if self.is_flag else shown(self, ctx)

    display_type_rich._colonies = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_take_no_value()

app = typer.Typer(
    no_args_is_help=True, pretty_exceptions_enable=False,
    help="ColonyOS in Python: run a server and drive colonies, executors, processes and workflows.",
    epilog="Start here: colonies dev (a server for development), then colonies process ps, colonies workflow "
           "submit --spec FILE --wait. Shell completion: colonies --install-completion.",
)  # fmt: skip
app.add_typer(server.server_app, name="server")
app.command("dev", epilog="Example: colonies dev > dev.env &   then: source dev.env   (the server keeps running; "
            "dev.env holds the export lines)")(dev.dev)
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
app.add_typer(fs.app, name="fs")
app.add_typer(cluster.app, name="cluster")
assignments.add_commands(process.app)
assignments.add_commands(colony.app)
app.add_typer(blueprint.app, name="blueprint")
app.add_typer(channel.app, name="channel")
app.command("config")(show_config)


@app.callback()
def root(
    ctx: typer.Context,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging; tracebacks on errors."),
    json_out: bool = typer.Option(False, "--json", help="Print raw JSON (for scripts)."),
    wide: bool = typer.Option(False, "--wide", help="Tables with whole ids and values (as when piped)."),
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
    show_version: bool = typer.Option(
        False, "--version", is_eager=True, callback=lambda value: _print_version(value),
        help="Print the CLI's version and exit."),
) -> None:
    """Global options; they may also be given after the subcommand (``colonies process ps --json``)."""
    if verbose:  # each request ("HTTP Request: ..." from client/pool.py) and our own debug output, not the wire chatter
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        logging.getLogger("colonies").setLevel(logging.DEBUG)
    prvkey = _flag_key(prvkey, prvkey_file)
    cfg = Config.from_env(host=host, port=port, insecure=insecure, skip_verify=skip_verify, prvkey=prvkey,
                          verbose=verbose, json=json_out, ca_cert=ca_cert, wide=wide)  # fmt: skip
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
    emit({"version": _version()}, lambda d: typer.echo(f"colonies {d['version']}"))


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"colonies {_version()}")
        raise typer.Exit()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("colonies")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "dev"


#: Root flags that users also type after the subcommand, as the original allows (``process get -p X --json``).
_GLOBAL_FLAGS = frozenset({"--json", "--wide", "--verbose", "-v", "--insecure", "--skip-tls-verify"})
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

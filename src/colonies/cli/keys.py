"""``key`` / ``security``: make identities offline (no server needed)."""

from __future__ import annotations

import os

import typer

from ..crypto import CryptoError, generate_prvkey, id_from_prvkey
from ..keys import KeySourceError, read_key_file
from .context import CLIError
from .output import emit, line


def make_app(help_text: str) -> typer.Typer:
    """The same two commands under both spellings the original has used (``key`` and ``security``)."""
    app = typer.Typer(no_args_is_help=True, help=help_text)

    @app.command("generate", epilog="Example: SERVER_ID=$(colonies key generate --key-file server.key)")
    def generate(
        key_file: str = typer.Option("", "--key-file", help="Write the private key to this new file (mode 0600) "
                                     "and print only the id: the key never reaches the terminal."),
    ) -> None:
        """Generate a new private key and print it with its id."""
        prvkey = generate_prvkey()
        ident = id_from_prvkey(prvkey)
        if key_file:
            try:
                fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except OSError as exc:
                raise CLIError(f"--key-file {key_file}: {exc.strerror or exc}") from None
            with os.fdopen(fd, "w") as out:
                out.write(prvkey + "\n")
            emit({"id": ident, "key_file": key_file}, lambda _: line(ident))
            return
        emit({"prvkey": prvkey, "id": ident}, lambda _: line(f"PrvKey: {prvkey}\nId:     {ident}"))

    @app.command("id")
    def key_id(
        prvkey: str = typer.Option("", "--prvkey", help="Private key (64 hex characters); '-' reads standard input."),
        key_file: str = typer.Option("", "--key-file", help="Read the private key from this file."),
    ) -> None:
        """Print the id (public identity) of a private key."""
        if bool(prvkey) == bool(key_file):
            raise CLIError("give --prvkey or --key-file")
        try:
            text = read_key_file(key_file or "-") if key_file or prvkey == "-" else prvkey
            ident = id_from_prvkey(text.strip())
        except (CryptoError, KeySourceError) as exc:
            raise CLIError(f"{'--key-file' if key_file else '--prvkey'}: {exc}") from None
        emit({"id": ident}, lambda _: line(ident))

    return app


key_app = make_app("Generate private keys and derive ids.")
security_app = make_app("Generate private keys and derive ids (same as `key`).")

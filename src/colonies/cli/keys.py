"""``key`` / ``security``: make identities offline (no server needed)."""

from __future__ import annotations

import typer

from ..crypto import CryptoError, generate_prvkey, id_from_prvkey
from .context import CLIError
from .output import emit, line


def make_app(help_text: str) -> typer.Typer:
    """The same two commands under both spellings the original has used (``key`` and ``security``)."""
    app = typer.Typer(no_args_is_help=True, help=help_text)

    @app.command("generate")
    def generate() -> None:
        """Generate a new private key and print it with its id."""
        prvkey = generate_prvkey()
        ident = id_from_prvkey(prvkey)
        emit({"prvkey": prvkey, "id": ident}, lambda _: line(f"PrvKey: {prvkey}\nId:     {ident}"))

    @app.command("id")
    def key_id(prvkey: str = typer.Option(..., "--prvkey", help="Private key (64 hex characters).")) -> None:
        """Print the id (public identity) of a private key."""
        try:
            ident = id_from_prvkey(prvkey.strip())
        except CryptoError as exc:
            raise CLIError(f"--prvkey: {exc}") from None
        emit({"id": ident}, lambda _: line(ident))

    return app


key_app = make_app("Generate private keys and derive ids.")
security_app = make_app("Generate private keys and derive ids (same as `key`).")

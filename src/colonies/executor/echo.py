"""``python -m colonies.executor.echo``: the toy ``echo`` executor – closes each process with its arguments.

Configured from the environment like every executor (``COLONIES_SERVER_HOST/PORT``, ``COLONIES_COLONY_NAME``,
``COLONIES_PRVKEY`` or ``COLONIES_COLONY_PRVKEY``; ``COLONIES_EXECUTOR_TYPE`` defaults to ``echo-executor`` when
self-registering). Try it against ``colonies dev``::

    eval "$(colonies dev | grep export)"   # in another shell: colonies dev
    python -m colonies.executor.echo
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

from ..exceptions import ColoniesError
from .context import ProcessContext
from .executor import Executor


def build(**overrides: Any) -> Executor:
    """The echo executor, not yet running."""
    executortype = (
        os.environ.get("COLONIES_EXECUTOR_TYPE") or os.environ.get("EXECUTOR_TYPE") or "echo-executor"
    )
    executor = Executor.from_env(executortype=executortype, **overrides)

    @executor.function("echo")
    def echo(*args: Any, ctx: ProcessContext, **kwargs: Any) -> list[Any]:
        """Returns its arguments as the output."""
        ctx.log(f"echo {' '.join(map(str, args))}")
        return list(args)

    return executor


def main(argv: list[str] | None = None) -> int:
    """Entry point; a configuration mistake is one ``error:`` line and exit code 2, not a traceback."""
    parser = argparse.ArgumentParser(prog="python -m colonies.executor.echo", description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request too (debug)")
    options = parser.parse_args(argv)
    level = "DEBUG" if options.verbose else os.environ.get("COLONIES_LOG_LEVEL", "INFO")
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not options.verbose:
        logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request otherwise
    try:
        executor = build()
    except (ValueError, ColoniesError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        executor.run()
    except ColoniesError as exc:  # e.g. a taken name or a wrong colony key: a person must fix it
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

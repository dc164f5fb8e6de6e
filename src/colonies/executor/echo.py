"""``python -m colonies.executor.echo``: the toy ``echo`` executor – closes each process with its arguments.

Configured from the environment like every executor (``COLONIES_SERVER_HOST/PORT``, ``COLONIES_COLONY_NAME``,
``COLONIES_PRVKEY`` or ``COLONIES_COLONY_PRVKEY``; ``COLONIES_EXECUTOR_TYPE`` defaults to ``echo-executor`` when
self-registering). Try it against ``colonies dev``::

    eval "$(colonies dev | grep export)"   # in another shell: colonies dev
    python -m colonies.executor.echo
"""

from __future__ import annotations

import logging
import os
from typing import Any

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


def main() -> None:
    logging.basicConfig(level=os.environ.get("COLONIES_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")  # fmt: skip
    build().run()


if __name__ == "__main__":
    main()

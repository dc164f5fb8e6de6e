"""Write a ColonyOS executor in a few lines: register Python functions, ``run()``.

    from colonies.executor import Executor

    executor = Executor.from_env(executortype="hello-executor")

    @executor.function("hello")
    def hello(name, *, ctx=None):
        ctx.log(f"greeting {name}")
        return f"hello {name}"

    executor.run()

See :mod:`colonies.executor.executor` for how functions are called, the two registration modes, retries and
shutdown.
"""

from .context import ProcessContext
from .executor import SHUTDOWN_ERROR, Executor
from .functions import Detached, error_text, to_output
from .process import Process, to_process

__all__ = ["SHUTDOWN_ERROR", "Detached", "Executor", "Process", "ProcessContext", "error_text", "to_output", "to_process"]

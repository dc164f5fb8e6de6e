"""A complete executor in a few lines. Start `colonies dev`, paste its `export` lines into this shell, then:

    python examples/echo_executor.py

and in another shell `colonies function exec --func echo --args hello --targettype <type>` (or submit a spec with
funcname "echo"). With COLONIES_PRVKEY set it runs as the pre-registered executor; with only
COLONIES_COLONY_PRVKEY it registers itself and removes itself again on Ctrl-C.
"""

import logging

from colonies.executor import Executor

logging.basicConfig(level=logging.INFO)
executor = Executor.from_env(executortype="echo-executor", concurrency=4)


@executor.function("echo")
def echo(*args, ctx=None, **kwargs):
    ctx.log(f"echoing {args}")
    return list(args)  # the output of the process


@executor.function("sum_inputs")
async def sum_inputs(*args, process=None, **kwargs):
    return sum(process["in"])  # the parents' outputs in a workflow


executor.run()  # Ctrl-C: finish running processes, then stop

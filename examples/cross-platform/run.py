"""The seed's cross-platform workflow: ice-0 → lumi-0..7 → leonardo-0 → ice-1, eleven `sleep` containers on three
executor types, with the progress of every node and a check of the DAG's order at the end.

    colonies dev                                   # another shell; paste its `export` lines into this one
    python examples/cross-platform/run.py --start-executors --sleep 1
    python examples/cross-platform/run.py --start-executors --hpc slurm   # lumi and leonardo submit to Slurm

Exit code 0 only if every node succeeded and no node started before all its parents had ended.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Any

from colonies.timefmt import parse_time
from pycolonies import Workflow, colonies_client

STATES = {0: "WAITING", 1: "RUNNING", 2: "SUCCESS", 3: "FAILED"}
#: Executor type → how many processes one executor of that type runs at once (lumi gets eight nodes in parallel).
TYPES = {"ice-kubeexecutor": 1, "lumi-small-hpcexecutor": 8, "leonardo-booster-hpcexecutor": 1}

try:
    from termcolor import colored
except ImportError:  # pragma: no cover - colour is optional

    def colored(text: str, *args: Any, **kwargs: Any) -> str:  # type: ignore[misc]
        return text


COLOURS = {"WAITING": "white", "RUNNING": "yellow", "SUCCESS": "green", "FAILED": "red"}


# --- the seed's code, with the sleep made configurable -------------------------------------------------------


def gen_sleep(executortype: str, sleep: str = "8") -> dict[str, Any]:
    return {
        "conditions": {
            "executortype": executortype,
            "nodes": 1,
            "processes-per-node": 1,
            "mem": "500Mi",
            "cpu": "1000m",
            "gpu": {"count": 0},
            "walltime": 60,
        },
        "funcname": "execute",
        "kwargs": {"cmd": f"sleep {sleep}", "docker-image": "ubuntu:20.04"},
        "maxexectime": 55,
        "maxretries": 3,
    }


def seed_workflow(colonyname: str, sleep: str) -> Workflow:
    wf = Workflow(colonyname)
    wf.add(gen_sleep("ice-kubeexecutor", sleep), nodename="ice-0", dependencies=[])
    lumi = [f"lumi-{i}" for i in range(8)]
    for name in lumi:
        wf.add(gen_sleep("lumi-small-hpcexecutor", sleep), nodename=name, dependencies=["ice-0"])
    wf.add(gen_sleep("leonardo-booster-hpcexecutor", sleep), nodename="leonardo-0", dependencies=lumi)
    wf.add(gen_sleep("ice-kubeexecutor", sleep), nodename="ice-1", dependencies=["leonardo-0"])
    return wf


# --- executors -----------------------------------------------------------------------------------------------


def serving_types(colonies: Any, colonyname: str, prvkey: str, max_silence: float = 60.0) -> set[str]:
    """Executor types with an approved executor that polled for work within ``max_silence`` s and serves
    ``execute``."""
    now = time.time_ns()
    found = set()
    for executor in colonies.list_executors(colonyname, prvkey):
        heard = parse_time(str(executor.get("lastheardfromtime") or ""))
        if executor.get("state") != 1 or executor.get("executortype") not in TYPES:
            continue
        if now - heard > max_silence * 1e9:
            continue
        functions = colonies.get_functions_by_executor(colonyname, executor["executorname"], prvkey)
        if any(f.get("funcname") == "execute" for f in functions):
            found.add(executor["executortype"])
    return found


class Executors:
    """Executors started for this run, one subprocess per type; stopped at the end. Container executors (local
    backend by default); with ``hpc="slurm"`` the two HPC types are HPC executors submitting to the Slurm cluster
    this machine is a login node of (no container runtime needed: ``--runtime auto``)."""

    def __init__(self, backend: str, hpc: str = "none") -> None:
        self.backend = backend
        self.hpc = hpc
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.logdir = tempfile.mkdtemp(prefix="cross-platform-executors-")

    def start(self, executortype: str) -> str:
        name = f"{executortype}-{uuid.uuid4().hex[:8]}"
        if self.hpc == "slurm" and executortype.endswith("-hpcexecutor"):
            cmd = [sys.executable, "-m", "colonies.executor.slurm", "--type", executortype, "--name", name,
                   "--max-jobs", str(TYPES[executortype])]  # fmt: skip
            where = "Slurm"
        else:
            cmd = [sys.executable, "-m", "colonies.executor.container", "--type", executortype, "--name", name,
                   "--backend", self.backend, "--concurrency", str(TYPES[executortype])]  # fmt: skip
            where = f"{self.backend} backend"
        with open(os.path.join(self.logdir, f"{executortype}.log"), "wb") as out:
            self.procs[name] = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        print(f"started executor {name} ({where}; log in {self.logdir})")
        return name

    def wait_ready(self, colonies: Any, colonyname: str, prvkey: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        pending = set(self.procs)
        while pending:
            for name in list(pending):
                if self.procs[name].poll() is not None:
                    raise RuntimeError(f"executor {name} exited with code {self.procs[name].returncode}:\n"
                                       + self.log_tail(name))  # fmt: skip
                functions = _quietly(lambda n=name: colonies.get_functions_by_executor(colonyname, n, prvkey))
                if functions and any(f.get("funcname") == "execute" for f in functions):
                    pending.discard(name)
            if pending and time.monotonic() > deadline:
                raise RuntimeError(f"executors not ready after {timeout:g} s: {', '.join(sorted(pending))}")
            time.sleep(0.1)

    def log_tail(self, name: str, lines: int = 20) -> str:
        executortype = name.rsplit("-", 1)[0]
        try:
            with open(os.path.join(self.logdir, f"{executortype}.log"), encoding="utf-8", errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM (they finish running work, then remove themselves from the colony); SIGKILL after 20 s."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for name, proc in self.procs.items():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                print(f"executor {name} did not stop; killing it")
                proc.kill()
                proc.wait()
        shutil.rmtree(self.logdir, ignore_errors=True)


def _quietly(call: Any) -> Any:
    try:
        return call()
    except Exception:  # noqa: BLE001 - not registered yet
        return None


# --- following the graph -------------------------------------------------------------------------------------


def follow(colonies: Any, colonyname: str, prvkey: str, graphid: str, timeout: float,
           interval: float = 0.2) -> dict[str, Any]:  # fmt: skip
    """Print every node's state changes until the workflow ends; returns the processes by id."""
    executors: dict[str, str] = {}
    seen: dict[str, int] = {}
    started = time.monotonic()
    while True:
        procs = {p["processid"]: p for p in colonies.get_processes_for_workflow(graphid, colonyname, prvkey, 100)}
        for pid, proc in sorted(procs.items(), key=lambda item: _event_order(item[1])):
            state = proc["state"]
            if seen.get(pid) == state:
                continue
            seen[pid] = state
            name = STATES.get(state, str(state))
            detail = ""
            if state == 1:
                executorid = proc.get("assignedexecutorid", "")
                if executorid not in executors:
                    executors.update((e["executorid"], e["executorname"])
                                     for e in colonies.list_executors(colonyname, prvkey))  # fmt: skip
                detail = f"on {executors.get(executorid, executorid[:12])}"
            elif state in (2, 3):
                ran = (parse_time(proc["endtime"]) - parse_time(proc["starttime"])) / 1e9
                detail = f"ran {ran:.2f} s" + (f": {proc['errors']}" if state == 3 else "")
            line = f"[{time.monotonic() - started:7.2f}s] {proc['spec']['nodename']:<11} {name:<8} {detail}"
            print(colored(line, COLOURS.get(name, "white")) if sys.stdout.isatty() else line, flush=True)
        graph = colonies.get_processgraph(graphid, prvkey)
        if graph.state in (2, 3) and all(p["state"] in (2, 3) for p in procs.values()):
            return procs
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"the workflow did not end within {timeout:g} s")
        time.sleep(interval)


def _event_order(proc: Any) -> tuple[int, int, str]:
    """Changes seen in one poll, in the order they happened: endings by end time, then starts by start time (a
    parent's SUCCESS prints before its child's RUNNING), then the waiting nodes."""
    state = proc["state"]
    if state in (2, 3):
        return 0, parse_time(proc["endtime"]), proc["spec"]["nodename"]
    if state == 1:
        return 1, parse_time(proc["starttime"]), proc["spec"]["nodename"]
    return 2, 0, proc["spec"]["nodename"]


def check(procs: dict[str, Any]) -> list[str]:
    """What is wrong: a node that did not succeed, or one that started before a parent ended."""
    problems = []
    for proc in procs.values():
        name = proc["spec"]["nodename"]
        if proc["state"] != 2:
            problems.append(f"{name} ended {STATES.get(proc['state'])}: {proc.get('errors')}")
        for parentid in proc.get("parents") or []:
            parent = procs[parentid]
            if parse_time(proc["starttime"]) < parse_time(parent["endtime"]):
                problems.append(f"{name} started before its parent {parent['spec']['nodename']} ended")
    if len(procs) != 11:
        problems.append(f"expected 11 nodes, found {len(procs)}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sleep", default="8", help="seconds each node sleeps (the seed: 8)")
    parser.add_argument("--start-executors", action="store_true",
                        help="start a container executor for each type no running executor serves; stop it after")
    parser.add_argument("--backend", default="local", help="backend of the executors started here (default local)")
    parser.add_argument("--hpc", choices=["none", "slurm"], default="none",
                        help="slurm: the executors started for the two HPC types submit Slurm jobs (run this on a "
                             "Slurm login node); none: they are container executors too")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the workflow")
    options = parser.parse_args()
    float(options.sleep)  # a number, since it lands in a shell command

    colonies, colonyname, colony_prvkey, _executorname, executor_prvkey = colonies_client()  # as the seed
    started: Executors | None = None
    try:
        missing = [t for t in TYPES if t not in serving_types(colonies, colonyname, executor_prvkey)]
        for executortype in TYPES:
            if executortype not in missing:
                print(f"using the running {executortype} executor")
        if missing and not options.start_executors:
            print(f"no executor serves {', '.join(missing)}: start them, or pass --start-executors",
                  file=sys.stderr)  # fmt: skip
            return 2
        if missing:
            if not colony_prvkey:
                print("--start-executors needs COLONIES_COLONY_PRVKEY (the executors register themselves)",
                      file=sys.stderr)  # fmt: skip
                return 2
            started = Executors(options.backend, options.hpc)
            for executortype in missing:
                started.start(executortype)
            started.wait_ready(colonies, colonyname, executor_prvkey)

        graph = colonies.submit(seed_workflow(colonyname, options.sleep), executor_prvkey)
        print(f"submitted workflow {graph.processgraphid}: ice-0 → lumi-0..7 → leonardo-0 → ice-1, "
              f"each node `sleep {options.sleep}`")  # fmt: skip
        procs = follow(colonies, colonyname, executor_prvkey, graph.processgraphid, options.timeout)
    except (RuntimeError, TimeoutError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if started is not None:
            started.stop()

    problems = check(procs)
    for problem in problems:
        print(f"FAILED CHECK: {problem}")
    if problems:
        return 1
    first = min(parse_time(p["starttime"]) for p in procs.values())
    last = max(parse_time(p["endtime"]) for p in procs.values())
    print(f"OK: all 11 nodes succeeded, and every node started after all its parents had ended "
          f"({(last - first) / 1e9:.2f} s from the first start to the last end)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The container executor (``execute``) against a real server, local backend: logs, results, failures,
placeholders, environment, working directory, hard time limits, refusals; plus podman command construction and the
docker backend's refusal without a daemon. Every wait is bounded."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Colony, Server, create_colony
from sched_helpers import wait_for

from colonies.executor.container import (
    Capacity,
    InvalidSpec,
    Limit,
    build,
    plan_job,
    split_lines,
    time_limit,
)
from colonies.executor.container_backends import (
    BackendUnavailable,
    DockerBackend,
    Job,
    LocalBackend,
    PodmanBackend,
    choose_backend,
)

WAITING, RUNNING, SUCCESS, FAILED = range(4)
TYPE = "container-test-executor"
GIB = 1024**3


# --- a served colony ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(server: Server) -> Iterator[Colony]:
    """A colony with one container executor (local backend, 1 GPU, 4 cores, 8 GiB) serving in a thread."""
    colony = create_colony(server)
    ident = colony.add_executor("container-executor", executortype=TYPE)
    executor = build(backend=LocalBackend(), register="key", concurrency=4, host="127.0.0.1", port=server.port,
                     colonyname=colony.name, prvkey=ident.prvkey, colony_prvkey=None, assign_timeout=5,
                     capacity=Capacity(nodes=1, cpu_millicores=4000, mem_bytes=8 * GIB, gpus=1))  # fmt: skip
    executor.run_in_thread()
    assert executor.wait_ready(20), "container executor did not become ready"
    try:
        yield colony
    finally:
        executor.stop()
        assert executor.join(20)


def submit(colony: Colony, kwargs: dict[str, Any], conditions: dict[str, Any] | None = None,
           **overrides: Any) -> str:  # fmt: skip
    spec = {"funcname": "execute", "args": [], "kwargs": kwargs, "maxexectime": -1, "maxretries": 0,
            "conditions": {"executortype": TYPE, **(conditions or {})}, **overrides}  # fmt: skip
    return str(colony.submit(**spec)["processid"])


def closed(colony: Colony, pid: str, timeout: float = 15) -> dict[str, Any]:
    return wait_for(lambda: colony.get(pid), lambda p: p["state"] in (SUCCESS, FAILED), timeout,
                    what=f"{pid} closed")  # fmt: skip


def log_text(colony: Colony, pid: str) -> str:
    logs = colony.call("getlogsmsg", {"colonyname": colony.name, "processid": pid, "count": 500, "since": 0},
                       colony.executor)  # fmt: skip
    return "".join(entry["message"] for entry in logs)


def seconds(proc: dict[str, Any]) -> float:
    from colonies.timefmt import parse_time

    return (parse_time(proc["endtime"]) - parse_time(proc["starttime"])) / 1e9


def processes_with(marker: str) -> list[int]:
    """Live processes whose command line contains ``marker`` (zombies have none)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if marker.encode() in f.read():
                        found.append(int(entry))
            except OSError:
                continue
    return found


def sleep_marker() -> str:
    """A `sleep` duration no other process uses, so its processes can be found in /proc."""
    return f"30.{random.randrange(10**6, 10**7)}"


# --- through the server ---------------------------------------------------------------------------------------


def test_output_lines_stream_to_the_log_and_exit_0_succeeds(served: Colony) -> None:
    pid = submit(served, {"cmd": "echo one; echo two >&2; sleep 1; echo three", "docker-image": "ubuntu:20.04"})
    # Lines arrive while the command still runs, not at the end.
    wait_for(lambda: (log_text(served, pid), served.get(pid)["state"]),
             lambda s: "one\n" in s[0] and "two\n" in s[0], 10, what="first lines logged")  # fmt: skip
    assert served.get(pid)["state"] == RUNNING
    result = closed(served, pid)
    assert result["state"] == SUCCESS, result["errors"]
    assert result["out"] == [{"exitcode": 0, "stdout_tail": ["one", "three"]}]
    text = log_text(served, pid)
    assert "one\ntwo\n" in text or "two\none\n" in text
    assert "three\n" in text
    assert "WARNING backend local" in text and "ubuntu:20.04" in text  # the image is not silently ignored
    assert "ContainerExecutor: exit code 0" in text


def test_non_zero_exit_fails_with_the_code_and_the_stderr_tail(served: Colony) -> None:
    cmd = "echo working; for i in $(seq 1 15); do echo problem-$i >&2; done; exit 3"
    result = closed(served, submit(served, {"cmd": cmd, "docker-image": "ubuntu:20.04"}))
    assert result["state"] == FAILED
    (error,) = result["errors"]
    assert error.startswith("CommandFailed: command exited with code 3; stderr (last 10 lines):")
    assert error.splitlines()[1:] == [f"problem-{i}" for i in range(6, 16)]


def test_processid_env_workdir_and_args(served: Colony, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLONIES_PRVKEY", "executor-secret")  # must not reach the job
    cmd = ('echo "$GREETING|$FROM_SPEC|$COLONIES_PROCESS_ID|${COLONIES_PRVKEY:-unset}"; pwd; '
           "echo {processid}")  # fmt: skip
    kwargs = {"cmd": cmd, "args": ["a  b", "{processid}", 7], "docker-image": "ubuntu:20.04",
              "env": {"GREETING": "hi {processid}"}, "workdir": str(tmp_path / "run-{processid}")}  # fmt: skip
    pid = submit(served, kwargs, env={"FROM_SPEC": "spec"})
    result = closed(served, pid)
    assert result["state"] == SUCCESS, result["errors"]
    assert result["out"][0]["stdout_tail"] == [
        f"hi {pid}|spec|{pid}|unset",
        str(tmp_path / f"run-{pid}"),
        f"{pid} a  b {pid} 7",  # args are appended shell-quoted: "a  b" keeps its two spaces
    ]
    assert (tmp_path / f"run-{pid}").is_dir()


def test_walltime_kills_the_whole_process_group(served: Colony) -> None:
    marker = sleep_marker()
    cmd = f"sleep {marker} & sleep {marker} | cat; wait"  # a background job and a pipeline
    pid = submit(served, {"cmd": cmd, "docker-image": "ubuntu:20.04"}, {"walltime": 2})
    wait_for(lambda: len(processes_with(marker)), lambda n: n >= 3, 10, what="the command to start")
    result = closed(served, pid, 10)
    assert result["state"] == FAILED
    assert result["errors"][0].startswith("TimeLimitExceeded: walltime of 2 s exceeded: command killed")
    assert 2 <= seconds(result) < 4
    wait_for(lambda: processes_with(marker), lambda found: not found, 1, what="no leftover process")
    assert "ContainerExecutor: exit code 137" in log_text(served, pid)


def test_maxexectime_kills_the_command_and_leaves_the_process_to_the_server(served: Colony) -> None:
    marker = sleep_marker()
    pid = submit(served, {"cmd": f"sleep {marker} | sleep {marker}", "docker-image": "ubuntu:20.04"},
                 {"walltime": 60}, maxexectime=2, maxretries=0)  # fmt: skip
    wait_for(lambda: len(processes_with(marker)), lambda n: n >= 2, 10, what="the command to start")
    started = time.monotonic()
    wait_for(lambda: processes_with(marker), lambda found: not found, 5, what="the command to be killed")
    assert time.monotonic() - started < 2 + 2
    result = closed(served, pid, 10)
    assert (result["state"], result["errors"]) == (FAILED, ["Maximum execution time limit exceeded"])


def test_cancelling_the_process_on_the_server_kills_the_command(served: Colony) -> None:
    marker = sleep_marker()
    pid = submit(served, {"cmd": f"sleep {marker} | sleep {marker}", "docker-image": "ubuntu:20.04"})
    wait_for(lambda: len(processes_with(marker)), lambda n: n >= 2, 10, what="the command to start")
    served.call("cancelprocessmsg", {"processid": pid}, served.executor)
    wait_for(lambda: processes_with(marker), lambda found: not found, 8, what="the command to be killed")
    assert served.get(pid)["state"] == 4  # cancelled, and not closed again by the executor


def test_original_validation_walltime_at_least_maxexectime(served: Colony) -> None:
    pid = submit(served, {"cmd": "true", "docker-image": "x"}, {"walltime": 5}, maxexectime=30)
    result = closed(served, pid)
    assert result["errors"][0] == ("InvalidSpec: conditions.walltime=5 s must be at least maxexectime=30 s: the job "
                                   "would be killed before the server gives up on it")  # fmt: skip
    negative = closed(served, submit(served, {"cmd": "true", "docker-image": "x"}, {"processespernode": -1}))
    assert negative["errors"][0] == "InvalidSpec: conditions.processespernode=-1 must not be negative"
    two = closed(served, submit(served, {"cmd": "true", "docker-image": "x"}, {"processes-per-node": 2}))
    assert two["errors"][0].startswith("InvalidSpec: conditions.processespernode=2 cannot be met")


def test_gpu_count_beyond_capacity_is_refused_and_not_run(served: Colony, tmp_path: Path) -> None:
    touched = tmp_path / "ran"
    conditions = {"gpu": {"count": 2}}
    result = closed(served, submit(served, {"cmd": f"touch {touched}", "docker-image": "x"}, conditions))
    assert result["state"] == FAILED
    assert result["errors"] == [
        "InvalidSpec: conditions.gpu.count=2 cannot be met: this executor has 1 GPU(s) (start it with --gpus N)"
    ]
    assert not touched.exists()
    ok = closed(served, submit(served, {"cmd": f"touch {touched}", "docker-image": "x"}, {"gpu": {"count": 1}}))
    assert ok["state"] == SUCCESS and touched.exists()


def test_invalid_requests_are_refused_before_anything_runs(served: Colony) -> None:
    cases = [
        ({"docker-image": "ubuntu:20.04"}, {}, "InvalidSpec: execute needs kwargs.cmd"),
        ({"cmd": ["ls", "-l"]}, {}, "InvalidSpec: kwargs.cmd must be a string, not list"),
        ({"cmd": "true", "dockerimage": "x"}, {}, "InvalidSpec: execute does not know kwargs dockerimage"),
        ({"cmd": "true", "env": {"A": {"b": 1}}}, {}, "InvalidSpec: kwargs.env.A must be a string or number"),
        ({"cmd": "true", "args": "-l"}, {}, "InvalidSpec: kwargs.args must be a list"),
        ({"cmd": "true"}, {"cpu": "64000m"}, "InvalidSpec: conditions.cpu=64000m cannot be met"),
        ({"cmd": "true"}, {"mem": "64Gi"}, "InvalidSpec: conditions.mem=65536Mi cannot be met"),
        ({"cmd": "true"}, {"nodes": 2}, "InvalidSpec: conditions.nodes=2 cannot be met"),
    ]
    pids = [(submit(served, kwargs, conditions), expected) for kwargs, conditions, expected in cases]
    for pid, expected in pids:
        result = closed(served, pid)
        assert result["state"] == FAILED
        assert result["errors"][0].startswith(expected), (expected, result["errors"])
        assert "ContainerExecutor: host process" not in log_text(served, pid)  # nothing was started


def test_command_line_executor_registers_itself_and_serves(served: Colony) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
    env.update({"COLONIES_SERVER_HOST": "127.0.0.1", "COLONIES_SERVER_PORT": str(served.server.port),
                "COLONIES_SERVER_TLS": "false", "COLONIES_COLONY_NAME": served.name,
                "COLONIES_COLONY_PRVKEY": served.owner.prvkey})  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "colonies.executor.container", "--type", "cli-container-type",
                             "--backend", "local", "--gpus", "0"], env=env)  # fmt: skip
    try:
        pid = str(served.submit(funcname="execute", args=[], kwargs={"cmd": "echo from-cli"},
                                conditions={"executortype": "cli-container-type"})["processid"])  # fmt: skip
        result = closed(served, pid, 20)
        assert (result["state"], result["out"]) == (SUCCESS, [{"exitcode": 0, "stdout_tail": ["from-cli"]}])
        executors = served.call("getexecutorsmsg", {"colonyname": served.name}, served.executor)
        mine = [e for e in executors if e["executortype"] == "cli-container-type"]
        assert len(mine) == 1 and mine[0]["executorname"].startswith("cli-container-type-")
        assert mine[0]["capabilities"]["hardware"]["gpu"]["count"] == 0  # objects, as v1.7.8 clients parse
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# --- backends and pure parts ----------------------------------------------------------------------------------


def test_podman_command_construction() -> None:
    backend = PodmanBackend(podman="/usr/bin/podman")
    job = Job(processid="p" * 64, image="ubuntu:20.04", script="echo 'hi there' | wc -c",
              env={"COLONIES_PROCESS_ID": "p" * 64, "SECRET": "s3cr3t"}, workdir="/work", cpus=1.5,
              mem_bytes=512 * 1024 * 1024, gpus=1, pull_always=True)  # fmt: skip
    assert backend.command(job, "colonies-x", "/tmp/job.env") == [
        "/usr/bin/podman", "run", "--rm", "--quiet", "--name", "colonies-x",
        "--label", f"colonies.processid={'p' * 64}", "--pull", "always",
        "--pids-limit", "4096", "--security-opt", "no-new-privileges",
        "--env-file", "/tmp/job.env", "--workdir", "/work", "--cpus", "1.5",
        "--memory", "536870912b", "--device", "nvidia.com/gpu=all",
        "--entrypoint", "/bin/sh", "--", "ubuntu:20.04", "-c", "echo 'hi there' | wc -c",
    ]  # fmt: skip
    assert "SECRET" not in backend.cli_environment(job)  # values travel in the env file, not in argv or env
    plain = Job(processid="q", image="alpine", script="true", env={})
    assert backend.command(plain, "n") == ["/usr/bin/podman", "run", "--rm", "--quiet", "--name", "n", "--label",
                                           "colonies.processid=q", "--pull", "missing", "--pids-limit", "4096",
                                           "--security-opt", "no-new-privileges", "--memory", f"{4 * GIB}b",
                                           "--entrypoint", "/bin/sh", "--", "alpine", "-c", "true"]  # fmt: skip


def test_podman_missing_is_a_clear_start_up_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BackendUnavailable, match="podman.*not on PATH"):
        PodmanBackend().check()


def test_docker_backend_without_a_daemon_refuses_at_start_up(monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:  # fmt: skip
    socket_path = f"unix://{tmp_path}/no-docker.sock"
    monkeypatch.setenv("DOCKER_HOST", socket_path)
    with pytest.raises(BackendUnavailable, match=f"no Docker daemon reachable at {socket_path}"):
        DockerBackend().check()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
    env.update({"COLONIES_COLONY_NAME": "c", "COLONIES_COLONY_PRVKEY": "0" * 63 + "1"})
    cmd = [sys.executable, "-m", "colonies.executor.container", "--type", "t", "--backend", "docker"]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2
    assert "error: docker backend: no Docker daemon reachable" in result.stderr


def test_auto_never_falls_back_to_the_host(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BackendUnavailable, match="choose --backend local"):
        choose_backend("auto")
    backend, warning = choose_backend("local")
    assert isinstance(backend, LocalBackend)
    assert "UNSANDBOXED" in warning and "own user" in warning


def test_split_lines_keeps_lines_across_chunks_and_cuts_long_ones() -> None:
    chunks = [b"ab", b"c\nde", b"f\n" + b"x" * 25, b"y" * 20 + b"\nlast"]
    assert list(split_lines(chunks, 10)) == ["abc", "def", "x" * 10 + " [line cut]", "last"]
    assert list(split_lines([b"caf\xc3", b"\xa9\n"], 100)) == ["café"]


def test_time_limit_is_the_smaller_positive_of_walltime_and_maxexectime() -> None:
    assert time_limit({"maxexectime": 55, "conditions": {"walltime": 60}}) == Limit(55, "maxexectime")
    assert time_limit({"maxexectime": 55, "conditions": {"walltime": 10}}) == Limit(10, "walltime")
    assert time_limit({"maxexectime": -1, "conditions": {"walltime": 0}}) is None
    # A tie goes to maxexectime: the server's requeue-or-fail applies.
    assert time_limit({"maxexectime": 5, "conditions": {"walltime": 5}}) == Limit(5, "maxexectime")


def test_plan_job_builds_the_script() -> None:
    plan = plan_job([], {"cmd": "run {processid}", "init-cmd": "pip install x", "args": ["it's", 1.5, True],
                     "docker-image": "alpine"},
                    {"conditions": {"cpu": "500m", "mem": "1Gi"}}, "P", Capacity(), PodmanBackend())  # fmt: skip
    assert plan.job.script == "{ pip install x\n} && { run P 'it'\"'\"'s' 1.5 true\n}"
    assert (plan.job.cpus, plan.job.mem_bytes, plan.job.env) == (0.5, GIB, {"COLONIES_PROCESS_ID": "P"})
    with pytest.raises(InvalidSpec, match="needs kwargs.docker-image on the podman backend"):
        plan_job([], {"cmd": "true"}, {}, "P", Capacity(), PodmanBackend())
    with pytest.raises(InvalidSpec, match="no positional args"):
        plan_job(["x"], {"cmd": "true"}, {}, "P", Capacity(), LocalBackend())


class FakeContainer:
    """Just enough of docker.models.containers.Container for DockerRun."""

    short_id = "abc123"

    def __init__(self, exitcode: int, oom: bool = False) -> None:
        self.exitcode, self.attrs = exitcode, {"State": {"OOMKilled": oom}}
        self.calls: list[str] = []

    def start(self) -> None:
        self.calls.append("start")

    def logs(self, *, stream: bool, follow: bool, stdout: bool, stderr: bool) -> Iterator[bytes]:
        assert stream and follow and stdout != stderr
        return iter([b"out-1\nou", b"t-2\n"] if stdout else [b"err-1\n"])

    def wait(self, timeout: int) -> dict[str, int]:
        return {"StatusCode": self.exitcode}

    def reload(self) -> None:
        self.calls.append("reload")

    def kill(self) -> None:
        self.calls.append("kill")

    def remove(self, force: bool) -> None:
        self.calls.append("remove")


class FakeDocker:
    def __init__(self, container: FakeContainer) -> None:
        self.container = container
        self.created: dict[str, Any] = {}
        self.pulled: list[str] = []
        outer = self

        class Images:
            def get(self, ref: str) -> None:
                raise LookupError(f"ImageNotFound: {ref}")

            def pull(self, ref: str) -> Any:
                outer.pulled.append(ref)
                return type("Image", (), {"id": "sha256:0123456789abcdef0123"})()

        class Containers:
            def create(self, **options: Any) -> FakeContainer:
                outer.created = options
                return outer.container

        self.images, self.containers = Images(), Containers()

    def ping(self) -> bool:
        return True

    def info(self) -> dict[str, int]:
        return {"NCPU": 16, "MemTotal": 64 * GIB}


class FakeCtx:
    processid = "d" * 64
    cancelled = False
    resumed = False
    stopping = False
    revoked = False

    def set_attribute(self, key: str, value: str) -> None:
        raise AssertionError("the docker backend records no attributes")

    def __init__(self) -> None:
        self.lines: list[str] = []

    def log(self, message: str) -> None:
        self.lines.append(message)


def test_docker_backend_runs_a_container_with_the_spec_limits() -> None:
    from colonies.executor.container import CommandFailed, ContainerExecutor

    fake = FakeDocker(FakeContainer(0))
    backend = DockerBackend(client=fake)
    backend.check()
    assert backend.resources() == (16, 64 * GIB)
    executor = ContainerExecutor(backend, Capacity(cpu_millicores=16000, mem_bytes=64 * GIB, gpus=2))
    ctx = FakeCtx()
    spec = {"spec": {"conditions": {"cpu": "1500m", "mem": "512Mi", "gpu": {"count": 2}}}}
    kwargs = {"cmd": "echo hi", "docker-image": "ubuntu:20.04", "workdir": "/data"}
    out = executor.execute(process=spec, ctx=ctx, **kwargs)  # type: ignore[arg-type]
    assert out == {"exitcode": 0, "stdout_tail": ["out-1", "out-2"]}
    options = fake.created
    assert options["image"] == "ubuntu:20.04"
    assert (options["entrypoint"], options["command"]) == (["/bin/sh"], ["-c", "echo hi"])
    assert options["environment"] == {"COLONIES_PROCESS_ID": "d" * 64}
    assert (options["working_dir"], options["nano_cpus"]) == ("/data", 1_500_000_000)
    assert options["mem_limit"] == 512 * 1024**2
    assert options["device_requests"][0]["Count"] == 2
    assert fake.pulled == ["ubuntu:20.04"] and "remove" in fake.container.calls  # pulled once, removed after
    text = "".join(ctx.lines)
    assert "pulling image ubuntu:20.04" in text and "docker container (ubuntu:20.04)" in text
    assert "WARNING" not in text

    failing = FakeDocker(FakeContainer(137, oom=True))
    with pytest.raises(CommandFailed, match=r"exited with code 137 \(OOMKilled.*\n\s*err-1"):
        ContainerExecutor(DockerBackend(client=failing), Capacity()).execute(
            process={"spec": {}}, ctx=FakeCtx(), cmd="x", **{"docker-image": "img"})  # type: ignore[arg-type]


FAKE_PODMAN = """#!/bin/sh
# Records its arguments and its own environment; `run` loads --env-file and runs the script after -c on the
# host, as the container would.
echo "$*" >> "$FAKE_PODMAN_LOG"
env > "$FAKE_PODMAN_LOG.env"
case "$1" in
  run) prev=""; for a in "$@"; do [ "$prev" = "--env-file" ] && envfile="$a"; prev="$a"; done
       [ -n "$envfile" ] && cp "$envfile" "$FAKE_PODMAN_LOG.envfile" && ls -l "$envfile" > "$FAKE_PODMAN_LOG.mode"
       [ -n "$envfile" ] && while IFS= read -r line; do export "$line"; done < "$envfile"
       while [ "$#" -gt 0 ] && [ "$1" != "-c" ]; do shift; done; exec /bin/sh -c "$2" ;;
  *) exit 0 ;;
esac
"""


def test_podman_backend_runs_through_the_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from colonies.executor.container import ContainerExecutor, TimeLimitExceeded

    fake = tmp_path / "podman"
    fake.write_text(FAKE_PODMAN)
    fake.chmod(0o755)
    calls = tmp_path / "calls.log"
    monkeypatch.setenv("FAKE_PODMAN_LOG", str(calls))
    backend = PodmanBackend(podman=str(fake))
    backend.check()
    executor = ContainerExecutor(backend, Capacity())
    kwargs = {"cmd": 'echo "$GREETING"; echo oops >&2', "docker-image": "alpine", "env": {"GREETING": "hello"}}
    out = executor.execute(process={"spec": {}}, ctx=FakeCtx(), **kwargs)  # type: ignore[arg-type]
    assert out == {"exitcode": 0, "stdout_tail": ["hello"]}
    assert calls.read_text().startswith(f"run --rm --quiet --name colonies-{'d' * 16}-")

    marker = sleep_marker()
    started = time.monotonic()
    with pytest.raises(TimeLimitExceeded, match="walltime of 1 s exceeded"):
        executor.execute(process={"spec": {"conditions": {"walltime": 1}}}, ctx=FakeCtx(),  # type: ignore[arg-type]
                         cmd=f"sleep {marker}", **{"docker-image": "alpine"})  # fmt: skip
    assert time.monotonic() - started < 3
    log = calls.read_text().splitlines()
    assert log[-2].startswith("kill --signal KILL colonies-") and log[-1].startswith("rm --force colonies-")
    assert not processes_with(marker)

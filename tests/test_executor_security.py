"""What a job can reach from inside an executor: no private key (environment, /proc, command lines), no host
command it can steer through the container CLI, and no silent fallback to running on the host. Real executor
subprocesses against a real server; the job itself does the searching, as an attacker's job would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import Colony, create_colony
from sched_helpers import wait_for

from colonies.executor.container import Capacity, ContainerExecutor
from colonies.executor.container_backends import PodmanBackend, StartFailed, check_image

pytestmark = pytest.mark.timeout(120)

SUCCESS, FAILED = 2, 3

#: Run by the job: looks for the key (given in two halves, so that no command line holds it whole) in every
#: environment and command line it can read, and in its own environment; prints where it found it.
HUNT = r"""
import glob, os, sys
key = (os.environ.pop("HALF_A") + os.environ.pop("HALF_B")).encode()
found, read = [], 0
for path in glob.glob("/proc/[0-9]*/environ") + glob.glob("/proc/[0-9]*/cmdline"):
    try:
        data = open(path, "rb").read()
    except OSError:
        continue
    read += 1
    if key in data or key.upper() in data:
        found.append(path)
if key.decode() in repr(dict(os.environ)):
    found.append("own environment")
print("read", read, "found", found)
sys.exit(1 if found else 0)
"""


def executor_env(colony: Colony, **keys: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
    env.update({"COLONIES_SERVER_HOST": "127.0.0.1", "COLONIES_SERVER_PORT": str(colony.server.port),
                "COLONIES_SERVER_TLS": "false", "COLONIES_COLONY_NAME": colony.name, **keys})  # fmt: skip
    return env


def hunt(colony: Colony, executortype: str, key: str) -> dict[str, Any]:
    """Submit the hunting job for ``key`` and wait for its result."""
    spec = colony.spec(funcname="execute", args=[], maxexectime=60, conditions={"executortype": executortype},
                       kwargs={"cmd": f"{sys.executable} -c '{HUNT}'"},
                       env={"HALF_A": key[:32], "HALF_B": key[32:]})  # fmt: skip
    pid = colony.call("submitfuncspecmsg", {"spec": spec}, colony.user)["processid"]
    return wait_for(lambda: colony.get(pid, colony.user), lambda p: p["state"] in (SUCCESS, FAILED), 60,
                    what="the hunting job")  # fmt: skip


def start_executor(colony: Colony, etype: str, env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "colonies.executor.container", "--type", etype,
                             "--backend", "local", "--gpus", "0", *extra], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip


def stop_executor(proc: subprocess.Popen[str]) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err


def test_a_job_finds_neither_the_colony_key_nor_its_executors_key(server: Any) -> None:
    """Self-registering (the colony OWNER's key in its environment, as users start it), local backend."""
    colony = create_colony(server)
    proc = start_executor(colony, "hunted", executor_env(colony, COLONIES_COLONY_PRVKEY=colony.owner.prvkey))
    try:
        result = hunt(colony, "hunted", colony.owner.prvkey)
        logs = colony.call("getlogsmsg", {"colonyname": colony.name, "processid": result["processid"], "count": 100},
                           colony.user) or []  # fmt: skip
        text = "".join(entry["message"] for entry in logs)
        assert result["state"] == SUCCESS, (result["errors"], text)
        assert "found []" in text and "read 0 " not in text, text
    finally:
        err = stop_executor(proc)
    assert "UNSANDBOXED" in err  # the local backend says at start what it means


def test_a_job_does_not_find_the_executor_key_given_in_a_file_or_the_environment(server: Any, tmp_path: Path) -> None:
    colony = create_colony(server)
    for how in ("env", "file"):
        ident = colony.add_executor(executortype=f"hunted-{how}")
        if how == "env":
            keys = {"COLONIES_PRVKEY": ident.prvkey}
        else:
            keyfile = tmp_path / "executor.key"
            keyfile.write_text(ident.prvkey + "\n")
            keyfile.chmod(0o600)
            keys = {"COLONIES_PRVKEY_FILE": str(keyfile)}
        env = executor_env(colony, COLONIES_EXECUTOR_NAME=ident.name, **keys)
        proc = start_executor(colony, f"hunted-{how}", env, "--register", "key")
        try:
            result = hunt(colony, f"hunted-{how}", ident.prvkey)
            assert result["state"] == SUCCESS, (how, result["errors"])
        finally:
            stop_executor(proc)


def test_the_executor_process_is_not_dumpable() -> None:
    code = "from colonies.keys import is_dumpable, make_undumpable; assert is_dumpable(); make_undumpable(); " \
           "print(is_dumpable())"  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True)
    assert out.stdout.strip() == "False"


def test_a_self_registered_executor_drops_the_colony_key_and_still_removes_itself(colony: Colony) -> None:
    from colonies.executor import Executor

    ex = Executor(host="127.0.0.1", port=colony.server.port, colonyname=colony.name,
                  colony_prvkey=colony.owner.prvkey, executortype="dropper", assign_timeout=1)  # fmt: skip
    ex.register("f", lambda: None)
    ex.run_in_thread()
    try:
        assert ex.wait_ready(20)
        assert ex.colony_prvkey is None and ex._api.colony_prvkey is None
        assert colony.owner.prvkey not in repr(vars(ex)) + repr(vars(ex._api))
    finally:
        ex.stop()
        ex.join(20)
    executors = colony.call("getexecutorsmsg", {"colonyname": colony.name}, colony.user) or []
    assert [e for e in executors if e["executortype"] == "dropper" and e["state"] == 1] == []


def test_auto_backend_refuses_to_start_without_a_container_runtime(colony: Colony, tmp_path: Path) -> None:
    env = executor_env(colony, COLONIES_COLONY_PRVKEY=colony.owner.prvkey)
    env.update({"PATH": str(tmp_path), "DOCKER_HOST": f"unix://{tmp_path}/none.sock"})
    result = subprocess.run([sys.executable, "-m", "colonies.executor.container", "--type", "t"], env=env,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 2
    assert "choose --backend local" in result.stderr
    executors = colony.call("getexecutorsmsg", {"colonyname": colony.name}, colony.user) or []
    assert [e["executortype"] for e in executors if e["executortype"] == "t"] == []


# --- podman: job input never steers the host CLI ---------------------------------------------------------------

FAKE_PODMAN = """#!/bin/sh
# A stand-in for podman: records its arguments and its own environment, then runs the script after -c with the
# variables of --env-file, as the container would.
echo "$*" > "$FAKE_LOG.args"
env > "$FAKE_LOG.env"
prev=""; for a in "$@"; do [ "$prev" = "--env-file" ] && envfile="$a"; prev="$a"; done
[ -n "$envfile" ] && cp "$envfile" "$FAKE_LOG.envfile" && stat -c %a "$envfile" > "$FAKE_LOG.mode"
[ "$1" = run ] || exit 0
[ -n "$envfile" ] && while IFS= read -r line; do export "$line"; done < "$envfile"
while [ "$#" -gt 0 ] && [ "$1" != "-c" ]; do shift; done; exec /bin/sh -c "$2"
"""


class Ctx:
    processid = "d" * 64
    cancelled = resumed = stopping = revoked = False

    def __init__(self) -> None:
        self.lines: list[str] = []

    def log(self, message: str) -> None:
        self.lines.append(message)


def test_job_variables_go_to_the_container_not_to_the_podman_process(monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:  # fmt: skip
    fake = tmp_path / "podman"
    fake.write_text(FAKE_PODMAN)
    fake.chmod(0o755)
    log = tmp_path / "podman"
    monkeypatch.setenv("FAKE_LOG", str(log))
    executor = ContainerExecutor(PodmanBackend(podman=str(fake)), Capacity())
    evil = {"LD_PRELOAD": "/tmp/evil.so", "PATH": "/evil", "CONTAINER_HOST": "tcp://evil:1", "GREETING": "hi"}
    out = executor.execute(process={"spec": {}}, ctx=Ctx(), cmd='echo "$GREETING $LD_PRELOAD"',  # type: ignore[arg-type]
                           **{"docker-image": "alpine:3.19", "env": evil})  # fmt: skip
    assert out["stdout_tail"] == ["hi /tmp/evil.so"]  # the container sees them
    own = dict(line.split("=", 1) for line in (tmp_path / "podman.env").read_text().splitlines() if "=" in line)
    assert "LD_PRELOAD" not in own and own.get("PATH") != "/evil" and "CONTAINER_HOST" not in own
    assert "LD_PRELOAD=/tmp/evil.so" in (tmp_path / "podman.envfile").read_text()
    assert (tmp_path / "podman.mode").read_text().strip() == "600"
    assert "/tmp/evil.so" not in (tmp_path / "podman.args").read_text()  # not in argv (ps) either


@pytest.mark.parametrize("image", ["--privileged", "-v/:/host", "alpine --privileged", "", "a b"])
def test_an_image_that_could_be_read_as_an_option_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                             image: str) -> None:  # fmt: skip
    fake = tmp_path / "podman"
    fake.write_text(FAKE_PODMAN)
    fake.chmod(0o755)
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "podman"))
    executor = ContainerExecutor(PodmanBackend(podman=str(fake)), Capacity())
    with pytest.raises(Exception, match="image"):
        executor.execute(process={"spec": {}}, ctx=Ctx(), cmd="true", **{"docker-image": image})  # type: ignore[arg-type]
    assert not (tmp_path / "podman.args").exists()  # podman was never run
    with pytest.raises(StartFailed):
        check_image(image)


def test_docker_defaults_bound_pids_and_memory_and_keep_the_network_private() -> None:
    from colonies.executor.container_backends import DockerBackend, Job

    options = DockerBackend(client=object()).container_options(Job(processid="p", image="alpine", script="true", env={}))
    assert options["pids_limit"] == 4096 and options["mem_limit"] == 4 * 1024**3
    assert options["network_mode"] == "bridge" and "no-new-privileges" in options["security_opt"]



def test_an_executor_may_remove_itself_but_no_other_executor(colony: Colony) -> None:
    from conftest import expect_error

    other = colony.add_executor()
    me = colony.add_executor()
    expect_error(403, colony.call, "removeexecutormsg", {"colonyname": colony.name, "executorname": other.name}, me)
    expect_error(403, colony.call, "removeexecutormsg", {"colonyname": colony.name, "executorname": me.name},
                 colony.user)  # a user cannot remove an executor either  # fmt: skip
    colony.call("removeexecutormsg", {"colonyname": colony.name, "executorname": me.name}, me)
    names = {e["executorname"] for e in colony.call("getexecutorsmsg", {"colonyname": colony.name}, colony.user)
             if e["state"] == 1}  # fmt: skip
    assert other.name in names and me.name not in names

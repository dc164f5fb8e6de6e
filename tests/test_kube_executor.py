"""The Kubernetes backend (``colonies-kube-executor``) against tests/kube_api.py: an in-test API server that speaks
real Kubernetes JSON to the official ``kubernetes`` client and runs each pod's containers as local processes. No
real cluster is involved. End-to-end tests go through a real Colonies server; backend tests drive KubeBackend and
its runs directly. Every wait is bounded.

Tests marked ``NEEDS FRAMEWORK`` rely on the executor framework's part (container.py filling Job.nodes,
processes_per_node, walltime and gpu_name; revocation polling; detach on stop and reattach on start), not only on
the backend.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Colony, Server, create_colony, free_port
from kube_api import FakeKube
from sched_helpers import wait_for

from colonies.executor.container import Capacity, build
from colonies.executor.container_backends import BackendUnavailable, Job
from colonies.executor.kube import (
    ConfigError,
    KubeBackend,
    KubeConfig,
    KubeRun,
    kube_capacity,
    main,
    parse_args,
)

WAITING, RUNNING, SUCCESS, FAILED = range(4)
TYPE = "kube-test-executor"
NS = "colonies-test"
GIB, MIB = 1024**3, 1024**2
VOLUMES = [{"name": "data", "persistentVolumeClaim": {"claimName": "colonies-data"}}]
MOUNTS = [{"name": "data", "mountPath": "/data"}]

pytestmark = pytest.mark.timeout(30)


@pytest.fixture(scope="module")
def kube() -> Iterator[FakeKube]:
    fake = FakeKube()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def kubeconfig(kube: FakeKube, tmp_path_factory: pytest.TempPathFactory) -> str:
    return kube.write_kubeconfig(str(tmp_path_factory.mktemp("kube") / "kubeconfig"))


def backend_for(kubeconfig: str, **settings: Any) -> KubeBackend:
    settings = {"namespace": NS, "kubeconfig": kubeconfig, "poll_interval": 0.1, **settings}
    backend = KubeBackend(KubeConfig(**settings))
    backend.check()
    return backend


def capacity(**values: Any) -> Capacity:
    """A Capacity; ``processes_per_node`` only where container.Capacity has the field already."""
    if "processes_per_node" not in Capacity.__dataclass_fields__:
        values.pop("processes_per_node", None)
    return Capacity(**values)


def start_executor(server: Server, colony: Colony, prvkey: str, backend: KubeBackend, **options: Any) -> Any:
    executor = build(backend=backend, register="key", concurrency=4, host="127.0.0.1", port=server.port,
                     colonyname=colony.name, prvkey=prvkey, colony_prvkey=None, assign_timeout=5,
                     capacity=capacity(nodes=4, cpu_millicores=8000, mem_bytes=16 * GIB, gpus=2,
                                       processes_per_node=4),
                     **options)  # fmt: skip
    executor.run_in_thread()
    assert executor.wait_ready(20), "kube executor did not become ready"
    return executor


@pytest.fixture(scope="module")
def served(server: Server, kubeconfig: str) -> Iterator[Colony]:
    """A colony with a kube executor (4 nodes x 4, 8 cores, 16 GiB, 2 GPUs) serving in a thread."""
    colony = create_colony(server)
    ident = colony.add_executor("kube-executor", executortype=TYPE)
    backend = backend_for(kubeconfig, pending_timeout=1.5, node_selector={"pool": "batch"},
                          image_pull_secrets=["regcred"], service_account="runner", volumes=VOLUMES,
                          volume_mounts=MOUNTS)  # fmt: skip
    executor = start_executor(server, colony, ident.prvkey, backend)
    try:
        yield colony
    finally:
        executor.stop()
        assert executor.join(30)


def submit(colony: Colony, kwargs: dict[str, Any], conditions: dict[str, Any] | None = None,
           executortype: str = TYPE, **overrides: Any) -> str:  # fmt: skip
    spec = {"funcname": "execute", "args": [], "kwargs": {"docker-image": "ubuntu:24.04", **kwargs},
            "maxexectime": -1, "maxretries": 0, "conditions": {"executortype": executortype, **(conditions or {})},
            **overrides}  # fmt: skip
    return str(colony.submit(**spec)["processid"])


def closed(colony: Colony, pid: str, timeout: float = 15) -> dict[str, Any]:
    return wait_for(lambda: colony.get(pid), lambda p: p["state"] in (SUCCESS, FAILED), timeout,
                    what=f"{pid} closed")  # fmt: skip


def log_text(colony: Colony, pid: str) -> str:
    logs = colony.call("getlogsmsg", {"colonyname": colony.name, "processid": pid, "count": 500, "since": 0},
                       colony.executor)  # fmt: skip
    return "".join(entry["message"] for entry in logs)


def job_of(kube: FakeKube, pid: str, timeout: float = 10) -> dict[str, Any]:
    """The one Job body created for a process."""
    bodies = wait_for(lambda: kube.created_for(pid), lambda found: len(found) >= 1, timeout, what="Job created")
    assert len(bodies) == 1, f"{len(bodies)} Jobs created for one process"
    return bodies[0]


def noop(text: str) -> None:
    pass


def alive(pods: list[Any]) -> bool:
    return any(c.proc is not None and c.proc.poll() is None for pod in pods for c in pod.containers)


def follow(run: KubeRun, timeout: float = 15) -> tuple[int, str]:
    """Read a run's output to the end and wait for its exit code, as the executor does."""
    out: list[bytes] = []
    reader = threading.Thread(target=lambda: out.extend(run.streams["stdout"]), daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    code = None
    while code is None and time.monotonic() < deadline:
        code = run.wait(0.1)
    assert code is not None, "the run did not end"
    reader.join(5)
    assert not reader.is_alive(), "the output stream did not end"
    return code, b"".join(out).decode()


# --- through a Colonies server -----------------------------------------------------------------------------------


def test_output_streams_to_the_log_and_exit_0_succeeds(served: Colony, kube: FakeKube) -> None:
    pid = submit(served, {"cmd": "echo one; echo two >&2; sleep 1.5; echo three"})
    # Lines arrive while the command still runs, not at the end.
    wait_for(lambda: (log_text(served, pid), served.get(pid)["state"]),
             lambda s: "one\n" in s[0] and "two\n" in s[0], 10, what="first lines logged")  # fmt: skip
    assert served.get(pid)["state"] == RUNNING
    result = closed(served, pid)
    assert result["state"] == SUCCESS, result["errors"]
    assert result["out"] == [{"exitcode": 0, "stdout_tail": ["one", "two", "three"]}]  # one stream on Kubernetes
    text = log_text(served, pid)
    assert "one\ntwo\nthree\n" in text
    name = job_of(kube, pid)["metadata"]["name"]
    assert re.fullmatch(rf"colonies-{pid[:16]}-[0-9a-f]{{8}}", name)
    assert f"created Kubernetes Job {NS}/{name}" in text
    # Retention 0: deleted with its pods once the process is closed.
    wait_for(lambda: (NS, name) in kube.jobs, lambda present: not present, 5, what="Job deleted")
    assert (name, "Background") in kube.deletions and not kube.pods_of(name)


def test_non_zero_exit_fails_with_the_exit_code(served: Colony) -> None:
    pid = submit(served, {"cmd": "echo working; echo broken >&2; exit 7"})
    result = closed(served, pid)
    assert result["state"] == FAILED
    assert result["errors"][0].startswith("CommandFailed: command exited with code 7"), result["errors"]
    assert "broken\n" in log_text(served, pid)


def test_walltime_fails_the_process_and_kills_the_pods(served: Colony, kube: FakeKube) -> None:
    pid = submit(served, {"cmd": "echo started; sleep 30"}, {"walltime": 1})
    started = time.monotonic()
    result = closed(served, pid, 10)
    assert time.monotonic() - started < 6
    assert result["state"] == FAILED
    # Kubernetes ends the Job (activeDeadlineSeconds) and says why; the executor's own kill comes only
    # KubeBackend.walltime_slack seconds later.
    expected = "CommandFailed: command exited with code 137 (DeadlineExceeded: walltime of 1 s exceeded "
    assert result["errors"] == [expected + "(activeDeadlineSeconds)); output (last line):\nstarted"]
    name = job_of(kube, pid)["metadata"]["name"]
    assert job_of(kube, pid)["spec"]["activeDeadlineSeconds"] == 1
    wait_for(lambda: alive(kube.pods_of(name)), lambda running: not running, 5, what="pods killed")


def test_unpullable_image_fails_within_the_pending_timeout(served: Colony, kube: FakeKube) -> None:
    pid = submit(served, {"cmd": "echo never", "docker-image": "registry.example/doesnotexist:1"})
    started = time.monotonic()
    result = closed(served, pid, 10)
    assert time.monotonic() - started < 8  # pending_timeout 1.5 s, not forever
    assert result["state"] == FAILED
    error = result["errors"][0]
    assert "image could not be pulled (ErrImagePull" in error and "Pending for 1.5 s" in error, error
    text = log_text(served, pid)
    assert "image could not be pulled" in text and "the process fails if this lasts 1.5 s" in text
    name = job_of(kube, pid)["metadata"]["name"]
    wait_for(lambda: (NS, name) in kube.jobs, lambda present: not present, 5, what="Job deleted")


def test_conditions_and_settings_map_onto_the_job(served: Colony, kube: FakeKube) -> None:
    pid = submit(served, {"cmd": 'echo "$GREETING from $PWD"', "env": {"GREETING": "hello"}, "workdir": "/work",
                          "rebuild-image": True},
                 {"cpu": "500m", "mem": "256Mi", "gpu": {"count": 1}})  # fmt: skip
    result = closed(served, pid)
    assert result["state"] == SUCCESS, result["errors"]
    job = job_of(kube, pid)
    spec, pod = job["spec"], job["spec"]["template"]["spec"]
    assert job["metadata"]["labels"] == {"colonies.processid": pid[:63], "app.kubernetes.io/managed-by": "colonies"}
    assert (spec["parallelism"], spec["completions"], spec["backoffLimit"]) == (1, 1, 0)
    assert "ttlSecondsAfterFinished" not in spec  # retention 0: the executor deletes it
    assert pod["restartPolicy"] == "Never"
    assert pod["nodeSelector"] == {"pool": "batch"}
    assert pod["imagePullSecrets"] == [{"name": "regcred"}] and pod["serviceAccountName"] == "runner"
    assert pod["volumes"] == VOLUMES
    (container,) = pod["containers"]
    assert container["name"] == "task-0" and container["image"] == "ubuntu:24.04"
    assert container["command"] == ["/bin/sh", "-c", 'echo "$GREETING from $PWD"']
    assert container["resources"] == {"requests": {"cpu": "500m", "memory": str(256 * MIB)},
                                      "limits": {"cpu": "500m", "memory": str(256 * MIB), "nvidia.com/gpu": "1"}}
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env == {"GREETING": "hello", "COLONIES_PROCESS_ID": pid, "COLONIES_TASK_INDEX": "0"}
    assert (container["workingDir"], container["imagePullPolicy"]) == ("/work", "Always")
    assert container["volumeMounts"] == MOUNTS
    assert container["securityContext"] == {"allowPrivilegeEscalation": False}


def test_gpu_name_and_walltime_reach_the_job(served: Colony, kube: FakeKube) -> None:
    # NEEDS FRAMEWORK: container.plan_job must fill Job.gpu_name and Job.walltime.
    pid = submit(served, {"cmd": "true"}, {"gpu": {"count": 1, "name": "a100"}, "walltime": 60})
    assert closed(served, pid)["state"] == SUCCESS
    spec = job_of(kube, pid)["spec"]
    assert spec["template"]["spec"]["nodeSelector"] == {"pool": "batch", "accelerator": "a100"}
    assert spec["activeDeadlineSeconds"] == 60


def test_nodes_and_processes_per_node_make_pods_and_containers(served: Colony, kube: FakeKube) -> None:
    # NEEDS FRAMEWORK: container.py must accept processespernode up to Capacity.processes_per_node and fill
    # Job.nodes / Job.processes_per_node.
    pid = submit(served, {"cmd": 'echo "task $COLONIES_TASK_INDEX of node $JOB_COMPLETION_INDEX"'},
                 {"nodes": 2, "processespernode": 2})  # fmt: skip
    result = closed(served, pid)
    assert result["state"] == SUCCESS, result["errors"]
    spec = job_of(kube, pid)["spec"]
    assert (spec["parallelism"], spec["completions"], spec["completionMode"]) == (2, 2, "Indexed")
    assert [c["name"] for c in spec["template"]["spec"]["containers"]] == ["task-0", "task-1"]
    pattern = r"^\[(\d)-[0-9a-z]{5}/task-(\d)\] task (\d) of node (\d)$"
    text = log_text(served, pid)
    lines = sorted(re.findall(pattern, text, re.MULTILINE))
    assert lines == [("0", "0", "0", "0"), ("0", "1", "1", "0"), ("1", "0", "0", "1"), ("1", "1", "1", "1")], text


def test_output_a_slow_api_server_hands_over_late_still_reaches_the_log(served: Colony, kube: FakeKube) -> None:
    """The API server answers log requests 7 s late: the executor waits for them (up to 30 s on Kubernetes) instead
    of closing the process after 5 s without its output."""
    kube.log_delay = 7.0
    try:
        pid = submit(served, {"cmd": "echo late-$((40 + 2))"})  # the log names the command: look for its output
        result = closed(served, pid, 25)
    finally:
        kube.log_delay = 0.0
    assert result["state"] == SUCCESS, result["errors"]
    assert "late-42" in log_text(served, pid)


def test_cancelling_the_process_deletes_the_job(served: Colony, kube: FakeKube) -> None:
    # NEEDS FRAMEWORK: the executor polls the server and gives up (kills) a run whose process was cancelled.
    pid = submit(served, {"cmd": "echo started; sleep 30"})
    wait_for(lambda: log_text(served, pid), lambda text: "started\n" in text, 10, what="job running")
    name = job_of(kube, pid)["metadata"]["name"]
    served.call("cancelprocessmsg", {"processid": pid}, served.user)
    wait_for(lambda: (NS, name) in kube.jobs, lambda present: not present, 10, what="Job deleted after cancel")
    assert (name, "Background") in kube.deletions
    wait_for(lambda: alive(kube.pods_of(name)), lambda running: not running, 5, what="pods killed")


def test_restarted_executor_reattaches_to_its_job(server: Server, kubeconfig: str, kube: FakeKube) -> None:
    # NEEDS FRAMEWORK: a stopping executor detaches from Jobs (processes stay RUNNING, KUBE-JOB recorded as an
    # attribute); one restarted with the same key reattaches (Backend.reattach) instead of starting another Job.
    colony = create_colony(server)
    etype = "kube-restart-executor"
    ident = colony.add_executor("kube-restart", executortype=etype)
    first = start_executor(server, colony, ident.prvkey, backend_for(kubeconfig), shutdown_grace=1)
    pid = submit(colony, {"cmd": "echo before; sleep 3; echo after"}, executortype=etype)
    try:
        wait_for(lambda: log_text(colony, pid), lambda text: "before\n" in text, 10, what="job running")
    finally:
        first.stop()
        assert first.join(15)
    name = job_of(kube, pid)["metadata"]["name"]
    assert colony.get(pid)["state"] == RUNNING, "the stopped executor should leave the process running"
    assert (NS, name) in kube.jobs, "the stopped executor should leave the Job running"
    second = start_executor(server, colony, ident.prvkey, backend_for(kubeconfig))
    try:
        result = closed(colony, pid, 15)
    finally:
        second.stop()
        assert second.join(15)
    assert result["state"] == SUCCESS, result["errors"]
    assert len(kube.created_for(pid)) == 1, "a second Job was created"
    assert "after\n" in log_text(colony, pid)
    attributes = {a["key"]: a["value"] for a in result.get("attributes") or []}
    assert attributes.get("KUBE-JOB") == name and attributes.get("KUBE-NAMESPACE") == NS


def test_admission_waits_for_the_quota_to_have_room(server: Server, kubeconfig: str, kube: FakeKube) -> None:
    colony = create_colony(server)
    etype = "kube-admission-executor"
    ident = colony.add_executor("kube-admission", executortype=etype)
    quota = kube.add_quota("admit-ns", "compute", {"requests.cpu": "2", "requests.memory": "4Gi"},
                   {"requests.cpu": "1900m", "requests.memory": "1Gi"})  # fmt: skip
    backend = backend_for(kubeconfig, namespace="admit-ns")
    executor = start_executor(server, colony, ident.prvkey, backend, available=backend.available)
    try:
        pid = submit(colony, {"cmd": "echo admitted"}, {"cpu": "500m", "mem": "1Gi"}, executortype=etype)
        time.sleep(2)
        assert colony.get(pid)["state"] == WAITING  # 100m free: the server keeps it for later
        quota["status"]["used"]["requests.cpu"] = "1"
        result = closed(colony, pid)
        assert result["state"] == SUCCESS and result["out"][0]["stdout_tail"] == ["admitted"]
    finally:
        executor.stop()
        assert executor.join(15)


def cli_env(colony: Colony) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COLONIES_", "EXECUTOR_", "KUBE"))}
    env.update({"COLONIES_SERVER_HOST": "127.0.0.1", "COLONIES_SERVER_PORT": str(colony.server.port),
                "COLONIES_SERVER_TLS": "false", "COLONIES_COLONY_NAME": colony.name,
                "COLONIES_COLONY_PRVKEY": colony.owner.prvkey})  # fmt: skip
    return env


def test_command_line_executor_registers_itself_and_serves(served: Colony, kubeconfig: str,
                                                          kube: FakeKube) -> None:  # fmt: skip
    cmd = [sys.executable, "-m", "colonies.executor.kube", "--type", "cli-kube-type", "--kubeconfig", kubeconfig,
           "--namespace", "cli-ns", "--nodes", "2", "--gpus", "0", "--retention", "-1"]  # fmt: skip
    stderr = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, env=cli_env(served), stderr=stderr)
    try:
        pid = submit(served, {"cmd": "echo from-cli"}, executortype="cli-kube-type")
        try:
            result = closed(served, pid, 20)
        except AssertionError as exc:
            stderr.seek(0)
            raise AssertionError(f"{exc}\nexecutor's stderr:\n{stderr.read().decode(errors='replace')}") from None
        assert (result["state"], result["out"]) == (SUCCESS, [{"exitcode": 0, "stdout_tail": ["from-cli"]}])
        name = job_of(kube, pid)["metadata"]["name"]
        assert ("cli-ns", name) in kube.jobs  # --retention -1: kept
        executors = served.call("getexecutorsmsg", {"colonyname": served.name}, served.executor)
        mine = [e for e in executors if e["executortype"] == "cli-kube-type"]
        assert len(mine) == 1 and mine[0]["capabilities"]["hardware"]["nodes"] == 2
        proc.terminate()
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        stderr.close()


def test_configuration_errors_exit_2_with_one_line(tmp_path: Path, kubeconfig: str, served: Colony,
                                                    capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    where = closed_port = f"http://127.0.0.1:{free_port()}"
    unreachable = tmp_path / "unreachable.json"
    unreachable.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": closed_port}}], "users": [{"name": "u", "user": {}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))  # fmt: skip
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("namespace: jobs\nvolumeMount: []\n")
    dangling = tmp_path / "dangling.yaml"
    dangling.write_text("volumes: []\nvolumeMounts:\n  - name: data\n    mountPath: /data\n")
    broken = tmp_path / "broken.json"
    broken.write_text("{namespace: 1")
    cases = [
        (["--config", str(dangling)], "error: volume_mounts: no volume named 'data' in volumes"),
        (["--config", str(broken)], f"error: config file {broken} is not valid JSON"),
        (["--config", str(tmp_path / "missing.yaml")], "error: cannot read config file"),
        (["--node-selector", "gpu"], "error: --node-selector 'gpu': expected KEY=VALUE"),
        (["--retention", "-5"], "error: retention must be -1 (keep), 0 (delete) or a number of seconds"),
        (["--nodes", "many"], "error: argument --nodes: invalid int value: 'many'"),
        (["--concurrency", "0"], "error: --concurrency must be at least 1"),
        (["--kubeconfig", str(unreachable)], f"error: kubernetes backend: cannot reach the API server at {where}"),
        (["--kubeconfig", str(tmp_path / "nothing")], "error: kubernetes backend: kubeconfig"),
    ]  # fmt: skip
    for args, expected in cases:
        assert main(["--type", "t", "--kubeconfig", kubeconfig, *args]) == 2, args
        stderr = capsys.readouterr().err
        assert stderr.startswith(expected) and stderr.count("\n") == 1, (args, stderr)
    # The same through the installed entry point's module: exit code 2, one line, no traceback.
    cmd = [sys.executable, "-m", "colonies.executor.kube", "--type", "t", "--config", str(unknown)]
    result = subprocess.run(cmd, env=cli_env(served), capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert result.stderr.startswith("error: unknown configuration key 'volumeMount' (known: context, ")
    assert result.stderr.count("\n") == 1, result.stderr


# --- the backend on its own ------------------------------------------------------------------------------------


def test_manifest_is_sent_as_built(kube: FakeKube, kubeconfig: str) -> None:
    backend = backend_for(kubeconfig, retention=30, node_selector={"pool": "gpu"}, volumes=VOLUMES,
                          volume_mounts=MOUNTS)  # fmt: skip
    job = Job(processid="f" * 64, image="alpine:3", script="echo $COLONIES_TASK_INDEX", env={"A": "1"},
              workdir="/w", cpus=1.5, mem_bytes=GIB, gpus=2, nodes=2, processes_per_node=3, walltime=120,
              gpu_name="h100")  # fmt: skip
    run = backend.start(job, noop)
    code, output = follow(run)
    run.close()
    assert code == 0
    lines = [re.fullmatch(r"\[(\d)-[0-9a-z]{5}/task-(\d)\] (\d)", line) for line in output.splitlines()]
    assert all(lines) and len(lines) == 6, output
    assert sorted((m[1], m[2]) for m in lines if m) == [(n, t) for n in "01" for t in "012"]
    assert all(m[2] == m[3] for m in lines if m)
    (body,) = kube.created_for(job.processid)
    assert body == backend.manifest(job, run.name)  # the client sent exactly the manifest
    spec = body["spec"]
    assert (spec["parallelism"], spec["completions"], spec["activeDeadlineSeconds"]) == (2, 2, 120)
    assert spec["ttlSecondsAfterFinished"] == 30
    assert body["metadata"]["annotations"] == {"colonies.processid": "f" * 64}
    pod = spec["template"]["spec"]
    assert pod["nodeSelector"] == {"pool": "gpu", "accelerator": "h100"}
    assert (pod["enableServiceLinks"], pod["automountServiceAccountToken"]) == (False, False)
    assert [c["name"] for c in pod["containers"]] == ["task-0", "task-1", "task-2"]
    limits = {"cpu": "1500m", "memory": str(GIB), "nvidia.com/gpu": "2"}
    assert pod["containers"][2]["resources"] == {"requests": {"cpu": "1500m", "memory": str(GIB)}, "limits": limits}
    assert "imagePullPolicy" not in pod["containers"][0]
    assert kube.dry_runs, "check() validates a Job by a server-side dry run"
    assert (NS, run.name) in kube.jobs  # retention 30: left to ttlSecondsAfterFinished
    assert run.attributes["KUBE-JOB"] == run.name and len(run.attributes["KUBE-PODS"].split(",")) == 2


def test_failures_are_named(kube: FakeKube, kubeconfig: str) -> None:
    backend = backend_for(kubeconfig, pending_timeout=0.5)

    def outcome(**fields: Any) -> tuple[int, list[str], str]:
        job = Job(processid=os.urandom(32).hex(), env={}, **{"image": "alpine", "script": "true", **fields})
        run = backend.start(job, noop)
        code, output = follow(run)
        run.close()
        return code, run.notes, output

    code, notes, output = outcome(script="echo started; sleep 30", walltime=1)
    assert (code, notes, output) == (137, ["DeadlineExceeded: walltime of 1 s exceeded (activeDeadlineSeconds)"],
                                     "started\n")  # fmt: skip
    code, notes, _ = outcome(script="kill -9 $$", mem_bytes=64 * MIB)
    assert code == 137 and len(notes) == 1 and re.fullmatch(r"OOMKilled: \S+/task-0 exceeded its memory limit "
                                                            r"\(conditions.mem\)", notes[0])  # fmt: skip
    code, notes, _ = outcome(script="exit $((COLONIES_TASK_INDEX + 3))", processes_per_node=2)
    assert code == 3 and [n.split("/", 1)[1] for n in notes] == ["task-0 exited with code 3",
                                                                 "task-1 exited with code 4"]  # fmt: skip
    code, notes, _ = outcome(image="doesnotexist/x:1")
    assert code == 1 and notes[0].startswith('image could not be pulled (ErrImagePull: failed to pull image '
                                             '"doesnotexist/x:1": not found) (pod ')  # fmt: skip
    unschedulable = backend_for(kubeconfig, pending_timeout=0.5, node_selector={"zone": "nowhere"})
    run = unschedulable.start(Job(processid="9" * 64, image="alpine", script="true", env={}), noop)
    code, _ = follow(run)
    assert code == 1 and run.notes[0].startswith("pod could not be scheduled (Unschedulable: 0/1 nodes")


def test_kill_deletes_the_job_with_its_pods(kube: FakeKube, kubeconfig: str) -> None:
    backend = backend_for(kubeconfig)
    run = backend.start(Job(processid="k" * 64, image="alpine", script="echo up; sleep 30", env={}), noop)
    wait_for(lambda: alive(kube.pods_of(run.name)), bool, 5, what="pod running")
    run.kill()
    assert run.wait(1) == 137
    assert (run.name, "Background") in kube.deletions and (NS, run.name) not in kube.jobs
    wait_for(lambda: alive(kube.pods_of(run.name)), lambda running: not running, 5, what="pods killed")
    run.close()


def test_detach_and_reattach_follow_the_same_job(kube: FakeKube, kubeconfig: str) -> None:
    backend = backend_for(kubeconfig)
    job = Job(processid="r" * 64, image="alpine", script="echo before; sleep 1.5; echo after", env={})
    notes: list[str] = []
    run = backend.start(job, notes.append)
    first: list[bytes] = []
    for chunk in run.streams["stdout"]:
        first.append(chunk)
        break
    run.detach()
    run.close()  # after detach: nothing is deleted
    assert first == [b"before\n"] and (NS, run.name) in kube.jobs and (run.name, "Background") not in kube.deletions
    again = backend.reattach(job, dict(run.attributes), notes.append)
    assert isinstance(again, KubeRun) and again.name == run.name
    code, output = follow(again)
    again.close()
    assert (code, output) == (0, "after\n")  # output from the reattachment on
    assert len(kube.created_for(job.processid)) == 1
    assert any(n.startswith(f"reattached to Kubernetes Job {NS}/{run.name}") for n in notes)
    assert backend.reattach(job, {"KUBE-JOB": "colonies-gone", "KUBE-NAMESPACE": NS}, notes.append) is None
    other = Job(processid="o" * 64, image="alpine", script="true", env={})
    assert backend.reattach(other, dict(run.attributes), notes.append) is None  # not this process's Job
    assert backend.reattach(job, {}, notes.append) is None


def test_retention_keeps_or_expires_finished_jobs(kube: FakeKube, kubeconfig: str) -> None:
    for retention, processid in ((-1, "1" * 64), (1, "2" * 64)):
        backend = backend_for(kubeconfig, retention=retention)
        run = backend.start(Job(processid=processid, image="alpine", script="true", env={}), noop)
        assert follow(run)[0] == 0
        run.close()
        key = (NS, run.name)
        assert key in kube.jobs
        if retention == 1:  # ttlSecondsAfterFinished: Kubernetes deletes it
            wait_for(lambda: key in kube.jobs, lambda present: not present, 5, what="TTL deletion")  # noqa: B023


def test_quota_gives_resources_available_and_capacity(kube: FakeKube, kubeconfig: str) -> None:
    backend = backend_for(kubeconfig, namespace="quota-ns")
    assert (backend.resources(), backend.available()) == ((0, 0), None)
    kube.add_quota("quota-ns", "compute", {"requests.cpu": "4", "requests.memory": "8Gi", "pods": "10"},
                   {"requests.cpu": "500m", "requests.memory": "1Gi", "pods": "1"})  # fmt: skip
    assert backend.resources() == (4, 8 * GIB)
    assert backend.available() == ("3500m", "7Gi")
    kube.add_quota("quota-ns", "team", {"limits.cpu": "3", "limits.memory": "10Gi", "requests.nvidia.com/gpu": "2"},
                   {"limits.cpu": "2500m", "limits.memory": "1536Mi"})  # fmt: skip
    assert backend.available() == ("500m", "7Gi")  # the tightest quota of each resource
    assert backend.resources() == (3, 8 * GIB) and backend.quota_limits() == (3000, 8 * GIB, 2)
    options = parse_args(["--namespace", "quota-ns"])
    assert kube_capacity(backend, options) == capacity(nodes=16, cpu_millicores=3000, mem_bytes=8 * GIB, gpus=2,
                                                       processes_per_node=16)  # fmt: skip
    options = parse_args(["--cpu", "2000m", "--mem", "1Gi", "--gpus", "0", "--nodes", "3"])
    assert kube_capacity(backend, options) == capacity(nodes=3, cpu_millicores=2000, mem_bytes=GIB, gpus=0,
                                                       processes_per_node=16)  # fmt: skip
    kube.quotas["quota-ns"][0]["status"]["used"]["requests.cpu"] = "5"
    assert backend.available() == ("0m", "7Gi")  # over-used: nothing free


def test_check_names_the_problem(kube: FakeKube, kubeconfig: str, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    forbidding = FakeKube()
    try:
        forbidding.forbidden = True
        path = forbidding.write_kubeconfig(str(tmp_path / "forbidden"))
        with pytest.raises(BackendUnavailable, match=r"refused to list Jobs in namespace colonies-test \(403 "
                                                     r"Forbidden: jobs.batch is forbidden.*\); bind the executor's"):
            KubeBackend(KubeConfig(namespace=NS, kubeconfig=path)).check()
    finally:
        forbidding.stop()
    with pytest.raises(BackendUnavailable, match="cannot reach the API server"):
        KubeBackend(KubeConfig(namespace=NS, kubeconfig=path)).check()
    with pytest.raises(BackendUnavailable, match=r"did not accept a Job in namespace colonies-test \(dry run: .*"
                                                 r"persistentVolumeClame.*\); check the volumes"):
        backend_for(kubeconfig, volumes=[{"name": "v", "persistentVolumeClame": {"claimName": "c"}}])
    monkeypatch.setitem(sys.modules, "kubernetes", None)
    with pytest.raises(BackendUnavailable, match=r"'kubernetes' Python package is missing \(pip install"):
        KubeBackend(KubeConfig(namespace=NS, kubeconfig=kubeconfig)).check()


def test_deploy_manifest_grants_what_the_backend_uses(kube: FakeKube, kubeconfig: str) -> None:
    import yaml

    path = Path(__file__).resolve().parent.parent / "deploy" / "kubernetes" / "colonies-kube-executor.yaml"
    objects = {doc["kind"]: doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc}
    assert set(objects) == {"ServiceAccount", "Role", "RoleBinding", "Deployment"}
    allowed = {(group, resource, verb) for rule in objects["Role"]["rules"] for group in rule["apiGroups"]
               for resource in rule["resources"] for verb in rule["verbs"]}  # fmt: skip
    # Every request a backend makes in its life (start-up, quota, a Job followed, killed, reattached, deleted).
    first = len(kube.requests)
    backend = backend_for(kubeconfig, namespace="rbac-ns")
    backend.available()
    job = Job(processid="b" * 64, image="alpine", script="echo hi; sleep 30", env={}, processes_per_node=2)
    run = backend.start(job, noop)
    wait_for(lambda: run.attributes, lambda attributes: "KUBE-PODS" in attributes, 5, what="pods seen")
    wait_for(lambda: any(p.endswith("/log") for _, p in kube.requests[first:]), bool, 5, what="logs followed")
    run.detach()
    again = backend.reattach(job, run.attributes, noop)
    assert again is not None
    again.kill()
    again.close()
    verbs = {"POST": "create", "DELETE": "delete"}
    used = set()
    for method, url in kube.requests[first:]:
        match = re.fullmatch(r"/apis?/(?:(batch)/)?v1/namespaces/[^/]+/([^/]+)(?:/([^/]+))?(?:/([^/]+))?", url)
        if match:  # /version needs no permission
            group, resource, name, sub = match.groups()
            used.add((group or "", f"{resource}/{sub}" if sub else resource, verbs.get(method) or
                      ("get" if name else "list")))  # fmt: skip
    assert used and used <= allowed, used - allowed
    assert {("batch", "jobs", "create"), ("batch", "jobs", "delete"), ("", "pods/log", "get")} <= used
    (subject,) = objects["RoleBinding"]["subjects"]
    assert subject == {"kind": "ServiceAccount", "name": objects["ServiceAccount"]["metadata"]["name"],
                       "namespace": objects["ServiceAccount"]["metadata"]["namespace"]}  # fmt: skip
    deployment = objects["Deployment"]["spec"]
    assert (deployment["replicas"], deployment["strategy"]) == (1, {"type": "Recreate"})
    (container,) = deployment["template"]["spec"]["containers"]
    assert container["command"] == ["colonies-kube-executor"]
    assert container["envFrom"] == [{"secretRef": {"name": "colonies-kube-executor"}}]  # keys only in the Secret
    assert "PRVKEY" not in json.dumps(objects)


def test_config_file_takes_kubernetes_spelling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "kube.yaml"
    path.write_text("namespace: jobs\nserviceAccountName: runner\nnodeSelector: {pool: batch}\n"
                    "imagePullSecrets: [{name: regcred}, other]\nretention: 600\npendingTimeout: 60\n"
                    "volumes:\n  - name: data\n    persistentVolumeClaim: {claimName: shared}\n"
                    "volumeMounts:\n  - {name: data, mountPath: /cfs}\n")  # fmt: skip
    config = KubeConfig.from_file(str(path), namespace=None, retention=0)
    assert config == KubeConfig(namespace="jobs", service_account="runner", node_selector={"pool": "batch"},
                                image_pull_secrets=["regcred", "other"], retention=0, pending_timeout=60,
                                volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "shared"}}],
                                volume_mounts=[{"name": "data", "mountPath": "/cfs"}])  # fmt: skip
    monkeypatch.setenv("EXECUTOR_K8S_NAMESPACE", "from-env")
    assert KubeConfig().namespace == "from-env"
    with pytest.raises(ConfigError, match="not a valid Kubernetes namespace"):
        KubeConfig(namespace="Bad_Name")
    with pytest.raises(ConfigError, match="pending_timeout must be a positive number"):
        KubeConfig(pending_timeout=0)

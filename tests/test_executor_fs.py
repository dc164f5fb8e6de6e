"""The spec's ``fs`` section in the executors (issue 14, parts 5 and 6), against a real server and real stores
(moto_server as S3, and the local directory store): labels synced into the job's directory before it runs and
results back after it, snapshots brought in and released, the ``sync`` function, the mounts each backend gives the
job, refusals of dirs that leave the fs directory, and a workflow whose two nodes run on two executor processes that
share nothing but the server and S3."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Colony, Server, create_colony, start_server
from s3_server import S3Server, s3_server
from sched_helpers import wait_for

from colonies.exceptions import ColoniesError
from colonies.executor.container import Capacity, build
from colonies.executor.container_backends import DockerBackend, Job, LocalBackend, PodmanBackend
from colonies.executor.jobfiles import FsSpecError, parse_fs
from colonies.executor.slurm import SlurmConfig, sbatch_script
from pycolonies import Colonies

pytestmark = pytest.mark.timeout(120)

WAITING, RUNNING, SUCCESS, FAILED = range(4)
TYPE = "fs-test-executor"
GIB = 1024**3


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One SQLite server: the file metadata messages are tested on both backends in test_files.py."""
    srv = start_server(str(tmp_path_factory.mktemp("server")), backend="sqlite")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    with s3_server(tmp_path_factory.mktemp("moto")) as running:
        yield running


@pytest.fixture(params=["s3", "local"])
def store(request: pytest.FixtureRequest, s3: S3Server, tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:  # fmt: skip
    """The store both the test (as a user) and the in-process executor use; the variables it set."""
    for name in [n for n in os.environ if n.startswith("AWS_S3_") or n == "COLONIES_FS_DIR"]:
        monkeypatch.delenv(name)
    values = (s3.env(bucket=f"b{os.urandom(4).hex()}") if request.param == "s3"
              else {"COLONIES_FS_DIR": str(tmp_path / "store")})  # fmt: skip
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


@pytest.fixture
def site(server: Server, store: dict[str, str], tmp_path: Path) -> Iterator[tuple[Colony, Path]]:
    """A colony, one container executor (local backend) with its fs directory, serving in a thread."""
    colony = create_colony(server)
    ident = colony.add_executor("fs-executor", executortype=TYPE)
    fs_dir = tmp_path / "cfs"
    executor = build(backend=LocalBackend(), executortype=TYPE, register="key", concurrency=2, host="127.0.0.1",
                     port=server.port,
                     colonyname=colony.name, prvkey=ident.prvkey, colony_prvkey=None, assign_timeout=5,
                     capacity=Capacity(nodes=1, cpu_millicores=2000, mem_bytes=2 * GIB), fs_dir=fs_dir)  # fmt: skip
    executor.run_in_thread()
    assert executor.wait_ready(20)
    try:
        yield colony, fs_dir
    finally:
        executor.stop()
        executor.join(20)


@pytest.fixture
def sdk(server: Server) -> Iterator[Colonies]:
    client = Colonies("127.0.0.1", server.port)
    yield client
    client.close_connection()


def submit(colony: Colony, cmd: str, fs: dict[str, Any], funcname: str = "execute",
           executortype: str = TYPE) -> str:  # fmt: skip
    kwargs = {"cmd": cmd} if funcname == "execute" else {}
    spec = {"funcname": funcname, "args": [], "kwargs": kwargs, "maxexectime": -1, "maxretries": 0,
            "conditions": {"executortype": executortype}, "fs": fs}  # fmt: skip
    return str(colony.submit(colony.user, **spec)["processid"])


def closed(colony: Colony, pid: str, timeout: float = 30) -> dict[str, Any]:
    return wait_for(lambda: colony.get(pid), lambda p: p["state"] in (SUCCESS, FAILED), timeout,
                    what=f"{pid} closed")  # fmt: skip


def log_text(colony: Colony, pid: str) -> str:
    logs = colony.call("getlogsmsg", {"colonyname": colony.name, "processid": pid, "count": 500, "since": 0},
                       colony.executor)  # fmt: skip
    return "".join(entry["message"] for entry in logs)


def sync_dir(label: str, directory: str, *, keepfiles: bool = False, onstart: bool = False,
             onclose: bool = False) -> dict[str, Any]:  # fmt: skip
    return {"label": label, "dir": directory, "keepfiles": keepfiles,
            "onconflicts": {"onstart": {"keeplocal": onstart}, "onclose": {"keeplocal": onclose}}}  # fmt: skip


# --- the fs section around a job ------------------------------------------------------------------------------------


def test_a_label_comes_in_before_the_job_and_results_go_back_after_it(site: tuple[Colony, Path],
                                                                       sdk: Colonies) -> None:  # fmt: skip
    colony, fs_dir = site
    sdk.upload_data(colony.name, colony.user.prvkey, "hello.txt", b"hello from the user\n", "/inputs")
    sdk.upload_data(colony.name, colony.user.prvkey, "deep.txt", b"nested\n", "/inputs/sub")
    cmd = ('cat "$COLONIES_FS_MOUNT/in/hello.txt" "$COLONIES_FS_MOUNT/in/sub/deep.txt"; '
           'echo "result of {processid}" > "$COLONIES_FS_MOUNT/out/result.txt"')  # fmt: skip
    fs = {"mount": "/cfs", "dirs": [sync_dir("/inputs", "/in"),
                                    sync_dir("/results/{processid}", "/out", onclose=True)]}  # fmt: skip
    pid = submit(colony, cmd, fs)
    done = closed(colony, pid)
    assert done["state"] == SUCCESS, done["errors"]
    assert done["out"][0]["stdout_tail"] == ["hello from the user", "nested"]
    data = sdk.download_data(colony.name, colony.user.prvkey, label=f"/results/{pid}", filename="result.txt")
    assert data == f"result of {pid}\n".encode()
    text = log_text(colony, pid)
    assert "fs: /inputs ↔ /cfs/in: 0 uploaded, 2 downloaded" in text
    assert f"fs: /results/{pid} ↔ /cfs/out: 1 uploaded, 0 downloaded" in text
    assert not (fs_dir / "in").exists() and not (fs_dir / "out").exists()  # keepfiles false: removed


def test_keepfiles_stages_data_and_conflicts_follow_keeplocal(site: tuple[Colony, Path], sdk: Colonies) -> None:
    colony, fs_dir = site
    sdk.upload_data(colony.name, colony.user.prvkey, "a.txt", b"server copy\n", "/staged")
    first = submit(colony, 'cat "$COLONIES_FS_MOUNT/data/a.txt"', {"mount": "/cfs", "dirs": [
        sync_dir("/staged", "/data", keepfiles=True)]})  # fmt: skip
    assert closed(colony, first)["state"] == SUCCESS
    assert (fs_dir / "data" / "a.txt").read_text() == "server copy\n"  # kept on the executor's disk
    (fs_dir / "data" / "a.txt").write_text("local edit\n")
    # onstart keeplocal false: the server's copy wins before the job; the job then changes it, and onclose
    # keeplocal true uploads the change as a new revision.
    second = submit(colony, 'cat "$COLONIES_FS_MOUNT/data/a.txt"; echo changed > "$COLONIES_FS_MOUNT/data/a.txt"',
                    {"mount": "/cfs", "dirs": [sync_dir("/staged", "/data", keepfiles=True, onclose=True)]})
    done = closed(colony, second)
    assert done["state"] == SUCCESS and done["out"][0]["stdout_tail"] == ["server copy"]
    assert sdk.download_data(colony.name, colony.user.prvkey, label="/staged", filename="a.txt") == b"changed\n"
    revisions = sdk.get_file(colony.name, colony.user.prvkey, label="/staged", filename="a.txt", latest=False)
    assert len(revisions) == 2
    # onstart keeplocal true: the executor's copy wins and goes up before the job.
    (fs_dir / "data" / "a.txt").write_text("mine\n")
    third = submit(colony, 'cat "$COLONIES_FS_MOUNT/data/a.txt"', {"mount": "/cfs", "dirs": [
        sync_dir("/staged", "/data", onstart=True)]})  # fmt: skip
    assert closed(colony, third)["out"][0]["stdout_tail"] == ["mine"]
    assert sdk.download_data(colony.name, colony.user.prvkey, label="/staged", filename="a.txt") == b"mine\n"
    assert not (fs_dir / "data").exists()


def test_snapshots_come_in_and_are_released_after_the_job(site: tuple[Colony, Path], sdk: Colonies) -> None:
    colony, fs_dir = site
    key = colony.user.prvkey
    sdk.upload_data(colony.name, key, "model.bin", b"weights v1", "/models")
    snap = sdk.create_snapshot(colony.name, "/models", "models-v1", key)
    sdk.upload_data(colony.name, key, "model.bin", b"weights v2", "/models")  # after the snapshot: not in it
    kept = sdk.create_snapshot(colony.name, "/models", "models-kept", key)
    fs = {"mount": "/cfs", "snapshots": [
        {"snapshotid": snap["snapshotid"], "label": "/models", "dir": "/snap/{processid}", "keepfiles": False,
         "keepsnapshot": False},
        {"snapshotid": kept["snapshotid"], "label": "/models", "dir": "/kept", "keepfiles": True,
         "keepsnaphot": True}]}  # the original's misspelling is read too
    pid = submit(colony, 'cat "$COLONIES_FS_MOUNT/snap/{processid}/model.bin"; echo; '
                         'cat "$COLONIES_FS_MOUNT/kept/model.bin"', fs)  # fmt: skip
    done = closed(colony, pid)
    assert done["state"] == SUCCESS, done["errors"]
    assert done["out"][0]["stdout_tail"] == ["weights v1", "weights v2"]
    with pytest.raises(ColoniesError):
        sdk.get_snapshot_by_id(colony.name, snap["snapshotid"], key)  # released
    assert sdk.get_snapshot_by_id(colony.name, kept["snapshotid"], key)["name"] == "models-kept"
    assert not (fs_dir / "snap" / pid).exists() and (fs_dir / "kept" / "model.bin").read_bytes() == b"weights v2"


def test_results_of_a_failing_command_still_go_back(site: tuple[Colony, Path], sdk: Colonies) -> None:
    colony, _ = site
    pid = submit(colony, 'echo partial > "$COLONIES_FS_MOUNT/out/partial.txt"; exit 3',
                 {"mount": "/cfs", "dirs": [sync_dir("/partial/{processid}", "/out", onclose=True)]})
    done = closed(colony, pid)
    assert done["state"] == FAILED and "exited with code 3" in done["errors"][0]
    assert sdk.download_data(colony.name, colony.user.prvkey, label=f"/partial/{pid}",
                             filename="partial.txt") == b"partial\n"  # fmt: skip


def test_a_link_the_job_leaves_never_uploads_what_it_points_at(site: tuple[Colony, Path], sdk: Colonies,
                                                               tmp_path: Path) -> None:  # fmt: skip
    colony, _ = site
    secret = tmp_path / "executor-secret.key"
    secret.write_text("the executor's private key\n")
    cmd = (f'ln -s {secret} "$COLONIES_FS_MOUNT/out/stolen.key"; ln -s /etc "$COLONIES_FS_MOUNT/out/etc"; '
           'echo mine > "$COLONIES_FS_MOUNT/out/own.txt"; ln -s own.txt "$COLONIES_FS_MOUNT/out/alias.txt"')
    pid = submit(colony, cmd, {"mount": "/cfs", "dirs": [sync_dir("/leak/{processid}", "/out", onclose=True)]})
    assert closed(colony, pid)["state"] == SUCCESS
    names = sorted(f["name"] for f in sdk.get_files(f"/leak/{pid}", colony.name, colony.user.prvkey))
    assert names == ["alias.txt", "own.txt"]  # a link inside the directory is fine; out of it, never
    assert sdk.get_file_labels(colony.name, colony.user.prvkey, name=f"/leak/{pid}/etc", exact=True) == []


def test_the_sync_function_stages_files_without_running_anything(site: tuple[Colony, Path], sdk: Colonies) -> None:
    colony, fs_dir = site
    for i in range(3):
        sdk.upload_data(colony.name, colony.user.prvkey, f"part-{i}.csv", f"{i}\n".encode(), "/dataset")
    pid = submit(colony, "", {"mount": "/cfs", "dirs": [sync_dir("/dataset", "/datasets/ds", keepfiles=True)]},
                 funcname="sync")
    done = closed(colony, pid)
    assert done["state"] == SUCCESS, done["errors"]
    assert done["out"] == [{"downloaded": 3, "uploaded": 0, "conflicts": 0}]
    assert sorted(p.name for p in (fs_dir / "datasets" / "ds").iterdir()) == ["part-0.csv", "part-1.csv",
                                                                              "part-2.csv"]  # fmt: skip
    empty = submit(colony, "", {"mount": "/cfs"}, funcname="sync")
    assert "sync needs spec.fs.dirs or spec.fs.snapshots" in closed(colony, empty)["errors"][0]


@pytest.mark.parametrize(("fs", "message"), [
    ({"mount": "/cfs", "dirs": [{"label": "/x", "dir": "../../etc"}]}, "must stay under the mount"),
    ({"mount": "/cfs", "dirs": [{"label": "/x", "dir": "/"}]}, "must name a directory under the mount"),
    ({"mount": "/cfs", "dirs": [{"label": "", "dir": "/x"}]}, "label is required"),
    ({"mount": "/cfs", "dirs": [{"label": "/x", "dir": "/x", "keepfiles": "yes"}]}, "must be true or false"),
    ({"mount": "cfs", "dirs": [{"label": "/x", "dir": "/x"}]}, "must be an absolute path"),
    ({"mount": "/cfs", "snapshots": [{"dir": "/x"}]}, "snapshotid is required"),
    ({"mount": "/cfs", "dirs": {"label": "/x"}}, "must be a list"),
])  # fmt: skip
def test_an_fs_section_that_cannot_be_carried_out_fails_before_anything_runs(
        site: tuple[Colony, Path], tmp_path: Path, fs: dict[str, Any], message: str) -> None:  # fmt: skip
    colony, _ = site
    marker = tmp_path / "ran"
    pid = submit(colony, f"touch {marker}", fs)
    done = closed(colony, pid)
    assert done["state"] == FAILED and message in done["errors"][0]
    assert not marker.exists()


def test_a_missing_snapshot_fails_the_process_and_leaves_nothing_behind(site: tuple[Colony, Path],
                                                                        tmp_path: Path) -> None:  # fmt: skip
    colony, fs_dir = site
    marker = tmp_path / "ran"
    pid = submit(colony, f"touch {marker}", {"mount": "/cfs", "snapshots": [
        {"snapshotid": "f" * 64, "dir": "/snap"}], "dirs": [sync_dir("/whatever", "/w")]})  # fmt: skip
    done = closed(colony, pid)
    assert done["state"] == FAILED and "could not be brought in" in done["errors"][0]
    assert not marker.exists() and not (fs_dir / "w").exists() and not (fs_dir / "snap").exists()


def test_without_a_mount_nothing_is_synced(site: tuple[Colony, Path], sdk: Colonies) -> None:
    colony, _ = site
    pid = submit(colony, 'echo "[$COLONIES_FS_MOUNT]"', {"mount": "", "dirs": [sync_dir("/never", "/n")]})
    done = closed(colony, pid)
    assert done["state"] == SUCCESS and done["out"][0]["stdout_tail"] == ["[]"]
    assert sdk.get_file_labels(colony.name, colony.user.prvkey, name="/never", exact=True) == []


# --- two sites that share nothing but the server and S3 ---------------------------------------------------------------


def executor_process(colony: Colony, s3: S3Server, bucket: str, executortype: str, fs_dir: Path) -> Any:
    """A container executor as its own process, with its own fs directory and only the S3 settings in common."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("COLONIES_", "AWS_S3_", "EXECUTOR_"))}  # fmt: skip
    env.update({"COLONIES_SERVER_HOST": "127.0.0.1", "COLONIES_SERVER_PORT": str(colony.server.port),
                "COLONIES_SERVER_TLS": "false", "COLONIES_COLONY_NAME": colony.name,
                "COLONIES_COLONY_PRVKEY": colony.owner.prvkey, **s3.env(bucket=bucket)})  # fmt: skip
    return subprocess.Popen([sys.executable, "-m", "colonies.executor.container", "--type", executortype,
                             "--backend", "local", "--gpus", "0", "--fs-dir", str(fs_dir)], env=env)  # fmt: skip


def test_a_workflow_hands_a_file_from_one_site_to_another_through_a_label(
        server: Server, s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    colony = create_colony(server)
    bucket = f"w{os.urandom(4).hex()}"
    sites = [executor_process(colony, s3, bucket, "site-a", tmp_path / "a"),
             executor_process(colony, s3, bucket, "site-b", tmp_path / "b")]
    try:
        produce = {"nodename": "produce", "funcname": "execute", "args": [], "maxexectime": -1, "maxretries": 0,
                   "kwargs": {"cmd": 'echo "computed at site a" > "$COLONIES_FS_MOUNT/handoff/data.txt"'},
                   "conditions": {"colonyname": colony.name, "executortype": "site-a", "dependencies": []},
                   "fs": {"mount": "/cfs", "dirs": [sync_dir("/handoff/run1", "/handoff", onclose=True)]}}
        consume = {"nodename": "consume", "funcname": "execute", "args": [], "maxexectime": -1, "maxretries": 0,
                   "kwargs": {"cmd": 'cat "$COLONIES_FS_MOUNT/in/data.txt"'},
                   "conditions": {"colonyname": colony.name, "executortype": "site-b", "dependencies": ["produce"]},
                   "fs": {"mount": "/cfs", "dirs": [sync_dir("/handoff/run1", "/in")]}}
        graph = colony.call("submitworkflowspecmsg", {"spec": {"colonyname": colony.name,
                                                               "functionspecs": [produce, consume]}}, colony.user)
        last = next(pid for pid in graph["processids"]
                    if colony.get(pid)["spec"]["nodename"] == "consume")  # fmt: skip
        done = closed(colony, last, 60)
        assert done["state"] == SUCCESS, done["errors"]
        assert done["out"][0]["stdout_tail"] == ["computed at site a"]
        assert not (tmp_path / "b" / "handoff").exists() and not (tmp_path / "a" / "in").exists()
    finally:
        for proc in sites:
            proc.terminate()
        for proc in sites:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


# --- what each backend gives the job ------------------------------------------------------------------------------


def test_each_backend_shows_the_fs_directory_at_the_mount() -> None:
    job = Job(processid="p" * 64, image="alpine", script="true", env={}, mounts=(("/srv/cfs", "/cfs"),))
    podman = PodmanBackend(podman="/usr/bin/podman").command(job, "n")
    assert podman[podman.index("--volume") + 1] == "/srv/cfs:/cfs"
    assert DockerBackend(client=object()).container_options(job)["volumes"] == {
        "/srv/cfs": {"bind": "/cfs", "mode": "rw"}}
    script = sbatch_script(job, SlurmConfig(binds=["/scratch:/scratch"]), "apptainer",
                           {"stdout": "o", "stderr": "e", "workdir": "w", "sif": "img.sif"})  # fmt: skip
    assert "--bind /scratch:/scratch --bind /srv/cfs:/cfs" in script
    assert LocalBackend().fs_path("/srv/cfs", "/cfs") == "/srv/cfs"  # no container: the directory itself


def test_apptainer_jobs_get_their_variables_through_cleanenv() -> None:
    job = Job(processid="p" * 64, image="alpine", script="true", env={"GREETING": "hi there"})
    paths = {"stdout": "o", "stderr": "e", "workdir": "w", "sif": "img.sif"}
    assert "export APPTAINERENV_GREETING='hi there'" in sbatch_script(job, SlurmConfig(), "apptainer", paths)
    assert "export SINGULARITYENV_GREETING='hi there'" in sbatch_script(job, SlurmConfig(), "singularity", paths)
    assert "ENV_GREETING" not in sbatch_script(job, SlurmConfig(), "none", paths)


def test_parse_fs_substitutes_the_process_id_and_reads_both_spellings() -> None:
    fs = parse_fs({"fs": {"mount": "/cfs", "snapshots": [{"snapshotid": "s", "dir": "/s/{processid}",
                                                          "keepsnaphot": True}],
                          "dirs": [{"label": "res/{processid}/", "dir": "./out//x"}]}}, "PID")  # fmt: skip
    assert fs.active and fs.snapshots[0].dir == "s/PID" and fs.snapshots[0].keepsnapshot
    assert (fs.dirs[0].label, fs.dirs[0].dir) == ("/res/PID", "out/x")
    assert not parse_fs({"fs": {"mount": "", "snapshots": None, "dirs": None}}, "p").active  # the SDK's default
    assert not parse_fs({}, "p").active
    with pytest.raises(FsSpecError, match="spec.fs must be an object"):
        parse_fs({"fs": "cfs"}, "p")


def test_kubernetes_without_an_fs_volume_refuses_fs_processes() -> None:
    from colonies.executor.kube import KubeBackend, KubeConfig

    assert KubeBackend(KubeConfig(namespace="ns")).fs_path("/cfs", "/cfs") is None
    config = KubeConfig(namespace="ns", volumes=[{"name": "cfs", "persistentVolumeClaim": {"claimName": "cfs"}}],
                        fs_volume="cfs")  # fmt: skip
    backend = KubeBackend(config)
    assert backend.fs_path("/data/cfs", "/mnt/cfs") == "/mnt/cfs"
    job = Job(processid="p" * 64, image="alpine", script="true", env={}, mounts=(("/data/cfs", "/mnt/cfs"),))
    pod = backend.manifest(job, "colonies-x")["spec"]["template"]["spec"]
    assert pod["containers"][0]["volumeMounts"] == [{"name": "cfs", "mountPath": "/mnt/cfs"}]
    assert pod["volumes"] == [{"name": "cfs", "persistentVolumeClaim": {"claimName": "cfs"}}]

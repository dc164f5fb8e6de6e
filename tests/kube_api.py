"""A small Kubernetes API server for the kube executor's tests: real HTTP on 127.0.0.1, real Kubernetes JSON, so
the official ``kubernetes`` client talks to it as to a cluster. It implements only what the executor uses:

* ``GET /version``; batch/v1 Jobs: create (``dryRun=All`` too), get, list, delete (``propagationPolicy``:
  Background/Foreground delete the pods, none or Orphan keeps them, as the real default for Jobs does);
* pods: list by ``labelSelector`` (``a=b,c=d``), get, ``/log`` with ``container``, ``follow`` (chunked, as it
  comes), ``tailLines``; ResourceQuotas: list, get (``add_quota``).

It runs the pods: a Job gets ``parallelism`` pods (``<job>-<index>-<random>``), each container's command runs as a
local subprocess (``command`` + ``args``, the container's ``env`` values plus PATH, in a temporary directory; the
image is only recorded). Pods go Pending → Running → Succeeded/Failed with containerStatuses; the Job gets
active/succeeded/failed and a Complete or Failed condition (BackoffLimitExceeded; DeadlineExceeded when
``activeDeadlineSeconds`` passes, which kills its pods); ``ttlSecondsAfterFinished`` deletes it. An image whose name
contains "doesnotexist" keeps its pod Pending (ErrImagePull); a node selector value "nowhere" makes it
Unschedulable. A container killed by SIGKILL that has a memory limit ends "OOMKilled".
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "colonies-test-token"
#: What ``fieldValidation=Strict`` accepts in a pod volume besides its name (the rest of a Job is not checked).
VOLUME_SOURCES = {"persistentVolumeClaim", "emptyDir", "hostPath", "configMap", "secret", "nfs", "projected", "csi",
                  "ephemeral", "downwardAPI"}  # fmt: skip


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}  # fmt: skip


def later(seconds: float, fn: Any, *args: Any) -> None:
    """Call ``fn(*args)`` in ``seconds`` from a daemon thread (a pending deadline never holds up the exit)."""
    timer = threading.Timer(seconds, fn, args=args)
    timer.daemon = True
    timer.start()


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.body = status(code, reason, message)


class Container:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec, self.name = spec, spec["name"]
        self.out = bytearray()
        self.proc: subprocess.Popen[bytes] | None = None
        self.state: dict[str, Any] = {"waiting": {"reason": "ContainerCreating"}}
        self.ended = False

    def json(self) -> dict[str, Any]:
        running = "running" in self.state
        return {"name": self.name, "image": self.spec.get("image", ""), "imageID": "", "ready": running,
                "restartCount": 0, "started": running, "state": self.state}  # fmt: skip


class Pod:
    def __init__(self, job: dict[str, Any], index: int) -> None:
        meta, template = job["metadata"], job["spec"]["template"]
        self.job, self.namespace = meta["name"], meta["namespace"]
        self.name = f"{self.job}-{index}-{uuid.uuid4().hex[:5]}"
        self.index, self.uid = index, str(uuid.uuid4())
        self.spec = {**copy.deepcopy(template["spec"]), "nodeName": "fake-node"}
        self.labels = {**(template.get("metadata") or {}).get("labels", {}), "job-name": self.job,
                       "controller-uid": meta["uid"], "batch.kubernetes.io/job-name": self.job,
                       "batch.kubernetes.io/controller-uid": meta["uid"],
                       "batch.kubernetes.io/job-completion-index": str(index)}  # fmt: skip
        self.containers = [Container(c) for c in self.spec["containers"]]
        self.phase, self.conditions, self.deleted = "Pending", [], False
        self.created = now()
        self.tmpdir = tempfile.mkdtemp(prefix="fake-pod-")

    def json(self) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": self.name, "namespace": self.namespace, "uid": self.uid, "labels": self.labels,
                             "annotations": {"batch.kubernetes.io/job-completion-index": str(self.index)},
                             "creationTimestamp": self.created, "ownerReferences": [
                                 {"apiVersion": "batch/v1", "kind": "Job", "name": self.job,
                                  "uid": self.labels["controller-uid"], "controller": True}]},
                "spec": self.spec,
                "status": {"phase": self.phase, "conditions": self.conditions, "startTime": self.created,
                           "containerStatuses": [c.json() for c in self.containers]}}  # fmt: skip

    def kill(self) -> None:
        for container in self.containers:
            if container.proc is not None and container.proc.poll() is None:
                try:
                    os.killpg(container.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


class FakeKube:
    """The server. ``created`` holds every Job body received (not dry runs), ``deletions`` (name, policy)."""

    def __init__(self) -> None:
        self.jobs: dict[tuple[str, str], dict[str, Any]] = {}
        self.pods: dict[tuple[str, str], Pod] = {}
        self.quotas: dict[str, list[dict[str, Any]]] = {}
        self.created: list[dict[str, Any]] = []
        self.dry_runs: list[dict[str, Any]] = []
        self.deletions: list[tuple[str, str]] = []
        #: (method, path) of every request, in order.
        self.requests: list[tuple[str, str]] = []
        self.forbidden = False
        #: Seconds every log request waits before it answers (a busy API server).
        self.log_delay = 0.0
        self.changed = threading.Condition()
        self.closing = False
        fake = self

        class Handler(_Handler):
            kube = fake

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, name="fake-kube", daemon=True).start()

    def stop(self) -> None:
        with self.changed:
            self.closing = True
            pods = list(self.pods.values())
            self.changed.notify_all()
        for pod in pods:
            pod.kill()
            shutil.rmtree(pod.tmpdir, ignore_errors=True)
        self.httpd.shutdown()
        self.httpd.server_close()

    def write_kubeconfig(self, path: str, namespace: str = "default") -> str:
        """A kubeconfig (JSON is YAML) pointing at this server with its bearer token."""
        config = {"apiVersion": "v1", "kind": "Config", "current-context": "fake",
                  "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
                  "users": [{"name": "fake", "user": {"token": TOKEN}}],
                  "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake",
                                                            "namespace": namespace}}]}  # fmt: skip
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(config, handle)
        return path

    def add_quota(self, namespace: str, name: str, hard: dict[str, str], used: dict[str, str]) -> dict[str, Any]:
        """Create or replace (by name, as ``kubectl apply`` does) a ResourceQuota; returns it for tests to edit."""
        quota = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": name, "namespace": namespace},
                 "spec": {"hard": hard}, "status": {"hard": dict(hard), "used": dict(used)}}  # fmt: skip
        kept = [q for q in self.quotas.get(namespace, []) if q["metadata"]["name"] != name]
        self.quotas[namespace] = [*kept, quota]
        return quota

    def created_for(self, processid: str) -> list[dict[str, Any]]:
        """The Job bodies received for a process."""
        return [body for body in self.created
                if body["metadata"].get("labels", {}).get("colonies.processid") == processid[:63]]  # fmt: skip

    def pods_of(self, job: str) -> list[Pod]:
        with self.changed:
            return [pod for pod in self.pods.values() if pod.job == job]

    # -- jobs ----------------------------------------------------------------------------------------------------

    def create_job(self, namespace: str, body: dict[str, Any], dry_run: bool) -> dict[str, Any]:
        meta, spec = body.get("metadata") or {}, body.get("spec") or {}
        pod_spec = (spec.get("template") or {}).get("spec") or {}
        if not meta.get("name") or not pod_spec.get("containers"):
            raise ApiError(422, "Invalid", "Job is invalid: metadata.name and spec.template.spec.containers are "
                                           "required")  # fmt: skip
        if pod_spec.get("restartPolicy") not in ("Never", "OnFailure"):
            raise ApiError(422, "Invalid", 'Job is invalid: spec.template.spec.restartPolicy: Required value: '
                                           'valid values: "OnFailure", "Never"')  # fmt: skip
        job = copy.deepcopy(body)
        job["metadata"].update(namespace=namespace, uid=str(uuid.uuid4()), creationTimestamp=now(),
                               resourceVersion="1")  # fmt: skip
        job["spec"].setdefault("completions", 1)
        job["spec"].setdefault("parallelism", job["spec"]["completions"])
        job["spec"].setdefault("backoffLimit", 6)
        job["spec"]["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": job["metadata"]["uid"]}}
        job["status"] = {"startTime": now(), "active": 0, "succeeded": 0, "failed": 0}
        if dry_run:
            self.dry_runs.append(copy.deepcopy(body))
            return job
        with self.changed:
            if (namespace, meta["name"]) in self.jobs:
                raise ApiError(409, "AlreadyExists", f'jobs.batch "{meta["name"]}" already exists')
            self.created.append(copy.deepcopy(body))
            self.jobs[(namespace, meta["name"])] = job
            pods = [Pod(job, index) for index in range(job["spec"]["parallelism"])]
            for pod in pods:
                self.pods[(namespace, pod.name)] = pod
            self._sync(job)
        for pod in pods:
            later(0.05, self._run_pod, pod)
        deadline = job["spec"].get("activeDeadlineSeconds")
        if deadline:
            later(deadline, self._deadline, job)
        return job

    def delete_job(self, namespace: str, name: str, policy: str) -> None:
        with self.changed:
            job = self.jobs.pop((namespace, name), None)
            if job is None:
                raise ApiError(404, "NotFound", f'jobs.batch "{name}" not found')
            self.deletions.append((name, policy))
            if policy in ("Background", "Foreground"):
                for pod in [p for p in self.pods.values() if p.job == name and p.namespace == namespace]:
                    self._delete_pod(pod)
            self.changed.notify_all()

    def _delete_pod(self, pod: Pod) -> None:  # with self.changed held
        pod.deleted = True
        self.pods.pop((pod.namespace, pod.name), None)
        pod.kill()
        shutil.rmtree(pod.tmpdir, ignore_errors=True)

    def _finish(self, job: dict[str, Any], kind: str, reason: str, message: str) -> None:  # lock held
        job["status"]["conditions"] = [{"type": kind, "status": "True", "reason": reason, "message": message,
                                        "lastProbeTime": now(), "lastTransitionTime": now()}]  # fmt: skip
        if kind == "Complete":
            job["status"]["completionTime"] = now()
        ttl = job["spec"].get("ttlSecondsAfterFinished")
        if ttl is not None:
            meta = job["metadata"]
            later(ttl, self._expire, meta["namespace"], meta["name"], meta["uid"])

    def _expire(self, namespace: str, name: str, uid: str) -> None:
        job = self.jobs.get((namespace, name))
        if job is not None and job["metadata"]["uid"] == uid:
            try:
                self.delete_job(namespace, name, "Background")
            except ApiError:
                pass

    def _sync(self, job: dict[str, Any]) -> None:
        """The Job controller: counts and conditions from the pods (lock held)."""
        st, spec, name = job["status"], job["spec"], job["metadata"]["name"]
        if st.get("conditions"):
            return
        pods = [p for p in self.pods.values() if p.job == name and p.namespace == job["metadata"]["namespace"]]
        st["active"] = sum(p.phase in ("Pending", "Running") for p in pods)
        st["succeeded"] = sum(p.phase == "Succeeded" for p in pods)
        st["failed"] = sum(p.phase == "Failed" for p in pods) + st.get("_gone", 0)
        if st["succeeded"] >= spec["completions"]:
            self._finish(job, "Complete", "CompletionsReached", "Reached expected number of succeeded pods")
        elif st["failed"] > spec["backoffLimit"]:
            for pod in pods:
                if pod.phase in ("Pending", "Running"):
                    self._delete_pod(pod)
            st["active"] = 0
            self._finish(job, "Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
        self.changed.notify_all()

    def _deadline(self, job: dict[str, Any]) -> None:
        with self.changed:
            meta = job["metadata"]
            if job["status"].get("conditions") or (meta["namespace"], meta["name"]) not in self.jobs:
                return
            for pod in [p for p in self.pods.values() if p.job == job["metadata"]["name"]]:
                if pod.phase in ("Pending", "Running"):
                    self._delete_pod(pod)
                    job["status"]["_gone"] = job["status"].get("_gone", 0) + 1
            job["status"]["active"] = 0
            job["status"]["failed"] += job["status"].get("_gone", 0)
            self._finish(job, "Failed", "DeadlineExceeded", "Job was active longer than specified deadline")
            self.changed.notify_all()

    # -- pods ----------------------------------------------------------------------------------------------------

    def _run_pod(self, pod: Pod) -> None:
        with self.changed:
            if pod.deleted:
                return
            if "nowhere" in (pod.spec.get("nodeSelector") or {}).values():
                pod.conditions = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                   "message": "0/1 nodes are available: 1 node(s) didn't match Pod's node "
                                              "affinity/selector."}]  # fmt: skip
                return
            pod.conditions = [{"type": "PodScheduled", "status": "True"}]
            bad = [c for c in pod.containers if "doesnotexist" in c.spec.get("image", "")]
            for container in bad:
                container.state = {"waiting": {"reason": "ErrImagePull", "message": f'failed to pull image '
                                               f'"{container.spec["image"]}": not found'}}  # fmt: skip
            if bad:
                return
            for container in pod.containers:
                env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": pod.tmpdir, "HOSTNAME": pod.name,
                       "JOB_COMPLETION_INDEX": str(pod.index)}  # fmt: skip
                env.update({e["name"]: e.get("value", "") for e in container.spec.get("env", [])})
                argv = [*container.spec.get("command", []), *container.spec.get("args", [])]
                container.proc = subprocess.Popen(argv, env=env, cwd=pod.tmpdir, stdin=subprocess.DEVNULL,
                                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                                  start_new_session=True)  # fmt: skip
                container.state = {"running": {"startedAt": now()}}
                threading.Thread(target=self._read, args=(pod, container), daemon=True).start()
            pod.phase = "Running"
            self._sync_job_of(pod)

    def _read(self, pod: Pod, container: Container) -> None:
        assert container.proc is not None and container.proc.stdout is not None
        while chunk := container.proc.stdout.read1(65536):
            with self.changed:
                container.out += chunk
                self.changed.notify_all()
        code = container.proc.wait()
        code = 128 - code if code < 0 else code
        limits = (container.spec.get("resources") or {}).get("limits") or {}
        reason = "Completed" if code == 0 else "OOMKilled" if code == 137 and "memory" in limits else "Error"
        with self.changed:
            container.state = {"terminated": {"exitCode": code, "reason": reason, "startedAt": pod.created,
                                              "finishedAt": now()}}  # fmt: skip
            container.ended = True
            if all(c.ended for c in pod.containers) and not pod.deleted:
                codes = [c.state["terminated"]["exitCode"] for c in pod.containers]
                pod.phase = "Succeeded" if not any(codes) else "Failed"
                self._sync_job_of(pod)
            self.changed.notify_all()

    def _sync_job_of(self, pod: Pod) -> None:  # lock held
        job = self.jobs.get((pod.namespace, pod.job))
        if job is not None:
            self._sync(job)

    def log_stream(self, namespace: str, name: str, query: dict[str, str]) -> tuple[Pod, Container, int]:
        pod = self.pods.get((namespace, name))
        if pod is None:
            raise ApiError(404, "NotFound", f'pods "{name}" not found')
        names = [c.name for c in pod.containers]
        wanted = query.get("container") or (names[0] if len(names) == 1 else "")
        if not wanted:
            raise ApiError(400, "BadRequest", f"a container name must be specified for pod {name}, choose one "
                                              f"of: {names}")  # fmt: skip
        if wanted not in names:
            raise ApiError(400, "BadRequest", f"container {wanted} is not valid for pod {name}")
        container = pod.containers[names.index(wanted)]
        waiting = container.state.get("waiting")
        if waiting:
            raise ApiError(400, "BadRequest", f'container "{wanted}" in pod "{name}" is waiting to start: '
                                              f'{waiting["reason"]}')  # fmt: skip
        start = 0
        if query.get("tailLines") is not None:
            tail = int(query["tailLines"])
            kept = bytes(container.out).splitlines(keepends=True)[-tail:] if tail > 0 else []
            start = len(container.out) - sum(map(len, kept))
        return pod, container, start


class _Server(ThreadingHTTPServer):
    #: A real API server's listen backlog, not socketserver's 5: a burst of log followers and pollers from a busy
    #: test process can overflow that, and a dropped SYN is sent again only a second or more later.
    request_queue_size = 128


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    kube: FakeKube
    ROUTES = (
        ("GET", r"/version/?", "version"),
        ("GET", r"/apis/batch/v1/namespaces/([^/]+)/jobs", "list_jobs"),
        ("POST", r"/apis/batch/v1/namespaces/([^/]+)/jobs", "create_job"),
        ("GET", r"/apis/batch/v1/namespaces/([^/]+)/jobs/([^/]+)", "get_job"),
        ("DELETE", r"/apis/batch/v1/namespaces/([^/]+)/jobs/([^/]+)", "delete_job"),
        ("GET", r"/api/v1/namespaces/([^/]+)/pods", "list_pods"),
        ("GET", r"/api/v1/namespaces/([^/]+)/pods/([^/]+)", "get_pod"),
        ("GET", r"/api/v1/namespaces/([^/]+)/pods/([^/]+)/log", "pod_log"),
        ("GET", r"/api/v1/namespaces/([^/]+)/resourcequotas", "list_quotas"),
        ("GET", r"/api/v1/namespaces/([^/]+)/resourcequotas/([^/]+)", "get_quota"),
    )

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self.route("GET")

    def do_POST(self) -> None:
        self.route("POST")

    def do_DELETE(self) -> None:
        self.route("DELETE")

    def route(self, method: str) -> None:
        url = urlsplit(self.path)
        self.query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        self.body = json.loads(self.rfile.read(length)) if length else {}
        self.kube.requests.append((method, url.path))
        try:
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                raise ApiError(401, "Unauthorized", "Unauthorized")
            if self.kube.forbidden and not url.path.startswith("/version"):  # /version is public, as in RBAC
                raise ApiError(403, "Forbidden", 'jobs.batch is forbidden: User "system:serviceaccount:x:y" cannot '
                                                 'list resource "jobs" in API group "batch"')  # fmt: skip
            for verb, pattern, name in self.ROUTES:
                match = re.fullmatch(pattern, url.path)
                if verb == method and match:
                    getattr(self, name)(*match.groups())
                    return
            raise ApiError(404, "NotFound", f"the server could not find the requested resource ({url.path})")
        except ApiError as exc:
            self.send_json(exc.body, exc.body["code"])

    def send_json(self, obj: Any, code: int = 200) -> None:
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def selected(self, labels: dict[str, str]) -> bool:
        terms = [t.split("=", 1) for t in self.query.get("labelSelector", "").split(",") if t]
        return all(labels.get(key) == value for key, value in terms)

    def version(self) -> None:
        self.send_json({"major": "1", "minor": "31", "gitVersion": "v1.31.0-fake", "gitCommit": "0",
                        "gitTreeState": "clean", "buildDate": "2024-08-13T07:28:49Z", "goVersion": "go1.22.5",
                        "compiler": "gc", "platform": "linux/amd64"})  # fmt: skip

    def list_jobs(self, ns: str) -> None:
        with self.kube.changed:
            items = [copy.deepcopy(j) for (n, _), j in self.kube.jobs.items()
                     if n == ns and self.selected(j["metadata"].get("labels", {}))]  # fmt: skip
        self.send_json({"apiVersion": "batch/v1", "kind": "JobList", "metadata": {"resourceVersion": "1"},
                        "items": [_public(j) for j in items][: int(self.query.get("limit") or 10**6)]})  # fmt: skip

    def create_job(self, ns: str) -> None:
        if self.query.get("fieldValidation") == "Strict":
            for i, volume in enumerate(self.body["spec"]["template"]["spec"].get("volumes", [])):
                for key in set(volume) - {"name", *VOLUME_SOURCES}:
                    raise ApiError(422, "Invalid", f'Job in version "v1" cannot be handled as a Job: strict decoding '
                                                   f'error: unknown field "spec.template.spec.volumes[{i}].{key}"')
        job = self.kube.create_job(ns, self.body, self.query.get("dryRun") == "All")
        with self.kube.changed:
            self.send_json(_public(copy.deepcopy(job)), 201)

    def get_job(self, ns: str, name: str) -> None:
        with self.kube.changed:
            job = copy.deepcopy(self.kube.jobs.get((ns, name)))
        if job is None:
            raise ApiError(404, "NotFound", f'jobs.batch "{name}" not found')
        self.send_json(_public(job))

    def delete_job(self, ns: str, name: str) -> None:
        policy = self.query.get("propagationPolicy") or self.body.get("propagationPolicy") or "Orphan"
        self.kube.delete_job(ns, name, policy)
        self.send_json({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                        "details": {"name": name, "group": "batch", "kind": "jobs"}})  # fmt: skip

    def list_pods(self, ns: str) -> None:
        with self.kube.changed:
            items = [p.json() for (n, _), p in self.kube.pods.items() if n == ns and self.selected(p.labels)]
        self.send_json({"apiVersion": "v1", "kind": "PodList", "metadata": {"resourceVersion": "1"}, "items": items})

    def get_pod(self, ns: str, name: str) -> None:
        with self.kube.changed:
            pod = self.kube.pods.get((ns, name))
            obj = pod.json() if pod else None
        if obj is None:
            raise ApiError(404, "NotFound", f'pods "{name}" not found')
        self.send_json(obj)

    def pod_log(self, ns: str, name: str) -> None:
        kube = self.kube
        if kube.log_delay:
            time.sleep(kube.log_delay)
        follow = self.query.get("follow", "").lower() in ("1", "t", "true")  # Go's ParseBool: "True" too
        with kube.changed:
            pod, container, pos = kube.log_stream(ns, name, self.query)
            if not follow:
                data = bytes(container.out[pos:])
        if not follow:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            while True:
                with kube.changed:
                    while len(container.out) == pos and not (container.ended or pod.deleted or kube.closing):
                        kube.changed.wait(0.5)
                    data = bytes(container.out[pos:])
                    pos += len(data)
                    over = container.ended or pod.deleted or kube.closing
                if data:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                if over:
                    self.wfile.write(b"0\r\n\r\n")
                    return
        except OSError:  # the client went away
            self.close_connection = True

    def list_quotas(self, ns: str) -> None:
        self.send_json({"apiVersion": "v1", "kind": "ResourceQuotaList", "metadata": {"resourceVersion": "1"},
                        "items": self.kube.quotas.get(ns, [])})  # fmt: skip

    def get_quota(self, ns: str, name: str) -> None:
        for quota in self.kube.quotas.get(ns, []):
            if quota["metadata"]["name"] == name:
                self.send_json(quota)
                return
        raise ApiError(404, "NotFound", f'resourcequotas "{name}" not found')


def _public(job: dict[str, Any]) -> dict[str, Any]:
    """A stored Job without the fake's private bookkeeping."""
    job["status"] = {k: v for k, v in job["status"].items() if not k.startswith("_")}
    return job

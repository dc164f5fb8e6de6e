"""The Kubernetes backend of the container executor: each process (function ``execute``) becomes one batch/v1 Job,
created, followed and deleted through the official ``kubernetes`` client.

    colonies-kube-executor --type kube-executor --namespace colonies-jobs --concurrency 10

How a process maps onto the Job (user journeys §1.6; docs/kube-executor.md has the full tables):

* ``parallelism`` = ``completions`` = ``conditions.nodes`` (``completionMode: Indexed``, so each pod has its
  ``JOB_COMPLETION_INDEX``); ``conditions.processespernode`` containers per pod, ``task-0``, ``task-1``..., each
  running ``/bin/sh -c <script>`` with the job's environment plus ``COLONIES_TASK_INDEX``;
* ``cpu`` and ``mem`` become each container's requests and limits, ``gpu.count`` its ``nvidia.com/gpu`` limit,
  ``gpu.name`` the node selector ``accelerator=<name>``, ``walltime`` the Job's ``activeDeadlineSeconds``;
* ``backoffLimit`` 0 and ``restartPolicy: Never``: retries are the Colonies server's (``maxretries``).

The output of every container of every pod goes to the process log as it comes (prefixed ``[<pod>/task-N]`` when
the Job has more than one container). The exit code is the first failed container's; the reason Kubernetes gives
(DeadlineExceeded, OOMKilled, an image that cannot be pulled, an unschedulable pod) is named in the error.

The executor does not own the Jobs' lifetime beyond that: a stopped executor detaches and leaves them running, and
one restarted with the same identity finds them again from the process attributes ``KUBE-JOB`` and
``KUBE-NAMESPACE`` (:meth:`KubeBackend.reattach`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import queue
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from typing import Any

from ..exceptions import ColoniesError
from ..models import parse_cpu, parse_memory
from .container import Capacity, build
from .container_backends import SHELL, Backend, BackendUnavailable, Job, Run, StartFailed, check_image

log = logging.getLogger("colonies.executor.kube")

#: Where a pod finds its own namespace (the in-cluster default).
NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
PROCESS_LABEL = "colonies.processid"
MANAGED_BY = ("app.kubernetes.io/managed-by", "colonies")
GPU_RESOURCE = "nvidia.com/gpu"
#: Seconds for one ordinary API request (connect, read).
REQUEST_TIMEOUT = (10, 30)
#: Container waiting reasons that do not go away by waiting: an image that cannot be pulled...
PULL_FAILURES = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull",
                           "RegistryUnavailable"})  # fmt: skip
#: ... or a container that cannot be created (a missing Secret or ConfigMap, a bad volume).
CREATE_FAILURES = frozenset({"CreateContainerConfigError", "CreateContainerError"})
MIB, GIB = 1024**2, 1024**3
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")
_LABEL_KEY = re.compile(r"([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?\Z")


class ConfigError(ValueError):
    """A configuration value is wrong; the command line reports it in one line and exits with code 2."""


def default_namespace() -> str:
    """``EXECUTOR_K8S_NAMESPACE``, else the namespace of the pod we run in, else "default"."""
    name = os.environ.get("EXECUTOR_K8S_NAMESPACE", "").strip()
    if not name:
        try:
            with open(NAMESPACE_FILE, encoding="utf-8") as handle:
                name = handle.read().strip()
        except OSError:
            name = ""
    return name or "default"


# --- configuration ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KubeConfig:
    """Where and how Jobs are created. Values from a ``--config`` file use these names or their camelCase form
    (``nodeSelector``, ``imagePullSecrets``, ``volumeMounts``, ``serviceAccountName``...)."""

    namespace: str = field(default_factory=default_namespace)
    #: The pods' service account ("" = the namespace's default; its token is then not mounted).
    service_account: str = ""
    #: Node selector of every pod (``accelerator`` is added from ``conditions.gpu.name``).
    node_selector: dict[str, str] = field(default_factory=dict)
    #: Names of Secrets used to pull images.
    image_pull_secrets: list[str] = field(default_factory=list)
    #: Pod volumes and the containers' mounts of them, in Kubernetes JSON form (``persistentVolumeClaim``...).
    volumes: list[dict[str, Any]] = field(default_factory=list)
    volume_mounts: list[dict[str, Any]] = field(default_factory=list)
    #: The volume (one of ``volumes``, usually a ReadWriteMany PersistentVolumeClaim) that holds the executor's fs
    #: directory: the executor's own pod mounts it at ``--fs-dir`` and each Job's containers at the spec's
    #: ``fs.mount``. "" = processes that ask for ``fs.mount`` are refused (their pods could not see the files).
    fs_volume: str = ""
    #: How long a finished Job is kept: 0 = deleted once the executor is done with it, N > 0 =
    #: ``ttlSecondsAfterFinished`` N (Kubernetes deletes it), -1 = kept.
    retention: int = 0
    #: A kubeconfig file and context; "" = in-cluster configuration, else ``KUBECONFIG``, else ~/.kube/config.
    kubeconfig: str = ""
    context: str = ""
    #: Seconds a pod may stay Pending with an image that cannot be pulled, a container that cannot be created or
    #: no node to run on, before the process fails with that reason.
    pending_timeout: float = 300.0
    #: Seconds between two looks at a Job's status and pods.
    poll_interval: float = 1.0

    def __post_init__(self) -> None:
        if not _DNS_LABEL.match(self.namespace) or len(self.namespace) > 63:
            raise ConfigError(f"namespace {self.namespace!r} is not a valid Kubernetes namespace name")
        if self.service_account and not re.match(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?\Z", self.service_account):
            raise ConfigError(f"service account {self.service_account!r} is not a valid name")
        if not isinstance(self.node_selector, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in self.node_selector.items()):  # fmt: skip
            raise ConfigError("node_selector must map label names to string values")
        for key in self.node_selector:
            if not _LABEL_KEY.match(key):
                raise ConfigError(f"node selector key {key!r} is not a valid label name")
        if not isinstance(self.image_pull_secrets, list) or not all(
                isinstance(s, str) and s for s in self.image_pull_secrets):  # fmt: skip
            raise ConfigError("image_pull_secrets must be a list of Secret names")
        for what, items, required in (("volumes", self.volumes, ("name",)),
                                      ("volume_mounts", self.volume_mounts, ("name", "mountPath"))):  # fmt: skip
            if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
                raise ConfigError(f"{what} must be a list of objects in Kubernetes JSON form")
            for item in items:
                missing = [key for key in required if not isinstance(item.get(key), str) or not item[key]]
                if missing:
                    raise ConfigError(f"{what}: {json.dumps(item)[:120]} has no {', '.join(missing)}")
        names = {volume["name"] for volume in self.volumes}
        for mount in self.volume_mounts:
            if mount["name"] not in names:
                raise ConfigError(f"volume_mounts: no volume named {mount['name']!r} in volumes")
        if self.fs_volume and self.fs_volume not in names:
            raise ConfigError(f"fs_volume: no volume named {self.fs_volume!r} in volumes")
        if isinstance(self.retention, bool) or not isinstance(self.retention, int) or self.retention < -1:
            raise ConfigError(f"retention must be -1 (keep), 0 (delete) or a number of seconds, "
                              f"not {self.retention!r}")
        for name in ("pending_timeout", "poll_interval"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ConfigError(f"{name} must be a positive number of seconds, not {value!r}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], **overrides: Any) -> KubeConfig:
        """A configuration from a parsed config file; ``overrides`` (non-None values) win."""
        known = {f.name for f in fields(cls)}
        aliases = {_camel(name): name for name in known} | {"serviceAccountName": "service_account"}
        values: dict[str, Any] = {}
        for key, value in data.items():
            name = key if key in known else aliases.get(key)
            if name is None:
                raise ConfigError(f"unknown configuration key {key!r} (known: {', '.join(sorted(known))})")
            values[name] = value
        secrets = values.get("image_pull_secrets")
        if isinstance(secrets, list):  # Kubernetes' own form, [{"name": ...}], is accepted too
            values["image_pull_secrets"] = [s.get("name") if isinstance(s, dict) else s for s in secrets]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @classmethod
    def from_file(cls, path: str, **overrides: Any) -> KubeConfig:
        """A JSON or YAML file of KubeConfig fields."""
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
        try:
            data = json.loads(text)
        except ValueError as exc:
            if path.endswith(".json"):
                raise ConfigError(f"config file {path} is not valid JSON: {_flat(exc)}") from None
            try:
                import yaml  # the kubernetes package depends on PyYAML
            except ImportError:
                raise ConfigError(f"config file {path}: reading YAML needs PyYAML (pip install pyyaml)") from None
            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError as exc:
                raise ConfigError(f"config file {path} is not valid YAML: {_flat(exc)}") from None
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ConfigError(f"config file {path} must hold an object of settings")
        return cls.from_mapping(data, **overrides)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


# --- the backend ----------------------------------------------------------------------------------------------------


def _flat(text: Any) -> str:
    return " ".join(str(text).split())


def api_problem(exc: Exception) -> str:
    """One line about a failed API call: "403 Forbidden: <the server's message>" or the connection error."""
    status = getattr(exc, "status", None)
    if status:
        message = ""
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            message = json.loads(exc.body).get("message", "")  # type: ignore[attr-defined]
        return _flat(f"{status} {getattr(exc, 'reason', '') or ''}: {message or getattr(exc, 'body', '') or ''}")
    reason = getattr(exc, "reason", None)  # urllib3's MaxRetryError names the underlying error
    return _flat(reason if reason is not None else exc)[:300]


def _is_not_found(exc: Exception) -> bool:
    return getattr(exc, "status", None) == 404


class KubeBackend(Backend):
    """Runs each job as a Kubernetes batch/v1 Job. ``api_client`` is a ready ``kubernetes.client.ApiClient``
    (else one is made from ``config``'s kubeconfig / in-cluster settings at :meth:`check`)."""

    name = "kubernetes"
    needs_image = True
    enforces_limits = True
    detachable = True
    #: Kubernetes ends a Job at its walltime (activeDeadlineSeconds) and says so (DeadlineExceeded); the
    #: executor's own kill is only a safety net this much later.
    walltime_slack = 15.0
    #: Each container's log is read from the API server after it ended; a busy control plane answers slowly.
    output_wait = 30.0

    def fs_path(self, fs_dir: str, mount: str) -> str | None:
        """The fs volume at ``mount`` in the Job's pods; without one the pods cannot see the files."""
        return mount if self.config.fs_volume else None

    def __init__(self, config: KubeConfig | None = None, api_client: Any = None) -> None:
        self.config = config or KubeConfig()
        self.api_client = api_client
        self.server = ""
        #: The client's BatchV1Api, CoreV1Api and VersionApi over ``api_client`` (made by :meth:`connect`).
        self.batch: Any = None
        self.core: Any = None
        self.version: Any = None
        self._checked = False

    # -- connecting --------------------------------------------------------------------------------------------------

    def connect(self) -> None:
        """Make the API client (once): explicit kubeconfig, in-cluster, ``KUBECONFIG``, ~/.kube/config."""
        try:
            from kubernetes import client, config
        except ImportError:
            raise BackendUnavailable("kubernetes backend: the 'kubernetes' Python package is missing "
                                     "(pip install 'colonies[kube]')") from None  # fmt: skip
        if self.api_client is None:
            configuration = client.Configuration()
            context = self.config.context or None
            try:
                if self.config.kubeconfig:
                    if not os.path.exists(os.path.expanduser(self.config.kubeconfig)):
                        raise BackendUnavailable(f"kubernetes backend: kubeconfig {self.config.kubeconfig} "
                                                 "does not exist")  # fmt: skip
                    config.load_kube_config(config_file=os.path.expanduser(self.config.kubeconfig),
                                            context=context, client_configuration=configuration,
                                            persist_config=False)  # fmt: skip
                elif os.environ.get("KUBERNETES_SERVICE_HOST") and not context:
                    config.load_incluster_config(client_configuration=configuration)
                else:
                    path = os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
                    config.load_kube_config(config_file=path, context=context, client_configuration=configuration,
                                            persist_config=False)  # fmt: skip
            except BackendUnavailable:
                raise
            except Exception as exc:  # noqa: BLE001 - ConfigException, a broken YAML file, a missing token file
                raise BackendUnavailable(f"kubernetes backend: no usable cluster configuration ({_flat(exc)}); "
                                         "give --kubeconfig, set KUBECONFIG, or run in a pod with a service "
                                         "account") from None  # fmt: skip
            # One connection per followed container log, plus the pollers: more than urllib3's default of 10.
            configuration.connection_pool_maxsize = 64
            self.api_client = client.ApiClient(configuration)
        self.server = getattr(self.api_client.configuration, "host", "") or "?"
        self.batch = client.BatchV1Api(self.api_client)
        self.core = client.CoreV1Api(self.api_client)
        self.version = client.VersionApi(self.api_client)

    def check(self) -> None:
        """The package is installed, the API server answers, we may list and create Jobs in the namespace, and
        the configured volumes, pull secrets and service account make a valid Job (a server-side dry run)."""
        self.connect()
        if self._checked:
            return
        ns = self.config.namespace
        step = "answer"
        try:
            self.version.get_code(_request_timeout=REQUEST_TIMEOUT)
            step = f"list Jobs in namespace {ns}"
            self.batch.list_namespaced_job(ns, limit=1, _request_timeout=REQUEST_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - ApiException, urllib3 errors, the client's own validation
            status = getattr(exc, "status", None)
            if status in (401, 403):
                hint = ("check the kubeconfig's credentials" if status == 401 else "bind the executor's account to "
                        "the Role in deploy/kubernetes/colonies-kube-executor.yaml")  # fmt: skip
                raise BackendUnavailable(f"kubernetes backend: the API server at {self.server} refused to {step} "
                                         f"({api_problem(exc)}); {hint}") from None  # fmt: skip
            if status is None and step == "answer":
                raise BackendUnavailable(f"kubernetes backend: cannot reach the API server at {self.server} "
                                         f"({api_problem(exc)})") from None  # fmt: skip
            raise BackendUnavailable(f"kubernetes backend: the API server at {self.server} did not {step} "
                                     f"({api_problem(exc)})") from None  # fmt: skip
        self._dry_run()
        self._checked = True

    def _dry_run(self) -> None:
        """Have the API server validate a Job with the configured volumes, mounts, pull secrets and service account
        (nothing is created), so a mistake there stops the executor at start-up rather than failing every process.
        A refusal for another reason (an admission policy about the sample itself) is only logged."""
        ns = self.config.namespace
        sample = Job(processid="0" * 64, image="busybox:latest", script="true", env={})
        try:
            self.batch.create_namespaced_job(ns, self.manifest(sample, "colonies-check-" + uuid.uuid4().hex[:8]),
                                             dry_run="All", field_validation="Strict",
                                             _request_timeout=REQUEST_TIMEOUT)  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - ApiException, the client's own validation, connection errors
            if getattr(exc, "status", None) in (None, 401, 403, 422):
                raise BackendUnavailable(f"kubernetes backend: the API server at {self.server} did not accept a Job "
                                         f"in namespace {ns} (dry run: {api_problem(exc)}); check the volumes, "
                                         "volume mounts, pull secrets and service account configured") from None
            log.warning("kubernetes backend: a dry-run Job in namespace %s was refused (%s); starting anyway", ns,
                        api_problem(exc))  # fmt: skip

    # -- capacity and admission --------------------------------------------------------------------------------------

    def _quotas(self) -> list[tuple[dict[str, str], dict[str, str]]]:
        """(hard, used) of each ResourceQuota of the namespace."""
        if self.core is None:
            self.connect()
        items = self.core.list_namespaced_resource_quota(self.config.namespace,
                                                         _request_timeout=REQUEST_TIMEOUT).items  # fmt: skip
        quotas = []
        for quota in items or []:
            status = quota.status
            hard = dict((status and status.hard) or (quota.spec and quota.spec.hard) or {})
            quotas.append((hard, dict((status and status.used) or {})))
        return quotas

    @staticmethod
    def _smallest(quotas: list[tuple[dict[str, str], dict[str, str]]], keys: tuple[str, ...],
                  free: bool) -> Decimal | None:  # fmt: skip
        """The tightest bound over all quotas and the given resource names (hard, or hard minus used)."""
        from kubernetes.utils import parse_quantity

        found: Decimal | None = None
        for hard, used in quotas:
            for key in keys:
                if key in hard:
                    value = parse_quantity(hard[key])
                    if free:
                        value -= parse_quantity(used.get(key, "0"))
                    found = value if found is None else min(found, value)
        return found

    def quota_limits(self) -> tuple[int, int, int]:
        """(millicores, memory bytes, GPUs) the namespace's ResourceQuotas allow in all; 0 where none is set."""
        try:
            quotas = self._quotas()
        except Exception as exc:  # noqa: BLE001
            log.warning("cannot read the ResourceQuotas of namespace %s: %s", self.config.namespace, api_problem(exc))
            return 0, 0, 0
        cpu = self._smallest(quotas, ("requests.cpu", "cpu", "limits.cpu"), free=False)
        mem = self._smallest(quotas, ("requests.memory", "memory", "limits.memory"), free=False)
        gpus = self._smallest(quotas, (f"requests.{GPU_RESOURCE}",), free=False)
        return (int(cpu * 1000) if cpu is not None else 0, int(mem) if mem is not None else 0,
                int(gpus) if gpus is not None else 0)  # fmt: skip

    def resources(self) -> tuple[int, int]:
        """(cores, memory bytes) of the namespace's ResourceQuota hard limits; (0, 0) without a quota."""
        millicores, mem, _ = self.quota_limits()
        return millicores // 1000, mem

    def available(self) -> tuple[str, str] | None:
        """Free cpu and memory of the namespace (hard minus used of its ResourceQuotas), e.g. ("3500m", "7Gi"),
        for resource admission on assign; "" for a resource no quota limits; None when no quota limits either
        (or the quotas cannot be read: then admission is left to Kubernetes, which refuses what does not fit)."""
        try:
            quotas = self._quotas()
        except Exception as exc:  # noqa: BLE001
            log.warning("cannot read the ResourceQuotas of namespace %s: %s", self.config.namespace, api_problem(exc))
            return None
        cpu = self._smallest(quotas, ("requests.cpu", "cpu", "limits.cpu"), free=True)
        mem = self._smallest(quotas, ("requests.memory", "memory", "limits.memory"), free=True)
        if cpu is None and mem is None:
            return None
        cpu_text = f"{max(0, int(cpu * 1000))}m" if cpu is not None else ""
        return cpu_text, render_bytes(max(0, int(mem))) if mem is not None else ""

    # -- jobs --------------------------------------------------------------------------------------------------------

    def describe(self, job: Job) -> str:
        shape = f"{job.nodes} pod(s) x {job.processes_per_node} container(s)"
        return f"Kubernetes Job in namespace {self.config.namespace} ({job.image}, {shape})"

    def manifest(self, job: Job, name: str) -> dict[str, Any]:
        """The batch/v1 Job for ``job``, as the JSON the API server takes."""
        labels = {PROCESS_LABEL: job.processid[:63], MANAGED_BY[0]: MANAGED_BY[1]}
        resources: dict[str, dict[str, str]] = {}
        if job.cpus > 0:
            millicores = f"{max(1, round(job.cpus * 1000))}m"
            resources.setdefault("requests", {})["cpu"] = millicores
            resources.setdefault("limits", {})["cpu"] = millicores
        if job.mem_bytes > 0:
            resources.setdefault("requests", {})["memory"] = str(job.mem_bytes)
            resources.setdefault("limits", {})["memory"] = str(job.mem_bytes)
        if job.gpus > 0:
            resources.setdefault("limits", {})[GPU_RESOURCE] = str(job.gpus)
        containers = []
        for task in range(max(1, job.processes_per_node)):
            env = {**job.env, "COLONIES_PROCESS_ID": job.processid, "COLONIES_TASK_INDEX": str(task)}
            container: dict[str, Any] = {
                "name": f"task-{task}", "image": job.image, "command": [SHELL, "-c", job.script],
                "env": [{"name": key, "value": value} for key, value in env.items()],
                "securityContext": {"allowPrivilegeEscalation": False},
            }  # fmt: skip
            if job.workdir:
                container["workingDir"] = job.workdir
            if resources:
                container["resources"] = {kind: dict(values) for kind, values in resources.items()}
            if job.pull_always:
                container["imagePullPolicy"] = "Always"
            mounts = [dict(mount) for mount in self.config.volume_mounts]
            if self.config.fs_volume:
                mounts += [{"name": self.config.fs_volume, "mountPath": guest} for _, guest in job.mounts]
            if mounts:
                container["volumeMounts"] = mounts
            containers.append(container)
        pod: dict[str, Any] = {
            "restartPolicy": "Never", "containers": containers,
            # A fresh environment, as on the other backends: no service-link variables, and no API token unless
            # the operator chose a service account for the jobs.
            "enableServiceLinks": False, "automountServiceAccountToken": bool(self.config.service_account),
        }  # fmt: skip
        selector = dict(self.config.node_selector)
        if job.gpu_name:
            selector["accelerator"] = job.gpu_name
        if selector:
            pod["nodeSelector"] = selector
        if self.config.service_account:
            pod["serviceAccountName"] = self.config.service_account
        if self.config.image_pull_secrets:
            pod["imagePullSecrets"] = [{"name": secret} for secret in self.config.image_pull_secrets]
        if self.config.volumes:
            pod["volumes"] = [dict(volume) for volume in self.config.volumes]
        nodes = max(1, job.nodes)
        spec: dict[str, Any] = {
            "completions": nodes, "parallelism": nodes, "completionMode": "Indexed", "backoffLimit": 0,
            "template": {"metadata": {"labels": dict(labels)}, "spec": pod},
        }  # fmt: skip
        if job.walltime > 0:
            spec["activeDeadlineSeconds"] = int(job.walltime)
        if self.config.retention > 0:
            spec["ttlSecondsAfterFinished"] = self.config.retention
        return {
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "namespace": self.config.namespace, "labels": labels,
                         "annotations": {PROCESS_LABEL: job.processid}},
            "spec": spec,
        }  # fmt: skip

    def start(self, job: Job, note: Callable[[str], None]) -> Run:
        check_image(job.image)
        if self.batch is None:
            self.check()
        stem = re.sub(r"[^a-z0-9]", "x", job.processid[:16].lower()) or "job"
        name = f"colonies-{stem}-{uuid.uuid4().hex[:8]}"
        ns = self.config.namespace
        try:
            # Strict: an unknown field (a typo in a configured volume) is refused, not silently dropped.
            created = self.batch.create_namespaced_job(ns, self.manifest(job, name), field_validation="Strict",
                                                       _request_timeout=REQUEST_TIMEOUT)  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - ApiException (422 invalid, 403), connection errors, validation
            raise StartFailed(f"Kubernetes did not create Job {ns}/{name}: {api_problem(exc)}") from None
        note(f"created Kubernetes Job {ns}/{name}: {max(1, job.nodes)} pod(s) x {max(1, job.processes_per_node)} "
             f"container(s), image {job.image}")  # fmt: skip
        return KubeRun(self, name, ns, uid=(created.metadata.uid or "") if created.metadata else "",
                       nodes=max(1, job.nodes), containers=max(1, job.processes_per_node), walltime=job.walltime,
                       note=note)  # fmt: skip

    def reattach(self, job: Job, attributes: Mapping[str, str], note: Callable[[str], None]) -> Run | None:
        """Follow the Job an earlier executor started for ``job``: its status from now on, and the output its
        containers write from now on (what they wrote while no executor followed them is not copied; containers
        that start later are read from their beginning). None if the Job is gone or is not this process's."""
        name = attributes.get("KUBE-JOB", "")
        if not name:
            return None
        ns = attributes.get("KUBE-NAMESPACE") or self.config.namespace
        if self.batch is None:
            self.check()
        try:
            existing = self.batch.read_namespaced_job(name, ns, _request_timeout=REQUEST_TIMEOUT)
        except Exception as exc:  # noqa: BLE001
            if _is_not_found(exc):
                return None
            raise StartFailed(f"cannot read Kubernetes Job {ns}/{name}: {api_problem(exc)}") from None
        labels = (existing.metadata.labels or {}) if existing.metadata else {}
        if labels.get(PROCESS_LABEL) != job.processid[:63]:
            log.warning("Kubernetes Job %s/%s belongs to process %s, not %s: not reattached", ns, name,
                        labels.get(PROCESS_LABEL), job.processid)  # fmt: skip
            return None
        spec = existing.spec
        containers = len(spec.template.spec.containers) if spec and spec.template and spec.template.spec else 1
        note(f"reattached to Kubernetes Job {ns}/{name}; output written while no executor followed it is not in "
             f"this log (kubectl logs -n {ns} -l job-name={name} --all-containers)")  # fmt: skip
        return KubeRun(self, name, ns, uid=existing.metadata.uid or "", nodes=spec.completions or 1,
                       containers=containers, walltime=spec.active_deadline_seconds or 0, note=note,
                       resumed=True)  # fmt: skip

    def delete(self, name: str, namespace: str) -> None:
        """Delete a Job and, in the background, its pods (without a policy Kubernetes orphans a Job's pods)."""
        try:
            self.batch.delete_namespaced_job(name, namespace, propagation_policy="Background",
                                             _request_timeout=REQUEST_TIMEOUT)  # fmt: skip
        except Exception as exc:
            if not _is_not_found(exc):
                raise


def render_bytes(n: int) -> str:
    """Bytes as a Kubernetes/Colonies quantity: "7Gi" when whole gibibytes, else mebibytes (rounded down)."""
    return f"{n // GIB}Gi" if n % GIB == 0 else f"{n // MIB}Mi"


# --- a running Job --------------------------------------------------------------------------------------------------


class KubeRun(Run):
    """Follows one Job: a watcher thread polls its status and pods every ``poll_interval`` seconds and starts a log
    follower for every container that has started; ``streams["stdout"]`` yields what they read (Kubernetes keeps
    no separate stderr)."""

    def __init__(self, backend: KubeBackend, name: str, namespace: str, *, uid: str = "", nodes: int = 1,
                 containers: int = 1, walltime: int = 0, note: Callable[[str], None] | None = None,
                 resumed: bool = False) -> None:  # fmt: skip
        self.backend = backend
        self.name, self.namespace = name, namespace
        self.notes = []
        #: KUBE-PODS is added once all ``nodes`` pods exist (a process attribute is recorded once per value).
        self.attributes = {"KUBE-JOB": name, "KUBE-NAMESPACE": namespace}
        self.selector = f"controller-uid={uid}" if uid else f"job-name={name}"
        self.nodes = nodes
        self.prefixed = nodes * containers > 1
        self.walltime = walltime
        self._note = note or (lambda text: None)
        self._resumed = resumed
        self._lines: queue.Queue[bytes] = queue.Queue(maxsize=1024)
        self._followers: dict[tuple[str, str], threading.Thread | None] = {}
        self._responses: set[Any] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()  # detached, killed or closed: stop watching and reading
        self._all_started = threading.Event()  # the Job ended and every container's follower was started
        self._done = threading.Event()
        self._code: int | None = None
        self._killed = self._detached = False
        self._stuck: dict[str, float] = {}
        self._problems = 0
        self.streams = {"stdout": self._output()}
        self._watcher = threading.Thread(target=self._watch, name=f"kube-{name}", daemon=True)
        self._watcher.start()

    # -- the Run contract --------------------------------------------------------------------------------------------

    def wait(self, timeout: float) -> int | None:
        return self._code if self._done.wait(timeout) else None

    def kill(self) -> None:
        """Delete the Job now (its pods go with it) and stop reading their output."""
        self._killed = True
        try:
            self.backend.delete(self.name, self.namespace)
        except Exception as exc:  # noqa: BLE001
            self.notes.append(f"could not delete Kubernetes Job {self.namespace}/{self.name} ({api_problem(exc)}): "
                              "it may still be running")  # fmt: skip
        self._finish(137, [])
        self._halt()

    def close(self) -> None:
        self._halt()
        if self._detached or self._killed:
            return
        if self._done.is_set() and self.backend.config.retention != 0:
            return  # kept (-1) or left to ttlSecondsAfterFinished
        try:  # finished with retention 0, or given up before it finished: never leave it behind
            self.backend.delete(self.name, self.namespace)
        except Exception as exc:  # noqa: BLE001
            log.warning("could not delete Kubernetes Job %s/%s: %s", self.namespace, self.name, api_problem(exc))

    def detach(self) -> None:
        """Stop following; the Job runs on, for :meth:`KubeBackend.reattach`."""
        self._detached = True
        self._halt()

    # -- watching ----------------------------------------------------------------------------------------------------

    def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                if self._poll():
                    return
                self._problems = 0
            except Exception as exc:  # noqa: BLE001 - API server away or failing: look again later
                self._problems += 1
                if self._problems in (1, 10) or self._problems % 60 == 0:
                    log.warning("Kubernetes Job %s/%s: cannot read its status (%s); retrying", self.namespace,
                                self.name, api_problem(exc))  # fmt: skip
            self._stop.wait(self.backend.config.poll_interval)

    def _poll(self) -> bool:
        """One look at the Job and its pods; True once the outcome is known."""
        try:
            job = self.backend.batch.read_namespaced_job(self.name, self.namespace, _request_timeout=REQUEST_TIMEOUT)
        except Exception as exc:
            if not _is_not_found(exc):
                raise
            self._finish(137, [] if self._killed else
                         [f"Kubernetes Job {self.namespace}/{self.name} was deleted before it finished"])  # fmt: skip
            return True
        pods = self.backend.core.list_namespaced_pod(self.namespace, label_selector=self.selector,
                                                     _request_timeout=REQUEST_TIMEOUT).items or []  # fmt: skip
        pods.sort(key=lambda pod: pod.metadata.name)
        self._see(pods)
        outcome = self._outcome(job, pods) or self._stuck_outcome(pods)
        if outcome is None:
            return False
        self._see(pods, final=True)
        self._finish(*outcome)
        return True

    def _see(self, pods: list[Any], final: bool = False) -> None:
        """Record the pod names; start a follower for each container that has started (running or ended)."""
        if "KUBE-PODS" not in self.attributes and (len(pods) >= self.nodes or final and pods):
            self.attributes["KUBE-PODS"] = ",".join(pod.metadata.name for pod in pods)
        first_look = self._resumed
        self._resumed = False
        for pod in pods:
            for status in sorted((pod.status and pod.status.container_statuses) or [], key=lambda s: s.name):
                key = (pod.metadata.name, status.name)
                state = status.state
                if key in self._followers or state is None or not (state.running or state.terminated):
                    continue
                if first_look and state.terminated:  # ended while nobody followed it: nothing new to read
                    self._followers[key] = None
                    continue
                self._start_follower(pod.metadata.name, status.name, tail=0 if first_look else None)
        if final:
            self._all_started.set()

    def _outcome(self, job: Any, pods: list[Any]) -> tuple[int, list[str]] | None:
        status = job.status
        if status is None:
            return None
        conditions = {c.type: c for c in status.conditions or [] if c.status == "True"}
        completions = (job.spec.completions if job.spec else None) or 1
        if "Complete" in conditions or (status.succeeded or 0) >= completions:
            return 0, []
        failed = conditions.get("Failed")
        if failed is None:
            return None
        code, notes = self._failed_containers(pods)
        if failed.reason == "DeadlineExceeded":
            deadline = (job.spec.active_deadline_seconds if job.spec else None) or self.walltime
            notes.insert(0, f"DeadlineExceeded: walltime of {deadline} s exceeded (activeDeadlineSeconds)")
            return code or 137, notes
        if not code or failed.reason not in (None, "BackoffLimitExceeded"):
            notes.append(_flat(f"Kubernetes: Job failed: {failed.reason}: {failed.message or ''}"))
        return code or 1, notes

    def _failed_containers(self, pods: list[Any]) -> tuple[int, list[str]]:
        """The first non-zero container exit code (0 if none) and notes on the failures."""
        code, notes = 0, []
        for pod in pods:
            if pod.status and pod.status.reason == "Evicted":
                notes.append(_flat(f"pod {pod.metadata.name} was evicted: {pod.status.message or ''}"))
            for status in sorted((pod.status and pod.status.container_statuses) or [], key=lambda s: s.name):
                ended = status.state.terminated if status.state else None
                if ended is None or not ended.exit_code:
                    continue
                code = code or ended.exit_code
                where = f"{pod.metadata.name}/{status.name}"
                if ended.reason == "OOMKilled":
                    notes.append(f"OOMKilled: {where} exceeded its memory limit (conditions.mem)")
                elif self.prefixed:
                    notes.append(f"{where} exited with code {ended.exit_code}")
        return code, notes

    def _stuck_outcome(self, pods: list[Any]) -> tuple[int, list[str]] | None:
        """Fail a Job whose pod has been Pending for a reason that waiting does not fix for ``pending_timeout``
        seconds (the Job itself would wait forever); None while there is none."""
        now = time.monotonic()
        timeout = self.backend.config.pending_timeout
        for pod in pods:
            problem = _pending_problem(pod)
            pod_name = pod.metadata.name
            if problem is None:
                self._stuck.pop(pod_name, None)
                continue
            if pod_name not in self._stuck:
                self._stuck[pod_name] = now
                self._note(f"pod {pod_name}: {problem}; the process fails if this lasts {timeout:g} s")
            elif now - self._stuck[pod_name] >= timeout:
                try:
                    self.backend.delete(self.name, self.namespace)
                except Exception as exc:  # noqa: BLE001
                    log.warning("could not delete Kubernetes Job %s/%s: %s", self.namespace, self.name,
                                api_problem(exc))  # fmt: skip
                self._killed = True
                return 1, [f"{problem} (pod {pod_name} Pending for {timeout:g} s)"]
        return None

    def _finish(self, code: int, notes: list[str]) -> None:
        with self._lock:
            if self._done.is_set():
                return
            self.notes.extend(notes)
            self._code = code
        self._all_started.set()
        self._done.set()

    # -- output ------------------------------------------------------------------------------------------------------

    def _start_follower(self, pod: str, container: str, tail: int | None) -> None:
        thread = threading.Thread(target=self._follow, args=(pod, container, tail),
                                  name=f"kube-log-{pod}-{container}", daemon=True)  # fmt: skip
        self._followers[(pod, container)] = thread
        thread.start()

    def _follow(self, pod: str, container: str, tail: int | None) -> None:
        """Copy one container's log into the queue as it comes, line by line with a prefix when the Job has more
        than one container."""
        suffix = pod[len(self.name) + 1:] if pod.startswith(self.name + "-") else pod
        prefix = f"[{suffix}/{container}] ".encode() if self.prefixed else b""
        response = None
        try:
            response = self.backend.core.read_namespaced_pod_log(
                pod, self.namespace, container=container, follow=True, tail_lines=tail, _preload_content=False)
            with self._lock:
                if self._stop.is_set():
                    return
                self._responses.add(response)
            chunks = _chunks(response)
            items = _prefixed_lines(chunks, prefix) if prefix else chunks
            for item in items:
                if not self._put(item):
                    return
        except Exception as exc:  # noqa: BLE001 - the pod went away, the connection broke, or we shut it down
            if not self._stop.is_set() and not _is_not_found(exc):
                log.warning("log of %s/%s in Job %s stopped: %s", pod, container, self.name, api_problem(exc))
        finally:
            if response is not None:
                with self._lock:
                    self._responses.discard(response)
                with contextlib.suppress(Exception):
                    response.release_conn()

    def _put(self, item: bytes) -> bool:
        while not self._stop.is_set():
            try:
                self._lines.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def _output(self) -> Iterator[bytes]:
        """Everything the followers read; ends when the Job ended and every follower finished (or at once after
        kill, detach or close)."""
        while True:
            try:
                yield self._lines.get(timeout=0.2)
                continue
            except queue.Empty:
                pass
            if self._stop.is_set():
                return
            if self._all_started.is_set() and not any(t and t.is_alive() for t in list(self._followers.values())):
                while True:
                    try:
                        yield self._lines.get_nowait()
                    except queue.Empty:
                        return

    def _halt(self) -> None:
        """Stop the watcher and unblock every follower (their connections are shut down)."""
        self._stop.set()
        with self._lock:
            responses = list(self._responses)
        for response in responses:
            with contextlib.suppress(Exception):
                shutdown = getattr(response, "shutdown", None)  # urllib3 >= 2.3: unblocks a read in progress
                if shutdown is not None:
                    shutdown()
                response.close()


def _chunks(response: Any) -> Iterator[bytes]:
    """What a streamed response delivers, as it arrives: chunk by chunk when it is chunked (as the API server
    sends a followed log), else whatever the socket has (``read1``)."""
    read1 = getattr(response, "read1", None)
    if getattr(response, "chunked", True) or read1 is None:
        yield from response.stream(65536, decode_content=False)
        return
    while chunk := read1(65536):
        yield chunk


def _prefixed_lines(chunks: Iterator[bytes], prefix: bytes, max_line: int = 65536) -> Iterator[bytes]:
    """Whole lines, each with ``prefix``; a line longer than ``max_line`` is passed on in pieces."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            yield prefix + line + b"\n"
        while len(buffer) > max_line:
            yield prefix + buffer[:max_line] + b"\n"
            buffer = buffer[max_line:]
    if buffer:
        yield prefix + buffer + b"\n"


def _pending_problem(pod: Any) -> str | None:
    """Why a Pending pod will not start by itself, or None."""
    status = pod.status
    if status is None or status.phase != "Pending":
        return None
    for container in sorted(status.container_statuses or [], key=lambda s: s.name):
        waiting = container.state.waiting if container.state else None
        if waiting is None:
            continue
        if waiting.reason in PULL_FAILURES:
            return _flat(f"image could not be pulled ({waiting.reason}: {waiting.message or container.image})")
        if waiting.reason in CREATE_FAILURES:
            return _flat(f"container could not be created ({waiting.reason}: {waiting.message or ''})")
    for condition in status.conditions or []:
        if condition.type == "PodScheduled" and condition.status == "False" and condition.reason == "Unschedulable":
            return _flat(f"pod could not be scheduled (Unschedulable: {condition.message or ''})")
    return None


# --- command line ---------------------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, no usage dump
        raise ConfigError(message)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ
    parser = _Parser(prog="colonies-kube-executor",
                     description="Serve the ColonyOS function 'execute' as Kubernetes Jobs.")  # fmt: skip
    add = parser.add_argument
    add("--type", default="", help="executor type; with COLONIES_COLONY_PRVKEY it registers itself")
    add("--name", default="", help="executor name (self-registration default: <type>-<random>)")
    add("--concurrency", type=int, default=10, help="Jobs followed at once (default 10)")
    add("--register", choices=["auto", "self", "key"], default="auto",
        help="self: register with COLONIES_COLONY_PRVKEY; key: use COLONIES_PRVKEY")  # fmt: skip
    add("--location", default="", help="location name to register with")
    add("--config", default="", help="JSON or YAML file of settings (namespace, volumes, volumeMounts...)")
    add("--namespace", default=None, help="namespace of the Jobs (env EXECUTOR_K8S_NAMESPACE; in a pod: its own)")
    add("--service-account", default=None, help="service account of the Jobs' pods")
    add("--node-selector", action="append", default=[], metavar="KEY=VALUE", help="node selector (repeatable)")
    add("--pull-secret", action="append", default=[], metavar="NAME", help="image pull Secret (repeatable)")
    add("--retention", type=int, default=None, metavar="SECONDS",
        help="keep finished Jobs: 0 delete at once (default), N ttlSecondsAfterFinished, -1 keep")  # fmt: skip
    add("--pending-timeout", type=float, default=None, metavar="SECONDS",
        help="fail a process whose pod cannot pull its image or be scheduled this long (default 300)")  # fmt: skip
    add("--kubeconfig", default=None, help="kubeconfig file (default: in-cluster, KUBECONFIG, ~/.kube/config)")
    add("--context", default=None, help="kubeconfig context (default: its current context)")
    add("--cpu", default=env.get("EXECUTOR_HW_CPU") or env.get("EXECUTOR_HW_TOTAL_CPU") or "",
        help="CPU offered in all, e.g. 16000m (default: the namespace's ResourceQuota, else unchecked)")  # fmt: skip
    add("--mem", default=env.get("EXECUTOR_HW_MEM") or env.get("EXECUTOR_HW_TOTAL_MEM") or "",
        help="memory offered in all, e.g. 64Gi (default: the namespace's ResourceQuota, else unchecked)")  # fmt: skip
    add("--gpus", type=int, default=_env_int("EXECUTOR_HW_GPU_COUNT"),
        help="GPUs a process may ask for (env EXECUTOR_HW_GPU_COUNT; default: the quota's, else 0)")  # fmt: skip
    add("--nodes", type=int, default=_env_int("EXECUTOR_HW_NODES") or 16, help="most pods per Job (default 16)")
    add("--processes-per-node", type=int, default=16, help="most containers per pod (default 16)")
    add("--fs-volume", default=None, metavar="VOLUME",
        help="configured volume holding --fs-dir, mounted at the spec's fs.mount in the Jobs' pods")
    add("--fs-dir", default=env.get("EXECUTOR_FS_DIR", ""),
        help="where this executor keeps ColonyFS files (env EXECUTOR_FS_DIR): the fs volume's mount in its pod")
    add("--log-level", default=env.get("COLONIES_LOG_LEVEL", "INFO"))
    options = parser.parse_args(argv)
    for name in ("concurrency", "nodes", "processes_per_node"):
        if getattr(options, name) < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be at least 1")
    if options.gpus is not None and options.gpus < 0:
        raise ConfigError("--gpus must not be negative")
    return options


def _env_int(name: str) -> int | None:
    text = os.environ.get(name, "").strip()
    return int(text) if text.isdigit() else None


def kube_config(options: argparse.Namespace) -> KubeConfig:
    """Defaults, then the --config file, then the flags."""
    selector: dict[str, str] = {}
    for item in options.node_selector:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--node-selector {item!r}: expected KEY=VALUE")
        selector[key] = value
    flags = {"namespace": options.namespace, "service_account": options.service_account,
             "retention": options.retention, "kubeconfig": options.kubeconfig, "context": options.context,
             "pending_timeout": options.pending_timeout, "fs_volume": options.fs_volume}  # fmt: skip
    config = KubeConfig.from_file(options.config, **flags) if options.config else KubeConfig.from_mapping({}, **flags)
    if selector or options.pull_secret:
        secrets = list(dict.fromkeys([*config.image_pull_secrets, *options.pull_secret]))
        config = replace(config, node_selector={**config.node_selector, **selector}, image_pull_secrets=secrets)
    return config


def kube_capacity(backend: KubeBackend, options: argparse.Namespace) -> Capacity:
    """What one process may ask for: the flags, else the namespace's ResourceQuota (0 = not checked)."""
    complete = options.cpu and options.mem and options.gpus is not None
    quota_cpu, quota_mem, quota_gpus = (0, 0, 0) if complete else backend.quota_limits()
    cpu = parse_cpu(options.cpu) if options.cpu else quota_cpu
    mem = parse_memory(options.mem) if options.mem else quota_mem
    gpus = options.gpus if options.gpus is not None else quota_gpus
    values: dict[str, Any] = {"nodes": options.nodes, "cpu_millicores": cpu, "mem_bytes": mem, "gpus": gpus}
    if "processes_per_node" in Capacity.__dataclass_fields__:
        values["processes_per_node"] = options.processes_per_node
    return Capacity(**values)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (``colonies-kube-executor``); returns the exit code (2: configuration error)."""
    try:
        options = parse_args(argv)
        logging.basicConfig(level=options.log_level.upper(),
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")  # fmt: skip
        if logging.getLogger().level > logging.DEBUG:
            logging.getLogger("httpx").setLevel(logging.WARNING)
        backend = KubeBackend(kube_config(options))
        backend.check()
        capacity = kube_capacity(backend, options)
        extra: dict[str, Any] = {"locationname": options.location} if options.location else {}
        # Resource admission: each assign asks only for work that fits what the namespace's quota has free.
        executor = build(backend=backend, executortype=options.type, executorname=options.name,
                         register=options.register, concurrency=options.concurrency, capacity=capacity,
                         available=backend.available, fs_dir=options.fs_dir, **extra)  # fmt: skip
    except (ConfigError, BackendUnavailable, ValueError, ColoniesError) as exc:
        print(f"error: {_flat(exc)}", file=sys.stderr)
        return 2
    config = backend.config
    log.info("kube executor: type %s, namespace %s on %s, concurrency %d, at most %d node(s) x %d per node, "
             "cpu %s, mem %s, gpus %d", executor.executortype, config.namespace, backend.server, executor.concurrency,
             capacity.nodes, options.processes_per_node, f"{capacity.cpu_millicores}m" if capacity.cpu_millicores
             else "unchecked", render_bytes(capacity.mem_bytes) if capacity.mem_bytes else "unchecked",
             capacity.gpus)  # fmt: skip
    try:
        executor.run()
    except ColoniesError as exc:  # e.g. a taken name or a wrong colony key: a person must fix it
        print(f"error: {_flat(exc)}", file=sys.stderr)
        return 1
    return 0


__all__ = ["ConfigError", "KubeBackend", "KubeConfig", "KubeRun", "main"]

if __name__ == "__main__":
    sys.exit(main())

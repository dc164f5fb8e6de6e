"""A reconciler executor: keeps the replicas of every ``Deployment`` blueprint running, as its spec says.

    colonies dev                                                    # another shell; paste its export lines here
    colonies blueprint definition add --spec examples/blueprints/definition.json
    python examples/blueprints/reconciler.py                        # local processes, or docker containers
    colonies blueprint add --spec examples/blueprints/deployment.json
    colonies blueprint status --name sleepers

Spec: ``replicas`` (how many), ``command`` (what each runs), ``image`` (the container image, docker backend only).
A replica runs as a host process in its own session (``--backend local``, tracked by pid files in
``--state-dir``) or as a docker container labelled with its blueprint (``--backend docker``; ``auto``, the default,
uses docker when a daemon answers). Both survive a restart of the reconciler, which finds its replicas again.

The server sends ``reconcile`` with ``kwargs {kind, blueprintName}`` when a blueprint is added or its spec changes,
``reconcile`` with ``{kind}`` every ``reconcileInterval`` seconds (the self-healing pass over every blueprint of the
kind, which also removes replicas whose blueprint is gone), and ``cleanup`` with ``{kind, blueprintName}`` when a
blueprint is removed. Scaling keeps the running replicas; a new command or image, or ``colonies blueprint
reconcile --force``, replaces them. After each pass the reconciler reports ``status``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from colonies import Colonies, ColoniesError
from colonies.executor import Executor

KIND = "Deployment"
log = logging.getLogger("reconciler")


@dataclass
class Replica:
    id: str
    template: str  #: hash of what it runs (command, image): a replica of another template is replaced
    generation: int
    started: str
    running: bool
    pid: int = 0


def template_of(spec: dict[str, Any]) -> str:
    what = {"command": spec.get("command") or ["sleep", "infinity"], "image": spec.get("image", "")}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:12]


class LocalBackend:
    """Replicas are host processes; ``<state-dir>/<blueprint>/<id>.json`` remembers each one's pid."""

    name = "local"

    def __init__(self, state_dir: Path) -> None:
        self.root = state_dir
        self.children: dict[int, subprocess.Popen[bytes]] = {}  # ours since this start: poll() reaps them

    @staticmethod
    def _birth(pid: int) -> str:
        """When the process started (Linux: ticks since boot), so a pid reused by another process is not ours."""
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[19]
        except (OSError, IndexError):
            return ""

    def _alive(self, pid: int, birth: str = "") -> bool:
        if pid in self.children:
            return self.children[pid].poll() is None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return False  # another user's process: not a replica of ours
        return not birth or self._birth(pid) == birth

    def owners(self) -> list[str]:
        return [d.name for d in self.root.iterdir() if d.is_dir()] if self.root.exists() else []

    def list(self, owner: str) -> list[Replica]:
        replicas = []
        for path in sorted((self.root / owner).glob("*.json")):
            data = json.loads(path.read_text())
            replicas.append(Replica(path.stem, data["template"], data["generation"], data["started"],
                                    self._alive(data["pid"], data.get("birth", "")), data["pid"]))  # fmt: skip
        return replicas

    def start(self, owner: str, spec: dict[str, Any], template: str, generation: int) -> Replica:
        command = [str(part) for part in spec.get("command") or ["sleep", "infinity"]]
        proc = subprocess.Popen(command, start_new_session=True, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        self.children[proc.pid] = proc
        replica = Replica(uuid.uuid4().hex[:8], template, generation, now(), True, proc.pid)
        (self.root / owner).mkdir(parents=True, exist_ok=True)
        data = {"pid": proc.pid, "birth": self._birth(proc.pid), "template": template, "generation": generation,
                "started": replica.started}  # fmt: skip
        (self.root / owner / f"{replica.id}.json").write_text(json.dumps(data))
        return replica

    def stop(self, owner: str, replica: Replica) -> None:
        if replica.running:
            try:
                os.killpg(replica.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + 5
            while self._alive(replica.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if self._alive(replica.pid):
                try:
                    os.killpg(replica.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        child = self.children.pop(replica.pid, None)
        if child is not None:
            child.wait(5)
        (self.root / owner / f"{replica.id}.json").unlink(missing_ok=True)
        if not any((self.root / owner).iterdir()):
            (self.root / owner).rmdir()


class DockerBackend:
    """Replicas are containers labelled ``colonies.blueprint=<blueprint>``."""

    name = "docker"

    def __init__(self, colony: str) -> None:
        self.colony = colony

    def _docker(self, *args: str) -> str:
        return subprocess.run(["docker", *args], check=True, capture_output=True, text=True, timeout=300).stdout

    def owners(self) -> list[str]:
        out = self._docker("ps", "-a", "--filter", f"label=colonies.colony={self.colony}", "--format",
                           '{{.Label "colonies.blueprint"}}')  # fmt: skip
        return sorted(set(out.split()))

    def list(self, owner: str) -> list[Replica]:
        out = self._docker("ps", "-a", "--filter", f"label=colonies.colony={self.colony}", "--filter",
                           f"label=colonies.blueprint={owner}", "--format", '{{.ID}} {{.State}} '
                           '{{.Label "colonies.template"}} {{.Label "colonies.generation"}} {{.CreatedAt}}')
        replicas = []
        for line in out.splitlines():
            cid, state, template, generation, started = line.split(" ", 4)
            replicas.append(Replica(cid, template, int(generation), started, state == "running"))
        return replicas

    def start(self, owner: str, spec: dict[str, Any], template: str, generation: int) -> Replica:
        command = [str(part) for part in spec.get("command") or ["sleep", "infinity"]]
        cid = self._docker("run", "-d", "--label", f"colonies.colony={self.colony}", "--label",
                           f"colonies.blueprint={owner}", "--label", f"colonies.template={template}", "--label",
                           f"colonies.generation={generation}", spec.get("image") or "alpine:3.20",
                           *command).strip()[:12]  # fmt: skip
        return Replica(cid, template, generation, now(), True)

    def stop(self, owner: str, replica: Replica) -> None:
        self._docker("rm", "-f", replica.id)


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def docker_answers() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=20, check=False).returncode == 0


class Reconciler:
    """What ``reconcile`` and ``cleanup`` do, against one colony, with one backend."""

    def __init__(self, client: Colonies, colony: str, prvkey: str, backend: Any, location: str = "") -> None:
        self.client, self.colony, self.prvkey, self.backend, self.location = client, colony, prvkey, backend, location

    def reconcile(self, kind: str = "", blueprintName: str = "", force: bool = False) -> str:  # noqa: N803
        if kind and kind != KIND:
            raise ValueError(f"this reconciler serves kind {KIND}, not {kind}")
        if blueprintName:
            return self.reconcile_one(blueprintName, force)
        blueprints = self.client.get_blueprints(self.colony, self.prvkey, kind=KIND, location=self.location or None)
        names = {bp["metadata"]["name"] for bp in blueprints}
        done = [self.reconcile_one(name) for name in sorted(names)]
        for owner in self.backend.owners():  # replicas whose blueprint is gone (a cleanup we missed)
            if owner not in names:
                done.append(self.cleanup(blueprintName=owner))
        return "; ".join(done) or f"no {KIND} blueprints"

    def reconcile_one(self, name: str, force: bool = False) -> str:
        try:
            bp = self.client.get_blueprint(self.colony, name, self.prvkey)
        except ColoniesError as exc:
            if exc.status == 404:  # removed since: the cleanup process follows
                return self.cleanup(blueprintName=name)
            raise
        spec, generation = bp["spec"], bp["metadata"]["generation"]
        want = int(spec.get("replicas", 1))
        # Running replicas of this command and image stay (scaling keeps them); a forced reconcile (which bumped
        # the generation) replaces those started for an earlier generation.
        template = template_of(spec)
        replicas = self.backend.list(name)
        keep = [r for r in replicas
                if r.running and r.template == template and not (force and r.generation < generation)]
        for replica in replicas:
            if replica not in keep[:want]:
                self.backend.stop(name, replica)  # exited, outdated, or one too many
        keep = keep[:want]
        started = [self.backend.start(name, spec, template, generation) for _ in range(want - len(keep))]
        current = keep + started
        status = {
            "replicas": want, "readyReplicas": sum(r.running for r in current), "observedGeneration": generation,
            "backend": self.backend.name, "lastUpdated": now(),
            "instances": [{"id": r.id, "pid": r.pid, "state": "running" if r.running else "exited",
                           "generation": r.generation, "started": r.started} for r in current],
        }  # fmt: skip
        self.client.update_blueprint_status(self.colony, name, status, self.prvkey)
        stopped = len(replicas) - len(keep)
        return f"{name}: {len(current)}/{want} ready (started {len(started)}, stopped {stopped})"

    def cleanup(self, kind: str = "", blueprintName: str = "") -> str:  # noqa: N803
        replicas = self.backend.list(blueprintName)
        for replica in replicas:
            self.backend.stop(blueprintName, replica)
        return f"{blueprintName}: removed {len(replicas)} replica(s)"

    def stop_all(self) -> None:
        for owner in self.backend.owners():
            self.cleanup(blueprintName=owner)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["auto", "local", "docker"], default="auto")
    parser.add_argument("--state-dir", default=os.path.expanduser("~/.colonies/deployment-reconciler"),
                        help="local backend: where the replicas' pid files are kept")  # fmt: skip
    parser.add_argument("--executortype", default="deployment-reconciler")
    parser.add_argument("--location", default="", help="self-registration: the location it reconciles")
    parser.add_argument("--stop-replicas-on-exit", action="store_true", help="stop every replica when it stops")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    logging.getLogger("httpx").setLevel(logging.WARNING)
    # With the colony key (as `colonies dev` exports it) it registers itself, and removes itself when it stops;
    # else it is the executor of COLONIES_PRVKEY, which the colony owner registered with the type above.
    own_registration = any(os.environ.get(f"COLONIES_COLONY_PRVKEY{s}") for s in ("", "_FILE", "_FD"))
    named = {"executorname": ""} if own_registration else {}  # a fresh name, not COLONIES_EXECUTOR_NAME's
    executor = Executor.from_env(executortype=args.executortype, locationname=args.location,
                                 self_register=own_registration, **named)  # fmt: skip
    use_docker = args.backend == "docker" or (args.backend == "auto" and docker_answers())
    backend = DockerBackend(executor.colonyname) if use_docker else LocalBackend(
        Path(args.state_dir) / executor.colonyname)  # fmt: skip
    client = Colonies(executor.host, executor.port, tls=executor.tls, verify=executor.verify)
    reconciler = Reconciler(client, executor.colonyname, executor.prvkey, backend, args.location)
    executor.register("reconcile", reconciler.reconcile, "Make Deployment blueprints' replicas match their spec")
    executor.register("cleanup", reconciler.cleanup, "Stop the replicas of a removed Deployment blueprint")
    log.info("reconciling %s blueprints of colony %s with the %s backend", KIND, executor.colonyname, backend.name)
    try:
        executor.run()  # Ctrl-C / SIGTERM: finish the pass under way, then stop (replicas keep running)
    finally:
        if args.stop_replicas_on_exit:
            reconciler.stop_all()
        client.close_connection()


if __name__ == "__main__":
    main()

"""A colony full of things to look at, for the dashboard's browser tests and ``scripts/dashboard_preview.py``.

Everything is made through the real API with real keys: a second colony (its user must never show up in the first),
executors on three sites with coordinates (one pending), processes in every state with logs, output and errors,
the seed's two workflows (cross-platform and secure multi-party computation), a cron, a generator and functions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from colonies import crypto
from colonies.client import RPCClient

ROOT = Path(__file__).resolve().parents[1]
SITES = {  # name: (long, lat, description)
    "ice": (22.15, 65.58, "ICE data centre, Luleå"),
    "lumi": (27.72, 64.23, "LUMI, Kajaani"),
    "leonardo": (11.34, 44.49, "Leonardo, Bologna"),
}
SEED_TYPES = {"ice-kubeexecutor": "ice", "lumi-small-hpcexecutor": "lumi", "leonardo-booster-hpcexecutor": "leonardo"}


@dataclass
class Key:
    name: str
    prvkey: str
    id: str = ""

    def __post_init__(self) -> None:
        self.id = crypto.id_from_prvkey(self.prvkey)


def new_key(name: str) -> Key:
    return Key(name, crypto.generate_prvkey())


@dataclass
class World:
    """The dev server and the keys of each role (server, owner, user, executor, other = a user of colony B)."""

    url: str
    port: int
    colony: str
    other_colony: str
    keys: dict[str, Key]
    proc: subprocess.Popen[bytes] | None = None
    client: RPCClient = field(init=False)
    executors: dict[str, Key] = field(default_factory=dict)  # executortype → an approved executor of that type
    ids: dict[str, str] = field(default_factory=dict)  # names → process/graph ids made by the seeding

    def __post_init__(self) -> None:
        self.client = RPCClient("127.0.0.1", self.port, False, timeout=30)

    def call(self, payloadtype: str, msg: dict[str, Any], who: str | Key) -> Any:
        key = who.prvkey if isinstance(who, Key) else self.keys[who].prvkey
        return self.client.call(payloadtype, msg, key)

    def stop(self) -> None:
        self.client.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    # -- acting as executors ----------------------------------------------------------------------------------

    def run_one(self, executortype: str, out: list[Any] | None = None, errors: list[str] | None = None,
                logs: tuple[str, ...] = ()) -> dict[str, Any]:  # fmt: skip
        """Assign one process to the executor of this type, log, and close it (failed when errors are given)."""
        ex = self.executors[executortype]
        process = self.call("assignprocessmsg", {"colonyname": self.colony, "timeout": 5}, ex)
        for line in logs:
            self.call("addlogmsg", {"processid": process["processid"], "message": line + "\n"}, ex)
        if errors is not None:
            self.call("closefailedmsg", {"processid": process["processid"], "errors": errors}, ex)
        else:
            self.call("closesuccessfulmsg", {"processid": process["processid"], "out": out or []}, ex)
        return process

    def spec(self, funcname: str, executortype: str, **extra: Any) -> dict[str, Any]:
        conditions = {"colonyname": self.colony, "executortype": executortype, **extra.pop("conditions", {})}
        return {"funcname": funcname, "conditions": conditions, "maxexectime": 600, "maxretries": 3, **extra}


def start_dev_server(port: int, data_dir: str | None = None) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """``colonies dev`` in its own data directory; returns the process and its keys (dev-keys.json)."""
    directory = data_dir or tempfile.mkdtemp(prefix="dashboard-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}
    env["COLONIES_COLONY_NAME"] = "dev"
    proc = subprocess.Popen([sys.executable, "-m", "colonies", "dev", "--port", str(port), "--data-dir", directory],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"colonies dev exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    else:
        proc.kill()
        raise RuntimeError("colonies dev did not start")
    with open(os.path.join(directory, "dev-keys.json"), encoding="utf-8") as handle:
        return proc, json.load(handle)


def make_world(port: int, seed: bool = True, data_dir: str | None = None) -> World:
    proc, dev = start_dev_server(port, data_dir)
    # The dev key is both user myuser and executor myexecutor; the executor role gets a key that is only an executor.
    keys = {"server": Key("server", dev["server"]), "owner": Key("owner", dev["colony"]),
            "devuser": Key("myuser", dev["prvkey"]), "user": new_key("alice"), "other": new_key("mallory")}  # fmt: skip
    world = World(f"http://127.0.0.1:{port}/dashboard/", port, "dev", "othercolony", keys, proc)
    try:
        world.call("addusermsg", {"user": {"colonyname": "dev", "userid": keys["user"].id, "name": "alice",
                                           "email": "alice@example.org", "phone": ""}}, "owner")  # fmt: skip
        keys["executor"] = add_executor(world, "watcher-01", "watcher")
        other_owner = new_key("otherowner")
        keys["otherowner"] = other_owner
        world.call("addcolonymsg", {"colony": {"colonyid": other_owner.id, "name": "othercolony"}}, "server")
        world.call("addusermsg", {"user": {"colonyname": "othercolony", "userid": keys["other"].id,
                                           "name": "mallory", "email": "", "phone": ""}}, other_owner)  # fmt: skip
        if seed:
            seed_world(world)
    except BaseException:
        world.stop()
        raise
    return world


def add_executor(world: World, name: str, executortype: str, location: str = "", approve: bool = True,
                 colony: str = "dev", owner: str | Key = "owner") -> Key:  # fmt: skip
    key = new_key(name)
    world.call("addexecutormsg", {"executor": {"executorid": key.id, "executorname": name,
               "executortype": executortype, "colonyname": colony, "locationname": location}}, owner)  # fmt: skip
    if approve:
        world.call("approveexecutormsg", {"colonyname": colony, "executorname": name}, owner)
    return key


def seed_workflow_spec(colony: str) -> dict[str, Any]:
    """The seed's cross-platform workflow: ice-0 → lumi-0..7 → leonardo-0 → ice-1."""

    def node(name: str, executortype: str, deps: list[str]) -> dict[str, Any]:
        return {"nodename": name, "funcname": "execute", "maxexectime": 55, "maxretries": 3,
                "kwargs": {"cmd": "sleep 1", "docker-image": "ubuntu:20.04"},
                "conditions": {"colonyname": colony, "executortype": executortype, "dependencies": deps, "nodes": 1,
                               "processes-per-node": 1, "mem": "500Mi", "cpu": "1000m", "walltime": 60}}  # fmt: skip

    lumi = [f"lumi-{i}" for i in range(8)]
    specs = [node("ice-0", "ice-kubeexecutor", [])]
    specs += [node(n, "lumi-small-hpcexecutor", ["ice-0"]) for n in lumi]
    specs += [node("leonardo-0", "leonardo-booster-hpcexecutor", lumi), node("ice-1", "ice-kubeexecutor", ["leonardo-0"])]
    return {"colonyname": colony, "functionspecs": specs}


def smpc_workflow_spec(colony: str) -> dict[str, Any]:
    with open(ROOT / "examples" / "smpc" / "workflow" / "workflow.template.json", encoding="utf-8") as handle:
        specs = json.load(handle)
    for spec in specs:
        spec["conditions"]["colonyname"] = colony
        spec["kwargs"]["paillier-pubkey"] = "<public key>"
    return {"colonyname": colony, "functionspecs": specs}


def seed_world(world: World) -> None:
    owner = "owner"
    for name, (long, lat, desc) in SITES.items():
        world.call("addlocationmsg", {"location": {"name": name, "colonyname": "dev", "description": desc,
                                                   "long": long, "lat": lat}}, owner)  # fmt: skip
    for executortype, site in SEED_TYPES.items():
        world.executors[executortype] = add_executor(world, f"{site}-01", executortype, site)
    for executortype in ("r1-hospital_executor", "r2-hospital_executor", "cloud-hospital-executor"):
        world.executors[executortype] = add_executor(world, executortype.replace("_", "-") + "-01", executortype)
    world.executors["echo"] = add_executor(world, "echo-01", "echo")
    add_executor(world, "lumi-02", "lumi-small-hpcexecutor", "lumi", approve=False)
    add_executor(world, "ice-gpu-01", "ice-kubeexecutor", "ice", approve=False)
    world.call("addfunctionmsg", {"fun": {"executorname": "echo-01", "executortype": "echo", "colonyname": "dev",
                                          "funcname": "echo"}}, world.executors["echo"])  # fmt: skip
    for executortype in SEED_TYPES:
        world.call("addfunctionmsg", {"fun": {"executorname": world.executors[executortype].name,
                   "executortype": executortype, "colonyname": "dev", "funcname": "execute"}},
                   world.executors[executortype])  # fmt: skip

    # Single processes in every state.
    for i, label in enumerate(("nightly", "nightly", "adhoc")):
        world.call("submitfuncspecmsg", {"spec": world.spec("echo", "echo", args=[f"hello {i}"], label=label)},
                   "user")  # fmt: skip
    done = world.run_one("echo", out=["hello 0"], logs=("starting echo", "hello 0", "done"))
    world.ids["successful"] = done["processid"]
    failed = world.run_one("echo", errors=["exit status 2: file not found: /data/input.csv"],
                           logs=("starting echo", "reading /data/input.csv", "error: file not found"))  # fmt: skip
    world.ids["failed"] = failed["processid"]
    running = world.call("assignprocessmsg", {"colonyname": "dev", "timeout": 5}, world.executors["echo"])
    world.call("addlogmsg", {"processid": running["processid"], "message": "working on it\n"}, world.executors["echo"])
    world.ids["running"] = running["processid"]
    for i in range(3):
        p = world.call("submitfuncspecmsg", {"spec": world.spec("echo", "echo", args=[f"queued {i}"])}, "executor")
        world.ids[f"waiting{i}"] = p["processid"]
    cancelled = world.call("submitfuncspecmsg", {"spec": world.spec("train", "nobody-serves-this")}, "user")
    world.call("cancelprocessmsg", {"processid": cancelled["processid"]}, "user")

    # The seed's workflows: the SMPC one finished, the cross-platform one half way.
    smpc = world.call("submitworkflowspecmsg", {"spec": smpc_workflow_spec("dev")}, "user")
    world.ids["smpc"] = smpc["processgraphid"]
    world.run_one("r1-hospital_executor", out=["<ciphertext r1>"])
    world.run_one("r2-hospital_executor", out=["<ciphertext r2>"])
    world.run_one("cloud-hospital-executor", out=["<encrypted sum>"], logs=("adding 2 ciphertexts",))
    seed = world.call("submitworkflowspecmsg", {"spec": seed_workflow_spec("dev")}, "user")
    world.ids["seed"] = seed["processgraphid"]
    world.run_one("ice-kubeexecutor", logs=("pod ice-0 started",))
    for _ in range(5):
        world.run_one("lumi-small-hpcexecutor", logs=("sbatch: Submitted batch job 4211",))
    world.call("assignprocessmsg", {"colonyname": "dev", "timeout": 5}, world.executors["lumi-small-hpcexecutor"])

    cron = {"colonyname": "dev", "name": "nightly-report", "cronexpression": "0 0 3 * * *", "interval": -1,
            "random": False, "workflowspec": json.dumps(smpc_workflow_spec("dev")), "waitforprevprocessgraph": True}  # fmt: skip
    world.call("addcronmsg", {"cron": cron}, "user")
    generator = {"colonyname": "dev", "name": "ingest", "workflowspec": json.dumps(smpc_workflow_spec("dev")),
                 "trigger": 10, "timeout": 60}  # fmt: skip
    world.call("addgeneratormsg", {"generator": generator}, "user")

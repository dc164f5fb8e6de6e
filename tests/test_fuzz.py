"""Property-based fuzzing (Hypothesis) of the RPC envelope, every message's payload and workflow specs.

Properties, against a real server over real HTTP:

* no input produces a 5xx or a traceback: every reply is a reply envelope, and an error's payload status
  equals its HTTP status (4xx);
* no input hangs the server: every request is answered within ``REQUEST_TIMEOUT`` seconds;
* no input changes unrelated data: a *witness* colony (processes waiting, running, successful and failed, a
  workflow, attributes, logs, a function) is snapshotted first and compared byte for byte (the raw base64
  reply payloads) after every test, and whatever a fuzzed submission left queued must not break assignment;
* workflow specs: invalid DAGs are refused with 400 and leave nothing behind; valid ones give a graph whose
  processes, parents and children match the spec.

Campaign size: a bounded campaign, run in CI with the rest of the suite. The ``colonies-fuzz`` Hypothesis
profile runs ``COLONIES_FUZZ_EXAMPLES`` examples (default 40) per message type; the envelope and workflow
tests scale from it. Raise it for a longer local campaign (``COLONIES_FUZZ_EXAMPLES=500 pytest
tests/test_fuzz.py``; ``COLONIES_FUZZ_REPORT=file`` appends the status counts per message type). A failure
prints a reproduction blob; pin the failing input with ``@example(...)`` on ``test_payload_regressions`` so it
stays covered.

How destructive messages are kept away from the fixtures:

* This file starts its own server per backend, so junk colonies and server-id changes never reach the session
  server that other test files share.
* The witness colony's keys never sign a fuzzed message. Its names and ids *are* in the fuzzer's value pool,
  so the fuzzer keeps trying to reach it from elsewhere, except in messages signed by the server owner (the
  one role that may legitimately remove any colony): there they are replaced by fresh names.
* Valid base messages address a *playground* colony, made anew for each payload test. When a message that
  destroys part of it (removecolonymsg, changecolonyidmsg, removeexecutormsg, close*, remove*, cancel*, ...)
  answers 200, that part (or the whole colony) is made anew before the next example.
* changeserveridmsg: after any 200 the server id is put back, signed by the new owner if the test holds its
  key, else by restarting the server (which re-applies its --server-id).
* assignprocessmsg: the server runs with COLONIES_MAX_WAIT_TIMEOUT=1, so a long-poll is refused (400) or waits
  at most 1 s: a designed wait, not a hang, and no fuzzed input needs reshaping for it.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from conftest import Identity, Server, new_identity, start_server
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from colonies import crypto, envelope
from colonies.server.handlers import HANDLERS, REPLY_TYPES, UNSIGNED

# -- campaign size -------------------------------------------------------------------------------------------

EXAMPLES = max(1, int(os.environ.get("COLONIES_FUZZ_EXAMPLES", "40")))
settings.register_profile(
    "colonies-fuzz",
    max_examples=EXAMPLES,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                           HealthCheck.data_too_large],
)
FUZZ = settings.get_profile("colonies-fuzz")

#: Longest a request may take before it counts as a hang (generous: a shared 2-core machine, PostgreSQL).
REQUEST_TIMEOUT = 15.0
IDLE = "fuzz_idle_type"  #: no executor has this type: its processes stay waiting
EXEC_TYPE = "fuzz_exec_type"
WORKER_TYPE = "fuzz_worker_type"  #: only the playground's worker takes these (the running workflow root)
TYPES = sorted(HANDLERS)
#: Signers a fuzzed message may get; "preferred" is the one its base message names.
ROLES = ["owner", "executor", "worker", "user", "pending", "stranger", "server", "none"]

# -- talking to the server -----------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    payloadtype: str
    raw: str  #: the base64 payload exactly as the server sent it
    payload: Any


def check_reply(resp: httpx.Response, sent: bytes) -> Reply:
    """The reply is a well-formed reply envelope, and not a 5xx."""
    assert resp.status_code < 500, f"HTTP {resp.status_code} {resp.content[:500]!r} for {sent[:300]!r}"
    assert b"Traceback" not in resp.content and b'File "' not in resp.content, resp.content[:500]
    data = json.loads(resp.content)
    assert isinstance(data, dict) and set(data) >= {"payloadtype", "payload", "error"}, data
    payload = json.loads(base64.b64decode(data["payload"], validate=True))
    if resp.status_code == 200:
        assert data["error"] is False and data["payloadtype"] != "error", data
    else:
        assert 400 <= resp.status_code < 500, resp.status_code
        assert data["error"] is True and data["payloadtype"] == "error", data
        assert isinstance(payload, dict), payload
        assert type(payload.get("status")) is int and payload["status"] == resp.status_code, payload
        assert isinstance(payload.get("message"), str) and payload["message"], payload
    return Reply(resp.status_code, data["payloadtype"], data["payload"], payload)


def b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


def envelope_body(payloadtype: str, payload: str, key: str | None) -> bytes:
    signature = crypto.sign(payload, key) if key else ""
    return json.dumps({"signature": signature, "payloadtype": payloadtype, "payload": payload}).encode()


# -- the witness: unrelated data that must not change --------------------------------------------------------


class Witness:
    """A colony with data in every state, snapshotted; its keys sign only the setup and the snapshot reads."""

    def __init__(self, fz: Fuzz) -> None:
        self.fz = fz
        self.owner = new_identity(f"fuzz-witness-{os.urandom(4).hex()}")
        self.name = self.owner.name
        self.executor = new_identity("witness-executor")
        self.user = new_identity("witness-user")
        owner, ex = self.owner.prvkey, self.executor.prvkey
        fz.call("addcolonymsg", {"colony": {"colonyid": self.owner.id, "name": self.name}}, fz.server_key)
        executor = {"executorid": self.executor.id, "executorname": self.executor.name,
                    "executortype": "witness_type", "colonyname": self.name}  # fmt: skip
        fz.call("addexecutormsg", {"executor": executor}, owner)
        fz.call("approveexecutormsg", {"colonyname": self.name, "executorname": self.executor.name}, owner)
        user = {"colonyname": self.name, "userid": self.user.id, "name": self.user.name, "email": "w@x.y",
                "phone": "0"}  # fmt: skip
        fz.call("addusermsg", {"user": user}, owner)

        def run_one(label: str) -> str:
            self.submit("witness_type", label)
            return str(fz.call("assignprocessmsg", {"colonyname": self.name, "timeout": -1}, ex)["processid"])

        self.success = run_one("success")
        fz.call("closesuccessfulmsg", {"processid": self.success, "out": ["witness-out", 42]}, ex)
        self.failed = run_one("failed")
        fz.call("closefailedmsg", {"processid": self.failed, "errors": ["witness-error"]}, ex)
        self.running = run_one("running")
        attribute = {"targetid": self.running, "targetcolonyname": self.name, "attributetype": 1,
                     "key": "wkey", "value": "wvalue"}  # fmt: skip
        self.attribute = fz.call("addattributemsg", {"attribute": attribute}, ex)["attributeid"]
        fz.call("addlogmsg", {"processid": self.running, "message": "witness log line"}, ex)
        log = {"colonyname": self.name, "executorname": self.executor.name, "message": "witness executor log"}
        fz.call("addexecutorlogmsg", log, ex)
        fun = {"executorname": self.executor.name, "colonyname": self.name, "funcname": "witness_func"}
        self.function = fz.call("addfunctionmsg", {"fun": fun}, ex)["functionid"]
        self.waiting = self.submit(IDLE, "waiting")["processid"]
        specs = [self.spec(IDLE, "wf", "a"), self.spec(IDLE, "wf", "b", ["a"])]
        workflow = {"spec": {"colonyname": self.name, "functionspecs": specs}}
        graph = fz.call("submitworkflowspecmsg", workflow, self.user.prvkey)
        self.graph = graph["processgraphid"]
        self.graph_processes = graph["processids"]
        cron = {"colonyname": self.name, "name": "witness-cron", "interval": -1, "cronexpression": "0 0 3 1 1 *",
                "workflowspec": json.dumps({"colonyname": self.name, "functionspecs": [self.spec(IDLE, "cron")]})}
        self.cron = fz.call("addcronmsg", {"cron": cron}, self.user.prvkey)["cronid"]
        gen = {"colonyname": self.name, "name": "witness-generator", "trigger": 1_000_000, "timeout": 0,
               "workflowspec": json.dumps({"colonyname": self.name, "functionspecs": [self.spec(IDLE, "gen")]})}
        self.generator = fz.call("addgeneratormsg", {"generator": gen}, self.user.prvkey)["generatorid"]
        fz.call("packgeneratormsg", {"generatorid": self.generator, "arg": "witness-arg"}, self.user.prvkey)
        for data in ("witness-1", "witness-2"):
            added = fz.call("addfilemsg", {"file": file_spec(self.name, "/witness", "w.txt", data)}, ex)
        self.file = added["fileid"]
        snap = {"colonyname": self.name, "label": "/witness", "name": "witness-snapshot"}
        self.fs_snapshot = fz.call("createsnapshotmsg", snap, self.user.prvkey)["snapshotid"]
        # A blueprint whose reconcile cron never comes due (its first reconcile process waits, of type IDLE).
        definition = {"kind": "BlueprintDefinition", "metadata": {"name": "witness-def", "colonyname": self.name},
                      "spec": {"names": {"kind": "Witness"}, "handler": {"executorType": IDLE,
                                                                        "reconcileInterval": 2**31}}}  # fmt: skip
        fz.call("addblueprintdefinitionmsg", {"blueprintdefinition": definition}, owner)
        bp = {"kind": "Witness", "metadata": {"name": "witness-bp", "colonyname": self.name}, "spec": {"n": 1}}
        self.blueprint = fz.call("addblueprintmsg", {"blueprint": bp}, self.user.prvkey)["blueprintid"]
        status = {"colonyname": self.name, "blueprintname": "witness-bp", "status": {"ready": 1}}
        fz.call("updateblueprintstatusmsg", status, ex)
        self.before = self.snapshot()

    def spec(self, executortype: str, label: str, nodename: str = "n", deps: list[str] | None = None) -> Any:
        return {"nodename": nodename, "funcname": "witness_func", "args": ["w", 1], "kwargs": {"k": "v"},
                "maxwaittime": -1, "maxexectime": -1, "label": label, "env": {"WITNESS": label},
                "conditions": {"colonyname": self.name, "executortype": executortype,
                               "dependencies": deps or []}}  # fmt: skip

    def submit(self, executortype: str, label: str) -> Any:
        return self.fz.call("submitfuncspecmsg", {"spec": self.spec(executortype, label)}, self.user.prvkey)

    def queries(self) -> dict[str, tuple[str, dict[str, Any]]]:
        c = self.name
        q: dict[str, tuple[str, dict[str, Any]]] = {
            "colony": ("getcolonymsg", {"colonyname": c}),
            "stats": ("getcolonystatsmsg", {"colonyname": c}),
            "users": ("getusersmsg", {"colonyname": c}),
            "executors": ("getexecutorsmsg", {"colonyname": c}),
            "functions": ("getfunctionsmsg", {"colonyname": c, "executorname": ""}),
            "graph": ("getprocessgraphmsg", {"processgraphid": self.graph}),
            "graphs": ("getprocessgraphsmsg", {"colonyname": c, "count": 100, "state": 0}),
            "attribute": ("getattributemsg", {"attributeid": self.attribute}),
            "process-logs": ("getlogsmsg", {"colonyname": c, "processid": self.running, "count": 100}),
            "executor-logs": ("getlogsmsg", {"colonyname": c, "executorname": self.executor.name,
                                             "count": 100}),
            "crons": ("getcronsmsg", {"colonyname": c, "count": 100}),
            "cron-runs": ("getcronrunsmsg", {"cronid": self.cron, "count": 100}),
            "generator": ("getgeneratormsg", {"generatorid": self.generator}),
            "generators": ("getgeneratorsmsg", {"colonyname": c, "count": 100}),
            "file": ("getfilemsg", {"colonyname": c, "fileid": self.file}),
            "file-revisions": ("getfilemsg", {"colonyname": c, "label": "/witness", "name": "w.txt"}),
            "files": ("getfilesmsg", {"colonyname": c, "label": "/witness"}),
            "file-labels": ("getfilelabelsmsg", {"colonyname": c, "name": ""}),
            "fs-snapshot": ("getsnapshotmsg", {"colonyname": c, "snapshotid": self.fs_snapshot}),
            "fs-snapshots": ("getsnapshotsmsg", {"colonyname": c}),
            "blueprint-definitions": ("getblueprintdefinitionsmsg", {"colonyname": c}),
            "blueprints": ("getblueprintsmsg", {"namespace": c}),
            "blueprint-history": ("getblueprinthistorymsg", {"blueprintid": self.blueprint}),
            "locations": ("getlocationsmsg", {"colonyname": c}),
        }
        for pid in [self.success, self.failed, self.running, self.waiting, *self.graph_processes]:
            q[f"process-{pid[:8]}"] = ("getprocessmsg", {"processid": pid})
        for state in range(5):
            q[f"processes-{state}"] = ("getprocessesmsg", {"colonyname": c, "count": 100, "state": state})
        return q

    def snapshot(self) -> dict[str, str]:
        out = {}
        for label, (msgtype, msg) in self.queries().items():
            reply = self.fz.post(envelope.build_request(msgtype, msg, self.user.prvkey))
            assert reply.status == 200, (label, reply.payload)
            out[label] = reply.raw
        return out

    def verify(self) -> None:
        after = self.snapshot()
        changed = {k: (base64.b64decode(self.before[k])[:400], base64.b64decode(after[k])[:400])
                   for k in self.before if after[k] != self.before[k]}  # fmt: skip
        assert not changed, f"the witness colony changed: {changed}"


# -- the playground: what valid base messages address --------------------------------------------------------


def spec(nodename: str = "node", executortype: str = IDLE, deps: list[str] | None = None,
         executornames: list[str] | None = None) -> dict[str, Any]:  # fmt: skip
    """A function spec with every field filled, so that mutations have something to hit everywhere."""
    return {
        "nodename": nodename, "funcname": "fuzzfunc", "args": ["a", 1, 2.5, None, {"x": [1]}],
        "kwargs": {"k": "v", "n": 3}, "priority": 0, "maxwaittime": -1, "maxexectime": -1, "maxretries": 0,
        "label": "fuzz", "env": {"FUZZ": "1"}, "fs": {"mount": "", "snapshots": None, "dirs": None},
        "conditions": {
            "colonyname": "@colony", "executornames": executornames or [], "executortype": executortype,
            "locationname": "", "dependencies": deps or [], "nodes": 1, "cpu": "100m", "processes": 1,
            "processespernode": 1, "mem": "10Mi", "storage": "", "walltime": 0,
            "gpu": {"name": "", "mem": "", "count": 0, "nodecount": 0},
        },
    }  # fmt: skip


def file_spec(colonyname: str, label: str, name: str, data: str = "fuzz") -> dict[str, Any]:
    """A file revision as pycolonies registers it (every key, S3 secrets included: the server drops them)."""
    return {"fileid": "", "colonyname": colonyname, "label": label, "name": name, "size": len(data),
            "sequencenr": 1, "checksum": hashlib.sha256(data.encode()).hexdigest(), "checksumalg": "SHA256",
            "ref": {"protocol": "s3", "s3object": {
                "server": "s3.local", "port": 9000, "tls": False, "accesskey": "ak", "secretkey": "sk", "region": "",
                "encryptionkey": "", "encryptionalg": "", "object": "obj", "bucket": "b"}},
            "added": None}  # fmt: skip


#: The schema of the playground's blueprint kinds: typed fields, an enum, array items.
BLUEPRINT_SCHEMA = {"type": "object", "required": ["replicas"], "properties": {
    "replicas": {"type": "integer", "enum": [1, 2, 3]}, "tags": {"type": "array", "items": {"type": "string"}}}}

#: Playground resources that go with its processes.
PROCESS_RESOURCES = frozenset({"waiting", "running", "lease", "graph", "idle_graph", "attribute", "log",
                               "channel_process"})


class Playground:
    """A colony with an owner, an approved executor, an approved worker, a pending executor and a user.
    Processes, graphs, attributes, logs and functions are made when a message first refers to them."""

    def __init__(self, fz: Fuzz) -> None:
        self.fz = fz
        self.cache: dict[str, str] = {}
        self.reset()

    def reset(self) -> None:
        fz = self.fz
        self.owner = fz.identity(f"fuzz-pg-{os.urandom(4).hex()}")
        self.name = self.owner.name
        fz.call("addcolonymsg", {"colony": {"colonyid": self.owner.id, "name": self.name}}, fz.server_key)
        self.executor = self._add_executor("executor", EXEC_TYPE)
        self.worker = self._add_executor("worker", WORKER_TYPE)
        self.pending = self._add_executor("pending", EXEC_TYPE, approve=False)
        self.user = fz.identity("user")
        user = {"colonyname": self.name, "userid": self.user.id, "name": self.user.name, "email": "a@b.c",
                "phone": "1"}  # fmt: skip
        fz.call("addusermsg", {"user": user}, self.owner.prvkey)
        self.cache = {}

    def _add_executor(self, name: str, executortype: str, approve: bool = True) -> Identity:
        ident = self.fz.identity(name)
        executor = {"executorid": ident.id, "executorname": name, "executortype": executortype,
                    "colonyname": self.name}  # fmt: skip
        self.fz.call("addexecutormsg", {"executor": executor}, self.owner.prvkey)
        if approve:
            approve_msg = {"colonyname": self.name, "executorname": name}
            self.fz.call("approveexecutormsg", approve_msg, self.owner.prvkey)
        return ident

    def drop(self, names: frozenset[str]) -> None:
        for name in names:
            self.cache.pop(name, None)

    def spec(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        s = spec(*args, **kwargs)
        s["conditions"]["colonyname"] = self.name
        return s

    def submit_workflow(self, *specs: dict[str, Any]) -> Any:
        msg = {"spec": {"colonyname": self.name, "functionspecs": list(specs)}}
        return self.fz.call("submitworkflowspecmsg", msg, self.user.prvkey)

    def need(self, what: str) -> str:
        """The id of a playground resource, made on first use."""
        if what in self.cache:
            return self.cache[what]
        fz, user, worker = self.fz, self.user.prvkey, self.worker.prvkey
        if what == "waiting":
            value = fz.call("submitfuncspecmsg", {"spec": self.spec()}, user)["processid"]
        elif what in ("graph", "running", "lease"):  # a workflow whose root the worker runs
            graph = self.submit_workflow(self.spec("root", WORKER_TYPE), self.spec("leaf", IDLE, ["root"]))
            running = fz.call("assignprocessmsg", {"colonyname": self.name, "timeout": -1}, worker)
            assert running["processgraphid"] == graph["processgraphid"]
            self.cache["graph"], self.cache["running"] = graph["processgraphid"], running["processid"]
            self.cache["lease"] = running["starttime"]
            return self.cache[what]
        elif what == "idle_graph":
            value = self.submit_workflow(self.spec("a"), self.spec("b", IDLE, ["a"]))["processgraphid"]
        elif what == "attribute":
            attr = {"targetid": self.need("running"), "targetcolonyname": self.name, "attributetype": 1,
                    "key": "fuzzkey", "value": "fuzzvalue"}  # fmt: skip
            value = fz.call("addattributemsg", {"attribute": attr}, worker)["attributeid"]
        elif what == "log":
            fz.call("addlogmsg", {"processid": self.need("running"), "message": "hello fuzz"}, worker)
            value = self.need("running")
        elif what == "function":
            fun = {"executorname": "executor", "colonyname": self.name, "funcname": f"f{os.urandom(4).hex()}"}
            value = fz.call("addfunctionmsg", {"fun": fun}, self.executor.prvkey)["functionid"]
        elif what == "cron":  # scheduled far ahead, so only runcronmsg starts it
            cron = {"colonyname": self.name, "name": f"cron-{os.urandom(4).hex()}", "interval": -1,
                    "cronexpression": "0 0 3 1 1 *",
                    "workflowspec": json.dumps({"colonyname": self.name, "functionspecs": [self.spec("c")]})}
            value = fz.call("addcronmsg", {"cron": cron}, user)["cronid"]
        elif what == "generator":  # a trigger no fuzz run reaches, so packs only queue
            gen = {"colonyname": self.name, "name": f"gen-{os.urandom(4).hex()}", "trigger": 1_000_000,
                   "workflowspec": json.dumps({"colonyname": self.name, "functionspecs": [self.spec("g")]})}
            value = fz.call("addgeneratormsg", {"generator": gen}, user)["generatorid"]
        elif what == "location":
            loc = {"colonyname": self.name, "name": f"loc-{os.urandom(4).hex()}", "long": 1.0, "lat": 2.0}
            value = fz.call("addlocationmsg", {"location": loc}, self.owner.prvkey)["name"]
        elif what == "file":
            value = fz.call("addfilemsg", {"file": file_spec(self.name, "/fuzz", "f.txt")}, user)["fileid"]
        elif what == "snapshot":
            self.need("file")
            snap = {"colonyname": self.name, "label": "/fuzz", "name": f"snap-{os.urandom(4).hex()}"}
            value = fz.call("createsnapshotmsg", snap, user)["snapshotid"]
        elif what == "snapshot_name":
            sid = self.need("snapshot")
            value = fz.call("getsnapshotmsg", {"colonyname": self.name, "snapshotid": sid}, user)["name"]
        elif what == "generator_name":
            gid = self.need("generator")
            value = fz.call("getgeneratormsg", {"generatorid": gid}, user)["name"]
        elif what in ("blueprint_definition", "spare_definition"):  # reconciled by IDLE executors: nobody
            kind = f"Kind{os.urandom(4).hex()}"
            definition = {"kind": "BlueprintDefinition", "metadata": {"name": kind.lower(), "colonyname": self.name},
                          "spec": {"names": {"kind": kind}, "schema": BLUEPRINT_SCHEMA,
                                   "handler": {"executorType": IDLE, "reconcileInterval": 3600}}}  # fmt: skip
            fz.call("addblueprintdefinitionmsg", {"blueprintdefinition": definition}, self.owner.prvkey)
            if what == "blueprint_definition":
                self.cache["blueprint_kind"] = kind
            value = kind.lower()
        elif what == "blueprint_kind":
            self.need("blueprint_definition")
            return self.cache["blueprint_kind"]
        elif what in ("blueprint", "blueprint_id"):
            bp = {"kind": self.need("blueprint_kind"), "metadata": {"name": f"bp-{os.urandom(4).hex()}",
                  "colonyname": self.name}, "spec": {"replicas": 1, "tags": ["a"]}}  # fmt: skip
            added = fz.call("addblueprintmsg", {"blueprint": bp}, user)
            self.cache["blueprint"], self.cache["blueprint_id"] = added["metadata"]["name"], added["blueprintid"]
            return self.cache[what]
        elif what == "channel_process":  # running, with channel "fuzz": the user submitted it, the worker runs it
            spec = {**self.spec("ch", WORKER_TYPE), "channels": ["fuzz"]}
            submitted = fz.call("submitfuncspecmsg", {"spec": spec}, user)
            running = fz.call("assignprocessmsg", {"colonyname": self.name, "timeout": -1}, worker)
            assert running["processid"] == submitted["processid"]
            fz.call("channelappendmsg", {"processid": running["processid"], "name": "fuzz", "sequence": 1,
                                         "payload": [102, 117, 122, 122]}, worker)  # fmt: skip
            value = running["processid"]
        elif what == "queued":  # something for the executor to take (not cached: an assign consumes it)
            queued = fz.call("submitfuncspecmsg", {"spec": self.spec(executortype=EXEC_TYPE)}, user)
            return str(queued["processid"])
        else:
            raise KeyError(what)
        self.cache[what] = str(value)
        return self.cache[what]


# -- every message type: a valid base message and who sends it -----------------------------------------------

#: payloadtype -> (preferred signer, a valid message). Strings starting with "@" are placeholders, resolved
#: against the playground (or the witness) when an example runs (Fuzz.resolve). Signed ones get a fresh nonce.
BASES: dict[str, tuple[str, dict[str, Any]]] = {
    # server
    "versionmsg": ("none", {"buildversion": "", "buildtime": ""}),
    "getserverinfomsg": ("none", {}),
    "getstatisticsmsg": ("server", {}),
    "getclustermsg": ("server", {}),
    "changeserveridmsg": ("server", {"serverid": "@new_id"}),
    # colonies
    "addcolonymsg": ("server", {"colony": {"colonyid": "@new_id", "name": "@new_name"}}),
    "removecolonymsg": ("server", {"colonyname": "@colony"}),
    "getcoloniesmsg": ("server", {}),
    "getcolonymsg": ("executor", {"colonyname": "@colony"}),
    "getcolonystatsmsg": ("user", {"colonyname": "@colony"}),
    "changecolonyidmsg": ("owner", {"colonyname": "@colony", "colonyid": "@new_id"}),
    # users
    "addusermsg": ("owner", {"user": {"colonyname": "@colony", "userid": "@new_id", "name": "@new_name",
                                      "email": "a@b.c", "phone": "1"}}),  # fmt: skip
    "getusersmsg": ("user", {"colonyname": "@colony"}),
    "getusermsg": ("executor", {"colonyname": "@colony", "name": "@user_name"}),
    "getuserbyidmsg": ("user", {"colonyname": "@colony", "userid": "@user_id"}),
    "removeusermsg": ("owner", {"colonyname": "@colony", "name": "@user_name"}),
    "changeuseridmsg": ("user", {"colonyname": "@colony", "userid": "@user_id"}),
    # executors
    "addexecutormsg": ("owner", {"executor": {
        "executorid": "@new_id", "executortype": EXEC_TYPE, "executorname": "@new_name",
        "colonyname": "@colony", "locationname": "", "requirefuncreg": False, "blueprintid": "",
        "blueprintgen": 0,
        "capabilities": {"hardware": [{"model": "x", "cores": 4, "mem": "1Gi"}], "software": []},
        "allocations": {"projects": {}}}}),  # fmt: skip
    "getexecutorsmsg": ("executor", {"colonyname": "@colony"}),
    "getexecutormsg": ("user", {"colonyname": "@colony", "executorname": "@executor_name"}),
    "getexecutorbyidmsg": ("executor", {"colonyname": "@colony", "executorid": "@executor_id"}),
    "approveexecutormsg": ("owner", {"colonyname": "@colony", "executorname": "@pending_name"}),
    "rejectexecutormsg": ("owner", {"colonyname": "@colony", "executorname": "@pending_name"}),
    "removeexecutormsg": ("owner", {"colonyname": "@colony", "executorname": "@pending_name"}),
    "changeexecutoridmsg": ("executor", {"colonyname": "@colony", "executorid": "@executor_id"}),
    "updateexecutormsg": ("executor", {"colonyname": "@colony", "executorname": "@executor_name", "capabilities": {
        "hardware": [{"model": "x", "cores": 2, "gpu": {"count": 0}, "network": ["10.0.0.1"]}],
        "software": [{"name": "python", "type": "runtime", "version": "3"}]}}),  # fmt: skip
    "reportallocationmsg": ("executor", {"colonyname": "@colony", "executorname": "@executor_name",
                                         "allocations": {"projects": {"p1": {
                                             "allocatedcpu": 4, "usedcpu": 1, "allocatedgpu": 0, "usedgpu": 0,
                                             "allocatedstorage": 10, "usedstorage": 2}}}}),  # fmt: skip
    # functions
    "addfunctionmsg": ("executor", {"fun": {
        "functionid": "", "executorname": "@executor_name", "executortype": EXEC_TYPE,
        "colonyname": "@colony", "funcname": "@new_name", "description": "d",
        "args": [{"name": "x", "type": "int", "description": "", "required": True, "enum": [1, 2]}],
    }}),  # fmt: skip
    "getfunctionsmsg": ("user", {"colonyname": "@colony", "executorname": "@executor_name"}),
    "removefunctionmsg": ("executor", {"functionid": "@function"}),
    # processes
    "submitfuncspecmsg": ("user", {"spec": spec(executortype=EXEC_TYPE, executornames=["executor"])}),
    "assignprocessmsg": ("executor", {"colonyname": "@colony", "timeout": -1, "availablecpu": "",
                                      "availablemem": ""}),  # fmt: skip
    "getprocesshistmsg": ("executor", {"colonyname": "@colony", "executorid": "@executor_id", "seconds": 3600,
                                       "state": 1}),  # fmt: skip
    "getprocessesmsg": ("user", {"colonyname": "@colony", "count": 10, "state": 0, "executortype": "",
                                 "label": "", "initiator": "", "processgraphid": ""}),  # fmt: skip
    "getprocessmsg": ("user", {"processid": "@waiting", "all": False}),
    "removeprocessmsg": ("user", {"processid": "@waiting", "all": False}),
    "removeallprocessesmsg": ("owner", {"colonyname": "@colony", "state": -1}),
    "closesuccessfulmsg": ("worker", {"processid": "@running", "out": ["done", 1, {"k": [1.5]}],
                                      "lease": "@lease"}),  # fmt: skip
    "closefailedmsg": ("worker", {"processid": "@running", "errors": ["boom"], "lease": "@lease"}),
    "setoutputmsg": ("worker", {"processid": "@running", "out": [1, "two"], "lease": "@lease"}),
    "cancelprocessmsg": ("user", {"processid": "@waiting", "all": False}),
    # assignment pauses (a successful pause is undone at once: see Fuzz.after)
    "pauseassignmentsmsg": ("owner", {"colonyname": "@colony"}),
    "resumeassignmentsmsg": ("owner", {"colonyname": "@colony"}),
    "getpausestatusmsg": ("user", {"colonyname": "@colony"}),
    # workflows
    "submitworkflowspecmsg": ("user", {"spec": {
        "colonyname": "@colony", "functionspecs": [spec("a"), spec("b", IDLE, ["a"])],
    }}),  # fmt: skip
    "getprocessgraphmsg": ("executor", {"processgraphid": "@graph", "all": False}),
    "getprocessgraphsmsg": ("user", {"colonyname": "@colony", "count": 10, "state": 0}),
    "removeprocessgraphmsg": ("user", {"processgraphid": "@idle_graph", "all": False}),
    "removeallprocessgraphsmsg": ("owner", {"colonyname": "@colony", "state": -1}),
    "cancelprocessgraphmsg": ("user", {"processgraphid": "@idle_graph", "all": False}),
    "addchildmsg": ("worker", {"processgraphid": "@graph", "parentprocessid": "@running",
                               "childprocessid": "", "spec": spec("child"), "insert": False}),  # fmt: skip
    # attributes
    "addattributemsg": ("worker", {"attribute": {"targetid": "@running", "targetcolonyname": "@colony",
                                                 "attributetype": 1, "key": "@new_name", "value": "v"},
                                   "lease": "@lease"}),  # fmt: skip
    "getattributemsg": ("user", {"attributeid": "@attribute"}),
    # logs
    "addlogmsg": ("worker", {"processid": "@running", "message": "hello fuzz", "lease": "@lease"}),
    "addexecutorlogmsg": ("executor", {"colonyname": "@colony", "executorname": "@executor_name",
                                       "message": "hello fuzz"}),  # fmt: skip
    "getlogsmsg": ("user", {"colonyname": "@colony", "processid": "@log", "executorname": "", "count": 10,
                            "since": 0, "latest": False}),  # fmt: skip
    "searchlogsmsg": ("executor", {"colonyname": "@colony", "text": "hello", "days": 1, "count": 10}),
    # crons
    "addcronmsg": ("user", {"cron": {"colonyname": "@colony", "name": "@new_name", "interval": -1,
                                     "cronexpression": "0 0 3 1 1 *", "random": False,
                                     "waitforprevprocessgraph": False,
                                     "workflowspec": json.dumps({"functionspecs": [spec("c")]})}}),
    "getcronmsg": ("user", {"cronid": "@cron"}),
    "getcronsmsg": ("executor", {"colonyname": "@colony", "count": 10}),
    "runcronmsg": ("user", {"cronid": "@cron"}),
    "removecronmsg": ("user", {"cronid": "@cron", "all": False}),
    "getcronrunsmsg": ("user", {"cronid": "@cron", "count": 10}),
    # locations
    "addlocationmsg": ("owner", {"location": {"locationid": "", "name": "@new_name", "colonyname": "@colony",
                                              "description": "d", "long": 1.5, "lat": -2.5}}),
    "getlocationsmsg": ("user", {"colonyname": "@colony"}),
    "getlocationmsg": ("user", {"colonyname": "@colony", "name": "@location"}),
    "removelocationmsg": ("owner", {"colonyname": "@colony", "name": "@location"}),
    # files and snapshots
    "addfilemsg": ("executor", {"file": file_spec("@colony", "/fuzz", "@new_name")}),
    "getfilemsg": ("user", {"colonyname": "@colony", "fileid": "@file", "label": None, "name": None,
                            "latest": True}),  # fmt: skip
    "getfilesmsg": ("user", {"colonyname": "@colony", "label": "/fuzz"}),
    "getfilelabelsmsg": ("executor", {"colonyname": "@colony", "name": "/fuzz", "exact": True}),
    "removefilemsg": ("user", {"colonyname": "@colony", "fileid": "@file", "label": "/fuzz", "name": "f.txt"}),
    "createsnapshotmsg": ("user", {"colonyname": "@colony", "label": "/fuzz", "name": "@new_name"}),
    "getsnapshotmsg": ("executor", {"colonyname": "@colony", "snapshotid": "@snapshot", "name": ""}),
    "getsnapshotsmsg": ("user", {"colonyname": "@colony"}),
    "removesnapshotmsg": ("user", {"colonyname": "@colony", "snapshotid": "", "name": "@snapshot_name"}),
    "removeallsnapshotmsg": ("user", {"colonyname": "@colony"}),
    # generators
    "addgeneratormsg": ("user", {"generator": {"colonyname": "@colony", "name": "@new_name", "trigger": 1_000_000,
                                               "timeout": 0,
                                               "workflowspec": json.dumps({"functionspecs": [spec("g")]})}}),
    "getgeneratormsg": ("executor", {"generatorid": "@generator"}),
    "resolvegeneratormsg": ("user", {"colonyname": "@colony", "generatorname": "@generator_name"}),
    "getgeneratorsmsg": ("user", {"colonyname": "@colony", "count": 10}),
    "packgeneratormsg": ("user", {"generatorid": "@generator", "arg": "fuzz-arg"}),
    "removegeneratormsg": ("user", {"generatorid": "@generator", "all": False}),
    "getgeneratorrunsmsg": ("user", {"generatorid": "@generator", "count": 10}),
    # blueprints
    "addblueprintdefinitionmsg": ("owner", {"blueprintdefinition": {
        "blueprintdefinitionid": "", "kind": "BlueprintDefinition",
        "metadata": {"name": "@new_name", "colonyname": "@colony", "labels": {"a": "b"}},
        "spec": {"group": "fuzz.io", "version": "v1", "names": {"kind": "@new_name", "plural": "ks"},
                 "scope": "Namespaced", "schema": BLUEPRINT_SCHEMA,
                 "handler": {"executorType": IDLE, "functionName": "reconcile", "reconcileInterval": 3600}}}}),
    "getblueprintdefinitionmsg": ("user", {"colonyname": "@colony", "name": "@blueprint_definition"}),
    "getblueprintdefinitionsmsg": ("executor", {"colonyname": "@colony"}),
    "removeblueprintdefinitionmsg": ("owner", {"namespace": "@colony", "name": "@spare_definition"}),
    "addblueprintmsg": ("user", {"blueprint": {
        "blueprintid": "", "kind": "@blueprint_kind",
        "metadata": {"name": "@new_name", "colonyname": "@colony", "locationname": "", "labels": {"a": "b"}},
        "handler": {"executorType": IDLE}, "spec": {"replicas": 1, "tags": ["x", "y"], "any": {"k": [1.5]}}}}),
    "getblueprintmsg": ("user", {"namespace": "@colony", "name": "@blueprint"}),
    "getblueprintsmsg": ("executor", {"namespace": "@colony", "kind": "@blueprint_kind", "locationname": ""}),
    "updateblueprintmsg": ("user", {"blueprint": {
        "kind": "@blueprint_kind", "metadata": {"name": "@blueprint", "colonyname": "@colony"},
        "spec": {"replicas": 2, "tags": []}}, "forcegeneration": False}),
    "removeblueprintmsg": ("user", {"namespace": "@colony", "name": "@blueprint"}),
    "getblueprinthistorymsg": ("user", {"blueprintid": "@blueprint_id", "limit": 10}),
    "updateblueprintstatusmsg": ("executor", {"colonyname": "@colony", "blueprintname": "@blueprint",
                                              "status": {"ready": 1, "instances": [{"id": "a"}]}}),
    "reconcileblueprintmsg": ("executor", {"namespace": "@colony", "name": "@blueprint", "force": True}),
    # channels
    "channelappendmsg": ("worker", {"processid": "@channel_process", "name": "fuzz", "sequence": 2, "inreplyto": 1,
                                    "payload": [104, 105], "payloadtype": ""}),
    "channelreadmsg": ("user", {"processid": "@channel_process", "name": "fuzz", "afterseq": 0, "limit": 10}),
}

#: A 200 to one of these may have removed the playground or changed its members' rights: make a new one.
COLONY_RESETS = frozenset({"removecolonymsg", "changecolonyidmsg", "removeexecutormsg", "rejectexecutormsg",
                           "removeusermsg", "addexecutormsg", "addusermsg", "changeuseridmsg",
                           "changeexecutoridmsg"})  # fmt: skip
#: A 200 to one of these may have removed, closed, cancelled or rewired the playground's processes.
PROCESS_RESETS = frozenset({"removeprocessmsg", "removeallprocessesmsg", "closesuccessfulmsg",
                            "closefailedmsg", "cancelprocessmsg", "removeprocessgraphmsg",
                            "removeallprocessgraphsmsg", "cancelprocessgraphmsg", "addchildmsg"})  # fmt: skip
PLAYGROUND_PLACEHOLDERS = [
    "@colony", "@owner_id", "@executor_name", "@executor_id", "@worker_name", "@worker_id", "@pending_name",
    "@user_name", "@user_id", "@waiting", "@running", "@graph", "@idle_graph", "@attribute", "@function",
    "@log", "@cron", "@generator", "@generator_name", "@location", "@file", "@snapshot", "@snapshot_name",
    "@lease", "@new_id", "@new_name", "@server_id", "@upper_id", "@nonce", "@stale_nonce", "@reused_nonce",
    "@blueprint_definition", "@blueprint_kind", "@blueprint", "@blueprint_id", "@spare_definition",
    "@channel_process",
]  # fmt: skip
WITNESS_PLACEHOLDERS = [
    "@w_colony", "@w_owner_id", "@w_executor_name", "@w_executor_id", "@w_user_name", "@w_user_id",
    "@w_waiting", "@w_running", "@w_success", "@w_graph", "@w_attribute", "@w_function", "@w_cron",
    "@w_generator", "@w_file", "@w_fs_snapshot", "@w_blueprint", "@w_blueprint_id",
]  # fmt: skip


def test_every_message_type_has_a_base_message() -> None:
    assert set(BASES) == set(HANDLERS)


# -- the fuzzing session -------------------------------------------------------------------------------------


class Fuzz:
    """The server under test, the witness, the playground and the keys the test holds."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.http = httpx.Client(timeout=REQUEST_TIMEOUT)
        self.url = server.url + "/api"
        self.server_key = server.prvkey
        self.server_id = crypto.id_from_prvkey(server.prvkey)
        self.keyring: dict[str, str] = {self.server_id: self.server_key}  #: id -> key, for changeserveridmsg
        self.stranger = self.identity("stranger")
        self.statuses: dict[str, Counter[int]] = {}
        self.restarts = 0
        self.reused_nonce = envelope.new_nonce()
        self.witness = Witness(self)
        self.pg = Playground(self)
        self.wf_colony: Playground | None = None

    def close(self) -> None:
        self.http.close()

    def identity(self, name: str) -> Identity:
        ident = new_identity(name)
        self.keyring[ident.id] = ident.prvkey
        return ident

    def post(self, body: bytes) -> Reply:
        try:
            resp = self.http.post(self.url, content=body, timeout=REQUEST_TIMEOUT)
        except httpx.TimeoutException:
            pytest.fail(f"no reply within {REQUEST_TIMEOUT} s (a hang) to {body[:300]!r}")
        return check_reply(resp, body)

    def call(self, msgtype: str, msg: dict[str, Any], key: str | None) -> Any:
        """A setup call, which must succeed."""
        reply = self.post(envelope.build_request(msgtype, msg, key))
        assert reply.status == 200, f"setup call {msgtype} failed: {reply.status} {reply.payload}"
        return reply.payload

    def key(self, role: str) -> str | None:
        if role == "server":
            return self.server_key
        if role == "none":
            return None
        pg = self.pg
        return {"owner": pg.owner, "executor": pg.executor, "worker": pg.worker, "user": pg.user,
                "pending": pg.pending, "stranger": self.stranger}[role].prvkey  # fmt: skip

    def resolve(self, value: Any, role: str) -> Any:
        """Placeholders → real names and ids (making playground resources on first use)."""
        if isinstance(value, dict):
            return {k: self.resolve(v, role) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v, role) for v in value]
        if not isinstance(value, str) or not value.startswith("@") or value.startswith("@@"):
            return value
        if value.startswith("@w_"):
            if role == "server":  # the server owner may remove any colony: never point it at the witness
                return f"not-the-witness-{os.urandom(4).hex()}"
            w = self.witness
            return {
                "@w_colony": w.name, "@w_owner_id": w.owner.id, "@w_executor_name": w.executor.name,
                "@w_executor_id": w.executor.id, "@w_user_name": w.user.name, "@w_user_id": w.user.id,
                "@w_waiting": w.waiting, "@w_running": w.running, "@w_success": w.success,
                "@w_graph": w.graph, "@w_attribute": w.attribute, "@w_function": w.function,
                "@w_cron": w.cron, "@w_generator": w.generator, "@w_file": w.file, "@w_fs_snapshot": w.fs_snapshot,
                "@w_blueprint": "witness-bp", "@w_blueprint_id": w.blueprint,
            }.get(value, value)  # fmt: skip
        pg = self.pg
        fixed = {
            "@colony": pg.name, "@owner_id": pg.owner.id, "@executor_name": "executor",
            "@executor_id": pg.executor.id, "@worker_name": "worker", "@worker_id": pg.worker.id,
            "@pending_name": "pending", "@user_name": pg.user.name, "@user_id": pg.user.id,
            "@server_id": self.server_id, "@upper_id": pg.executor.id.upper(),
            "@reused_nonce": self.reused_nonce,
        }  # fmt: skip
        if value in fixed:
            return fixed[value]
        if value == "@new_id":
            return self.identity("fresh").id
        if value == "@new_name":
            return f"fuzz-{os.urandom(6).hex()}"
        if value == "@nonce":
            return envelope.new_nonce()
        if value == "@stale_nonce":
            return f"{time.time_ns() - 86_400 * 10**9}-{os.urandom(12).hex()}"
        if value[1:] in ("waiting", "running", "lease", "graph", "idle_graph", "attribute", "function",
                         "log", "cron", "generator", "generator_name", "location", "file", "snapshot",
                         "snapshot_name", "blueprint_definition", "blueprint_kind", "blueprint", "blueprint_id",
                         "spare_definition", "channel_process"):
            return self.pg.need(value[1:])
        return value

    def queue_still_serves(self) -> None:
        """The playground executor can still ask for work: a poisoned queue would answer 5xx to everyone."""
        msg = {"colonyname": self.pg.name, "timeout": -1}
        reply = self.post(envelope.build_request("assignprocessmsg", msg, self.pg.executor.prvkey))
        assert reply.status in (200, 404), reply.payload

    def after(self, payloadtype: str, reply: Reply) -> None:
        """Repair what a successful destructive message did to the playground or to the server id."""
        self.statuses.setdefault(payloadtype, Counter())[reply.status] += 1
        if reply.status != 200:
            return
        if payloadtype == "changeserveridmsg":
            self.restore_server_id(str(reply.payload.get("serverid", "")))
        elif payloadtype in COLONY_RESETS:
            self.pg.reset()
        elif payloadtype in PROCESS_RESETS:
            self.pg.drop(PROCESS_RESOURCES)
        elif payloadtype == "removefunctionmsg":
            self.pg.drop(frozenset({"function"}))
        elif payloadtype == "removecronmsg":
            self.pg.drop(frozenset({"cron"}))
        elif payloadtype == "removelocationmsg":
            self.pg.drop(frozenset({"location"}))
        elif payloadtype == "removefilemsg":
            self.pg.drop(frozenset({"file"}))
        elif payloadtype in ("removesnapshotmsg", "removeallsnapshotmsg"):
            self.pg.drop(frozenset({"snapshot", "snapshot_name"}))
        elif payloadtype == "removegeneratormsg":
            self.pg.drop(frozenset({"generator", "generator_name"}))
        elif payloadtype == "pauseassignmentsmsg":  # a paused playground would hand out nothing
            self.call("resumeassignmentsmsg", {"colonyname": self.pg.name}, self.pg.owner.prvkey)
        elif payloadtype == "removeblueprintmsg":
            self.pg.drop(frozenset({"blueprint", "blueprint_id"}))
        elif payloadtype == "removeblueprintdefinitionmsg":  # whichever it was, make both anew
            self.pg.drop(frozenset({"spare_definition", "blueprint_definition", "blueprint_kind", "blueprint",
                                    "blueprint_id"}))

    def restore_server_id(self, current: str) -> None:
        if current == self.server_id:
            return
        if current in self.keyring:
            self.call("changeserveridmsg", {"serverid": self.server_id}, self.keyring[current])
        else:  # nobody holds the key: only a restart (which re-applies --server-id) gets the server back
            self.server.kill()
            self.server.restart()
            self.restarts += 1
        self.call("getstatisticsmsg", {}, self.server_key)


@pytest.fixture(scope="module")
def fz(tmp_path_factory: pytest.TempPathFactory, backend: str) -> Iterator[Fuzz]:
    server = start_server(str(tmp_path_factory.mktemp("fuzz")), backend=backend,
                          env={"COLONIES_MAX_WAIT_TIMEOUT": "1"})  # fmt: skip
    fuzz = Fuzz(server)
    yield fuzz
    report = os.environ.get("COLONIES_FUZZ_REPORT")
    if report:
        with open(report, "a") as f:
            statuses = {t: dict(c) for t, c in sorted(fuzz.statuses.items())}
            f.write(json.dumps({"backend": backend, "restarts": fuzz.restarts, "statuses": statuses}) + "\n")
    fuzz.close()
    server.stop()


@pytest.fixture(autouse=True)
def _unrelated_data_intact(fz: Fuzz) -> Iterator[None]:
    """After every test in this file: the server runs, the witness is unchanged, the queue still serves."""
    yield
    assert fz.server.proc.poll() is None, "the server died"
    fz.witness.verify()
    fz.queue_still_serves()


# -- strategies ----------------------------------------------------------------------------------------------

HUGE_INTS = [2**31, 2**31 + 1, -(2**31) - 1, 2**53 + 1, 2**62, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1,
             2**64, 10**30, -(10**30), 10**400]  # fmt: skip
INTERESTING = ["", " ", "0", "-1", "null", "true", "[]", "{}", "\x00", "a\x00b", "\n", "\r\n", "\t", "\u202e",
               "💥", "é", "\ufeff", "%", "_", "%_%", "\\", "'", '"', "';--", "' OR '1'='1",
               "Robert'); DROP TABLE processes;--", "../../etc/passwd", "e30=", "1e309", "NaN", "500m",
               "16Gi", "-5m", "0x10", "a" * 257, "Z" * 64, "0" * 64, "g" * 64, "AF" * 32]  # fmt: skip

long_strings = st.tuples(st.sampled_from(["a", "é", "💥", "\x00", "%"]), st.integers(256, 1_100_000)).map(
    lambda t: t[0] * t[1]
)
strings = st.one_of(
    st.text(max_size=30),
    st.sampled_from(PLAYGROUND_PLACEHOLDERS + WITNESS_PLACEHOLDERS),
    st.sampled_from(INTERESTING),
    long_strings,
)
leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 10),
    st.integers(),
    st.sampled_from(HUGE_INTS),
    st.floats(),  # NaN and ±Infinity too: not JSON, and the server must say so
    strings,
)
json_values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=8,
)
keys = st.one_of(st.text(max_size=12), st.sampled_from([
    "msgtype", "colonyname", "processid", "state", "count", "spec", "conditions", "timeout", "nonce", "lease",
    "__proto__",
]))  # fmt: skip
#: An index into the message's paths (modulo their number), or an explicit path (for pinned regressions).
selector = st.integers(0, 1000)
#: A mutation plan is data only, so that a failing one can be pinned with @example:
#: ("drop", path) | ("set", path, value) | ("add", path, key, value) | ("nest", path, depth).
mutation = st.one_of(
    st.tuples(st.just("drop"), selector),
    st.tuples(st.just("set"), selector, json_values),
    st.tuples(st.just("add"), selector, keys, json_values),
    st.tuples(st.just("nest"), selector, st.integers(1, 3000)),
)
plans = st.lists(mutation, max_size=5)
roles = st.sampled_from(["preferred"] * len(ROLES) + ROLES)  # the sensible signer half of the time


def all_paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += all_paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += all_paths(v, (*prefix, i))
    return out


def get_at(node: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        node = node[step]
    return node


def mutate(msg: dict[str, Any], plan: list[tuple[Any, ...]]) -> tuple[Any, dict[str, int]]:
    """Apply a plan to a copy. Deep nesting stays a "@@nest-i" token, spliced in as text by ``encode``."""
    msg = copy.deepcopy(msg)
    nests: dict[str, int] = {}
    for op in plan:
        kind = op[0]
        if isinstance(op[1], tuple):
            path = op[1]
        else:
            paths = all_paths(msg)
            path = paths[op[1] % len(paths)]
        if kind == "add":
            target = get_at(msg, path)
            if not isinstance(target, (dict, list)) and path:
                target = get_at(msg, path[:-1])
            if isinstance(target, dict):
                target[op[2]] = copy.deepcopy(op[3])
            elif isinstance(target, list):
                target.append(copy.deepcopy(op[3]))
            continue
        if not path:  # dropping or replacing the whole message is the envelope tests' business
            continue
        parent = get_at(msg, path[:-1])
        if kind == "drop":
            if isinstance(parent, list) or path[-1] in parent:
                del parent[path[-1]]
        elif kind == "set":
            parent[path[-1]] = copy.deepcopy(op[2])
        else:
            token = f"@@nest-{len(nests)}"
            nests[token] = op[2]
            parent[path[-1]] = [token]
    return msg, nests


def encode(msg: Any, nests: dict[str, int], ascii_only: bool) -> str:
    """base64 of the JSON text (the stdlib encoder lets big integers, NaN and lone surrogates through)."""
    text = json.dumps(msg, ensure_ascii=ascii_only, allow_nan=True)
    for token, depth in nests.items():
        text = text.replace(f'["{token}"]', "[" * depth + "1" + "]" * depth)
    return b64(text.encode("utf-8", "surrogatepass"))


def fuzz_message(fz: Fuzz, msgtype: str, role: str, plan: list[tuple[Any, ...]], ascii_only: bool) -> Reply:
    """Mutate the base message of ``msgtype``, sign it as ``role``, send it, check the reply, repair."""
    preferred, base = BASES[msgtype]
    role = preferred if role == "preferred" else role
    if msgtype not in UNSIGNED:
        base = {"nonce": "@nonce", **base}  # as the SDK sends it (replay protection)
    mutated, nests = mutate(base, plan)
    msg = fz.resolve(mutated, role)
    if isinstance(msg, dict):
        msg["msgtype"] = msgtype
    if msgtype == "assignprocessmsg":
        fz.pg.need("queued")  # something to assign, so that the success path is fuzzed too
    reply = fz.post(envelope_body(msgtype, encode(msg, nests, ascii_only), fz.key(role)))
    if reply.status == 200:
        assert reply.payloadtype == REPLY_TYPES.get(msgtype, msgtype), reply
        assert isinstance(reply.payload, (dict, list)), reply.payload
        if msgtype in ("submitfuncspecmsg", "submitworkflowspecmsg", "addchildmsg"):
            fz.queue_still_serves()  # what was accepted must not break assignment for others
    fz.after(msgtype, reply)
    return reply


# -- 1. the envelope -----------------------------------------------------------------------------------------


@settings(FUZZ, max_examples=EXAMPLES * 2)
@given(body=st.binary(max_size=4096))
def test_envelope_arbitrary_bytes(fz: Fuzz, body: bytes) -> None:
    reply = fz.post(body)
    assert reply.status in (400, 403), (body, reply.payload)


@settings(FUZZ, max_examples=EXAMPLES * 2)
@example(value={"payloadtype": "getcolonymsg", "payload": "e30=", "signature": ["x"]})
@example(value={"payloadtype": "versionmsg", "payload": 10**30})
@given(value=json_values)
def test_envelope_arbitrary_json(fz: Fuzz, value: Any) -> None:
    reply = fz.post(json.dumps(value, allow_nan=True).encode("utf-8", "surrogatepass"))
    assert reply.status != 200 or (isinstance(value, dict) and value.get("payloadtype") in UNSIGNED), reply


MISSING = object()
not_strings = json_values.filter(lambda v: not isinstance(v, str))
envelope_types = st.one_of(
    st.sampled_from(TYPES), st.text(max_size=30), not_strings, st.just(MISSING),
    st.sampled_from(["", "GETCOLONYMSG", "error", "getcolonymsg\x00"]),
)  # fmt: skip
payload_kinds = st.one_of(
    st.tuples(st.sampled_from(["valid", "valid_newline", "valid_urlsafe", "valid_unpadded", "valid_spaces"])),
    st.tuples(st.just("other_type"), st.sampled_from(TYPES)),
    st.tuples(st.just("b64_bytes"), st.binary(max_size=512)),
    st.tuples(st.just("b64_json"), json_values),
    st.tuples(st.just("text"), st.text(max_size=200)),
    st.tuples(st.just("raw"), not_strings),
    st.tuples(st.just("missing")),
)
signature_kinds = st.one_of(
    st.tuples(st.sampled_from(["valid", "upper", "truncated", "extended", "other_payload", "flip"]), roles,
              st.integers(0, 200)),  # fmt: skip
    st.tuples(st.just("random_hex"), st.binary(max_size=140)),
    st.tuples(st.just("text"), st.text(max_size=140)),
    st.tuples(st.just("raw"), not_strings),
    st.tuples(st.sampled_from(["missing", "empty"])),
)


@settings(FUZZ, max_examples=EXAMPLES * 4)
@example(ptype="getcolonymsg", payload_kind=("valid",), sig_kind=("valid", "preferred", 0), extra={})
@given(ptype=envelope_types, payload_kind=payload_kinds, sig_kind=signature_kinds,
       extra=st.dictionaries(st.text(max_size=10), json_values, max_size=2))  # fmt: skip
def test_envelope_fields(fz: Fuzz, ptype: Any, payload_kind: tuple[Any, ...], sig_kind: tuple[Any, ...],
                         extra: dict[str, Any]) -> None:  # fmt: skip
    """Real or random payloadtypes; payloads valid, of another type, random, not base64 or missing; signatures
    valid, by another role, over another payload, truncated, extended, flipped, random or missing."""
    real = ptype if isinstance(ptype, str) and ptype in HANDLERS else None
    role = sig_kind[1] if len(sig_kind) > 2 else "preferred"

    def valid_payload(msgtype: str) -> str:
        preferred, base = BASES[msgtype]
        msg = fz.resolve(base, preferred if role == "preferred" else role)
        return str(envelope.encode_payload({"nonce": envelope.new_nonce(), **msg, "msgtype": msgtype}))

    kind = payload_kind[0]
    payload: Any = MISSING
    if kind.startswith("valid"):
        payload = valid_payload(real or "getcolonymsg")
        payload = {
            "valid": payload, "valid_newline": payload[:4] + "\n" + payload[4:],
            "valid_urlsafe": payload.replace("+", "-").replace("/", "_"),
            "valid_unpadded": payload.rstrip("="), "valid_spaces": f" {payload} ",
        }[kind]  # fmt: skip
    elif kind == "other_type":
        payload = valid_payload(payload_kind[1])
    elif kind == "b64_bytes":
        payload = b64(payload_kind[1])
    elif kind == "b64_json":
        payload = b64(json.dumps(payload_kind[1], allow_nan=True).encode("utf-8", "surrogatepass"))
    elif kind in ("text", "raw"):
        payload = payload_kind[1]

    skind = sig_kind[0]
    signature: Any = MISSING
    if len(sig_kind) > 2:  # made from a real signature
        signer = BASES[real or "getcolonymsg"][0] if role == "preferred" else role
        key = fz.key(signer) or fz.pg.user.prvkey
        signed = payload if isinstance(payload, str) else "e30="
        good = crypto.sign(b64(signed + "x") if skind == "other_payload" else signed, key)
        cut = sig_kind[2] % 130
        signature = {
            "valid": good, "other_payload": good, "upper": good.upper(), "truncated": good[:cut],
            "extended": good + "00" * (1 + sig_kind[2] % 4),
            "flip": good[:cut] + ("1" if good[cut] == "0" else "0") + good[cut + 1 :],
        }[skind]  # fmt: skip
    elif skind == "random_hex":
        signature = sig_kind[1].hex()
    elif skind in ("text", "raw"):
        signature = sig_kind[1]
    elif skind == "empty":
        signature = ""

    body = {k: v for k, v in extra.items() if k not in ("payloadtype", "payload", "signature")}
    for name, value in (("payloadtype", ptype), ("payload", payload), ("signature", signature)):
        if value is not MISSING:
            body[name] = value
    reply = fz.post(json.dumps(body, allow_nan=True).encode("utf-8", "surrogatepass"))
    if real:
        fz.after(real, reply)


# -- 2. every message's payload ------------------------------------------------------------------------------


@pytest.fixture
def fresh_playground(fz: Fuzz) -> Fuzz:
    fz.pg.reset()
    return fz


def has_nul(value: Any) -> bool:
    """Whether a NUL character is in any string (key or value) of ``value``."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(has_nul(v) for v in value)
    return False


@pytest.mark.parametrize("msgtype", TYPES)
@FUZZ
@example(role="preferred", plan=[], ascii_only=True)
@example(role="preferred", plan=[("add", 0, "extra", {"unknown": [1, None]})], ascii_only=False)
@example(role="preferred", plan=[("add", 0, "\x00", None)], ascii_only=False)  # refused: a NUL in a key
@given(role=roles, plan=plans, ascii_only=st.booleans())
def test_payload(fresh_playground: Fuzz, msgtype: str, role: str, plan: list[tuple[Any, ...]],
                 ascii_only: bool) -> None:  # fmt: skip
    """Mutations of a valid message of every type, signed by the sensible role or another one."""
    reply = fuzz_message(fresh_playground, msgtype, role, plan, ascii_only)
    fields = HANDLERS[msgtype][0].model_fields
    if role == "preferred" and all(op[:2] == ("add", 0) and op[2] not in fields and not has_nul(op[2:])
                                   for op in plan):  # fmt: skip
        # The valid message works, and unknown top-level keys are ignored (Go encoding/json leniency), unless a NUL
        # is in them: that is refused anywhere in a payload (400), or the payload grew past the message limit (413).
        added = len(json.dumps(plan, default=repr).encode())
        if added * 4 // 3 > 3 * 1024 * 1024:  # base64 of the payload near COLONIES_MAX_MESSAGE_BYTES (4 MiB)
            assert reply.status in (200, 413), (msgtype, reply.payload)
        else:
            assert reply.status == 200, (msgtype, plan, reply.payload)


HUGE = -(2**63) - 1
NUL = "\x00" * 256


@settings(FUZZ, max_examples=max(1, EXAMPLES // 4))
# Integers beyond 64 bits in free-form JSON the server stores (executor capabilities and allocations, function
# args) were a 500: orjson refused to serialise them. Now 400.
@example(msgtype="addexecutormsg", role="preferred", plan=[("set", ("executor", "capabilities"), {"": HUGE})],
         ascii_only=False)  # fmt: skip
@example(msgtype="addexecutormsg", role="preferred", plan=[("add", ("executor", "allocations"), "n", 2**64)],
         ascii_only=True)  # fmt: skip
@example(msgtype="addfunctionmsg", role="preferred", plan=[("add", ("fun", "args", 0), "", HUGE)],
         ascii_only=False)  # fmt: skip
# A NUL in any text reaching PostgreSQL (query parameter or stored field) was "Internal storage error" (500).
@example(msgtype="getprocessesmsg", role="preferred", plan=[("set", ("colonyname",), NUL)], ascii_only=False)
@example(msgtype="addlogmsg", role="preferred", plan=[("set", ("message",), "a\x00b")], ascii_only=True)
@example(msgtype="submitfuncspecmsg", role="preferred", plan=[("set", ("spec", "label"), "\x00")],
         ascii_only=True)  # fmt: skip
# A NUL in conditions.executornames was stored (escaped, in JSON text); on PostgreSQL every later assign of
# that executor type in the colony then failed with 500 (the jsonb cast of the poisoned row).
@example(msgtype="submitfuncspecmsg", role="preferred",
         plan=[("set", ("spec", "conditions", "executornames", 0), "a\x00")], ascii_only=False)  # fmt: skip
@example(msgtype="submitworkflowspecmsg", role="preferred",
         plan=[("set", ("spec", "functionspecs", 0, "conditions", "executornames"), ["\x00"]),
               ("set", ("spec", "functionspecs", 0, "conditions", "executortype"), EXEC_TYPE)],
         ascii_only=True)  # fmt: skip
@given(msgtype=st.sampled_from(TYPES), role=roles, plan=plans, ascii_only=st.booleans())
def test_payload_regressions(fresh_playground: Fuzz, msgtype: str, role: str, plan: list[tuple[Any, ...]],
                             ascii_only: bool) -> None:  # fmt: skip
    """Inputs with which the campaign once found a server bug (pinned), then a few of any type."""
    fuzz_message(fresh_playground, msgtype, role, plan, ascii_only)


# -- 3. workflow specs ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkflowCase:
    """A random DAG (``size`` nodes, each with up to ``max_deps`` earlier parents), then damaged."""

    size: int
    seed: int
    max_deps: int
    prefix: str
    corruptions: tuple[tuple[str, int, int], ...]

    def build(self) -> list[tuple[str, list[str]]]:
        rnd = random.Random(self.seed)
        n = self.size
        deps: list[list[int | str]] = [list(rnd.sample(range(i), min(i, rnd.randint(0, self.max_deps))))
                                       for i in range(n)]  # fmt: skip
        names = [f"{self.prefix}{i}" for i in range(n)]
        for kind, a, b in self.corruptions if n else ():
            i, j = a % n, b % n
            if kind == "self":
                deps[i].append(i)
            elif kind == "back":  # to a later node: a cycle when a path already leads back
                deps[i].append(j)
            elif kind == "cycle":
                deps[i].append(j)
                deps[j].append(i)
            elif kind == "missing":
                deps[i].append(f"ghost-{b}")
            elif kind == "dupname":
                names[j] = names[i]
            elif kind == "dupdep" and deps[i]:
                deps[i].append(deps[i][0])
            elif kind == "emptyname":
                names[i] = ""
        return [(names[i], [names[d] if isinstance(d, int) else d for d in deps[i]]) for i in range(n)]


def expected_valid(nodes: list[tuple[str, list[str]]]) -> bool:
    """The oracle, written apart from colonies.dag: named, unique, known distinct parents, no cycle."""
    names = [name for name, _ in nodes]
    if not nodes or "" in names or len(set(names)) != len(names):
        return False
    for name, parents in nodes:
        if name in parents or len(set(parents)) != len(parents) or not set(parents) <= set(names):
            return False
    done: set[str] = set()
    progress = True
    while progress:
        progress = False
        for name, parents in nodes:
            if name not in done and all(p in done for p in parents):
                done.add(name)
                progress = True
    return len(done) == len(nodes)


workflow_cases = st.builds(
    WorkflowCase,
    size=st.one_of(st.integers(0, 8), st.integers(0, 8), st.integers(9, 40), st.integers(100, 300)),
    seed=st.integers(0, 2**32 - 1),
    max_deps=st.integers(0, 4),
    prefix=st.one_of(st.just("n"), st.text(st.characters(exclude_categories=("Cs",)), max_size=12)),
    corruptions=st.lists(
        st.tuples(st.sampled_from(["self", "back", "cycle", "missing", "dupname", "dupdep", "emptyname"]),
                  st.integers(0, 10**6), st.integers(0, 10**6)),
        max_size=3,
    ).map(tuple),
)  # fmt: skip


@settings(FUZZ, max_examples=EXAMPLES)
@example(case=WorkflowCase(0, 0, 0, "n", ()))
@example(case=WorkflowCase(3, 1, 2, "n", (("cycle", 0, 2),)))
@example(case=WorkflowCase(250, 7, 3, "node-", ()))
@example(case=WorkflowCase(2, 0, 1, "\x00", ()))
@given(case=workflow_cases)
def test_workflow_specs(fz: Fuzz, case: WorkflowCase) -> None:
    """Random DAGs, and damaged ones: cycles, self-loops, duplicates, unknown parents, empty names."""
    if fz.wf_colony is None:
        fz.wf_colony = Playground(fz)
    c = fz.wf_colony
    nodes = case.build()
    specs = [{"nodename": name, "funcname": "f", "maxwaittime": -1, "maxexectime": -1,
              "conditions": {"colonyname": c.name, "executortype": IDLE, "dependencies": deps}}
             for name, deps in nodes]  # fmt: skip
    before = fz.call("getcolonystatsmsg", {"colonyname": c.name}, c.user.prvkey)
    msg = {"spec": {"colonyname": c.name, "functionspecs": specs}}
    reply = fz.post(envelope.build_request("submitworkflowspecmsg", msg, c.user.prvkey))
    after = fz.call("getcolonystatsmsg", {"colonyname": c.name}, c.user.prvkey)
    # A NUL in any text is refused (400) on every backend (PostgreSQL cannot store it).
    nul = any("\x00" in name or any("\x00" in d for d in deps) for name, deps in nodes)
    if not expected_valid(nodes) or (nul and reply.status == 400):
        assert reply.status == 400, (nodes[:20], reply.payload)
        assert "workflow" in reply.payload["message"].lower() or nul, reply.payload
        assert after == before, "a refused workflow left something behind"
        return
    assert reply.status == 200, (nodes[:20], reply.payload)
    graph = reply.payload
    assert after["waitingworkflows"] == before["waitingworkflows"] + 1
    assert after["waitingprocesses"] == before["waitingprocesses"] + len(nodes)
    assert len(graph["processids"]) == len(set(graph["processids"])) == len(nodes)

    fetched = fz.call("getprocessgraphmsg", {"processgraphid": graph["processgraphid"]}, c.executor.prvkey)
    assert sorted(fetched["processids"]) == sorted(graph["processids"])
    pid = {node["data"]["label"]: node["id"] for node in fetched["nodes"]}
    assert sorted(pid) == sorted(name for name, _ in nodes)
    edges = {(e["source"], e["target"]) for e in fetched["edges"]}
    assert edges == {(pid[p], pid[name]) for name, deps in nodes for p in deps}
    assert sorted(fetched["rootprocessids"]) == sorted(pid[name] for name, deps in nodes if not deps)

    children: dict[str, list[str]] = {name: [] for name, _ in nodes}
    for name, deps in nodes:
        for p in deps:
            children[p].append(name)
    for i in {0, len(nodes) - 1, max(range(len(nodes)), key=lambda i: len(nodes[i][1]))}:
        name, deps = nodes[i]
        proc = fz.call("getprocessmsg", {"processid": pid[name]}, c.user.prvkey)
        assert proc["processgraphid"] == graph["processgraphid"] and proc["state"] == 0
        assert proc["spec"]["nodename"] == name and proc["waitforparents"] == bool(deps)
        assert sorted(proc["parents"]) == sorted(pid[p] for p in deps)
        assert sorted(proc["children"]) == sorted(pid[ch] for ch in children[name])


# -- 4. afterwards -------------------------------------------------------------------------------------------


def test_zz_server_still_serves(fz: Fuzz) -> None:
    """Runs last in this file: a normal submit, assign, close and read work (and the autouse checks pass)."""
    assert httpx.get(fz.server.url + "/health", timeout=5).status_code == 200
    fz.pg.reset()
    pg = fz.pg
    pid = fz.call("submitfuncspecmsg", {"spec": pg.spec(executortype=EXEC_TYPE)}, pg.user.prvkey)["processid"]
    assert fz.call("getprocessmsg", {"processid": pid}, pg.user.prvkey)["state"] == 0
    assigned = fz.call("assignprocessmsg", {"colonyname": pg.name, "timeout": -1}, pg.executor.prvkey)
    assert assigned["processid"] == pid
    fz.call("closesuccessfulmsg", {"processid": pid, "out": ["ok"]}, pg.executor.prvkey)
    assert fz.call("getprocessmsg", {"processid": pid}, pg.user.prvkey)["state"] == 2
    assert fz.call("versionmsg", {}, None)["msgtype"] == "versionmsg"

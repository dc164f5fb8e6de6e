"""The secure multi-party computation example (examples/smpc) against a real `colonies dev`, as a user runs it:
keys, two hospital executors and the cloud executor as subprocesses, the workflow through the CLI, decrypt.py. Also:
nothing but ciphertexts ever reaches the server, and `demo.sh` (what `make demo` runs) cleans up after itself."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import free_port
from sched_helpers import wait_for

from colonies.client import RPCClient

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "smpc"
PY = sys.executable
SECRETS = {"r1-hospital_executor": 55, "r2-hospital_executor": 5}
SUM_LINE = "The sum of all patient data is: 60"
FORBIDDEN = (5, 55, 60)  # the secrets and their sum


def copy_example(dest: Path, with_private_key: bool = True) -> Path:
    generated = ["__pycache__", "workflow.json"] + ([] if with_private_key else ["private_key.json"])
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns(*generated))
    return dest


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("COLONIES_")}


def stop(proc: subprocess.Popen[Any], timeout: float = 15) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait(timeout=10)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One complete run: `colonies dev`, keys, the three executors, the workflow; yields what a test needs."""
    tmp = tmp_path_factory.mktemp("smpc")
    port = free_port()
    server = subprocess.Popen([PY, "-m", "colonies", "dev", "--data-dir", str(tmp)],
                              env={**clean_env(), "COLONIES_SERVER_PORT": str(port)}, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)  # fmt: skip
    executors: list[subprocess.Popen[Any]] = []
    try:
        exports: dict[str, str] = {}
        assert server.stdout is not None
        for line in server.stdout:  # the export lines, as `eval` would take them
            if m := re.match(r"export (\w+)=(.*)", line.strip()):
                exports[m.group(1)] = m.group(2)
            if "COLONIES_PRVKEY" in exports:
                break
        env = {**clean_env(), **exports}
        rpc = RPCClient("127.0.0.1", port, timeout=30)
        wait_for(lambda: _alive(rpc), bool, 20, what="colonies dev to answer")

        owner = copy_example(tmp / "owner")  # keeps the private key
        subprocess.run([PY, "generate_keys.py", "--bits", "1024"], cwd=owner, env=env, check=True,
                       capture_output=True, timeout=60)  # fmt: skip
        assert (owner / "private_key.json").stat().st_mode & 0o077 == 0, "the private key is readable by others"
        # The hospitals and the cloud run the same scripts from a folder without private_key.json.
        sites = copy_example(tmp / "sites", with_private_key=False)
        assert not (sites / "private_key.json").exists()
        logs = tmp / "logs"
        logs.mkdir()
        commands = [[PY, "hospital_executor.py", "r2-hospital_executor", "5"],
                    [PY, "hospital_executor.py", "r1-hospital_executor", "55"], [PY, "cloud_executor.py"]]  # fmt: skip
        for cmd in commands:
            log = open(logs / f"{cmd[-2] if len(cmd) > 2 else 'cloud'}.log", "w")  # noqa: SIM115
            executors.append(subprocess.Popen(cmd, cwd=sites, env=env, stdout=log, stderr=subprocess.STDOUT))
            log.close()

        submit = subprocess.run([PY, "-m", "colonies", "workflow", "submit", "--spec", "workflow/workflow.json",
                                 "--wait", "--timeout", "60", "--json"], cwd=owner, env=env, capture_output=True,
                                text=True, timeout=90)  # fmt: skip
        assert submit.returncode == 0, submit.stderr + _logs(logs)
        graph = json.loads(submit.stdout)
        nodes = {p["spec"]["nodename"]: p["processid"] for p in graph["processes"]}
        assert set(nodes) == {"r1:get_patent_data", "r2:get_patent_data", "cloud:sum_patent_data"}
        processes = {node: rpc.call("getprocessmsg", {"processid": pid}, exports["COLONIES_PRVKEY"])
                     for node, pid in nodes.items()}  # fmt: skip
        decrypt = subprocess.run([PY, "decrypt.py", nodes["cloud:sum_patent_data"]], cwd=owner, env=env,
                                 capture_output=True, text=True, timeout=60)  # fmt: skip

        codes = [stop(p) for p in executors]  # SIGTERM: each removes itself from the colony and exits 0
        executors_left = rpc.call("getexecutorsmsg", {"colonyname": exports["COLONIES_COLONY_NAME"]},
                                  exports["COLONIES_PRVKEY"])  # fmt: skip
        yield {"decrypt": decrypt, "processes": processes, "owner": owner, "exit_codes": codes,
               "executors_left": executors_left, "logs": logs}  # fmt: skip
    finally:
        for p in executors:
            stop(p)
        stop(server)


def _alive(rpc: RPCClient) -> bool:
    try:
        rpc.call("versionmsg", {}, None)
        return True
    except Exception:
        return False


def _logs(folder: Path) -> str:
    return "".join(f"\n--- {f.name}\n{f.read_text()[-2000:]}" for f in sorted(folder.glob("*.log")))


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def _assert_no_plaintext(value: Any, where: str) -> None:
    for leaf in _leaves(value):
        assert leaf not in FORBIDDEN and leaf not in {str(n) for n in FORBIDDEN}, f"{leaf!r} in {where}"


def _ciphertext(text: str) -> dict[str, Any]:
    """An output element must be base64 of {"ciphertext": "<decimal>", "exponent": <int>} and nothing else."""
    data = json.loads(base64.b64decode(text, validate=True))
    assert set(data) == {"ciphertext", "exponent"}, data
    assert isinstance(data["ciphertext"], str) and data["ciphertext"].isdigit()
    assert int(data["ciphertext"]) > 2**512, "too small to be a Paillier ciphertext of a 1024-bit key"
    _assert_no_plaintext(data, "a decoded ciphertext")
    return data


def test_the_seed_workflow_sums_the_hospitals_data_and_decrypt_prints_60(run: dict[str, Any]) -> None:
    decrypt = run["decrypt"]
    assert decrypt.returncode == 0, decrypt.stderr + _logs(run["logs"])
    assert SUM_LINE in decrypt.stdout
    assert run["exit_codes"] == [0, 0, 0], _logs(run["logs"])
    left = [e["executorname"] for e in run["executors_left"] or [] if e.get("state") != 3]
    assert left == ["myexecutor"], f"executors still registered after SIGTERM: {left}"


def test_the_cloud_and_the_server_only_ever_see_ciphertexts(run: dict[str, Any]) -> None:
    from phe import paillier

    procs = run["processes"]
    cloud = procs["cloud:sum_patent_data"]
    hospitals = [procs["r1:get_patent_data"], procs["r2:get_patent_data"]]
    # The cloud's input is exactly the hospitals' outputs, and everything it holds or returns is a ciphertext.
    assert len(cloud["in"]) == 2 and len(cloud["out"]) == 1
    assert sorted(cloud["in"]) == sorted(h["out"][0] for h in hospitals)
    for part in ("in", "out"):
        _assert_no_plaintext(cloud[part], f"the cloud process's {part}")
        for element in cloud[part]:
            _ciphertext(element)
    for proc in (cloud, *hospitals):
        spec = proc["spec"]
        _assert_no_plaintext(spec["kwargs"], f"{spec['nodename']} kwargs")
        _assert_no_plaintext(spec["args"], f"{spec['nodename']} args")
        _assert_no_plaintext(proc["out"], f"{spec['nodename']} out")
        assert len(proc["out"]) == 1
        _ciphertext(proc["out"][0])
        # The only key handed out is the public one: {"n": ...}.
        assert set(spec["kwargs"]) == {"paillier-pubkey"}
        assert set(json.loads(base64.b64decode(spec["kwargs"]["paillier-pubkey"]))) == {"n"}

    # ...and they are the real thing: the key owner can read them, and the private key is nowhere on the server.
    key = json.loads((run["owner"] / "private_key.json").read_text())
    p, q = int(key["p"]), int(key["q"])
    private_key = paillier.PaillierPrivateKey(paillier.PaillierPublicKey(p * q), p, q)

    def decrypt(text: str) -> int:
        data = _ciphertext(text)
        return private_key.decrypt(paillier.EncryptedNumber(private_key.public_key, int(data["ciphertext"]),
                                                            data["exponent"]))  # fmt: skip

    assert sorted(decrypt(c) for c in cloud["in"]) == [5, 55]
    assert decrypt(cloud["out"][0]) == 60
    everything = json.dumps(procs)
    assert key["p"] not in everything and key["q"] not in everything


def _session_members(sid: int) -> list[str]:
    """Command lines of the live processes in session ``sid`` (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.getsid(int(entry)) == sid:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
                stat = Path(f"/proc/{entry}/stat").read_text()
                if stat.rsplit(")", 1)[1].split()[0] != "Z":
                    found.append(f"{entry}: {cmdline}")
        except (OSError, ProcessLookupError):
            continue
    return found


@pytest.mark.skipif(not os.path.isdir("/proc") or shutil.which("bash") is None, reason="needs bash and /proc")
def test_demo_script_runs_end_to_end_and_leaves_nothing_running(tmp_path: Path) -> None:
    folder = copy_example(tmp_path / "smpc", with_private_key=False)
    before = sorted(p.relative_to(folder) for p in folder.rglob("*") if "__pycache__" not in p.parts)
    port = free_port()
    env = {**clean_env(), "PATH": f"{Path(PY).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "COLONIES_SERVER_PORT": str(port), "TMPDIR": str(tmp_path)}  # fmt: skip
    proc = subprocess.Popen(["bash", str(folder / "demo.sh")], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)  # fmt: skip
    try:
        output, _ = proc.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the session this test created, and only it
        output, _ = proc.communicate()
        pytest.fail(f"demo.sh did not finish in 90 s:\n{output}")
    assert proc.returncode == 0, output
    assert SUM_LINE in output
    assert f"$ COLONIES_SERVER_PORT={port} colonies dev &" in output
    assert "$ python3 hospital_executor.py r2-hospital_executor 5 &" in output
    assert "$ python3 decrypt.py --private-key " in output
    try:
        wait_for(lambda: _session_members(proc.pid), lambda found: not found, 5, what="demo.sh's processes to end")
    except AssertionError:
        os.killpg(proc.pid, signal.SIGKILL)  # what demo.sh left behind (its own process group)
        raise
    assert not list(tmp_path.glob("colonies-smpc.*")), "the work folder was not removed after success"
    after = sorted(p.relative_to(folder) for p in folder.rglob("*") if "__pycache__" not in p.parts)
    assert after == before  # the key pair and the workflow went to the demo's temporary directory

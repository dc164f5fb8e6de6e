"""A round trip a person can follow: start `colonies dev`, submit a function, take it as an executor, close it.

Run with `make demo`. The dev server uses the documented public development keys.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx

from colonies.client import RPCClient
from colonies.settings import DEV_PRVKEY


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> int:
    port = free_port()
    env = {**os.environ, "COLONIES_SERVER_PORT": str(port)}
    colonies = os.path.join(os.path.dirname(sys.executable), "colonies")
    print(f"$ colonies dev   (port {port})")
    server = subprocess.Popen([colonies, "dev"], env=env, stdout=subprocess.PIPE, text=True)
    try:
        for _ in range(100):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        client = RPCClient("127.0.0.1", port)
        spec = {"funcname": "echo", "args": ["hello world"], "maxexectime": 30, "maxretries": 1,
                "conditions": {"colonyname": "dev", "executortype": "cli"}}  # fmt: skip
        process = client.call("submitfuncspecmsg", {"spec": spec}, DEV_PRVKEY)
        print(f"submitted   {process['processid']}  state={process['state']} (waiting)")
        assigned = client.call("assignprocessmsg", {"colonyname": "dev", "timeout": 5}, DEV_PRVKEY)
        print(f"assigned    {assigned['processid']}  state={assigned['state']} (running)")
        output = [arg.upper() for arg in assigned["spec"]["args"]]
        client.call("closesuccessfulmsg", {"processid": assigned["processid"], "out": output}, DEV_PRVKEY)
        done = client.call("getprocessmsg", {"processid": assigned["processid"]}, DEV_PRVKEY)
        print(f"closed      {done['processid']}  state={done['state']} (success) out={done['out']}")
        return 0 if done["state"] == 2 and done["out"] == ["HELLO WORLD"] else 1
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())

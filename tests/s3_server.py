"""A real S3 API on localhost for tests: moto in server mode (``moto_server``, from the test extra), started as a
subprocess on a free port and stopped afterwards. Fails, never skips, when moto is missing."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass
class S3Server:
    port: int

    def env(self, bucket: str = "colonies-test") -> dict[str, str]:
        """The original's AWS_S3_* settings for this server."""
        return {"AWS_S3_ENDPOINT": f"127.0.0.1:{self.port}", "AWS_S3_ACCESSKEY": "testing",
                "AWS_S3_SECRETKEY": "testing-secret", "AWS_S3_REGION": "us-east-1", "AWS_S3_BUCKET": bucket,
                "AWS_S3_TLS": "false"}  # fmt: skip


@contextmanager
def s3_server(workdir: Path) -> Iterator[S3Server]:
    binary = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
    if not Path(binary).exists():
        raise RuntimeError("moto_server is not installed (pip install 'moto[server]'; the test extra has it)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    log = open(workdir / "moto.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([binary, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start: {(workdir / 'moto.log').read_text()[-2000:]}")
                time.sleep(0.1)
        yield S3Server(port)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()

"""A stand-in for S3: moto's server mode (``moto_server``), a real HTTP server speaking the S3 REST API on a free
loopback port. S3 itself cannot be reached here; moto implements the same requests boto3 sends (PUT with
Content-MD5, HEAD, GET with Range), so the store is exercised over real HTTP, as it is against S3 or MinIO.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import requests

from webide.config import S3Access
from webide.core.firmware.s3store import s3_client
from webide.runner import free_port

# moto accepts any credentials; the store passes them explicitly, like real keys from the AWS variables.
ACCESS_KEY_ID = "standin-key-id"
SECRET_ACCESS_KEY = "standin-secret"
REGION = "us-east-1"


@dataclass(frozen=True)
class S3StandIn:
    endpoint_url: str
    process: subprocess.Popen

    def access(self, timeout_s: int = 5) -> S3Access:
        return S3Access(self.endpoint_url, REGION, ACCESS_KEY_ID, SECRET_ACCESS_KEY, "", timeout_s)

    def environment(self) -> dict[str, str]:
        """The standard AWS variables a web server or worker reads to reach this store."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        }

    def create_bucket(self, name: str) -> None:
        s3_client(self.access()).create_bucket(Bucket=name)


@contextmanager
def moto_s3_server(log_path: Path) -> Iterator[S3StandIn]:
    """Start ``moto_server`` on a free port, wait until it answers, stop it afterwards."""
    executable = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
    port = free_port()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [executable, "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_moto(url, process, log_path)
        yield S3StandIn(url, process)
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_for_moto(url: str, process: subprocess.Popen, log_path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"moto_server exited:\n{log_path.read_text()[-3000:]}"
        try:
            requests.get(url + "/moto-api/", timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise AssertionError(f"moto_server did not answer within {timeout} s:\n{log_path.read_text()[-3000:]}")

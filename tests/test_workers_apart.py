"""Workers on other machines: two Celery workers and one web server, each with its own data folder (nothing shared on
disk), sharing Redis, PostgreSQL and an S3 artifact store (moto's server mode, a stand-in for S3). Builds from both
workers reach the bots through the web server, byte for byte."""

from __future__ import annotations

import hashlib
import re
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests

from webide.config import Settings
from webide.core.builds.queue import RUN_BUILD_TASK
from webide.runner import free_port, worker_argv
from webide.simulator import SimulatedBot

from .conftest import ESP32_FQBN, running, service_env, traversable, wait_for_http, wait_for_worker
from .fake_arduino_cli import service_environment
from .live import ApiClient
from .s3_standin import moto_s3_server

pytestmark = pytest.mark.slow

BOTS = 6
WORKERS = ("worker-a", "worker-b")
SKETCH = "void setup() {{ pinMode({pin}, OUTPUT); }}\nvoid loop() {{ digitalWrite({pin}, HIGH); delay({n}); }}\n"
BUILD_DONE = re.compile(rf"Task {re.escape(RUN_BUILD_TASK)}\[[0-9a-f-]+\] succeeded in")  # Celery's line


@pytest.fixture
def esp32_toolchain() -> Iterator[dict[str, str]]:
    """The arduino-cli stand-in, installed once and used read-only by both workers (a toolchain, not data)."""
    folder = Path(tempfile.mkdtemp(prefix="esp32-toolchain-"))  # pytest's own folders are private (0700)
    folder.chmod(0o711)
    yield service_environment(folder)
    shutil.rmtree(folder, ignore_errors=True)


def machine_env(settings: Settings, data_dir: Path, shared: dict[str, str]) -> dict[str, str]:
    """One machine's environment: its own data folder, the shared Redis, database and store."""
    data_dir.mkdir(parents=True)
    return dict(service_env(settings), WEBIDE_DATA_DIR=str(traversable(data_dir)), **shared)


def finished_builds(log_path: Path) -> int:
    return len(BUILD_DONE.findall(log_path.read_text()))


def stored_files(data_dir: Path) -> list[Path]:
    return [path for path in (data_dir / "artifacts").rglob("*") if path.is_file()]


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_two_workers_on_separate_data_folders_serve_one_fleet(app, accounts, settings, esp32_toolchain, tmp_path):
    tokens = {f"esp_{n}": accounts.bot(f"esp_{n}", "12345", fqbn=ESP32_FQBN).device_token for n in range(BOTS)}
    with ExitStack() as stack:
        s3 = stack.enter_context(moto_s3_server(tmp_path / "moto.log"))
        bucket = f"fleet-{uuid.uuid4().hex[:8]}"
        s3.create_bucket(bucket)
        shared = {**esp32_toolchain, **s3.environment(), "WEBIDE_ARTIFACT_STORE": f"s3://{bucket}/webide"}
        machines = {name: tmp_path / name for name in ("web", *WORKERS)}
        envs = {name: machine_env(settings, folder / "instance", shared) for name, folder in machines.items()}
        port = free_port()
        web_argv = [sys.executable, "-m", "webide.cli", "web", "--port", str(port)]
        web = stack.enter_context(running(web_argv, envs["web"], tmp_path / "web.log"))
        workers = {
            name: stack.enter_context(running(worker_argv(1, f"{name}@%h"), envs[name], tmp_path / f"{name}.log"))
            for name in WORKERS
        }
        base_url = f"http://127.0.0.1:{port}"
        wait_for_http(base_url + "/login", web, tmp_path / "web.log")
        for name, process in workers.items():
            wait_for_worker(process, tmp_path / f"{name}.log")

        artifacts = build_until_both_workers_built(base_url, list(tokens), tmp_path)

        for product_id, artifact in artifacts.items():
            bot = SimulatedBot(base_url, product_id, tokens[product_id], say=lambda _text: None)
            outcome = bot.press_button()
            assert outcome.result == "updated", outcome.detail
            assert bot.running_md5 == artifact["md5"]
            assert bot.heartbeat().status == 200
            assert bot.pull().result == "no_update" and bot.last_status == 304

        product_id, artifact = next(iter(artifacts.items()))
        auth = {"Authorization": f"Bearer {tokens[product_id]}"}
        whole = requests.get(f"{base_url}/{product_id}.ino.bin", headers=auth, timeout=30)
        assert whole.status_code == 200 and hashlib.md5(whole.content).hexdigest() == artifact["md5"]
        assert whole.headers["x-MD5"] == artifact["md5"]
        assert whole.headers["Content-Length"] == str(artifact["size"])
        tail = requests.get(f"{base_url}/{product_id}.ino.bin", headers={**auth, "Range": "bytes=100-"}, timeout=30)
        assert tail.status_code == 206 and tail.content == whole.content[100:]

        for name, folder in machines.items():
            assert stored_files(folder / "instance") == [], f"{name} kept artifacts on its own disk"


def build_until_both_workers_built(base_url: str, bots: list[str], log_dir: Path) -> dict[str, dict]:
    """Upload on every bot at once, again if one worker happened to take every build (bounded rounds)."""
    artifacts: dict[str, dict] = {}
    clients = {pid: ApiClient(base_url, product_id=pid, password="12345") for pid in bots}
    for round_number in range(5):
        submitted = {
            pid: client.submit(
                pid,
                [{"name": f"{pid}.ino", "content": SKETCH.format(pin=2 + n, n=round_number * 100 + n)}],
                deploy=True,
            )
            for n, (pid, client) in enumerate(clients.items())
        }
        for pid, update_id in submitted.items():
            result = clients[pid].wait(update_id)
            assert result["status"] == "complete", result["log"]
            artifacts[pid] = result["artifact"]
        counts = wait_for_logged_builds(log_dir, len(bots) * (round_number + 1))
        if all(counts.values()):
            return artifacts
    raise AssertionError(f"one worker took every build: {counts}")


def wait_for_logged_builds(log_dir: Path, total: int, timeout: float = 30) -> dict[str, int]:
    """Celery logs a task's end just after the build is recorded: wait until every finished build is in a log."""
    deadline = time.monotonic() + timeout
    while True:
        counts = {name: finished_builds(log_dir / f"{name}.log") for name in WORKERS}
        if sum(counts.values()) >= total or time.monotonic() > deadline:
            return counts
        time.sleep(0.2)

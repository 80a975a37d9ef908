"""`webide run`: the whole service from one command, a demo bot that can log in, and a clean stop."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests

from webide.runner import free_port

from .conftest import CSRF_RE, ROOT, traversable

pytestmark = pytest.mark.slow


def start_service(tmp_path: Path, port: int, *extra: str) -> tuple[subprocess.Popen, Path]:
    log_path = tmp_path / "run.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBIDE_") and k != "REDIS_URL"}
    env.update(WEBIDE_DATA_DIR=str(traversable(tmp_path) / "instance"), PYTHONUNBUFFERED="1")
    with log_path.open("w") as log:
        process = subprocess.Popen([sys.executable, "-m", "webide.cli", "run", "--port", str(port), *extra],
                                   env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    return process, log_path


def wait_until_serving(url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, log_path.read_text()
        try:
            if requests.get(url, timeout=2).status_code == 200 and "ready." in log_path.read_text():
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise AssertionError(f"service did not come up:\n{log_path.read_text()[-4000:]}")


def browser_login(base: str, product_id: str, password: str) -> requests.Session:
    session = requests.Session()
    token = CSRF_RE.search(session.get(f"{base}/login").text).group(1)
    response = session.post(f"{base}/login", data={"mode": "device", "identifier": product_id,
                                                   "password": password, "csrf_token": token},
                            allow_redirects=False)
    assert response.status_code == 302, response.text
    return session


def assert_demo_bot_can_verify(session: requests.Session, base: str, product_id: str) -> None:
    """The demo bot's board is one this machine can build: its starter sketch compiles."""
    csrf = session.get(f"{base}/api/auth/csrf").json()["csrf_token"]
    submitted = session.post(f"{base}/api/devices/{product_id}/builds", json={}, headers={"X-CSRFToken": csrf})
    assert submitted.status_code == 202, submitted.text
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        progress = session.get(f"{base}/ota-update-progress/{submitted.json()['update_id']}").json()
        if progress["status"] in ("complete", "error"):
            break
        time.sleep(0.3)
    assert progress["status"] == "complete", progress


def test_run_starts_everything_lets_the_demo_bot_log_in_and_stops_cleanly(tmp_path):
    port = free_port()
    process, log_path = start_service(tmp_path, port, "--demo")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{base}/login", process, log_path)
        output = log_path.read_text()
        match = re.search(r"product ID (\S+)\s+password (\S+)", output)
        assert match, output
        session = browser_login(base, match.group(1), match.group(2))
        devices = session.get(f"{base}/api/devices").json()["devices"]
        assert [d["product_id"] for d in devices] == [match.group(1)]
        assert_demo_bot_can_verify(session, base, match.group(1))
        tree = [process.pid] + [child.pid for child in psutil.Process(process.pid).children(recursive=True)]
        names = " ".join(" ".join(psutil.Process(pid).cmdline()) for pid in tree)
        assert "redis-server" in names and "gunicorn" in names and "celery" in names
    finally:
        process.send_signal(signal.SIGTERM)
        exit_code = process.wait(60)
    assert exit_code == 0, log_path.read_text()[-3000:]
    survivors = [pid for pid in tree if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
    assert survivors == [], f"left running: {survivors}"
    assert (tmp_path / "instance" / "demo-credentials.json").stat().st_mode & 0o777 == 0o600


def test_run_reports_a_child_that_dies_and_stops_the_rest(tmp_path):
    port = free_port()
    process, log_path = start_service(tmp_path, port)
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/login", process, log_path)
        children = psutil.Process(process.pid).children(recursive=True)
        tree = [child.pid for child in children]
        worker = next(c for c in psutil.Process(process.pid).children() if "celery" in " ".join(c.cmdline()))
        worker.kill()
        exit_code = process.wait(60)
    finally:
        if process.poll() is None:
            process.kill()
    assert exit_code == 1
    assert re.search(r"worker-1 exited unexpectedly with code -?\d+", log_path.read_text())
    survivors = [pid for pid in tree if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
    assert survivors == []

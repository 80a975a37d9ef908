"""`webide run`: the whole service from one command, a demo bot that can log in, and a clean stop."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
import requests

from webide import create_app
from webide.config import Settings
from webide.runner import free_port

from .conftest import CSRF_RE, ROOT, traversable
from .live import ApiClient, RoomListener
from .ota_support import deploy_image

pytestmark = pytest.mark.slow


def start_service(
    tmp_path: Path, port: int, *extra: str, mqtt_port: int | None = None
) -> tuple[subprocess.Popen, Path]:
    log_path = tmp_path / "run.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBIDE_") and k != "REDIS_URL"}
    env.update(
        WEBIDE_DATA_DIR=str(traversable(tmp_path) / "instance"),
        WEBIDE_MQTT_PORT=str(mqtt_port or free_port()),
        PYTHONUNBUFFERED="1",
    )
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "webide.cli", "run", "--port", str(port), *extra],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    return process, log_path


def wait_until_serving(url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, log_path.read_text()
        try:
            if requests.get(url, timeout=2).status_code == 200 and "serving on" in log_path.read_text():
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise AssertionError(f"service did not come up:\n{log_path.read_text()[-4000:]}")


def browser_login(base: str, product_id: str, password: str) -> requests.Session:
    session = requests.Session()
    token = CSRF_RE.search(session.get(f"{base}/login").text).group(1)
    response = session.post(
        f"{base}/login",
        data={"mode": "device", "identifier": product_id, "password": password, "csrf_token": token},
        allow_redirects=False,
    )
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


def still_running(processes: list[psutil.Process], within_s: float) -> list[psutil.Process]:
    """The processes still running (not exited, not a zombie) after up to ``within_s`` seconds: a pool's worker
    notices its parent's exit by itself, a moment after the parent has gone."""
    deadline = time.monotonic() + within_s
    while True:
        running = []
        for member in processes:
            try:
                if member.is_running() and member.status() != psutil.STATUS_ZOMBIE:
                    running.append(member)
            except psutil.NoSuchProcess:
                pass
        if not running or time.monotonic() > deadline:
            return running
        time.sleep(0.2)


def test_run_starts_everything_lets_the_demo_bot_log_in_and_stops_cleanly(tmp_path):
    port = free_port()
    process, log_path = start_service(tmp_path, port, "--demo")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(f"{base}/login", process, log_path)
        output = log_path.read_text()
        assert_one_line_per_child_and_the_demo_credentials_last(output.splitlines(), port)
        assert "Warning" not in output
        match = re.search(r"product ID (\S+)\s+password (\S+)", output)
        assert match, output
        session = browser_login(base, match.group(1), match.group(2))
        devices = session.get(f"{base}/api/devices").json()["devices"]
        assert [d["product_id"] for d in devices] == [match.group(1)]
        assert_demo_bot_can_verify(session, base, match.group(1))
        tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
        commands = {member.pid: " ".join(member.cmdline()) for member in tree}
        names = " ".join(commands.values())
        assert "redis-server" in names and "gunicorn" in names and "celery" in names
        assert "mosquitto" in names and "webide bridge" in names
    finally:
        process.send_signal(signal.SIGTERM)
        exit_code = process.wait(60)
    assert exit_code == 0, log_path.read_text()[-3000:]
    survivors = still_running(tree, within_s=10)
    assert survivors == [], f"left running: {[commands[member.pid] for member in survivors]}"
    assert (tmp_path / "instance" / "demo-credentials.json").stat().st_mode & 0o777 == 0o600


def children_named(process: subprocess.Popen, word: str) -> list[psutil.Process]:
    """The supervisor's living children whose command line contains ``word``."""
    found = []
    for child in psutil.Process(process.pid).children():
        try:
            if word in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:  # exited (or a zombie not yet reaped by the supervisor)
            pass
    return found


def wait_for_restart(process: subprocess.Popen, log_path: Path, word: str, old_pid: int) -> psutil.Process:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, log_path.read_text()[-3000:]
        fresh = [c for c in children_named(process, word) if c.pid != old_pid]
        if fresh:
            return fresh[0]
        time.sleep(0.2)
    raise AssertionError(f"{word} was not restarted:\n{log_path.read_text()[-3000:]}")


def stop(process: subprocess.Popen, log_path: Path) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(60) == 0, log_path.read_text()[-3000:]


def assert_one_line_per_child_and_the_demo_credentials_last(lines: list[str], port: int) -> None:
    assert [re.sub(r"\d+", "N", line) for line in lines[:5]] == [
        "webide: started redis (pid N)",
        "webide: started mosquitto (pid N)",
        "webide: started web (pid N)",
        "webide: started worker-N (pid N)",
        "webide: started bridge (pid N)",
    ]
    assert lines[5].startswith(f"webide: serving on http://127.0.0.1:{port}/")
    assert lines[6].startswith("Demo instructor:") and lines[7].startswith("Demo bot:") and len(lines) == 8, lines


def test_run_restarts_a_worker_or_web_server_that_dies_and_reports_each_in_one_line(tmp_path):
    port = free_port()
    process, log_path = start_service(tmp_path, port)
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/login", process, log_path)
        for word in ("celery", "gunicorn", "mosquitto -c", "webide bridge"):
            victim = children_named(process, word)[0]
            victim.kill()
            wait_for_restart(process, log_path, word, victim.pid)
        wait_for_login_page(f"http://127.0.0.1:{port}/login", process)
    finally:
        stop(process, log_path)
    for name in ("worker-1", "web", "mosquitto", "bridge"):
        restarts = [line for line in log_path.read_text().splitlines() if f"{name} exited" in line]
        assert len(restarts) == 1 and re.fullmatch(
            rf"webide: {name} exited with code -9; restarting it in 1 s "
            rf"\(log: \S+{name}\.log\)",
            restarts[0],
        ), restarts


def wait_for_login_page(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} does not answer after the restart")


def test_killing_redis_keeps_saves_and_the_device_path_working_and_builds_resume(tmp_path):
    port = free_port()
    process, log_path = start_service(tmp_path, port, "--demo")
    base, squatter = f"http://127.0.0.1:{port}", None
    try:
        wait_until_serving(f"{base}/login", process, log_path)
        product_id, token = re.search(
            r"product ID (\S+)\s+password \S+\s+device token (\S+)", log_path.read_text()
        ).groups()
        firmware = deploy_image(service_app(tmp_path), product_id)
        api = ApiClient(base, product_id=product_id, password="12345")
        listener = RoomListener(base, api.token, product_id)
        device = {"Authorization": f"Bearer {token}"}
        sketch = api.get(f"/api/devices/{product_id}/sketch").json()
        redis_server = children_named(process, "redis-server")[0]
        redis_port = next(c.laddr.port for c in redis_server.net_connections("tcp") if c.status == psutil.CONN_LISTEN)
        redis_server.kill()
        redis_server.wait(10)
        squatter = PortSquatter(redis_port)  # no Redis can listen there again until the test lets it

        # Redis is gone: everything a student or a bot does that needs no build still works.
        edited = [dict(f, content=f["content"] + "\n// edited while Redis was down\n") for f in sketch["files"]]
        saved = api.http.put(
            f"{base}/api/devices/{product_id}/sketch",
            timeout=10,
            json={"files": edited, "base_revision": sketch["revision"], "explicit": True},
        )
        assert saved.status_code == 200, saved.text
        download = requests.get(f"{base}/{product_id}.ino.bin", headers=device, timeout=10)
        assert download.status_code == 200 and download.content == firmware.data
        assert download.headers["x-MD5"] == firmware.md5
        assert requests.get(f"{base}/api/ota/{product_id}/check", headers=device, timeout=10).status_code == 200
        beat_request = {
            "url": f"{base}/api/devices/{product_id}/heartbeat",
            "headers": device,
            "json": {},
            "timeout": 10,
        }
        beat = requests.post(**beat_request)
        assert beat.status_code == 200, beat.text
        squatter.close()

        wait_for_restart(process, log_path, "redis-server", redis_server.pid)
        build = submit_when_the_queue_answers(api, product_id)
        assert api.wait(build)["status"] == "complete"
        until_the_page_hears(listener, lambda: requests.post(**beat_request), build)
        listener.close()
    finally:
        if squatter:
            squatter.close()
        stop(process, log_path)
    assert re.search(r"webide: redis exited with code -9; restarting it in 1 s", log_path.read_text())


def until_the_page_hears(listener: RoomListener, heartbeat: Callable[[], object], update_id: str) -> None:
    """The build's lines reach the page that stayed connected. The web server subscribes to Redis again with a
    backoff (python-socketio doubles its retry sleep, up to 60 s), so lines published before that are fetched from
    the event log as soon as the page hears a newer event: the bot's heartbeats provide one."""
    deadline = time.monotonic() + 150
    while True:
        heartbeat()
        try:
            listener.wait_for(
                lambda events: any(e.get("update_id") == update_id and e["type"] == "line" for e in events), 3
            )
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise


class PortSquatter:
    """Holds a port the way a dead server leaves it: every connection is closed at once, nothing else can listen."""

    def __init__(self, port: int):
        self.socket = socket.socket()
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past the killed server's TIME_WAITs
        self.socket.bind(("127.0.0.1", port))
        self.socket.listen(16)
        self.thread = threading.Thread(target=self.refuse, daemon=True)
        self.thread.start()

    def refuse(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return  # closed
            connection.close()

    def close(self) -> None:
        if self.socket.fileno() != -1:
            self.socket.shutdown(socket.SHUT_RDWR)
            self.socket.close()
            self.thread.join(5)


def service_app(tmp_path: Path):  # type: ignore[no-untyped-def]
    """The service's data (database, artifacts) opened in this process, as an operator's script would."""
    settings = Settings(data_dir=tmp_path / "instance", async_mode="threading", toolchain="arduino-builder")
    return create_app(settings, realtime_server=False)


def submit_when_the_queue_answers(api: ApiClient, product_id: str) -> str:
    """Right after Redis is back the queue may still answer 503 for a moment (its clients reconnect)."""
    deadline = time.monotonic() + 30
    while True:
        response = api.post(f"/api/devices/{product_id}/builds", json={})
        if response.status_code == 202 or time.monotonic() > deadline:
            assert response.status_code == 202, response.text
            return response.json()["update_id"]
        assert response.status_code == 503, response.text
        time.sleep(0.5)


def test_run_without_the_broker_port_serves_bots_over_http_and_says_why(tmp_path):
    port = free_port()
    with socket.socket() as taken:  # e.g. Debian's own mosquitto service on 1883
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        process, log_path = start_service(tmp_path, port, mqtt_port=taken.getsockname()[1])
        try:
            wait_until_serving(f"http://127.0.0.1:{port}/login", process, log_path)
            output = log_path.read_text()
            assert f"port {taken.getsockname()[1]} on 127.0.0.1 is taken" in output
            assert "the live device link (MQTT) is off and bots use HTTP only" in output
            assert not children_named(process, "mosquitto") and not children_named(process, "webide bridge")
        finally:
            stop(process, log_path)

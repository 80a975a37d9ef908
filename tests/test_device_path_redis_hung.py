"""The device path does not depend on Redis: with Redis hung (SIGSTOP, so connections open but nothing answers),
the real web server still answers a bot's firmware check (304), its download (200) and its heartbeat.

How long they take is measured by `python -m bench device` (not asserted here).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis

from webide.runner import free_port
from webide.simulator import SimulatedBot, http_exchange

from .conftest import live_processes
from .ota_support import ESP32_FQBN, deploy_image

pytestmark = pytest.mark.slow


@contextmanager
def private_redis(folder) -> Iterator[tuple[subprocess.Popen, str]]:  # type: ignore[no-untyped-def]
    """A redis-server of this test's own, so stopping it affects no other test."""
    port = free_port()
    process = subprocess.Popen(
        [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1)
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        yield process, url
    finally:
        os.kill(process.pid, signal.SIGCONT)
        process.terminate()
        process.wait(10)


@contextmanager
def hung(process: subprocess.Popen) -> Iterator[None]:
    os.kill(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(process.pid, signal.SIGCONT)


def test_firmware_check_download_and_heartbeat_answer_while_redis_is_hung(app, accounts, settings, tmp_path):
    token = accounts.bot("bot_1", "12345", fqbn=ESP32_FQBN).device_token
    firmware = deploy_image(app, "bot_1", size=64 * 1024, seed=3)
    with (
        private_redis(tmp_path) as (redis_process, redis_url),
        live_processes(settings.with_overrides(redis_url=redis_url), tmp_path) as service,
    ):
        bot = SimulatedBot(service.base_url, "bot_1", token, say=lambda _line: None)
        path = "/bot_1.ino.bin"
        with hung(redis_process):
            download = http_exchange(service.base_url, "GET", path, bot.update_headers(), timeout=120)
            assert download.status == 200
            assert hashlib.md5(download.body).hexdigest() == firmware.md5 == download.headers["x-md5"]
            bot.running = download.body
            assert http_exchange(service.base_url, "GET", path, bot.update_headers(), timeout=120).status == 304
            heartbeat = bot.heartbeat()
            assert heartbeat.status == 200
        # Redis back: the service carries on.
        assert http_exchange(service.base_url, "GET", path, bot.update_headers(), timeout=30).status == 304

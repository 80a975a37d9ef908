"""The device path does not depend on Redis: with Redis hung (SIGSTOP, so connections open but nothing answers),
the real web server still answers a bot's firmware check (304), its download (200) and its heartbeat.

How long they take is measured by `python -m bench device` (not asserted here).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from webide.simulator import SimulatedBot, http_exchange

from .conftest import live_processes, private_redis
from .ota_support import ESP32_FQBN, deploy_image

pytestmark = pytest.mark.slow


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

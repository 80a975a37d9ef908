"""Upload for an ESP32 bot end to end: real web server, worker, Redis and sandbox; the arduino-cli stand-in compiles
(the ESP32 core cannot be installed here); the device simulator pulls through the static URL like HTTPUpdate."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from webide.simulator import SimulatedBot

from .conftest import ESP32_FQBN, live_processes
from .fake_arduino_cli import service_environment
from .live import ApiClient, RoomListener

pytestmark = pytest.mark.slow

SKETCH = "void setup() { pinMode(2, OUTPUT); }\nvoid loop() { digitalWrite(2, HIGH); delay(200); }\n"


def flash_states(listener: RoomListener) -> list[str]:
    states = [e["state"] for e in listener.events if e["type"] == "flash"]
    return [s for n, s in enumerate(states) if n == 0 or states[n - 1] != s]


def test_upload_compile_pull_reboot_confirm(app, accounts, settings, tmp_path):
    bot = accounts.bot("esp_1", "12345", fqbn=ESP32_FQBN)
    toolchain = Path(tempfile.mkdtemp(prefix="esp32-toolchain-"))  # pytest's own folders are private (0700)
    toolchain.chmod(0o711)
    env = service_environment(toolchain)
    with live_processes(settings, tmp_path, **env) as service:
        api = ApiClient(service.base_url, product_id="esp_1", password="12345")
        listener = RoomListener(service.base_url, api.token, "esp_1")
        try:
            result = api.wait(api.submit("esp_1", [{"name": "esp_1.ino", "content": SKETCH}], deploy=True))
            assert result["status"] == "complete", result
            artifact = result["artifact"]
            stored = Path(settings.artifacts_dir, artifact["sha256"][:2], artifact["sha256"])
            assert (stored / "firmware.bin").read_bytes()[0] == 0xE9
            symbols = subprocess.run(["nm", str(stored / "firmware.elf")], capture_output=True, text=True).stdout
            assert "__wrap__Z5setupv" in symbols and "webide_stand_in_agent_started" in symbols, (
                "the OTA agent is linked into every ESP32 build"
            )

            device = SimulatedBot(service.base_url, "esp_1", bot.device_token, say=lambda text: None)
            assert device.heartbeat().status == 200
            outcome = device.press_button()
            assert outcome.result == "updated", outcome.detail
            assert device.running_md5 == artifact["md5"]
            assert device.heartbeat().status == 200  # the first heartbeat of the new image confirms it

            assert device.pull().result == "no_update" and device.last_status == 304
            shown = api.get("/api/devices/esp_1").json()
            assert shown["running"]["md5"] == artifact["md5"] == shown["target"]["md5"]
            assert shown["flash"]["state"] == "running"
            listener.wait_for(lambda events: "running" in flash_states(listener))
            states = flash_states(listener)
            assert states == ["waiting_for_button", "downloading", "rebooting", "running"], states
            compile_lines = listener.lines(result["update_id"])
            assert any("Sketch uses" in line for line in compile_lines)
            assert any("press the button on your bot" in line for line in compile_lines)
        finally:
            listener.close()
            shutil.rmtree(toolchain, ignore_errors=True)

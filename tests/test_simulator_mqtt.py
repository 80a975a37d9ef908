"""The simulator on the live link, end to end: a real web server, worker, Redis, Mosquitto and the bridge."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import service_env
from tests.live import ApiClient, RoomListener
from tests.mqtt_probe import wait_until
from webide.simulator import MqttLink, SimulatedBot

from .test_device_link import bot, bridge  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow


@pytest.fixture
def simulated(live_service, broker, bot) -> MqttLink:  # type: ignore[no-untyped-def]  # noqa: F811
    device = SimulatedBot(live_service.base_url, bot["product_id"], bot["token"], say=lambda _text: None)
    link = MqttLink(device, "127.0.0.1", broker.port)
    assert link.connected.wait(15) or wait_until(link.connected.is_set), link.refused
    yield link
    link.close()


def test_a_command_makes_the_round_trip_through_the_real_broker(live_service, accounts, bridge, simulated):  # noqa: F811
    accounts.instructor("teacher", classes=("lab-1",))
    teacher = ApiClient(live_service.base_url, username="teacher", password="correct horse")
    sent = teacher.post("/api/devices/bot_001/commands", json={"command": "led", "args": {"state": "on"}})
    assert sent.status_code == 202, sent.text
    command_id = sent.json()["command"]["id"]

    def command() -> dict:
        return teacher.get(f"/api/devices/bot_001/commands/{command_id}").json()["command"]

    assert wait_until(lambda: command()["state"] == "done", timeout=30), command()
    assert command()["message"] == "led on"
    assert wait_until(
        lambda: (
            teacher.get("/api/devices/bot_001/status").json()["telemetry"]["outputs"] == {"led": True, "relay": False}
        )
    )
    simulated.send_health(temperature=20.0)
    assert wait_until(lambda: teacher.get("/api/devices/bot_001").json().get("online") is True)


def test_serial_lines_reach_a_socketio_client_in_order(live_service, accounts, bridge, simulated):  # noqa: F811
    student = ApiClient(live_service.base_url, product_id="bot_001", password="12345")
    viewer = RoomListener(live_service.base_url, student.token, "bot_001")
    try:
        expected = [f"line {n}: \u00e9t\u00e9 {'#' * (n % 7)}" for n in range(60)]
        for start in range(0, len(expected), 7):
            simulated.serial(*expected[start : start + 7])

        def serial() -> list[str]:
            return [e["text"] for e in viewer.events if e["type"] == "line" and e.get("stream") == "serial"]

        viewer.wait_for(lambda _events: len(serial()) >= len(expected))
        assert serial() == expected
        late = RoomListener(live_service.base_url, student.token, "bot_001")  # a page opened afterwards
        try:
            late.wait_for(lambda events: len([e for e in events if e.get("stream") == "serial"]) >= len(expected))
            assert [e["text"] for e in late.events if e.get("stream") == "serial"] == expected
        finally:
            late.close()
    finally:
        viewer.close()


def test_the_simulator_command_joins_the_live_link(live_service, broker, bridge, bot):  # noqa: F811
    argv = [sys.executable, "-m", "webide.cli", "device", "simulate", "bot_001", "--token", bot["token"]]
    argv += ["--server", live_service.base_url, "--presses", "0", "--mqtt", f"127.0.0.1:{broker.port}"]
    done = subprocess.run(argv, env=service_env(live_service.settings), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[bot_001] mqtt connected" in done.stdout
    student = ApiClient(live_service.base_url, product_id="bot_001", password="12345")
    viewer = RoomListener(live_service.base_url, student.token, "bot_001")
    try:
        viewer.wait_for(lambda events: any(e.get("stream") == "serial" for e in events))
        serial = [e["text"] for e in viewer.events if e.get("stream") == "serial"]
        assert serial[0] == "boot: simulated bot" and serial[1].startswith("running firmware ")
    finally:
        viewer.close()


def test_a_line_for_the_bots_serial_input_comes_back_as_its_serial_output(live_service, bridge, simulated):  # noqa: F811
    student = ApiClient(live_service.base_url, product_id="bot_001", password="12345")
    viewer = RoomListener(live_service.base_url, student.token, "bot_001")
    try:
        assert wait_until(lambda: bridge.marked_connected)
        joined = RoomListener(live_service.base_url, student.token, "bot_001")
        joined.close()
        assert joined.ack["link"] == "online"  # every join answer says how the device link is
        line = "speed 42 \u00e9t\u00e9 <b>not html</b>"
        sent = student.post("/api/devices/bot_001/commands", json={"command": "serial", "args": {"line": line}})
        assert sent.status_code == 202, sent.text
        command_id = sent.json()["command"]["id"]

        def command() -> dict:
            return student.get(f"/api/devices/bot_001/commands/{command_id}").json()["command"]

        assert wait_until(lambda: command()["state"] == "done", timeout=30), command()
        viewer.wait_for(lambda events: any(e.get("stream") == "serial" for e in events))
        assert [e["text"] for e in viewer.events if e.get("stream") == "serial"] == [f"> {line}"]
        states = [e["state"] for e in viewer.events if e["type"] == "command" and e["id"] == command_id]
        assert states == ["pending", "sent", "acked", "done"]
    finally:
        viewer.close()

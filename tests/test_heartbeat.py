"""Heartbeats: presence, the image a bot really runs, telemetry, and strict handling of bad reports."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from webide.extensions import db
from webide.models import Deployment, Device, utcnow

from .conftest import ESP32_FQBN, bearer
from .ota_support import deploy_image, device_row, flash_state, logged_events

GOOD = {
    "fw": "build-3",
    "md5": "0123456789abcdef0123456789abcdef",
    "heap": 180000,
    "uptime": 42,
    "rssi": -60,
    "ip": "192.168.1.23",
    "mac": "24:0A:C4:12:34:56",
}


@pytest.fixture
def token(accounts):  # type: ignore[no-untyped-def]
    return accounts.bot("bot_h", "12345", fqbn=ESP32_FQBN).device_token


def beat(client, token: str, body, **kwargs):  # type: ignore[no-untyped-def]
    return client.post("/api/devices/bot_h/heartbeat", headers=bearer(token), json=body, **kwargs)


def test_heartbeat_records_presence_image_and_telemetry(app, client, settings, token):
    response = beat(
        client, token, {**GOOD, "temperature": 21.5, "distance_cm": 12, "label": "ignored", "nested": {"a": 1}}
    )
    assert response.status_code == 200
    assert response.get_json() == {"success": True, "update_available": False, "commands": []}
    row = device_row(app, "bot_h")
    assert row["last_seen_at"] is not None
    assert (row["running_md5"], row["running_version"]) == (GOOD["md5"], "build-3")
    telemetry = row["telemetry"]
    assert {k: telemetry[k] for k in ("heap", "uptime", "rssi", "ip", "mac")} == {
        k: GOOD[k] for k in ("heap", "uptime", "rssi", "ip", "mac")
    }
    assert telemetry["sensors"] == {"temperature": 21.5, "distance_cm": 12}
    shown = client.get(
        "/api/devices/bot_h",
        headers=bearer(
            client.post("/api/auth/login", json={"product_id": "bot_h", "password": "12345"}).get_json()["token"]
        ),
    )
    assert shown.get_json()["online"] is True
    assert shown.get_json()["running"]["md5"] == GOOD["md5"]
    device_events = logged_events(settings.redis_url, "bot_h", "device")
    assert device_events[-1]["online"] is True and device_events[-1]["last_seen"].endswith("Z")
    monitor = [e["text"] for e in logged_events(settings.redis_url, "bot_h", "line") if e["stream"] == "device"]
    assert "temperature=21.5" in monitor[-1] and "rssi=-60" in monitor[-1]


def test_sensor_readings_are_bounded(app, client, token):
    many = {f"s{i:03d}": i for i in range(200)}
    assert beat(client, token, {**GOOD, **many, "x" * 80: 1}).status_code == 200
    sensors = device_row(app, "bot_h")["telemetry"]["sensors"]
    assert len(sensors) == 32 and all(name.startswith("s") for name in sensors)


def test_offline_after_the_configured_silence(app, client, token):
    login = client.post("/api/auth/login", json={"product_id": "bot_h", "password": "12345"}).get_json()["token"]
    assert client.get("/api/devices/bot_h", headers=bearer(login)).get_json()["online"] is False
    beat(client, token, GOOD)
    assert client.get("/api/devices/bot_h", headers=bearer(login)).get_json()["online"] is True
    silence = app.config["SETTINGS"].device_offline_s + 1
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.product_id == "bot_h"))
        device.last_seen_at = utcnow() - timedelta(seconds=silence)
        db.session.commit()
    assert client.get("/api/devices/bot_h", headers=bearer(login)).get_json()["online"] is False


BAD_BODIES = [
    ("not an object", [1, 2, 3]),
    ("string body", "hello"),
    ("heap as text", {"heap": "lots"}),
    ("uptime negative", {"uptime": -1}),
    ("uptime float", {"uptime": 1.5}),
    ("rssi bool", {"rssi": True}),
    ("rssi out of range", {"rssi": 1000}),
    ("md5 wrong length", {"md5": "abc"}),
    ("md5 not hex", {"md5": "z" * 32}),
    ("sha256 as number", {"sha256": 5}),
    ("fw too long", {"fw": "x" * 65}),
    ("fw nested", {"fw": {"version": 1}}),
    ("ip not an address", {"ip": "999.1.1.1"}),
    ("mac malformed", {"mac": "24:0A:C4"}),
    ("rolled_back as text", {"rolled_back": "yes"}),
    ("nul in fw", {"fw": "a\x00b"}),
]


@pytest.mark.parametrize("case,body", BAD_BODIES, ids=[case for case, _ in BAD_BODIES])
def test_bad_heartbeats_are_400_and_change_nothing(app, client, token, case, body):
    before = device_row(app, "bot_h")
    response = beat(client, token, body)
    assert response.status_code == 400, case
    assert response.get_json()["success"] is False and response.get_json()["error"]
    assert device_row(app, "bot_h") == before


@pytest.mark.parametrize(
    "raw",
    [
        b'{"heap": NaN}',
        b'{"uptime": Infinity}',
        b'{"heap": -Infinity}',
        b'{"heap": 1',
        b"\xff\xfe",
        b"[" * 5000 + b"]" * 5000,
        b"",
    ],
)
def test_unparseable_heartbeats_are_400(app, client, token, raw):
    before = device_row(app, "bot_h")
    response = client.post(
        "/api/devices/bot_h/heartbeat", headers={**bearer(token), "Content-Type": "application/json"}, data=raw
    )
    assert response.status_code in (400, 413)
    assert response.status_code == (413 if len(raw) > 8192 else 400)
    assert device_row(app, "bot_h") == before


def test_huge_heartbeat_is_413(app, client, token):
    before = device_row(app, "bot_h")
    body = json.dumps({**GOOD, "padding": "x" * 20000})
    response = client.post(
        "/api/devices/bot_h/heartbeat", data=body, headers={**bearer(token), "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert "limit" in response.get_json()["error"]
    assert device_row(app, "bot_h") == before


def test_unknown_and_blocked_bots_change_nothing(app, client, accounts, token):
    other = accounts.bot("bot_other", "12345", fqbn=ESP32_FQBN).device_token
    before = device_row(app, "bot_h")
    assert beat(client, other, GOOD).status_code == 401
    assert client.post("/api/devices/ghost/heartbeat", headers=bearer(token), json=GOOD).status_code == 401
    with app.app_context():
        db.session.scalar(select(Device).where(Device.product_id == "bot_h")).blocked = True
        db.session.commit()
    assert beat(client, token, GOOD).status_code == 403
    assert device_row(app, "bot_h") == before


def test_heartbeat_without_csrf_or_session_is_accepted(app, token):
    fresh = app.test_client()
    assert fresh.post("/api/devices/bot_h/heartbeat", headers=bearer(token), json=GOOD).status_code == 200


class TestConfirmation:
    def test_heartbeat_with_the_target_hash_confirms_and_says_no_update(self, app, client, token):
        firmware = deploy_image(app, "bot_h", size=16 * 1024, seed=11)
        assert beat(client, token, GOOD).get_json()["update_available"] is True
        answer = beat(client, token, {**GOOD, "md5": firmware.md5.upper()}).get_json()
        assert answer["update_available"] is False
        assert flash_state(app, "bot_h")[0] == "running"

    def test_sha256_heartbeat_confirms_too(self, app, client, token):
        firmware = deploy_image(app, "bot_h", size=16 * 1024, seed=12)
        body = {k: v for k, v in GOOD.items() if k != "md5"}
        assert beat(client, token, {**body, "sha256": firmware.embedded_sha256}).status_code == 200
        assert flash_state(app, "bot_h")[0] == "running"
        assert device_row(app, "bot_h")["running_md5"] == firmware.md5

    def test_redeploying_the_running_image_is_confirmed_by_the_next_heartbeat(self, app, client, token):
        firmware = deploy_image(app, "bot_h", size=16 * 1024, seed=13)
        beat(client, token, {**GOOD, "md5": firmware.md5})
        again = deploy_image(app, "bot_h", size=16 * 1024, seed=13)
        assert again.build_number == firmware.build_number + 1
        assert flash_state(app, "bot_h")[0] == "waiting_for_button"
        beat(client, token, {**GOOD, "md5": firmware.md5})
        assert flash_state(app, "bot_h")[0] == "running"

    def _download(self, app, client, token):  # type: ignore[no-untyped-def]
        firmware = deploy_image(app, "bot_h", size=16 * 1024, seed=14)
        response = client.get("/bot_h.ino.bin", headers={**bearer(token), "x-ESP32-sketch-md5": GOOD["md5"]})
        assert response.data == firmware.data
        assert flash_state(app, "bot_h")[0] == "rebooting"
        return firmware

    def test_old_hash_after_a_restart_means_rolled_back(self, app, client, token):
        self._download(app, client, token)
        rebooting_since = self._age_rebooting(app, seconds=30)
        beat(client, token, {**GOOD, "uptime": rebooting_since - 5})
        state, _, message = flash_state(app, "bot_h")
        assert state == "rolled_back" and "previous firmware" in message

    def test_old_hash_before_the_restart_is_not_a_rollback(self, app, client, token):
        self._download(app, client, token)
        rebooting_since = self._age_rebooting(app, seconds=30)
        beat(client, token, {**GOOD, "uptime": rebooting_since + 600})
        assert flash_state(app, "bot_h")[0] == "rebooting"

    def test_bot_saying_it_rolled_back(self, app, client, token):
        self._download(app, client, token)
        beat(client, token, {**GOOD, "uptime": 100000, "rolled_back": True})
        assert flash_state(app, "bot_h")[0] == "rolled_back"

    def _age_rebooting(self, app, seconds: int) -> int:  # type: ignore[no-untyped-def]
        """Pretend the download finished ``seconds`` ago."""
        with app.app_context():
            deployment = db.session.scalar(select(Deployment).order_by(Deployment.id.desc()).limit(1))
            deployment.updated_at = utcnow() - timedelta(seconds=seconds)
            db.session.commit()
        return seconds

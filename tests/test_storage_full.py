"""A database that cannot write (a full disk): the bots still get their firmware, everyone else a clear 503.

SQLite answers "database or disk is full" on commit when the disk fills; the session's commit is made to fail the
same way here, since filling a real disk would take every other test with it.
"""

from __future__ import annotations

import hashlib
import sqlite3

import pytest
import sqlalchemy.exc
from sqlalchemy.orm import Session

from .conftest import ESP32_FQBN, bearer
from .ota_support import deploy_image
from .test_ota_protocol import STOCK_HEADERS


@pytest.fixture
def full_disk(monkeypatch):  # type: ignore[no-untyped-def]
    def refuse(_session: Session) -> None:
        raise sqlalchemy.exc.OperationalError("COMMIT", {}, sqlite3.OperationalError("database or disk is full"))

    return lambda: monkeypatch.setattr(Session, "commit", refuse)


def test_the_firmware_download_needs_no_database_write(app, client, accounts, full_disk):
    token = accounts.bot("bot_a", "12345", fqbn=ESP32_FQBN).device_token
    firmware = deploy_image(app, "bot_a", size=64 * 1024, seed=3)
    full_disk()
    response = client.get("/bot_a.ino.bin", headers={**STOCK_HEADERS, **bearer(token)})
    assert response.status_code == 200
    assert response.data == firmware.data and response.headers["x-MD5"] == hashlib.md5(firmware.data).hexdigest()
    check = client.get("/api/ota/bot_a/check", headers=bearer(token))
    assert check.status_code == 200 and check.get_json()["updateAvailable"] is True


def test_writes_answer_503_with_the_reason(client, accounts, full_disk):
    device_token = accounts.bot("bot_a", "12345", fqbn=ESP32_FQBN).device_token
    api_token = accounts.api_token(client, product_id="bot_a", password="12345")
    full_disk()
    heartbeat = client.post("/api/devices/bot_a/heartbeat", json={"uptime": 5}, headers=bearer(device_token))
    save = client.put(
        "/api/devices/bot_a/sketch",
        json={"files": [{"name": "bot_a.ino", "content": "void setup(){}\nvoid loop(){}\n"}], "base_revision": 1},
        headers=bearer(api_token),
    )
    for response in (heartbeat, save):
        assert response.status_code == 503
        assert "disk is full" in response.get_json()["error"]

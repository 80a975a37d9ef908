"""A bot's Wi-Fi settings: validated, the password encrypted at rest, never returned, readable after a restart."""

from __future__ import annotations

import sqlite3
import stat

import pytest
from sqlalchemy import select

from webide import create_app
from webide.core.wifi import KEY_FILE, WifiCredentials, wifi_credentials
from webide.extensions import db
from webide.models import Device

from .conftest import bearer

WIFI = "/api/devices/bot_001/wifi"
PASSWORD = "Sup3r-Secret-Passphrase"


@pytest.fixture
def session(bot_session):  # type: ignore[no-untyped-def]
    return bot_session


def credentials(app, data_dir) -> WifiCredentials | None:  # type: ignore[no-untyped-def]
    with app.app_context():
        return wifi_credentials(db.session.scalar(select(Device)), data_dir)


def test_a_new_bot_has_no_wifi(session):
    assert session.get(WIFI).get_json() == {"success": True, "ssid": "", "has_password": False}


def test_wifi_is_stored_and_the_password_never_returned(app, session, data_dir):
    response = session.put(WIFI, json={"ssid": "Classroom 2.4G", "password": PASSWORD})
    assert response.status_code == 200
    assert PASSWORD not in response.get_data(as_text=True)
    body = session.get(WIFI).get_json()
    assert body == {"success": True, "ssid": "Classroom 2.4G", "has_password": True}
    assert credentials(app, data_dir) == WifiCredentials("Classroom 2.4G", PASSWORD)


@pytest.mark.sqlite_only
def test_the_password_is_not_in_the_database_in_plain_text(app, session, data_dir):
    session.put(WIFI, json={"ssid": "lab", "password": PASSWORD})
    with app.app_context():
        db.engine.dispose()  # close pooled connections so the write-ahead log is folded into the file
    with sqlite3.connect(data_dir / "webide.sqlite3") as connection:
        ssid, stored = connection.execute("SELECT wifi_ssid, wifi_password_encrypted FROM devices").fetchone()
    assert ssid == "lab"
    assert stored and PASSWORD not in stored
    for path in data_dir.glob("webide.sqlite3*"):
        assert PASSWORD.encode() not in path.read_bytes(), path


def test_the_key_file_is_private(session, data_dir):
    session.put(WIFI, json={"ssid": "lab", "password": PASSWORD})
    assert stat.S_IMODE((data_dir / KEY_FILE).stat().st_mode) == 0o600


def test_the_password_survives_an_app_restart(app, session, settings, data_dir):
    session.put(WIFI, json={"ssid": "lab", "password": PASSWORD})
    with app.app_context():
        db.engine.dispose()
    restarted = create_app(settings)
    try:
        assert credentials(restarted, data_dir) == WifiCredentials("lab", PASSWORD)
    finally:
        with restarted.app_context():
            db.engine.dispose()


def test_a_replaced_key_makes_the_password_unreadable_not_wrong(app, session, data_dir):
    session.put(WIFI, json={"ssid": "lab", "password": PASSWORD})
    (data_dir / KEY_FILE).write_text("ab" * 32)
    assert credentials(app, data_dir) is None


def test_an_empty_password_means_an_open_network(app, session, data_dir):
    session.put(WIFI, json={"ssid": "lab", "password": PASSWORD})
    assert session.put(WIFI, json={"ssid": "cafe", "password": ""}).status_code == 200
    assert session.get(WIFI).get_json()["has_password"] is False
    assert credentials(app, data_dir) == WifiCredentials("cafe", "")


def test_leaving_out_the_password_keeps_the_stored_one(app, session, data_dir):
    session.put(WIFI, json={"ssid": "lab", "password": PASSWORD})
    assert session.put(WIFI, json={"ssid": "lab-5"}).status_code == 200
    assert credentials(app, data_dir) == WifiCredentials("lab-5", PASSWORD)


@pytest.mark.parametrize(
    "body,needle",
    [
        ({"password": PASSWORD}, "Missing field: ssid"),
        ({"ssid": "", "password": PASSWORD}, "1 to 32 bytes"),
        ({"ssid": "x" * 33, "password": PASSWORD}, "1 to 32 bytes"),
        ({"ssid": "é" * 17, "password": PASSWORD}, "it is 34"),
        ({"ssid": 42, "password": PASSWORD}, "ssid must be a string"),
        ({"ssid": "lab\x00", "password": PASSWORD}, "control characters"),
        ({"ssid": "lab", "password": "short"}, "8 to 63 characters"),
        ({"ssid": "lab", "password": "p" * 64}, "8 to 63 characters"),
        ({"ssid": "lab", "password": 12345678}, "password must be a string"),
        ({"ssid": "lab", "password": "new\nline pass"}, "control characters"),
    ],
)
def test_bad_wifi_settings_are_refused(app, session, data_dir, body, needle):
    response = session.put(WIFI, json=body)
    assert response.status_code == 400 and needle in response.get_json()["error"]
    assert credentials(app, data_dir) is None


def test_limits_are_inclusive(session):
    assert session.put(WIFI, json={"ssid": "s" * 32, "password": "p" * 63}).status_code == 200
    assert session.put(WIFI, json={"ssid": "s", "password": "p" * 8}).status_code == 200


def test_wifi_needs_csrf_in_a_browser_and_works_with_a_token(app, client, accounts):
    accounts.bot("bot_001", "12345")
    browser = app.test_client()
    accounts.browser_login(browser, "bot_001", "12345")
    assert browser.put(WIFI, json={"ssid": "lab", "password": PASSWORD}).status_code == 400
    token = accounts.api_token(client, product_id="bot_001", password="12345")
    assert client.put(WIFI, headers=bearer(token), json={"ssid": "lab", "password": PASSWORD}).status_code == 200
    assert client.get(WIFI, headers=bearer(token)).get_json()["ssid"] == "lab"

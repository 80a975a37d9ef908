"""The first-flash kit: a ZIP whose NVS image holds exactly what the agent reads, with a newly issued device token."""

from __future__ import annotations

import io
import json
import math
import struct
import zipfile
import zlib

import pytest

from webide import create_app
from webide.core.firmware.signing import signing_key
from webide.core.registry import create_device
from webide.core.wifi import KEY_FILE
from webide.database import migrate_database
from webide.extensions import db

from .conftest import ROOT, Accounts, bearer, csrf_token

KIT = "/api/devices/bot_001/provisioning"
WIFI = "/api/devices/bot_001/wifi"
HEARTBEAT = "/api/devices/bot_001/heartbeat"
PASSWORD = "Sup3r-Secret-Passphrase"
LINK_FLAGS_FILE = ROOT / "bootstrap_firmware" / "WebideAgent" / "extras" / "esp32_link_flags.txt"

# The NVS format of ESP-IDF: 4 KiB pages, a 32-byte header, a 32-byte bitmap (2 bits per entry), 126 entries.
PAGE_SIZE = 4096
ENTRY_SIZE = 32
ENTRIES_PER_PAGE = 126
FIRST_ENTRY = 64
PAGE_ACTIVE, PAGE_FULL, PAGE_UNUSED = 0xFFFFFFFE, 0xFFFFFFFC, 0xFFFFFFFF
ENTRY_WRITTEN, ENTRY_EMPTY = 0b10, 0b11
TYPE_U8, TYPE_STRING = 0x01, 0x21
AGENT_KEYS = {"ssid", "pass", "server", "product", "token", "signkey"}


def nvs_crc(data: bytes) -> int:
    return zlib.crc32(data, 0xFFFFFFFF)


def entry_state(page: bytes, index: int) -> int:
    return (page[32 + index // 4] >> (index % 4 * 2)) & 0b11


def read_entry(page: bytes, index: int) -> tuple[int, str, object, int]:
    """(namespace index, key, value, span) of the entry at ``index``, with every checksum verified."""
    start = FIRST_ENTRY + index * ENTRY_SIZE
    entry = page[start : start + ENTRY_SIZE]
    namespace, kind, span = entry[0], entry[1], entry[2]
    assert struct.unpack_from("<I", entry, 4)[0] == nvs_crc(entry[0:4] + entry[8:32]), "entry header CRC"
    key = entry[8:24].rstrip(b"\0").decode()
    if kind == TYPE_U8:
        return namespace, key, entry[24], span
    assert kind == TYPE_STRING, f"unexpected entry type {kind:#x} for {key}"
    size = struct.unpack_from("<H", entry, 24)[0]
    data = page[start + ENTRY_SIZE : start + ENTRY_SIZE + size]
    assert span == 1 + math.ceil(size / ENTRY_SIZE)
    assert all(entry_state(page, index + i) == ENTRY_WRITTEN for i in range(span))
    assert struct.unpack_from("<I", entry, 28)[0] == nvs_crc(data), f"data CRC of {key}"
    assert data.endswith(b"\0")
    return namespace, key, data[:-1].decode(), span


def read_page(page: bytes) -> list[tuple[int, str, object]]:
    state = struct.unpack_from("<I", page, 0)[0]
    if state == PAGE_UNUSED:
        assert page == b"\xff" * PAGE_SIZE
        return []
    assert state in (PAGE_ACTIVE, PAGE_FULL)
    assert struct.unpack_from("<I", page, 28)[0] == nvs_crc(page[4:28]), "page header CRC"
    entries = []
    index = 0
    while index < ENTRIES_PER_PAGE and entry_state(page, index) != ENTRY_EMPTY:
        assert entry_state(page, index) == ENTRY_WRITTEN
        namespace, key, value, span = read_entry(page, index)
        entries.append((namespace, key, value))
        index += span
    return entries


def read_nvs(image: bytes) -> dict[str, dict[str, object]]:
    """Every namespace of an NVS partition image with its keys and values."""
    assert len(image) % PAGE_SIZE == 0
    entries = [
        item for start in range(0, len(image), PAGE_SIZE) for item in read_page(image[start : start + PAGE_SIZE])
    ]
    names = {value: key for namespace, key, value in entries if namespace == 0}
    values: dict[str, dict[str, object]] = {name: {} for name in names.values()}
    for namespace, key, value in entries:
        if namespace != 0:
            values[names[namespace]][key] = value
    return values


def unzip(body: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name) for name in archive.namelist()}


CONFIRM = {"confirm_reflash": True}


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    """Bots must be able to reach the server URL baked into the kit: never a loopback address."""
    return settings.with_overrides(public_url="http://webide.lan")


@pytest.fixture
def old_token(accounts) -> str:  # type: ignore[no-untyped-def]
    accounts.bot("bot_002", "12345")
    return accounts.bot("bot_001", "12345").device_token


@pytest.fixture
def session(app, accounts, old_token):  # type: ignore[no-untyped-def]
    client = app.test_client()
    accounts.browser_login(client, "bot_001", "12345")
    client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(client)
    return client


def beat(client, token: str, product_id: str = "bot_001") -> int:  # type: ignore[no-untyped-def]
    return client.post(f"/api/devices/{product_id}/heartbeat", headers=bearer(token), json={"uptime": 1}).status_code


def download(client, **kwargs):  # type: ignore[no-untyped-def]
    response = client.post(KIT, **{"json": CONFIRM, **kwargs})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def test_the_kit_holds_the_agent_settings_as_nvs_image_readme_and_json(session):
    session.put(WIFI, json={"ssid": "Classroom 2.4G", "password": PASSWORD})
    response = download(session)
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == 'attachment; filename="bot_001-provisioning.zip"'
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Device-Token-Replaced"] == "true"
    files = unzip(response.get_data())
    assert set(files) == {"nvs.bin", "README.txt", "settings.json"}
    assert len(files["nvs.bin"]) == 0x5000
    stored = read_nvs(files["nvs.bin"])
    assert set(stored) == {"webide"} and set(stored["webide"]) == AGENT_KEYS
    token = stored["webide"]["token"]
    assert isinstance(token, str) and len(token) >= 32
    assert stored["webide"] == {
        "ssid": "Classroom 2.4G",
        "pass": PASSWORD,
        "server": "http://webide.lan",
        "product": "bot_001",
        "token": token,
        "signkey": signing_key(session.application.config["SETTINGS"]).public_key_b64,
    }
    settings = json.loads(files["settings.json"])
    assert {k: settings[k] for k in ("wifi_ssid", "wifi_password", "server_url", "product_id", "device_token")} == {
        "wifi_ssid": "Classroom 2.4G",
        "wifi_password": PASSWORD,
        "server_url": "http://webide.lan",
        "product_id": "bot_001",
        "device_token": token,
    }


def test_the_last_page_stays_free_for_the_agent_to_write(session):
    session.put(WIFI, json={"ssid": "lab", "password": PASSWORD})
    image = unzip(download(session).get_data())["nvs.bin"]
    assert image[-PAGE_SIZE:] == b"\xff" * PAGE_SIZE
    assert struct.unpack_from("<I", image, 0)[0] == PAGE_ACTIVE


def test_the_readme_gives_the_flash_steps_link_flags_and_firmware_url(session):
    session.put(WIFI, json={"ssid": "lab", "password": PASSWORD})
    readme = unzip(download(session).get_data())["README.txt"].decode()
    link_flags = LINK_FLAGS_FILE.read_text().strip()
    assert f'--build-property "compiler.libraries.ldflags={link_flags}"' in readme
    assert "compiler.c.elf.extra_flags" not in readme  # it holds Arduino-ESP32 3.x's own link options
    assert "arduino-cli compile --fqbn esp32:esp32:esp32" in readme
    assert "arduino-cli upload --fqbn esp32:esp32:esp32" in readme
    assert "esptool.py --chip esp32 -p /dev/ttyUSB0 write_flash 0x9000 nvs.bin" in readme
    assert "http://webide.lan/bot_001.ino.bin" in readme
    assert "previous\ntoken no longer works" in readme
    assert "[webide] online as bot_001" in readme and "LED" in readme
    assert readme.index("arduino-cli upload") < readme.index("write_flash") < readme.index("BOOT button")


def test_an_open_network_gets_an_empty_password(session):
    session.put(WIFI, json={"ssid": "cafe", "password": ""})
    files = unzip(download(session).get_data())
    assert read_nvs(files["nvs.bin"])["webide"]["pass"] == ""
    assert json.loads(files["settings.json"])["wifi_password"] == ""
    assert "open network" in files["README.txt"].decode()


def test_the_new_token_authenticates_and_the_old_one_no_longer_does(app, client, accounts, old_token):
    api = accounts.api_token(client, product_id="bot_001", password="12345")
    assert client.put(WIFI, headers=bearer(api), json={"ssid": "lab", "password": PASSWORD}).status_code == 200
    assert beat(client, old_token) == 200
    new_token = read_nvs(unzip(download(client, headers=bearer(api)).get_data())["nvs.bin"])["webide"]["token"]
    assert new_token != old_token
    assert beat(client, old_token) == 401
    assert beat(client, str(new_token)) == 200


def test_each_download_replaces_the_token_again(session, client):
    session.put(WIFI, json={"ssid": "lab", "password": PASSWORD})
    first = read_nvs(unzip(download(session).get_data())["nvs.bin"])["webide"]["token"]
    second = read_nvs(unzip(download(session).get_data())["nvs.bin"])["webide"]["token"]
    assert first != second
    assert beat(client, str(first)) == 401 and beat(client, str(second)) == 200


def test_the_request_host_is_the_server_url_without_a_public_url(public_app):
    client, headers = api_client_with_wifi(public_app(""))
    files = unzip(download(client, headers=headers, base_url="http://webide.lan:5000").get_data())
    assert read_nvs(files["nvs.bin"])["webide"]["server"] == "http://webide.lan:5000"
    assert "http://webide.lan:5000/bot_001.ino.bin" in files["README.txt"].decode()


@pytest.fixture
def public_app(settings):  # type: ignore[no-untyped-def]
    def make(public_url: str):  # type: ignore[no-untyped-def]
        application = create_app(settings.with_overrides(public_url=public_url))
        application.config["TESTING"] = True
        migrate_database(application)
        made.append(application)
        return application

    made: list = []
    yield make
    for application in made:
        with application.app_context():
            db.engine.dispose()


def api_client_with_wifi(application):  # type: ignore[no-untyped-def]
    accounts = Accounts(application)
    accounts.bot("bot_001", "12345")
    client = application.test_client()
    headers = bearer(accounts.api_token(client, product_id="bot_001", password="12345"))
    assert client.put(WIFI, headers=headers, json={"ssid": "lab", "password": PASSWORD}).status_code == 200
    return client, headers


def test_the_public_url_setting_is_the_server_url(public_app):
    client, headers = api_client_with_wifi(public_app("http://10.0.0.2:5000/"))
    files = unzip(download(client, headers=headers).get_data())
    assert read_nvs(files["nvs.bin"])["webide"]["server"] == "http://10.0.0.2:5000"
    assert "http://10.0.0.2:5000/bot_001.ino.bin" in files["README.txt"].decode()


@pytest.mark.parametrize(
    "public_url,needle",
    [
        ("http://" + "a" * 130 + ".lan", "longer than the 128 bytes"),
        ("ftp://files.lan", "must start with http:// or https://"),
        ("http://127.0.0.1:5000", "set WEBIDE_PUBLIC_URL to the address bots use"),
        ("http://localhost:5000", "only reaches this computer itself"),
        ("http://[::1]:5000", "only reaches this computer itself"),
    ],
)
def test_a_server_url_the_bot_cannot_use_is_refused_and_the_token_kept(public_app, public_url, needle):
    application = public_app(public_url)
    client, headers = api_client_with_wifi(application)
    token = create_second_bot_token(application)
    response = client.post(KIT, headers=headers, json=CONFIRM)
    assert response.status_code == 400 and needle in response.get_json()["error"]
    assert beat(client, token, "bot_009") == 200


def create_second_bot_token(application) -> str:  # type: ignore[no-untyped-def]
    """Another bot's device token, to show that a refused kit leaves tokens working."""
    with application.app_context():
        token = create_device("bot_009", "12345", "", "arduino:avr:uno", None).device_token
        db.session.commit()
        return token


def test_no_wifi_settings_is_a_400_and_the_old_token_keeps_working(session, client, old_token):
    response = session.post(KIT, json=CONFIRM)
    assert response.status_code == 400
    assert "No Wi-Fi settings are stored for bot_001" in response.get_json()["error"]
    assert beat(client, old_token) == 200


def test_an_undecryptable_password_is_a_400_not_a_kit_without_it(session, client, data_dir, old_token):
    session.put(WIFI, json={"ssid": "lab", "password": PASSWORD})
    (data_dir / KEY_FILE).write_text("ab" * 32)
    response = session.post(KIT, json=CONFIRM)
    assert response.status_code == 400 and "can no longer be decrypted" in response.get_json()["error"]
    assert beat(client, old_token) == 200


def test_another_bot_is_not_found_and_its_token_untouched(app, accounts, client, old_token):
    other = accounts.bot("bot_003", "12345").device_token
    api = accounts.api_token(client, product_id="bot_003", password="12345")
    assert (
        client.put(
            "/api/devices/bot_003/wifi", headers=bearer(api), json={"ssid": "lab", "password": PASSWORD}
        ).status_code
        == 200
    )
    response = client.post("/api/devices/bot_001/provisioning", headers=bearer(api), json=CONFIRM)
    assert response.status_code == 404
    assert beat(client, old_token) == 200 and beat(client, other, "bot_003") == 200


@pytest.mark.parametrize("credentials", ["a browser without a session", "a wrong bearer token"])
def test_without_login_it_is_401(app, client, old_token, credentials):
    caller = app.test_client()
    if credentials == "a wrong bearer token":
        caller.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {old_token}x"
    else:
        caller.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(caller)
    response = caller.post(KIT)
    assert response.status_code == 401 and response.get_json()["success"] is False
    assert beat(client, old_token) == 200


def test_a_browser_session_needs_the_csrf_token(app, accounts, session, client, old_token):
    session.put(WIFI, json={"ssid": "lab", "password": PASSWORD})
    browser = app.test_client()
    accounts.browser_login(browser, "bot_001", "12345")
    response = browser.post(KIT)
    assert response.status_code == 400 and "CSRF token is missing" in response.get_json()["error"]
    assert beat(client, old_token) == 200
    browser.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(browser)
    assert browser.post(KIT, json=CONFIRM).status_code == 200
    assert beat(client, old_token) == 401


def test_an_instructor_gets_the_kit_of_a_bot_in_their_class(app, accounts, client):
    accounts.instructor("teacher", "correct horse", classes=("7b",))
    old = accounts.bot("bot_010", "12345", class_name="7b").device_token
    api = accounts.api_token(client, username="teacher", password="correct horse")
    assert (
        client.put(
            "/api/devices/bot_010/wifi", headers=bearer(api), json={"ssid": "lab", "password": PASSWORD}
        ).status_code
        == 200
    )
    response = client.post("/api/devices/bot_010/provisioning", headers=bearer(api))
    assert response.status_code == 200
    stored = read_nvs(unzip(response.get_data())["nvs.bin"])["webide"]
    assert stored["product"] == "bot_010"
    assert beat(client, old, "bot_010") == 401 and beat(client, str(stored["token"]), "bot_010") == 200


def test_the_nvs_reader_notices_a_damaged_image(session):
    session.put(WIFI, json={"ssid": "lab", "password": PASSWORD})
    image = bytearray(unzip(download(session).get_data())["nvs.bin"])
    image[FIRST_ENTRY + 2 * ENTRY_SIZE] ^= 0xFF  # the first byte of the "ssid" value
    with pytest.raises(AssertionError, match="data CRC of ssid"):
        read_nvs(bytes(image))


def test_a_bot_must_confirm_the_reflash_and_without_it_keeps_its_token(session, client, old_token):
    session.put(WIFI, json={"ssid": "lab", "password": PASSWORD})
    for body in ({}, {"confirm_reflash": False}):
        response = session.post(KIT, json=body)
        assert response.status_code == 409, response.get_json()
        assert "re-flash" in response.get_json()["error"] and response.get_json()["confirm_required"] is True
    assert beat(client, old_token) == 200


def test_an_instructor_issues_the_kit_without_confirming(app, accounts, session, client, old_token):
    session.put(WIFI, json={"ssid": "lab", "password": PASSWORD})
    accounts.instructor("teacher", "correct horse", classes=("lab",))
    with app.app_context():
        from webide.core.registry import find_class
        from webide.models import Device

        device = db.session.scalar(db.select(Device).where(Device.product_id == "bot_001"))
        device.classroom = find_class("lab")
        db.session.commit()
    teacher = bearer(accounts.api_token(client, username="teacher", password="correct horse"))
    response = client.post(KIT, headers=teacher)
    assert response.status_code == 200, response.get_data(as_text=True)
    token = read_nvs(unzip(response.get_data())["nvs.bin"])["webide"]["token"]
    assert beat(client, old_token) == 401 and beat(client, str(token)) == 200
    activity = client.get("/api/admin/activity?action=device.provisioning", headers=teacher).get_json()
    assert [(e["actor"], e["target"]) for e in activity["entries"]] == [("teacher", "bot_001")]

"""Hostile input over the whole API: each request gets a clear 4xx (never a 500) and nothing is stored.

One parametrized table: lone surrogates in every text field, numbers beyond 64 bits in URLs and bodies, JSON nested
100,000 deep, oversized bodies, control characters and over-long names, and ZIP imports carrying the same.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from webide.core.examples import example_files, list_examples
from webide.core.registry import get_or_create_class
from webide.core.sketches import check_sketch, main_file
from webide.extensions import current_settings, db
from webide.models import Build, Device, SketchRevision, User

from .conftest import bearer, csrf_token

LONE = "\ud800"
HUGE = 2**70
DEEP = "[" * 100_000 + "]" * 100_000
MAIN = "bot_001.ino"
GOOD_FILES = [{"name": MAIN, "content": "void setup() {}\nvoid loop() {}\n"}]


def sketch(**changes: str) -> list[dict[str, str]]:
    """The good sketch with the main file's name or content replaced, or a second file added."""
    main = {"name": changes.get("name", MAIN), "content": changes.get("content", GOOD_FILES[0]["content"])}
    extra = [{"name": changes["extra"], "content": "// x\n"}] if "extra" in changes else []
    return [main, *extra]


def zip_of(entries: dict[str, str | bytes], utf8_names: bytes | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in entries.items():
            archive.writestr(name, text)
    data = buffer.getvalue()
    if utf8_names is not None:  # swap a placeholder name for raw bytes (an invalid UTF-8 name)
        data = data.replace(b"PLACEHOLDER.h", utf8_names)
    return data


@dataclass
class Case:
    who: str  # "bot" (browser session), "teacher" (browser session), "device" (device token), "anyone"
    method: str
    path: str
    body: Any = None  # a JSON value (sent with \\u escapes), raw bytes/str, or a dict of form fields
    kind: str = "json"  # json | raw | form | upload
    needle: str = ""  # part of the error message
    headers: dict[str, str] = field(default_factory=dict)


def put_sketch(files: Any, **extra: Any) -> Case:
    return Case("bot", "PUT", "/api/devices/bot_001/sketch", {"files": files, "base_revision": 1, **extra})


def upload(name: str, data: bytes, needle: str = "") -> Case:
    return Case(
        "bot",
        "POST",
        "/api/devices/bot_001/sketch/import",
        {"file": FileStorage(io.BytesIO(data), name)},
        kind="upload",
        needle=needle,
    )


CASES = {
    # lone surrogates in every text field
    "sketch content": put_sketch(sketch(content=f"// {LONE}\n"), needle="Unicode"),
    "sketch file name": put_sketch(sketch(extra=f"a{LONE}.h"), needle="Unicode"),
    "save message": put_sketch(GOOD_FILES, message=LONE, needle="Unicode"),
    "build files": Case(
        "bot", "POST", "/api/devices/bot_001/builds", {"files": sketch(content=LONE)}, needle="Unicode"
    ),
    "build fqbn": Case("bot", "POST", "/api/devices/bot_001/builds", {"fqbn": LONE}, needle="Unicode"),
    "class push content": Case(
        "teacher",
        "POST",
        "/api/classes/robotics/builds",
        {"files": [{"name": "Main.ino", "content": LONE}]},
        needle="Unicode",
    ),
    "class push main": Case(
        "teacher",
        "POST",
        "/api/classes/robotics/builds",
        {"files": [{"name": "Main.ino", "content": ""}], "main": LONE},
        needle="Unicode",
    ),
    "format content": Case(
        "bot", "POST", "/api/devices/bot_001/format", {"name": MAIN, "content": LONE}, needle="Unicode"
    ),
    "wifi ssid": Case(
        "bot", "PUT", "/api/devices/bot_001/wifi", {"ssid": LONE, "password": "password1"}, needle="Unicode"
    ),
    "wifi password": Case(
        "bot", "PUT", "/api/devices/bot_001/wifi", {"ssid": "lab", "password": LONE * 8}, needle="Unicode"
    ),
    "board": Case("bot", "PATCH", "/api/devices/bot_001", {"fqbn": LONE}, needle="Unicode"),
    "login product id": Case(
        "anyone", "POST", "/api/auth/login", {"product_id": LONE, "password": "12345"}, needle="Unicode"
    ),
    "login username": Case(
        "anyone", "POST", "/api/auth/login", {"username": LONE, "password": "12345"}, needle="Unicode"
    ),
    "login password": Case(
        "anyone", "POST", "/api/auth/login", {"product_id": "bot_001", "password": LONE}, needle="Unicode"
    ),
    "password change": Case(
        "bot", "POST", "/api/auth/password", {"current_password": "12345", "new_password": LONE * 6}, needle="Unicode"
    ),
    "heartbeat": Case("device", "POST", "/api/devices/bot_001/heartbeat", {"fw": LONE}, needle="Unicode"),
    "status report": Case(
        "device", "POST", "/api/ota/bot_001/status", {"status": "FAILED", "message": LONE}, needle="Unicode"
    ),
    "login form": Case("anyone", "POST", "/login", "mode=device&identifier=%ED%A0%80&password=%ED%A0%80", kind="form"),
    # numbers beyond 64 bits
    "revision in URL": Case("bot", "GET", f"/api/devices/bot_001/sketch/revisions/{HUGE}", needle="No revision"),
    "restore in URL": Case(
        "bot", "POST", f"/api/devices/bot_001/sketch/revisions/{HUGE}/restore", {}, needle="No revision"
    ),
    "restore base": Case(
        "bot",
        "POST",
        "/api/devices/bot_001/sketch/revisions/1/restore",
        {"base_revision": HUGE},
        needle="base_revision",
    ),
    "save base": put_sketch(GOOD_FILES, base_revision=HUGE, needle="base_revision"),
    "history page": Case("bot", "GET", f"/api/devices/bot_001/sketch/revisions?before={HUGE}", needle="before"),
    "history limit": Case("bot", "GET", f"/api/devices/bot_001/sketch/revisions?limit={HUGE}", needle="limit"),
    "build id": Case("bot", "GET", f"/api/builds/{HUGE}", needle="No build"),
    "import base": Case(
        "bot",
        "POST",
        "/api/devices/bot_001/sketch/import",
        {"file": FileStorage(io.BytesIO(GOOD_FILES[0]["content"].encode()), MAIN), "base_revision": str(HUGE)},
        kind="upload",
        needle="base_revision",
    ),
    # nesting, size
    "deep save": Case("bot", "PUT", "/api/devices/bot_001/sketch", DEEP, kind="raw", needle="JSON"),
    "deep login": Case("anyone", "POST", "/api/auth/login", DEEP, kind="raw", needle="JSON"),
    "deep heartbeat": Case(
        "device", "POST", "/api/devices/bot_001/heartbeat", '{"a":' * 2000 + "1" + "}" * 2000, kind="raw"
    ),
    "deep object save": Case(
        "bot", "PUT", "/api/devices/bot_001/sketch", '{"a":' * 100_000 + "1" + "}" * 100_000, kind="raw", needle="JSON"
    ),
    "huge save": Case(
        "bot",
        "PUT",
        "/api/devices/bot_001/sketch",
        json.dumps({"files": sketch(content="x" * 3_000_000), "base_revision": 1}),
        kind="raw",
    ),
    "huge import": upload("big.zip", b"PK" + b"\0" * 3_000_000),
    "sketch too large": put_sketch(sketch(content="x" * 600_000), needle="limit"),
    # control characters and over-long names
    "escape in file name": put_sketch(sketch(extra="a\x1b[2J.h"), needle="may only use"),
    "newline in file name": put_sketch(sketch(extra="a.h\n"), needle="a.h"),
    "bell in class push main": Case(
        "teacher",
        "POST",
        "/api/classes/robotics/builds",
        {"files": [{"name": "Main.ino", "content": ""}], "main": "M\x07.ino"},
    ),
    "400-character name, JSON": put_sketch(sketch(extra="a" * 398 + ".h"), needle="64"),
    "400-character name, build": Case(
        "bot", "POST", "/api/devices/bot_001/builds", {"files": sketch(extra="a" * 398 + ".h")}, needle="64"
    ),
    "400-character name, class push": Case(
        "teacher",
        "POST",
        "/api/classes/robotics/builds",
        {"files": [{"name": "Main.ino", "content": ""}, {"name": "a" * 398 + ".h", "content": ""}]},
        needle="64",
    ),
    "400-character name, ZIP": upload(
        "bot_001.zip", zip_of({MAIN: "void setup(){}\n", "a" * 398 + ".h": ""}), needle="longer than 64"
    ),
    "400-character name, single file": upload("b" * 398 + ".h", b"// x\n", needle="longer than 64"),
    "escape in ZIP name": upload("bot_001.zip", zip_of({MAIN: "", "a\x1b]8;;x\x07.h": ""}), needle="may only use"),
    "invalid UTF-8 ZIP name": upload(
        "bot_001.zip", zip_of({MAIN: "", "PLACEHOLDER.h": ""}, utf8_names=b"\xed\xa0\x80\xed\xa0\x80\xed\xa0\x80.h")
    ),
    "surrogate in ZIP text": upload(
        "bot_001.zip", zip_of({MAIN: LONE.encode("utf-8", "surrogatepass")}), needle="UTF-8"
    ),
    "surrogate in single file": upload(MAIN, LONE.encode("utf-8", "surrogatepass"), needle="UTF-8"),
}


@pytest.fixture
def clients(app, accounts):  # type: ignore[no-untyped-def]
    device = accounts.bot("bot_001", "12345")
    accounts.instructor("teacher", "correct horse")
    with app.app_context():
        teacher = db.session.scalar(select(User).where(User.username == "teacher"))
        bot = db.session.scalar(select(Device).where(Device.product_id == "bot_001"))
        bot.classroom = get_or_create_class("robotics", teacher)
        db.session.commit()
    sessions = {"anyone": app.test_client()}
    for who, identifier, password, mode in (
        ("bot", "bot_001", "12345", "device"),
        ("teacher", "teacher", "correct horse", "user"),
    ):
        client = app.test_client()
        assert accounts.browser_login(client, identifier, password, mode=mode).status_code == 302
        client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(client)
        sessions[who] = client
    sessions["device"] = app.test_client()
    sessions["device"].environ_base["HTTP_AUTHORIZATION"] = bearer(device.device_token)["Authorization"]
    return sessions


def stored_state(app) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    with app.app_context():
        devices = db.session.scalars(select(Device).order_by(Device.id)).all()
        return {
            "revisions": db.session.scalar(select(func.count()).select_from(SketchRevision)),
            "builds": db.session.scalar(select(func.count()).select_from(Build)),
            "devices": [{c.key: getattr(d, c.key) for c in Device.__table__.columns} for d in devices],
        }


def send(client, case: Case):  # type: ignore[no-untyped-def]
    if case.kind == "json":
        return client.open(
            case.path,
            method=case.method,
            data=json.dumps(case.body),
            content_type="application/json",
            headers=case.headers,
        )
    if case.kind == "raw":
        return client.open(case.path, method=case.method, data=case.body, content_type="application/json")
    if case.kind == "form":
        return client.open(
            case.path,
            method=case.method,
            data=case.body + f"&csrf_token={csrf_token(client)}",
            content_type="application/x-www-form-urlencoded",
        )
    for value in case.body.values():
        if isinstance(value, FileStorage):
            value.stream.seek(0)  # each case runs once per database: read its file from the start every time
    boundary, data = encode_multipart(case.body)  # in memory (the test client would spool large bodies to a file)
    return client.open(
        case.path, method=case.method, data=data, content_type=f"multipart/form-data; boundary={boundary}"
    )


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_hostile_request_gets_a_clear_4xx_and_stores_nothing(app, clients, case):
    before = stored_state(app)
    response = send(clients[case.who], case)
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:500])
    if response.is_json:
        payload = response.get_json()
        assert payload["success"] is False and payload["error"]
        assert case.needle in payload["error"], payload["error"]
    else:
        assert case.needle in response.get_data(as_text=True)
    assert stored_state(app) == before


def test_every_example_passes_the_same_check_as_a_save(app, accounts):
    accounts.bot("bot_001", "12345")
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.product_id == "bot_001"))
        for example in list_examples():
            check_sketch(device, example_files(example["id"], main_file(device)), current_settings())

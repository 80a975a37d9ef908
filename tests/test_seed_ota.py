"""Seed 002's /ota-update and /ota-configure: a ZIP in ota_zip_file, answered with an update_id to poll."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from sqlalchemy import func, select

from webide.extensions import db
from webide.models import Build, Device, SketchRevision

from .conftest import bearer
from .test_sketch_import import make_zip

BLINK = "void setup() { pinMode(13, OUTPUT); }\nvoid loop() { digitalWrite(13, HIGH); }\n"


@pytest.fixture
def callers(client, accounts):  # type: ignore[no-untyped-def]
    accounts.instructor("teacher", "correct horse", classes=("lab",))
    accounts.bot("bot_a", "11111", class_name="lab")
    accounts.bot("bot_x", "22222")  # in no class of the teacher
    return {
        "bot": bearer(accounts.api_token(client, product_id="bot_a", password="11111")),
        "teacher": bearer(accounts.api_token(client, username="teacher", password="correct horse")),
    }


def send(client, path: str, headers, data: bytes | None, filename: str = "sketch.zip", **form: str):  # type: ignore[no-untyped-def]
    fields: dict[str, object] = dict(form)
    if data is not None:
        fields["ota_zip_file"] = (io.BytesIO(data), filename)
    return client.post(path, headers=headers, data=fields, content_type="multipart/form-data")


def state(app, product_id: str = "bot_a") -> dict:  # type: ignore[no-untyped-def]
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.product_id == product_id))
        head = db.session.scalar(select(func.max(SketchRevision.number)).where(SketchRevision.device_id == device.id))
        builds = db.session.scalars(select(Build).where(Build.device_id == device.id)).all()
        return {
            "name": device.name,
            "ssid": device.wifi_ssid,
            "head": head,
            "builds": [(b.deploy, b.revision) for b in builds],
        }


def test_a_bot_updates_itself_from_a_sketch_zip(app, client, callers):
    before = state(app)
    response = send(client, "/ota-update", callers["bot"], make_zip({"blink/blink.ino": BLINK}))
    assert response.status_code == 200, response.get_json()
    reply = response.get_json()
    assert {k: reply[k] for k in ("success", "status", "progress")} == {
        "success": True,
        "status": "pending",
        "progress": 0,
    }
    assert reply["message"] and reply["update_id"]
    after = state(app)
    assert after["head"] == before["head"] + 1 and after["builds"] == [(True, after["head"])]
    progress = client.get(f"/ota-update-progress/{reply['update_id']}", headers=callers["bot"])
    assert progress.status_code == 200 and progress.get_json()["status"] == "pending"


def test_an_unknown_update_answers_seed_002s_not_found(client, callers):
    for caller in ("bot", "teacher"):
        response = client.get("/ota-update-progress/0123456789abcdef", headers=callers[caller])
        assert response.status_code == 404
        reply = response.get_json()
        assert reply["error"] == "Update not found" and reply["message"] == "Update not found"
        assert reply["success"] is False and reply["status"] == "not_found"


def test_an_instructor_names_the_bot(app, client, callers):
    zip_data = make_zip({"blink.ino": BLINK})
    assert send(client, "/ota-update", callers["teacher"], zip_data, product_id="bot_a").status_code == 200
    hidden = send(client, "/ota-update", callers["teacher"], zip_data, product_id="bot_x")
    assert hidden.status_code == 404
    unnamed = send(client, "/ota-update", callers["teacher"], zip_data)
    assert unnamed.status_code == 400 and "product_id" in unnamed.get_json()["error"]
    other = send(client, "/ota-update", callers["bot"], zip_data, product_id="bot_x")
    assert other.status_code == 404
    assert state(app, "bot_x")["builds"] == []


@pytest.mark.parametrize("path", ["/ota-update", "/ota-configure"])
@pytest.mark.parametrize(
    "data,filename,needle",
    [
        (None, "", "No file provided"),
        (b"PK", "", "No file selected"),
        (b"void setup(){}", "sketch.ino", "Invalid file type. Please upload a ZIP file"),
        (make_zip({"../evil.ino": BLINK}), "slip.zip", "points outside the sketch folder"),
        (make_zip({"/etc/evil.ino": BLINK}), "slip.zip", "absolute path"),
        (make_zip({"s/s.ino": b"\x20" * 500_000}), "bomb.zip", "zip bomb"),
        (b"PK\x03\x04 not really", "broken.zip", "not a valid ZIP archive"),
    ],
)
def test_bad_uploads_are_refused_and_nothing_changes(app, client, callers, path, data, filename, needle):
    before = state(app)
    response = send(client, path, callers["bot"], data, filename)
    assert response.status_code == 400, response.get_json()
    assert needle in response.get_json()["error"]
    assert response.get_json()["success"] is False
    assert state(app) == before


def test_a_configuration_bundle_is_applied_and_the_first_build_queued(app, client, callers):
    bundle = make_zip(
        {
            "config.json": json.dumps({"wifi": {"ssid": "Lab 2.4G", "password": "secret pass"}, "name": "Rover"}),
            "starter.ino": BLINK,
        }
    )
    response = send(client, "/ota-configure", callers["teacher"], bundle, "bundle.zip", product_id="bot_a")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "pending"
    after = state(app)
    assert (after["name"], after["ssid"]) == ("Rover", "Lab 2.4G")
    assert after["builds"] == [(True, after["head"])]
    wifi = client.get("/api/devices/bot_a/wifi", headers=callers["teacher"]).get_json()
    assert wifi["ssid"] == "Lab 2.4G" and wifi["has_password"] is True


def test_a_bundle_without_a_sketch_builds_the_current_one(app, client, callers):
    before = state(app)
    bundle = make_zip({"config.json": json.dumps({"name": "Rover"})})
    assert send(client, "/ota-configure", callers["bot"], bundle, "bundle.zip").status_code == 200
    after = state(app)
    assert after["head"] == before["head"] and after["builds"] == [(True, before["head"])]


@pytest.mark.parametrize(
    "settings_text,needle",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "one JSON object"),
        (json.dumps({"name": "Rover", "colour": "red"}), "unknown settings: colour"),
        (json.dumps({"wifi": {"password": "x"}}), '"wifi" must be an object'),
        (json.dumps({"name": "Rover", "board": "no:such:board"}), "No installed toolchain can build"),
        (json.dumps({"name": "<b>Rover</b>"}), "must not contain < or >"),
        (json.dumps({"name": "Rover", "wifi": {"ssid": ""}}), "SSID"),
        ("[" * 20_000 + "]" * 20_000, "not valid JSON"),  # nested past the parser's recursion limit
    ],
)
def test_a_bad_bundle_changes_nothing(app, client, callers, settings_text, needle):
    before = state(app)
    bundle = make_zip({"config.json": settings_text}, zipfile.ZIP_STORED)
    response = send(client, "/ota-configure", callers["bot"], bundle, "bundle.zip")
    assert response.status_code in (400, 413), response.get_json()
    assert needle in response.get_json()["error"], response.get_json()
    assert state(app) == before


def test_a_bundle_needs_its_settings_file(app, client, callers):
    response = send(client, "/ota-configure", callers["bot"], make_zip({"blink.ino": BLINK}), "bundle.zip")
    assert response.status_code == 400 and "no config.json" in response.get_json()["error"]


def test_a_frozen_or_exam_class_holds_for_the_seed_endpoints_too(app, client, callers):
    """/ota-update and /ota-configure are Uploads: a frozen class refuses its students' (staff may still flash),
    an exam class refuses their saves, and a refusal changes nothing."""
    sketch = make_zip({"blink/blink.ino": BLINK})
    bundle = make_zip({"config.json": json.dumps({"name": "Rover"}), "starter.ino": BLINK})
    before = state(app)
    for freeze in ("frozen", "exam"):
        assert (
            client.put("/api/classes/lab/freeze", json={"state": freeze}, headers=callers["teacher"]).status_code == 200
        )
        for path, data in (("/ota-update", sketch), ("/ota-configure", bundle)):
            refused = send(client, path, callers["bot"], data, "bundle.zip")
            assert refused.status_code == 409, refused.get_json()
            assert freeze in refused.get_json()["error"].lower()
            assert state(app) == before
    assert send(client, "/ota-update", callers["teacher"], sketch, product_id="bot_a").status_code == 200
    assert state(app)["builds"] == [(True, before["head"] + 1)]

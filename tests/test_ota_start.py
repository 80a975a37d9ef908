"""Starting an update to a release or a build (seed 004's /api/ota/<id>/start) and following it in seed words."""

from __future__ import annotations

import hashlib
import io

import pytest
from sqlalchemy import select

from webide.core.firmware.store import APP_IMAGE, artifact_store, publish_artifact
from webide.extensions import db
from webide.models import Build, BuildStatus, Device

from .conftest import bearer
from .test_images import write_image

ESP32 = "esp32:esp32:esp32"
S3 = "esp32:esp32:lolin_s3"


@pytest.fixture
def fleet(app, client, accounts, tmp_path):  # type: ignore[no-untyped-def]
    accounts.instructor("teacher", "correct horse", classes=("lab",))
    bots = {
        "bot_a": accounts.bot("bot_a", "11111", class_name="lab", fqbn=ESP32),
        "bot_s3": accounts.bot("bot_s3", "33333", class_name="lab", fqbn=S3),
        "bot_x": accounts.bot("bot_x", "22222", fqbn=ESP32),  # in no class of the teacher
    }
    teacher = bearer(accounts.api_token(client, username="teacher", password="correct horse"))
    image = write_image(tmp_path / "app.bin")
    response = client.post(
        "/api/firmware/releases",
        headers=teacher,
        data={"file": (io.BytesIO(image.read_bytes()), "app.bin"), "version": "1.0.0", "board": ESP32},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    return {"teacher": teacher, "bots": bots, "image": image.read_bytes()}


def start(client, headers, product_id: str, **body: str):  # type: ignore[no-untyped-def]
    return client.post(f"/api/ota/{product_id}/start", headers=headers, json=body)


def test_a_release_update_goes_started_in_progress_success(client, fleet):
    token = bearer(fleet["bots"]["bot_a"].device_token)
    started = start(client, fleet["teacher"], "bot_a", version="1.0.0")
    assert started.status_code == 200, started.get_json()
    assert {k: started.get_json()[k] for k in ("status", "state", "version", "progress")} == {
        "status": "STARTED",
        "state": "waiting_for_button",
        "version": "1.0.0",
        "progress": 0,
    }
    manifest = client.get("/api/ota/bot_a/check", headers=token).get_json()
    assert manifest["updateAvailable"] is True and manifest["latestVersion"] == "1.0.0"
    download = client.get("/bot_a.ino.bin", headers=token)
    assert download.data == fleet["image"]
    current = client.get("/api/ota/bot_a/update", headers=fleet["teacher"]).get_json()
    assert (current["status"], current["state"]) == ("IN_PROGRESS", "rebooting")
    heartbeat = client.post(
        "/api/devices/bot_a/heartbeat", headers=token, json={"md5": hashlib.md5(fleet["image"]).hexdigest()}
    )
    assert heartbeat.status_code == 200
    current = client.get("/api/ota/bot_a/update", headers=fleet["teacher"]).get_json()
    assert (current["status"], current["state"], current["progress"]) == ("SUCCESS", "running", 100)


def test_a_reported_failure_is_failed(client, fleet):
    token = bearer(fleet["bots"]["bot_a"].device_token)
    start(client, fleet["teacher"], "bot_a", version="1.0.0")
    client.post("/api/ota/bot_a/status", headers=token, json={"status": "FAILED", "message": "no space"})
    current = client.get("/api/ota/bot_a/update", headers=fleet["teacher"]).get_json()
    assert (current["status"], current["message"]) == ("FAILED", "no space")


def test_a_bot_may_start_an_update_of_itself(client, accounts, fleet):
    own = bearer(accounts.api_token(client, product_id="bot_a", password="11111"))
    assert start(client, own, "bot_a", version="1.0.0").status_code == 200
    assert start(client, own, "bot_x", version="1.0.0").status_code == 404


def make_build(app, product_id: str, fqbn: str, status: str, image: bytes, tmp_path) -> str:  # type: ignore[no-untyped-def]
    with app.app_context():
        path = tmp_path / f"build-{product_id}.bin"
        path.write_bytes(image)
        artifact = publish_artifact(artifact_store(app.config["SETTINGS"]), fqbn, {APP_IMAGE: path})
        device = db.session.scalar(select(Device).where(Device.product_id == product_id))
        build = Build(device_id=device.id, revision=1, fqbn=fqbn, status=status, artifact=artifact)
        db.session.add(build)
        db.session.commit()
        return build.id


def test_a_build_of_another_bot_of_the_same_board_can_be_sent(app, client, fleet, tmp_path):
    build = make_build(app, "bot_a", ESP32, BuildStatus.COMPLETE.value, fleet["image"], tmp_path)
    reply = start(client, fleet["teacher"], "bot_a", build=build).get_json()
    assert reply["status"] == "STARTED" and reply["build"] == build


def test_refusals(app, client, fleet, tmp_path):
    teacher = fleet["teacher"]
    failed = make_build(app, "bot_a", ESP32, BuildStatus.ERROR.value, b"", tmp_path)
    hidden = make_build(app, "bot_x", ESP32, BuildStatus.COMPLETE.value, fleet["image"], tmp_path)
    cases = [
        ("bot_a", {"version": "1.0.0", "build": failed}, 400, "exactly one"),
        ("bot_a", {}, 400, "exactly one"),
        ("bot_a", {"version": "9.9.9"}, 404, "No release"),
        ("bot_a", {"build": failed}, 409, "finished successfully"),
        ("bot_a", {"build": hidden}, 404, "No build"),
        ("bot_s3", {"version": "1.0.0"}, 409, "names board esp32:esp32:esp32"),
    ]
    for product_id, body, status, needle in cases:
        response = start(client, teacher, product_id, **body)
        assert response.status_code == status, (body, response.get_json())
        assert needle in response.get_json()["error"], (body, response.get_json())
    client.post("/api/firmware/releases/1.0.0/block", headers=teacher, json={"blocked": True, "reason": "bad"})
    blocked = start(client, teacher, "bot_a", version="1.0.0")
    assert blocked.status_code == 409 and "blocked: bad" in blocked.get_json()["error"]
    with app.app_context():
        assert db.session.scalar(select(Device).where(Device.product_id == "bot_a")).target_artifact_id is None

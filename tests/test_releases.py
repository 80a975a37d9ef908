"""Firmware releases: upload checked by esptool, metadata, promotion, deletion rules and blocked versions."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from webide.core.deployments import deploy_artifact
from webide.core.releases import version_key
from webide.extensions import db
from webide.models import Artifact, AuditEntry, Build, BuildStatus, Device, Release

from .conftest import bearer
from .test_images import IMAGE_CLASSES, corrupt, segment, truncate, write_image

ESP32 = "esp32:esp32:esp32"


@pytest.fixture
def staff(client, accounts):  # type: ignore[no-untyped-def]
    accounts.instructor("teacher", "correct horse", classes=("lab",))
    accounts.admin("root", "admin secret")
    return {
        "teacher": bearer(accounts.api_token(client, username="teacher", password="correct horse")),
        "root": bearer(accounts.api_token(client, username="root", password="admin secret")),
    }


def image_bytes(tmp_path: Path, chip: str = "esp32", salt: int = 0) -> bytes:
    """A valid app image written by esptool; each salt gives other segment data, so other digests."""
    if salt == 0:
        return write_image(tmp_path / f"app-{chip}-0.bin", chip).read_bytes()
    image = IMAGE_CLASSES[chip]()
    image.entrypoint = 0x40080000
    image.segments = [segment(b".flash.rodata", 0x3F400020, bytes([salt % 256]) * 1024)]
    image.append_digest = True
    path = tmp_path / f"app-{chip}-{salt}.bin"
    image.save(str(path))
    return path.read_bytes()


def upload(client, headers, data: bytes | None, **fields: str):  # type: ignore[no-untyped-def]
    form: dict[str, object] = {"channel": "stable", **fields}
    if data is not None:
        form["file"] = (io.BytesIO(data), "firmware.ino.bin")
    return client.post("/api/firmware/releases", headers=headers, data=form, content_type="multipart/form-data")


def release_count(app) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.scalar(select(func.count(Release.id)))


def test_an_uploaded_image_becomes_a_release_with_its_metadata(app, client, staff, tmp_path):
    data = image_bytes(tmp_path)
    response = upload(
        client,
        staff["teacher"],
        data,
        version="1.2.0",
        notes="faster",
        board=ESP32,
        build_number="17",
        source_revision="abc123",
    )
    assert response.status_code == 201, response.get_json()
    release = response.get_json()["release"]
    assert release["version"] == "1.2.0" and release["chip"] == "esp32" and release["channel"] == "stable"
    assert release["size"] == len(data)
    assert release["md5"] == hashlib.md5(data).hexdigest()
    assert release["sha256"] == hashlib.sha256(data).hexdigest()
    assert (release["build_number"], release["source_revision"], release["created_by"]) == (17, "abc123", "teacher")
    assert release["board"] == ESP32 and release["notes"] == "faster" and release["blocked"] is False
    listed = client.get("/api/firmware/releases", headers=staff["root"]).get_json()["releases"]
    assert [item["version"] for item in listed] == ["1.2.0"]
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "release.create"))
        assert entry.actor_name == "teacher" and entry.target_name == "1.2.0"


def test_the_chip_comes_from_the_image(client, staff, tmp_path):
    response = upload(client, staff["teacher"], image_bytes(tmp_path, "esp32s3"), version="1.0.0")
    assert response.status_code == 201
    assert response.get_json()["release"]["chip"] == "esp32s3"


def damaged(tmp_path: Path, damage) -> bytes:  # type: ignore[no-untyped-def]
    return damage(write_image(tmp_path / "bad.bin")).read_bytes()


@pytest.mark.parametrize(
    "make,fields,status,needle",
    [
        (lambda t: image_bytes(t), {"version": "1.2"}, 400, "not a semantic version"),
        (lambda t: image_bytes(t), {"version": "01.2.3"}, 400, "not a semantic version"),
        (lambda t: image_bytes(t), {"version": ""}, 400, "Missing field: version"),
        (lambda t: image_bytes(t), {"version": "1.0.0", "channel": "nightly"}, 400, "Channel must be one of"),
        (lambda t: image_bytes(t), {"version": "1.0.0", "chip": "esp32s3"}, 400, "needs chip id 9"),
        (lambda t: image_bytes(t), {"version": "1.0.0", "chip": "atmega328p"}, 400, "not an ESP32-family chip"),
        (lambda t: image_bytes(t), {"version": "1.0.0", "board": "not a board"}, 400, "Board must be"),
        (lambda t: image_bytes(t), {"version": "1.0.0", "build_number": "-3"}, 400, "build_number"),
        (lambda t: damaged(t, lambda p: truncate(p, 300)), {"version": "1.0.0"}, 400, "cannot parse"),
        (lambda t: damaged(t, lambda p: corrupt(p, 40)), {"version": "1.0.0"}, 400, "checksum"),
        (lambda t: damaged(t, lambda p: corrupt(p, p.stat().st_size - 1)), {"version": "1.0.0"}, 400, "SHA-256"),
        (lambda t: b"\x7fELF not an app image", {"version": "1.0.0"}, 400, "not an ESP32-family app image"),
        (lambda t: b"", {"version": "1.0.0"}, 400, "refused"),
        (lambda t: None, {"version": "1.0.0"}, 400, "multipart field 'file'"),
    ],
)
def test_bad_uploads_are_refused_with_the_reason_and_nothing_is_stored(
    app, client, staff, tmp_path, make, fields, status, needle
):
    response = upload(client, staff["teacher"], make(tmp_path), **fields)
    assert response.status_code == status, response.get_json()
    assert needle in response.get_json()["error"]
    assert release_count(app) == 0
    with app.app_context():
        assert db.session.scalar(select(func.count(Artifact.id))) == 0


def test_a_version_can_be_released_only_once(app, client, staff, tmp_path):
    assert upload(client, staff["teacher"], image_bytes(tmp_path), version="1.0.0").status_code == 201
    again = upload(client, staff["root"], image_bytes(tmp_path, salt=1), version="1.0.0")
    assert again.status_code == 409 and "already released" in again.get_json()["error"]
    assert release_count(app) == 1


def test_bots_may_not_use_releases(client, accounts, staff, tmp_path):
    accounts.bot("bot_a", "11111", class_name="lab")
    token = bearer(accounts.api_token(client, product_id="bot_a", password="11111"))
    assert client.get("/api/firmware/releases", headers=token).status_code == 403
    assert upload(client, token, image_bytes(tmp_path), version="1.0.0").status_code == 403


def target(app, product_id: str, version: str) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.product_id == product_id))
        release = db.session.scalar(select(Release).where(Release.version == version))
        deploy_artifact(device, release.artifact, None)
        db.session.commit()


def target_sha256(app, product_id: str) -> str | None:  # type: ignore[no-untyped-def]
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.product_id == product_id))
        return device.target_artifact.sha256 if device.target_artifact else None


def test_a_release_a_bot_targets_cannot_be_deleted(app, client, accounts, staff, tmp_path):
    accounts.bot("bot_a", "11111", class_name="lab", fqbn=ESP32)
    upload(client, staff["teacher"], image_bytes(tmp_path), version="1.0.0")
    upload(client, staff["teacher"], image_bytes(tmp_path, salt=1), version="1.1.0")
    target(app, "bot_a", "1.0.0")
    refused = client.delete("/api/firmware/releases/1.0.0", headers=staff["teacher"])
    assert refused.status_code == 409 and "target of 1 bot" in refused.get_json()["error"]
    assert client.delete("/api/firmware/releases/1.1.0", headers=staff["teacher"]).status_code == 200
    assert [
        r["version"] for r in client.get("/api/firmware/releases", headers=staff["root"]).get_json()["releases"]
    ] == ["1.0.0"]


def test_only_admins_and_the_publisher_change_a_release(client, accounts, staff, tmp_path):
    accounts.instructor("other", "other password")
    other = bearer(accounts.api_token(client, username="other", password="other password"))
    upload(client, staff["teacher"], image_bytes(tmp_path), version="1.0.0")
    assert client.delete("/api/firmware/releases/1.0.0", headers=other).status_code == 403
    assert client.post("/api/firmware/releases/1.0.0/block", headers=other, json={"blocked": True}).status_code == 403
    assert client.delete("/api/firmware/releases/1.0.0", headers=staff["root"]).status_code == 200
    assert client.delete("/api/firmware/releases/1.0.0", headers=staff["root"]).status_code == 404


def test_a_blocked_release_moves_its_bots_to_the_newest_good_release_of_its_channel(
    app, client, accounts, staff, tmp_path
):
    bots = {name: accounts.bot(name, "11111", class_name="lab", fqbn=ESP32) for name in ("bot_a", "bot_b", "bot_c")}
    images = {}
    for salt, (version, channel, chip) in enumerate(
        [
            ("0.9.0", "stable", "esp32"),
            ("1.0.0", "stable", "esp32"),
            ("1.1.0", "stable", "esp32"),
            ("2.0.0-beta.1", "beta", "esp32"),
            ("1.5.0", "stable", "esp32s3"),
        ]
    ):
        images[version] = image_bytes(tmp_path, chip, salt=salt)
        assert upload(client, staff["teacher"], images[version], version=version, channel=channel).status_code == 201
    target(app, "bot_a", "1.1.0")
    target(app, "bot_b", "1.1.0")
    target(app, "bot_c", "0.9.0")
    response = client.post(
        "/api/firmware/releases/1.1.0/block", headers=staff["teacher"], json={"blocked": True, "reason": "Wi-Fi bug"}
    )
    assert response.status_code == 200, response.get_json()
    reply = response.get_json()
    assert reply["release"]["blocked"] is True and reply["release"]["blocked_reason"] == "Wi-Fi bug"
    assert sorted((m["product_id"], m["version"]) for m in reply["moved"]) == [("bot_a", "1.0.0"), ("bot_b", "1.0.0")]
    good = hashlib.sha256(images["1.0.0"]).hexdigest()
    assert target_sha256(app, "bot_a") == target_sha256(app, "bot_b") == good
    assert target_sha256(app, "bot_c") == hashlib.sha256(images["0.9.0"]).hexdigest()
    # the bot downloads the good release with the stock client
    download = client.get("/bot_a.ino.bin", headers=bearer(bots["bot_a"].device_token))
    assert download.status_code == 200 and download.data == images["1.0.0"]
    with app.app_context():
        actions = set(db.session.scalars(select(AuditEntry.action)))
        assert {"release.block", "release.retarget"} <= actions


def test_a_blocked_image_is_never_served_even_without_a_replacement(app, client, accounts, staff, tmp_path):
    bot = accounts.bot("bot_a", "11111", class_name="lab", fqbn=ESP32)
    upload(client, staff["teacher"], image_bytes(tmp_path), version="1.0.0")
    target(app, "bot_a", "1.0.0")
    reply = client.post("/api/firmware/releases/1.0.0/block", headers=staff["root"], json={"blocked": True})
    assert reply.get_json()["moved"] == [{"product_id": "bot_a", "version": None}]
    download = client.get("/bot_a.ino.bin", headers=bearer(bot.device_token))
    assert download.status_code == 409 and "1.0.0 is blocked" in download.get_json()["error"]
    check = client.get("/api/ota/bot_a/check", headers=bearer(bot.device_token)).get_json()
    assert check["updateAvailable"] is False
    assert (
        client.post("/api/firmware/releases/1.0.0/block", headers=staff["root"], json={"blocked": False}).status_code
        == 200
    )
    assert client.get("/bot_a.ino.bin", headers=bearer(bot.device_token)).status_code == 200


def test_a_successful_build_is_promoted_to_a_release(app, client, accounts, staff, tmp_path):
    accounts.bot("bot_a", "11111", class_name="lab", fqbn=ESP32)
    accounts.bot("bot_x", "22222", fqbn=ESP32)  # in no class of the teacher
    data = image_bytes(tmp_path)
    with app.app_context():
        from webide.core.firmware.store import APP_IMAGE, artifact_store, publish_artifact

        artifact = publish_artifact(
            artifact_store(app.config["SETTINGS"]), ESP32, {APP_IMAGE: tmp_path / "app-esp32-0.bin"}
        )
        ids = {}
        for name in ("bot_a", "bot_x"):
            device = db.session.scalar(select(Device).where(Device.product_id == name))
            build = Build(
                device_id=device.id, revision=3, fqbn=ESP32, status=BuildStatus.COMPLETE.value, artifact=artifact
            )
            db.session.add(build)
            db.session.flush()
            ids[name] = build.id
        failed = Build(device_id=device.id, revision=4, fqbn=ESP32, status=BuildStatus.ERROR.value)
        db.session.add(failed)
        db.session.commit()
        failed_id = failed.id
    hidden = client.post(
        "/api/firmware/releases/promote", headers=staff["teacher"], json={"build": ids["bot_x"], "version": "1.0.0"}
    )
    assert hidden.status_code == 404
    unsuccessful = client.post(
        "/api/firmware/releases/promote", headers=staff["root"], json={"build": failed_id, "version": "1.0.0"}
    )
    assert unsuccessful.status_code == 409
    response = client.post(
        "/api/firmware/releases/promote",
        headers=staff["teacher"],
        json={"build": ids["bot_a"], "version": "1.0.0", "channel": "beta", "notes": "from class"},
    )
    assert response.status_code == 201, response.get_json()
    release = response.get_json()["release"]
    assert release["sha256"] == hashlib.sha256(data).hexdigest() and release["build_id"] == ids["bot_a"]
    assert release["source_revision"] == "bot_a@r3" and release["channel"] == "beta" and release["board"] == ESP32


def test_semver_precedence():
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.9.0",
        "1.10.0+build.5",
        "2.0.0",
    ]
    assert sorted(reversed(ordered), key=version_key) == ordered

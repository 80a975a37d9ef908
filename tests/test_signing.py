"""Signed images: one private key per server (0600, or supplied), a signature for every published image, served
with the image and in the manifest, checked here with the public key the first-flash kit carries."""

from __future__ import annotations

import base64
import hashlib
import io

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from sqlalchemy import select

from webide import create_app
from webide.core.deployments import deploy_artifact
from webide.core.firmware.signing import KEY_FILE, SigningKeyError, sign_digest, signature_is_valid, signing_key
from webide.extensions import db
from webide.models import Device, Release

from .conftest import bearer
from .test_images import write_image

ESP32 = "esp32:esp32:esp32"


def write_pem(path, key, mode: int) -> None:  # type: ignore[no-untyped-def]
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.chmod(mode)


def test_the_key_is_made_once_and_private(settings):
    create_app(settings)
    path = settings.data_dir / KEY_FILE
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    first = signing_key(settings).public_point
    create_app(settings)
    assert signing_key(settings).public_point == first and len(first) == 65 and first[0] == 4


def test_a_key_others_may_read_stops_the_service(settings):
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    write_pem(settings.data_dir / KEY_FILE, ec.generate_private_key(ec.SECP256R1()), 0o644)
    with pytest.raises(SigningKeyError, match=r"may be read by others \(mode 0644\); make it private with: chmod 600"):
        create_app(settings)


def test_a_supplied_key_is_used(settings, tmp_path):
    supplied = ec.generate_private_key(ec.SECP256R1())
    write_pem(tmp_path / "fleet.pem", supplied, 0o600)
    configured = settings.with_overrides(firmware_signing_key=str(tmp_path / "fleet.pem"))
    create_app(configured)
    expected = supplied.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert signing_key(configured).public_point == expected
    assert not (settings.data_dir / KEY_FILE).exists()


@pytest.mark.parametrize(
    "make,needle",
    [
        (lambda p: write_pem(p, ed25519.Ed25519PrivateKey.generate(), 0o600), "must be an ECDSA P-256"),
        (lambda p: write_pem(p, ec.generate_private_key(ec.SECP384R1()), 0o600), "must be an ECDSA P-256"),
        (lambda p: (p.write_text("not a key"), p.chmod(0o600)), "not an unencrypted PEM private key"),
        (lambda p: None, "which does not exist"),
    ],
)
def test_an_unusable_supplied_key_is_refused_with_the_reason(settings, tmp_path, make, needle):
    path = tmp_path / "fleet.pem"
    make(path)
    with pytest.raises(SigningKeyError, match=needle):
        create_app(settings.with_overrides(firmware_signing_key=str(path)))


def test_a_release_is_signed_and_the_signature_is_served_with_the_image(app, client, accounts, tmp_path):
    accounts.instructor("teacher", "correct horse", classes=("lab",))
    bot = accounts.bot("bot_a", "11111", class_name="lab", fqbn=ESP32)
    teacher = bearer(accounts.api_token(client, username="teacher", password="correct horse"))
    data = write_image(tmp_path / "app.bin").read_bytes()
    response = client.post(
        "/api/firmware/releases",
        headers=teacher,
        data={"file": (io.BytesIO(data), "app.bin"), "version": "1.0.0"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    sha256 = hashlib.sha256(data).hexdigest()
    signature = response.get_json()["release"]["signature"]
    public_point = signing_key(app.config["SETTINGS"]).public_point
    assert signature_is_valid(public_point, sha256, signature)
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.product_id == "bot_a"))
        deploy_artifact(device, db.session.scalar(select(Release)).artifact, None)
        db.session.commit()
    download = client.get("/bot_a.ino.bin", headers=bearer(bot.device_token))
    assert download.status_code == 200 and download.data == data
    assert download.headers["x-Signature"] == signature
    assert download.headers["x-Signature-Algorithm"] == "ECDSA-P256-SHA256"
    manifest = client.get("/api/ota/bot_a/check", headers=bearer(bot.device_token)).get_json()
    assert manifest["signature"] == signature and manifest["sha256"] == sha256


@pytest.mark.parametrize("damage", ["flipped image byte", "wrong key", "truncated signature", "flipped signature"])
def test_the_python_check_rejects_tampering(settings, tmp_path, damage):
    create_app(settings)
    key = signing_key(settings)
    data = write_image(tmp_path / "app.bin").read_bytes()
    signature = sign_digest(key, hashlib.sha256(data).hexdigest())
    point = key.public_point
    assert signature_is_valid(point, hashlib.sha256(data).hexdigest(), signature)  # intact, it verifies
    if damage == "flipped image byte":
        data = data[:100] + bytes([data[100] ^ 1]) + data[101:]
    elif damage == "wrong key":
        point = other_public_point()
    elif damage == "truncated signature":
        signature = base64.b64encode(base64.b64decode(signature)[:63]).decode()
    else:
        raw = bytearray(base64.b64decode(signature))
        raw[10] ^= 0x40
        signature = base64.b64encode(bytes(raw)).decode()
    assert not signature_is_valid(point, hashlib.sha256(data).hexdigest(), signature)


def other_public_point() -> bytes:
    return (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )

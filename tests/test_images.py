"""Firmware image checks: only an intact app image for the bot's chip may become its target."""

from __future__ import annotations

import hashlib
import importlib.util
from importlib.machinery import SourceFileLoader
from pathlib import Path

import pytest

from webide.core.firmware.images import ImageRejected, check_app_image, chip_for_fqbn

from .fake_arduino_cli import FAKE_ARDUINO_CLI

# The arduino-cli stand-in writes ESP32 app images by the format's specification; reuse its writer.
_loader = SourceFileLoader("arduino_cli_stand_in", str(FAKE_ARDUINO_CLI))
stand_in = importlib.util.module_from_spec(importlib.util.spec_from_loader(_loader.name, _loader))
_loader.exec_module(stand_in)


def write_image(path: Path, chip_id: int = 0) -> Path:
    image = bytearray(stand_in.esp32_app_image("app", hashlib.sha256(b"seed").digest(), None))
    if chip_id:
        image[12:14] = chip_id.to_bytes(2, "little")  # extended header field; the checksum covers segments only
        image[-32:] = hashlib.sha256(image[:-32]).digest()
    path.write_bytes(bytes(image))
    return path


def corrupt(path: Path, offset: int) -> Path:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def truncate(path: Path, size: int) -> Path:
    path.write_bytes(path.read_bytes()[:size])
    return path


def test_a_valid_esp32_image_passes(tmp_path):
    check_app_image("esp32:esp32:esp32", write_image(tmp_path / "app.bin"))
    check_app_image("esp32:esp32:esp32s3", write_image(tmp_path / "s3.bin", chip_id=9))


@pytest.mark.parametrize("damage,needle", [
    (lambda p: corrupt(p, 0), "magic"),
    (lambda p: corrupt(p, 40), "checksum"),  # inside the segment data
    (lambda p: corrupt(p, p.stat().st_size - 1), "SHA-256"),
    (lambda p: truncate(p, 30), "cannot parse"),
    (lambda p: truncate(p, 0), "empty"),
])
def test_damaged_images_are_rejected(tmp_path, damage, needle):
    path = damage(write_image(tmp_path / "app.bin"))
    with pytest.raises(ImageRejected, match=needle):
        check_app_image("esp32:esp32:esp32", path)


def test_an_image_for_another_chip_is_rejected(tmp_path):
    with pytest.raises(ImageRejected, match="chip id 0, but esp32:esp32:esp32s3 needs chip id 9"):
        check_app_image("esp32:esp32:esp32s3", write_image(tmp_path / "app.bin"))


@pytest.mark.parametrize("fqbn,chip", [("esp32:esp32:esp32", "esp32"), ("esp32:esp32:esp32s3", "esp32s3"),
                                       ("esp32:esp32:XIAO_ESP32C3", "esp32c3"), ("esp32:esp32:lolin32", "esp32"),
                                       ("arduino:avr:uno", None)])
def test_chip_for_fqbn(fqbn, chip):
    assert chip_for_fqbn(fqbn) == chip


def test_non_esp_images_only_need_content(tmp_path):
    path = tmp_path / "uno.bin"
    path.write_bytes(b"\x0c\x94")
    check_app_image("arduino:avr:uno", path)

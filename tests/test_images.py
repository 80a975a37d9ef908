"""Firmware image checks: only an intact app image for the board's chip (its build.mcu) may become its target."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from esptool.bin_image import ELFSection, ESP32FirmwareImage, ESP32S3FirmwareImage

from webide.core.firmware.images import ImageRejected, check_app_image, esp_chip

IMAGE_CLASSES = {"esp32": ESP32FirmwareImage, "esp32s3": ESP32S3FirmwareImage}
# esptool 5 added a required ``flags`` argument; the supported range starts at 4.7
_SECTION_FLAGS = (0,) if "flags" in inspect.signature(ELFSection).parameters else ()


def segment(name: bytes, address: int, data: bytes) -> ELFSection:
    return ELFSection(name, address, data, *_SECTION_FLAGS)


def write_image(path: Path, chip: str = "esp32") -> Path:
    """An app image written by esptool itself: two segments, checksum, appended SHA-256."""
    image = IMAGE_CLASSES[chip]()
    image.entrypoint = 0x40080000
    image.segments = [
        segment(b".flash.rodata", 0x3F400020, bytes(range(256)) * 4),
        segment(b".iram0.text", 0x40080000, bytes(range(255, -1, -1)) * 4),
    ]
    image.append_digest = True
    image.save(str(path))
    return path


def corrupt(path: Path, offset: int) -> Path:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def truncate(path: Path, size: int) -> Path:
    path.write_bytes(path.read_bytes()[:size])
    return path


@pytest.mark.parametrize(
    "fqbn,mcu",
    [("esp32:esp32:esp32", "esp32"), ("esp32:esp32:lolin_s3", "esp32s3"), ("esp32:esp32:um_tinys3", "esp32s3")],
)
def test_a_valid_image_for_the_boards_chip_passes(tmp_path, fqbn, mcu):
    check_app_image(fqbn, write_image(tmp_path / "app.bin", mcu), mcu)


@pytest.mark.parametrize(
    "damage,needle",
    [
        (lambda p: corrupt(p, 0), "magic"),
        (lambda p: corrupt(p, 40), "checksum"),  # inside the segment data
        (lambda p: corrupt(p, p.stat().st_size - 1), "SHA-256"),
        (lambda p: truncate(p, 30), "cannot parse"),
        (lambda p: truncate(p, 0), "empty"),
    ],
)
def test_damaged_images_are_rejected(tmp_path, damage, needle):
    path = damage(write_image(tmp_path / "app.bin"))
    with pytest.raises(ImageRejected, match=needle):
        check_app_image("esp32:esp32:esp32", path, "esp32")


def test_an_image_for_another_chip_is_rejected(tmp_path):
    with pytest.raises(ImageRejected, match=r"chip id 0, but esp32:esp32:lolin_s3 \(esp32s3\) needs chip id 9"):
        check_app_image("esp32:esp32:lolin_s3", write_image(tmp_path / "app.bin", "esp32"), "esp32s3")


@pytest.mark.parametrize(
    "mcu,chip",
    [
        ("esp32", "esp32"),
        ("esp32s3", "esp32s3"),
        ("esp32c3", "esp32c3"),
        ("ESP32C6", "esp32c6"),
        ("atmega328p", None),
        ("esp8266", None),
        ("", None),
    ],
)
def test_the_chip_is_the_boards_build_mcu(mcu, chip):
    assert esp_chip(mcu) == chip


def test_non_esp_images_only_need_content(tmp_path):
    path = tmp_path / "uno.bin"
    path.write_bytes(b"\x0c\x94")
    check_app_image("arduino:avr:uno", path, "atmega328p")

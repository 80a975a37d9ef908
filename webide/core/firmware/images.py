"""Firmware image checks before an image may become a bot's target: a broken image is never offered."""

from __future__ import annotations

from pathlib import Path

from esptool.bin_image import LoadFirmwareImage
from esptool.targets import CHIP_DEFS

ESP_IMAGE_MAGIC = 0xE9
# Board IDs of the esp32 core that name their chip; anything else in that core is the classic ESP32.
CHIP_HINTS = ("esp32s3", "esp32s2", "esp32c3", "esp32c6", "esp32c5", "esp32c2", "esp32h2", "esp32p4")


class ImageRejected(ValueError):
    """The file is not a valid application image for the board."""


def chip_for_fqbn(fqbn: str) -> str | None:
    """The ESP chip an FQBN builds for, or None when it is not an ESP32-family board."""
    vendor_arch = fqbn.split(":")[:2]
    if len(vendor_arch) < 2 or vendor_arch[1] != "esp32":
        return None
    board = fqbn.split(":")[2].lower().replace("_", "").replace("-", "")
    return next((chip for chip in CHIP_HINTS if chip in board), "esp32")


def check_app_image(fqbn: str, path: Path) -> None:
    """Raise ImageRejected unless ``path`` is an app image the board can boot.

    For ESP32 boards: magic byte, chip id in the extended header, segment checksum and the appended SHA-256, all
    read with esptool's own image parser. Other boards: a non-empty file.
    """
    data = path.read_bytes()
    if not data:
        raise ImageRejected("the image is empty")
    chip = chip_for_fqbn(fqbn)
    if chip is None:
        return
    if data[0] != ESP_IMAGE_MAGIC:
        raise ImageRejected(f"first byte is 0x{data[0]:02X}, not the ESP image magic 0xE9")
    try:
        image = LoadFirmwareImage(chip, data)
    except Exception as error:  # esptool raises FatalError, struct.error, … for malformed input
        raise ImageRejected(f"esptool cannot parse it: {error}") from None
    expected_chip = CHIP_DEFS[chip].IMAGE_CHIP_ID
    if image.chip_id != expected_chip:
        raise ImageRejected(f"it is built for chip id {image.chip_id}, but {fqbn} needs chip id {expected_chip}")
    if image.checksum != image.calculate_checksum():
        raise ImageRejected("segment checksum does not match")
    if not image.append_digest or image.stored_digest != image.calc_digest:
        raise ImageRejected("the appended SHA-256 is missing or does not match")


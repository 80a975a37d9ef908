"""Firmware image checks before an image may become a bot's target: a broken image is never offered."""

from __future__ import annotations

from pathlib import Path

from esptool.bin_image import LoadFirmwareImage
from esptool.targets import CHIP_DEFS

ESP_IMAGE_MAGIC = 0xE9


class ImageRejected(ValueError):
    """The file is not a valid application image for the board."""


def esp_chip(mcu: str) -> str | None:
    """The esptool chip name for a board's ``build.mcu`` when it is an ESP32-family chip, else None.

    The board ID says nothing reliable (``lolin_s3``, ``um_tinys3``, ``lolin_c3_mini`` …); ``build.mcu`` from the
    board's boards.txt entry is what the core itself passes to ``esptool --chip``.
    """
    chip = mcu.lower()
    return chip if chip.startswith("esp32") and chip in CHIP_DEFS else None


def updates_over_the_air(mcu: str) -> bool:
    """Only ESP32-family boards run the agent that pulls new firmware; others are flashed over USB."""
    return esp_chip(mcu) is not None


def check_app_image(fqbn: str, path: Path, mcu: str) -> None:
    """Raise ImageRejected unless ``path`` is an app image the board (``fqbn`` with ``build.mcu`` ``mcu``) can boot.

    For ESP32-family chips: magic byte, chip id in the extended header, segment checksum and the appended SHA-256,
    all read with esptool's own image parser (given a file name, which esptool 4.x and 5.x both accept).
    Other boards: a non-empty file.
    """
    with path.open("rb") as stream:
        first = stream.read(1)
    if not first:
        raise ImageRejected("the image is empty")
    chip = esp_chip(mcu)
    if chip is None:
        return
    if first[0] != ESP_IMAGE_MAGIC:
        raise ImageRejected(f"first byte is 0x{first[0]:02X}, not the ESP image magic 0xE9")
    try:
        image = LoadFirmwareImage(chip, str(path))
    except Exception as error:  # esptool raises FatalError, struct.error, … for malformed input
        raise ImageRejected(f"esptool cannot parse it: {error}") from None
    expected_chip = CHIP_DEFS[chip].IMAGE_CHIP_ID
    if image.chip_id != expected_chip:
        raise ImageRejected(
            f"it is built for chip id {image.chip_id}, but {fqbn} ({chip}) needs chip id {expected_chip}"
        )
    if image.checksum != image.calculate_checksum():
        raise ImageRejected("segment checksum does not match")
    if not image.append_digest or image.stored_digest != image.calc_digest:
        raise ImageRejected("the appended SHA-256 is missing or does not match")


CHIP_ID_OFFSET = 12  # 8-byte image header, then the extended header: WP pin (1), SPI drive (3), chip id (2, LE)


def image_chip(path: Path) -> str | None:
    """The esptool chip name an ESP app image says it is built for (its extended header's chip id), if any."""
    with path.open("rb") as stream:
        header = stream.read(CHIP_ID_OFFSET + 2)
    if len(header) < CHIP_ID_OFFSET + 2 or header[0] != ESP_IMAGE_MAGIC:
        return None
    chip_id = int.from_bytes(header[CHIP_ID_OFFSET : CHIP_ID_OFFSET + 2], "little")
    for name, definition in CHIP_DEFS.items():
        if name.startswith("esp32") and getattr(definition, "IMAGE_CHIP_ID", None) == chip_id:
            return name
    return None

"""Which image a bot runs: the hashes it reports, matched against the images the server published."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from ...config import Settings
from ...models import Device
from ..deployments import record_running_image
from .images import ESP_IMAGE_MAGIC
from .store import APP_IMAGE, ArtifactMissing, ArtifactStore, StoreUnavailable, artifact_store

log = logging.getLogger(__name__)

MD5_RE = re.compile(r"^[0-9a-fA-F]{32}$")
SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")
HASH_APPENDED_OFFSET = 23  # 8-byte image header + byte 15 of the extended header
DIGEST_BYTES = 32


@dataclass(frozen=True)
class ReportedImage:
    """What a bot says it runs; hashes are lowercase hex or None when absent or malformed."""

    md5: str | None = None
    sha256: str | None = None
    version: str | None = None

    @property
    def known(self) -> bool:
        return self.md5 is not None or self.sha256 is not None


def hex_or_none(value: str | None, pattern: re.Pattern[str]) -> str | None:
    return value.strip().lower() if value and pattern.match(value.strip()) else None


def reported_image(values: Mapping[str, str], prefix: str = "x-ESP32-") -> ReportedImage:
    """The running image from HTTPUpdate's headers (or query parameters without the prefix)."""
    version = values.get(f"{prefix}version")
    return ReportedImage(
        md5=hex_or_none(values.get(f"{prefix}sketch-md5" if prefix else "md5"), MD5_RE),
        sha256=hex_or_none(values.get(f"{prefix}sketch-sha256" if prefix else "sha256"), SHA256_RE),
        version=version[:64] if version else None,
    )


@lru_cache(maxsize=1024)
def embedded_sha256(store: ArtifactStore, sha256: str, size: int) -> str | None:
    """The SHA-256 an ESP32 app image carries at its end: what the 2.x core reports for the running sketch.

    Read once per image and process (two small range reads); a store that does not answer raises, and the answer
    is not cached.
    """
    if size < HASH_APPENDED_OFFSET + 1 + DIGEST_BYTES:
        return None
    header = store.read(sha256, APP_IMAGE, 0, HASH_APPENDED_OFFSET + 1).read_all()
    if header[0] != ESP_IMAGE_MAGIC or header[HASH_APPENDED_OFFSET] != 1:
        return None
    return store.read(sha256, APP_IMAGE, size - DIGEST_BYTES, size).read_all().hex()


class ImageDigests(Protocol):
    """A stored image (an Artifact row, or the device path's lighter copy of one)."""

    @property
    def md5(self) -> str: ...
    @property
    def sha256(self) -> str: ...
    @property
    def size(self) -> int: ...


def image_is(image: ImageDigests, reported: ReportedImage, settings: Settings) -> bool:
    """Whether the reported hashes name this image (either hash is enough)."""
    if reported.md5 is not None and reported.md5 == image.md5:
        return True
    if reported.sha256 is None:
        return False
    if reported.sha256 == image.sha256:
        return True
    try:
        return reported.sha256 == embedded_sha256(artifact_store(settings), image.sha256, image.size)
    except (ArtifactMissing, StoreUnavailable) as error:  # the bot's report must still be answered
        log.warning("Cannot read the embedded SHA-256 of %s: %s", image.sha256, error.message)
        return False


def observe(device: Device, reported: ReportedImage, settings: Settings) -> bool:
    """Record what the bot runs (only when it said so); True when that is its target."""
    target = device.target_artifact
    on_target = target is not None and image_is(target, reported, settings)
    if reported.known:
        record_running_image(device, reported.md5, reported.sha256, on_target)
    return on_target

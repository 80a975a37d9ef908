"""Firmware releases: prebuilt or promoted images published as a semver version on a channel.

A release keeps where its image came from (build, build number, source revision, who, when) next to the image's
digests. Blocking a release takes it out of service at once: it is never served again, and the bots whose target
it was move to the newest good release of the same channel and chip (or keep what they run when there is none).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from ..config import Settings
from ..extensions import db
from ..models import Artifact, Build, BuildStatus, Deployment, Device, Release, Rollout, iso, utcnow
from .deployments import deploy_artifact
from .errors import BadRequest, Conflict, NotFound
from .firmware.images import ImageRejected, check_app_image, esp_chip, image_chip
from .firmware.signing import sign_image, stored_signature
from .firmware.store import APP_IMAGE, ArtifactMissing, artifact_store, publish_artifact
from .rollouts import OPEN_STATES as OPEN_ROLLOUT_STATES
from .rules import FQBN_RE

# semver.org's grammar: MAJOR.MINOR.PATCH, optional -pre.release and +build metadata, no leading zeros.
NUMBER = r"0|[1-9]\d*"
IDENTIFIER = rf"(?:{NUMBER}|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
SEMVER_RE = re.compile(
    rf"^(?P<major>{NUMBER})\.(?P<minor>{NUMBER})\.(?P<patch>{NUMBER})"
    rf"(?:-(?P<pre>{IDENTIFIER}(?:\.{IDENTIFIER})*))?"
    r"(?:\+(?P<build>[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
MAX_VERSION = 64
CHANNELS = ("stable", "beta")
MAX_NOTES = 4000
MAX_SOURCE_REVISION = 64


@dataclass(frozen=True)
class ReleaseInfo:
    """What the publisher says about a release; the image's own facts (chip, digests) are read from the file."""

    version: str
    channel: str = "stable"
    notes: str = ""
    board: str = ""
    chip: str = ""
    build_number: int | None = None
    source_revision: str = ""


def version_key(version: str) -> tuple[Any, ...]:
    """semver precedence: numbers compared as numbers, a pre-release before its release, build metadata ignored."""
    match = SEMVER_RE.match(version)
    if match is None:
        raise BadRequest(f"Version {version!r} is not a semantic version such as 1.4.0 or 2.0.0-beta.1")
    pre = match["pre"]
    identifiers = (
        tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in pre.split(".")) if pre else ()
    )
    return (int(match["major"]), int(match["minor"]), int(match["patch"]), 0 if pre else 1, identifiers)


def check_release_info(info: ReleaseInfo) -> None:
    """Each field within its rules, and the version not taken (400 / 409 with the reason)."""
    if len(info.version) > MAX_VERSION:
        raise BadRequest(f"Version is longer than {MAX_VERSION} characters")
    version_key(info.version)
    if info.channel not in CHANNELS:
        raise BadRequest(f"Channel must be one of {', '.join(CHANNELS)}")
    if len(info.notes) > MAX_NOTES:
        raise BadRequest(f"Release notes are longer than {MAX_NOTES} characters")
    if info.board and not FQBN_RE.match(info.board):
        raise BadRequest("Board must be a board name such as esp32:esp32:esp32")
    if info.chip and esp_chip(info.chip) is None:
        raise BadRequest(f"Chip {info.chip!r} is not an ESP32-family chip (esp32, esp32s3, esp32c3, …)")
    if len(info.source_revision) > MAX_SOURCE_REVISION or "\x00" in info.notes + info.source_revision:
        raise BadRequest(f"Source revision must be at most {MAX_SOURCE_REVISION} characters of text")
    if info.build_number is not None and not 0 <= info.build_number < 2**31:
        raise BadRequest("Build number must be a whole number of at least 0")
    if db.session.scalar(select(Release.id).where(Release.version == info.version)) is not None:
        raise Conflict(f"Version {info.version} is already released; release a new version instead")


def checked_chip(path: Path, info: ReleaseInfo, board_mcu: str | None) -> str:
    """The chip the image is built for, after esptool's checks against it and against what the publisher named.

    The chip comes from the image itself; a chip named in the request, or the ``build.mcu`` of a board the
    toolchain knows, must agree with it.
    """
    chip = image_chip(path)
    if chip is None:
        first = path.read_bytes()[:1]
        reason = "the file is empty" if not first else "it is not an ESP32-family app image (no 0xE9 magic and chip id)"
        raise BadRequest(f"The image was refused: {reason}")
    expected = info.chip or (esp_chip(board_mcu) if board_mcu else None) or chip
    try:
        check_app_image(info.board or expected, path, expected)
    except ImageRejected as error:
        raise BadRequest(f"The image was refused: {error}") from None
    return chip


def publish_release(
    settings: Settings,
    image: Path,
    info: ReleaseInfo,
    author: str,
    board_mcu: str | None = None,
    build: Build | None = None,
) -> Release:
    """Check the image, store it in the artifact store and record the release (nothing is stored when refused)."""
    check_release_info(info)
    chip = checked_chip(image, info, board_mcu)
    artifact = publish_artifact(artifact_store(settings), info.board or chip, {APP_IMAGE: image})
    release = Release(
        version=info.version,
        chip=chip,
        board=info.board,
        channel=info.channel,
        notes=info.notes,
        artifact_id=artifact.id,
        build_id=build.id if build else None,
        build_number=info.build_number,
        source_revision=info.source_revision,
        created_by=author[:64],
        created_at=utcnow(),
    )
    db.session.add(release)
    db.session.flush()
    sign_image(artifact, settings)
    return release


def promote_build(settings: Settings, build: Build, info: ReleaseInfo, author: str) -> Release:
    """A successful build's image becomes a release; its source revision and build number come with it."""
    if build.status != BuildStatus.COMPLETE.value or build.artifact is None:
        raise Conflict("Only a build that finished successfully and produced firmware can be released")
    promoted = ReleaseInfo(
        version=info.version,
        channel=info.channel,
        notes=info.notes,
        board=info.board or build.fqbn,
        chip=info.chip,
        build_number=info.build_number if info.build_number is not None else deployment_number(build),
        source_revision=info.source_revision or f"{build.device.product_id}@r{build.revision}",
    )
    with tempfile.TemporaryDirectory(prefix="webide-promote-") as folder:
        image = Path(folder) / APP_IMAGE
        copy_from_store(settings, build.artifact.sha256, image)
        return publish_release(settings, image, promoted, author, build=build)


def copy_from_store(settings: Settings, sha256: str, destination: Path) -> None:
    """The app image of a stored artifact as a file here (the store may be a folder or S3-compatible storage)."""
    try:
        stream = artifact_store(settings).read(sha256, APP_IMAGE)
    except ArtifactMissing:
        raise NotFound("The build's firmware file is missing on the server; build again") from None
    try:
        with destination.open("wb") as handle:
            for chunk in stream:
                handle.write(chunk)
    finally:
        stream.close()


def deployment_number(build: Build) -> int | None:
    """The number the bot's terminal showed for this build's Upload (None for a Verify)."""
    return db.session.scalar(select(Deployment.number).where(Deployment.build_id == build.id).limit(1))


def release_or_404(version: str) -> Release:
    release = db.session.scalar(select(Release).where(Release.version == version[:MAX_VERSION]))
    if release is None:
        raise NotFound(f"No release {version!r}")
    return release


def all_releases(channel: str | None = None) -> list[Release]:
    """Every release (of one channel), newest version first."""
    query = select(Release)
    if channel is not None:
        query = query.where(Release.channel == channel)
    return sorted(db.session.scalars(query), key=lambda release: version_key(release.version), reverse=True)


def bots_targeting(release: Release) -> list[Device]:
    return list(db.session.scalars(select(Device).where(Device.target_artifact_id == release.artifact_id)))


def delete_release(release: Release) -> None:
    """Remove a release nobody depends on; its image stays in the store (builds may share it)."""
    targeting = db.session.scalar(select(func.count(Device.id)).where(Device.target_artifact_id == release.artifact_id))
    if targeting:
        raise Conflict(
            f"Release {release.version} is the target of {targeting} bot(s); give them another target or block "
            "the release instead"
        )
    rollouts = db.session.scalar(
        select(func.count(Rollout.id)).where(Rollout.release_id == release.id, Rollout.state.in_(OPEN_ROLLOUT_STATES))
    )
    if rollouts:
        raise Conflict(f"Release {release.version} is being rolled out; finish or cancel the rollout first")
    if db.session.scalar(select(func.count(Rollout.id)).where(Rollout.release_id == release.id)):
        raise Conflict(f"Release {release.version} has rollouts on record; block it instead of deleting it")
    db.session.delete(release)
    db.session.flush()


def newest_good_release(channel: str, chip: str, excluding: Sequence[int] = ()) -> Release | None:
    """The highest version of the channel for the chip that is not blocked."""
    candidates = [
        release
        for release in db.session.scalars(
            select(Release).where(Release.channel == channel, Release.chip == chip, Release.blocked.is_(False))
        )
        if release.id not in excluding
    ]
    return max(candidates, key=lambda release: version_key(release.version), default=None)


def block_release(release: Release, reason: str) -> list[tuple[Device, Release | None]]:
    """Take a release out of service; returns each bot that targeted it with the release it moves to (or None)."""
    release.blocked, release.blocked_reason, release.blocked_at = True, reason[:300], utcnow()
    replacement = newest_good_release(release.channel, release.chip, excluding=(release.id,))
    moved: list[tuple[Device, Release | None]] = []
    for device in bots_targeting(release):
        if replacement is not None and replacement.artifact_id != release.artifact_id:
            deploy_artifact(device, replacement.artifact, None)
            moved.append((device, replacement))
        else:
            moved.append((device, None))
    db.session.flush()
    return moved


def unblock_release(release: Release) -> None:
    release.blocked, release.blocked_reason, release.blocked_at = False, "", None


def blocked_release_of(artifact: Artifact | int) -> Release | None:
    """The blocked release an image belongs to, if any: such an image is never served."""
    artifact_id = artifact if isinstance(artifact, int) else artifact.id
    return db.session.scalar(
        select(Release).where(Release.artifact_id == artifact_id, Release.blocked.is_(True)).limit(1)
    )


def release_view(release: Release) -> dict[str, Any]:
    """The API's view of a release: seed metadata (size, md5, sha256, build number, source revision, who, when)."""
    artifact = release.artifact
    return {
        "version": release.version,
        "channel": release.channel,
        "chip": release.chip,
        "board": release.board or None,
        "notes": release.notes,
        "size": artifact.size,
        "md5": artifact.md5,
        "sha256": artifact.sha256,
        "build_id": release.build_id,
        "build_number": release.build_number,
        "source_revision": release.source_revision or None,
        "created_by": release.created_by,
        "created_at": iso(release.created_at),
        "blocked": release.blocked,
        "blocked_reason": release.blocked_reason or None,
        "blocked_at": iso(release.blocked_at),
        "signature": stored_signature(release.artifact_id),
    }

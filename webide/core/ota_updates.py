"""Starting an update of one bot to a release or to a build, in the words of the seed systems' OTA APIs.

The seed status words map onto the flash state machine of :mod:`webide.core.deployments`: waiting for the button is
STARTED, downloading and rebooting are IN_PROGRESS, running the image is SUCCESS, failed or rolled back is FAILED.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..config import Settings
from ..extensions import db
from ..models import Build, BuildStatus, Deployment, Device, Release
from .deployments import (
    DOWNLOADING,
    FAILED,
    REBOOTING,
    ROLLED_BACK,
    RUNNING,
    WAITING,
    deploy_artifact,
    newest_deployment,
)
from .errors import Conflict
from .firmware.images import esp_chip
from .toolchain import get_compiler

SEED_STATUS = {
    WAITING: "STARTED",
    DOWNLOADING: "IN_PROGRESS",
    REBOOTING: "IN_PROGRESS",
    RUNNING: "SUCCESS",
    FAILED: "FAILED",
    ROLLED_BACK: "FAILED",
}


def board_chip(device: Device, settings: Settings) -> str | None:
    """The ESP32-family chip of the bot's board (its ``build.mcu``), when an installed toolchain knows the board."""
    board = get_compiler(settings).board(device.fqbn)
    return esp_chip(board.mcu) if board is not None else None


def check_release_fits(device: Device, release: Release, settings: Settings) -> None:
    """A release may become a bot's target only if it is not blocked and is built for the bot's chip."""
    if release.blocked:
        raise Conflict(f"Release {release.version} is blocked: {release.blocked_reason or 'no reason given'}")
    chip = board_chip(device, settings)
    if chip is not None and chip != release.chip:
        raise Conflict(
            f"Release {release.version} is built for {release.chip}, but {device.product_id}'s board "
            f"{device.fqbn} is an {chip}"
        )
    if chip is None and release.board != device.fqbn:
        raise Conflict(
            f"The chip of {device.product_id}'s board {device.fqbn} is unknown to this server, and release "
            f"{release.version} names board {release.board or 'none'}: only a release for exactly that board can be "
            "sent to it"
        )


def start_release_update(device: Device, release: Release, settings: Settings) -> Deployment:
    check_release_fits(device, release, settings)
    return deploy_artifact(device, release.artifact, None)


def start_build_update(device: Device, build: Build) -> Deployment:
    """A successful build for the same board becomes the bot's target (a teacher's reference build, say)."""
    if build.status != BuildStatus.COMPLETE.value or build.artifact is None:
        raise Conflict("Only a build that finished successfully and produced firmware can be sent to a bot")
    if build.fqbn != device.fqbn:
        raise Conflict(f"Build {build.id} is for {build.fqbn}, but {device.product_id} is a {device.fqbn}")
    return deploy_artifact(device, build.artifact, build.id)


def release_of(artifact_id: int) -> Release | None:
    """The newest good release whose image this is, if any."""
    return db.session.scalar(
        select(Release)
        .where(Release.artifact_id == artifact_id, Release.blocked.is_(False))
        .order_by(Release.id.desc())
        .limit(1)
    )


def update_status(device: Device) -> dict[str, Any]:
    """Where the bot's current update stands, in seed words and the flash state machine's."""
    deployment = newest_deployment(device)
    if deployment is None:
        return {"status": None, "state": None, "progress": 0, "message": "", "version": None, "build": None}
    release = release_of(deployment.artifact_id)
    return {
        "status": SEED_STATUS[deployment.state],
        "state": deployment.state,
        "progress": deployment.progress,
        "message": deployment.message or "",
        "version": release.version if release else str(deployment.number),
        "build": deployment.build_id,
    }

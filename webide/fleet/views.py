"""Firmware releases API: upload a prebuilt image, promote a build, list, block, delete."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from flask import request
from flask_login import current_user, login_required

from ..api import acting, documented
from ..core.accounts import accessible_device
from ..core.audit import record
from ..core.builds.queue import build_or_404
from ..core.errors import BadRequest, Forbidden, NotFound
from ..core.ota_updates import start_build_update, start_release_update, update_status
from ..core.releases import (
    ReleaseInfo,
    all_releases,
    block_release,
    delete_release,
    promote_build,
    publish_release,
    release_or_404,
    release_view,
    unblock_release,
)
from ..core.toolchain import get_compiler
from ..extensions import current_settings, db
from ..models import Build, Release
from ..schemas import (
    OtaStart,
    OtaUpdateStatus,
    ReleaseBlock,
    ReleaseBlockReply,
    ReleaseList,
    ReleasePromotion,
    ReleaseQuery,
    ReleaseReply,
    Reply,
)
from . import bp

ERRORS = (400, 401, 403, 404)
FORM_FIELDS = ("version", "channel", "notes", "board", "chip", "source_revision")


@bp.get("/api/firmware/releases")
@login_required
@documented("fleet", ReleaseList, errors=(401, 403), access="staff")
def list_releases(query: ReleaseQuery) -> dict:
    """Every release (or one channel's), newest version first, with its metadata and whether it is blocked."""
    return {"success": True, "releases": [release_view(release) for release in all_releases(query.channel)]}


@bp.post("/api/firmware/releases")
@login_required
@documented("fleet", ReleaseReply, status=201, errors=(*ERRORS, 409, 413), access="staff")
def upload_release() -> tuple[dict, int]:
    """Multipart: ``file`` (the app image ``.ino.bin``), ``version`` (semver), ``channel`` (stable|beta), and
    optionally ``notes``, ``board`` (FQBN), ``chip``, ``build_number``, ``source_revision``.

    esptool checks the image (magic, chip id, segment checksum, appended SHA-256) before anything is stored; a
    refusal names the reason. A version that exists already is a 409.
    """
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise BadRequest("Attach the firmware image (.bin) as the multipart field 'file'")
    info = release_form()
    settings = current_settings()
    board = get_compiler(settings).board(info.board) if info.board else None
    with uploaded_image(upload.stream, settings.work_dir) as image:
        release = publish_release(
            settings, image, info, current_user.display_name, board_mcu=board.mcu if board else None
        )
        record(acting(), "release.create", release.version, target_kind="release", sha256=release.artifact.sha256)
        db.session.commit()
    return {"success": True, "release": release_view(release)}, 201


@bp.post("/api/firmware/releases/promote")
@login_required
@documented("fleet", ReleaseReply, status=201, errors=(*ERRORS, 409), access="staff")
def promote(json: ReleasePromotion) -> tuple[dict, int]:
    """A successful build of one of the caller's bots becomes a release (its source revision and build number too)."""
    build = visible_build(json.build)
    info = ReleaseInfo(
        version=json.version, channel=json.channel, notes=json.notes, source_revision=json.source_revision
    )
    release = promote_build(current_settings(), build, info, current_user.display_name)
    record(acting(), "release.promote", release.version, target_kind="release", build=build.id)
    db.session.commit()
    return {"success": True, "release": release_view(release)}, 201


@bp.get("/api/firmware/releases/<version>")
@login_required
@documented("fleet", ReleaseReply, errors=ERRORS, access="staff")
def release_detail(version: str) -> dict:
    """One release and its metadata."""
    return {"success": True, "release": release_view(release_or_404(version))}


@bp.delete("/api/firmware/releases/<version>")
@login_required
@documented("fleet", Reply, errors=(*ERRORS, 409), access="staff")
def remove_release(version: str) -> dict:
    """Delete a release no bot targets (409 naming how many do); admins, or the instructor who published it."""
    release = managed_release(version)
    record(acting(), "release.delete", release.version, target_kind="release")
    delete_release(release)
    db.session.commit()
    return {"success": True}


@bp.post("/api/firmware/releases/<version>/block")
@login_required
@documented("fleet", ReleaseBlockReply, errors=ERRORS, access="staff")
def block(version: str, json: ReleaseBlock) -> dict:
    """Block (never served again; its bots move to the newest good release of the channel) or unblock a release."""
    release = managed_release(version)
    moved = []
    if json.blocked:
        for device, replacement in block_release(release, json.reason):
            moved.append({"product_id": device.product_id, "version": replacement and replacement.version})
            record(
                acting(), "release.retarget", device, blocked=release.version, to=replacement and replacement.version
            )
    else:
        unblock_release(release)
    record(acting(), "release.block" if json.blocked else "release.unblock", release.version, target_kind="release")
    db.session.commit()
    return {"success": True, "release": release_view(release), "moved": moved}


@bp.post("/api/ota/<product_id>/start")
@login_required
@documented("fleet", OtaUpdateStatus, errors=(*ERRORS, 409))
def start_update(product_id: str, json: OtaStart) -> dict:
    """Make a release (``version``) or a successful build (``build``) the bot's target: status STARTED, then
    IN_PROGRESS while it downloads and reboots, SUCCESS once it reports running the image, or FAILED.

    A blocked release, a release for another chip or a build for another board is a 409.
    """
    device = accessible_device(current_user, product_id)
    settings = current_settings()
    if json.version is not None:
        release = release_or_404(json.version)
        start_release_update(device, release, settings)
        record(acting(), "ota.start", device, version=release.version)
    else:
        build = visible_build(json.build or "")
        start_build_update(device, build)
        record(acting(), "ota.start", device, build=build.id)
    db.session.commit()
    return {"success": True, "product_id": device.product_id, **update_status(device)}


@bp.get("/api/ota/<product_id>/update")
@login_required
@documented("fleet", OtaUpdateStatus, errors=ERRORS)
def current_update(product_id: str) -> dict:
    """Where the bot's current update stands (STARTED, IN_PROGRESS, SUCCESS or FAILED, and the flash state)."""
    device = accessible_device(current_user, product_id)
    return {"success": True, "product_id": device.product_id, **update_status(device)}


def visible_build(update_id: str) -> Build:
    build = build_or_404(update_id)
    if not current_user.can_access(build.device):
        raise NotFound(f"No build {update_id!r}")
    return build


def managed_release(version: str) -> Release:
    """A release the caller may change: admins any, an instructor the ones they published."""
    release = release_or_404(version)
    if not current_user.is_admin and release.created_by != current_user.display_name:
        raise Forbidden("Only admins and the instructor who published a release may change it")
    return release


def release_form() -> ReleaseInfo:
    """The release's fields from the multipart form (text fields; the build number a whole number)."""
    values = {name: request.form.get(name, "").strip() for name in FORM_FIELDS}
    if not values["version"]:
        raise BadRequest("Missing field: version (a semantic version such as 1.4.0)")
    raw_number = request.form.get("build_number", "").strip()
    if raw_number and not (raw_number.isascii() and raw_number.isdigit() and len(raw_number) <= 10):
        raise BadRequest("Field build_number must be a whole number")
    return ReleaseInfo(
        version=values["version"],
        channel=values["channel"] or "stable",
        notes=values["notes"],
        board=values["board"],
        chip=values["chip"].lower(),
        build_number=int(raw_number) if raw_number else None,
        source_revision=values["source_revision"],
    )


@contextmanager
def uploaded_image(stream: IO[bytes], folder: Path) -> Iterator[Path]:
    """The upload in a private temporary file under the work folder, removed afterwards whatever happens."""
    descriptor, name = tempfile.mkstemp(prefix="release-", suffix=".bin", dir=folder)
    path = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            while chunk := stream.read(1 << 16):
                handle.write(chunk)
        yield path
    finally:
        path.unlink(missing_ok=True)

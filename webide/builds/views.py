"""Build API: submit, progress (the OTA documentation's shape), details, cancel."""

from __future__ import annotations

from pathlib import Path

from flask import Response
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..api import documented
from ..core.accounts import accessible_device
from ..core.builds.queue import (
    build_or_404,
    request_cancel,
)
from ..core.errors import NotFound
from ..core.firmware.store import ArtifactMissing, artifact_store, download_name
from ..core.presenters import build_detail, build_progress
from ..core.sketches import files_of, head_revision, sketch_name
from ..extensions import current_settings, db
from ..models import Build
from ..schemas import (
    BuildDetail,
    BuildList,
    BuildProgress,
    BuildRequest,
    Cancelled,
    Queued,
    UnknownBuild,
)
from . import bp
from .submission import save_and_queue

ERRORS = (400, 401, 404)


@bp.post("/api/devices/<product_id>/builds")
@login_required
@documented("builds", Queued, status=202, errors=(*ERRORS, 409, 413, 503))
def submit(product_id: str, json: BuildRequest) -> tuple[dict, int]:
    """Verify (deploy=false) or Upload (deploy=true) the given files, or the stored sketch when none are given.

    Compiles in a sandbox on a worker; follow it on /ota-update-progress/{update_id} or in the bot's room of the
    /ota-update Socket.IO namespace. Upload makes the image the bot's target: the bot pulls it at its next button
    press.
    """
    device = accessible_device(current_user, product_id)
    files = head_revision(device).files if json.files is None else files_of(json.files)
    build, revision = save_and_queue(device, files, json.fqbn, json.deploy)
    return {
        "success": True,
        "update_id": build.id,
        "status": build.status,
        "progress": build.progress,
        "message": build.message,
        "revision": revision,
    }, 202


@bp.get("/ota-update-progress/<update_id>")
@login_required
@documented("builds", BuildProgress, errors=(401,), other={404: UnknownBuild})
def progress(update_id: str) -> tuple[dict, int]:
    """Build progress in the OTA documentation's shape."""
    try:
        build = visible_build(update_id)
    except NotFound:
        return {
            "success": False,
            "status": "not_found",
            "progress": 0,
            "message": "Update not found",
            "error": "Update not found",
        }, 404
    return build_progress(build), 200


@bp.get("/api/builds/<update_id>")
@login_required
@documented("builds", BuildDetail, errors=ERRORS)
def detail(update_id: str) -> dict:
    """Build details with the log, diagnostics, sizes and timings."""
    return build_detail(visible_build(update_id), current_settings())


@bp.post("/api/builds/<update_id>/cancel")
@login_required
@documented("builds", Cancelled, errors=ERRORS)
def cancel(update_id: str) -> dict:
    """Cancel a queued or running build (a running one is killed within a fraction of a second)."""
    build = visible_build(update_id)
    request_cancel(build)
    db.session.commit()
    return {"success": True, "update_id": build.id, "status": build.status}


@bp.get("/api/devices/<product_id>/builds")
@login_required
@documented("builds", BuildList, errors=ERRORS)
def history(product_id: str) -> dict:
    """The bot's last 50 builds, newest first (without their logs)."""
    device = accessible_device(current_user, product_id)
    settings = current_settings()
    builds = db.session.scalars(
        select(Build)
        .where(Build.device_id == device.id)
        .options(selectinload(Build.artifact))
        .order_by(Build.created_at.desc())
        .limit(50)
    )
    return {"success": True, "builds": [build_detail(build, settings, with_log=False) for build in builds]}


@bp.get("/api/builds/<update_id>/firmware")
@login_required
@documented("builds", other={200: None}, errors=ERRORS)
def download_firmware(update_id: str) -> Response:
    """The build's compiled firmware to flash over USB: ``.ino.hex`` for AVR boards, else ``.ino.bin``."""
    build = visible_build(update_id)
    if build.artifact is None:
        raise NotFound(f"Build {update_id} produced no firmware")
    store = artifact_store(current_settings())
    stored_name = download_name(store, build.artifact)
    try:
        stream = store.read(build.artifact.sha256, stored_name)
    except ArtifactMissing:
        raise NotFound("The firmware file is missing on the server; build again") from None
    name = f"{sketch_name(build.device)}.ino{Path(stored_name).suffix}"
    response = Response(stream, mimetype="application/octet-stream", direct_passthrough=True)
    response.headers.update({"Content-Length": str(stream.length), "Cache-Control": "no-cache"})
    response.headers.set("Content-Disposition", "attachment", filename=name)
    response.call_on_close(stream.close)
    return response


def visible_build(update_id: str) -> Build:
    build = build_or_404(update_id)
    if not current_user.can_access(build.device):
        raise NotFound(f"No build {update_id!r}")
    return build

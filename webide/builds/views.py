"""Build API: submit, progress (the OTA documentation's shape), details, cancel."""

from __future__ import annotations

from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..core.accounts import accessible_device
from ..core.builds.queue import (
    build_or_404,
    dispatch,
    ensure_queue_reachable,
    queue_build,
    request_cancel,
)
from ..core.errors import NotFound
from ..core.presenters import build_detail, build_progress
from ..core.rules import FQBN_RE, optional_bool, optional_str
from ..core.sketches import check_buildable, head_revision, parse_files, save_sketch
from ..extensions import current_settings, db
from ..models import Build
from ..request_input import json_body
from . import bp


@bp.post("/api/devices/<product_id>/builds")
@login_required
def submit(product_id: str) -> tuple[dict, int]:
    """Verify (deploy=false) or Upload (deploy=true) the given files, or the stored sketch when none are given."""
    device = accessible_device(current_user, product_id)
    body = json_body()
    deploy = optional_bool(body, "deploy")
    fqbn = optional_str(body, "fqbn", 120, FQBN_RE, default=device.fqbn)
    settings = current_settings()
    head = head_revision(device)
    files = parse_files(body["files"], settings.sketch_max_files) if "files" in body else head.files
    check_buildable(device, files, fqbn, settings)
    ensure_queue_reachable()
    if files != head.files:
        head = save_sketch(device, files, head.number, "build", current_user.display_name, "Compiled")
    build = queue_build(device, head.number, fqbn, deploy, current_user.display_name)
    db.session.commit()
    dispatch([build])
    return {"success": True, "update_id": build.id, "status": build.status, "progress": build.progress,
            "message": build.message, "revision": head.number}, 202


@bp.get("/ota-update-progress/<update_id>")
@login_required
def progress(update_id: str) -> tuple[dict, int]:
    try:
        build = visible_build(update_id)
    except NotFound:
        return {"success": False, "status": "not_found", "progress": 0, "message": "No such update",
                "error": "not found"}, 404
    return build_progress(build), 200


@bp.get("/api/builds/<update_id>")
@login_required
def detail(update_id: str) -> dict:
    return build_detail(visible_build(update_id))


@bp.post("/api/builds/<update_id>/cancel")
@login_required
def cancel(update_id: str) -> dict:
    build = visible_build(update_id)
    request_cancel(build)
    db.session.commit()
    return {"success": True, "update_id": build.id, "status": build.status}


@bp.get("/api/devices/<product_id>/builds")
@login_required
def history(product_id: str) -> dict:
    device = accessible_device(current_user, product_id)
    builds = db.session.scalars(select(Build).where(Build.device_id == device.id)
                                .options(selectinload(Build.artifact)).order_by(Build.created_at.desc()).limit(50))
    return {"success": True, "builds": [build_detail(build, with_log=False) for build in builds]}


def visible_build(update_id: str) -> Build:
    build = build_or_404(update_id)
    if not current_user.can_access(build.device):
        raise NotFound(f"No build {update_id!r}")
    return build

"""Build API: submit, progress (the OTA documentation's shape), details, cancel."""

from __future__ import annotations


from compiler import SketchFile
from flask_login import current_user, login_required
from sqlalchemy import select

from ..auth.service import accessible_device
from ..editor.sketches import head_revision, parse_files, save_sketch, sketch_name
from ..errors import NotFound
from ..extensions import current_settings, db
from ..models import Build
from ..validation import FQBN_RE, json_body, optional_bool, optional_str
from . import bp
from .service import (build_or_404, check_buildable, detail_view, expire_stale_builds, progress_view, queue_build,
                      request_cancel)


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
    check_buildable(sketch_name(device), [SketchFile(**f) for f in files], fqbn)
    if files != head.files:
        head = save_sketch(device, files, head.number, "build", current_user.display_name, "Compiled")
    build = queue_build(device, head.number, fqbn, deploy, current_user.display_name)
    return {"success": True, "update_id": build.id, "status": build.status, "progress": build.progress,
            "message": build.message, "revision": head.number}, 202


@bp.get("/ota-update-progress/<update_id>")
@login_required
def progress(update_id: str) -> tuple[dict, int]:
    expire_stale_builds()
    try:
        build = visible_build(update_id)
    except NotFound:
        return {"success": False, "status": "not_found", "progress": 0, "message": "No such update",
                "error": "not found"}, 404
    return progress_view(build), 200


@bp.get("/api/builds/<update_id>")
@login_required
def detail(update_id: str) -> dict:
    expire_stale_builds()
    return detail_view(visible_build(update_id))


@bp.post("/api/builds/<update_id>/cancel")
@login_required
def cancel(update_id: str) -> dict:
    build = visible_build(update_id)
    request_cancel(build)
    return {"success": True, "update_id": build.id, "status": build.status}


@bp.get("/api/devices/<product_id>/builds")
@login_required
def history(product_id: str) -> dict:
    device = accessible_device(current_user, product_id)
    expire_stale_builds()
    builds = db.session.scalars(select(Build).where(Build.device_id == device.id)
                                .order_by(Build.created_at.desc()).limit(50))
    return {"success": True, "builds": [{k: v for k, v in detail_view(b).items() if k != "log"} for b in builds]}


def visible_build(update_id: str) -> Build:
    build = build_or_404(update_id)
    if not current_user.can_access(build.device):
        raise NotFound(f"No build {update_id!r}")
    return build

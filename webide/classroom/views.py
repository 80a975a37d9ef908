"""`/api/classes`: an instructor's classes, who runs what, and pushing a sketch to a whole class."""

from __future__ import annotations

from flask_login import current_user, login_required

from ..devices.presenters import device_summary
from ..editor.sketches import parse_files
from ..extensions import current_settings
from ..validation import json_body, optional_bool, optional_str
from . import bp
from .service import main_sketch_file, push_sketch, visible_classroom, visible_classrooms


@bp.get("/api/classes")
@login_required
def list_classes() -> dict:
    return {"success": True, "classes": [{"name": c.name, "instructor": c.instructor.username if c.instructor
                                          else None, "bots": len(c.devices)}
                                         for c in visible_classrooms(current_user)]}


@bp.get("/api/classes/<name>")
@login_required
def show_class(name: str) -> dict:
    classroom = visible_classroom(current_user, name)
    settings = current_settings()
    bots = [device_summary(device, settings) for device in sorted(classroom.devices, key=lambda d: d.product_id)]
    return {"success": True, "name": classroom.name, "bots": bots}


@bp.post("/api/classes/<name>/builds")
@login_required
def push(name: str) -> tuple[dict, int]:
    """Give every bot of the class this sketch and Verify (deploy=false) or Upload (deploy=true) it."""
    classroom = visible_classroom(current_user, name)
    body = json_body()
    files = parse_files(body.get("files"), current_settings().sketch_max_files)
    main = main_sketch_file(files, optional_str(body, "main", 64))
    queued = push_sketch(classroom, files, main, optional_bool(body, "deploy", True), current_user.display_name)
    return {"success": True, "builds": queued}, 202

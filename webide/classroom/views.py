"""`/api/classes`: an instructor's classes, who runs what, and pushing a sketch to a whole class."""

from __future__ import annotations

from flask_login import current_user, login_required
from sqlalchemy import select

from ..core.builds.queue import dispatch
from ..core.classes import (
    main_sketch_file,
    push_sketch,
    visible_classroom,
    visible_classrooms,
)
from ..core.presenters import device_summaries, with_summary_rows
from ..core.rules import optional_bool, optional_str
from ..core.sketches import parse_files
from ..extensions import current_settings, db
from ..models import Device
from ..request_input import json_body
from . import bp


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
    query = with_summary_rows(select(Device).where(Device.classroom_id == classroom.id).order_by(Device.product_id))
    bots = device_summaries(db.session.scalars(query).all(), current_settings())
    return {"success": True, "name": classroom.name, "bots": bots}


@bp.post("/api/classes/<name>/builds")
@login_required
def push(name: str) -> tuple[dict, int]:
    """Give every bot of the class this sketch and Verify (deploy=false) or Upload (deploy=true) it."""
    classroom = visible_classroom(current_user, name)
    body = json_body()
    files = parse_files(body.get("files"), current_settings().sketch_max_files)
    main = main_sketch_file(files, optional_str(body, "main", 64))
    builds = push_sketch(classroom, files, main, optional_bool(body, "deploy", True), current_user.display_name)
    db.session.commit()
    dispatch(builds)
    return {"success": True, "builds": [{"product_id": build.device.product_id, "update_id": build.id,
                                         "revision": build.revision} for build in builds]}, 202

"""`/api/classes`: an instructor's classes, who runs what, and pushing a sketch to a whole class."""

from __future__ import annotations

from flask_login import current_user, login_required
from sqlalchemy import select

from ..api import documented
from ..core.builds.queue import dispatch
from ..core.classes import (
    main_sketch_file,
    push_sketch,
    visible_classroom,
    visible_classrooms,
)
from ..core.presenters import device_summaries, with_summary_rows
from ..core.sketches import files_of
from ..extensions import current_settings, db
from ..models import Device
from ..schemas import ClassDetail, ClassList, ClassPush, ClassQueued
from . import bp

ERRORS = (400, 401, 404)


@bp.get("/api/classes")
@login_required
@documented("classes", ClassList, errors=(401,))
def list_classes() -> dict:
    """The classes the caller may see."""
    return {"success": True, "classes": [{"name": c.name, "instructor": c.instructor.username if c.instructor
                                          else None, "bots": len(c.devices)}
                                         for c in visible_classrooms(current_user)]}


@bp.get("/api/classes/<name>")
@login_required
@documented("classes", ClassDetail, errors=ERRORS)
def show_class(name: str) -> dict:
    """A class and its bots: who is online, what each runs, flash states."""
    classroom = visible_classroom(current_user, name)
    query = with_summary_rows(select(Device).where(Device.classroom_id == classroom.id).order_by(Device.product_id))
    bots = device_summaries(db.session.scalars(query).all(), current_settings())
    return {"success": True, "name": classroom.name, "bots": bots}


@bp.post("/api/classes/<name>/builds")
@login_required
@documented("classes", ClassQueued, status=202, errors=(*ERRORS, 409, 413, 503))
def push(name: str, json: ClassPush) -> tuple[dict, int]:
    """Give every bot of the class this sketch and Verify (deploy=false) or Upload (deploy=true) it."""
    classroom = visible_classroom(current_user, name)
    files = files_of(json.files)
    main = main_sketch_file(files, json.main)
    builds = push_sketch(classroom, files, main, json.deploy, current_user.display_name)
    db.session.commit()
    dispatch(builds)
    return {"success": True, "builds": [{"product_id": build.device.product_id, "update_id": build.id,
                                         "revision": build.revision} for build in builds]}, 202

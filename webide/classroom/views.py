"""`/api/classes`: an instructor's classes — creating and changing them, their rosters, and pushing a sketch."""

from __future__ import annotations

from flask import Response, request
from flask_login import current_user, login_required
from sqlalchemy import select

from ..api import acting, documented
from ..core.accounts import require_staff
from ..core.assignments import Starter, pick_main, push_sketch
from ..core.audit import record
from ..core.builds.queue import dispatch
from ..core.classes import (
    check_open,
    class_summaries,
    create_class,
    delete_class,
    reassign_class,
    rename_class,
    visible_classroom,
    visible_classrooms,
)
from ..core.commands import command_view, queue_class_command
from ..core.csvfiles import decode_upload
from ..core.dashboard import dashboard_rows
from ..core.errors import BadRequest
from ..core.presenters import device_summaries, with_summary_rows
from ..core.registry import check_roster, import_roster, roster_row_view
from ..core.roster import class_devices, roster_csv
from ..core.sketches import files_of
from ..core.toolchain import default_board
from ..extensions import current_settings, db
from ..models import Device
from ..schemas import (
    ClassChange,
    ClassCommandReply,
    ClassCreate,
    ClassDetail,
    ClassList,
    ClassPush,
    ClassQueued,
    ClassReply,
    CommandRequest,
    Dashboard,
    Reply,
    RosterOptions,
    RosterReply,
)
from . import bp

ERRORS = (400, 401, 404)
STAFF_ERRORS = (400, 401, 403, 404, 409)


@bp.get("/api/classes")
@login_required
@documented("classes", ClassList, errors=(401,))
def list_classes() -> dict:
    """The classes the caller may see, empty ones too."""
    return {"success": True, "classes": class_summaries(visible_classrooms(current_user))}


@bp.post("/api/classes")
@login_required
@documented("classes", ClassReply, status=201, errors=(400, 401, 403, 409), access="staff")
def new_class(json: ClassCreate) -> tuple[dict, int]:
    """Create an empty class owned by the caller (an admin may name its instructor)."""
    classroom = create_class(require_staff(current_user), json.name, json.instructor)
    record(acting(), "class.create", classroom, instructor=classroom.instructor.username)
    db.session.commit()
    return {"success": True, **class_summaries([classroom])[0]}, 201


@bp.get("/api/classes/<class_name>")
@login_required
@documented("classes", ClassDetail, errors=ERRORS)
def show_class(class_name: str) -> dict:
    """A class and its bots: who is online, what each runs, flash states."""
    classroom = visible_classroom(current_user, class_name)
    query = with_summary_rows(select(Device).where(Device.classroom_id == classroom.id).order_by(Device.product_id))
    bots = device_summaries(db.session.scalars(query).all(), current_settings())
    return {"success": True, "name": classroom.name, "archived": classroom.archived, "bots": bots}


@bp.patch("/api/classes/<class_name>")
@login_required
@documented("classes", ClassReply, errors=STAFF_ERRORS)
def change_class(class_name: str, json: ClassChange) -> dict:
    """Rename, archive (read-only: no roster changes, no uploads) or restore a class; admins can reassign it."""
    classroom = visible_classroom(current_user, class_name)
    if json.instructor is not None:
        owner = reassign_class(current_user, classroom, json.instructor)
        record(acting(), "class.reassign", classroom, instructor=owner.username)
    if json.name is not None and json.name != classroom.name:
        check_open(classroom, "renaming")
        old_name = classroom.name
        rename_class(classroom, json.name)
        record(acting(), "class.rename", classroom, old_name=old_name)
    if json.archived is not None and json.archived != classroom.archived:
        classroom.archived = json.archived
        record(acting(), "class.archive" if json.archived else "class.restore", classroom)
    db.session.commit()
    return {"success": True, **class_summaries([classroom])[0]}


@bp.delete("/api/classes/<class_name>")
@login_required
@documented("classes", Reply, errors=STAFF_ERRORS)
def remove_class(class_name: str) -> dict:
    """Delete a class that has no bots (move or delete them first)."""
    classroom = visible_classroom(current_user, class_name)
    record(acting(), "class.delete", classroom)
    delete_class(classroom)
    db.session.commit()
    return {"success": True}


@bp.post("/api/classes/<class_name>/roster")
@login_required
@documented("classes", RosterReply, errors=(*STAFF_ERRORS, 413), parsed_body=None)
def roster_import(class_name: str, query: RosterOptions) -> dict:
    """A CSV roster (body ``text/csv``, or the multipart field ``file``) with the columns product_id, password,
    name[, class]: ``preview=true`` judges every row, ``preview=false`` creates every bot or none.

    Blank passwords are generated and returned once, as are the device tokens.
    """
    classroom = visible_classroom(current_user, class_name)
    check_open(classroom, "importing bots")
    upload = request.files.get("file")
    content = upload.read() if upload is not None else request.get_data(cache=False)
    if not content:
        raise BadRequest("Send the roster as a text/csv body or as the multipart field 'file'")
    text = decode_upload(content)
    settings = current_settings()
    fqbn = query.fqbn or default_board(settings)
    if query.preview:
        rows = check_roster(text, fqbn, classroom, settings.max_roster_rows)
        valid = sum(1 for row in rows if not row.errors)
        return {
            "success": True,
            "preview": True,
            "valid": valid,
            "invalid": len(rows) - valid,
            "rows": [roster_row_view(row) for row in rows],
            "created": [],
        }
    created = import_roster(text, fqbn, classroom, settings.max_roster_rows)
    for bot in created:
        record(acting(), "device.create", bot.product_id, classroom_id=classroom.id, target_kind="device", via="roster")
    db.session.commit()
    return {
        "success": True,
        "preview": False,
        "valid": len(created),
        "invalid": 0,
        "rows": [],
        "created": [
            {"product_id": b.product_id, "device_token": b.device_token, "password": b.password} for b in created
        ],
    }


@bp.get("/api/classes/<class_name>/roster.csv")
@login_required
@documented("classes", other={200: None}, errors=(401, 403, 404))
def roster_export(class_name: str) -> Response:
    """The class's bots as CSV (passwords are never stored, so never exported); formula-like cells are quoted."""
    classroom = visible_classroom(current_user, class_name)
    response = Response(roster_csv(class_devices(classroom)), mimetype="text/csv")
    response.headers["Content-Disposition"] = "attachment; filename=roster.csv"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/api/classes/<class_name>/builds")
@login_required
@documented("classes", ClassQueued, status=202, errors=(*ERRORS, 409, 413, 503))
def push(class_name: str, json: ClassPush) -> tuple[dict, int]:
    """Hand this sketch out to the class (``mode``, by default only to untouched sketches: no student's work is
    replaced) and Verify (deploy=false) or Upload (deploy=true) it on every bot that got it."""
    classroom = visible_classroom(current_user, class_name)
    files = files_of(json.files)
    starter = Starter(f"push by {current_user.display_name}", files, pick_main(files, json.main))
    plans, builds = push_sketch(classroom, starter, json.mode, json.deploy, current_user.display_name)
    record(
        acting(),
        "class.push",
        classroom,
        deploy=json.deploy,
        mode=json.mode,
        files=[f["name"] for f in files],
        bots=[build.device.product_id for build in builds],
    )
    db.session.commit()
    dispatch(builds)
    return {
        "success": True,
        "builds": [
            {"product_id": build.device.product_id, "update_id": build.id, "revision": build.revision}
            for build in builds
        ],
        "skipped": [plan.view() for plan in plans if plan.files is None],
    }, 202


@bp.get("/api/dashboard")
@login_required
@documented("classes", Dashboard, errors=(401, 403), access="staff")
def dashboard() -> dict:
    """Every bot the caller manages: online/offline, running vs target firmware, OTA state, latest telemetry."""
    user = require_staff(current_user)
    devices = db.session.scalars(with_summary_rows(user.visible_devices())).all()
    bots = dashboard_rows(devices, current_settings())
    return {"success": True, "total": len(bots), "online": sum(1 for bot in bots if bot["online"]), "bots": bots}


@bp.post("/api/classes/<class_name>/commands")
@login_required
@documented("classes", ClassCommandReply, status=202, errors=STAFF_ERRORS, access="staff")
def command_class(class_name: str, json: CommandRequest) -> tuple[dict, int]:
    """Send one command to every bot of the class that is not blocked (e.g. update_now after a push)."""
    classroom = visible_classroom(current_user, class_name)
    entries = queue_class_command(classroom, json.command, json.args, current_user.display_name, current_settings())
    record(acting(), "class.command", classroom, command=json.command, bots=len(entries))
    db.session.commit()
    return {"success": True, "commands": [command_view(entry) for entry in entries]}, 202

"""`/api/classes/<name>/assignments` and friends: starter sketches handed out without destroying student work,
flashing the whole class with one compile per distinct sketch, freezing, and reverting to a golden build; and the
page `/classes/<name>/assignments` that drives them."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf

from ..api import acting, documented
from ..core.archive import ImportLimits, read_upload
from ..core.assignments import (
    HANDOUT_MODES,
    assignment_view,
    check_mode,
    class_assignment,
    class_assignments,
    create_assignment,
    hand_out,
    plan_handout,
    starter_files,
    starter_of,
)
from ..core.audit import record
from ..core.builds.queue import dispatch
from ..core.classes import FREEZE_STATES, set_freeze, visible_classroom
from ..core.classflash import flash_class, golden_build, golden_candidates, revert_class
from ..core.errors import BadRequest
from ..core.examples import list_examples
from ..extensions import current_settings, db
from ..schemas import (
    AssignmentCreate,
    AssignmentReply,
    ClassFlashReply,
    ConsoleReply,
    FreezeReply,
    FreezeRequest,
    GoldenReply,
    GoldenRequest,
    HandoutReply,
    HandoutRequest,
    Reply,
    RevertReply,
    RevertRequest,
)
from . import bp

STAFF_ERRORS = (400, 401, 403, 404, 409)
UPLOAD_MAIN = "assignment.ino"


@bp.get("/classes/<class_name>/assignments")
@login_required
@documented("pages", other={200: None}, errors=(401, 403, 404), access="staff")
def assignments_page(class_name: str) -> str:
    """The class's assignments, hand-outs, class flash, freeze and revert."""
    classroom = visible_classroom(current_user, class_name)
    page_config = {
        "className": classroom.name,
        "bots": sorted(d.product_id for d in classroom.devices),
        "examples": list_examples(),
        "csrfToken": generate_csrf(),
    }
    return render_template("classroom/assignments.html", classroom=classroom, page_config=page_config)


@bp.get("/api/classes/<class_name>/assignments")
@login_required
@documented("assignments", ConsoleReply, errors=(401, 403, 404), access="staff")
def list_assignments(class_name: str) -> dict:
    """The class's assignments, its freeze state and golden build, and the hand-out modes."""
    classroom = visible_classroom(current_user, class_name)
    return {
        "success": True,
        "name": classroom.name,
        "freeze": classroom.freeze,
        "freeze_states": FREEZE_STATES,
        "golden_build_id": classroom.golden_build_id,
        "builds": golden_candidates(classroom),
        "modes": HANDOUT_MODES,
        "assignments": [assignment_view(a) for a in class_assignments(classroom)],
    }


@bp.post("/api/classes/<class_name>/assignments")
@login_required
@documented("assignments", AssignmentReply, status=201, errors=(*STAFF_ERRORS, 413), access="staff")
def new_assignment(class_name: str, json: AssignmentCreate) -> tuple[dict, int]:
    """An assignment from a bot's current sketch (source=editor) or an example (source=example)."""
    classroom = visible_classroom(current_user, class_name)
    files = starter_files(classroom, json.source, json.product_id, json.example_id)
    assignment = create_assignment(classroom, json.title, files, json.source, current_user.display_name)
    record(acting(), "assignment.create", classroom, title=assignment.title, source=json.source)
    db.session.commit()
    return {"success": True, "assignment": assignment_view(assignment)}, 201


@bp.post("/api/classes/<class_name>/assignments/upload")
@login_required
@documented("assignments", AssignmentReply, status=201, errors=(*STAFF_ERRORS, 413), access="staff", parsed_body=None)
def upload_assignment(class_name: str) -> tuple[dict, int]:
    """Multipart: ``title`` and ``file`` (a sketch .zip in the Arduino folder layout, or one .ino)."""
    classroom = visible_classroom(current_user, class_name)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise BadRequest("Attach the starter sketch as the multipart field 'file' (.zip or .ino)")
    settings = current_settings()
    limits = ImportLimits(settings.sketch_max_files, settings.sketch_max_bytes)
    with upload.stream:  # a large upload is spooled to a temporary file: close it even when the archive is refused
        data = upload.read()
    files = read_upload(upload.filename, data, UPLOAD_MAIN, [], limits)
    title = request.form.get("title", "")
    assignment = create_assignment(classroom, title, files, "zip", current_user.display_name)
    record(acting(), "assignment.create", classroom, title=assignment.title, source="zip")
    db.session.commit()
    return {"success": True, "assignment": assignment_view(assignment)}, 201


@bp.delete("/api/classes/<class_name>/assignments/<int:assignment_id>")
@login_required
@documented("assignments", Reply, errors=(401, 403, 404), access="staff")
def delete_assignment(class_name: str, assignment_id: int) -> dict:
    """Delete an assignment; the revisions it handed out stay in every bot's history."""
    classroom = visible_classroom(current_user, class_name)
    assignment = class_assignment(classroom, assignment_id)
    record(acting(), "assignment.delete", classroom, title=assignment.title)
    db.session.delete(assignment)
    db.session.commit()
    return {"success": True}


@bp.post("/api/classes/<class_name>/assignments/<int:assignment_id>/preview")
@login_required
@documented("assignments", HandoutReply, errors=STAFF_ERRORS, access="staff")
def preview_handout(class_name: str, assignment_id: int, json: HandoutRequest) -> dict:
    """Which bots a hand-out in this mode would change, and how; nothing is changed."""
    classroom = visible_classroom(current_user, class_name)
    plans = plan_handout(classroom, starter_of(class_assignment(classroom, assignment_id)), check_mode(json.mode))
    return handout_reply(plans, preview=True)


@bp.post("/api/classes/<class_name>/assignments/<int:assignment_id>/handout")
@login_required
@documented("assignments", HandoutReply, errors=(*STAFF_ERRORS, 413), access="staff")
def handout(class_name: str, assignment_id: int, json: HandoutRequest) -> dict:
    """Hand the assignment out: each changed bot gets a new revision (kind "handout", by the caller)."""
    classroom = visible_classroom(current_user, class_name)
    assignment = class_assignment(classroom, assignment_id)
    plans = hand_out(classroom, starter_of(assignment), json.mode, "handout", current_user.display_name)
    changed = [p.device.product_id for p in plans if p.files is not None]
    record(acting(), "assignment.handout", classroom, title=assignment.title, mode=json.mode, bots=changed)
    db.session.commit()
    return handout_reply(plans, preview=False)


def handout_reply(plans: list, preview: bool) -> dict:
    return {
        "success": True,
        "preview": preview,
        "changed": sum(1 for plan in plans if plan.files is not None),
        "bots": [plan.view() for plan in plans],
    }


@bp.post("/api/classes/<class_name>/flash")
@login_required
@documented("assignments", ClassFlashReply, status=202, errors=(*STAFF_ERRORS, 413, 503), access="staff")
def flash(class_name: str) -> tuple[dict, int]:
    """Upload every bot's current sketch; bots with the same sketch and board share one compile."""
    classroom = visible_classroom(current_user, class_name)
    compiling, builds = flash_class(classroom, current_user.display_name)
    record(acting(), "class.flash", classroom, bots=len(builds), compiles=len(compiling))
    db.session.commit()
    dispatch(compiling)
    return {
        "success": True,
        "compiles": len(compiling),
        "builds": [
            {
                "product_id": b.device.product_id,
                "update_id": b.id,
                "revision": b.revision,
                "compiled_by": b.compiled_by,
            }
            for b in builds
        ],
    }, 202


@bp.put("/api/classes/<class_name>/freeze")
@login_required
@documented("assignments", FreezeReply, errors=STAFF_ERRORS, access="staff")
def freeze(class_name: str, json: FreezeRequest) -> dict:
    """open, frozen (students edit and Verify but cannot Upload) or exam (students cannot save either)."""
    classroom = visible_classroom(current_user, class_name)
    set_freeze(classroom, json.state)
    record(acting(), f"class.{'unfreeze' if json.state == 'open' else json.state}", classroom)
    db.session.commit()
    return {"success": True, "freeze": classroom.freeze, "message": FREEZE_STATES[classroom.freeze]}


@bp.put("/api/classes/<class_name>/golden")
@login_required
@documented("assignments", GoldenReply, errors=STAFF_ERRORS, access="staff")
def choose_golden(class_name: str, json: GoldenRequest) -> dict:
    """Choose the class's golden build: a finished build of one of its bots that produced firmware."""
    classroom = visible_classroom(current_user, class_name)
    classroom.golden_build_id = golden_build(classroom, json.update_id).id
    record(acting(), "class.golden", classroom, update_id=classroom.golden_build_id)
    db.session.commit()
    return {"success": True, "golden_build_id": classroom.golden_build_id}


@bp.post("/api/classes/<class_name>/revert")
@login_required
@documented("assignments", RevertReply, errors=STAFF_ERRORS, access="staff")
def revert(class_name: str, json: RevertRequest) -> dict:
    """Make one build's image (the golden build unless another is named) the target of every bot of the class."""
    classroom = visible_classroom(current_user, class_name)
    build, bots = revert_class(classroom, json.update_id)
    record(
        acting(), "class.revert", classroom, update_id=build.id, bots=[b["product_id"] for b in bots if b["reverted"]]
    )
    db.session.commit()
    return {"success": True, "update_id": build.id, "bots": bots}

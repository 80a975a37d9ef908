"""The sketch API the editor page (and scripts) use: files, revisions, import/export, examples, Auto Format."""

from __future__ import annotations

from flask import Response, request
from flask_login import current_user, login_required

from ..api import acting, documented
from ..core.accounts import accessible_device
from ..core.archive import ImportLimits, read_upload, sketch_zip
from ..core.assignments import starter_diff_base
from ..core.audit import record
from ..core.classes import check_student_edit
from ..core.errors import BadRequest, NotFound
from ..core.examples import example_files, list_examples
from ..core.formatting import format_source
from ..core.history import render_revision
from ..core.rules import MAX_REVISION
from ..core.sketches import (
    check_sketch,
    files_of,
    head_revision,
    main_file,
    restore_revision,
    revision,
    revision_history,
    revision_summary,
    save_sketch,
    set_board,
    sketch_name,
    sketch_view,
)
from ..core.toolchain import check_board
from ..extensions import current_settings, db
from ..models import as_utc
from ..schemas import (
    ExampleList,
    ExampleQuery,
    ExampleReply,
    FilesReply,
    FormatReply,
    FormatRequest,
    Restore,
    RevisionDetail,
    RevisionList,
    RevisionPage,
    RevisionReply,
    SketchReply,
    SketchSave,
    StarterReply,
)
from . import bp

ERRORS = (400, 401, 404)


@bp.get("/api/devices/<product_id>/sketch")
@login_required
@documented("sketch", SketchReply, errors=ERRORS)
def get_sketch(product_id: str) -> dict:
    """The current sketch: files, revision, board and sketch name."""
    return {"success": True, **sketch_view(accessible_device(current_user, product_id))}


@bp.put("/api/devices/<product_id>/sketch")
@login_required
@documented("sketch", RevisionReply, errors=(*ERRORS, 409, 413))
def put_sketch(product_id: str, json: SketchSave) -> dict:
    """Save the editor's files on top of ``base_revision``: autosave (explicit=false) or Save (explicit=true).

    A stale ``base_revision`` is a 409 whose ``current`` holds the newer sketch, never a silent overwrite.
    """
    device = accessible_device(current_user, product_id)
    check_student_edit(device, current_user)
    settings = current_settings()
    files = files_of(json.files)
    if json.fqbn is not None:
        check_board(json.fqbn, settings)
    check_sketch(device, files, settings)
    kind = "save" if json.explicit else "autosave"
    saved = save_sketch(device, files, json.base_revision, kind, current_user.display_name, json.message)
    old_board = set_board(device, json.fqbn, settings) if json.fqbn is not None else None
    if old_board is not None:
        record(acting(), "device.board", device, old=old_board, new=device.fqbn)
    db.session.commit()
    return {"success": True, "revision": saved.number}


@bp.get("/api/devices/<product_id>/sketch/revisions")
@login_required
@documented("sketch", RevisionList, errors=ERRORS)
def list_revisions(product_id: str, query: RevisionPage) -> dict:
    """Revision history, newest first; page back with ``?before=<the last revision shown>``."""
    rows = revision_history(accessible_device(current_user, product_id), query.before, query.limit)
    return {"success": True, "revisions": [revision_summary(row) for row in rows]}


@bp.get("/api/devices/<product_id>/sketch/revisions/<int:rev>")
@login_required
@documented("sketch", RevisionDetail, errors=ERRORS)
def show_revision(product_id: str, rev: int) -> dict:
    """One old revision, read-only: its files and their Pygments rendering."""
    row = revision(accessible_device(current_user, product_id), rev)
    summary, files = revision_summary(row), row.files
    db.session.rollback()  # read only: the database connection goes back to the pool while a worker highlights
    return {"success": True, **summary, "files": files, "html": render_revision(files)}


@bp.get("/api/devices/<product_id>/sketch/starter")
@login_required
@documented("sketch", StarterReply, errors=ERRORS)
def handed_out_starter(product_id: str) -> dict:
    """The starter of the newest hand-out or push this bot got, as the bot got it (its main file under the bot's
    name): the base a teacher compares the student's work with. In "add" mode that is the assignment's files, not
    the hand-out revision (the student's sketch with the new tabs). 404 when the bot never got one."""
    device = accessible_device(current_user, product_id)
    base = starter_diff_base(device)
    if base is None:
        raise NotFound(f"No sketch has been handed out to bot {device.product_id!r}")
    return {"success": True, "revision": base.revision, "message": base.message, "files": base.files}


@bp.post("/api/devices/<product_id>/sketch/revisions/<int:rev>/restore")
@login_required
@documented("sketch", FilesReply, errors=(*ERRORS, 409))
def restore(product_id: str, rev: int, json: Restore) -> dict:
    """A new revision with the old one's files; ``base_revision`` (optional) guards against a newer save."""
    device = accessible_device(current_user, product_id)
    check_student_edit(device, current_user)
    restored = restore_revision(device, rev, json.base_revision, current_user.display_name)
    db.session.commit()
    return {"success": True, "revision": restored.number, "files": restored.files}


@bp.get("/api/devices/<product_id>/sketch.zip")
@login_required
@documented("sketch", other={200: None}, errors=ERRORS)
def export_zip(product_id: str) -> Response:
    """The current sketch as ``<sketch_name>.zip`` in the Arduino folder layout."""
    device = accessible_device(current_user, product_id)
    head = head_revision(device)
    folder = sketch_name(device)
    response = Response(sketch_zip(folder, head.files, as_utc(head.created_at)), mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{folder}.zip"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/api/devices/<product_id>/sketch/import")
@login_required
@documented("sketch", FilesReply, errors=(*ERRORS, 409, 413))
def import_sketch(product_id: str) -> dict:
    """Multipart ``file``: a .zip replaces the sketch, a single source file replaces or adds one tab.

    An optional multipart field ``base_revision`` guards against a newer save (409).
    """
    device = accessible_device(current_user, product_id)
    check_student_edit(device, current_user)
    upload = request.files.get("file")
    if upload is None:
        raise BadRequest("Attach the sketch as the multipart field 'file' (.zip or .ino)")
    base = form_revision("base_revision")
    head = head_revision(device)
    settings = current_settings()
    files = read_upload(
        upload.filename or "",
        upload.read(),
        main_file(device),
        head.files,
        ImportLimits(settings.sketch_max_files, settings.sketch_max_bytes),
    )
    check_sketch(device, files, settings)
    saved = save_sketch(
        device,
        files,
        head.number if base is None else base,
        "import",
        current_user.display_name,
        f"Imported {upload.filename}",
    )
    db.session.commit()
    return {"success": True, "revision": saved.number, "files": saved.files}


@bp.post("/api/devices/<product_id>/format")
@login_required
@documented("sketch", FormatReply, errors=(*ERRORS, 413))
def format_file(product_id: str, json: FormatRequest) -> dict:
    """Auto Format one tab's text with clang-format; the result is returned, nothing is saved."""
    accessible_device(current_user, product_id)
    settings = current_settings()
    return {
        "success": True,
        "content": format_source(json.name, json.content, settings.clang_format, settings.sketch_max_bytes),
    }


@bp.get("/api/examples")
@login_required
@documented("sketch", ExampleList, errors=(401,))
def examples() -> dict:
    """The File → Examples menu."""
    return {"success": True, "examples": list_examples()}


@bp.get("/api/examples/<example_id>")
@login_required
@documented("sketch", ExampleReply, errors=ERRORS)
def example(example_id: str, query: ExampleQuery) -> dict:
    """The example's files; with ``?product_id=`` the main file is already renamed to that bot's main file."""
    main_name = main_file(accessible_device(current_user, query.product_id)) if query.product_id else None
    return {"success": True, "id": example_id, "files": example_files(example_id, main_name)}


def form_revision(name: str) -> int | None:
    """An optional revision number sent as a multipart form field."""
    raw = request.form.get(name, "")
    if raw == "":
        return None
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_REVISION:
        raise BadRequest(f"Field {name} must be a revision number")
    return int(raw)

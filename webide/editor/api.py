"""The sketch API the editor page (and scripts) use: files, revisions, import/export, examples, Auto Format."""

from __future__ import annotations

from flask import Response, current_app, request
from flask_login import current_user, login_required

from ..core.accounts import accessible_device
from ..core.archive import ImportLimits, read_upload, sketch_zip
from ..core.errors import BadRequest
from ..core.examples import example_files, list_examples
from ..core.formatting import format_source
from ..core.history import render_revision
from ..core.rules import (
    FQBN_RE,
    checked_str,
    optional_bool,
    optional_int,
    optional_str,
    required_str,
)
from ..core.sketches import (
    MAX_FILE_NAME,
    check_sketch,
    head_revision,
    main_file,
    parse_files,
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
from ..request_input import json_body
from . import bp

MAX_REVISION = 2**31 - 1
DEFAULT_PAGE = 50
MAX_PAGE = 200
MAX_MESSAGE = 200



@bp.get("/api/devices/<product_id>/sketch")
@login_required
def get_sketch(product_id: str) -> dict:
    """The current sketch: files, revision, board and sketch name."""
    return {"success": True, **sketch_view(accessible_device(current_user, product_id))}


@bp.put("/api/devices/<product_id>/sketch")
@login_required
def put_sketch(product_id: str) -> dict:
    """Save the editor's files on top of ``base_revision``: autosave (explicit=false) or Save (explicit=true)."""
    device = accessible_device(current_user, product_id)
    body = json_body()
    files = parse_files(body.get("files"), current_settings().sketch_max_files)
    base = required_revision(body, "base_revision")
    kind = "save" if optional_bool(body, "explicit") else "autosave"
    message = optional_str(body, "message", MAX_MESSAGE, default="") or ""
    fqbn = optional_str(body, "fqbn", 120, FQBN_RE)
    if fqbn is not None:
        check_board(fqbn, current_settings())
    check_sketch(device, files, current_settings())
    saved = save_sketch(device, files, base, kind, current_user.display_name, message)
    if fqbn is not None:
        set_board(device, fqbn, current_settings())
    db.session.commit()
    return {"success": True, "revision": saved.number}


@bp.get("/api/devices/<product_id>/sketch/revisions")
@login_required
def list_revisions(product_id: str) -> dict:
    """Newest first; page back with ``?before=<the last revision shown>``."""
    device = accessible_device(current_user, product_id)
    before = query_int("before", 1, MAX_REVISION, None)
    limit = query_int("limit", 1, MAX_PAGE, DEFAULT_PAGE)
    rows = revision_history(device, before, limit)
    return {"success": True, "revisions": [revision_summary(row) for row in rows]}


@bp.get("/api/devices/<product_id>/sketch/revisions/<int:rev>")
@login_required
def show_revision(product_id: str, rev: int) -> dict:
    """One old revision, read-only: its files and their Pygments rendering."""
    row = revision(accessible_device(current_user, product_id), rev)
    return {"success": True, **revision_summary(row), "files": row.files, "html": render_revision(row.files)}


@bp.post("/api/devices/<product_id>/sketch/revisions/<int:rev>/restore")
@login_required
def restore(product_id: str, rev: int) -> dict:
    """A new revision with the old one's files; ``base_revision`` (optional) guards against a newer save."""
    device = accessible_device(current_user, product_id)
    body = json_body() if request.content_length else {}
    base = optional_int(body, "base_revision", 1, MAX_REVISION)
    restored = restore_revision(device, rev, base, current_user.display_name)
    db.session.commit()
    return {"success": True, "revision": restored.number, "files": restored.files}


@bp.get("/api/devices/<product_id>/sketch.zip")
@login_required
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
def import_sketch(product_id: str) -> dict:
    """Multipart ``file``: a .zip replaces the sketch, a single source file replaces or adds one tab."""
    device = accessible_device(current_user, product_id)
    upload = request.files.get("file")
    if upload is None:
        raise BadRequest("Attach the sketch as the multipart field 'file' (.zip or .ino)")
    base = form_revision("base_revision")
    head = head_revision(device)
    limits = ImportLimits(current_settings().sketch_max_files, current_settings().sketch_max_bytes)
    files = read_upload(upload.filename or "", upload.read(), main_file(device), head.files, limits)
    check_sketch(device, files, current_settings())
    saved = save_sketch(device, files, head.number if base is None else base, "import", current_user.display_name,
                        f"Imported {upload.filename}")
    db.session.commit()
    return {"success": True, "revision": saved.number, "files": saved.files}


@bp.post("/api/devices/<product_id>/format")
@login_required
def format_file(product_id: str) -> dict:
    """Auto Format one tab's text with clang-format; the result is returned, nothing is saved."""
    accessible_device(current_user, product_id)
    body = json_body()
    name = required_str(body, "name", MAX_FILE_NAME)
    content = checked_str("content", body.get("content"), current_app.config["MAX_CONTENT_LENGTH"])
    return {"success": True, "content": format_source(name, content, current_settings().clang_format,
                                                      current_settings().sketch_max_bytes)}


@bp.get("/api/examples")
@login_required
def examples() -> dict:
    """The File → Examples menu."""
    return {"success": True, "examples": list_examples()}


@bp.get("/api/examples/<example_id>")
@login_required
def example(example_id: str) -> dict:
    """The example's files; with ``?product_id=`` the main file is already renamed to that bot's main file."""
    product_id = request.args.get("product_id")
    main_name = main_file(accessible_device(current_user, product_id)) if product_id else None
    return {"success": True, "id": example_id, "files": example_files(example_id, main_name)}


def required_revision(body: dict, name: str) -> int:
    """A revision number the client must send, with a hint on what it means when missing."""
    if body.get(name) is None:
        raise BadRequest(f"Missing field: {name} (the revision the edited text was based on)")
    return optional_int(body, name, 1, MAX_REVISION)  # type: ignore[return-value]


def query_int(name: str, low: int, high: int, default: int | None) -> int | None:
    """A bounded whole-number query parameter, or 400 saying which one is wrong."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise BadRequest(f"Query parameter {name} must be a whole number from {low} to {high}")
    return int(raw)


def form_revision(name: str) -> int | None:
    """An optional revision number sent as a multipart form field."""
    raw = request.form.get(name, "")
    if raw == "":
        return None
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_REVISION:
        raise BadRequest(f"Field {name} must be a revision number")
    return int(raw)

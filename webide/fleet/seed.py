"""Seed 002's OTA endpoints, exactly as documented there, for scripts and CI: a sketch ZIP or a configuration
bundle in the multipart field ``ota_zip_file``, answered with an ``update_id`` to poll on /ota-update-progress."""

from __future__ import annotations

from flask import request
from flask_login import current_user, login_required
from werkzeug.datastructures import FileStorage

from ..api import acting, documented
from ..builds.submission import save_and_queue
from ..core.accounts import accessible_device
from ..core.archive import ImportLimits, read_bundle, read_upload
from ..core.audit import record
from ..core.bundles import SETTINGS_FILE, apply_bundle
from ..core.classes import check_student_edit, check_student_upload
from ..core.errors import BadRequest
from ..core.sketches import check_buildable, head_revision, main_file
from ..extensions import current_settings, db
from ..models import Build, Device
from ..schemas import SeedQueued
from . import bp

ERRORS = (400, 401, 403, 404, 409, 413, 503)
FIELD = "ota_zip_file"


@bp.post("/ota-update")
@login_required
@documented("fleet", SeedQueued, errors=ERRORS)
def ota_update() -> dict:
    """Multipart ``ota_zip_file``: a sketch ZIP imported into the caller's bot (an instructor or admin names the bot
    in the form field ``product_id``), compiled and deployed like Upload."""
    upload = seed_zip()
    device = named_bot()
    settings = current_settings()
    limits = ImportLimits(settings.sketch_max_files, settings.sketch_max_bytes)
    head = head_revision(device)
    files = read_upload(upload.filename or "", upload.read(), main_file(device), head.files, limits)
    note = f"OTA update {upload.filename}"
    build, _ = save_and_queue(device, files, None, True, kind="import", note=note, via="ota-update")
    return queued(build, f"Update queued for {device.product_id}: compiling, then the bot installs it")


@bp.post("/ota-configure")
@login_required
@documented("fleet", SeedQueued, errors=ERRORS)
def ota_configure() -> dict:
    """Multipart ``ota_zip_file``: a configuration bundle — ``config.json`` with any of ``wifi`` {ssid, password},
    ``board`` and ``name``, and optionally a starter sketch next to it — applied to the bot, then its first build is
    queued (an instructor or admin names the bot in the form field ``product_id``)."""
    upload = seed_zip()
    device = named_bot()
    settings = current_settings()
    limits = ImportLimits(settings.sketch_max_files, settings.sketch_max_bytes)
    text, files = read_bundle(upload.filename or "", upload.read(), main_file(device), SETTINGS_FILE, limits)
    check_student_upload(device, current_user)  # checked before the bundle changes anything
    if files is not None:
        check_student_edit(device, current_user)
    revision = apply_bundle(device, text, files, settings, current_user.display_name)
    check_buildable(device, revision.files, device.fqbn, settings)
    record(acting(), "device.configure", device, bundle=(upload.filename or "")[:100], sketch=files is not None)
    db.session.commit()  # the configuration stands even when the queue turns out to be down
    build, _ = save_and_queue(device, revision.files, None, True, via="ota-configure")
    return queued(build, f"Configuration applied to {device.product_id}; its first build is queued")


def seed_zip() -> FileStorage:
    """The ZIP in ``ota_zip_file``, refused with seed 002's own messages."""
    upload = request.files.get(FIELD)
    if upload is None:
        raise BadRequest("No file provided")
    if not upload.filename:
        raise BadRequest("No file selected")
    if not upload.filename.lower().endswith(".zip"):
        raise BadRequest("Invalid file type. Please upload a ZIP file")
    return upload


def named_bot() -> Device:
    """The caller's own bot, or for staff the bot named in ``product_id`` (a bot they may not see is a 404)."""
    named = request.form.get("product_id", "").strip()
    if current_user.kind == "device" and not named:
        return current_user
    if not named:
        raise BadRequest("Name the bot in the form field product_id")
    return accessible_device(current_user, named)


def queued(build: Build, message: str) -> dict:
    return {"success": True, "update_id": build.id, "message": message, "status": "pending", "progress": 0}

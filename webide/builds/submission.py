"""The one way a sketch is compiled on request: the editor's Verify and Upload, the build API and seed 002's
/ota-update and /ota-configure all go through ``save_and_queue``."""

from __future__ import annotations

from flask_login import current_user

from ..api import acting
from ..core.audit import record
from ..core.builds.queue import dispatch, ensure_queue_reachable, queue_build
from ..core.classes import check_student_edit, check_student_upload
from ..core.sketches import check_buildable, head_revision, save_sketch
from ..extensions import current_settings, db
from ..models import Build, Device


def save_and_queue(
    device: Device,
    files: list[dict[str, str]],
    fqbn: str | None,
    deploy: bool,
    *,
    kind: str = "build",
    note: str = "Compiled",
    via: str | None = None,
) -> tuple[Build, int]:
    """Check the sketch and the class's rules for students (frozen: no Upload; exam: no saves), keep new files as a
    revision even when the queue turns out to be down, then queue, record an Upload, commit and dispatch.

    Returns the build and the revision it compiles.
    """
    head = head_revision(device)
    fqbn = check_buildable(device, files, fqbn or device.fqbn, current_settings())
    if deploy:
        check_student_upload(device, current_user)
    if files != head.files:
        check_student_edit(device, current_user)
        head = save_sketch(device, files, head.number, kind, current_user.display_name, note)
        db.session.commit()  # what was typed or imported is kept even when the queue turns out to be down
    ensure_queue_reachable()
    build = queue_build(device, head.number, fqbn, deploy, current_user.display_name)
    if deploy:
        record(
            acting(), "build.upload", device, update_id=build.id, revision=head.number, **({"via": via} if via else {})
        )
    db.session.commit()
    dispatch([build])
    return build, head.number

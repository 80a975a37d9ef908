"""Editor page and sketch API."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf

from compiler.validation import (
    ALLOWED_EXTENSIONS,
    FILE_NAME_PATTERN,
    FORBIDDEN_BUILD_INPUTS,
)

from ..api import documented
from ..core.accounts import accessible_device
from ..core.classes import freeze_reason
from ..core.deployments import STATE_LINES
from ..core.examples import list_examples
from ..core.linkstatus import device_link_state
from ..core.presenters import device_summary
from ..core.sketches import HAND_OUT_KINDS, REVISION_KINDS
from ..core.toolchain import available_boards
from ..extensions import current_settings
from ..models import Device
from . import bp


def shared_rules() -> dict:
    """Names and rules the page must apply exactly as the server does, sent with the page instead of copied."""
    return {
        "fileNamePattern": FILE_NAME_PATTERN.pattern,
        "allowedExtensions": list(ALLOWED_EXTENSIONS),
        "forbiddenNames": FORBIDDEN_BUILD_INPUTS,
        "flashStates": STATE_LINES,
        "revisionKinds": REVISION_KINDS,
        "handOutKinds": list(HAND_OUT_KINDS),
    }


def freeze_notice(device: Device) -> dict | None:
    """What a student of a frozen or exam class is told, and whether the editor is read-only for them."""
    reason = None if current_user.kind == "user" else freeze_reason(device)
    if reason is None or device.classroom is None:
        return None
    return {"message": reason, "readOnly": device.classroom.freeze == "exam"}


def render_editor(device: Device) -> str:
    settings = current_settings()
    summary = device_summary(device, settings)
    page_config = {
        "productId": device.product_id,
        "device": summary,
        "boards": [{"fqbn": board.fqbn, "name": board.name} for board in available_boards(settings)],
        "examples": list_examples(),
        "rules": shared_rules(),
        "csrfToken": generate_csrf(),
        "socketPath": "/socket.io",
        "freeze": freeze_notice(device),
        "deviceLink": device_link_state(),
    }
    return render_template("editor/editor.html", device=summary, page_config=page_config)


@bp.get("/devices/<product_id>/editor")
@login_required
@documented("pages", other={200: None}, errors=(401, 404))
def page(product_id: str) -> str:
    """The editor page of a bot."""
    return render_editor(accessible_device(current_user, product_id))

"""Editor page and sketch API."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf

from ..core.accounts import accessible_device
from ..core.examples import list_examples
from ..core.presenters import device_summary
from ..core.toolchain import available_boards
from ..extensions import current_settings
from ..models import Device
from . import bp


def render_editor(device: Device) -> str:
    settings = current_settings()
    summary = device_summary(device, settings)
    page_config = {
        "productId": device.product_id,
        "device": summary,
        "boards": [{"fqbn": board.fqbn, "name": board.name} for board in available_boards(settings)],
        "examples": list_examples(),
        "csrfToken": generate_csrf(),
        "socketPath": "/socket.io",
    }
    return render_template("editor/editor.html", device=summary, page_config=page_config)


@bp.get("/devices/<product_id>/editor")
@login_required
def page(product_id: str) -> str:
    return render_editor(accessible_device(current_user, product_id))

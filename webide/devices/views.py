"""`/api/devices`: the bots the caller may see."""

from __future__ import annotations

from flask import current_app
from flask_login import current_user, login_required

from ..auth.service import accessible_device
from ..extensions import db
from . import bp
from .presenters import device_summary


@bp.get("/api/devices")
@login_required
def list_devices() -> dict:
    settings = current_app.config["SETTINGS"]
    devices = db.session.scalars(current_user.visible_devices()).all()
    return {"success": True, "devices": [device_summary(device, settings) for device in devices]}


@bp.get("/api/devices/<product_id>")
@login_required
def show_device(product_id: str) -> dict:
    device = accessible_device(current_user, product_id)
    return {"success": True, **device_summary(device, current_app.config["SETTINGS"])}

"""`/api/devices`: the bots the caller may see."""

from __future__ import annotations

from flask import Response
from flask_login import current_user, login_required

from ..auth.service import accessible_device
from ..editor.checks import set_board
from ..extensions import current_settings, db
from ..validation import FQBN_RE, json_body, required_str
from . import bp
from .presenters import device_summary
from .provisioning import provisioning_kit
from .wifi import set_wifi, wifi_view


@bp.get("/api/devices")
@login_required
def list_devices() -> dict:
    settings = current_settings()
    devices = db.session.scalars(current_user.visible_devices()).all()
    return {"success": True, "devices": [device_summary(device, settings) for device in devices]}


@bp.get("/api/devices/<product_id>")
@login_required
def show_device(product_id: str) -> dict:
    device = accessible_device(current_user, product_id)
    return {"success": True, **device_summary(device, current_settings())}


@bp.patch("/api/devices/<product_id>")
@login_required
def change_device(product_id: str) -> dict:
    """Change the bot's board; anyone who may edit the bot may (the board only affects that bot's own builds)."""
    device = accessible_device(current_user, product_id)
    settings = current_settings()
    set_board(device, required_str(json_body(), "fqbn", 120, FQBN_RE), settings)
    return {"success": True, **device_summary(device, settings)}


@bp.get("/api/devices/<product_id>/wifi")
@login_required
def get_wifi(product_id: str) -> dict:
    """The bot's network name and whether a password is stored."""
    return {"success": True, **wifi_view(accessible_device(current_user, product_id))}


@bp.put("/api/devices/<product_id>/wifi")
@login_required
def put_wifi(product_id: str) -> dict:
    """Set the bot's network: ``password`` "" means an open network, a missing one keeps the stored password."""
    device = accessible_device(current_user, product_id)
    body = json_body()
    set_wifi(device, body.get("ssid"), body.get("password"), current_settings().data_dir)
    return {"success": True, **wifi_view(device)}


@bp.post("/api/devices/<product_id>/provisioning")
@login_required
def download_provisioning_kit(product_id: str) -> Response:
    """The first-flash kit (NVS image, instructions, settings) with a newly issued device token.

    A POST, not a GET: it replaces the bot's device token, so a link or a prefetch must not trigger it.
    """
    kit = provisioning_kit(accessible_device(current_user, product_id), current_settings())
    response = Response(kit.content, mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{kit.filename}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Device-Token-Replaced"] = "true"
    return response

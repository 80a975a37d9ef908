"""`/api/devices`: the bots the caller may see."""

from __future__ import annotations

from flask import Response
from flask_login import current_user, login_required

from ..api import documented
from ..core.accounts import accessible_device
from ..core.presenters import device_summaries, device_summary, with_summary_rows
from ..core.provisioning import provisioning_kit
from ..core.sketches import set_board
from ..core.wifi import set_wifi, wifi_view
from ..extensions import current_settings, db
from ..schemas import BoardChange, DeviceList, DeviceReply, WifiReply, WifiSettings
from . import bp

ERRORS = (400, 401, 404)


@bp.get("/api/devices")
@login_required
@documented("devices", DeviceList, errors=(401,))
def list_devices() -> dict:
    """The bots the caller may see."""
    devices = db.session.scalars(with_summary_rows(current_user.visible_devices())).all()
    return {"success": True, "devices": device_summaries(devices, current_settings())}


@bp.get("/api/devices/<product_id>")
@login_required
@documented("devices", DeviceReply, errors=ERRORS)
def show_device(product_id: str) -> dict:
    """One bot: presence, running and target firmware, flash state."""
    device = accessible_device(current_user, product_id)
    return {"success": True, **device_summary(device, current_settings())}


@bp.patch("/api/devices/<product_id>")
@login_required
@documented("devices", DeviceReply, errors=ERRORS)
def change_device(product_id: str, json: BoardChange) -> dict:
    """Change the bot's board; anyone who may edit the bot may (the board only affects that bot's own builds)."""
    device = accessible_device(current_user, product_id)
    settings = current_settings()
    set_board(device, json.fqbn, settings)
    db.session.commit()
    return {"success": True, **device_summary(device, settings)}


@bp.get("/api/devices/<product_id>/wifi")
@login_required
@documented("devices", WifiReply, errors=ERRORS)
def get_wifi(product_id: str) -> dict:
    """The bot's network name and whether a password is stored."""
    return {"success": True, **wifi_view(accessible_device(current_user, product_id))}


@bp.put("/api/devices/<product_id>/wifi")
@login_required
@documented("devices", WifiReply, errors=ERRORS)
def put_wifi(product_id: str, json: WifiSettings) -> dict:
    """Set the bot's network: ``password`` "" means an open network, a missing one keeps the stored password."""
    device = accessible_device(current_user, product_id)
    set_wifi(device, json.ssid, json.password, current_settings().data_dir)
    db.session.commit()
    return {"success": True, **wifi_view(device)}


@bp.post("/api/devices/<product_id>/provisioning")
@login_required
@documented("devices", other={200: None}, errors=ERRORS, file=True)
def download_provisioning_kit(product_id: str) -> Response:
    """The first-flash kit (NVS image, instructions, settings) with a newly issued device token.

    A POST, not a GET: it replaces the bot's device token, so a link or a prefetch must not trigger it.
    """
    kit = provisioning_kit(accessible_device(current_user, product_id), current_settings())
    db.session.commit()
    response = Response(kit.content, mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{kit.filename}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Device-Token-Replaced"] = "true"
    return response

"""`/api/devices`: the bots the caller may see."""

from __future__ import annotations

from flask import Response
from flask_login import current_user, login_required

from ..api import acting, documented
from ..core.accounts import accessible_device, require_staff, reset_password, set_blocked
from ..core.audit import record
from ..core.classes import check_open, visible_classroom
from ..core.commands import command_view, find_command, queue_command
from ..core.presenters import device_summaries, device_summary, with_summary_rows
from ..core.provisioning import check_reflash_allowed, provisioning_kit
from ..core.registry import create_device, reset_device_token
from ..core.roster import delete_device, device_status, move_device
from ..core.sketches import set_board
from ..core.toolchain import default_board
from ..core.wifi import set_wifi, wifi_view
from ..extensions import current_settings, db
from ..models import Device
from ..schemas import (
    BlockReply,
    BlockRequest,
    BoardChange,
    CommandReply,
    CommandRequest,
    DeviceList,
    DeviceMove,
    DeviceRegister,
    DeviceReply,
    DeviceStatusReply,
    DeviceTokenReply,
    NewBotReply,
    PasswordReply,
    PasswordReset,
    ProvisioningRequest,
    Reply,
    WifiReply,
    WifiSettings,
)
from . import bp

ERRORS = (400, 401, 404)
STAFF_ERRORS = (400, 401, 403, 404, 409)
TOKEN_WARNING = (
    "The bot's previous device token stopped working: the bot stays offline until it is provisioned "
    "again with this token"
)


def managed_device(product_id: str) -> Device:
    """A bot the caller may manage: an instructor's own or any (admins); bots manage nothing (403)."""
    device = accessible_device(current_user, product_id)
    require_staff(current_user)
    return device


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
    old = set_board(device, json.fqbn, settings)
    if old is not None:
        record(acting(), "device.board", device, old=old, new=device.fqbn)
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
    record(acting(), "device.wifi", device, ssid=device.wifi_ssid, password_changed=json.password is not None)
    db.session.commit()
    return {"success": True, **wifi_view(device)}


@bp.post("/api/devices/<product_id>/provisioning")
@login_required
@documented("devices", other={200: None}, errors=(*ERRORS, 409))
def download_provisioning_kit(product_id: str, json: ProvisioningRequest) -> Response:
    """The first-flash kit (NVS image, instructions, settings) with a newly issued device token.

    A POST, not a GET: it replaces the bot's device token, so a link or a prefetch must not trigger it. Instructors
    and admins may issue one; a bot must send ``{"confirm_reflash": true}``. A loopback server URL is refused:
    set WEBIDE_PUBLIC_URL.
    """
    device = accessible_device(current_user, product_id)
    check_reflash_allowed(current_user, json.confirm_reflash)
    kit = provisioning_kit(device, current_settings())
    record(acting(), "device.provisioning", device)
    db.session.commit()
    response = Response(kit.content, mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{kit.filename}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Device-Token-Replaced"] = "true"
    return response


@bp.post("/api/devices/register")
@login_required
@documented("devices", NewBotReply, status=201, errors=STAFF_ERRORS, access="staff")
def register_device(json: DeviceRegister) -> tuple[dict, int]:
    """Create a bot in one of the caller's classes; its device token (and a generated password) are shown once."""
    require_staff(current_user)
    classroom = visible_classroom(current_user, json.class_name)
    check_open(classroom, "adding bots")
    fqbn = json.fqbn or default_board(current_settings())
    created = create_device(json.product_id, json.password, json.name, fqbn, classroom)
    record(acting(), "device.create", created.product_id, classroom_id=classroom.id, target_kind="device")
    db.session.commit()
    return {
        "success": True,
        "product_id": created.product_id,
        "device_token": created.device_token,
        "password": created.password,
        "class_name": classroom.name,
    }, 201


@bp.delete("/api/devices/<product_id>")
@login_required
@documented("devices", Reply, errors=STAFF_ERRORS, access="staff")
def remove_device(product_id: str) -> dict:
    """Delete the bot and its data (sketch history, builds, deployments, tokens)."""
    device = managed_device(product_id)
    record(acting(), "device.delete", device)
    delete_device(device)
    db.session.commit()
    return {"success": True}


@bp.get("/api/devices/<product_id>/status")
@login_required
@documented("devices", DeviceStatusReply, errors=ERRORS)
def show_device_status(product_id: str) -> dict:
    """The bot's latest heartbeat: presence, running vs target firmware, flash state and telemetry."""
    device = accessible_device(current_user, product_id)
    return {"success": True, **device_status(device, current_settings())}


@bp.post("/api/devices/<product_id>/password")
@login_required
@documented("devices", PasswordReply, errors=STAFF_ERRORS, access="staff")
def reset_device_password(product_id: str, json: PasswordReset) -> dict:
    """Give the bot a new password (generated unless given), shown once; its sessions and API tokens end."""
    device = managed_device(product_id)
    password = reset_password(device, json.password)
    record(acting(), "device.password_reset", device)
    db.session.commit()
    return {"success": True, "password": password}


@bp.post("/api/devices/<product_id>/token")
@login_required
@documented("devices", DeviceTokenReply, errors=STAFF_ERRORS, access="staff")
def new_device_token(product_id: str) -> dict:
    """Issue a new device token (shown once); the old one stops working, so the bot must be provisioned again."""
    device = managed_device(product_id)
    token = reset_device_token(device)
    record(acting(), "device.token_reset", device)
    db.session.commit()
    return {"success": True, "device_token": token, "warning": TOKEN_WARNING}


@bp.post("/api/devices/<product_id>/block")
@bp.post("/api/admin/device/<product_id>/block")
@login_required
@documented("devices", BlockReply, errors=STAFF_ERRORS, access="staff")
def block_device(product_id: str, json: BlockRequest) -> dict:
    """Block (``{"blocked": true}``: no login, its sessions and tokens end, firmware requests get 403) or unblock."""
    device = managed_device(product_id)
    if set_blocked(device, json.blocked):
        record(acting(), "device.block" if json.blocked else "device.unblock", device)
    db.session.commit()
    return {"success": True, "blocked": device.blocked}


@bp.put("/api/devices/<product_id>/class")
@login_required
@documented("devices", DeviceReply, errors=STAFF_ERRORS, access="staff")
def move_to_class(product_id: str, json: DeviceMove) -> dict:
    """Move the bot to another of the caller's classes."""
    device = managed_device(product_id)
    target = visible_classroom(current_user, json.class_name)
    source = move_device(device, target)
    record(
        acting(),
        "device.move",
        device,
        classroom_id=target.id,
        from_class=source.name if source else None,
        to_class=target.name,
    )
    if source is not None and source.id != target.id:
        record(acting(), "device.move", device, classroom_id=source.id, from_class=source.name, to_class=target.name)
    db.session.commit()
    return {"success": True, **device_summary(device, current_settings())}


@bp.post("/api/devices/<product_id>/commands")
@login_required
@documented("devices", CommandReply, status=202, errors=(*ERRORS, 409))
def send_command(product_id: str, json: CommandRequest) -> tuple[dict, int]:
    """Send a command to the bot (over MQTT, or in its next heartbeat reply); follow it with GET …/commands/<id>.

    A student may command their own bot, an instructor their classes' bots. A command the bot has not finished
    within WEBIDE_DEVICE_COMMAND_TTL_S (5 minutes) is timed out; a blocked bot takes none (409).
    """
    device = accessible_device(current_user, product_id)
    entry = queue_command(device, json.command, json.args, current_user.display_name, current_settings())
    record(acting(), "device.command", device, command=json.command, command_id=entry.command_id)
    db.session.commit()
    return {"success": True, "command": command_view(entry)}, 202


@bp.get("/api/devices/<product_id>/commands/<command_id>")
@login_required
@documented("devices", CommandReply, errors=ERRORS)
def show_command(product_id: str, command_id: str) -> dict:
    """Where a command stands: pending, sent, acked, done, failed or timed_out."""
    device = accessible_device(current_user, product_id)
    return {"success": True, "command": command_view(find_command(device, command_id))}

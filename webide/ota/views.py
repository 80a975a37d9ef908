"""Device endpoints. Bots authenticate with their device token (or a signed URL for the download), never a session."""

from __future__ import annotations

import logging

from flask import Response, current_app
from sqlalchemy.exc import SQLAlchemyError

from ..api import DEVICE, FIRMWARE, documented
from ..core.broker import bot_broker_url
from ..core.commands import apply_result, command_view, commands_for_heartbeat
from ..core.devicelink import MAX_PAYLOAD_BYTES, LogLimiter, lines_field, record_log_lines
from ..core.errors import ApiError, RangeNotSatisfiable
from ..core.reports import (
    parse_heartbeat,
    parse_status_report,
    record_heartbeat,
    record_status_report,
)
from ..extensions import csrf_exempt, current_settings, db
from ..request_input import json_body
from ..schemas import (
    CommandReply,
    CommandResult,
    Heartbeat,
    HeartbeatReply,
    LogBatch,
    LogBatchReply,
    Manifest,
    StatusReply,
    StatusReport,
)
from . import bp
from .device_auth import authenticate_device, authenticated_device
from .protocol import firmware_response, range_error_response, update_manifest

log = logging.getLogger(__name__)

MAX_REPORT_BYTES = 8 * 1024  # fits any real report many times over
ERRORS = (400, 401, 403)

bp.register_error_handler(RangeNotSatisfiable, range_error_response)


@bp.get("/<product_id>.ino.bin")
@documented("device", other={200: None, 206: None, 304: None}, errors=(*ERRORS, 404, 409, 416), security=FIRMWARE)
def firmware(product_id: str) -> Response:
    """The bot's target image for the stock HTTPUpdate client: 304, 200/206 with x-MD5, or a refusal.

    304 when x-ESP32-sketch-md5 or x-ESP32-sketch-sha256 names the target; Range resumes a download; an image
    larger than x-ESP32-free-space is a 409 with the reason.
    """
    state = authenticate_device(product_id, allow_signed_url=True)
    try:
        response = firmware_response(state, current_settings())
    except ApiError:
        commit_observations()  # a refusal the bot causes (e.g. no room for the image) fails its deployment
        raise
    commit_observations()
    return response


def commit_observations() -> None:
    """Record what the bot told us; if the database cannot write (a full disk), the bot still gets its answer."""
    try:
        db.session.commit()
    except SQLAlchemyError as error:
        db.session.rollback()
        log.warning("Device observations not recorded: %s", error)


@bp.get("/api/ota/<product_id>/check")
@documented("device", Manifest, errors=ERRORS, security=DEVICE)
def check(product_id: str) -> dict:
    """Is there an update for the bot, and where and what it is (a signed URL valid for this image only)."""
    manifest = update_manifest(authenticated_device(product_id), current_settings())
    commit_observations()
    return manifest


@bp.post("/api/ota/<product_id>/status")
@csrf_exempt  # device token in the Authorization header, which a cross-site form cannot send
@documented("device", StatusReply, errors=(*ERRORS, 413), security=DEVICE, parsed_body=StatusReport)
def status(product_id: str) -> dict:
    """The agent's OTA status: STARTED → IN_PROGRESS → SUCCESS, or FAILED (with 'rolled back' for a rollback)."""
    device = authenticated_device(product_id)
    answer = record_status_report(device, parse_status_report(json_body(MAX_REPORT_BYTES)))
    db.session.commit()
    return answer


@bp.post("/api/devices/<product_id>/heartbeat")
@csrf_exempt
@documented("device", HeartbeatReply, errors=(*ERRORS, 413), security=DEVICE, parsed_body=Heartbeat)
def heartbeat(product_id: str) -> dict:
    """Presence, the firmware the bot really runs, and its telemetry (numeric extras become sensor readings)."""
    device = authenticated_device(product_id)
    answer = record_heartbeat(device, parse_heartbeat(json_body(MAX_REPORT_BYTES)), current_settings())
    answer["commands"] = commands_for_heartbeat(device)
    broker = bot_broker_url(current_settings())
    if broker:
        answer["mqtt"] = broker  # where this bot's live link is (it logs in with its product ID and token)
    db.session.commit()
    return answer


@bp.post("/api/devices/<product_id>/results")
@csrf_exempt
@documented("device", CommandReply, errors=(*ERRORS, 404, 413), security=DEVICE, parsed_body=CommandResult)
def command_result(product_id: str) -> dict:
    """The bot's answer to one of its commands: acked when it starts, done or failed when it finishes."""
    device = authenticated_device(product_id)
    entry = apply_result(device, json_body(MAX_REPORT_BYTES))
    db.session.commit()
    return {"success": True, "command": command_view(entry)}


@bp.post("/api/devices/<product_id>/logs")
@csrf_exempt
@documented("device", LogBatchReply, errors=(*ERRORS, 413), security=DEVICE, parsed_body=LogBatch)
def logs(product_id: str) -> dict:
    """Serial output lines of a bot without MQTT, shown live in its Device monitor (rate-limited, cut, plain text)."""
    device = authenticated_device(product_id)
    lines = [line.encode() for line in lines_field(json_body(MAX_PAYLOAD_BYTES))]
    accepted = record_log_lines(device.product_id, lines, log_limiter(), current_settings())
    return {"success": True, "accepted": accepted}


def log_limiter() -> LogLimiter:
    """This web process's per-bot line budget (the bridge keeps its own for MQTT)."""
    rate = float(current_settings().device_log_lines_per_s)
    return current_app.extensions.setdefault("webide_log_limiter", LogLimiter(rate))

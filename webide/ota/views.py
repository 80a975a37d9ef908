"""Device endpoints. Bots authenticate with their device token (or a signed URL for the download), never a session."""

from __future__ import annotations

from flask import Response

from ..extensions import csrf_exempt, current_settings
from . import bp
from .device_auth import authenticate_device, authenticated_device
from .protocol import RangeNotSatisfiable, firmware_response, range_error_response, update_manifest
from .reports import parse_heartbeat, parse_status_report, record_heartbeat, record_status_report, report_body

bp.register_error_handler(RangeNotSatisfiable, range_error_response)


@bp.get("/<product_id>.ino.bin")
def firmware(product_id: str) -> Response:
    """The bot's target image for the stock HTTPUpdate client: 304, 200/206 with x-MD5, or a refusal."""
    return firmware_response(authenticate_device(product_id, allow_signed_url=True), current_settings())


@bp.get("/api/ota/<product_id>/check")
def check(product_id: str) -> dict:
    return update_manifest(authenticated_device(product_id), current_settings())


@bp.post("/api/ota/<product_id>/status")
@csrf_exempt  # device token in the Authorization header, which a cross-site form cannot send
def status(product_id: str) -> dict:
    device = authenticated_device(product_id)
    return record_status_report(device, parse_status_report(report_body()))


@bp.post("/api/devices/<product_id>/heartbeat")
@csrf_exempt
def heartbeat(product_id: str) -> dict:
    device = authenticated_device(product_id)
    return record_heartbeat(device, parse_heartbeat(report_body()), current_settings())

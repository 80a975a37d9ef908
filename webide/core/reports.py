"""What bots report: heartbeats (presence, the image they run, telemetry) and OTA status reports.

Device input is untrusted: reports are parsed strictly, so a malformed one is a 400 naming the field, and nothing is
stored from a report that is refused.
"""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass, field
from typing import Any

from ..config import Settings
from ..models import Device, iso, utcnow
from .deployments import DEVICE_STATUSES, apply_status_report, record_running_image
from .errors import BadRequest
from .events import announce, announce_to_class
from .firmware.identity import MD5_RE, SHA256_RE, ReportedImage, image_is
from .rules import optional_int, optional_str

MAX_SENSORS = 32
SENSOR_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,39}$")
MAC_RE = re.compile(r"^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$")
STANDARD_FIELDS = ("fw", "md5", "sha256", "heap", "uptime", "rssi", "ip", "mac", "rolled_back")
KEPT_TELEMETRY = (
    "outputs",
    "outputs_at",
    "live_link",
    "live_link_at",
)  # reported on the live link's status topic, not in heartbeats
MAX_COUNTER = 2**53  # beyond what a double (and so JavaScript) holds exactly


@dataclass(frozen=True)
class Heartbeat:
    image: ReportedImage
    heap: int | None = None
    uptime: int | None = None
    rssi: int | None = None
    ip: str | None = None
    mac: str | None = None
    rolled_back: bool = False
    sensors: dict[str, float | int] = field(default_factory=dict)

    def numeric_fields(self) -> dict[str, float | int]:
        """Every number the heartbeat carried (heap, uptime, RSSI, sensor readings): one sample of its series."""
        standard = {"heap": self.heap, "uptime": self.uptime, "rssi": self.rssi}
        return {**{k: v for k, v in standard.items() if v is not None}, **self.sensors}

    def telemetry(self) -> dict[str, Any]:
        values = {"heap": self.heap, "uptime": self.uptime, "rssi": self.rssi, "ip": self.ip, "mac": self.mac}
        return {**{k: v for k, v in values.items() if v is not None}, "sensors": self.sensors}


def ip_field(body: dict[str, Any]) -> str | None:
    value = optional_str(body, "ip", 45)
    if value is None:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise BadRequest("Field ip must be an IPv4 or IPv6 address") from None


def sensor_readings(body: dict[str, Any]) -> dict[str, float | int]:
    """Unknown numeric fields, kept as sensor readings (bounded); everything else unknown is ignored."""
    readings: dict[str, float | int] = {}
    for name, value in body.items():
        if len(readings) >= MAX_SENSORS:
            break
        if name in STANDARD_FIELDS or not SENSOR_NAME_RE.match(name):
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if isinstance(value, float) and not math.isfinite(value):
            continue
        if isinstance(value, int) and abs(value) > MAX_COUNTER:
            continue
        readings[name] = value
    return readings


def parse_heartbeat(body: dict[str, Any]) -> Heartbeat:
    """A validated heartbeat; raises BadRequest naming the first bad field."""
    md5, sha256 = optional_str(body, "md5", 32, MD5_RE), optional_str(body, "sha256", 64, SHA256_RE)
    rolled_back = body.get("rolled_back", False)
    if not isinstance(rolled_back, bool):
        raise BadRequest("Field rolled_back must be true or false")
    return Heartbeat(
        image=ReportedImage(
            md5=md5.lower() if md5 else None,
            sha256=sha256.lower() if sha256 else None,
            version=optional_str(body, "fw", 64),
        ),
        heap=optional_int(body, "heap", 0, MAX_COUNTER),
        uptime=optional_int(body, "uptime", 0, MAX_COUNTER),
        rssi=optional_int(body, "rssi", -200, 50),
        ip=ip_field(body),
        mac=optional_str(body, "mac", 17, MAC_RE),
        rolled_back=rolled_back,
        sensors=sensor_readings(body),
    )


def record_heartbeat(device: Device, heartbeat: Heartbeat, settings: Settings) -> dict[str, Any]:
    """Presence, the running image and telemetry; confirms or rolls back the deployment; answers the bot."""
    device.last_seen_at = utcnow()
    if heartbeat.image.version is not None:
        device.running_version = heartbeat.image.version
    kept = {key: value for key, value in (device.telemetry or {}).items() if key in KEPT_TELEMETRY}
    device.telemetry = {**kept, **heartbeat.telemetry(), "received_at": iso(device.last_seen_at)}
    target = device.target_artifact
    on_target = target is not None and image_is(target, heartbeat.image, settings)
    if heartbeat.image.known:
        record_running_image(
            device,
            heartbeat.image.md5,
            heartbeat.image.sha256,
            on_target,
            uptime_s=heartbeat.uptime,
            says_rolled_back=heartbeat.rolled_back,
        )
    elif target is not None:
        on_target = image_is(target, ReportedImage(device.running_md5, device.running_sha256), settings)
    announce_heartbeat(device, heartbeat)
    return {"success": True, "update_available": target is not None and not on_target}


def announce_heartbeat(device: Device, heartbeat: Heartbeat) -> None:
    announce(device.product_id, "device", online=True, last_seen=iso(device.last_seen_at))
    parts = [
        f"fw={heartbeat.image.version}" if heartbeat.image.version else None,
        f"md5={heartbeat.image.md5}" if heartbeat.image.md5 else None,
        *(f"{name}={value}" for name, value in heartbeat.telemetry().items() if name != "sensors"),
        *(f"{name}={value}" for name, value in heartbeat.sensors.items()),
    ]
    announce(device.product_id, "line", stream="device", text="heartbeat " + " ".join(p for p in parts if p))
    announce_to_class(
        device.classroom_id,
        device.product_id,
        "heartbeat",
        sample=heartbeat.numeric_fields(),
        last_seen=iso(device.last_seen_at),
        telemetry={name: device.telemetry.get(name) for name in ("heap", "uptime", "rssi", "received_at")},
        sensors=heartbeat.sensors,
        running={"md5": device.running_md5, "sha256": device.running_sha256, "version": device.running_version},
    )


@dataclass(frozen=True)
class StatusReport:
    status: str
    progress: int | None
    message: str


def parse_status_report(body: dict[str, Any]) -> StatusReport:
    status = optional_str(body, "status", 16)
    if status is None or status.upper() not in DEVICE_STATUSES:
        raise BadRequest(f"Field status must be one of {', '.join(DEVICE_STATUSES)}")
    return StatusReport(
        status=status.upper(),
        progress=optional_int(body, "progress", 0, 100),
        message=(optional_str(body, "message", 300) or "").strip(),
    )


def record_status_report(device: Device, report: StatusReport) -> dict[str, Any]:
    """Apply the agent's report to the current deployment and tell it where the flash stands now."""
    deployment = apply_status_report(device, report.status, report.progress, report.message)
    return {
        "success": True,
        "state": deployment.state if deployment else None,
        "progress": deployment.progress if deployment else None,
    }

"""A class's bots as an instructor manages them: moving, deleting, exporting, and the live overview of each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_, select

from ..config import Settings
from ..extensions import db
from ..models import Classroom, Device, iso
from .classes import check_open
from .csvfiles import csv_text
from .presenters import device_summary, with_summary_rows

ROSTER_EXPORT_COLUMNS = ("product_id", "name", "class", "fqbn", "blocked", "created_at", "last_seen")
MAX_SEARCH = 64
MAX_LISTED = 1000


def move_device(device: Device, target: Classroom) -> Classroom | None:
    """Put the bot in another class; neither class may be archived. Returns the class it left."""
    source = device.classroom
    check_open(source, "moving bots out of it")
    check_open(target, "moving bots into it")
    device.classroom = target
    return source


def delete_device(device: Device) -> None:
    """Delete the bot and everything that is only its own (sketch history, builds, deployments, tokens).

    The database cascades to those rows; firmware images stay, as other bots may share them (content-addressed).
    """
    check_open(device.classroom, "deleting bots")
    db.session.delete(device)


def class_devices(classroom: Classroom) -> list[Device]:
    query = with_summary_rows(select(Device).where(Device.classroom_id == classroom.id).order_by(Device.product_id))
    return list(db.session.scalars(query))


def roster_csv(devices: Sequence[Device]) -> str:
    """The roster as CSV (no passwords: only their hashes are stored); formula-like cells are quoted."""
    return csv_text(
        ROSTER_EXPORT_COLUMNS,
        [
            (
                d.product_id,
                d.name,
                d.class_name or "",
                d.fqbn,
                "yes" if d.blocked else "no",
                iso(d.created_at),
                iso(d.last_seen_at) or "",
            )
            for d in devices
        ],
    )


def search_devices(text: str | None, limit: int = MAX_LISTED) -> list[Device]:
    """Every bot (admins), optionally those whose product ID, name or class contains ``text``."""
    query = with_summary_rows(select(Device).outerjoin(Classroom).order_by(Device.product_id)).limit(limit)
    if text:
        pattern = "%" + text[:MAX_SEARCH].lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                Device.product_id.ilike(pattern, escape="\\"),
                Device.name.ilike(pattern, escape="\\"),
                Classroom.name.ilike(pattern, escape="\\"),
            )
        )
    return list(db.session.scalars(query))


def device_status(device: Device, settings: Settings) -> dict[str, Any]:
    """The bot's summary plus what its latest heartbeat said (heap, uptime, RSSI, address, sensor readings)."""
    telemetry = dict(device.telemetry or {})
    return {
        **device_summary(device, settings),
        "telemetry": {
            "heap": telemetry.get("heap"),
            "uptime": telemetry.get("uptime"),
            "rssi": telemetry.get("rssi"),
            "ip": telemetry.get("ip"),
            "mac": telemetry.get("mac"),
            "sensors": telemetry.get("sensors") or {},
            "outputs": telemetry.get("outputs") or {},
        },
    }

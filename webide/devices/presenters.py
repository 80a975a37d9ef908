"""How a bot is shown to API clients and pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import request
from sqlalchemy import select

from ..config import Settings
from ..extensions import db
from ..models import Deployment, Device, as_utc, iso, utcnow


def is_online(device: Device, settings: Settings) -> bool:
    last_seen = as_utc(device.last_seen_at)
    return last_seen is not None and utcnow() - last_seen <= timedelta(seconds=settings.device_offline_s)


def latest_deployment(device: Device) -> Deployment | None:
    return db.session.scalar(
        select(Deployment).where(Deployment.device_id == device.id).order_by(Deployment.id.desc()).limit(1))


def firmware_url(device: Device, settings: Settings) -> str:
    """The bot's static firmware URL, e.g. http://host:5000/bot_001.ino.bin."""
    base = settings.public_url or request.host_url
    return f"{base.rstrip('/')}/{device.product_id}.ino.bin"


def device_summary(device: Device, settings: Settings) -> dict[str, Any]:
    deployment = latest_deployment(device)
    target = device.target_artifact
    return {
        "product_id": device.product_id,
        "name": device.name,
        "fqbn": device.fqbn,
        "class_name": device.class_name,
        "blocked": device.blocked,
        "created_at": iso(device.created_at),
        "last_seen": iso(device.last_seen_at),
        "online": is_online(device, settings),
        "running": ({"md5": device.running_md5, "sha256": device.running_sha256, "version": device.running_version}
                    if device.running_md5 or device.running_sha256 else None),
        "target": ({"md5": target.md5, "sha256": target.sha256, "size": target.size,
                    "build_number": deployment.number if deployment else None} if target else None),
        "flash": ({"state": deployment.state, "progress": deployment.progress, "message": deployment.message}
                  if deployment else None),
        "firmware_url": firmware_url(device, settings),
    }

"""How bots, builds and sketch revisions are shown to API clients and pages (plain dicts, no HTTP)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import PurePath
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import selectinload

from ..config import Settings
from ..models import Artifact, Build, BuildStatus, Deployment, Device, as_utc, iso, utcnow
from .deployments import newest_deployment, newest_deployments
from .firmware.images import updates_over_the_air
from .firmware.store import artifact_store, download_name
from .firmware.urls import firmware_url
from .sketches import sketch_name
from .toolchain import available_boards, get_compiler


def is_online(device: Device, settings: Settings) -> bool:
    last_seen = as_utc(device.last_seen_at)
    return last_seen is not None and utcnow() - last_seen <= timedelta(seconds=settings.device_offline_s)


def with_summary_rows(query: Select) -> Select:
    """A bot query that loads everything :func:`device_summary` reads, so a list costs a constant number of queries."""
    return query.options(selectinload(Device.classroom), selectinload(Device.target_artifact))


def device_summaries(devices: Sequence[Device], settings: Settings) -> list[dict[str, Any]]:
    """Many bots at once: their newest deployments come in one query, not one per bot."""
    newest = newest_deployments([device.id for device in devices])
    return [device_summary(device, settings, newest.get(device.id)) for device in devices]


def device_summary(device: Device, settings: Settings, deployment: Deployment | bool | None = True) -> dict[str, Any]:
    """One bot as the API shows it; ``deployment`` is its newest deployment when the caller already has it."""
    if deployment is True:
        deployment = newest_deployment(device)
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
        "live_link": (device.telemetry or {}).get("live_link"),
        "running": (
            {"md5": device.running_md5, "sha256": device.running_sha256, "version": device.running_version}
            if device.running_md5 or device.running_sha256
            else None
        ),
        "target": (
            {
                "md5": target.md5,
                "sha256": target.sha256,
                "size": target.size,
                "build_number": deployment.number if deployment else None,
            }
            if target
            else None
        ),
        "flash": (
            {"state": deployment.state, "progress": deployment.progress, "message": deployment.message}
            if deployment
            else None
        ),
        "firmware_url": firmware_url(device, settings),
    }


def build_progress(build: Build) -> dict[str, Any]:
    """The OTA documentation's progress shape."""
    view: dict[str, Any] = {
        "success": True,
        "status": build.status,
        "progress": build.progress,
        "message": build.message,
    }
    if build.status == BuildStatus.ERROR.value:
        view["error"] = build.error or build.message
    return view


def build_firmware(build: Build, settings: Settings) -> dict[str, Any]:
    """Whether the build's board updates over the air (None when no installed toolchain knows it) and where its
    compiled firmware is downloaded; a board flashed over USB also names the file that download saves."""
    board = get_compiler(settings).board(build.fqbn)
    over_the_air = updates_over_the_air(board.mcu) if board is not None else None
    artifact = build.artifact
    return {
        "over_the_air": over_the_air,
        "firmware_url": f"/api/builds/{build.id}/firmware" if artifact is not None else None,
        "firmware_file": (
            firmware_file(build.device, artifact, settings) if artifact is not None and over_the_air is False else None
        ),
    }


def firmware_file(device: Device, artifact: Artifact, settings: Settings) -> str:
    """The name a build's firmware download saves under: ``<sketch>.ino.hex`` for AVR boards, else ``.ino.bin``."""
    stored = download_name(artifact_store(settings), artifact)
    return f"{sketch_name(device)}.ino{PurePath(stored).suffix}"


def build_detail(build: Build, settings: Settings, with_log: bool = True) -> dict[str, Any]:
    started, finished = as_utc(build.started_at), as_utc(build.finished_at)
    created = as_utc(build.created_at)
    detail = {
        **build_progress(build),
        "update_id": build.id,
        "product_id": build.device.product_id,
        "revision": build.revision,
        "fqbn": build.fqbn,
        "deploy": build.deploy,
        "diagnostics": build.diagnostics,
        "sizes": build.sizes,
        "cache_hit": build.cache_hit,
        "compiled_by": build.compiled_by,
        "artifact": (
            {"sha256": build.artifact.sha256, "md5": build.artifact.md5, "size": build.artifact.size}
            if build.artifact
            else None
        ),
        **build_firmware(build, settings),
        "timings": {
            "queued_s": (started - created).total_seconds() if started and created else None,
            "build_s": (finished - started).total_seconds() if finished and started else None,
        },
    }
    if with_log:
        detail["log"] = build.log
    return detail


def readable_time(moment: datetime | None) -> str:
    """A time as people read it on a page, to the minute in UTC ("2026-11-30 14:52 UTC"); pages turn it into
    "12 s ago" in the browser's own terms."""
    moment = as_utc(moment)
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


def board_names(settings: Settings) -> dict[str, str]:
    """Installed boards by FQBN, with the names people know them by ("ESP32 Dev Module")."""
    return {board.fqbn: board.name for board in available_boards(settings)}


def board_label(names: dict[str, str], fqbn: str) -> str:
    """A board's name, also for an FQBN with menu options ("arduino:avr:mega:cpu=atmega2560"); else the FQBN."""
    return names.get(fqbn) or names.get(":".join(fqbn.split(":")[:3])) or fqbn

"""The live class dashboard: each bot's presence, what it runs against its target and its sketch, its last compile,
its heartbeat telemetry; and the class error map (which compile errors how many students have right now).

Every list costs a constant number of queries, however many bots: the rows are assembled from a handful of
grouped queries (newest deployments, deployments of the running images, head revisions, latest compiles,
unfinished builds).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import load_only

from ..config import Settings
from ..extensions import current_event_log, db
from ..models import Artifact, Build, BuildStatus, Deployment, Device, SketchRevision
from .builds.status import building_view
from .deployments import newest_deployment_id
from .errormap import compile_view
from .presenters import device_summaries
from .toolchain import get_compiler

log = logging.getLogger(__name__)

TELEMETRY_FIELDS = ("heap", "uptime", "rssi", "ip", "mac", "received_at")


def latest_compiles(device_ids: list[int]) -> dict[int, Build]:
    """{bot id: its newest finished build} in one query (the stored logs are not loaded)."""
    if not device_ids:
        return {}
    newest = (
        select(Build.device_id, func.max(Build.finished_at).label("at"))
        .where(Build.device_id.in_(device_ids), Build.finished_at.is_not(None))
        .group_by(Build.device_id)
        .subquery()
    )
    query = (
        select(Build)
        .join(newest, and_(Build.device_id == newest.c.device_id, Build.finished_at == newest.c.at))
        .options(
            load_only(
                Build.id,
                Build.device_id,
                Build.revision,
                Build.deploy,
                Build.status,
                Build.message,
                Build.error,
                Build.diagnostics,
                Build.finished_at,
            )
        )
    )
    return {build.device_id: build for build in _scalars(query)}


def unfinished_builds(device_ids: list[int]) -> dict[int, Build]:
    """{bot id: its newest queued or compiling build} in one query."""
    if not device_ids:
        return {}
    unfinished = (BuildStatus.PENDING.value, BuildStatus.IN_PROGRESS.value)
    query = (
        select(Build)
        .where(Build.device_id.in_(device_ids), Build.status.in_(unfinished))
        .order_by(Build.created_at)
        .options(load_only(Build.id, Build.device_id, Build.status, Build.deploy, Build.message))
    )
    return {build.device_id: build for build in _scalars(query)}  # the newest wins


def head_revisions(device_ids: list[int]) -> dict[int, int]:
    if not device_ids:
        return {}
    query = (
        select(SketchRevision.device_id, func.max(SketchRevision.number))
        .where(SketchRevision.device_id.in_(device_ids))
        .group_by(SketchRevision.device_id)
    )
    return {device_id: number for device_id, number in _rows(query)}


@dataclass(frozen=True)
class DeployedImage:
    device_id: int
    deployment_id: int
    number: int
    revision: int | None
    md5: str
    sha256: str


def deployed_images(devices: Sequence[Device]) -> list[DeployedImage]:
    """Deployments that are a bot's newest or hold the image it reports running, with the revision each was built
    from; one query."""
    ids = [device.id for device in devices]
    md5s = [device.running_md5 for device in devices if device.running_md5]
    sha256s = [device.running_sha256 for device in devices if device.running_sha256]
    if not ids:
        return []
    query = (
        select(Deployment.device_id, Deployment.id, Deployment.number, Build.revision, Artifact.md5, Artifact.sha256)
        .join(Artifact, Artifact.id == Deployment.artifact_id)
        .outerjoin(Build, Build.id == Deployment.build_id)
        .where(
            Deployment.device_id.in_(ids),
            or_(
                Deployment.id == newest_deployment_id(Deployment.device_id),
                Artifact.md5.in_(md5s),
                Artifact.sha256.in_(sha256s),
            ),
        )
    )
    return [DeployedImage(*row) for row in _rows(query)]


def running_image(device: Device, images: list[DeployedImage]) -> DeployedImage | None:
    """The newest deployment of this bot whose image is the one it reports."""
    matches = [
        image
        for image in images
        if (device.running_sha256 and image.sha256 == device.running_sha256)
        or (device.running_md5 and image.md5 == device.running_md5)
    ]
    return max(matches, key=lambda image: image.number, default=None)


def board_names(devices: Sequence[Device], settings: Settings) -> dict[str, str]:
    """{fqbn: the board's human name} for the boards the bots use (the FQBN when no toolchain knows it)."""
    compiler = get_compiler(settings)
    names: dict[str, str] = {}
    for fqbn in {device.fqbn for device in devices}:
        board = compiler.board(fqbn)
        names[fqbn] = board.name if board else fqbn
    return names


def dashboard_rows(devices: Sequence[Device], settings: Settings) -> list[dict[str, Any]]:
    """Every bot with presence, firmware (running vs target vs sketch), last compile, flash state and telemetry."""
    ids = [device.id for device in devices]
    images = deployed_images(devices)
    newest_by_device = {image.device_id: image for image in images if image.deployment_id in _newest_ids(images)}
    heads = head_revisions(ids)
    compiles = latest_compiles(ids)
    building = unfinished_builds(ids)
    boards = board_names(devices, settings)
    rows = []
    for device, summary in zip(devices, device_summaries(devices, settings), strict=True):
        running = running_image(device, [image for image in images if image.device_id == device.id])
        target = newest_by_device.get(device.id)
        head = heads.get(device.id)
        build = compiles.get(device.id)
        telemetry = device.telemetry or {}
        rows.append(
            {
                **summary,
                "board_name": boards[device.fqbn],
                "head_revision": head,
                "running_build": {"number": running.number, "revision": running.revision} if running else None,
                "target_build": {"number": target.number, "revision": target.revision} if target else None,
                "edits_behind": edits_behind(head, running),
                "compile": compile_view(build) if build else None,
                "building": building_view(building[device.id]) if device.id in building else None,
                "telemetry": {name: telemetry.get(name) for name in TELEMETRY_FIELDS},
                "sensors": dict(telemetry.get("sensors") or {}),
            }
        )
    return rows


def _newest_ids(images: list[DeployedImage]) -> set[int]:
    newest: dict[int, DeployedImage] = {}
    for image in images:
        if image.device_id not in newest or image.number > newest[image.device_id].number:
            newest[image.device_id] = image
    return {image.deployment_id for image in newest.values()}


def edits_behind(head: int | None, running: DeployedImage | None) -> int | None:
    """Sketch revisions saved since the one that produced the running image (None: unknown)."""
    if head is None or running is None or running.revision is None:
        return None
    return max(0, head - running.revision)


def sensor_series(devices: Sequence[Device], newest: int, settings: Settings) -> dict[str, Any]:
    """Each bot's newest sensor samples ({ts, values}), oldest first; ``available`` is false while Redis is not."""
    event_log = current_event_log()
    product_ids = [device.product_id for device in devices]
    if event_log is None:
        return {"available": False, "series": {product_id: [] for product_id in product_ids}}
    try:
        series = event_log.series(product_ids, max(1, newest), settings.sensor_retention_s)
    except redis.exceptions.RedisError as error:
        log.warning("Sensor series unavailable: %s", error)
        return {"available": False, "series": {product_id: [] for product_id in product_ids}}
    return {"available": True, "series": series}


def _scalars(query: Any) -> Sequence[Any]:
    return db.session.scalars(query).all()


def _rows(query: Any) -> Sequence[Any]:
    return db.session.execute(query).all()

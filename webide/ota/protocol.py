"""The pull side of OTA: the static firmware URL and the update manifest, with Arduino-ESP32 HTTPUpdate semantics.

The stock client speaks HTTP/1.0, needs ``Content-Length`` (it cannot read chunked bodies), does not follow
redirects, treats ``304`` as "no update", checks that the body starts with 0xE9 and verifies ``x-MD5`` (lowercase
hex) after writing. It tells the server what it runs in ``x-ESP32-sketch-md5`` (core 3.x) or
``x-ESP32-sketch-sha256`` (core 2.x: the image's appended SHA-256 in uppercase hex), and how much room it has in
``x-ESP32-free-space``. Everything here needs only the database and the artifact store, never Redis or a worker.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, current_app, request
from sqlalchemy import Select, bindparam, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import joinedload

from ..config import Settings
from ..core.deployments import (
    FAILED,
    newest_deployment,
    newest_deployment_id,
    record_download_progress,
    set_flash_state,
)
from ..core.errors import BadRequest, Conflict, NotFound, RangeNotSatisfiable
from ..core.firmware.identity import (
    ImageDigests,
    ReportedImage,
    image_is,
    observe,
    reported_image,
)
from ..core.firmware.signing import ALGORITHM, stored_signature
from ..core.firmware.store import APP_IMAGE, ArtifactMissing, ObjectStream, artifact_key, artifact_store
from ..core.firmware.urls import firmware_url, signed_query
from ..core.metrics import FIRMWARE_BYTES, FIRMWARE_DOWNLOADS, FIRMWARE_NOT_MODIFIED
from ..core.ota_updates import release_of
from ..core.releases import blocked_release_of
from ..errors import error_response
from ..extensions import db
from ..models import Artifact, Deployment, Device
from .device_auth import DeviceState

log = logging.getLogger(__name__)

RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")
# Download progress is written at most every PROGRESS_STEP percent and PROGRESS_MIN_INTERVAL_S seconds.
PROGRESS_STEP = 5
PROGRESS_MIN_INTERVAL_S = 2.0


class InsufficientSpace(Conflict):
    """The image does not fit the bot's free sketch space."""


@dataclass(frozen=True)
class ByteRange:
    start: int
    stop: int  # exclusive

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.stop - 1}/{size}"


def request_image() -> ReportedImage:
    """Headers first (what HTTPUpdate sends), then ``?md5=``/``?sha256=``/``?version=`` for manifest clients."""
    from_headers = reported_image(request.headers)
    if from_headers.known:
        return from_headers
    return reported_image(request.args, prefix="")


def etag_of(image: ImageDigests) -> str:
    return f'"{image.sha256}"'


def firmware_response(state: DeviceState, settings: Settings) -> Response:
    """Answer a pull of the bot's static URL: 304, 200 or 206 with the target image, or a clear refusal.

    A bot that is already known to run its target gets its 304 from the single query that authenticated it;
    everything else loads the rows it changes.
    """
    if state.target is None:
        raise NotFound("No firmware for this bot yet: press Upload in the editor first")
    etag = etag_of(state.target)
    reported = request_image()
    if state.confirmed() and image_is(state.target, reported, settings):
        return not_modified(etag)
    device = db.session.get_one(Device, state.id, options=[joinedload(Device.target_artifact)])
    if observe(device, reported, settings) or etag in request.headers.get("If-None-Match", ""):
        return not_modified(etag)
    artifact = device.target_artifact
    refuse_if_blocked(artifact)
    if request.headers.get("x-ESP32-mode", "sketch").lower() != "sketch":
        raise BadRequest("Only sketch updates are served here (x-ESP32-mode: sketch)")
    deployment = newest_deployment(device)
    refuse_if_too_large(device, deployment, artifact, request.headers.get("x-ESP32-free-space"))
    byte_range = requested_range(request.headers.get("Range"), request.headers.get("If-Range"), etag, artifact.size)
    headers = firmware_headers(device, artifact, etag)
    if settings.x_accel_redirect_prefix:
        return accelerated_response(device, deployment, artifact, headers, settings.x_accel_redirect_prefix)
    return streamed_response(device, deployment, artifact, headers, byte_range, settings)


def not_modified(etag: str) -> Response:
    FIRMWARE_NOT_MODIFIED.inc()
    return Response(status=304, headers={"ETag": etag, "Cache-Control": "no-cache"})


def refuse_if_blocked(artifact: Artifact) -> None:
    """A blocked release's image is never served again (one indexed query, only when bytes would be sent)."""
    blocked = blocked_release_of(artifact)
    if blocked is not None:
        raise Conflict(
            f"Firmware {blocked.version} is blocked and is not served: {blocked.blocked_reason or 'no reason given'}"
        )


def refuse_if_too_large(
    device: Device, deployment: Deployment | None, artifact: Artifact, free_space: str | None
) -> None:
    """The stock client gives up on a too-large image only after the headers; say why before sending a byte."""
    if free_space is None or not free_space.strip().isdigit() or artifact.size <= int(free_space):
        return
    reason = (
        f"the firmware is {artifact.size} bytes but the bot has only {int(free_space)} bytes of free "
        "sketch space; choose a partition scheme with a larger app partition"
    )
    if deployment is not None and deployment.artifact_id == artifact.id:
        set_flash_state(device, deployment, FAILED, message=reason)
    raise InsufficientSpace(f"Firmware does not fit: {reason}")


def requested_range(header: str | None, if_range: str | None, etag: str, size: int) -> ByteRange | None:
    """The single byte range asked for, or None for the whole image.

    A ``Range`` whose ``If-Range`` names another ETag is ignored, so a client resuming a download of an image that
    has since been replaced gets the new image whole instead of a mix of both. Multiple ranges and malformed headers
    are ignored as RFC 9110 allows; a well-formed range outside the image is a 416.
    """
    if not header or (if_range is not None and if_range.strip() != etag):
        return None
    match = RANGE_RE.match(header.strip())
    if match is None or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":
        length = int(last)
        if length == 0:
            raise unsatisfiable(size)
        return ByteRange(max(0, size - length), size)
    start = int(first)
    stop = size if last == "" else min(int(last) + 1, size)
    if start >= size or stop <= start:
        raise unsatisfiable(size)
    return ByteRange(start, stop)


def unsatisfiable(size: int) -> RangeNotSatisfiable:
    return RangeNotSatisfiable(f"Requested range is outside the {size}-byte image", content_range=f"bytes */{size}")


def range_error_response(error: RangeNotSatisfiable) -> Response:
    return error_response(error.status, error.message, {"Content-Range": str(error.extra["content_range"])})


def firmware_headers(device: Device, artifact: Artifact, etag: str) -> dict[str, str]:
    signature = stored_signature(artifact.id)
    signed = {"x-Signature": signature, "x-Signature-Algorithm": ALGORITHM} if signature else {}
    return {
        **signed,
        "Content-Type": "application/octet-stream",
        "Content-Disposition": f'attachment; filename="{device.product_id}.ino.bin"',
        "x-MD5": artifact.md5,
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Cache-Control": "no-cache",
    }


def accelerated_response(
    device: Device, deployment: Deployment | None, artifact: Artifact, headers: dict[str, str], prefix: str
) -> Response:
    """Hand the bytes to nginx (X-Accel-Redirect): it does ranges and sendfile; progress is not measured then."""
    if deployment is not None and deployment.artifact_id == artifact.id:
        record_download_progress(device, deployment, 0, finished=False)
    location = f"{prefix.rstrip('/')}/{artifact_key(artifact.sha256, APP_IMAGE)}"
    if request.method != "HEAD":
        FIRMWARE_DOWNLOADS.labels("nginx").inc()
        FIRMWARE_BYTES.inc(artifact.size)
    headers = {name: value for name, value in headers.items() if name != "Accept-Ranges"}
    return Response(status=200, headers={**headers, "X-Accel-Redirect": location})


def streamed_response(
    device: Device,
    deployment: Deployment | None,
    artifact: Artifact,
    headers: dict[str, str],
    byte_range: ByteRange | None,
    settings: Settings,
) -> Response:
    whole = byte_range or ByteRange(0, artifact.size)
    stream = opened_image(device, artifact, whole, settings)
    tracked = deployment if deployment is not None and deployment.artifact_id == artifact.id else None
    meter = DownloadMeter(
        current_app._get_current_object(),  # type: ignore[attr-defined]
        tracked.id if tracked else None,
        artifact.size,
        whole.start,
    )
    if tracked is not None and request.method != "HEAD":
        record_download_progress(device, tracked, meter.written_percent, finished=False)
    if request.method != "HEAD":
        FIRMWARE_DOWNLOADS.labels("partial" if byte_range else "full").inc()
    headers = {**headers, "Content-Length": str(whole.stop - whole.start)}
    if byte_range is not None:
        headers["Content-Range"] = byte_range.content_range(artifact.size)
    response = Response(
        metered_chunks(stream, whole, meter),
        status=206 if byte_range else 200,
        headers=headers,
        direct_passthrough=True,
    )
    response.call_on_close(stream.close)  # also when the body is never read (HEAD) or the bot hangs up
    return response


def opened_image(device: Device, artifact: Artifact, whole: ByteRange, settings: Settings) -> ObjectStream:
    """The part of the image to send, opened before any header goes out so that a missing file is a clear 404."""
    try:
        return artifact_store(settings).read(artifact.sha256, APP_IMAGE, whole.start, whole.stop)
    except ArtifactMissing:
        log.error("Artifact %s of %s is missing from the artifact store", artifact.sha256, device.product_id)
        raise NotFound("The firmware file is missing on the server; upload again") from None


def metered_chunks(stream: ObjectStream, byte_range: ByteRange, meter: DownloadMeter) -> Iterator[bytes]:
    position = byte_range.start
    for chunk in stream:
        yield chunk
        position += len(chunk)  # counted once the server has handed the chunk to the socket
        FIRMWARE_BYTES.inc(len(chunk))
        meter.advanced(position)


def still_current_query() -> Select:
    return (
        select(Device, Deployment)
        .join(Deployment, Deployment.device_id == Device.id)
        .where(
            Deployment.id == bindparam("deployment_id"),
            Deployment.id == newest_deployment_id(Device.id),
            Device.target_artifact_id == Deployment.artifact_id,
        )
    )


# A download that began before the next Upload must move neither deployment: the old one's flash lines would tell
# the student a superseded build is being installed. Built once: it runs for every download.
STILL_CURRENT_QUERY = still_current_query()


class DownloadMeter:
    """Turns bytes sent into ``downloading n%`` and ``rebooting``, writing to the database only now and then.

    The body is sent after the request's context has ended (and its database connection went back to the pool),
    so each write opens a short application context of its own.
    """

    def __init__(self, app: Flask, deployment_id: int | None, size: int, start: int):
        self.app = app
        self.deployment_id, self.size = deployment_id, size
        self.written_percent = self.percent(start)  # the view records the start
        self.written_at = time.monotonic()

    def advanced(self, position: int) -> None:
        percent = self.percent(position)
        if position >= self.size:
            self.write(100, finished=True)
        elif (
            percent >= self.written_percent + PROGRESS_STEP
            and time.monotonic() - self.written_at >= PROGRESS_MIN_INTERVAL_S
        ):
            self.write(percent, finished=False)

    def percent(self, position: int) -> int:
        return position * 100 // self.size if self.size else 100

    def write(self, percent: int, finished: bool) -> None:
        if self.deployment_id is None:
            return
        self.written_percent, self.written_at = percent, time.monotonic()
        with self.app.app_context():
            try:
                rows = db.session.execute(STILL_CURRENT_QUERY, {"deployment_id": self.deployment_id}).first()
                if rows is not None:
                    record_download_progress(rows[0], rows[1], percent, finished)
                    db.session.commit()
            except SQLAlchemyError as error:  # a full disk must not cut the bot's download short
                db.session.rollback()
                log.warning("Download progress of deployment %s not recorded: %s", self.deployment_id, error)


def target_version(artifact_id: int, deployment: Deployment | None) -> str | None:
    """The release version of the target image, else the number of the deployment that made it the target."""
    release = release_of(artifact_id)
    if release is not None:
        return release.version
    return str(deployment.number) if deployment else None


def update_manifest(device: Device, settings: Settings) -> dict[str, Any]:
    """The check endpoint's answer: is there an update, and where and what it is."""
    reported = request_image()
    on_target = observe(device, reported, settings)
    target = device.target_artifact
    current_version = reported.version or device.running_version
    if target is None:
        return {
            "updateAvailable": False,
            "latestVersion": None,
            "currentVersion": current_version,
            "url": None,
            "md5": None,
            "sha256": None,
            "size": None,
            "signature": None,
        }
    if not reported.known:
        on_target = image_is(target, ReportedImage(device.running_md5, device.running_sha256), settings)
    deployment = newest_deployment(device)
    url = f"{firmware_url(device, settings)}?{signed_query(device, target, settings.signed_url_ttl_s)}"
    return {
        "updateAvailable": not on_target and blocked_release_of(target) is None,
        "latestVersion": target_version(target.id, deployment),
        "currentVersion": current_version,
        "url": url,
        "md5": target.md5,
        "sha256": target.sha256,
        "size": target.size,
        "signature": stored_signature(target.id),
    }

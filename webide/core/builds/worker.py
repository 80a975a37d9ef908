"""The worker side of builds: take a slot, compile in the sandbox, record the result, publish and deploy.

Each step of a running build is its own transaction, so the web side sees it start, stay alive and end.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import redis
from sqlalchemy import func, select, update

from compiler import BuildResult, CompilerError

from ...extensions import current_settings, db
from ...models import Build, utcnow
from ..deployments import deploy_artifact, newest_deployment
from ..events import announce, publish
from ..firmware.images import ImageRejected, check_app_image, updates_over_the_air
from ..firmware.signing import sign_image
from ..firmware.store import APP_IMAGE, artifact_store, publish_artifact
from ..presenters import build_firmware
from ..sketches import revision, sketch_files, sketch_name
from ..toolchain import get_compiler
from .status import COMPLETE, ERROR, IN_PROGRESS, PENDING, announce_progress, end_build, waiting_followers

log = logging.getLogger(__name__)

MAX_STORED_LOG = 1024 * 1024
HEARTBEAT_EVERY_S = 2.0
STORED_ARTIFACTS = {
    "app_bin": APP_IMAGE,
    "elf": "firmware.elf",
    "hex": "firmware.hex",
    "partitions_bin": "partitions.bin",
    "bootloader_bin": "bootloader.bin",
    "merged_bin": "merged.bin",
}


def try_start(build: Build, slots: redis.Redis) -> bool:
    """Move a pending build to in_progress if the bot, its class and the service have a free slot.

    A short Redis lock makes the check-then-start atomic across all workers on all machines. False means: retry.
    """
    config = current_settings()
    with slots.lock("webide:build-slots", timeout=10, blocking_timeout=10):
        db.session.refresh(build)
        if build.status != PENDING:
            return True  # superseded or cancelled meanwhile: nothing to start, nothing to wait for
        running = select(func.count()).select_from(Build).where(Build.status == IN_PROGRESS)
        if db.session.scalar(running.where(Build.device_id == build.device_id)):
            return False
        if (db.session.scalar(running) or 0) >= config.builds_global_limit:
            return False
        if (
            build.classroom_id is not None
            and (db.session.scalar(running.where(Build.classroom_id == build.classroom_id)) or 0)
            >= config.builds_per_class_limit
        ):
            return False
        build.status, build.progress, build.message = IN_PROGRESS, 5, "Compiling…"
        build.started_at = build.heartbeat_at = utcnow()
        announce_progress(build)
        start_followers(build)
        db.session.commit()
    return True


class BuildMonitor:
    """Streams a running build's lines to its room, keeps its heartbeat fresh and notices cancellation."""

    def __init__(self, build: Build):
        self.build_id = build.id
        self.product_id = build.device.product_id
        # a class flash's other bots watch this compile too, each in its own room under its own build
        self.rooms = [(self.product_id, build.id)] + [(f.device.product_id, f.id) for f in waiting_followers(build)]
        self.last_beat = time.monotonic()
        self.cancelled = False

    def on_line(self, line: str) -> None:
        for product_id, update_id in self.rooms:
            publish(product_id, "line", update_id=update_id, stream="compile", text=line)

    def should_cancel(self) -> bool:
        if time.monotonic() - self.last_beat < HEARTBEAT_EVERY_S and not self.cancelled:
            return False
        self.last_beat = time.monotonic()
        db.session.execute(update(Build).where(Build.id == self.build_id).values(heartbeat_at=utcnow()))
        db.session.commit()
        self.cancelled = bool(db.session.scalar(select(Build.cancel_requested).where(Build.id == self.build_id)))
        return self.cancelled


def run_started_build(build: Build) -> None:
    """Run an in-progress build to its end; every outcome is recorded, none escapes as an exception."""
    monitor = BuildMonitor(build)
    try:
        files = sketch_files(revision(build.device, build.revision))
        result = get_compiler(current_settings()).build(
            sketch_name(build.device), files, build.fqbn, on_line=monitor.on_line, should_cancel=monitor.should_cancel
        )
    except CompilerError as error:
        end_build(build, ERROR, str(error), error=str(error))
    except Exception:
        log.exception("Build %s failed unexpectedly", build.id)
        db.session.rollback()
        end_build(build, ERROR, "Internal error while compiling", error="internal error")
    else:
        record_result(build, result)
        publish_result(build, result)
    announce(build.device.product_id, "result", **result_event(build))
    settle_followers(build)
    db.session.commit()


def start_followers(build: Build) -> None:
    """The bots sharing this compile see it start, with the bot it runs for."""
    followers = waiting_followers(build)
    for follower in followers:
        follower.status, follower.progress = IN_PROGRESS, 5
        follower.message = f"Compiling once for {len(followers) + 1} bots (on {build.device.product_id})"
        follower.started_at = utcnow()  # no heartbeat of its own: the compiling build's worker keeps that one
        announce_progress(follower)


def settle_followers(build: Build) -> None:
    """Give every bot that shared this compile its outcome: the same log, diagnostics and image, deployed to it."""
    leader_deployment = newest_deployment(build.device)
    deployed = leader_deployment is not None and leader_deployment.build_id == build.id  # not for USB-only boards
    for follower in db.session.scalars(select(Build).where(Build.compiled_by == build.id)):
        follower.diagnostics, follower.sizes, follower.log = build.diagnostics, build.sizes, build.log
        follower.cache_hit = build.cache_hit
        if not follower.finished and build.status == COMPLETE:
            follower.artifact = build.artifact
            if follower.deploy and deployed and build.artifact is not None:
                deploy_artifact(follower.device, build.artifact, follower.id)
            end_build(follower, COMPLETE, f"{build.message} (compiled once on {build.device.product_id})")
        elif not follower.finished:
            end_build(follower, ERROR, build.message, error=build.error)
        announce(follower.device.product_id, "result", **result_event(follower))


def record_result(build: Build, result: BuildResult) -> None:
    """Store what the compiler said."""
    build.diagnostics = [d.to_dict() for d in result.diagnostics]
    build.sizes = result.sizes
    build.cache_hit = result.cache_hit
    build.log = result.log[-MAX_STORED_LOG:]


def publish_result(build: Build, result: BuildResult) -> None:
    """A successful build's image goes to the artifact store (and becomes the bot's target on Upload)."""
    if result.status != "success":
        end_build(build, ERROR, result.message, error=result.status)
        return
    files = {STORED_ARTIFACTS[kind]: path for kind, path in result.artifacts.items() if kind in STORED_ARTIFACTS}
    try:
        check_app_image(build.fqbn, files[APP_IMAGE], result.mcu)
    except ImageRejected as error:
        end_build(build, ERROR, f"The compiler produced an invalid firmware image: {error}", error="invalid image")
        return
    build.artifact = publish_artifact(artifact_store(current_settings()), build.fqbn, files)
    sign_image(build.artifact, current_settings())
    if build.deploy and not updates_over_the_air(result.mcu):
        end_build(
            build,
            COMPLETE,
            f"This board cannot update over the air: download the compiled firmware from "
            f"/api/builds/{build.id}/firmware and flash it over USB. {size_summary(result)}",
        )
        return
    if build.deploy:
        deploy_artifact(build.device, build.artifact, build.id)
    end_build(build, COMPLETE, size_summary(result) or "Done")


def size_summary(result: BuildResult) -> str:
    """Arduino's words: "Sketch uses N bytes (P%) of program storage space"."""
    sizes = result.sizes or {}
    if "flash_bytes" not in sizes:
        return "Done compiling" + (" (from cache)" if result.cache_hit else "")
    percent = sizes.get("flash_percent")
    whole = math.floor(percent) if isinstance(percent, int | float) else "?"  # cut off, as the Arduino tools print it
    return f"Sketch uses {sizes['flash_bytes']} bytes ({whole}%) of program storage space" + (
        " (from cache)" if result.cache_hit else ""
    )


def result_event(build: Build) -> dict[str, Any]:
    return {
        **build_firmware(build, current_settings()),
        "update_id": build.id,
        "revision": build.revision,
        "status": build.status,
        "message": build.message,
        "diagnostics": build.diagnostics,
        "sizes": build.sizes,
        "deploy": build.deploy,
    }

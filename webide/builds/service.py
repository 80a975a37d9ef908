"""The build pipeline around the compiler: submitting, queue fairness, progress, cancellation, recording results."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

import redis
from flask import current_app
from sqlalchemy import func, select, update

from compiler import BuildResult, SketchError, SketchFile

from ..errors import BadRequest, NotFound, ServiceUnavailable, TooLarge
from ..extensions import current_settings, db
from ..models import Build, BuildStatus, Device, as_utc, utcnow
from ..realtime.events import publish
from .toolchain import get_compiler

log = logging.getLogger(__name__)

PENDING, IN_PROGRESS = BuildStatus.PENDING.value, BuildStatus.IN_PROGRESS.value
COMPLETE, ERROR = BuildStatus.COMPLETE.value, BuildStatus.ERROR.value
MAX_STORED_LOG = 1024 * 1024
HEARTBEAT_EVERY_S = 2.0



def check_buildable(sketch_name: str, files: list[SketchFile], fqbn: str) -> None:
    """Refuse what the compiler would refuse, before anything is queued."""
    limit = current_settings().sketch_max_bytes
    total = sum(len(f.content.encode()) for f in files)
    if total > limit:
        raise TooLarge(f"The sketch is {total} bytes; the limit is {limit} bytes")
    compiler = get_compiler(current_settings())
    try:
        compiler.validate(sketch_name, files)
    except SketchError as error:
        raise BadRequest("; ".join(error.problems), problems=error.problems) from None
    installed = [board.fqbn for board in compiler.boards()]
    if fqbn not in installed:
        raise BadRequest(f"No installed toolchain can build {fqbn!r}. Installed boards: "
                         f"{', '.join(installed) or 'none'}")


def queue_build(device: Device, revision: int, fqbn: str, deploy: bool, requested_by: str) -> Build:
    """Record a pending build, supersede this bot's queued ones, and hand it to a worker (503 if Redis is down)."""
    ensure_queue_reachable()
    expire_stale_builds()
    superseded = db.session.scalars(select(Build).where(Build.device_id == device.id, Build.status == PENDING)).all()
    for old in superseded:
        finish(old, ERROR, "Superseded by a newer request", error="superseded")
    build = Build(device_id=device.id, classroom_id=device.classroom_id, revision=revision, fqbn=fqbn, deploy=deploy,
                  requested_by=requested_by, status=PENDING, progress=0, message="Queued")
    db.session.add(build)
    db.session.commit()
    from .tasks import run_build

    try:
        run_build.apply_async(args=[build.id], retry=False)
    except Exception as error:  # kombu wraps the Redis error in its own types
        finish(build, ERROR, "The build queue is unavailable", error=str(error))
        raise ServiceUnavailable("The build queue is unavailable right now; try again shortly") from None
    publish_progress(build)
    return build


def ensure_queue_reachable() -> None:
    """Fail fast with 503 rather than after the broker client's own connection timeouts."""
    event_log = current_app.extensions.get("webide_events")
    try:
        if event_log is None or not event_log.redis.ping():
            raise ServiceUnavailable("The build queue is not configured (REDIS_URL)")
    except redis.exceptions.RedisError:
        raise ServiceUnavailable("The build queue is unavailable right now; try again shortly") from None


def publish_progress(build: Build) -> None:
    publish(build.device.product_id, "progress", update_id=build.id, status=build.status, progress=build.progress,
            message=build.message, deploy=build.deploy)


def finish(build: Build, status: str, message: str, error: str | None = None) -> None:
    build.status = status
    build.message = message[:300]
    build.error = error
    build.progress = 100
    build.finished_at = utcnow()
    db.session.commit()
    publish_progress(build)


def request_cancel(build: Build) -> None:
    """Cancel at once if still queued; a running build is killed by its worker within a fraction of a second."""
    if build.finished:
        raise BadRequest(f"Build {build.id} has already finished ({build.status})")
    if build.status == PENDING:
        finish(build, ERROR, "Cancelled", error="cancelled")
        return
    db.session.execute(update(Build).where(Build.id == build.id).values(cancel_requested=True))
    db.session.commit()


def expire_stale_builds() -> int:
    """Mark running builds whose worker has gone silent as failed, so none stays `in_progress` forever."""
    cutoff = utcnow() - timedelta(seconds=current_settings().build_stale_s)
    stale = db.session.scalars(select(Build).where(Build.status == IN_PROGRESS, Build.heartbeat_at < cutoff)).all()
    for build in stale:
        finish(build, ERROR, "The build worker stopped unexpectedly; press Verify or Upload again",
               error="worker lost")
    return len(stale)


def fail_interrupted_builds() -> None:
    """At start with a fresh queue: builds left pending or running by the previous run can never finish."""
    for build in db.session.scalars(select(Build).where(Build.status.in_((PENDING, IN_PROGRESS)))).all():
        finish(build, ERROR, "Interrupted by a server restart; press Verify or Upload again", error="restart")


def build_or_404(update_id: str) -> Build:
    build = db.session.get(Build, update_id) if len(update_id) <= 32 else None
    if build is None:
        raise NotFound(f"No build {update_id!r}")
    return build


def try_start(build: Build, slots: redis.Redis) -> bool:
    """Move a pending build to in_progress if the bot, its class and the service have a free slot.

    A short Redis lock makes the check-then-start atomic across all workers on all machines.
    """
    config = current_settings()
    with slots.lock("webide:build-slots", timeout=10, blocking_timeout=10):
        db.session.refresh(build)
        if build.status != PENDING:
            return True  # superseded or cancelled meanwhile: nothing to start, nothing to wait for
        running = select(func.count()).select_from(Build).where(Build.status == IN_PROGRESS)
        if db.session.scalar(running.where(Build.device_id == build.device_id)):
            return False
        if db.session.scalar(running) >= config.builds_global_limit:
            return False
        if build.classroom_id is not None and db.session.scalar(
                running.where(Build.classroom_id == build.classroom_id)) >= config.builds_per_class_limit:
            return False
        build.status, build.progress, build.message = IN_PROGRESS, 5, "Compiling…"
        build.started_at = build.heartbeat_at = utcnow()
        db.session.commit()
    publish_progress(build)
    return True


class BuildMonitor:
    """Streams a running build's lines to its room, keeps its heartbeat fresh and notices cancellation."""

    def __init__(self, build: Build):
        self.build_id = build.id
        self.product_id = build.device.product_id
        self.last_beat = time.monotonic()
        self.cancelled = False

    def on_line(self, line: str) -> None:
        publish(self.product_id, "line", update_id=self.build_id, stream="compile", text=line)

    def should_cancel(self) -> bool:
        if time.monotonic() - self.last_beat < HEARTBEAT_EVERY_S and not self.cancelled:
            return False
        self.last_beat = time.monotonic()
        db.session.execute(update(Build).where(Build.id == self.build_id).values(heartbeat_at=utcnow()))
        db.session.commit()
        self.cancelled = bool(db.session.scalar(select(Build.cancel_requested).where(Build.id == self.build_id)))
        return self.cancelled


def record_result(build: Build, result: BuildResult) -> None:
    """Store what the compiler said; publishing the binary is the caller's next step."""
    build.diagnostics = [d.to_dict() for d in result.diagnostics]
    build.sizes = result.sizes
    build.cache_hit = result.cache_hit
    build.log = result.log[-MAX_STORED_LOG:]
    db.session.commit()


def result_event(build: Build) -> dict[str, Any]:
    return {"update_id": build.id, "status": build.status, "message": build.message,
            "diagnostics": build.diagnostics, "sizes": build.sizes, "deploy": build.deploy}


def progress_view(build: Build) -> dict[str, Any]:
    """The OTA documentation's progress shape."""
    view = {"success": True, "status": build.status, "progress": build.progress, "message": build.message}
    if build.status == ERROR:
        view["error"] = build.error or build.message
    return view


def detail_view(build: Build) -> dict[str, Any]:
    started, finished = as_utc(build.started_at), as_utc(build.finished_at)
    created = as_utc(build.created_at)
    return {
        **progress_view(build),
        "update_id": build.id,
        "product_id": build.device.product_id,
        "revision": build.revision,
        "fqbn": build.fqbn,
        "deploy": build.deploy,
        "diagnostics": build.diagnostics,
        "sizes": build.sizes,
        "cache_hit": build.cache_hit,
        "artifact": ({"sha256": build.artifact.sha256, "md5": build.artifact.md5, "size": build.artifact.size}
                     if build.artifact else None),
        "timings": {
            "queued_s": (started - created).total_seconds() if started and created else None,
            "build_s": (finished - started).total_seconds() if finished and started else None,
        },
        "log": build.log,
    }

"""The web side of builds: checking the queue, recording a request, handing it to a worker, cancelling it.

Tasks are enqueued by name, so this module never imports the worker code.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import redis
from sqlalchemy import select, update

from ...extensions import current_celery, current_event_log, current_settings, db
from ...models import Build, Device, utcnow
from ..errors import BadRequest, Conflict, NotFound, ServiceUnavailable
from ..toolchain import get_compiler
from .status import ERROR, IN_PROGRESS, PENDING, announce_progress, end_build

log = logging.getLogger(__name__)

RUN_BUILD_TASK = "webide.run_build"
QUEUE_DOWN = "The build queue is unavailable right now; try again shortly"


def ensure_queue_reachable() -> None:
    """Fail fast with 503 rather than after the broker client's own connection timeouts."""
    event_log = current_event_log()
    try:
        if event_log is None or not event_log.redis.ping():
            raise ServiceUnavailable("The build queue is not configured (REDIS_URL)")
    except redis.exceptions.RedisError:
        raise ServiceUnavailable(QUEUE_DOWN) from None


def queue_build(device: Device, revision: int, fqbn: str, deploy: bool, requested_by: str) -> Build:
    """Record a pending build and supersede this bot's queued ones; :func:`dispatch` it after the commit.

    An archived class is read-only: its bots may Verify but not Upload.
    """
    if deploy and device.classroom is not None and device.classroom.archived:
        raise Conflict(
            f"Class {device.classroom.name!r} is archived, so Upload is turned off; ask your instructor "
            f"to restore the class (Verify still works)"
        )
    superseded = db.session.scalars(select(Build).where(Build.device_id == device.id, Build.status == PENDING))
    for old in superseded:
        end_build(old, ERROR, "Superseded by a newer request", error="superseded")
    build = Build(
        device=device,
        classroom_id=device.classroom_id,
        revision=revision,
        fqbn=fqbn,
        deploy=deploy,
        requested_by=requested_by,
        status=PENDING,
        progress=0,
        message="Queued",
    )
    db.session.add(build)
    db.session.flush()
    announce_progress(build)
    return build


def dispatch(builds: list[Build]) -> None:
    """Hand committed builds to the workers; if the broker fails, the ones not handed over fail (503)."""
    celery = current_celery()
    for index, build in enumerate(builds):
        try:
            celery.send_task(RUN_BUILD_TASK, args=[build.id], retry=False)
        except Exception as error:  # kombu wraps the Redis error in its own types
            log.warning("Could not queue build %s: %s", build.id, error)
            for lost in builds[index:]:
                end_build(lost, ERROR, "The build queue is unavailable", error=str(error))
            db.session.commit()
            raise ServiceUnavailable(QUEUE_DOWN) from None


def request_cancel(build: Build) -> None:
    """Cancel at once if still queued; a running build is killed by its worker within a fraction of a second."""
    if build.finished:
        raise BadRequest(f"Build {build.id} has already finished ({build.status})")
    if build.status == PENDING:
        end_build(build, ERROR, "Cancelled", error="cancelled")
        return
    db.session.execute(update(Build).where(Build.id == build.id).values(cancel_requested=True))


def expire_stale_builds() -> int:
    """Fail running builds whose worker has gone silent, so none stays `in_progress` forever.

    A lost build leaves its work folder behind (its worker died mid-build), so the compiler then sweeps the folders
    no live build holds.
    """
    settings = current_settings()
    cutoff = utcnow() - timedelta(seconds=settings.build_stale_s)
    stale = db.session.scalars(select(Build).where(Build.status == IN_PROGRESS, Build.heartbeat_at < cutoff)).all()
    for build in stale:
        end_build(
            build, ERROR, "The build worker stopped unexpectedly; press Verify or Upload again", error="worker lost"
        )
    if stale:
        get_compiler(settings).sweep_orphans()
    return len(stale)


def fail_interrupted_builds() -> None:
    """At start with a fresh queue: builds left pending or running by the previous run can never finish."""
    for build in db.session.scalars(select(Build).where(Build.status.in_((PENDING, IN_PROGRESS)))).all():
        end_build(build, ERROR, "Interrupted by a server restart; press Verify or Upload again", error="restart")


def build_or_404(update_id: str) -> Build:
    build = db.session.get(Build, update_id) if len(update_id) <= 32 else None
    if build is None:
        raise NotFound(f"No build {update_id!r}")
    return build

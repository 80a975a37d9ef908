"""Celery tasks and the worker's housekeeping: thin wrappers that load rows by id and call the domain layer."""

from __future__ import annotations

import logging
import threading
import time

from celery import shared_task
from flask import Flask

from .core.audit import purge_expired
from .core.builds.queue import RUN_BUILD_TASK, expire_stale_builds
from .core.builds.status import IN_PROGRESS, PENDING
from .core.builds.worker import run_started_build, try_start
from .core.linkstatus import tell_if_the_bridge_fell_silent
from .core.rollouts import advance_rollouts
from .extensions import current_event_log, current_settings, db
from .models import Build

log = logging.getLogger(__name__)

RETRY_WHEN_BUSY_S = 1


@shared_task(bind=True, name=RUN_BUILD_TASK, max_retries=None, ignore_result=True)
def run_build(self, build_id: str) -> None:  # type: ignore[no-untyped-def]
    """Compile one queued build once its bot, class and the service have a free slot."""
    build = db.session.get(Build, build_id)
    if build is None or build.status != PENDING:
        return  # superseded or cancelled while queued
    event_log = current_event_log()
    assert event_log is not None, "a worker always has Redis"
    if not try_start(build, event_log.redis):
        raise self.retry(countdown=RETRY_WHEN_BUSY_S)
    if build.status == IN_PROGRESS:
        run_started_build(build)


AUDIT_PURGE_INTERVAL_S = 3600


def sweep_once(purge_audit: bool) -> None:
    """One round of housekeeping: fail stale builds, move running rollouts on, tell the pages when the device link's
    bridge fell silent; when asked, drop audit entries past their retention."""
    tell_if_the_bridge_fell_silent()
    changed = bool(expire_stale_builds())
    changed = advance_rollouts() or changed
    if purge_audit:
        changed = bool(purge_expired(current_settings().audit_retention_days)) or changed
    if changed:
        db.session.commit()


def start_stale_build_sweeper(app: Flask) -> threading.Thread:
    """Fail builds whose worker died, every few seconds, so nobody has to poll for it to happen; once an hour (and
    at start) also apply the audit log's retention (WEBIDE_AUDIT_RETENTION_DAYS)."""
    with app.app_context():
        interval = max(1.0, current_settings().build_stale_s / 10)
    rounds_per_purge = max(1, int(AUDIT_PURGE_INTERVAL_S / interval))

    def sweep() -> None:
        rounds = 0
        while True:
            time.sleep(interval)
            with app.app_context():
                try:
                    sweep_once(purge_audit=rounds % rounds_per_purge == 0)
                except Exception:  # the database may be briefly unreachable; try again next round
                    log.exception("Could not sweep stale builds")
                finally:
                    db.session.remove()
            rounds += 1

    thread = threading.Thread(target=sweep, name="stale-build-sweeper", daemon=True)
    thread.start()
    return thread

"""Celery tasks: thin wrappers that load rows by id and call the build pipeline."""

from __future__ import annotations

from celery import shared_task
from flask import current_app

from ..extensions import db
from ..models import Build, BuildStatus
from .pipeline import execute_build
from .service import try_start

RETRY_WHEN_BUSY_S = 1


@shared_task(bind=True, name="webide.run_build", max_retries=None, ignore_result=True)
def run_build(self, build_id: str) -> None:  # type: ignore[no-untyped-def]
    """Compile one queued build once its bot, class and the service have a free slot."""
    build = db.session.get(Build, build_id)
    if build is None or build.status != BuildStatus.PENDING.value:
        return  # superseded or cancelled while queued
    if not try_start(build, current_app.extensions["webide_events"].redis):
        raise self.retry(countdown=RETRY_WHEN_BUSY_S)
    if build.status == BuildStatus.IN_PROGRESS.value:
        execute_build(build)
